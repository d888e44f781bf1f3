# The two commands of the README: `make run` and `make test`.
# Everything is installed into .venv from pinned versions; nothing else is needed
# on the machine but Python 3.11 and make (the browser test installs Debian's
# chromium and chromium-driver when they are missing, which needs root, and axe-core
# from npm into .cache/ for its accessibility check, which needs node and npm).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INDEX ?= index
SAMPLE := data/sample

.PHONY: run test setup index browser axe clean

# Index the bundled sample (incremental: fast when nothing changed), then serve the site.
run: index
	$(BIN)/serve --index $(INDEX)

test: setup browser axe
	$(BIN)/python -m pytest -q

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	$(BIN)/python -c 'from search.semantic import fast_model; fast_model()'  # the meaning model's fast graph
	touch $@

index: setup
	$(BIN)/reindex $(SAMPLE) --index $(INDEX)

# Headless Chromium and its driver for the browser test (Debian packages).
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; }

# axe-core for the browser test's accessibility check, from npm into a git-ignored folder.
AXE_VERSION := 4.14.1
AXE := .cache/node_modules/axe-core/axe.min.js
axe: $(AXE)

$(AXE):
	npm install --prefix .cache --no-save --no-audit --no-fund --silent axe-core@$(AXE_VERSION)

clean:
	rm -rf $(VENV) $(INDEX) .cache *.egg-info search/data/minilm-*.onnx
