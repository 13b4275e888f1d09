# Two entry points: `make run` and `make test`. Both build .venv on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.fakewatch-installed

# The lock (requirements/*.txt, hashes for every file) is what gets installed, here and in the
# images; `make lock` regenerates it from pyproject.toml. --no-deps: the lock is complete, and
# three packages must not pull in what their metadata asks for (requirements/nodeps.in).
REQ := requirements
PIP_LOCKED = $(BIN)/pip install --quiet --require-hashes --no-deps

.PHONY: run test lint venv lock system-deps bench docs soak clean

$(STAMP): pyproject.toml Makefile $(REQ)/build.txt $(REQ)/dev.txt $(REQ)/nodeps.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(PIP_LOCKED) -r $(REQ)/build.txt
	$(PIP_LOCKED) -r $(REQ)/dev.txt -r $(REQ)/nodeps.txt
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

venv: $(STAMP)

# Resolves against PyPI for Linux x86_64 / CPython 3.11 (the images' platform); installs nothing.
# Every lock is constrained by dev.txt, so the images run the versions the tests ran.
# serve-cpu.txt is serve.txt without torch's CUDA build and its NVIDIA libraries: the CPU image
# takes torch from requirements/torch-cpu.txt instead.
UV_COMPILE = $(BIN)/uv pip compile --quiet --generate-hashes --python-version 3.11 \
	--python-platform x86_64-manylinux_2_28 --custom-compile-command "make lock"
lock: $(STAMP)
	$(UV_COMPILE) pyproject.toml --extra dev -o $(REQ)/dev.txt
	$(UV_COMPILE) pyproject.toml --extra bot -c $(REQ)/dev.txt -o $(REQ)/bot.txt
	$(UV_COMPILE) pyproject.toml --extra serve -c $(REQ)/dev.txt -o $(REQ)/serve.txt
	$(UV_COMPILE) pyproject.toml --extra serve -c $(REQ)/dev.txt -o $(REQ)/serve-cpu.txt \
	  $$(sed -nE 's/^(torch|torchvision|triton|nvidia-[a-z0-9-]+|cuda-[a-z0-9-]+)==.*/--no-emit-package \1/p' $(REQ)/serve.txt)
	$(UV_COMPILE) --no-deps $(REQ)/nodeps.in -o $(REQ)/nodeps.txt
	$(UV_COMPILE) $(REQ)/build.in -c $(REQ)/dev.txt -o $(REQ)/build.txt

# Debian packages the tests use: Chromium (Playwright drives it via executable_path) and
# docker-compose (validates the compose files offline; no Docker engine needed).
system-deps:
	@if ! test -x /usr/bin/chromium || ! command -v docker-compose >/dev/null; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium docker-compose >/dev/null) \
	  || echo "warning: chromium/docker-compose not installed; browser and compose-config tests will be skipped"; \
	fi

# Style, types and layering (CI runs it before the tests): ruff, mypy, import-linter.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

run: $(STAMP)
	$(BIN)/fakewatch run

test: $(STAMP) system-deps
	$(BIN)/python -m pytest -q -ra

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_engine.py

# README pictures come from here, never from a test run. docs/upload-page.png: the upload page of
# the running app (shipped models) in headless Chromium. docs/bot-reply.png is made by
#   $(BIN)/python tests/bot/transcript.py ../shared/data/videos/fake/dfdc_widuwuoiur.mp4 docs/bot-reply.png
docs: $(STAMP) system-deps
	$(BIN)/python docs/make_images.py

# The bot's full fault-injection soak (300 updates, 10 bot kills, 2 serving restarts, a 20 s
# database outage); `make test` runs a short one. Writes the figures to benchmarks/results/.
soak: $(STAMP)
	$(BIN)/python tests/bot/soak.py --out benchmarks/results/soak-cpu2.json

clean:
	rm -rf $(VENV)
