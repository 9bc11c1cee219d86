"""The training command line: ``llmlab train`` (or ``python -m llmlab.train``).

Every ``TrainConfig`` field is an option (``--max-steps 2000 --lr 1e-3``); the model
is a named preset with optional ``--model key=value`` overrides, each parsed by its
``GPTConfig`` field type; the corpus is a list of UTF-8 files (default: the Python
standard library). The output directory receives the tokenizer, the token cache
and checkpoints. An existing run there is continued with ``--resume`` or replaced
with ``--overwrite``, never overwritten silently.

Everything that can be checked is checked before any work (arguments, device,
files, the output directory); errors are one line on stderr, exit code 2 for
usage errors and 1 for failures during the run. Checkpoints are written
periodically; Ctrl-C (SIGINT) or SIGTERM saves one and exits with 130 or 143.

Taught in: chapters/06_pretraining.ipynb
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import typing
from pathlib import Path

import torch

from llmlab.data import stdlib_files, tokenize_files
from llmlab.model import GPT, PRESETS, GPTConfig
from llmlab.recipes import parallel_options
from llmlab.recipes import train_cli_checks as checks
from llmlab.recipes.config_args import UsageError, parse_overrides, parse_typed
from llmlab.train import checkpoint as ckpt
from llmlab.train.config import TrainConfig
from llmlab.train.step import NonFiniteError


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage dump); exit code 2 as usual."""

    def error(self, message: str) -> typing.NoReturn:
        _fail(f"{message} (see {self.prog} --help)", 2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="llmlab train",
        description="Pretrain an llmlab GPT on text files and write checkpoints.",
    )
    add = parser.add_argument
    add("--out", type=Path, required=True, help="output directory")
    add("--files", type=Path, nargs="+", help="UTF-8 files (default: Python stdlib)")
    add("--tokenizer", choices=("bpe", "byte"), default="bpe")
    add("--vocab-size", type=int, default=2048, help="BPE vocabulary size")
    add("--preset", choices=sorted(PRESETS), default="small")
    add(
        "--model",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a GPTConfig field, e.g. --model n_layers=6",
    )
    add("--val-fraction", type=float, default=0.1)
    add("--device", default=None, help="cpu, cuda, cuda:N, mps or auto (default: cpu)")
    add("--resume", action="store_true", help="continue the checkpoint in --out")
    add("--overwrite", action="store_true", help="replace the run in --out")
    add("--quiet", action="store_true", help="no progress bars")
    parallel_options.add_parallel_option(parser)
    hints = typing.get_type_hints(TrainConfig)
    for f in dataclasses.fields(TrainConfig):
        _add_field_option(parser, f.name, hints[f.name], f.default)
    return parser


def _add_field_option(parser, name: str, hint, default) -> None:
    flag = "--" + name.replace("_", "-")
    help_text = f"TrainConfig.{name} (default: {default})"
    nargs = 2 if typing.get_origin(hint) is tuple else None
    element = float if nargs else hint

    def parse(text: str):
        try:
            return parse_typed(element, text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    parse.__name__ = getattr(element, "__name__", "value")
    parser.add_argument(
        flag, type=parse, nargs=nargs, default=argparse.SUPPRESS, help=help_text
    )


def configs_from_args(args: argparse.Namespace, vocab_size: int):
    """(GPTConfig, TrainConfig) from parsed arguments; ``UsageError`` if invalid."""
    given = {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(TrainConfig)
        if hasattr(args, f.name)
    }  # options not given keep their defaults
    if "betas" in given:
        given["betas"] = tuple(given["betas"])
    fixed = {"vocab_size": "the tokenizer (--vocab-size)"}
    overrides = parse_overrides(GPTConfig, args.model, flag="--model", fixed=fixed)
    try:
        model_config = dataclasses.replace(
            PRESETS[args.preset], vocab_size=vocab_size, **overrides
        )
    except (ValueError, TypeError) as error:
        raise UsageError(f"--model: {error}") from None
    try:
        train_config = TrainConfig(**given)
    except (ValueError, TypeError) as error:
        raise UsageError(f"training option: {error}") from None
    if (train_config.seq_len or 0) > model_config.context_length:
        raise UsageError(
            f"--seq-len {train_config.seq_len} exceeds the model's context_length "
            f"{model_config.context_length} (--model context_length=...)"
        )
    return model_config, train_config


def main(argv: list[str] | None = None) -> dict:
    """Run the command line; returns a summary dict (also printed as JSON)."""
    args = build_parser().parse_args(argv)  # argparse exits with 2 on bad syntax
    try:
        with parallel_options.session(args) as parallel:  # None without --parallel
            return _run(args, parallel)
    except UsageError as error:
        _fail(error, 2)
    except checks.Interrupted as stop:
        _fail(f"interrupted by {stop.name} before training started", stop.code)
    except (ckpt.CheckpointError, NonFiniteError, ValueError, OSError) as error:
        _fail(error, 1)


def _run(args: argparse.Namespace, parallel=None) -> dict:
    device = checks.device(args.device)
    files = checks.files(args.files) if args.files else stdlib_files()
    vocab = 256 if args.tokenizer == "byte" else args.vocab_size
    model_config, train_config = configs_from_args(args, vocab)
    checkpoint_dir = checks.output(args, train_config)
    with checks.Signals() as signals:
        tokenizer = checks.tokenizer(args, files)
        separator = getattr(tokenizer, "special_tokens", {}).get("<|endoftext|>")
        tokens = tokenize_files(
            files,
            tokenizer,
            cache_dir=args.out / "tokens",
            separator_id=separator,
            progress=not args.quiet,
        )
        model_config = dataclasses.replace(
            model_config, vocab_size=tokenizer.vocab_size
        )
        window = train_config.seq_len or model_config.context_length
        train_tokens, val_tokens = checks.splits(tokens, args.val_fraction, window)
        torch.manual_seed(train_config.seed)  # initial weights (entry point)
        model = GPT(model_config)
        signals.during_training()
        history = parallel_options.fit(
            parallel,
            model,
            train_tokens,
            train_config,
            seq_len=model_config.context_length,
            val_tokens=val_tokens,
            device=device,
            progress=not args.quiet,
            checkpoint_dir=checkpoint_dir,
            resume=args.resume,
            should_stop=signals.requested,
        )
    if signals.received is not None:
        _fail(
            f"stopped by {signals.name} after step {len(history.step)}; checkpoint "
            f"saved in {checkpoint_dir} (continue with --resume)",
            signals.code,
        )
    summary = {
        "steps": len(history.step),
        "train_loss": history.train_loss[-1],
        "val_loss": history.val_loss[-1] if history.val_loss else None,
        "tokens_seen": history.tokens_seen,
        "checkpoint": str(checkpoint_dir),
    }
    print(json.dumps(summary))
    return summary


def _fail(message, code: int) -> typing.NoReturn:
    text = " ".join(str(message).split("\n"))
    print(f"llmlab train: error: {text}", file=sys.stderr)
    raise SystemExit(code)
