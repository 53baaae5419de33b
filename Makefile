# miglab: the two commands a fresh machine needs are `make run` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
PORT    ?= 8501

.PHONY: run test setup system-deps lint typecheck unit guest lock clean

# Create the environment, install pinned dependencies, start the dashboard on 127.0.0.1.
run: setup
	$(BIN)/miglab serve --port $(PORT)

# Install everything (Debian packages, pinned Python packages) and run every test.
test: system-deps setup lint typecheck unit

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q "pip==26.3"  # pinned like everything else
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[dev]"
	touch $(STAMP)

system-deps:
	bash scripts/system-deps.sh

lint: setup
	$(BIN)/ruff check .

typecheck: setup
	$(BIN)/mypy

unit: setup guest
	$(BIN)/pytest -q

guest:
	$(MAKE) -C lab/guest

# Refresh the pins after changing dependencies (then review and commit constraints.txt).
lock: setup
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e' > constraints.txt

clean:
	rm -rf $(VENV) build .mypy_cache .ruff_cache .pytest_cache lab/guest/build
