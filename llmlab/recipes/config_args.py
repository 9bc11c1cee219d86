"""Command-line text to typed config values, checked against the dataclass fields.

``--model tie_embeddings=False`` must give ``False``, not the truthy string
``"False"``; ``--model n_layers=2.5`` must be refused, not passed on. Each value is
parsed by the type annotation of its field: ``bool`` (true/false/1/0/yes/no),
``int``, ``float`` (finite), ``str``, and ``X | None`` (``none``/``null``). An
unknown field or a value of the wrong type raises ``UsageError`` naming both.

Taught in: chapters/06_pretraining.ipynb
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing


class UsageError(ValueError):
    """A command-line argument that cannot be used (exit code 2)."""


def parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered not in {"true", "false", "1", "0", "yes", "no"}:
        raise ValueError(f"expected true/false, got {text!r}")
    return lowered in {"true", "1", "yes"}


def parse_typed(hint, text: str):
    """``text`` as a value of type ``hint`` (bool, int, float, str, X | None)."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        if type(None) in args and text.strip().lower() in {"none", "null"}:
            return None
        errors = []
        for option in (a for a in args if a is not type(None)):
            try:
                return parse_typed(option, text)
            except ValueError as error:
                errors.append(str(error))
        raise ValueError("; ".join(errors))
    if hint is bool:
        return parse_bool(text)
    if hint is int:
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"expected an integer, got {text!r}") from None
    if hint is float:
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"expected a number, got {text!r}") from None
        if not math.isfinite(value):
            raise ValueError(f"expected a finite number, got {text!r}")
        return value
    if hint is str:
        return text
    raise ValueError(f"cannot parse {text!r} as {hint}")


def parse_overrides(cls, items: list[str], *, flag: str, fixed=()) -> dict:
    """``["n_layers=6", "bias=false"]`` -> ``{"n_layers": 6, "bias": False}``.

    Fields named in ``fixed`` are set elsewhere and refused here.
    """
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    overrides = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep:
            raise UsageError(f"{flag} expects KEY=VALUE, got {item!r}")
        if key not in hints or key not in names:
            raise UsageError(
                f"{flag} {item!r}: {cls.__name__} has no field {key!r}; "
                f"fields: {', '.join(names)}"
            )
        if key in fixed:
            raise UsageError(f"{flag} {item!r}: {key} is set by {fixed[key]}")
        try:
            overrides[key] = parse_typed(hints[key], value)
        except ValueError as error:
            raise UsageError(f"{flag} {item!r}: {error}") from None
    return overrides
