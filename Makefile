# Two commands from a fresh clone: `make demo` and `make test`. Both build .venv on first use.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: demo test bench setup clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[all]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m tracklift.demo --out demo_out

test: $(STAMP)
	$(BIN)/python -m pytest -q

# Five suites; each records benchmarks/results/<suite>.json and regenerates BENCHMARKS.md from all of them.
bench: $(STAMP)
	$(BIN)/python -m benchmarks.run
	$(BIN)/python -m benchmarks.openvocab
	$(BIN)/python -m benchmarks.trace3d --jobs 2
	$(BIN)/python -m benchmarks.splat_train
	$(BIN)/python -m benchmarks.batch

clean:
	rm -rf $(VENV) demo_out
