"""Checkers for chapter 12, distributed training."""

from __future__ import annotations

import torch

from llmlab.exercises._core import exercise


@exercise("row_parallel_linear")
def verify_row_parallel_linear(fn) -> None:
    """``row_parallel_linear(x, weight, n)``: split ``weight`` (D_out, D_in) into n
    slices of input units and ``x`` (..., D_in) to match, multiply each pair as
    one rank would, and add the partial results: must equal ``x @ weight.T``."""
    g = torch.Generator().manual_seed(12)
    for n, d_in, d_out in [(2, 8, 6), (4, 12, 5), (3, 9, 9)]:
        x = torch.randn(2, 3, d_in, generator=g)
        weight = torch.randn(d_out, d_in, generator=g)
        got = fn(x.clone(), weight.clone(), n)
        assert isinstance(got, torch.Tensor), f"expected a tensor, got {type(got)}"
        assert got.shape == (2, 3, d_out), (
            f"n={n}: shape {tuple(got.shape)}, want {(2, 3, d_out)}"
        )
        want = x @ weight.T
        assert torch.allclose(got, want, atol=1e-5), (
            f"n={n}: the summed partial products differ from x @ weight.T by "
            f"{(got - want).abs().max().item():.3g}. Hint: rank r holds columns "
            "r·D_in/n … (r+1)·D_in/n of the weight and the same slice of x."
        )


@exercise("ring_all_reduce")
def verify_ring_all_reduce(fn) -> None:
    """``ring_all_reduce(chunks)`` with ``chunks[r]`` = rank r's list of N equal
    chunks: return (results, sent) where results[r] is rank r's list of N summed
    chunks and sent[r] the number of elements rank r sent, passing one chunk per
    step to the next rank (N-1 reduce-scatter steps, then N-1 all-gather steps)."""
    g = torch.Generator().manual_seed(3)
    for n, size in [(2, 3), (3, 4), (4, 2)]:
        data = [[torch.randn(size, generator=g) for _ in range(n)] for _ in range(n)]
        copies = [[c.clone() for c in rank] for rank in data]
        results, sent = fn(copies)
        total = [sum(data[r][c] for r in range(n)) for c in range(n)]
        assert len(results) == n, f"N={n}: {len(results)} results, want one per rank"
        for r in range(n):
            for c in range(n):
                assert torch.allclose(results[r][c], total[c], atol=1e-5), (
                    f"N={n}: rank {r}, chunk {c} is not the sum over ranks"
                )
        want = 2 * (n - 1) * size  # 2·(N-1)/N of N·size elements
        assert list(sent) == [want] * n, (
            f"N={n}: sent {list(sent)} elements per rank, want {want} each "
            "(each of the 2·(N-1) steps sends one chunk)"
        )


@exercise("gpipe_step_time")
def verify_gpipe_step_time(fn) -> None:
    """``gpipe_step_time(forward, backward, m)``: forward[s], backward[s] are stage
    s's times per micro-batch; return when the last backward of a GPipe step
    ends, if every op starts as soon as its inputs and its stage are free."""
    cases = [
        ([1.0, 1.0], [2.0, 2.0], 4),
        ([1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0], 8),
        ([1.0], [3.0], 5),
        ([1.0, 3.0], [2.0, 6.0], 3),  # an uneven split: the slow stage dominates
        ([2.0, 1.0, 0.5], [4.0, 2.0, 1.0], 2),
    ]
    for forward, backward, m in cases:
        got = fn(list(forward), list(backward), m)
        want = _gpipe_step_time(forward, backward, m)
        assert abs(float(got) - want) < 1e-9, (
            f"forward={forward}, backward={backward}, m={m}: got {got}, want {want}. "
            "Hint: F(s, i) waits for F(s-1, i) and F(s, i-1); B(s, i) waits for "
            "B(s+1, i) and for the stage's previous op."
        )


def _gpipe_step_time(forward: list[float], backward: list[float], m: int) -> float:
    p = len(forward)
    free = [0.0] * p  # when each stage is next idle
    done_f = [[0.0] * m for _ in range(p)]
    for i in range(m):
        for s in range(p):
            ready = done_f[s - 1][i] if s else 0.0
            done_f[s][i] = max(ready, free[s]) + forward[s]
            free[s] = done_f[s][i]
    done_b = [[0.0] * m for _ in range(p)]
    for i in range(m):
        for s in reversed(range(p)):
            ready = done_b[s + 1][i] if s < p - 1 else done_f[s][m - 1]
            done_b[s][i] = max(ready, free[s]) + backward[s]
            free[s] = done_b[s][i]
    return max(free)
