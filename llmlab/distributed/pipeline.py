"""Pipeline parallelism: stages on consecutive ranks, micro-batches flowing through.

Each rank holds one stage (``stages.py``). The batch is cut into ``m``
micro-batches; stage s runs forward on micro-batch i once stage s-1 has sent it
the activations (``send``/``recv``), and backward once stage s+1 has sent back the
gradient of those activations. A *schedule* is the order in which each rank runs
its forwards (F) and backwards (B); here it is plain data, a list of
``("F", i)`` / ``("B", i)`` per rank, so the book can draw it.

- **GPipe** (Huang et al. 2019, arXiv:1811.06965): all forwards, then all
  backwards. Every stage keeps the activations of all m micro-batches.
- **1F1B** (PipeDream-Flush, Narayanan et al. 2021, arXiv:2104.04473): after a
  short warm-up of forwards, each stage alternates one forward and one backward,
  so at most p micro-batches are in flight per stage instead of m. Same bubble.

While the pipeline fills and drains, stages wait: with equal stage times the idle
fraction (the *bubble*) is ``(p-1)/(m+p-1)``; more micro-batches shrink it.
``run_schedule`` records when each F and B ran, so the bubble can be measured.

The gradients equal one process's: each micro-batch loss is divided by m, so the
accumulated gradient is that of the mean loss over the batch.

Differs from the papers in: sends are asynchronous (``isend``) and receives block;
no interleaved virtual stages and no zero-bubble tricks. ``torch_schedule`` runs
the same schedules with ``torch.distributed.pipelining``.

Taught in: chapters/12_distributed.ipynb
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.distributed.pipelining import PipelineStage, Schedule1F1B, ScheduleGPipe

from llmlab.distributed.stages import Stage, sync_tied_gradients

SCHEDULES = ("gpipe", "1f1b")
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Event:
    """One forward ("F") or backward ("B") of one micro-batch on one rank."""

    kind: str
    micro_batch: int
    start: float
    end: float


def schedule_order(name: str, *, stage: int, n_stages: int, m: int) -> list:
    """The (kind, micro-batch) order a stage runs. Example, 1F1B, stage 0 of 2,
    m=3: [("F", 0), ("F", 1), ("B", 0), ("F", 2), ("B", 1), ("B", 2)]."""
    if name == "gpipe":
        return [("F", i) for i in range(m)] + [("B", i) for i in range(m)]
    if name != "1f1b":
        raise ValueError(f"schedule={name!r} must be one of {SCHEDULES}")
    warmup = min(n_stages - stage - 1, m)
    order = [("F", i) for i in range(warmup)]
    for i in range(m - warmup):  # steady state: one forward, one backward
        order += [("F", warmup + i), ("B", i)]
    return order + [("B", i) for i in range(m - warmup, m)]


def bubble_fraction(n_stages: int, m: int) -> float:
    """Idle fraction of an ideal GPipe/1F1B pipeline: (p-1)/(m+p-1)."""
    return (n_stages - 1) / (m + n_stages - 1)


def measured_bubble(timelines: list[list[Event]]) -> float:
    """1 - busy/elapsed, averaged over ranks, for one step's per-rank events."""
    start = min(e.start for events in timelines for e in events)
    end = max(e.end for events in timelines for e in events)
    busy = [sum(e.end - e.start for e in events) for events in timelines]
    return 1.0 - sum(busy) / (len(busy) * (end - start))


