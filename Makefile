# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MATHJAX := $(VENV)/mathjax/tex-svg.js

.PHONY: demo test bench accuracy clean system-tools

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/chainrule explain
	@echo
	$(BIN)/chainrule train --data digits --hidden 128 64 --dropout 0.2 --epochs 40 --lr 1e-3 --out digits-model.npz --quiet --force
	@echo
	@echo "The chainrule command is in $(BIN)/. To type plain 'chainrule ...', first run:"
	@echo "    source $(BIN)/activate"
	@echo "then try: chainrule explain --format html --out step.html, chainrule train --help, chainrule --version"

# Parallel workers (pytest-xdist), one per core up to 4; each test file stays on one worker, so its module and
# session fixtures (a browser, the hostile corpus's runs) are made once, except the files tests/conftest.py spreads.
test: $(STAMP) system-tools $(MATHJAX)
	$(BIN)/python -m pytest -n auto --maxprocesses 4 --dist loadfile

# The Numbas test opens a compiled exam offline, with MathJax 4 beside it: the npm registry's package (its package/
# folder), fetched once into the virtual environment. Without npm or the registry, that test says it was skipped.
$(MATHJAX): | $(BIN)/python system-tools
	@if command -v npm >/dev/null; then \
	  work=$$(mktemp -d); \
	  if (cd $$work && npm pack --silent mathjax@4 >/dev/null && tar -xzf mathjax-*.tgz); then \
	    rm -rf $(VENV)/mathjax && mv $$work/package $(VENV)/mathjax; \
	  else echo "could not fetch MathJax 4 from the npm registry (the Numbas browser test will be skipped)"; fi; \
	  rm -rf $$work; \
	else echo "npm is not installed (the Numbas browser test will be skipped)"; fi

# The HTML test drives Debian's Chromium; the LaTeX test compiles with pdflatex; npm fetches MathJax for the Numbas
# test. Installed here when missing and this is a root shell with apt (as in CI); elsewhere those tests say they
# were skipped and why.
system-tools:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v chromedriver >/dev/null || missing="$$missing chromium-driver"; \
	command -v pdflatex >/dev/null || missing="$$missing texlive-latex-base"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing$$missing for the browser and LaTeX tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "not installed:$$missing (the browser and LaTeX tests will be skipped)"; fi; \
	fi

# Speed side by side (PyTorch joins when torch==2.13.0 can be installed; it is never a dependency). The figure for a
# file larger than memory writes a file that large, so only when asked: make bench BEYOND_MEMORY=30G (or auto).
bench: $(STAMP)
	-$(BIN)/python -m pip install --quiet torch==2.13.0 || echo "PyTorch not available: the benchmark skips it"
	$(BIN)/python benchmarks/mlp_speed.py --grid
	$(BIN)/python benchmarks/beyond_memory.py $(if $(BEYOND_MEMORY),--beyond-memory $(BEYOND_MEMORY))
	$(BIN)/python benchmarks/lbfgs_speed.py --threads 1
	$(BIN)/python benchmarks/distributed_speed.py

accuracy: $(STAMP)
	$(BIN)/python benchmarks/accuracy.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
