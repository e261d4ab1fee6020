# The talk as code. Two commands:
#
#   make deck   build the slides into build/deck/ (open build/deck/index.html)
#   make test   run every test, browser tests included
#   make check  build the deck and check it in a real browser, slide by slide
#
# Both first bring the set-up up to date. Each part of it is a stamp file that
# depends on what it installs from, so a second run installs nothing:
#   .venv/        Python packages pinned in pyproject.toml (group "test")
#   node_modules/ reveal.js and KaTeX pinned in package-lock.json
#   chromium      Debian's browser for the browser tests (`make test` only)
#   pdftotext     Debian's poppler-utils, read by the PDF tests (`make test` only)

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# `pip install --group` needs pip >= 25.1.
PIP_VERSION := 26.3
CHROMIUM := /usr/bin/chromium
# pdftotext and pdfinfo (poppler-utils): the PDF tests read the printed deck.
PDFTOTEXT := /usr/bin/pdftotext
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: deck test setup

deck: $(PY_STAMP) $(NODE_STAMP)
	$(PY) build.py

# Live preview on http://127.0.0.1:$(PORT)/: rebuilds on every change to slides/,
# scripts/ or the templates and reloads the browser; Ctrl-C stops it.
PORT ?= 8000
.PHONY: serve
serve: $(PY_STAMP) $(NODE_STAMP)
	$(PY) build.py --serve --port $(PORT)

test: $(PY_STAMP) $(NODE_STAMP) $(CHROMIUM) $(PDFTOTEXT)
	$(PY) -m ruff check --quiet .
	$(PY) -m ruff format --check --quiet .
	$(PY) -m pytest

# The deck as the audience will see it: builds it as `make deck` does, then visits
# every slide and fragment in headless Chromium and reports each finding as
# path:line (README: "Checking the deck"). Exit 1 on findings.
.PHONY: check
check: $(PY_STAMP) $(NODE_STAMP) $(CHROMIUM)
	$(PY) build.py --check

# Figures (README: Figures and experiments). `make figures` regenerates the stale ones;
# `make figures-check` runs nothing and exits 1 naming each stale script and why.
.PHONY: figures figures-check
figures: $(PY_STAMP)
	$(PY) -m talkbuild.figures

figures-check: $(PY_STAMP)
	$(PY) -m talkbuild.figures --check

# The deck printed to build/deck.pdf, one page per slide (see README: PDF).
.PHONY: pdf
pdf: deck $(CHROMIUM)
	$(PY) -m talkbuild.pdf $(PDF_OPTIONS)

# The deck as PowerPoint, build/deck.pptx: each slide a 1920x1080 picture, the
# speaker notes as text (see README: PowerPoint). PPTX_OPTIONS=--fragments gives
# every fragment step a slide of its own.
.PHONY: pptx
pptx: deck $(CHROMIUM)
	$(PY) -m talkbuild.powerpoint $(PPTX_OPTIONS)

# Regenerate every figure from nothing in a scratch copy and compare the numbers
# the deck shows with figures/ (see README: Reproducibility); as long as a cold
# regeneration of every figure.
.PHONY: reproduce
reproduce: $(PY_STAMP)
	$(PY) -m talkbuild.reproduce

setup: $(PY_STAMP) $(NODE_STAMP) $(CHROMIUM)

$(PY_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check pip==$(PIP_VERSION)
	$(PY) -m pip install --quiet --group test
	touch $@

$(NODE_STAMP): package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# Installed only when missing; Playwright drives it (never `playwright install`).
$(CHROMIUM):
	$(SUDO) apt-get update
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
		chromium

$(PDFTOTEXT):
	$(SUDO) apt-get update
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
		poppler-utils

# Benchmarks (issue #3): figure pipeline vs a naive loop, no-op and slide-edit
# builds, E3's training against its lower bound (benchmarks/training_bound.py).
# Writes build/bench/*.json and prints tables; takes several minutes.
.PHONY: bench
bench: $(PY_STAMP) $(NODE_STAMP)
	$(PY) benchmarks/figures.py
	$(PY) benchmarks/page_faults.py
	$(PY) benchmarks/deck_build.py
