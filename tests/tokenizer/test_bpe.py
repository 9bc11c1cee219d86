"""BPETokenizer: GPT-2 ids identical to tiktoken, round trips, streaming, errors."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmlab.tokenizer import BPETokenizer

KINDS = {
    "english": "Hello world. The quick brown fox doesn't jump; it's 'lazy', we'll see!",
    "code": 'def f(x):\n    return {"a": x ** 2}  # comment\n\n\nclass A:\n\tpass\n',
    "digits": "3.14159 2024-06-01 1,000,000 0x1F 12345678901234567890 ٣٤٥",
    "whitespace": "a  b   c\n\n\n  \t\t x \r\n  \n    \n end   ",
    "only spaces": "        ",
    "cjk": "漢字とひらがな、カタカナ。한국어 텍스트。中文分词测试",
    "emoji": "I ❤️ 🐍! 👩‍👩‍👧‍👦 family 🇫🇷 flag 🤖🤖🤖",
    "mixed scripts": "Ελληνικά, русский, العربية, עברית, हिन्दी, ไทย",
    "empty": "",
    "controls": "\x00\x01\x7f\u200b\ufeff\u00ad nul and zero-width",
}


def _stable(c: str) -> bool:
    """Characters (not surrogates) whose letter/number class is the same in every
    Unicode version tiktoken or ``regex`` may use: assigned already in Python's
    tables (see test_ids_follow_the_installed_regex_module)."""
    import unicodedata

    return unicodedata.category(c) not in ("Cn", "Cs")


def test_hello_world_and_endoftext(gpt2) -> None:
    assert gpt2.encode("Hello world") == [15496, 995]
    assert gpt2.encode("<|endoftext|>", allowed_special="all") == [50256]
    assert gpt2.eot_id == 50256
    assert gpt2.vocab_size == 50257


@pytest.mark.parametrize("text", KINDS.values(), ids=KINDS.keys())
def test_gpt2_ids_identical_to_tiktoken(gpt2, tiktoken_gpt2, text) -> None:
    assert gpt2.encode(text) == tiktoken_gpt2.encode(text)
    assert gpt2.decode(gpt2.encode(text)) == text


def test_gpt2_ids_identical_on_a_megabyte_of_python(gpt2, tiktoken_gpt2, stdlib_text):
    assert len(stdlib_text.encode("utf-8")) >= 1_000_000
    want = tiktoken_gpt2.encode(stdlib_text, disallowed_special=())
    assert gpt2.encode(stdlib_text, disallowed_special=()) == want


@settings(
    max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.text(alphabet=st.characters().filter(_stable)))
def test_gpt2_matches_tiktoken_and_round_trips_on_any_text(
    gpt2, tiktoken_gpt2, text
) -> None:
    ids = gpt2.encode(text, disallowed_special=())
    assert ids == tiktoken_gpt2.encode(text, disallowed_special=())
    assert gpt2.decode(ids) == text


@settings(
    max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.text(alphabet=st.characters(codec="utf-8")))
def test_trained_round_trips_on_any_text(trained, text) -> None:
    assert trained.decode(trained.encode(text, disallowed_special=())) == text


def test_from_tiktoken_equals_from_gpt2_files(gpt2, tiktoken_gpt2) -> None:
    other = BPETokenizer.from_tiktoken(tiktoken_gpt2)
    assert other.byte_ids == gpt2.byte_ids
    assert other.merges == gpt2.merges
    assert other.special_tokens == gpt2.special_tokens == {"<|endoftext|>": 50256}
    from_ranks = BPETokenizer.from_tiktoken(
        tiktoken_gpt2._mergeable_ranks, special_tokens={"<|endoftext|>": 50256}
    )
    assert from_ranks.encode(KINDS["code"]) == gpt2.encode(KINDS["code"])


def test_to_tiktoken_gives_identical_ids(trained, stdlib_text) -> None:
    encoding = trained.to_tiktoken()
    text = stdlib_text[-300_000:] + "<|endoftext|>" + KINDS["emoji"] + KINDS["cjk"]
    assert encoding.encode(text, allowed_special="all") == trained.encode(
        text, allowed_special="all"
    )
    assert encoding.n_vocab == trained.vocab_size
    assert encoding.decode(trained.encode(text, disallowed_special=())) == text


def test_gpt2_to_tiktoken_round_trip(gpt2, tiktoken_gpt2) -> None:
    encoding = gpt2.to_tiktoken("gpt2-copy")
    text = KINDS["english"] + KINDS["code"] + KINDS["emoji"]
    assert encoding.encode(text) == tiktoken_gpt2.encode(text)


def test_encode_batch(gpt2) -> None:
    texts = list(KINDS.values())
    assert gpt2.encode_batch(texts) == [gpt2.encode(t) for t in texts]


def _chunks(text: str, seed: int) -> list[str]:
    rng, out, i = random.Random(seed), [], 0
    while i < len(text):
        step = rng.choice([1, 7, 100, 5000, 70_000])
        out.append(text[i : i + step])
        i += step
    return out


@pytest.mark.parametrize("seed", [0, 1])
def test_streaming_equals_whole_text(gpt2, stdlib_text, seed) -> None:
    text = stdlib_text[:400_000]
    assert list(gpt2.encode_iterable(_chunks(text, seed))) == gpt2.encode(text)


def test_streaming_with_special_tokens_across_chunk_edges(trained) -> None:
    doc = "alpha beta gamma <|endoftext|> delta  epsilon\n" * 3000
    pieces = [doc[i : i + 9] for i in range(0, len(doc), 9)]  # cuts every special
    want = trained.encode(doc, allowed_special="all")
    assert list(trained.encode_iterable(pieces, allowed_special="all")) == want
    with pytest.raises(ValueError, match="endoftext"):
        list(trained.encode_iterable(pieces))


def test_streaming_reads_lazily(gpt2, tmp_path) -> None:
    """Ids come out long before the input ends: memory is bounded by a buffer."""
    path = tmp_path / "big.txt"
    path.write_text("the cat sat on the mat\n" * 200_000, encoding="utf-8")
    read = 0
    with path.open(encoding="utf-8") as file:

        def lines():
            nonlocal read
            for line in file:
                read += len(line)
                yield line

        stream = gpt2.encode_iterable(lines())
        first = [next(stream) for _ in range(10)]
    assert first == gpt2.encode("the cat sat on the mat\n" * 2)[:10]
    assert read < 200_000, f"read {read} characters before the first ids"


def test_decode_split_character_replaced_or_strict(gpt2) -> None:
    ids = gpt2.encode("🐍")
    assert len(ids) > 1  # the snake's four UTF-8 bytes span several tokens
    assert gpt2.decode(ids[:1]) == "\ufffd"
    with pytest.raises(UnicodeDecodeError):
        gpt2.decode(ids[:1], errors="strict")


def test_decode_accepts_tensors(trained) -> None:
    import torch

    ids = trained.encode("import os\n")
    assert trained.decode(torch.tensor(ids)) == "import os\n"


@pytest.mark.parametrize("bad", [50257, -1, 10**9])
def test_decode_unknown_id_raises_naming_it(gpt2, bad) -> None:
    with pytest.raises(ValueError, match="unknown token id") as info:
        gpt2.decode([15496, bad])
    assert repr(bad) in str(info.value)


@pytest.mark.parametrize("bad", ["3", 1.5, 104.0, None, True])
def test_decode_non_int_id_raises_naming_it(gpt2, bad) -> None:
    with pytest.raises(TypeError, match="token ids must be ints; item 1") as info:
        gpt2.decode([15496, bad])
    assert repr(bad) in str(info.value)


@pytest.mark.parametrize("bad", [b"bytes", None, 42, ["a", "list"]])
def test_encode_non_string_raises_naming_type(gpt2, bad) -> None:
    with pytest.raises(TypeError, match=type(bad).__name__):
        gpt2.encode(bad)
    with pytest.raises(TypeError, match=type(bad).__name__):
        list(gpt2.encode_iterable([bad]))


def test_inconsistent_merges_are_rejected() -> None:
    with pytest.raises(ValueError, match="permutation"):
        BPETokenizer(byte_ids=[0] * 256, merges=[], special_tokens={})
    with pytest.raises(ValueError, match="joins id 999, which no byte"):
        BPETokenizer(
            byte_ids=list(range(256)), merges=[(1, 999, 256)], special_tokens={}
        )
    with pytest.raises(ValueError, match="must increase"):
        BPETokenizer(
            byte_ids=list(range(256)),
            merges=[(1, 2, 257), (3, 4, 256)],
            special_tokens={},
        )
    with pytest.raises(ValueError, match="reuses id"):
        BPETokenizer(byte_ids=list(range(256)), merges=[], special_tokens={"<s>": 5})


def test_cache_stays_bounded(monkeypatch) -> None:
    import llmlab.tokenizer.bpe as bpe

    monkeypatch.setattr(bpe, "_CACHE_SIZE", 10)
    tok = BPETokenizer(byte_ids=list(range(256)), merges=[], special_tokens={})
    text = " ".join(f"w{i}" for i in range(100))
    assert tok.decode(tok.encode(text)) == text
    assert len(tok._cache) <= 10


@pytest.mark.parametrize("which", ["gpt2", "trained"])
def test_whole_token_shortcut_equals_plain_bpe(request, which) -> None:
    """Every token's bytes, merged by plain BPE, give back that token."""
    tok = request.getfixturevalue(which)
    specials = set(tok.special_tokens.values())
    for i, token in tok.vocab.items():
        if i not in specials:
            assert tok.bpe([tok.byte_ids[b] for b in token]) == [i], (i, token)


