"""The context window as a hard limit, and the policies for living within it.

A model reads at most ``context_length`` tokens. A longer prompt is an error that
says by how many tokens it is over, unless the caller picks a policy that chooses
which tokens to keep. Every policy here answers one question, ``kept(length,
limit)``: the indices (oldest first) of the tokens to keep out of ``length``, so
that at most ``limit`` remain. The same answer trims a list of ids
(``fit_to_window``) or compacts a KV cache (``KVCache.keep``, see ``rolling.py``).

- ``Refuse``: keep everything or raise ``ContextOverflowError``.
- ``DropOldest(chunk)``: drop the oldest tokens, ``chunk`` at a time, until the rest
  fits (a large chunk means the cache is rebuilt rarely; llama.cpp's context shift
  drops half the window at once).
- ``SlidingWindow(window)``: always keep only the last ``window`` tokens.
- ``AttentionSinks(sinks, window)``: keep the first ``sinks`` tokens and the last
  ``window - sinks`` (StreamingLLM, Xiao et al. 2023, arXiv:2309.17453: the first
  tokens soak up attention that has nowhere else to go; evicting them hurts).

Summarizing older turns works on messages, not tokens: see ``conversation.py``.

Differs from StreamingLLM in: the policy only chooses tokens; how positions are
assigned after a roll is decided in ``rolling.py``.

Taught in: chapters/09_context.ipynb, chapters/10_long_context.ipynb
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch


class ContextOverflowError(ValueError):
    """A sequence longer than the window, with no policy to shorten it."""

    def __init__(self, length: int, limit: int) -> None:
        self.length, self.limit, self.over = length, limit, length - limit
        super().__init__(
            f"{length} tokens do not fit the context window of {limit}: "
            f"{self.over} tokens over. Shorten the input or pass a policy "
            "(DropOldest, SlidingWindow, AttentionSinks)."
        )


class WindowPolicy(Protocol):
    def kept(self, length: int, limit: int) -> list[int]:
        """Indices (increasing) of the tokens to keep; at most ``limit`` of them."""
        ...


def _check_sizes(length: int, limit: int) -> None:
    if not isinstance(length, int) or length < 0:
        raise ValueError(f"length={length!r} must be an int >= 0")
    if not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit={limit!r} must be a positive int")


def _positive(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}={value!r} must be a positive int")


@dataclass(frozen=True)
class Refuse:
    """The hard limit: a sequence that does not fit is an error."""

    def kept(self, length: int, limit: int) -> list[int]:
        _check_sizes(length, limit)
        if length > limit:
            raise ContextOverflowError(length, limit)
        return list(range(length))


@dataclass(frozen=True)
class DropOldest:
    """Drop the oldest tokens in blocks of ``chunk`` until the rest fits.

    length=10, limit=6, chunk=3 -> drop 6 (two blocks) -> keep [6, 7, 8, 9].
    A chunk larger than the window still keeps the newest token.
    """

    chunk: int = 1

    def __post_init__(self) -> None:
        _positive("chunk", self.chunk)

    def kept(self, length: int, limit: int) -> list[int]:
        _check_sizes(length, limit)
        if length <= limit:
            return list(range(length))
        blocks = -(-(length - limit) // self.chunk)  # ceiling division
        drop = min(blocks * self.chunk, length - 1)  # the newest token always stays
        return list(range(drop, length))


@dataclass(frozen=True)
class SlidingWindow:
    """Keep the last ``window`` tokens (default: the whole limit).

    length=10, window=4 -> [6, 7, 8, 9].
    """

    window: int | None = None

    def __post_init__(self) -> None:
        if self.window is not None:
            _positive("window", self.window)

    def kept(self, length: int, limit: int) -> list[int]:
        _check_sizes(length, limit)
        size = min(limit, self.window or limit)
        return list(range(max(0, length - size), length))


@dataclass(frozen=True)
class AttentionSinks:
    """Keep the first ``sinks`` tokens and the most recent ones, ``window`` in all.

    length=10, sinks=2, window=5 -> [0, 1, 7, 8, 9].
    """

    sinks: int = 4
    window: int | None = None

    def __post_init__(self) -> None:
        _positive("sinks", self.sinks)
        if self.window is not None:
            _positive("window", self.window)
            if self.window <= self.sinks:
                raise ValueError(
                    f"window={self.window} must exceed sinks={self.sinks} "
                    "(room for at least one recent token)"
                )

    def kept(self, length: int, limit: int) -> list[int]:
        _check_sizes(length, limit)
        size = min(limit, self.window or limit)
        if size <= self.sinks:
            raise ValueError(
                f"a window of {size} tokens leaves no room after sinks={self.sinks}"
            )
        if length <= size:
            return list(range(length))
        recent = size - self.sinks
        return list(range(self.sinks)) + list(range(length - recent, length))


def check_fits(length: int, limit: int) -> None:
    """Raise ``ContextOverflowError`` (saying how many tokens over) if too long."""
    Refuse().kept(length, limit)


def fit_to_window(
    ids: list[int] | torch.Tensor, limit: int, policy: WindowPolicy | None = None
) -> list[int] | torch.Tensor:
    """The tokens of ``ids`` (1-D list or (T,) / (B, T) tensor) that ``policy`` keeps.

    With no policy, a sequence over ``limit`` raises ``ContextOverflowError``.
    """
    policy = Refuse() if policy is None else policy
    length = ids.shape[-1] if isinstance(ids, torch.Tensor) else len(ids)
    kept = policy.kept(length, limit)
    if len(kept) > limit:
        raise RuntimeError(f"{policy} kept {len(kept)} tokens, over limit={limit}")
    if isinstance(ids, torch.Tensor):
        return ids[..., torch.tensor(kept, dtype=torch.long, device=ids.device)]
    return [ids[i] for i in kept]
