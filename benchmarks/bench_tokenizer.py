"""Benchmark: byte-level BPE training and encoding, llmlab vs its peers.

Peers, measured in the same run on the same text (the Python standard library's own
source, cut to 1 MB and 10 MB):
- training: HuggingFace ``tokenizers`` (Rust, multi-threaded) ByteLevel BPE, with
  vocabularies of 4k and 16k;
- encoding: ``tiktoken`` (Rust) and ``tokenizers``, with GPT-2's vocabulary and
  with the 16k vocabulary each library trained itself; llmlab's ``to_tiktoken``
  export is timed too.

Every measurement is the median of ``--repeats`` runs, interleaved between
implementations so that a noisy machine hurts them alike. llmlab's encoder is
timed "cold" (its piece cache emptied first) and "warm" (cache filled by a previous
call on the same text). Ids are checked equal to tiktoken's before timing.

Run: ``python benchmarks/bench_tokenizer.py`` (GPT-2's files are read from
``$LLMLAB_GPT2_DIR`` or ``../shared/data/gpt2``; about 3 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
import warnings
from pathlib import Path

from llmlab.data import read_text, stdlib_files
from llmlab.tokenizer import BPETokenizer

REPO = Path(__file__).resolve().parents[1]
TIKTOKEN_CACHE_NAMES = {
    "encoder.json": "6c7ea1a7e38e3a7f062df639a5b80947f075ffe6",
    "vocab.bpe": "6d1cbeee0f20b3d9449abfede4726ed8212e3aee",
}


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleaved(jobs: dict, repeats: int) -> dict[str, float]:
    """Median seconds of each job, running them in turn ``repeats`` times."""
    times: dict[str, list[float]] = {name: [] for name in jobs}
    for _ in range(repeats):
        for name, (setup, run) in jobs.items():
            setup()
            times[name].append(timed(run))
    return {name: statistics.median(t) for name, t in times.items()}


def tiktoken_gpt2(folder: Path):
    """tiktoken's own gpt2 encoding, loaded offline from GPT-2's files."""
    import tiktoken

    cache = Path(tempfile.mkdtemp(prefix="tiktoken_cache_"))
    for name, cache_name in TIKTOKEN_CACHE_NAMES.items():
        shutil.copy(folder / name, cache / cache_name)
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)
    return tiktoken.get_encoding("gpt2")


def hf_trainer_and_model(vocab_size: int):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    return tok, trainer


def hf_gpt2(folder: Path):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    model = models.BPE.from_file(
        str(folder / "encoder.json"), str(folder / "vocab.bpe")
    )
    tok = Tokenizer(model)
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    return tok


def bench_training(docs: list[str], vocab_size: int, repeats: int, out: dict) -> dict:
    """Train llmlab and HF on the same documents; keep the last trained of each."""

    def ours():
        out["llmlab"] = BPETokenizer.train(iter(docs), vocab_size=vocab_size)

    def hf():
        tok, trainer = hf_trainer_and_model(vocab_size)
        tok.train_from_iterator(docs, trainer=trainer)
        out["tokenizers"] = tok

    nothing = lambda: None  # noqa: E731
    return interleaved(
        {"llmlab": (nothing, ours), "tokenizers": (nothing, hf)}, repeats
    )


def bench_encoding(text: str, ours: BPETokenizer, peers: dict, repeats: int) -> dict:
    """Seconds to encode ``text``: llmlab cold and warm, and each peer."""
    jobs = {
        "llmlab (cold cache)": (ours._cache.clear, lambda: ours.encode_ordinary(text)),
        "llmlab (warm cache)": (
            lambda: ours.encode_ordinary(text),
            lambda: ours.encode_ordinary(text),
        ),
    }
    for name, encode in peers.items():
        jobs[name] = (lambda: None, lambda encode=encode: encode(text))
    return interleaved(jobs, repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes-mb", default="1,10")
    args = parser.parse_args()
    # A small corpus may not allow 16k merges; the table shows the size reached.
    warnings.filterwarnings("ignore", message="corpus allows only")
    gpt2_dir = Path(os.environ.get("LLMLAB_GPT2_DIR", REPO.parent / "shared/data/gpt2"))

    files = stdlib_files()
    rows = []  # (task, corpus, vocab, implementation, seconds, MB/s, ratio text)
    trained: dict = {}
    gpt2 = BPETokenizer.from_gpt2_files(
        gpt2_dir / "encoder.json", gpt2_dir / "vocab.bpe"
    )
    tik, hf = tiktoken_gpt2(gpt2_dir), hf_gpt2(gpt2_dir)
    for size in [int(s) for s in args.sizes_mb.split(",")]:
        text = read_text(files, max_bytes=size * 1_000_000)
        docs = text.split("\n\n")  # HF is fastest fed many short documents
        mb = len(text.encode("utf-8")) / 1e6
        label = f"{mb:.1f} MB"
        for vocab_size in (4096, 16384):
            t = bench_training(docs, vocab_size, args.repeats, trained)
            ratio = f"{t['llmlab'] / t['tokenizers']:.2f}x tokenizers' time"
            reached = {
                "llmlab": trained["llmlab"].vocab_size,
                "tokenizers": trained["tokenizers"].get_vocab_size(),
            }
            for name in ("llmlab", "tokenizers"):
                vocab = f"{vocab_size} ({reached[name]} reached)"
                rows.append(("train", label, vocab, name, t[name], None, ratio))
                ratio = ""
        assert gpt2.encode_ordinary(text) == tik.encode_ordinary(text)
        peers = {
            "tiktoken": tik.encode_ordinary,
            "tokenizers": lambda s: hf.encode(s, add_special_tokens=False).ids,
        }
        rows += encoding_rows(text, label, "gpt2", gpt2, peers, args.repeats, mb)
        ours, export = trained["llmlab"], trained["llmlab"].to_tiktoken()
        assert export.encode_ordinary(text) == ours.encode_ordinary(text)
        hf_trained = trained["tokenizers"]
        peers = {
            "llmlab -> tiktoken export": export.encode_ordinary,
            "tokenizers": lambda s: hf_trained.encode(s, add_special_tokens=False).ids,
        }
        vocab = f"trained {ours.vocab_size}"
        rows += encoding_rows(text, label, vocab, ours, peers, args.repeats, mb)
    print_table(rows, args.repeats)


def encoding_rows(text, label, vocab, ours, peers, repeats, mb) -> list[tuple]:
    t = bench_encoding(text, ours, peers, repeats)
    reference = "tiktoken" if "tiktoken" in t else "llmlab -> tiktoken export"
    rows = []
    for name, seconds in t.items():
        ratio = f"{t[reference] / seconds:.2f}x {reference}'s MB/s"
        rows.append(("encode", label, vocab, name, seconds, mb / seconds, ratio))
    return rows


def print_table(rows: list[tuple], repeats: int) -> None:
    head = ("task", "corpus", "vocab", "implementation", "median s", "MB/s", "ratio")
    cells = [
        (task, corpus, str(vocab), name, f"{s:.3f}", f"{mbs:.2f}" if mbs else "", ratio)
        for task, corpus, vocab, name, s, mbs, ratio in rows
    ]
    widths = [max(len(r[i]) for r in [head, *cells]) for i in range(len(head))]
    line = " | ".join
    print(
        f"Byte-level BPE on Python stdlib source; median of {repeats} interleaved runs"
    )
    print(line(h.ljust(w) for h, w in zip(head, widths)))
    print(line("-" * w for w in widths))
    for cell in cells:
        print(line(c.ljust(w) for c, w in zip(cell, widths)))
    print(
        "Ids checked identical before timing, on each corpus: llmlab (GPT-2 files) "
        "== tiktoken gpt2, and trained llmlab == its tiktoken export."
    )


if __name__ == "__main__":
    main()
