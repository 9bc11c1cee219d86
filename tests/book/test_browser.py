"""The built book, read in a real browser: every page in the table of contents.

Runs after the book build (`make test` runs `make book`, then this file): it
serves _build/html on 127.0.0.1 and opens each page in headless Chromium (Debian's
`chromium`, driven by Playwright; Playwright never downloads a browser here).
Per page: a title and a main heading; no console errors or failed requests; no broken
internal link or anchor; every image loaded and described by alt text; every formula
typeset; each solution hidden behind a "Show solution" toggle that reveals it;
next/previous links in table-of-contents order; no prose, code block or cell output
wider than its column, at desktop and phone widths. Screenshots of the home page, one
chapter and the figures go to _build/screenshots/.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.book.site import (
    CHROMIUM_ARGS,
    SCREENSHOTS,
    chromium_path,
    internal_link_problems,
    toc_pages,
)

PAGES = toc_pages()
PHONE_WIDTH = 412  # CSS pixels, a common phone; the desktop pass uses 1280
# A chapter whose screenshot shows the sidebar, code, output, a diagram and typeset math
SCREENSHOT_CHAPTER = "chapters/03_attention.html"

# Runs in the page: everything the checks need, in one round trip.
INSPECT = (Path(__file__).parent / "inspect.js").read_text()


@pytest.fixture(scope="module")
def browser_page(book_server):
    try:
        from playwright import sync_api
    except ImportError:
        sync_api = None
    executable = chromium_path()
    missing = []
    if sync_api is None:
        missing.append("Playwright: pip install -e '.[test]' (or `make install`)")
    if executable is None:
        missing.append(
            "Chromium: install Debian's package "
            "(`apt-get update && apt-get install -y chromium`); "
            "Playwright's own browser downloads are not used"
        )
    if missing:
        message = "the browser test needs " + "; ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_ARGS, headless=True
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(20_000)
        yield page
        browser.close()


def visit(page, base: str, path: str) -> tuple[dict, list[str]]:
    """Open one page; return what INSPECT found and the errors the browser reported."""
    errors: list[str] = []

    def on_console(msg) -> None:
        if msg.type == "error":
            errors.append(f"console: {msg.text}")

    def on_error(exc) -> None:
        errors.append(f"page error: {exc}")

    def on_response(response) -> None:
        if response.status >= 400:
            errors.append(f"HTTP {response.status}: {response.url}")

    page.on("console", on_console)
    page.on("pageerror", on_error)
    page.on("response", on_response)
    try:
        page.goto(f"{base}/{path}", wait_until="load")
        info = page.evaluate(INSPECT)
    finally:
        page.remove_listener("console", on_console)
        page.remove_listener("pageerror", on_error)
        page.remove_listener("response", on_response)
    return info, errors


def problems_of(path: str, info: dict, errors: list[str], base: str) -> list[str]:
    found = [*errors]
    if not info["title"].strip():
        found.append("no <title>")
    if not info["h1"]:
        found.append("no main heading (h1)")
    elif info["h1"] not in info["title"]:
        found.append(f"title {info['title']!r} does not name heading {info['h1']!r}")
    found += internal_link_problems(path, info["links"], base)
    for img in info["images"]:
        src = img["src"] or ""
        if img["width"] == 0:
            found.append(f"image not loaded: {src}")
        if not img["alt"] or img["alt"] == src or img["alt"].endswith(Path(src).name):
            found.append(f"image without alt text describing it: {src}")
    if info["rawTex"]:
        found.append(f"untypeset TeX in the text: {info['rawTex']}")
    if info["problematic"]:
        found.append(f"markup errors rendered in the page: {info['problematic']}")
    if info["mathErrors"]:
        found.append(f"{info['mathErrors']} formula(s) failed to typeset")
    if info["pageWide"]:
        found.append("the page scrolls horizontally")
    found += [f"prose wider than its column: {w}" for w in info["wideProse"]]
    found += [f"code wider than its column: {w}" for w in info["codeWide"]]
    index = PAGES.index(path)
    want_prev = PAGES[index - 1] if index > 0 else None
    want_next = PAGES[index + 1] if index + 1 < len(PAGES) else None
    for name, got, want in [
        ("previous", info["prev"], want_prev),
        ("next", info["next"], want_next),
    ]:
        got_path = got.split("#")[0].removeprefix(base + "/") if got else None
        if got_path != want:
            found.append(f"{name} link goes to {got_path}, expected {want}")
    return found


def phone_width_problems(page, width: int = PHONE_WIDTH) -> list[str]:
    """The same page, re-laid out at a phone's width: nothing may widen it."""
    desktop = page.viewport_size
    page.set_viewport_size({"width": width, "height": desktop["height"]})
    try:
        info = page.evaluate(INSPECT)
    finally:
        page.set_viewport_size(desktop)
    found = ["the page scrolls horizontally"] if info["pageWide"] else []
    found += [f"prose wider than its column: {w}" for w in info["wideProse"]]
    return found + [f"code wider than its column: {w}" for w in info["codeWide"]]


