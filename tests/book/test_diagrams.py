"""scripts/make_diagrams.py reproduces the figures committed in book/figures/."""

from __future__ import annotations

import importlib.util
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIGURES = REPO / "book" / "figures"


def load_script():
    path = REPO / "scripts" / "make_diagrams.py"
    spec = importlib.util.spec_from_file_location("make_diagrams", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_script_writes_exactly_the_committed_figures(tmp_path) -> None:
    written = load_script().main(["--out", str(tmp_path)])
    made = sorted(p.name for p in tmp_path.iterdir())
    assert sorted(p.name for p in written) == made
    committed = sorted(p.name for p in FIGURES.iterdir())
    assert made == committed, (
        "book/figures/ differs from what scripts/make_diagrams.py writes: "
        f"made {made}, committed {committed}; re-run the script and commit"
    )
    for name in made:
        if name.endswith(".svg"):
            root = ET.parse(tmp_path / name).getroot()
            assert root.tag.endswith("svg") and float(root.get("width")[:-2]) > 100
        else:
            assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name


def test_every_figure_is_used_in_the_book_with_alt_text() -> None:
    page = (REPO / "book" / "figures.md").read_text()
    for svg in sorted(FIGURES.glob("*.svg")):
        start = page.index(f"```{{figure}} figures/{svg.name}")
        block = page[start : page.index("```", start + 3)]
        assert ":alt: " in block, f"{svg.name} has no alt text in book/figures.md"
