"""What ``decode`` accepts as token ids: a sequence of ints, or a 1-D integer array.

Token ids are integers. A float such as ``104.0`` equals the id 104 as a dict key,
so without a check it would decode silently; a rounded ``104.7`` would be a
different token. This module turns what a caller passes (a list, a tuple, a
generator, a 1-D integer ``torch.Tensor`` or ``numpy.ndarray``) into a list of
``int`` and refuses the rest with a message naming what was passed.

Taught in: chapters/01_tokenization.ipynb
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from numbers import Integral

_NOT_SEQUENCES = (str, bytes, bytearray, Mapping, set, frozenset)


def _array_to_list(ids) -> list[int]:
    """A torch tensor or numpy array of ids as a list; 1-D and integer only."""
    dtype, kind_name = ids.dtype, type(ids).__module__.split(".")[0]
    name = f"{kind_name}.{type(ids).__name__}"  # torch.Tensor, numpy.ndarray
    kind = getattr(dtype, "kind", None)  # numpy dtypes have a kind letter
    if kind is not None:
        integer = kind in "iu"
    else:  # a torch dtype
        integer = not (dtype.is_floating_point or dtype.is_complex)
        integer = integer and str(dtype) != "torch.bool"
    if not integer:
        raise TypeError(
            f"token ids must be integers, got a {name} of dtype "
            f"{dtype}; convert it with .long() (torch) or .astype(int) (numpy) "
            "only if the values really are ids"
        )
    if ids.ndim != 1:
        hint = " (a single id: pass [t.item()])" if ids.ndim == 0 else ""
        raise TypeError(
            f"token ids must be 1-D, got a {name} of shape "
            f"{tuple(ids.shape)}{hint}; decode one row at a time"
        )
    return ids.tolist()


def as_id_list(ids: Iterable[int]) -> list[int]:
    """``ids`` as a list of ``int``; TypeError for anything that is not ids.

    ``[104, 105]``, ``(104, 105)``, ``torch.tensor([104, 105])`` -> ``[104, 105]``;
    ``[104.0]``, ``{104: 1}``, ``torch.tensor(104)`` -> TypeError.
    """
    if hasattr(ids, "dtype") and hasattr(ids, "tolist") and hasattr(ids, "ndim"):
        return _array_to_list(ids)
    if isinstance(ids, _NOT_SEQUENCES) or not isinstance(ids, Iterable):
        raise TypeError(
            f"token ids must be a sequence of ints or a 1-D integer tensor, got "
            f"{type(ids).__name__} {str(ids)[:40]!r}"
        )
    items = ids if isinstance(ids, list) else list(ids)
    if all(type(i) is int for i in items):
        return items
    for position, i in enumerate(items):
        if isinstance(i, bool) or not isinstance(i, Integral):
            raise TypeError(
                f"token ids must be ints; item {position} is {i!r} ({type(i).__name__})"
            )
    return [int(i) for i in items]  # numpy integers, for example
