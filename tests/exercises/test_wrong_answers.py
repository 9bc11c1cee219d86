"""The experiment exercises and conceptual questions of chapters 01, 03, 04 and 05
reject plausible wrong answers (stubs and solutions: test_exercises.py)."""

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


# ------------------------------------------------------ ch04 residual_stream_rms
def _stream(measure, *, final_norm=False, skip_embedding=False):
    def residual_stream_rms(model, ids):
        with torch.no_grad():
            h = model.embed(ids)
            sizes = [] if skip_embedding else [measure(h)]
            for block in model.blocks:
                h = block(h)
                sizes.append(measure(h))
            if final_norm:
                sizes[-1] = measure(model.final_norm(h))
        return sizes

    return residual_stream_rms


def _rms(h):
    return h.pow(2).mean().sqrt().item()


def test_residual_stream_rms_accepts_the_loop() -> None:
    assert check("residual_stream_rms", _stream(_rms), quiet=True) is True


@pytest.mark.parametrize(
    "wrong",
    [
        _stream(lambda h: h.norm().item()),  # the norm of everything, not the RMS
        _stream(lambda h: h.std().item()),  # the spread around the mean
        _stream(lambda h: h.norm(dim=-1).mean().item()),  # per-token norm, not RMS
        _stream(_rms, skip_embedding=True),  # n_layers numbers
        _stream(_rms, final_norm=True),  # the top measured after final_norm
    ],
    ids=["norm", "std", "token norm", "no embedding", "after final norm"],
)
def test_residual_stream_rms_rejects(wrong) -> None:
    assert check("residual_stream_rms", wrong, quiet=True) is False


# ------------------------------------------------------- ch04 llama_block_params
def _llama(d_ff_of, *, kv=True, norm=1, attention_bias=0):
    def llama_block_params(d_model, n_heads, n_kv_heads):
        D, d_head = d_model, d_model // n_heads
        k = n_kv_heads if kv else n_heads
        attention = (
            2 * D * D + 2 * D * k * d_head + attention_bias * (D + 2 * k * d_head)
        )
        return attention + 3 * D * d_ff_of(D) + 2 * norm * D

    return llama_block_params


def _llama_ff(D):
    return 256 * math.ceil(int(8 * D / 3) / 256)


def test_llama_block_params_accepts_the_formula() -> None:
    assert check("llama_block_params", _llama(_llama_ff), quiet=True) is True