def test_duplicate_token_bytes_rejected() -> None:
    merges = [(97, 98, 256), (256, 99, 257), (98, 99, 258), (97, 258, 259)]
    with pytest.raises(ValueError, match="same bytes"):
        BPETokenizer(byte_ids=list(range(256)), merges=merges, special_tokens={})


def test_streaming_text_without_cut_points(gpt2) -> None:
    """A long stretch with no "letter, space" boundary is held, then encoded whole."""
    text = "漢字" * 50_000 + " end. " + "=" * 70_000
    chunks = [text[i : i + 1000] for i in range(0, len(text), 1000)]
    assert list(gpt2.encode_iterable(chunks)) == gpt2.encode(text)
    assert list(gpt2.encode_iterable([])) == []
    assert list(gpt2.encode_iterable(["", "a", ""])) == gpt2.encode("a")


def test_pickle_round_trip(trained) -> None:
    import pickle

    text = "def main():\n    return 0\n<|endoftext|>"
    trained.encode(text, allowed_special="all")  # fill the caches first
    back = pickle.loads(pickle.dumps(trained))
    assert len(back._cache) == 0
    assert back.encode(text, allowed_special="all") == trained.encode(
        text, allowed_special="all"
    )


def test_vocab_size_counts_unused_ids() -> None:
    tok = BPETokenizer(
        byte_ids=list(range(256)), merges=[], special_tokens={"<s>": 300}
    )
    assert tok.vocab_size == 301
    assert tok.decode([300]) == "<s>"
    with pytest.raises(ValueError, match="unknown token id"):
        tok.decode([299])


