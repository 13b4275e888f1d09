# Two entry points: `make run` and `make test`. Both build .venv on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.fakewatch-installed

.PHONY: run test venv system-deps bench soak clean

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet "pip>=24" "setuptools>=68,<81" wheel
	$(BIN)/pip install --quiet torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install --quiet dlib-bin face_recognition_models "click>=7"
	$(BIN)/pip install --quiet --no-deps face_recognition==1.3.0
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)

# Chromium for the browser tests (Debian package; Playwright drives it via executable_path).
system-deps:
	@test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || echo "warning: chromium not installed; browser tests will be skipped"

run: $(STAMP)
	$(BIN)/fakewatch run

test: $(STAMP) system-deps
	$(BIN)/python -m pytest -q -ra

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_engine.py

# The bot's full fault-injection soak (300 updates, 10 bot kills, 2 serving restarts, a 20 s
# database outage); `make test` runs a short one. Writes the figures to benchmarks/results/.
soak: $(STAMP)
	$(BIN)/python tests/bot/soak.py --out benchmarks/results/soak-cpu2.json

clean:
	rm -rf $(VENV)