def run_schedule(
    stage: Stage,
    ids: list[torch.Tensor],
    targets: list[torch.Tensor],
    loss_fn: LossFn,
    *,
    schedule: str = "1f1b",
    group: dist.ProcessGroup | None = None,
    timeline: list[Event] | None = None,
) -> float | None:
    """Forward and backward of m micro-batches through the pipeline, written out.

    ids, targets: m tensors (B/m, T) int64 (every rank passes them; the first
    stage reads ids, the last reads targets, the others only their shapes).
    Returns the mean loss on the last stage, None elsewhere. Gradients are left
    in ``.grad`` (tied copies already summed); the caller steps the optimizer.
    """
    m, rank = len(ids), dist.get_rank(group)
    peers = _PeerIO(group, rank, stage)
    saved: dict[int, tuple] = {}
    total = 0.0
    order = schedule_order(schedule, stage=stage.index, n_stages=stage.n_stages, m=m)
    for kind, i in order:  # the timeline records compute only, not waiting
        if kind == "F":
            x = ids[i] if stage.is_first else peers.recv_activation(ids[i])
            began = time.perf_counter()
            out = stage(x)
            if stage.is_last:
                out = loss_fn(out, targets[i]) / m
            ended = time.perf_counter()
            if stage.is_last:
                total += out.item()
            else:
                peers.send_activation(out)
            saved[i] = (x, out)
        else:
            x, out = saved.pop(i)
            grad = None if stage.is_last else peers.recv_gradient(out)
            began = time.perf_counter()
            out.backward(grad)
            ended = time.perf_counter()
            if not stage.is_first:
                peers.send_gradient(x.grad)
        if timeline is not None:
            timeline.append(Event(kind, i, began, ended))
    peers.wait()
    sync_tied_gradients(stage)
    return total if stage.is_last else None


class _PeerIO:
    """Point-to-point traffic with the previous and next stage."""

    def __init__(self, group, rank: int, stage: Stage) -> None:
        self.group, self.stage = group, stage
        self.prev, self.next = rank - 1, rank + 1
        self.sends: list = []

    def _peer(self, rank: int) -> int:
        return rank if self.group is None else dist.get_global_rank(self.group, rank)

    def recv_activation(self, ids: torch.Tensor) -> torch.Tensor:
        shape = (*ids.shape, self.stage.d_model)  # (B/m, T, D)
        x = torch.empty(shape, device=ids.device)
        dist.recv(x, src=self._peer(self.prev), group=self.group)
        return x.requires_grad_()

    def send_activation(self, out: torch.Tensor) -> None:
        out = out.detach().contiguous()
        self.sends.append(dist.isend(out, self._peer(self.next), group=self.group))

    def recv_gradient(self, out: torch.Tensor) -> torch.Tensor:
        grad = torch.empty_like(out)
        dist.recv(grad, src=self._peer(self.next), group=self.group)
        return grad

    def send_gradient(self, grad: torch.Tensor) -> None:
        grad = grad.contiguous()
        self.sends.append(dist.isend(grad, self._peer(self.prev), group=self.group))

    def wait(self) -> None:
        for work in self.sends:
            work.wait()
        self.sends.clear()


def torch_schedule(
    stage: Stage,
    *,
    n_micro: int,
    loss_fn: LossFn,
    schedule: str = "1f1b",
    group: dist.ProcessGroup | None = None,
    device: torch.device | str = "cpu",
):
    """The same pipeline with ``torch.distributed.pipelining`` (grads scaled by 1/m)."""
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule={schedule!r} must be one of {SCHEDULES}")
    kind = ScheduleGPipe if schedule == "gpipe" else Schedule1F1B
    pipe_stage = PipelineStage(
        stage, stage.index, stage.n_stages, torch.device(device), group=group
    )
    return kind(pipe_stage, n_microbatches=n_micro, loss_fn=loss_fn)


def run_torch_schedule(
    runner, stage: Stage, ids: torch.Tensor, targets: torch.Tensor
) -> float | None:
    """One step of a ``torch_schedule``: ids, targets (B, T) (split into m inside).
    Returns the mean micro-batch loss on the last stage, None elsewhere."""
    losses: list[torch.Tensor] = []
    if stage.is_first:
        runner.step(ids)
    elif stage.is_last:
        runner.step(target=targets, losses=losses)
    else:
        runner.step()
    sync_tied_gradients(stage)
    return float(torch.stack(losses).detach().mean()) if stage.is_last else None
