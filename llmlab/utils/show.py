"""Showing package source inside a notebook.

``show(obj)`` displays the installed source of a function or class, so a chapter
can point at the code of record instead of copying it. IPython is imported inside
the function: it is a notebook dependency, not a package one.
"""

from __future__ import annotations

import inspect


def show(obj: object):
    """An ``IPython.display.Code`` block with the source of ``obj``."""
    from IPython.display import Code

    return Code(inspect.getsource(obj), language="python")
