"""Pre-tokenization: cutting text into word-like pieces before BPE sees it.

GPT-2 never lets a merge cross the boundary between a letter run, a digit run, a
punctuation run and whitespace: a regular expression first splits the text into
pieces (" hello", " 42", "\\n\\n    "), and BPE works inside each piece. Special
tokens such as ``<|endoftext|>`` are cut out even before that, so no merge ever
touches them.

This module also counts pieces over a large corpus in parallel processes (the only
part of training that reads every byte) and finds *safe cut points*: places where a
text can be split into two halves whose pre-tokenization is the same as the
whole's, which is what lets training and streaming encoding work on chunks.

Differs from GPT-2's ``encoder.py`` in: nothing for the pattern (it is GPT-2's
published one); the parallel counting and the safe cut points are ours.

Taught in: chapters/01_tokenization.ipynb
"""

from __future__ import annotations

import os
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from itertools import chain
from pathlib import Path

import regex

GPT2_PATTERN = (
    r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
)
"""GPT-2's pre-tokenization regex: contractions, letter runs, digit runs and
punctuation runs (each may take one leading space), then whitespace."""

# Corpora smaller than this are counted in-process: starting workers costs more.
_PARALLEL_MIN_CHARS = 4_000_000
_BATCH_CHARS = 1_000_000


def special_regex(specials: Iterable[str]) -> regex.Pattern | None:
    """A regex matching any of ``specials``; at one position the longest wins.

    ``["<|a|>", "<|a|><|b|>"]`` on ``"<|a|><|b|>"`` matches the whole string once.
    """
    ordered = sorted(set(specials), key=lambda s: (-len(s), s))
    if not ordered:
        return None
    return regex.compile("|".join(regex.escape(s) for s in ordered))


def split(compiled: regex.Pattern, text: str, offset: int = 0) -> list[str]:
    """The pieces of ``text``, which must cover it: no character may be dropped.

    ``offset`` is where ``text`` starts in the caller's whole text, for the error
    message. ``"hello, world"`` with ``\\p{L}+`` raises: ``", "`` matches no piece.
    """
    pieces = compiled.findall(text)
    if len("".join(pieces)) != len(text):  # join is the fastest way to sum
        _raise_uncovered(compiled, text, offset)
    return pieces


def _raise_uncovered(compiled: regex.Pattern, text: str, offset: int) -> None:
    end, gap_end = 0, len(text)
    for match in compiled.finditer(text):
        if match.start() > end:
            gap_end = match.start()
            break
        end = match.end()
    if end >= len(text):
        raise ValueError(
            f"the pre-tokenization pattern {compiled.pattern!r} has capturing "
            "groups, so its pieces are not whole matches; write (?:...) instead"
        )
    gap = text[end:gap_end]
    raise ValueError(
        f"the pre-tokenization pattern {compiled.pattern!r} does not cover the "
        f"text: {gap[:20]!r} at index {offset + end} matches no piece and would be "
        "lost. Add an alternative that matches everything else, e.g. end the "
        "pattern with |\\s+|\\S"
    )


def safe_cut(text: str, end: int, specials: Iterable[str] = ()) -> int:
    """The largest cut point ``0 < i <= end`` in ``text``, or 0 if there is none.

    A cut point is a space right after a letter or digit (``"word| next"``). None of
    GPT-2's, cl100k's or o200k's patterns can match across it, and they never look
    behind, so pre-tokenizing ``text[:i]`` and ``text[i:]`` separately gives the same
    pieces as the whole. A cut inside a special token is skipped.
    """
    i = min(end, len(text) - 1)
    while i > 0:
        i = text.rfind(" ", 0, i + 1)
        if i <= 0:
            return 0
        if text[i - 1].isalnum() and not _inside_special(text, i, specials):
            return i
        i -= 1
    return 0


def _inside_special(text: str, i: int, specials: Iterable[str]) -> bool:
    for s in specials:
        start = text.find(s, max(0, i - len(s) + 1), i + len(s) - 1)
        if start != -1 and start < i < start + len(s):
            return True
    return False


def count_pieces(
    texts: Iterable[str], *, pattern: str, specials: tuple[str, ...] = ()
) -> Counter[str]:
    """How often each pre-token occurs in ``texts``, with special tokens removed.

    ``["ab ab", "ab"]`` -> ``{"ab": 2, " ab": 1}``. Raises ``ValueError`` if the
    pattern leaves characters out of every piece, as encoding would.
    """
    compiled, cutter = regex.compile(pattern), special_regex(specials)
    parts = texts if cutter is None else chain.from_iterable(map(cutter.split, texts))
    lengths: list[int] = []
    measured = (lengths.append(len(part)) or part for part in parts)
    # Counter.update over one chained iterator: the loop runs in C.
    counts = Counter(chain.from_iterable(map(compiled.findall, measured)))
    covered = sum(len(piece) * n for piece, n in counts.items())
    if covered != sum(lengths):
        raise ValueError(
            f"the pre-tokenization pattern {pattern!r} does not cover the text: "
            f"{sum(lengths) - covered} of {sum(lengths)} characters match no piece "
            "and would be lost. Add an alternative that matches everything else, "
            "e.g. end the pattern with |\\s+|\\S"
        )
    return counts


