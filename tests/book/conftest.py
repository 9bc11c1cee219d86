"""The built book served on 127.0.0.1 for the browser test."""

from __future__ import annotations

import os

import pytest

from tests.book.site import BUILD, serve


@pytest.fixture(scope="session")
def book_server():
    if not (BUILD / "index.html").is_file():
        message = f"no built book at {BUILD}: run `make book` first (make test does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with serve(BUILD) as base:
        yield base
