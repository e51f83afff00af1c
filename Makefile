# Two commands from a fresh clone: `make demo` and `make test`. Both build .venv on first use.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: demo test bench bench-real setup browser clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[all]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m tracklift.demo --out demo_out

test: $(STAMP) browser
	$(BIN)/python -m ruff check src tests benchmarks
	$(BIN)/python -m ruff format --check src tests benchmarks
	$(BIN)/python -m pytest -q

# Headless Chromium for the viewer's browser test (Debian's package; never a downloaded browser). Needs root
# and apt; elsewhere the test skips and says why.
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
		|| echo "make browser: could not install chromium; the browser test will be skipped"; \
	else echo "make browser: no apt-get as root here; install chromium yourself or the browser test is skipped"; fi

# Five suites; each records benchmarks/results/<suite>.json and regenerates BENCHMARKS.md from all of them.
bench: $(STAMP)
	$(BIN)/python -m benchmarks.run --suite full
	$(BIN)/python -m benchmarks.run --suite scan
	$(BIN)/python -m benchmarks.openvocab
	$(BIN)/python -m benchmarks.trace3d --jobs 2
	$(BIN)/python -m benchmarks.splat_train
	$(BIN)/python -m benchmarks.viewer --screenshot docs/viewer.png
	$(BIN)/python -m benchmarks.batch

# Real scans scored against their 3D GT boxes (ScanNet posed_images + infos pickles, 7-Scenes): needs the data.
bench-real: $(STAMP)
	@test -n "$(DATA)" || { echo "usage: make bench-real DATA=/path/to/data"; exit 2; }
	$(BIN)/python -m benchmarks.real --data $(DATA)
	$(BIN)/python -m benchmarks.batch

clean:
	rm -rf $(VENV) demo_out