def _count_files(
    paths: list[str], pattern: str, specials: tuple[str, ...]
) -> Counter[str]:
    texts = (Path(p).read_text(encoding="utf-8", errors="replace") for p in paths)
    return count_pieces(texts, pattern=pattern, specials=specials)


def _count_texts(
    texts: list[str], pattern: str, specials: tuple[str, ...]
) -> Counter[str]:
    return count_pieces(texts, pattern=pattern, specials=specials)


def split_for_workers(text: str, n_chunks: int, specials: tuple[str, ...]) -> list[str]:
    """Cut ``text`` at safe cut points into about ``n_chunks`` similar pieces."""
    chunks, start = [], 0
    step = max(1, len(text) // max(1, n_chunks))
    while len(text) - start > step:
        cut = safe_cut(text, start + step, specials)
        if cut <= start:  # no cut point in this stretch: keep the rest whole
            break
        chunks.append(text[start:cut])
        start = cut
    chunks.append(text[start:])
    return chunks


def _batches(corpus: str | list | Iterator[str], specials) -> Iterator[tuple]:
    """(worker function, first argument) jobs of about ``_BATCH_CHARS`` each."""
    if isinstance(corpus, str):
        n = max(1, len(corpus) // _BATCH_CHARS)
        for chunk in split_for_workers(corpus, n, specials):
            yield _count_texts, [chunk]
    elif isinstance(corpus, (list, tuple)):
        batch, size = [], 0
        for path in corpus:
            batch.append(str(path))
            size += Path(path).stat().st_size
            if size >= _BATCH_CHARS:
                yield _count_files, batch
                batch, size = [], 0
        if batch:
            yield _count_files, batch
    else:
        batch, size = [], 0
        for text in corpus:
            if not isinstance(text, str):
                raise TypeError(
                    f"corpus iterator yielded {type(text).__name__}, not str"
                )
            batch.append(text)
            size += len(text)
            if size >= _BATCH_CHARS:
                yield _count_texts, batch
                batch, size = [], 0
        if batch:
            yield _count_texts, batch


def check_paths(paths: list | tuple) -> None:
    """Every item of a corpus given as a list must name an existing file."""
    for path in paths:
        if not isinstance(path, (str, os.PathLike)) or not Path(path).is_file():
            raise FileNotFoundError(
                f"corpus lists {str(path)[:80]!r}, which is not a file; a list corpus "
                "is a list of file paths (for a list of texts, pass iter(texts))"
            )


def corpus_size(corpus: str | list | Iterator[str]) -> int | None:
    """Characters (for a str) or bytes (for files) in ``corpus``; None for iterators."""
    if isinstance(corpus, str):
        return len(corpus)
    if isinstance(corpus, (list, tuple)):
        return sum(Path(p).stat().st_size for p in corpus)
    return None


def count_corpus(
    corpus: str | list | Iterator[str],
    *,
    pattern: str,
    specials: tuple[str, ...],
    n_workers: int | None = None,
    progress: bool = False,
) -> Counter[str]:
    """Pre-token counts of a corpus: a str, a list of file paths, or an iterator of str.

    Large corpora are counted by ``n_workers`` processes (default: one per CPU);
    the result does not depend on the number of workers.
    """
    size = corpus_size(corpus)
    if n_workers is None:
        small = size is not None and size < _PARALLEL_MIN_CHARS
        n_workers = 1 if small else min(os.cpu_count() or 1, 8)
    jobs = _batches(corpus, specials)
    if progress:
        from tqdm import tqdm

        jobs = tqdm(jobs, desc="counting pre-tokens", unit="batch")
    total: Counter[str] = Counter()
    if n_workers <= 1:
        for fn, arg in jobs:
            total.update(fn(arg, pattern, specials))
        return total
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # "fork" where the OS has it: workers start fast and a script needs no
    # ``if __name__ == "__main__"`` guard. They only run regex code, so threads the
    # parent holds (torch, Jupyter) do not matter. Elsewhere, the platform default.
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    with ProcessPoolExecutor(n_workers, mp_context=context) as pool:
        pending: deque = deque()
        for fn, arg in jobs:
            pending.append(pool.submit(fn, arg, pattern, specials))
            if len(pending) >= 2 * n_workers:  # bounded memory for long iterators
                total.update(pending.popleft().result())
        while pending:
            total.update(pending.popleft().result())
    return total
