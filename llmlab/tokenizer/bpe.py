"""Byte-level BPE tokenizer: train, encode, decode, GPT-2 and tiktoken compatible.

A token is a byte string. Ids for the 256 single bytes come first, then one id per
merge ``(left, right) -> new`` in the order the merges were learned, then the
special tokens. Encoding cuts out special tokens, pre-tokenizes the rest with a
regex, and inside each piece applies merges lowest-id first until none applies
(a piece that is a whole token is that token, tiktoken's shortcut).
Decoding concatenates the tokens' bytes and decodes UTF-8.

Speed comes from a cache: each distinct piece ("def", " self", "\\n    ") is encoded
once and then looked up, so on real text encoding costs about one regex pass.

Differs from GPT-2's ``encoder.py`` in: ids instead of printable strings; special
tokens follow tiktoken's ``allowed_special`` / ``disallowed_special`` rules, with the
longest special winning where several start at the same place; lone surrogates
(``"\\ud800"``, common in text from JSON) become U+FFFD and surrogate pairs their
character, as tiktoken does; a pattern that leaves characters out raises.

Differs from tiktoken in: which characters are letters (``\\p{L}``) and numbers
(``\\p{N}``) is decided by the installed ``regex`` module's Unicode tables, while
tiktoken uses the tables compiled into its Rust regex engine. For the few code
points one version has assigned and the other not (``"\\U0001DFF6"``, a letter
for ``regex`` 2026.11, unknown to tiktoken 0.14), the pieces, and so GPT-2 ids,
can differ: ``"\\U0001DFF6揍"`` is one piece here and two in tiktoken. We keep the
``regex`` rule (the pattern means what it says in the Python that runs it); for
tiktoken's exact ids use :meth:`BPETokenizer.to_tiktoken`.

Taught in: chapters/01_tokenization.ipynb
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator
from itertools import chain
from pathlib import Path

from llmlab.tokenizer import (
    interchange,
    merging,
    pretokenize,
    serialization,
    special,
    streaming,
    validation,
)
from llmlab.tokenizer.gpt2_files import Merge, merges_from_ranks, read_gpt2_files
from llmlab.tokenizer.ids import as_id_list
from llmlab.tokenizer.training import learn_merges

_CACHE_SIZE = 200_000
_LONG_PIECE = 200  # bytes; longer pieces use the O(n log n) merge loop


class _PieceCache(dict):
    """piece -> ids, filled on first use; emptied when full, so memory is bounded."""

    def __init__(self, encode_piece):
        super().__init__()
        self.encode_piece = encode_piece

    def __missing__(self, piece: str) -> list[int]:
        if len(self) >= _CACHE_SIZE:
            self.clear()
        ids = self[piece] = self.encode_piece(piece)
        return ids


class BPETokenizer:
    """Byte-level BPE. Build it with :meth:`train`, :meth:`from_gpt2_files`,
    :meth:`from_tiktoken` or :meth:`load`."""

    def __init__(
        self,
        *,
        byte_ids: list[int],
        merges: list[Merge],
        special_tokens: dict[str, int],
        pattern: str = pretokenize.GPT2_PATTERN,
    ):
        self._regex = validation.check_pattern(pattern)
        validation.check_description(byte_ids, merges, special_tokens)
        self.pattern = pattern
        self.byte_ids = list(byte_ids)
        self.merges = [tuple(m) for m in merges]
        self.special_tokens = dict(special_tokens)
        self.vocab: dict[int, bytes] = {i: bytes([b]) for b, i in enumerate(byte_ids)}
        self._ranks: dict[tuple[int, int], int] = {}
        last = -1
        for k, (left, right, new) in enumerate(self.merges):
            unmade = [i for i in (left, right) if i not in self.vocab]
            if unmade or new in self.vocab:
                problem = (
                    f"joins id {unmade[0]}, which no byte or earlier merge makes"
                    if unmade
                    else f"makes id {new}, which is already a token"
                )
                raise ValueError(f"merge {k} [{left}, {right}, {new}] {problem}")
            if new <= last:  # encoding applies merges lowest id first
                raise ValueError(f"merge ids must increase; {new} comes after {last}")
            last = new
            self._ranks[(left, right)] = new
            self.vocab[new] = self.vocab[left] + self.vocab[right]
        for token, i in self.special_tokens.items():
            if i in self.vocab:
                raise ValueError(f"special token {token!r} reuses id {i}")
            self.vocab[i] = token.encode("utf-8")
        specials = set(self.special_tokens.values())  # cut out, never pieces
        self._token_ids = {t: i for i, t in self.vocab.items() if i not in specials}
        if len(self._token_ids) != len(self.vocab) - len(specials):
            raise ValueError("two merges make the same bytes; ids would be ambiguous")
        self._cache = _PieceCache(self._encode_piece)
        self._special_res: dict = {}

    # ----------------------------------------------------------------- building
    @classmethod
    def train(
        cls,
        corpus: str | list | Iterable[str],
        *,
        vocab_size: int,
        special_tokens: Iterable[str] = ("<|endoftext|>",),
        n_workers: int | None = None,
        progress: bool = False,
        pattern: str = pretokenize.GPT2_PATTERN,
    ) -> BPETokenizer:
        """Learn ``vocab_size - 256 - len(special_tokens)`` merges from ``corpus``.

        ``corpus``: a str, a list of file paths (UTF-8), or an iterator of str.
        Special tokens are removed before counting, so no merge touches them, and
        take the last ids. Pre-tokens of large corpora are counted in ``n_workers``
        processes (default: one per CPU).
        """
        if isinstance(special_tokens, str):
            raise TypeError(
                f"special_tokens must be a collection of str, not the str "
                f"{special_tokens!r}; write ({special_tokens!r},)"
            )
        specials = tuple(special_tokens)
        special.validate_names(specials)
        if not isinstance(vocab_size, int) or vocab_size < 256 + len(specials):
            raise ValueError(
                f"vocab_size={vocab_size!r} must be an int >= 256 bytes + "
                f"{len(specials)} special tokens = {256 + len(specials)}"
            )
        if not isinstance(corpus, (str, list, tuple)) and not isinstance(
            corpus, Iterable
        ):
            raise TypeError(
                f"corpus must be a str, a list of paths or an iterator "
                f"of str, got {type(corpus).__name__}"
            )
        if isinstance(corpus, (list, tuple)):
            pretokenize.check_paths(corpus)
        counts = pretokenize.count_corpus(
            corpus,
            pattern=pattern,
            specials=specials,
            n_workers=n_workers,
            progress=progress,
        )
        if not counts:
            raise ValueError("corpus is empty: no text outside special tokens")
        word_counts = {w.encode("utf-8"): c for w, c in counts.items()}
        n_merges = vocab_size - 256 - len(specials)
        pairs = learn_merges(word_counts, n_merges, progress=progress)
        if len(pairs) < n_merges:
            warnings.warn(
                f"corpus allows only {len(pairs)} merges, not {n_merges}: "
                f"vocab_size is {256 + len(pairs) + len(specials)}, not {vocab_size}",
                stacklevel=2,
            )
        merges = [(a, b, 256 + k) for k, (a, b) in enumerate(pairs)]
        first = 256 + len(merges)
        return cls(
            byte_ids=list(range(256)),
            merges=merges,
            pattern=pattern,
            special_tokens={s: first + k for k, s in enumerate(specials)},
        )

    @classmethod
    def from_gpt2_files(
        cls,
        encoder_json_path: str | Path,
        vocab_bpe_path: str | Path,
        *,
        pattern: str = pretokenize.GPT2_PATTERN,
    ) -> BPETokenizer:
        """GPT-2's tokenizer from its published ``encoder.json`` and ``vocab.bpe``
        (Hugging Face's ``vocab.json`` and ``merges.txt`` have the same form)."""
        byte_ids, merges, specials = read_gpt2_files(encoder_json_path, vocab_bpe_path)
        return cls(
            byte_ids=byte_ids, merges=merges, special_tokens=specials, pattern=pattern
        )

    @classmethod
    def from_vocab_and_merges(
        cls,
        vocab: dict[int, bytes],
        merges: list[tuple[bytes, bytes]],
        *,
        pattern: str = pretokenize.GPT2_PATTERN,
        special_tokens: Iterable[str] | dict[str, int] | None = None,
    ) -> BPETokenizer:
        """From a vocabulary ``{id: bytes}`` and merges ``[(bytes, bytes)]`` in the
        order they were learned (the form of Hugging Face's ``vocab.json`` and
        ``merges.txt``). ``special_tokens``: ``{name: id}``, names (looked up in
        ``vocab``, else given the next free ids), or ``None`` for every entry that
        is neither a byte nor made by a merge. See ``interchange``."""
        byte_ids, ids, specials = interchange.fields_from_vocab_and_merges(
            vocab, merges, special_tokens
        )
        return cls(
            byte_ids=byte_ids, merges=ids, special_tokens=specials, pattern=pattern
        )

    def to_vocab_and_merges(
        self,
    ) -> tuple[dict[int, bytes], list[tuple[bytes, bytes]]]:
        """``({id: bytes}, [(bytes, bytes)])``, special tokens included in the
        vocabulary; :meth:`from_vocab_and_merges` with :attr:`pattern` rebuilds it."""
        return interchange.vocab_and_merges(self)

    @classmethod
    def from_tiktoken(
        cls,
        encoding,
        *,
        pattern: str | None = None,
        special_tokens: dict[str, int] | None = None,
    ) -> BPETokenizer:
        """From a ``tiktoken.Encoding``, or from a ranks table ``{bytes: rank}`` plus
        ``pattern`` and ``special_tokens``."""
        if isinstance(encoding, dict):
            ranks = encoding
            pattern = pattern or pretokenize.GPT2_PATTERN
        else:  # tiktoken keeps these as attributes; there is no public getter
            ranks = encoding._mergeable_ranks
            pattern = pattern or encoding._pat_str
            if special_tokens is None:
                special_tokens = dict(encoding._special_tokens)
        byte_ids, merges = merges_from_ranks(ranks)
        return cls(
            byte_ids=byte_ids,
            merges=merges,
            pattern=pattern,
            special_tokens=special_tokens or {},
        )

    # ---------------------------------------------------------------- properties
    @property
    def vocab_size(self) -> int:
        """One more than the largest id: bytes + merges + special tokens, plus any
        unused ids an imported vocabulary leaves (tiktoken's ``n_vocab``)."""
        return max(self.vocab) + 1

    @property
    def eot_id(self) -> int:
        """The id of ``<|endoftext|>``, the separator between documents."""
        if "<|endoftext|>" not in self.special_tokens:
            raise KeyError("this tokenizer has no <|endoftext|> special token")
        return self.special_tokens["<|endoftext|>"]

    def __getstate__(self) -> dict:
        """Pickle without the caches (e.g. to send the tokenizer to workers)."""
        state = dict(self.__dict__)
        del state["_cache"], state["_special_res"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._cache = _PieceCache(self._encode_piece)
        self._special_res = {}

    def __repr__(self) -> str:
        return (
            f"BPETokenizer(vocab_size={self.vocab_size}, merges="
            f"{len(self.merges)}, special_tokens={self.special_tokens})"
        )

    # ------------------------------------------------------------------ encoding
    def bpe(self, ids: list[int]) -> list[int]:
        """Apply merges to ``ids``, lowest merge id first, until none applies.

        GPT-2: ``[byte ids of " hello"]`` -> ``[23748]``. See ``merging``.
        """
        if len(ids) > _LONG_PIECE:
            return merging.apply_merges_heap(ids, self._ranks)
        return merging.apply_merges(ids, self._ranks)

    def _encode_piece(self, piece: str) -> list[int]:
        """One pre-token to ids. A piece that is a whole token is returned at once, as
        tiktoken does; for vocabularies learned by BPE this equals :meth:`bpe`."""
        data = piece.encode("utf-8")
        token = self._token_ids.get(data)
        if token is not None:
            return [token]
        return self.bpe([self.byte_ids[b] for b in data])

    def encode_ordinary(self, text: str) -> list[int]:
        """Encode ``text`` treating special-token text as ordinary text."""
        return self.encode(text, disallowed_special=())

    def _encode_ordinary(self, text: str, offset: int) -> list[int]:
        pieces = pretokenize.split(self._regex, text, offset)
        return list(chain.from_iterable(map(self._cache.__getitem__, pieces)))

    def encode(
        self,
        text: str,
        *,
        allowed_special: str | Iterable[str] = frozenset(),
        disallowed_special: str | Iterable[str] = "all",
    ) -> list[int]:
        """Text to ids, with tiktoken's rules for special tokens.

        Specials in ``allowed_special`` (or all, with ``"all"``) become their id;
        finding one in ``disallowed_special`` (by default every special not allowed)
        raises ``ValueError``; others are encoded as ordinary text.
        ``"Hello world"`` -> ``[15496, 995]`` with GPT-2's vocabulary.
        Lone surrogates (``"\\ud800"``, as JSON may carry) become U+FFFD and
        surrogate pairs their character, as in tiktoken.
        """
        if not isinstance(text, str):
            raise TypeError(f"encode expects a str, got {type(text).__name__}")
        rules = special.resolve(
            self.special_tokens, allowed_special, disallowed_special
        )
        return self._encode_at(text, 0, rules)

    def _encode_at(
        self, text: str, offset: int, rules: tuple[frozenset, frozenset]
    ) -> list[int]:
        """Ids of ``text``, which starts at index ``offset`` of the caller's text."""
        allowed, disallowed = rules
        if disallowed:
            special.raise_if_present(text, self._special_regex(disallowed), offset)
        try:
            return self._encode_segments(text, offset, allowed)
        except UnicodeEncodeError:  # lone surrogates: tiktoken's repair, then again
            text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
            return self._encode_segments(text, offset, allowed)

    def _encode_segments(self, text: str, offset: int, allowed: frozenset) -> list[int]:
        if not allowed:
            return self._encode_ordinary(text, offset)
        ids: list[int] = []
        start = 0
        for match in self._special_regex(allowed).finditer(text):
            ids += self._encode_ordinary(text[start : match.start()], offset + start)
            ids.append(self.special_tokens[match.group()])
            start = match.end()
        ids += self._encode_ordinary(text[start:], offset + start)
        return ids

    def _special_regex(self, names: frozenset[str]):
        if names not in self._special_res:
            self._special_res[names] = pretokenize.special_regex(names)
        return self._special_res[names]

    def encode_batch(self, texts: Iterable[str], **kwargs) -> list[list[int]]:
        """``[encode(t) for t in texts]``, same keyword arguments as :meth:`encode`."""
        return [self.encode(t, **kwargs) for t in texts]

    def encode_iterable(
        self,
        iterable: Iterable[str],
        *,
        allowed_special: str | Iterable[str] = frozenset(),
        disallowed_special: str | Iterable[str] = "all",
    ) -> Iterator[int]:
        """Ids of the concatenation of ``iterable`` (e.g. an open file), streamed.

        Gives exactly ``encode("".join(iterable), ...)`` with the same arguments,
        errors included, in bounded memory; see ``streaming``.
        """
        rules = special.resolve(
            self.special_tokens, allowed_special, disallowed_special
        )
        return streaming.encode_stream(
            iterable,
            lambda text, offset: self._encode_at(text, offset, rules),
            self.special_tokens,
        )

    # ------------------------------------------------------------------ decoding
    def decode_bytes(self, ids: Iterable[int]) -> bytes:
        """Concatenated bytes of the tokens ``ids``: ints, or a 1-D integer tensor or
        array (see ``ids``)."""
        ids = as_id_list(ids)
        try:
            return b"".join([self.vocab[i] for i in ids])
        except KeyError:
            bad = [i for i in ids if i not in self.vocab]
            raise ValueError(
                f"unknown token id(s) {bad[:5]}; ids go from 0 to {self.vocab_size - 1}"
            ) from None

    def decode(self, ids: Iterable[int], *, errors: str = "replace") -> str:
        """Ids to text. A UTF-8 character split between tokens becomes U+FFFD,
        or raises ``UnicodeDecodeError`` with ``errors="strict"``."""
        return self.decode_bytes(ids).decode("utf-8", errors=errors)

    # ------------------------------------------------------------ save and export
    def save(self, path: str | Path) -> None:
        """Write the tokenizer as human-readable JSON (see ``serialization``)."""
        serialization.save(self, path)

    @classmethod
    def load(cls, path: str | Path) -> BPETokenizer:
        """Read a tokenizer written by :meth:`save`; ids are identical.

        A truncated, edited or foreign file raises ``TokenizerFileError`` (a
        ``ValueError``) naming the file and the problem."""
        fields = serialization.load_fields(path)
        try:
            return cls(**fields)
        except ValueError as error:
            raise serialization.TokenizerFileError(f"{path}: {error}") from None

    def save_gpt2_files(
        self, vocab_json_path: str | Path, merges_txt_path: str | Path
    ) -> None:
        """Write GPT-2 / Hugging Face ``vocab.json`` + ``merges.txt`` (atomically),
        which :meth:`from_gpt2_files` reads back; the pattern is not stored."""
        interchange.save_gpt2_files(self, vocab_json_path, merges_txt_path)

    def to_tiktoken(self, name: str = "llmlab-bpe"):
        """A ``tiktoken.Encoding`` that gives the same ids, at tiktoken's speed."""
        import tiktoken

        specials = set(self.special_tokens.values())
        ranks = {token: i for i, token in self.vocab.items() if i not in specials}
        return tiktoken.Encoding(
            name=name,
            pat_str=self.pattern,
            mergeable_ranks=ranks,
            special_tokens=dict(self.special_tokens),
        )
