# Two commands set everything up on a fresh machine (Python >= 3.10 and make):
#   make run    create .venv, install datakit, lint the bundled examples
#   make test   create .venv, install datakit + dev tools, run the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast bench lint-code clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	@echo "== datakit lint examples/ (good and bad files; findings exit 1, which is expected here)"
	$(BIN)/datakit lint examples/ ; status=$$?; test $$status -le 1
	@echo "== the same files against a provider target"
	$(BIN)/datakit lint examples/openai-good.jsonl examples/openai-bad.jsonl --target openai:gpt-4o-mini-2024-07-18 --statistics ; status=$$?; test $$status -le 1

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q -m "not slow"

bench: $(STAMP)
	$(BIN)/python benchmarks/lint_throughput.py

lint-code: $(STAMP)
	$(BIN)/ruff check datakit tests benchmarks

clean:
	rm -rf $(VENV) build dist *.egg-info
