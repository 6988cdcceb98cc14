# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench accuracy clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/chainrule explain
	@echo
	$(BIN)/chainrule train --data digits --hidden 128 64 --dropout 0.2 --epochs 40 --out digits-model.npz --quiet

test: $(STAMP)
	$(BIN)/python -m pytest

# Speed side by side (PyTorch joins when torch==2.13.0 can be installed; it is never a dependency).
bench: $(STAMP)
	-$(BIN)/python -m pip install --quiet torch==2.13.0 || echo "PyTorch not available: the benchmark skips it"
	$(BIN)/python benchmarks/mlp_speed.py

accuracy: $(STAMP)
	$(BIN)/python benchmarks/accuracy.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
