"""Sphinx glue for the llmlab book: offline MathJax, one thebe config script, version.

Jupyter Book loads it as a local extension (``sphinx.local_extensions`` in _config.yml).

- MathJax is served from the build, not a CDN: the MathJax 3 distribution bundled by
  the PyPI package ``sphinx-mathjax-offline`` (a ``book`` extra) joins the static files,
  so it lands in ``_build/html/_static/mathjax/`` and ``mathjax_path`` points there.
- sphinx-thebe 0.3.1 registers its inline ``const THEBE_JS_URL = ...`` script with
  ``app.add_js_file(None, body=...)``. Sphinx 7.4 stores that both on the builder
  (as ``None``) and in the registry, and re-adds registry scripts as ``''`` before
  writing, so every page declared the constant twice and the browser threw "Identifier
  'THEBE_JS_URL' has already been declared". We drop the builder's ``None`` copy; the
  registry copy is then written once.
- Exercise solutions (cells tagged ``solution`` and ``hide-input``) open with a toggle
  that reads "Show solution" rather than myst-nb's "Show code cell source"; a prompt
  set in a cell's own metadata is left alone.
- ``static/llmlab.css`` keeps prose in its column on phones: long inline code breaks,
  wide display formulas scroll inside themselves, API signatures wrap.
- The theme gets a default colour mode (light), which silences a console error.
- ``llmlab.__version__`` (read from the package being documented) goes into the footer
  and into the MyST substitution ``{{ llmlab_version }}``.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ExtensionError
from sphinx.transforms.post_transforms import SphinxPostTransform

MATHJAX_DIST = "sphinx-mathjax-offline"


def mathjax_static_dir() -> Path:
    """The folder that holds ``mathjax/`` inside the installed MathJax package."""
    try:
        dist = metadata.distribution(MATHJAX_DIST)
    except metadata.PackageNotFoundError as err:
        raise ExtensionError(
            f"{MATHJAX_DIST!r} is not installed: it provides MathJax for offline math; "
            "install the book extra (pip install -e '.[book]', or `make install`)"
        ) from err
    static = Path(str(dist.locate_file("sphinx-mathjax-offline/static")))
    if not (static / "mathjax" / "tex-mml-chtml.js").is_file():
        raise ExtensionError(f"no mathjax/tex-mml-chtml.js under {static}")
    return static


def llmlab_version() -> str:
    import llmlab

    return llmlab.__version__


STATIC = Path(__file__).parent / "static"  # llmlab.css


def configure(app: Sphinx, config: Config) -> None:
    config.html_static_path.extend([str(mathjax_static_dir()), str(STATIC)])
    version = llmlab_version()
    config.myst_substitutions = {**config.myst_substitutions, "llmlab_version": version}
    # Without a default the theme's script logs "Got invalid theme mode: ." as a console
    # error on a reader's first visit; light keeps white-background plots at home.
    config.html_context = {"default_mode": "light", **config.html_context}
    options = dict(config.html_theme_options)
    footer = options.get("extra_footer", "")
    options["extra_footer"] = f"{footer}<p>Built with llmlab {version}.</p>"
    config.html_theme_options = options


def drop_duplicate_inline_scripts(app: Sphinx, *args: Any) -> None:
    builder_js = getattr(app.builder, "_js_files", None)
    if builder_js is None:
        return
    registry_bodies = {
        attrs.get("body") for name, attrs in app.registry.js_files if not name
    }
    builder_js[:] = [
        js
        for js in builder_js
        if not (js.filename is None and js.attributes.get("body") in registry_bodies)
    ]


class SolutionPrompts(SphinxPostTransform):
    """Relabel the toggles of solution cells, before myst-nb builds them (199)."""

    default_priority = 198
    formats = ("html",)

    def run(self, **kwargs: Any) -> None:
        default = self.config.nb_code_prompt_show
        for node in self.document.findall(nodes.container):
            if (
                node.get("nb_element") == "cell_code"
                and node.get("hide_mode")
                and "tag_solution" in node["classes"]
                and node.get("prompt_show") == default
            ):
                node["prompt_show"] = "Show solution"
                node["prompt_hide"] = "Hide solution"


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_post_transform(SolutionPrompts)
    app.add_css_file("llmlab.css")
    app.connect("config-inited", configure)
    # After sphinx-thebe's own handler (priority 500) has added its scripts.
    app.connect("env-before-read-docs", drop_duplicate_inline_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
