"""The generation command line: ``llmlab generate`` (or ``python -m llmlab.generate``).

Give it a zoo name (``stdlib-small``) or a checkpoint directory (a zoo entry, or
the ``--out`` directory of ``llmlab train``), a prompt (``--prompt`` or standard
input), and sampling options; it prints the continuation as it is generated.
Before generating it times the model's matrix kernels (``tune_kernels``) unless
given ``--no-tune``. This module turns command-line text into a ``SamplingConfig``
and calls ``llmlab.generate``.

Taught in: chapters/07_sampling.ipynb
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from llmlab.generate import SamplingConfig, TextStream, stream, tune_kernels
from llmlab.model import GPT, GPTConfig
from llmlab.tokenizer import BPETokenizer, ByteTokenizer
from llmlab.train import checkpoint as ckpt
from llmlab.utils.device import pick_device


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="llmlab generate",
        description="Continue a prompt with a zoo model or a trained checkpoint.",
    )
    parser.add_argument(
        "model", help="zoo name (e.g. stdlib-small) or checkpoint directory"
    )
    parser.add_argument(
        "--prompt", help="text to continue (default: read standard input)"
    )
    parser.add_argument("--max-new-tokens", type=int, default=200)
    parser.add_argument("--temperature", type=float, default=0.8, help="0 means greedy")
    parser.add_argument("--top-k", type=int, default=None)
    parser.add_argument("--top-p", type=float, default=None)
    parser.add_argument("--min-p", type=float, default=None)
    parser.add_argument("--repetition-penalty", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0, help="sampling seed")
    parser.add_argument(
        "--no-stream", action="store_true", help="print only when finished"
    )
    parser.add_argument(
        "--no-tune",
        action="store_true",
        help="use torch's default matrix kernels instead of timing the fastest for "
        "this model first (llmlab.generate.tune_kernels; the tokens are the same)",
    )
    parser.add_argument(
        "--cache-dir", type=Path, default=None, help="zoo cache (default ~/.cache)"
    )
    parser.add_argument(
        "--device", default="cpu", help="cpu, cuda, cuda:N, mps or auto (default: cpu)"
    )
    return parser


def load_model(
    name: str, *, cache_dir: Path | None = None, device: torch.device | str = "cpu"
):
    """(model, tokenizer) from a zoo name or a checkpoint directory."""
    path = Path(name)
    if not path.exists():
        from llmlab.recipes.zoo import ZOO, pretrained

        if name not in ZOO:
            raise SystemExit(
                f"llmlab generate: {name!r} is neither a directory nor a zoo model "
                f"(known: {', '.join(sorted(ZOO))})"
            )
        return pretrained(name, cache_dir=cache_dir, device=device, progress=False)
    directory = path / "checkpoint" if (path / "checkpoint").is_dir() else path
    if not ckpt.exists(directory):
        raise SystemExit(f"llmlab generate: no checkpoint in {path}")
    index, _ = ckpt.read(directory)
    model = GPT(ckpt.config_from_dict(GPTConfig, ckpt.module_config(index)))
    ckpt.load(directory, model=model)
    for candidate in (directory / "tokenizer.json", path / "tokenizer.json"):
        if candidate.is_file():
            return model.to(device).eval(), BPETokenizer.load(candidate)
    if model.config.vocab_size == 256:
        return model.to(device).eval(), ByteTokenizer()
    raise SystemExit(f"llmlab generate: no tokenizer.json next to {directory}")


def main(argv: list[str] | None = None) -> str:
    """Run the command line; returns the generated text (also printed)."""
    args = build_parser().parse_args(argv)
    try:
        sampling = SamplingConfig(
            temperature=args.temperature,
            top_k=args.top_k,
            top_p=args.top_p,
            min_p=args.min_p,
            repetition_penalty=args.repetition_penalty,
        )
    except ValueError as error:
        raise SystemExit(f"llmlab generate: {error}") from None
    try:
        device = pick_device(args.device)
    except (RuntimeError, ValueError) as error:
        raise SystemExit(f"llmlab generate: --device: {error}") from None
    model, tokenizer = load_model(args.model, cache_dir=args.cache_dir, device=device)
    if not args.no_tune:
        tune_kernels(model, batch_size=1)  # one prompt: one row per decode step
    prompt = args.prompt if args.prompt is not None else sys.stdin.read()
    ids = tokenizer.encode(prompt)
    if not ids:
        raise SystemExit("llmlab generate: the prompt is empty")
    stop = getattr(tokenizer, "eot_id", None)
    text = TextStream(tokenizer)
    pieces: list[str] = []
    steps = stream(
        model,
        [ids],
        max_new_tokens=args.max_new_tokens,
        sampling=sampling,
        generator=torch.Generator(device).manual_seed(args.seed),
        stop_tokens=() if stop is None else (stop,),
    )
    for step in steps:
        token = int(step.tokens[0])
        if token == stop:
            break
        pieces.append(text.push([token]))
        if not args.no_stream:
            print(pieces[-1], end="", flush=True)
    pieces.append(text.flush())
    output = "".join(pieces)
    print(pieces[-1] if not args.no_stream else output, flush=True)
    return output