def solution_problems(page) -> list[str]:
    """Each solution starts hidden behind a "Show solution" toggle that reveals it."""
    found = []
    cells = page.locator(".cell.tag_solution")
    for i in range(cells.count()):
        cell = cells.nth(i)
        code = cell.locator(".cell_input pre").first
        toggle = cell.locator("details > summary").first
        if toggle.count() == 0:
            found.append(f"solution {i + 1} has no toggle: it is shown outright")
            continue
        if code.is_visible():
            found.append(f"solution {i + 1} is visible before its toggle is opened")
        label = toggle.inner_text().strip()
        if label != "Show solution":
            found.append(f"solution {i + 1}: the toggle reads {label!r}")
        toggle.click()
        if not code.is_visible() or not code.inner_text().strip():
            found.append(f"solution {i + 1}: opening its toggle does not show the code")
    return found


@pytest.mark.parametrize("path", PAGES)
def test_page(browser_page, book_server, path: str) -> None:
    info, errors = visit(browser_page, book_server, path)
    found = problems_of(path, info, errors, book_server)
    found += [f"at phone width: {p}" for p in phone_width_problems(browser_page)]
    found += solution_problems(browser_page)
    assert not found, f"{path}:\n  " + "\n  ".join(found)


def test_the_checks_catch_untypeset_math(browser_page, book_server) -> None:
    """With MathJax blocked, the raw-TeX check fires on a page full of formulas."""
    browser_page.route("**/_static/mathjax/**", lambda route: route.abort())
    try:
        info, _ = visit(browser_page, book_server, SCREENSHOT_CHAPTER)
    finally:
        browser_page.unroute("**/_static/mathjax/**")
    assert info["mathTypeset"] == 0
    problems = problems_of(SCREENSHOT_CHAPTER, info, [], book_server)
    assert any(p.startswith("untypeset TeX") for p in problems), problems


def test_the_checks_catch_code_wider_than_its_column(browser_page, book_server) -> None:
    """Without the book's stylesheet (which wraps long lines) code and output overflow:
    the check for wide code fires on a page with long lines (a GPTConfig repr)."""
    page = "chapters/11_what_context_is_not.html"
    browser_page.route("**/_static/llmlab.css*", lambda route: route.abort())
    try:
        info, _ = visit(browser_page, book_server, page)
    finally:
        browser_page.unroute("**/_static/llmlab.css*")
    problems = problems_of(page, info, [], book_server)
    assert any(p.startswith("code wider than its column") for p in problems), problems


def test_home_redirects_and_next_link_navigates(browser_page, book_server) -> None:
    browser_page.goto(f"{book_server}/index.html", wait_until="load")
    browser_page.wait_for_url(f"**/{PAGES[0]}")
    browser_page.locator(".prev-next-area a.right-next").click()
    browser_page.wait_for_url(f"**/{PAGES[1]}")
    browser_page.locator(".prev-next-area a.left-prev").click()
    browser_page.wait_for_url(f"**/{PAGES[0]}")


def test_screenshots(browser_page, book_server) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shots = {
        "home.png": PAGES[0],
        "chapter.png": SCREENSHOT_CHAPTER,
        "figures.png": "book/figures.html",
    }
    browser_page.set_viewport_size({"width": 1280, "height": 1500})
    try:
        for name, path in shots.items():
            browser_page.goto(f"{book_server}/{path}", wait_until="load")
            browser_page.evaluate(INSPECT)  # waits for MathJax and images
            if path == SCREENSHOT_CHAPTER:
                # Its first diagram in the middle: the math above it, code and output
                # below it.
                browser_page.evaluate(
                    "document.querySelector('article figure')"
                    ".scrollIntoView({block: 'center'})"
                )
            browser_page.screenshot(path=str(SCREENSHOTS / name))
            assert (SCREENSHOTS / name).stat().st_size > 10_000, name
    finally:
        browser_page.set_viewport_size({"width": 1280, "height": 900})
