"""scripts/make_diagrams.py reproduces the figures committed in book/figures/."""

from __future__ import annotations

import importlib.util
import json
import re
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


def test_every_figure_is_embedded_where_a_chapter_describes_it() -> None:
    """Each diagram also appears in the chapter whose prose describes its structure,
    as a MyST figure with alt text and a caption (not only on the gallery page)."""
    embedded: dict[str, list[str]] = {}
    for path in sorted((REPO / "chapters").glob("[0-9][0-9]_*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] != "markdown":
                continue
            text = "".join(cell["source"])
            for match in re.finditer(r"```\{figure\} \.\./book/figures/(\S+)\n", text):
                block = text[match.start() : text.index("```", match.end())]
                options, _, caption = block.partition("\n\n")
                assert ":alt: " in options, f"{path.name}: {match.group(1)} has no alt"
                assert len(caption.split()) >= 15, (
                    f"{path.name}: {match.group(1)}: a caption states its takeaway"
                )
                assert (FIGURES / match.group(1)).is_file(), match.group(1)
                embedded.setdefault(match.group(1), []).append(path.name)
    for svg in sorted(FIGURES.glob("*.svg")):
        assert svg.name in embedded, f"no chapter shows book/figures/{svg.name}"
