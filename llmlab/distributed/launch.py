"""Starting and stopping process groups, with timeouts, and running a function on
N local processes.

A process group is the set of processes ("ranks") that talk to each other through
collectives (all-reduce, all-gather, send/recv). Under ``torchrun`` every process
is started for you and finds the others through environment variables
(``init_method="env://"``, read by PyTorch). In tests and notebooks,
``run_on_ranks`` starts the processes itself: it picks a free TCP port on this
machine, starts ``world_size`` processes, initialises the group in each, runs the
function, and returns each rank's result.

Nothing waits forever. Every collective gets ``timeout_s`` (a rank that never
joins makes the others raise), and the parent gives the whole run ``timeout_s``:
if a rank dies or hangs, the survivors are stopped and a ``RankFailure`` names the
rank and its exit code.

Differs from ``torch.multiprocessing.spawn`` in: it returns results, enforces a
wall-clock limit, and can fork (fast, and works with functions defined in a
notebook) as well as spawn.

Taught in: chapters/12_distributed.ipynb
"""

from __future__ import annotations

import contextlib
import datetime
import multiprocessing as mp
import queue
import socket
import time
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import torch
import torch.distributed as dist

DEFAULT_TIMEOUT_S = 60.0


class RankFailure(RuntimeError):
    """A rank raised, died, or did not finish within the timeout."""


def init_process_group(
    *,
    backend: str = "gloo",
    init_method: str = "env://",
    rank: int | None = None,
    world_size: int | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> None:
    """Join the default process group; collectives raise after ``timeout_s``.

    Under torchrun leave ``init_method="env://"`` and rank/world_size None.
    """
    if timeout_s <= 0:
        raise ValueError(f"timeout_s={timeout_s} must be > 0")
    kwargs = {} if rank is None else dict(rank=rank, world_size=world_size)
    dist.init_process_group(
        backend=backend,
        init_method=init_method,
        timeout=datetime.timedelta(seconds=timeout_s),
        **kwargs,
    )


def destroy_process_group() -> None:
    """Leave the default process group (no-op when none is initialised)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


@contextlib.contextmanager
def process_group(**kwargs: Any) -> Iterator[None]:
    """``with process_group(...):`` init on entry, destroy on exit (even on error)."""
    init_process_group(**kwargs)
    try:
        yield
    finally:
        destroy_process_group()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_on_ranks(
    fn: Callable[..., Any],
    world_size: int = 2,
    *,
    args: tuple = (),
    backend: str = "gloo",
    timeout_s: float = DEFAULT_TIMEOUT_S,
    start_method: str = "fork",
    threads_per_rank: int = 1,
) -> list[Any]:
    """Run ``fn(rank, world_size, *args)`` on ``world_size`` local processes, each in
    the default process group; returns ``[result of rank 0, result of rank 1, ...]``.

    Raises ``RankFailure`` (naming the rank) if a rank raises, exits without a
    result, or the run takes longer than ``timeout_s``; the others are stopped.
    ``fork`` starts in milliseconds and accepts functions defined in a notebook;
    ``spawn`` needs ``fn`` importable by name.
    """
    if world_size < 1:
        raise ValueError(f"world_size={world_size} must be >= 1")
    ctx = mp.get_context(start_method)
    results = ctx.Queue()
    init = f"tcp://127.0.0.1:{free_port()}"
    procs = [
        ctx.Process(
            target=_rank_main,
            args=(fn, r, world_size, args, backend, init, timeout_s, threads_per_rank)
            + (results,),
            daemon=True,
        )
        for r in range(world_size)
    ]
    for p in procs:
        p.start()
    try:
        return _collect(procs, results, world_size, timeout_s)
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
            p.join(timeout=5)
        results.close()


def _rank_main(fn, rank, world_size, args, backend, init, timeout_s, threads, results):
    torch.set_num_threads(threads)  # ranks share the machine's cores
    try:
        if backend == "nccl":  # one GPU per rank, before NCCL looks for one
            torch.cuda.set_device(rank)
        with process_group(
            backend=backend,
            init_method=init,
            rank=rank,
            world_size=world_size,
            timeout_s=timeout_s,
        ):
            value = fn(rank, world_size, *args)
        results.put((rank, True, _pack(value)))
    except BaseException:  # report any failure to the parent, then exit non-zero
        results.put((rank, False, traceback.format_exc()))
        raise SystemExit(1)


def _collect(procs, results, world_size: int, timeout_s: float) -> list[Any]:
    deadline = time.monotonic() + timeout_s
    out: dict[int, Any] = {}
    while len(out) < world_size:
        try:
            rank, ok, value = results.get(timeout=0.05)
        except queue.Empty:
            _check_alive(procs, out, deadline, timeout_s)
            continue
        if not ok:
            raise RankFailure(_failure_report({rank: value}, results))
        out[rank] = _unpack(value)
    return [out[r] for r in range(world_size)]


def _failure_report(failures: dict[int, str], results) -> str:
    """All tracebacks that arrive within a second, first rank first: the rank that
    failed first is often not the one whose report arrives first."""
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        try:
            rank, ok, value = results.get(timeout=0.05)
        except queue.Empty:
            continue
        if not ok:
            failures[rank] = value
    return "\n".join(f"rank {r} raised:\n{failures[r]}" for r in sorted(failures))


def _check_alive(procs, finished: dict, deadline: float, timeout_s: float) -> None:
    for rank, p in enumerate(procs):
        if rank not in finished and not p.is_alive() and p.exitcode is not None:
            raise RankFailure(
                f"rank {rank} exited with code {p.exitcode} without a result"
            )
    if time.monotonic() > deadline:
        waiting = [r for r in range(len(procs)) if r not in finished]
        raise RankFailure(f"ranks {waiting} did not finish within {timeout_s} s")


class _Packed:
    """A tensor as plain bytes: survives the queue after its process has exited
    (a shared-memory tensor would need the sender alive)."""

    def __init__(self, tensor: torch.Tensor) -> None:
        t = tensor.detach().cpu().contiguous()
        self.dtype, self.shape = t.dtype, tuple(t.shape)
        self.data = t.view(torch.uint8).numpy().tobytes() if t.numel() else b""

    def tensor(self) -> torch.Tensor:
        flat = torch.frombuffer(bytearray(self.data), dtype=torch.uint8)
        return flat.view(self.dtype).reshape(self.shape).clone()


def _pack(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return _Packed(value)
    if isinstance(value, dict):
        return {k: _pack(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_pack(v) for v in value)
    return value


def _unpack(value: Any) -> Any:
    if isinstance(value, _Packed):
        return value.tensor()
    if isinstance(value, dict):
        return {k: _unpack(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_unpack(v) for v in value)
    return value