@pytest.mark.parametrize(
    "wrong",
    [
        _llama(lambda D: int(8 * D / 3)),  # not rounded up to 256
        _llama(lambda D: 256 * (int(8 * D / 3) // 256)),  # rounded down
        _llama(lambda D: 4 * D),  # GPT-2's width
        _llama(_llama_ff, kv=False),  # every head has its own key and value
        _llama(_llama_ff, norm=2),  # LayerNorm's shift counted too
        _llama(_llama_ff, attention_bias=1),  # biases on Q, K, V
    ],
    ids=["not rounded", "rounded down", "4D", "no GQA", "norm shift", "biases"],
)
def test_llama_block_params_rejects(wrong) -> None:
    assert check("llama_block_params", wrong, quiet=True) is False


def test_llama_d_ff_rule_gives_llama_2_7b() -> None:
    from llmlab.exercises.ch04 import llama_d_ff

    assert llama_d_ff(4096) == 11_008  # Llama 2 7B's published FFN width


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
    [
        ("score_growth", "b"),
        ("norm_of_offset_vector", "b"),
        ("rope_base_for_long_context", "b"),
    ],
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


# ------------------------------------------------------------------ ch02 analogy
def _analogy(query_of, score, *, skip=True, over_all_rows=False):
    def analogy(table, a, b, c, candidates):
        query = query_of(table[a], table[b], table[c])
        pool = range(len(table)) if over_all_rows else candidates
        allowed = [i for i in pool if not (skip and i in (a, b, c))]
        return allowed[int(score(query, table[allowed]).argmax())]

    return analogy


def _cosine(query, rows):
    return torch.nn.functional.cosine_similarity(query[None], rows, dim=-1)


def _offset(a, b, c):
    return b - a + c


def test_analogy_accepts_cosine_of_the_offset() -> None:
    assert check("analogy", _analogy(_offset, _cosine), quiet=True) is True


@pytest.mark.parametrize(
    "wrong",
    [
        _analogy(_offset, lambda q, rows: rows @ q),  # dot product
        _analogy(_offset, lambda q, rows: -(rows - q).norm(dim=-1)),  # Euclidean
        _analogy(_offset, _cosine, skip=False),  # a, b, c allowed as answers
        _analogy(lambda a, b, c: a - b + c, _cosine),  # the offset reversed
        _analogy(lambda a, b, c: b + c, _cosine),  # a not subtracted
        _analogy(_offset, _cosine, over_all_rows=True),  # candidates ignored
    ],
    ids=["dot", "euclidean", "keeps a b c", "reversed", "no minus a", "all rows"],
)
def test_analogy_rejects(wrong) -> None:
    assert check("analogy", wrong, quiet=True) is False


# ------------------------------------------------------------- ch00 entropy_bits
def _entropy(log, *, sign=-1, reduce=lambda t: t.sum(dim=-1), guard=True):
    def entropy_bits(probs):
        terms = probs * log(probs)
        if guard:
            terms = torch.where(probs > 0, terms, 0.0)
        return sign * reduce(terms)

    return entropy_bits


def test_entropy_bits_accepts_the_guarded_sum() -> None:
    assert check("entropy_bits", _entropy(torch.log2), quiet=True) is True


@pytest.mark.parametrize(
    "wrong",
    [
        _entropy(torch.log),  # nats, not bits
        _entropy(torch.log2, sign=1),  # the minus sign forgotten
        _entropy(torch.log2, guard=False),  # 0 * log 0 = NaN
        _entropy(torch.log2, reduce=lambda t: t.sum()),  # one number for the batch
        _entropy(torch.log2, reduce=lambda t: t.mean(dim=-1)),  # mean, not sum
        _entropy(lambda p: torch.log2(p + 1e-3)),  # a smoothing constant too big
    ],
    ids=["nats", "no minus", "nan at zero", "whole batch", "mean", "smoothed"],
)
def test_entropy_bits_rejects(wrong) -> None:
    assert check("entropy_bits", wrong, quiet=True) is False


# ------------------------------------------------ ch03 window_reach, ch04 fold_norm
def _reach(allowed):
    def window_reach(window, n_layers, T):
        i, j = torch.arange(T)[:, None], torch.arange(T)[None, :]
        return allowed(i, j, window, n_layers)

    return window_reach


@pytest.mark.parametrize(
    "wrong",
    [
        _reach(lambda i, j, w, n: (j <= i) & (i - j < w)),  # one layer, depth ignored
        _reach(lambda i, j, w, n: (j <= i) & (i - j < n * w)),  # n·w, not n·(w - 1)
        _reach(lambda i, j, w, n: (j <= i) & (i - j < n * (w - 1))),  # one short
        _reach(lambda i, j, w, n: (j <= i) & (i - j < w**n)),  # reach multiplied
        _reach(lambda i, j, w, n: (i - j).abs() <= n * (w - 1)),  # the future too
        _reach(lambda i, j, w, n: ((j <= i) & (i - j <= n * (w - 1))).float()),
    ],
    ids=["one layer", "n*w", "one short", "w**n", "not causal", "float"],
)
def test_window_reach_rejects(wrong) -> None:
    assert check("window_reach", wrong, quiet=True) is False


def _fold(scale_of, *, shift=True, bias_from=None):
    def fold_norm(norm, linear):
        W = linear.weight
        b = linear.bias if linear.bias is not None else torch.zeros(W.shape[0])
        beta = getattr(norm, "bias", None)
        if shift and beta is not None:
            b = b + (bias_from or (lambda W, beta: W @ beta))(W, beta)
        return scale_of(W, norm.weight), b

    return fold_norm


def _in_place(norm, linear):
    linear.weight.mul_(norm.weight)
    return linear.weight, linear.bias


def test_fold_norm_accepts_columns_and_shift() -> None:
    assert check("fold_norm", _fold(lambda W, g: W * g), quiet=True) is True


@pytest.mark.parametrize(
    "wrong, says",
    [
        (_fold(lambda W, g: g[:, None] * W), "raised"),  # rows scaled (F != D)
        (_fold(lambda W, g: W), "Hint"),  # the scale forgotten
        (_fold(lambda W, g: W * g, shift=False), "Hint"),  # the shift forgotten
        (_fold(lambda W, g: W * g, bias_from=lambda W, b: W.T @ b), "Hint"),
        (_fold(lambda W, g: W * g, bias_from=lambda W, b: (W * b) @ b), "Hint"),
        (_in_place, "changed"),
    ],
    ids=["rows", "no scale", "no shift", "W.T beta", "shift scaled", "in place"],
)
def test_fold_norm_rejects(capsys, wrong, says) -> None:
    assert check("fold_norm", wrong) is False
    assert says in capsys.readouterr().out


# ------------------------------------------- end of ch03 window_reach, ch04 fold_norm


# ============================================ ch00 log_softmax, ch02 neighbour_overlap
# (the exercises that replaced ch00 softmax and ch02 nearest_neighbours)
def _log_softmax_shifted(logits):
    top = logits.max(dim=-1, keepdim=True).values
    return logits - top - (logits - top).exp().sum(dim=-1, keepdim=True).log()


def test_log_softmax_accepts_the_shifted_log_sum_exp() -> None:
    assert check("log_softmax", _log_softmax_shifted, quiet=True) is True


def _log_softmax_top_not_subtracted(logits):  # the shift not carried through
    top = logits.max(dim=-1, keepdim=True).values
    return logits - (logits - top).exp().sum(dim=-1, keepdim=True).log()


def _log_softmax_whole_tensor(logits):  # one max and one sum for every row
    shifted = logits - logits.max()
    return shifted - shifted.exp().sum().log()


@pytest.mark.parametrize(
    "wrong",
    [
        lambda logits: torch.log(torch.softmax(logits, dim=-1)),  # underflows to -inf
        lambda logits: logits - logits.exp().sum(dim=-1, keepdim=True).log(),
        _log_softmax_top_not_subtracted,
        lambda logits: _log_softmax_shifted(logits) / math.log(2),  # log2
        _log_softmax_whole_tensor,
        lambda logits: torch.softmax(logits, dim=-1),  # probabilities, not logs
    ],
    ids=[
        "log of softmax",
        "no shift",
        "shift dropped",
        "log2",
        "whole tensor",
        "probs",
    ],
)
def test_log_softmax_rejects(wrong) -> None:
    assert check("log_softmax", wrong, quiet=True) is False


def _neighbours(score, *, keep_self=False, pool_all=False, ordered=False):
    """A neighbour_overlap ranking rows by ``score(rows) -> (N, N)``."""

    def neighbour_overlap(table_a, table_b, ids, k):
        pool = list(range(len(table_a))) if pool_all else list(ids)
        lists = []
        for table in (table_a, table_b):
            sims = score(table[pool])
            if not keep_self:
                sims.fill_diagonal_(float("-inf"))
            lists.append(sims.topk(k, dim=-1).indices.tolist())
        rows = [pool.index(i) for i in ids]
        if ordered:  # position by position, as if the order mattered
            shared = [
                sum(x == y for x, y in zip(lists[0][r], lists[1][r])) for r in rows
            ]
        else:
            shared = [len(set(lists[0][r]) & set(lists[1][r])) for r in rows]
        return sum(shared) / (k * len(ids))

    return neighbour_overlap


def _cosines(rows):
    unit = torch.nn.functional.normalize(rows, dim=-1)
    return unit @ unit.T


def test_neighbour_overlap_accepts_cosine_sets() -> None:
    assert check("neighbour_overlap", _neighbours(_cosines), quiet=True) is True


@pytest.mark.parametrize(
    "wrong, says",
    [
        (_neighbours(lambda rows: rows @ rows.T), "dot product"),
        (_neighbours(lambda rows: -torch.cdist(rows, rows)), "Euclidean"),
        (_neighbours(_cosines, keep_self=True), "its own neighbour"),
        (_neighbours(_cosines, pool_all=True), "all rows of the table"),
        (_neighbours(_cosines, ordered=True), "want"),
        (lambda a, b, ids, k: 1.0, "want"),  # every table "agrees"
    ],
    ids=["dot", "euclidean", "self", "all rows", "ordered", "constant"],
)
def test_neighbour_overlap_rejects(capsys, wrong, says) -> None:
    assert check("neighbour_overlap", wrong) is False
    assert says in capsys.readouterr().out
