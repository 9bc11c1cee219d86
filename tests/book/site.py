"""Browser-test helpers: pages in reading order, a local server, link checks."""

from __future__ import annotations

import functools
import http.server
import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlsplit

import yaml

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "_build" / "html"
SCREENSHOTS = REPO / "_build" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def toc_pages(toc: Path = REPO / "_toc.yml") -> list[str]:
    """Every page of the book as an HTML path, in the order a reader meets them."""
    spec = yaml.safe_load(toc.read_text())
    pages = [spec["root"]]

    def walk(entries: list[dict]) -> None:
        for entry in entries:
            if "file" in entry:
                pages.append(entry["file"])
            for key in ("chapters", "sections"):
                walk(entry.get(key, []))

    walk(spec.get("parts", []))
    walk(spec.get("chapters", []))
    return [re.sub(r"\.(md|ipynb)$", "", page) + ".html" for page in pages]


def chromium_path() -> str | None:
    """Debian's Chromium, or any `chromium` on PATH."""
    for candidate in ("/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002
        pass


@contextmanager
def serve(root: Path) -> Iterator[str]:
    """Serve `root` on 127.0.0.1 at a free port; yield the base URL."""
    handler = functools.partial(QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@functools.cache
def ids_in(path: Path) -> frozenset[str]:
    """The anchors a page offers: its id and name attributes."""
    html = path.read_text(encoding="utf-8", errors="replace")
    return frozenset(re.findall(r'\s(?:id|name)="([^"]+)"', html))


def internal_link_problems(
    page: str, links: list[str], base: str, root: Path = BUILD
) -> list[str]:
    """Links into the book whose file or anchor does not exist (absolute URLs in)."""
    problems = []
    for link in sorted(set(links)):
        if not link.startswith(base + "/"):
            continue  # another site, mailto:, javascript:
        parts = urlsplit(link)
        target = root / unquote(parts.path).lstrip("/")
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            problems.append(f"broken link: {link.removeprefix(base + '/')}")
            continue
        anchor = unquote(parts.fragment)
        if anchor and target.suffix == ".html" and anchor not in ids_in(target):
            problems.append(f"broken anchor: {link.removeprefix(base + '/')}")
    return problems
