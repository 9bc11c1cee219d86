"""The training command line: ``llmlab train`` (or ``python -m llmlab.train``).

Every ``TrainConfig`` field is an option (``--max-steps 2000 --lr 1e-3``); the model
is a named preset with optional ``--model key=value`` overrides; the corpus is a
list of UTF-8 files (default: the Python standard library). The output directory
receives the tokenizer, the token cache and checkpoints, and ``--resume`` continues
an interrupted run from its last checkpoint. This module turns command-line text
into config objects; everything it calls takes them as arguments.

Taught in: chapters/06_pretraining.ipynb
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import typing
from pathlib import Path

import torch

from llmlab.data import split_train_val, stdlib_files, tokenize_files
from llmlab.model import GPT, PRESETS
from llmlab.tokenizer import BPETokenizer, ByteTokenizer
from llmlab.train.config import TrainConfig
from llmlab.train.loop import fit


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="llmlab train",
        description="Pretrain an llmlab GPT on text files and write checkpoints.",
    )
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        help="output directory: tokenizer, token cache, checkpoint",
    )
    parser.add_argument(
        "--files",
        type=Path,
        nargs="+",
        help="UTF-8 training files (default: the Python stdlib)",
    )
    parser.add_argument("--tokenizer", choices=("bpe", "byte"), default="bpe")
    parser.add_argument(
        "--vocab-size",
        type=int,
        default=2048,
        help="BPE vocabulary size (ignored for --tokenizer byte)",
    )
    parser.add_argument("--preset", choices=sorted(PRESETS), default="small")
    parser.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a GPTConfig field, e.g. --model n_layers=6",
    )
    parser.add_argument("--val-fraction", type=float, default=0.1)
    parser.add_argument("--device", default=None, help="cpu, cuda, mps (default: cpu)")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue from the checkpoint in --out if there is one",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    hints = typing.get_type_hints(TrainConfig)
    for f in dataclasses.fields(TrainConfig):
        _add_field_option(parser, f.name, hints[f.name], f.default)
    return parser


def _add_field_option(parser, name: str, hint, default) -> None:
    flag = "--" + name.replace("_", "-")
    help_text = f"TrainConfig.{name} (default: {default})"
    if hint is bool:
        parser.add_argument(
            flag, type=_parse_bool, default=argparse.SUPPRESS, help=help_text
        )
    elif typing.get_origin(hint) is tuple:
        parser.add_argument(
            flag, type=float, nargs=2, default=argparse.SUPPRESS, help=help_text
        )
    else:
        inner = [t for t in typing.get_args(hint) if t is not type(None)] or [hint]
        parser.add_argument(
            flag, type=_none_or(inner[0]), default=argparse.SUPPRESS, help=help_text
        )


def _parse_bool(text: str) -> bool:
    if text.lower() not in {"true", "false", "1", "0", "yes", "no"}:
        raise argparse.ArgumentTypeError(f"expected true/false, got {text!r}")
    return text.lower() in {"true", "1", "yes"}


def _none_or(kind):
    def parse(text: str):
        return None if text.lower() == "none" else kind(text)

    parse.__name__ = kind.__name__
    return parse


def configs_from_args(args: argparse.Namespace, vocab_size: int):
    """(GPTConfig, TrainConfig) from parsed arguments."""
    given = {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(TrainConfig)
        if hasattr(args, f.name)
    }  # options not given keep their defaults
    if "betas" in given:
        given["betas"] = tuple(given["betas"])
    overrides = {}
    for item in args.model:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--model expects KEY=VALUE, got {item!r}")
        overrides[key] = _json_or_text(value)
    model_config = dataclasses.replace(
        PRESETS[args.preset], vocab_size=vocab_size, **overrides
    )
    return model_config, TrainConfig(**given)


def _json_or_text(value: str):
    """``"6" -> 6``, ``"true" -> True``, ``"null" -> None``, ``"rope" -> "rope"``."""
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def main(argv: list[str] | None = None) -> dict:
    """Run the command line; returns a summary dict (also printed as JSON)."""
    args = build_parser().parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    files = args.files or stdlib_files()
    tokenizer = _tokenizer(args, files)
    separator = getattr(tokenizer, "special_tokens", {}).get("<|endoftext|>")
    tokens = tokenize_files(
        files,
        tokenizer,
        cache_dir=args.out / "tokens",
        separator_id=separator,
        progress=not args.quiet,
    )
    train_tokens, val_tokens = split_train_val(tokens, val_fraction=args.val_fraction)
    model_config, train_config = configs_from_args(args, tokenizer.vocab_size)
    torch.manual_seed(train_config.seed)  # initial weights (entry point: global RNG)
    model = GPT(model_config)
    history = fit(
        model,
        train_tokens,
        train_config,
        seq_len=model_config.context_length,
        val_tokens=val_tokens,
        device=args.device,
        progress=not args.quiet,
        checkpoint_dir=args.out / "checkpoint",
        resume=args.resume,
    )
    summary = {
        "steps": len(history.step),
        "train_loss": history.train_loss[-1],
        "val_loss": history.val_loss[-1] if history.val_loss else None,
        "tokens_seen": history.tokens_seen,
        "checkpoint": str(args.out / "checkpoint"),
    }
    print(json.dumps(summary))
    return summary


def _tokenizer(args: argparse.Namespace, files: list[Path]):
    if args.tokenizer == "byte":
        return ByteTokenizer()
    path = args.out / "tokenizer.json"
    if not path.is_file():
        BPETokenizer.train(
            [str(f) for f in files], vocab_size=args.vocab_size, progress=not args.quiet
        ).save(path)
    return BPETokenizer.load(path)
