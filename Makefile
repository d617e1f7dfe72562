# make demo: set up and run the whole pipeline on the embedded default model (CPU, minutes), with safety cases
# make test: set up and run the test suite
# make lint: ruff (CI runs it before the tests)
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup demo test lint clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml scripts/setup.sh
	bash scripts/setup.sh $(VENV)

demo: setup
	$(VENV)/bin/deliberate run configs/experiments/demo.yaml --safety-case

test: setup
	$(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check .

clean:
	rm -rf runs/demo
