"""The synthetic recall language: documents, prompts, and what they guarantee."""

from __future__ import annotations

import pytest
import torch

from llmlab.context import RecallTask, recall_prompts
from llmlab.context.recall_task import document, stream


def test_documents_and_streams() -> None:
    task = RecallTask(n_content=20, doc_len=64)
    g = torch.Generator().manual_seed(0)
    docs = [document(task, g) for _ in range(20)]
    for doc in docs:
        assert len(doc) == 64 and all(0 <= i < task.vocab_size for i in doc)
    assert any(task.mark in doc for doc in docs)  # pairs are planted
    s = stream(task, 1000, torch.Generator().manual_seed(1))
    assert s.shape == (1000,) and s.dtype == torch.long
    assert torch.equal(s, stream(task, 1000, torch.Generator().manual_seed(1)))


@pytest.mark.parametrize("filler", ["random", "pairs"])
def test_recall_prompts_plant_the_pair_at_the_right_distance(filler) -> None:
    task = RecallTask(n_content=30)
    g = torch.Generator().manual_seed(0)
    ids, values = recall_prompts(task, distance=12, n=50, generator=g, filler=filler)
    assert ids.shape == (50, 17)
    assert (ids[:, 0] == task.mark).all() and (ids[:, -2] == task.mark).all()
    assert torch.equal(ids[:, 1], ids[:, -1]) and torch.equal(ids[:, 2], values)
    body = ids[:, 3:-2]
    keys = ids[:, 1:2]
    if filler == "random":
        assert not (body == keys).any()  # the key never appears in the filler
    else:
        assert (body[:, ::3] == task.mark).all()


def test_absent_fact_is_nowhere_in_the_context() -> None:
    task = RecallTask(n_content=30)
    ids, values = recall_prompts(
        task, distance=5, n=40, generator=torch.Generator(), planted=False
    )
    assert not (ids[:, :-1] == ids[:, -1:]).any()  # key appears only as the query
    assert values.shape == (40,)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="filler='noise'"):
        recall_prompts(RecallTask(), distance=3, n=1, generator=None, filler="noise")
    with pytest.raises(ValueError, match="n_content=4"):
        RecallTask(n_content=4)
