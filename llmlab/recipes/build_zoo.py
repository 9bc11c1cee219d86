"""Build zoo models ahead of time: ``python -m llmlab.recipes.build_zoo stdlib-small``.

CI runs this once before the notebooks, so every chapter that calls
``pretrained(...)`` loads the same cached model instead of training it. With
``--report`` it also measures the model: bits per byte on the held-out files and
the share of sampled ``def`` snippets that parse as Python.

Taught in: chapters/07_sampling.ipynb (the metrics)
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import torch

from llmlab.data import stdlib_files
from llmlab.generate import (
    SamplingConfig,
    bits_per_byte,
    parse_rate,
    python_samples,
    reference_samples,
)
from llmlab.recipes.zoo import ZOO, pretrained


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m llmlab.recipes.build_zoo",
        description="Train (or find cached) zoo models; optionally measure them.",
    )
    parser.add_argument("names", nargs="+", choices=sorted(ZOO))
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument(
        "--report", action="store_true", help="print bits/byte and parse rate"
    )
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


TEMPERATURES = (0.5, 0.8)
"""The parse rate is measured at each: 0.8 keeps the model's variety, 0.5 its
more confident (and more often valid) code."""


MIN_P = SamplingConfig(temperature=0.8, min_p=0.3)
"""Min-p sampling cuts the unlikely tokens that break syntax, at the variety of 0.8."""


def report(model, tokenizer, spec, *, n_samples: int = 100) -> dict:
    """Bits per byte on the held-out files and the parse rate of ``def`` samples."""
    files = stdlib_files()
    if spec.max_files is not None:
        files = files[: spec.max_files]
    held_out = [
        p.read_text(encoding="utf-8", errors="replace")
        for p in files[:: spec.val_every]
    ]
    bpb = bits_per_byte(model, tokenizer, held_out, separator_id=tokenizer.eot_id)
    room = model.config.context_length - len(tokenizer.encode("def ")) - 1
    settings = {f"parse_rate@T{t}": SamplingConfig(temperature=t) for t in TEMPERATURES}
    settings["parse_rate@T0.8,min_p0.3"] = MIN_P
    rates = {}
    for key, sampling in settings.items():
        samples = python_samples(
            model,
            tokenizer,
            n=n_samples,
            max_new_tokens=min(200, room),  # 200 unless the context is shorter
            sampling=sampling,
            generator=torch.Generator().manual_seed(0),
            stop_id=tokenizer.eot_id,
            document_start=tokenizer.eot_id,
        )
        rates[key] = parse_rate(samples)
    # the ceiling: the same 200-token cut of the held-out files' own top-level defs
    real = reference_samples(tokenizer, held_out, n_tokens=min(200, room))
    return {
        "bits_per_byte": round(bpb, 4),
        **rates,
        "parse_rate_of_held_out_code": round(parse_rate(real), 4),
        "held_out_defs": len(real),
        "samples": n_samples,
        "sampling": "200 tokens after '<|endoftext|>def ' (healed), seed 0",
    }


def main(argv: list[str] | None = None) -> list[dict]:
    args = build_parser().parse_args(argv)
    results = []
    for name in args.names:
        start = time.time()
        model, tokenizer = pretrained(
            name, cache_dir=args.cache_dir, progress=not args.quiet
        )
        usage = resource.getrusage(resource.RUSAGE_SELF)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = usage.ru_utime + usage.ru_stime + children.ru_utime + children.ru_stime
        result = {
            "name": name,
            "wall_s": round(time.time() - start, 1),
            "cpu_s": round(cpu, 1),
        }
        if args.report:
            result |= report(model, tokenizer, ZOO[name], n_samples=args.samples)
        print(json.dumps(result), flush=True)
        results.append(result)
    return results


if __name__ == "__main__":
    main()
