# Two commands for a fresh clone (see README):
#   make book   install what is missing, then build the book into _build/html
#   make test   install what is missing, then run every test, every notebook, the book
#               build, and the browser test of the built book
VENV        ?= .venv
PYTHON      ?= python3
CONSTRAINTS := requirements/constraints.txt
BIN         := $(VENV)/bin
STAMP       := $(VENV)/.llmlab-installed
TORCH_INDEX ?=
TORCH_ALLOW_CUDA ?=
# Notebooks and tests are sized for 2 CPU cores; keep BLAS from oversubscribing them.
export OMP_NUM_THREADS ?= 2

.PHONY: help install book browser diagrams test unit notebooks lab execute lint clean

help:
	@sed -n '1,5p' Makefile

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml $(CONSTRAINTS) scripts/install_torch.py
	$(BIN)/python scripts/install_torch.py $(CONSTRAINTS) \
		$(if $(TORCH_INDEX),--index $(TORCH_INDEX)) $(if $(TORCH_ALLOW_CUDA),--allow-cuda)
	$(BIN)/python -m pip install -c $(CONSTRAINTS) -e ".[test,book]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

install: $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build --all -W -n --keep-going .
	@echo "Book: $(CURDIR)/_build/html/index.html"

# The browser test reads the built book, so it runs after `make book` (needs Chromium:
# `apt-get install chromium`; without it the test skips, or fails when CI is set).
browser: book
	$(BIN)/python -m pytest tests/book/test_browser.py

# Redraw book/figures/ from scripts/make_diagrams.py (commit the result).
diagrams: $(STAMP)
	$(BIN)/python scripts/make_diagrams.py

unit: $(STAMP)
	$(BIN)/python -m pytest tests --ignore=tests/book/test_browser.py

notebooks: $(STAMP)
	$(BIN)/python -m pytest --nbval-lax --nbval-current-env chapters

test: $(STAMP)
	$(BIN)/python scripts/sz.py
	$(BIN)/python -m pytest --nbval-lax --nbval-current-env --ignore=tests/book/test_browser.py tests chapters
	$(MAKE) browser

lab: $(STAMP)
	$(BIN)/python -m pip install -c $(CONSTRAINTS) -e ".[lab]"
	$(BIN)/jupyter lab chapters

# Re-execute notebooks in place and commit their outputs: make execute NB=chapters/00_overview.ipynb
NB ?= chapters/*.ipynb
execute: $(STAMP)
	$(BIN)/python scripts/execute_notebooks.py $(NB)

lint: $(STAMP)
	$(BIN)/ruff check llmlab tests benchmarks scripts
	$(BIN)/ruff format --check llmlab tests benchmarks scripts

clean:
	rm -rf _build
