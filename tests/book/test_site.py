"""Browser-test helpers: reading order from _toc.yml, the link checker, the server."""

from __future__ import annotations

import urllib.request
from pathlib import Path

from tests.book.site import internal_link_problems, serve, toc_pages


def test_toc_pages_in_reading_order(tmp_path: Path) -> None:
    toc = tmp_path / "_toc.yml"
    toc.write_text(
        "format: jb-book\nroot: book/intro\nparts:\n"
        "  - caption: A\n    chapters:\n      - file: chapters/00_x\n"
        "      - file: book/api/index\n        sections:\n"
        "          - file: book/api/model.md\n"
        "  - caption: B\n    chapters:\n      - file: chapters/01_y.ipynb\n"
    )
    assert toc_pages(toc) == [
        "book/intro.html",
        "chapters/00_x.html",
        "book/api/index.html",
        "book/api/model.html",
        "chapters/01_y.html",
    ]


def test_link_checker_flags_missing_files_and_anchors(tmp_path: Path) -> None:
    (tmp_path / "a.html").write_text('<h1 id="top">A</h1><a name="old">x</a>')
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "index.html").write_text("<p>index</p>")
    base = "http://127.0.0.1:1"
    links = [
        f"{base}/a.html#top",
        f"{base}/a.html#old",
        f"{base}/sub/",
        "https://example.org/elsewhere.html",
        f"{base}/a.html#gone",
        f"{base}/missing.html",
    ]
    assert internal_link_problems("a.html", links, base, root=tmp_path) == [
        "broken anchor: a.html#gone",
        "broken link: missing.html",
    ]


def test_serve_answers_on_loopback(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("hello")
    with serve(tmp_path) as base:
        assert base.startswith("http://127.0.0.1:")
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with direct.open(f"{base}/index.html", timeout=10) as response:
            assert response.read() == b"hello"
