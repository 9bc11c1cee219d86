import pytest

from llmlab.generate.text_stream import TextStream, stream_text
from llmlab.tokenizer import BPETokenizer, ByteTokenizer

TEXT = "naïve café — 東京 😀😁😂😃😄😅😆 def f(): return 'ß'\n" * 3


@pytest.fixture(scope="module")
def bpe() -> BPETokenizer:
    return BPETokenizer.train(TEXT * 5, vocab_size=270)


def test_streaming_a_byte_tokenizer_equals_the_full_decode() -> None:
    tokenizer = ByteTokenizer()
    ids = tokenizer.encode(TEXT)
    pieces = list(stream_text(tokenizer, ids))
    assert "".join(pieces) == tokenizer.decode(ids) == TEXT
    assert "\ufffd" not in "".join(pieces)
    assert len(pieces) < len(ids)  # multi-byte characters waited for their bytes


def test_streaming_bpe_tokens_that_split_characters(bpe) -> None:
    ids = bpe.encode(TEXT)
    # some token really ends inside a character, so the test exercises buffering
    assert any(_splits(bpe.decode_bytes([i])) for i in ids)
    assert "".join(stream_text(bpe, ids)) == bpe.decode(ids) == TEXT


def test_a_naive_per_token_decode_would_break_characters(bpe) -> None:
    ids = ByteTokenizer().encode("é")
    assert "".join(ByteTokenizer().decode([i]) for i in ids) != "é"
    stream = TextStream(ByteTokenizer())
    assert (stream.push(ids[:1]), stream.push(ids[1:]), stream.flush()) == ("", "é", "")


def test_stopping_inside_a_character_flushes_a_replacement() -> None:
    ids = ByteTokenizer().encode("a😀")[:-1]
    assert "".join(stream_text(ByteTokenizer(), ids)) == ByteTokenizer().decode(ids)


def _splits(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False
