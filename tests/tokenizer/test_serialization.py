"""Save -> load gives the identical tokenizer, in a file a person can read; saving is
atomic; a damaged or foreign file gives one clear error naming it."""

from __future__ import annotations

import json
import signal

import pytest

from llmlab.tokenizer import BPETokenizer, TokenizerFileError
from llmlab.tokenizer.serialization import to_text


@pytest.mark.parametrize("which", ["trained", "gpt2"])
def test_save_load_identical(request, tmp_path, stdlib_text, which) -> None:
    tok = request.getfixturevalue(which)
    path = tmp_path / "tok.json"
    tok.save(path)
    back = BPETokenizer.load(path)
    assert back.merges == tok.merges
    assert back.byte_ids == tok.byte_ids
    assert back.special_tokens == tok.special_tokens
    assert back.pattern == tok.pattern
    assert back.vocab == tok.vocab
    back.save(tmp_path / "again.json")  # saving what was loaded changes no byte
    assert (tmp_path / "again.json").read_bytes() == path.read_bytes()
    text = stdlib_text[:100_000] + "<|endoftext|> 漢字 🐍"
    assert back.encode(text, allowed_special="all") == tok.encode(
        text, allowed_special="all"
    )


def test_round_trip_keeps_a_custom_pattern_and_odd_specials(tmp_path) -> None:
    tok = BPETokenizer.train(
        "aaab aab ab 12 12 12",
        vocab_size=262,
        special_tokens=["<|im start|>", 'say "hi"\n', "ü"],
        pattern=r"\p{L}+|\p{N}+|\s+|[^\s\p{L}\p{N}]+",
    )
    tok.save(tmp_path / "tok.json")
    back = BPETokenizer.load(tmp_path / "tok.json")
    assert (back.pattern, back.special_tokens, back.merges) == (
        tok.pattern,
        tok.special_tokens,
        tok.merges,
    )


def test_format_fields(trained, tmp_path) -> None:
    path = tmp_path / "tok.json"
    trained.save(path)
    text = path.read_text(encoding="utf-8")
    data = json.loads(text)
    assert set(data) == {
        "format",
        "version",
        "pattern",
        "special_tokens",
        "byte_ids",
        "merges",
        "tokens",
    }
    assert (data["format"], data["version"]) == ("llmlab-bpe", 1)
    assert data["pattern"] == trained.pattern
    assert data["special_tokens"] == {"<|endoftext|>": 999}
    assert data["byte_ids"] == list(range(256))
    assert [tuple(m) for m in data["merges"]] == trained.merges
    assert data["tokens"] == {
        str(new): trained.vocab[new].decode("utf-8", "backslashreplace")
        for _, _, new in trained.merges
    }
    lines = text.splitlines()
    start = lines.index('  "merges": [')
    merge_lines = lines[start + 1 : start + 1 + len(trained.merges)]
    assert [json.loads(line.rstrip(",")) for line in merge_lines] == data["merges"]


def _limit_file_size(limit: int):
    """Writes past ``limit`` bytes fail with EFBIG, as on a full disk."""
    resource = pytest.importorskip("resource")
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # else the kernel kills
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))

    def restore() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)

    return restore


def test_a_failed_save_leaves_the_old_file_intact(trained, tmp_path) -> None:
    """Issue 14 item 4: on a full disk the good file survives, no temp file stays."""
    small = BPETokenizer(byte_ids=list(range(256)), merges=[], special_tokens={})
    path = tmp_path / "tokenizer.json"
    small.save(path)
    good = path.read_bytes()
    assert len(to_text(trained).encode("utf-8")) > len(good) + 1000
    restore = _limit_file_size(len(good) + 1000)
    try:
        with pytest.raises(OSError):
            trained.save(path)
    finally:
        restore()
    assert path.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tokenizer.json"]
    assert BPETokenizer.load(path).merges == []


def _edit(data: dict, **changes) -> str:
    return json.dumps(data | changes)


def _bad_files(good: str) -> dict[str, tuple[str | bytes, str]]:
    """name -> (file contents, expected message fragment)."""
    data = json.loads(good)
    merges = data["merges"]
    return {
        "truncated": (good[: len(good) // 2], "not valid JSON"),
        "empty": ("", "not valid JSON"),
        "binary": (b"\x80\x04\x95PK\x03\x04", "not UTF-8"),
        "Hugging Face tokenizer.json": ('{"model": {"type": "BPE"}}', "is not an"),
        "a JSON list": ("[1, 2, 3]", "is not an"),
        "version 99": (_edit(data, version=99), "has version 99"),
        "no merges": (
            json.dumps({k: v for k, v in data.items() if k != "merges"}),
            "'merges' is missing",
        ),
        "merges a dict": (_edit(data, merges={}), "'merges' must be a JSON list"),
        "a merge of two ints": (
            _edit(data, merges=[[1, 2]] + merges[1:]),
            r"merge 0 must be three ints",
        ),
        "a merge with str ids": (
            _edit(data, merges=[["1", "2", "256"]] + merges[1:]),
            "merge 0 must be three ints",
        ),
        "a merge edited": (
            _edit(data, merges=[[1, 2, 400]] + merges[1:]),
            "merge 1 [256, 256, 257] joins id 256, which no byte or earlier",
        ),
        "special id -1": (
            _edit(data, special_tokens={"<|endoftext|>": -1}),
            "has id -1",
        ),
        "special id 10**9": (
            _edit(data, special_tokens={"<|endoftext|>": 10**9}),
            "has id 1000000000",
        ),
        "special id 1.5": (
            _edit(data, special_tokens={"<|endoftext|>": 1.5}),
            "has id 1.5",
        ),
        "special id true": (
            _edit(data, special_tokens={"<|endoftext|>": True}),
            "has id True",
        ),
        "special id of a merge": (
            _edit(data, special_tokens={"<|endoftext|>": 300}),
            "reuses id 300",
        ),
        "255 byte ids": (_edit(data, byte_ids=list(range(255))), "permutation"),
        "empty pattern": (_edit(data, pattern=""), "non-empty regex"),
        "broken pattern": (_edit(data, pattern="(a"), "not a valid regex"),
        "pattern matching nothing": (_edit(data, pattern="a*"), "empty string"),
    }


def test_bad_files_give_one_clear_error_naming_the_file(trained, tmp_path) -> None:
    """Issue 14 items 12 and 15."""
    for name, (contents, fragment) in _bad_files(to_text(trained)).items():
        path = tmp_path / f"{name}.json"
        if isinstance(contents, bytes):
            path.write_bytes(contents)
        else:
            path.write_text(contents, encoding="utf-8")
        with pytest.raises(TokenizerFileError) as info:
            BPETokenizer.load(path)
        message = str(info.value)
        assert str(path) in message, (name, message)
        assert fragment in message, (name, message)
        assert isinstance(info.value, ValueError)


def test_missing_file_names_it(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.json"):
        BPETokenizer.load(tmp_path / "nope.json")
