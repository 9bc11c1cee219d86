"""Data parallelism: every rank holds the whole model and a slice of the batch.

Written out, it takes three moves. (1) Start equal: broadcast rank 0's weights to
everyone. (2) Each rank runs forward and backward on its own slice. (3) Average the
gradients across ranks with an all-reduce before the optimizer steps, so every rank
takes the same step and the replicas stay equal. The mean of the ranks' gradients
is the gradient of the mean loss over the whole batch (when the slices are the same
size), so the run matches one process on the whole batch.

Rather than one all-reduce per parameter (many tiny messages, each paying the
latency) or one at the end (no overlap with backward), gradients go in *buckets* of
about ``bucket_mb``: a hook on each parameter notes when its gradient is ready, and
a full bucket is flattened and all-reduced asynchronously while backward carries on
with earlier layers. The last buckets are waited for at the end of backward.

Differs from ``torch.nn.parallel.DistributedDataParallel`` (which ``apply_ddp``
applies) in: buckets are fixed from the parameter order instead of rebuilt from the
observed gradient order, and there is no ``no_sync`` (accumulated micro-batches
are all-reduced each time, which gives the same average).
Paper: Li et al. 2020, "PyTorch Distributed", arXiv:2006.15704.

Taught in: chapters/12_distributed.ipynb
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel


class BucketedDataParallel(nn.Module):
    """Written-out DDP: wraps ``module``; gradients are averaged during backward."""

    def __init__(
        self,
        module: nn.Module,
        *,
        group: dist.ProcessGroup | None = None,
        bucket_mb: float = 25.0,
    ) -> None:
        super().__init__()
        if bucket_mb <= 0:
            raise ValueError(f"bucket_mb={bucket_mb} must be > 0")
        self.module = module
        self.group = group
        self.world_size = dist.get_world_size(group)
        src = 0 if group is None else dist.get_global_rank(group, 0)
        with torch.no_grad():  # (1) every replica starts from rank 0's weights
            for tensor in [*module.parameters(), *module.buffers()]:
                dist.broadcast(tensor, src=src, group=group)
        trainable = [p for p in module.parameters() if p.requires_grad]
        # Backward produces the last layers' gradients first: fill buckets in
        # reverse order so the first bucket is ready first.
        self.buckets = _make_buckets(trainable[::-1], int(bucket_mb * 2**20))
        self._bucket_of = {p: i for i, b in enumerate(self.buckets) for p in b}
        self._reset()
        for p in trainable:
            p.register_post_accumulate_grad_hook(self._on_grad_ready)

    def forward(self, *args, **kwargs):
        """The wrapped module's forward, unchanged (the work happens in backward)."""
        return self.module(*args, **kwargs)

    def _reset(self) -> None:
        self._ready = [0] * len(self.buckets)
        self._pending: dict[int, tuple[dist.Work, torch.Tensor]] = {}
        self._callback_queued = False

    def _on_grad_ready(self, p: torch.Tensor) -> None:
        if not self._callback_queued:  # runs once, when backward has finished
            torch.autograd.Variable._execution_engine.queue_callback(self._finish)
            self._callback_queued = True
        i = self._bucket_of[p]
        self._ready[i] += 1
        if self._ready[i] == len(self.buckets[i]):
            self._launch(i)

    def _launch(self, i: int) -> None:
        """(3) Flatten bucket i's gradients into one buffer, all-reduce it async."""
        grads = [_grad_or_zeros(p) for p in self.buckets[i]]
        flat = torch.cat([g.reshape(-1) for g in grads])  # (sum of numels,)
        work = dist.all_reduce(flat, group=self.group, async_op=True)
        self._pending[i] = (work, flat)

    def _finish(self) -> None:
        """Wait for every bucket, divide by the world size, copy back into .grad."""
        for i in range(len(self.buckets)):
            if i not in self._pending:  # a parameter got no gradient this time
                self._launch(i)
        for i, (work, flat) in sorted(self._pending.items()):
            work.wait()
            flat /= self.world_size
            offset = 0
            for p in self.buckets[i]:
                n = p.numel()
                p.grad = flat[offset : offset + n].view_as(p).clone()
                offset += n
        self._reset()


def apply_ddp(
    model: nn.Module, *, group: dist.ProcessGroup | None = None
) -> DistributedDataParallel:
    """PyTorch's DistributedDataParallel around ``model`` (CPU/gloo or GPU/NCCL)."""
    return DistributedDataParallel(model, process_group=group)


def _make_buckets(params: list[torch.Tensor], cap_bytes: int) -> list[list]:
    buckets, current, size = [], [], 0
    for p in params:
        current.append(p)
        size += p.numel() * p.element_size()
        if size >= cap_bytes:
            buckets.append(current)
            current, size = [], 0
    if current:
        buckets.append(current)
    return buckets


def _grad_or_zeros(p: torch.Tensor) -> torch.Tensor:
    return p.grad if p.grad is not None else torch.zeros_like(p)
