from __future__ import annotations

import shutil

import pytest
import torch

from llmlab.model import GPTConfig
from llmlab.recipes import zoo
from llmlab.recipes.zoo import ZOO, ZooSpec, pretrained
from llmlab.train import TrainConfig

TINY = ZooSpec(
    name="tiny-test",
    vocab_size=300,
    model=GPTConfig(context_length=16, d_model=16, n_heads=2, n_layers=1, d_ff=32),
    train=TrainConfig(
        max_steps=4, batch_size=2, warmup_steps=1, eval_interval=2, eval_batches=1
    ),
    max_files=20,
)


def test_first_call_trains_later_calls_load_without_training(
    tmp_path, monkeypatch
) -> None:
    model, tokenizer = pretrained(TINY, cache_dir=tmp_path, progress=False)
    assert tokenizer.vocab_size == 300 and not model.training
    entries = list((tmp_path / "zoo").iterdir())
    assert len(entries) == 1 and entries[0].name.startswith("tiny-test-")

    def no_training(*args, **kwargs):
        raise AssertionError("the cached model was trained again")

    monkeypatch.setattr(zoo, "fit", no_training)
    monkeypatch.setattr(zoo.BPETokenizer, "train", no_training)
    again, tokenizer_again = pretrained(TINY, cache_dir=tmp_path, progress=False)
    for a, b in zip(model.state_dict().values(), again.state_dict().values()):
        assert torch.equal(a, b)
    text = "def f(x):\n    return x\n"
    assert tokenizer_again.encode(text) == tokenizer.encode(text)


def test_builds_are_deterministic(tmp_path) -> None:
    a, _ = pretrained(TINY, cache_dir=tmp_path / "a", progress=False)
    b, _ = pretrained(TINY, cache_dir=tmp_path / "b", progress=False)
    for x, y in zip(a.state_dict().values(), b.state_dict().values()):
        assert torch.equal(x, y)


def test_a_different_recipe_gets_its_own_entry(tmp_path) -> None:
    pretrained(TINY, cache_dir=tmp_path, progress=False)
    other = ZooSpec(**{**TINY.__dict__, "seed": 1})
    pretrained(other, cache_dir=tmp_path, progress=False)
    assert len(list((tmp_path / "zoo").iterdir())) == 2


def test_unknown_name_lists_the_known_ones(tmp_path) -> None:
    with pytest.raises(KeyError, match="stdlib-small"):
        pretrained("nope", cache_dir=tmp_path)
    assert "stdlib-small" in ZOO


def test_a_damaged_entry_or_half_build_rebuilds_instead_of_wedging(tmp_path) -> None:
    model, _ = pretrained(TINY, cache_dir=tmp_path, progress=False)
    (entry,) = (tmp_path / "zoo").iterdir()
    tokenizer_file = entry / "tokenizer.json"
    tokenizer_file.write_text(tokenizer_file.read_text()[:500])  # a full disk
    again, tokenizer = pretrained(TINY, cache_dir=tmp_path, progress=False)
    for a, b in zip(model.state_dict().values(), again.state_dict().values()):
        assert torch.equal(a, b)  # rebuilt: the same deterministic model
    assert tokenizer.vocab_size == 300
    # A half-built entry: truncated tokenizer and a corrupted checkpoint.
    partial = entry.with_name(entry.name + ".partial")
    shutil.rmtree(entry)
    partial.mkdir()
    (partial / "tokenizer.json").write_text('{"merges": [')
    (partial / "checkpoint.json").write_text('{"format": "llmlab-ch')
    third, _ = pretrained(TINY, cache_dir=tmp_path, progress=False)
    for a, b in zip(model.state_dict().values(), third.state_dict().values()):
        assert torch.equal(a, b)
    assert not partial.exists()
