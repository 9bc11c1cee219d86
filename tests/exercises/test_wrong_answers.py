"""The experiment exercises and conceptual questions of chapters 01, 03 and 05 reject
plausible wrong answers (stubs and solutions are covered by test_exercises.py)."""

from __future__ import annotations

import math

import pytest
import torch

from llmlab.exercises import all_exercises, check
from llmlab.model import CausalSelfAttention


# ------------------------------------------------------------- ch01 bits_per_byte
@pytest.mark.parametrize(
    "wrong",
    [
        lambda loss, n_tokens, n_bytes: loss * n_tokens / n_bytes,  # nats, not bits
        lambda loss, n_tokens, n_bytes: loss / math.log(2),  # bits per token
        lambda loss, n_tokens, n_bytes: loss * n_bytes / n_tokens / math.log(2),
        lambda loss, n_tokens, n_bytes: loss * n_tokens / n_bytes / math.log(10),
    ],
    ids=["nats per byte", "bits per token", "ratio inverted", "log base 10"],
)
def test_bits_per_byte_rejects(wrong) -> None:
    assert check("bits_per_byte", wrong, quiet=True) is False


# ----------------------------------------------------------- ch03 set_score_scale
def _hook_queries(factor_of):
    """A set_score_scale multiplying each layer's queries by factor_of(scale, Dh)."""

    def set_score_scale(model, scale):
        for layer in model.modules():
            if isinstance(layer, CausalSelfAttention):
                c = factor_of(scale, layer.config.d_head)
                layer.query.register_forward_hook(lambda m, i, q, c=c: q * c)

    return set_score_scale


def _scale_weights(model, scale):
    for layer in model.modules():
        if isinstance(layer, CausalSelfAttention):
            with torch.no_grad():
                layer.query.weight.mul_(scale * math.sqrt(layer.config.d_head))


def _hook_queries_and_keys(model, scale):
    for layer in model.modules():
        if isinstance(layer, CausalSelfAttention):
            c = scale * math.sqrt(layer.config.d_head)
            layer.query.register_forward_hook(lambda m, i, q, c=c: q * c)
            layer.key.register_forward_hook(lambda m, i, k, c=c: k * c)


def _only_first_layer(model, scale):
    layer = next(m for m in model.modules() if isinstance(m, CausalSelfAttention))
    c = scale * math.sqrt(layer.config.d_head)
    layer.query.register_forward_hook(lambda m, i, q, c=c: q * c)


def test_set_score_scale_accepts_the_hook_on_queries() -> None:
    right = _hook_queries(lambda scale, d: scale * math.sqrt(d))
    assert check("set_score_scale", right, quiet=True) is True


@pytest.mark.parametrize(
    "wrong, says",
    [
        (_hook_queries(lambda scale, d: scale), "still divides by √Dh"),  # forgot √Dh
        (_hook_queries(lambda scale, d: math.sqrt(d)), "not softmax"),  # ignores scale
        (_hook_queries(lambda scale, d: scale / math.sqrt(d)), "not softmax"),
        (_scale_weights, "changed"),  # same scores, but a different experiment
        (_hook_queries_and_keys, "not softmax"),  # the scores scaled twice
        (_only_first_layer, "layer 1"),
    ],
    ids=[
        "forgot √Dh",
        "ignores scale",
        "divides",
        "edits weights",
        "q and k",
        "one layer",
    ],
)
def test_set_score_scale_rejects(capsys, wrong, says) -> None:
    assert check("set_score_scale", wrong) is False
    assert says in capsys.readouterr().out


# ---------------------------------------------------------- ch05 rope_similarity
def _rope(exponent, reduce):
    def rope_similarity(head_dim, base, distances):
        i = torch.arange(head_dim // 2, dtype=torch.float64)
        theta = base ** (-exponent(i) / head_dim)
        m = torch.as_tensor(distances, dtype=torch.float64)[:, None]
        return reduce(torch.cos(m * theta))

    return rope_similarity


@pytest.mark.parametrize(
    "wrong",
    [
        _rope(lambda i: i, lambda c: c.mean(-1)),  # base^(-i/Dh)
        _rope(lambda i: 2 * i, lambda c: c.sum(-1)),  # not divided by head_dim
        _rope(lambda i: 2 * i + 2, lambda c: c.mean(-1)),  # pairs counted from 1
        lambda head_dim, base, distances: torch.ones(len(distances)),  # no rotation
    ],
    ids=["exponent i/Dh", "not divided", "pairs from 1", "no rotation"],
)
def test_rope_similarity_rejects(wrong) -> None:
    assert check("rope_similarity", wrong, quiet=True) is False


# ------------------------------------------------------------------ the questions
@pytest.mark.parametrize(
    "name, right",
    [("score_growth", "b"), ("rope_base_for_long_context", "b")],
)
def test_questions_accept_only_the_right_letter(capsys, name, right) -> None:
    assert all_exercises()[name].takes_value
    assert check(name, right) is True
    assert check(name, f" {right.upper()} ") is True  # case and spaces do not matter
    capsys.readouterr()
    for wrong in set("abcd") - {right}:
        assert check(name, wrong) is False
        out = capsys.readouterr().out
        assert out.startswith(f"❌ [{name}] not quite: ") and len(out) > 60, out
    assert check(name, None) is False
    assert "not answered yet" in capsys.readouterr().out
    assert check(name, "e") is False
    assert "one letter" in capsys.readouterr().out
