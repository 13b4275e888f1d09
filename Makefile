# Two entry points: `make run` and `make test`. Both build .venv on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.fakewatch-installed

.PHONY: run test venv system-deps bench docs clean

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet "pip>=24" "setuptools>=68,<81" wheel
	$(BIN)/pip install --quiet torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install --quiet dlib-bin face_recognition_models "click>=7"
	$(BIN)/pip install --quiet --no-deps face_recognition==1.3.0
	$(BIN)/pip install --quiet -e ".[dev]"
	# Tests embed the reference SD watermark with invisible-watermark's own encoder; its metadata
	# asks for opencv-python, which would shadow our opencv-python-headless: no deps.
	$(BIN)/pip install --quiet --no-deps invisible-watermark==0.2.0
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

# README pictures come from here, never from a test run. docs/upload-page.png: the upload page of
# the running app (shipped models) in headless Chromium. docs/bot-reply.png is made by
#   $(BIN)/python tests/bot/transcript.py ../shared/data/videos/fake/dfdc_widuwuoiur.mp4 docs/bot-reply.png
docs: $(STAMP) system-deps
	$(BIN)/python docs/make_images.py

clean:
	rm -rf $(VENV)
