"""The book's configuration: the version it shows and the Colab/Binder first cell."""

from __future__ import annotations

import re
from pathlib import Path
from unittest import mock

import yaml
from IPython.core.interactiveshell import InteractiveShell

import llmlab

REPO = Path(__file__).resolve().parents[2]


def test_package_version_matches_pyproject() -> None:
    pyproject = (REPO / "pyproject.toml").read_text()
    version = re.search(r'(?m)^version = "([^"]+)"$', pyproject)
    assert version, "pyproject.toml has no version line"
    assert llmlab.__version__ == version.group(1)


def first_cell_snippet() -> str:
    """The install cell documented in book/setup.md, between its marker comments."""
    setup = (REPO / "book" / "setup.md").read_text()
    match = re.search(r"```ipython\n(# On Colab.*?)```", setup, re.S)
    assert match, "book/setup.md lost its first-cell snippet"
    return match.group(1)


def run_in_ipython(code: str) -> list[str]:
    """Run code as an IPython cell; return the %pip lines it would have run."""
    shell = InteractiveShell.instance()
    calls: list[str] = []
    with mock.patch.object(
        shell,
        "run_line_magic",
        side_effect=lambda name, line, *a: calls.append(name + " " + line),
    ):
        result = shell.run_cell(code)
    result.raise_error()
    return calls


def test_first_cell_snippet_is_a_no_op_where_llmlab_is_installed() -> None:
    assert run_in_ipython(first_cell_snippet()) == []


def test_first_cell_snippet_installs_llmlab_where_it_is_missing() -> None:
    real_find_spec = __import__("importlib.util").util.find_spec

    def find_spec(name, *args):
        return None if name == "llmlab" else real_find_spec(name, *args)

    with mock.patch("importlib.util.find_spec", find_spec):
        calls = run_in_ipython(first_cell_snippet())
    assert calls == [
        'pip install -q "llmlab @ git+https://github.com/llmlab-course/llmlab"'
    ]


def test_binder_installs_cpu_torch_at_the_pinned_version() -> None:
    """Binder builds from binder/ (repo2docker ignores environment.yml then): PyTorch's
    CPU wheel at the tested version, then llmlab itself with the tested constraints."""
    pins = (REPO / "requirements" / "constraints.txt").read_text()
    torch_pin = re.search(r"(?m)^torch==\S+", pins).group(0)
    lines = [
        line.split("#")[0].strip()
        for line in (REPO / "binder" / "requirements.txt").read_text().splitlines()
    ]
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in lines
    assert torch_pin in lines, f"binder/requirements.txt must pin {torch_pin}"
    post_build = REPO / "binder" / "postBuild"
    assert post_build.stat().st_mode & 0o111, "binder/postBuild must be executable"
    script = post_build.read_text()
    assert script.startswith("#!/bin/bash") and "set -euo pipefail" in script
    command = script.replace("\\\n", " ")
    assert re.search(r"pip install .*-c requirements/constraints\.txt -e \. ", command)
    assert (REPO / "binder" / "runtime.txt").read_text().strip() == "python-3.11"


def test_launch_buttons_point_at_this_repository() -> None:
    """Colab and Binder open chapters/NN.ipynb from the repository that the Colab
    install cell installs llmlab from."""
    config = yaml.safe_load((REPO / "_config.yml").read_text())
    buttons = config["launch_buttons"]
    assert buttons["binderhub_url"] == "https://mybinder.org"
    assert buttons["colab_url"] == "https://colab.research.google.com"
    repo = config["repository"]
    assert repo["path_to_book"] == "" and repo["branch"] == "main"
    assert f'git+{repo["url"]}"' in first_cell_snippet()
    toc = (REPO / "_toc.yml").read_text()
    for chapter in re.findall(r"file: (chapters/\S+)", toc):
        assert (REPO / f"{chapter}.ipynb").is_file(), chapter