def _tiktoken_repair(text: str) -> str:
    """What tiktoken encodes for text with surrogates: pairs joined, lone ones
    U+FFFD."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


SURROGATES = {
    "lone high": "\ud800",
    "lone low in text": "say \udfff now",
    "a pair": "\ud83d\udc0d snake",
    "a pair then a lone one": "x\ud83d\udc0d\ud83d y",
    "next to a special": "\ud800<|endoftext|>\udc00",
}


@pytest.mark.parametrize("text", SURROGATES.values(), ids=SURROGATES.keys())
def test_surrogates_are_handled_as_tiktoken_does(gpt2, tiktoken_gpt2, text) -> None:
    """Issue 14 item 17: lone surrogates become U+FFFD, pairs their character."""
    for kwargs in ({"allowed_special": "all"}, {"disallowed_special": ()}):
        ids = gpt2.encode(text, **kwargs)
        assert ids == tiktoken_gpt2.encode(text, **kwargs)
        assert gpt2.decode(ids) == _tiktoken_repair(text)
        chunks = [text[i : i + 1] for i in range(len(text))]
        assert list(gpt2.encode_iterable(chunks, **kwargs)) == ids
    assert gpt2.encode("\ud800") == gpt2.encode("\ufffd") == [4210]


special_like = st.sampled_from(
    ["<|endoftext|>", "<|endoftext", "|>", "<|", "<|endoftext|><|endoftext|>"]
)
surrogates = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
any_text = st.lists(
    st.one_of(st.characters().filter(_stable), special_like, surrogates), max_size=30
).map("".join)


@settings(max_examples=300, deadline=None)
@given(any_text)
def test_gpt2_equals_tiktoken_on_any_text_with_specials_and_surrogates(
    gpt2, tiktoken_gpt2, text
) -> None:
    for kwargs in ({"allowed_special": "all"}, {"disallowed_special": ()}):
        ids = gpt2.encode(text, **kwargs)
        assert ids == tiktoken_gpt2.encode(text, **kwargs)
        assert gpt2.decode(ids) == _tiktoken_repair(text)


def test_ids_follow_the_installed_regex_module(gpt2, tiktoken_gpt2) -> None:
    """Issue 14 item 20, decided: pieces come from the installed ``regex`` module,
    so a code point that its Unicode tables make a letter but tiktoken's do not
    (U+1DFF6, unassigned in older Unicode) may give other ids than tiktoken.
    ``to_tiktoken()`` gives tiktoken's ids exactly."""
    import regex

    text = "\U0001dff6揍"
    pieces = regex.findall(gpt2.pattern, text)
    want = [i for p in pieces for i in gpt2.bpe([gpt2.byte_ids[b] for b in p.encode()])]
    assert gpt2.encode(text) == want
    assert gpt2.to_tiktoken().encode(text) == tiktoken_gpt2.encode(text)
    if regex.match(r"\p{L}", "\U0001dff6"):  # regex's tables know the letter
        assert pieces == [text]
        assert gpt2.encode(text) != tiktoken_gpt2.encode(text)
        assert gpt2.decode(gpt2.encode(text)) == text
