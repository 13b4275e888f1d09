# fakewatch images, one Dockerfile, three targets:
#   slim          bot, bot worker, console, ops, migrations: no torch, no Ray (~0.25 GB)
#   serving-cpu   Ray node / `fakewatch serve` with CPU torch                    (~2.0 GB)
#   serving-cuda  the same with PyPI's CUDA torch (NVIDIA libraries as wheels)   (~6.6 GB)
# Build one with `docker build --target slim -t fakewatch-slim .` (docker-compose.yml does it).
#
# Dependencies come from the hashed lock (requirements/*.txt, `make lock`) and are installed
# before any code is copied, so a code change rebuilds only the last layers. The package itself
# is built once as a wheel and installed with --no-deps. Sizes: docs/deployment.md.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- base: a venv with the locked build tools, and the unprivileged user ---------------------
FROM ${PYTHON_IMAGE} AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:${PATH} \
    FAKEWATCH_DATA_DIR=/var/lib/fakewatch
RUN useradd --create-home --uid 10001 --user-group fakewatch \
 && install -d -o fakewatch -g fakewatch /var/lib/fakewatch \
 && python -m venv /opt/venv
COPY requirements/build.txt /tmp/req/
RUN pip install --require-hashes --no-deps -r /tmp/req/build.txt
WORKDIR /home/fakewatch

# --- wheel: the fakewatch package (code only) ------------------------------------------------
FROM base AS wheel
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY fakewatch ./fakewatch
COPY serving ./serving
COPY training ./training
COPY bot ./bot
COPY db ./db
RUN pip wheel --no-deps --no-build-isolation --wheel-dir /wheels .

# --- slim: bot, worker, console, ops, migrate ------------------------------------------------
FROM base AS slim
COPY requirements/bot.txt /tmp/req/
RUN pip install --require-hashes --no-deps -r /tmp/req/bot.txt && rm -rf /tmp/req
COPY --from=wheel /wheels /tmp/wheels
RUN pip install --no-deps --no-index /tmp/wheels/*.whl && rm -rf /tmp/wheels
USER fakewatch
# Every slim service uses the database: reachable and migrated is the common health.
# docker-compose.yml gives the console an HTTP check instead.
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 \
  CMD ["fakewatch", "db", "current"]
CMD ["fakewatch", "--help"]

# --- serving dependencies: CPU torch (PyTorch's CPU index) or CUDA torch (PyPI) ---------------
FROM base AS serve-deps-cpu
COPY requirements/torch-cpu.txt requirements/serve-cpu.txt requirements/nodeps.txt /tmp/req/
RUN pip install --no-deps -r /tmp/req/torch-cpu.txt \
 && pip install --require-hashes --no-deps -r /tmp/req/serve-cpu.txt -r /tmp/req/nodeps.txt \
 && rm -rf /tmp/req

FROM base AS serve-deps-cuda
COPY requirements/serve.txt requirements/nodeps.txt /tmp/req/
RUN pip install --require-hashes --no-deps -r /tmp/req/serve.txt -r /tmp/req/nodeps.txt \
 && rm -rf /tmp/req

# --- serving-cpu / serving-cuda: Ray head, Ray worker, `fakewatch serve` ----------------------
# The shipped checkpoints are baked in at /opt/fakewatch/models; mount a volume there (or point
# FAKEWATCH_IMAGE_MODEL / FAKEWATCH_VIDEO_MODEL elsewhere) to run other ones.
FROM serve-deps-cpu AS serving-cpu
COPY --from=wheel /wheels /tmp/wheels
RUN pip install --no-deps --no-index /tmp/wheels/*.whl && rm -rf /tmp/wheels
COPY models /opt/fakewatch/models
ENV FAKEWATCH_IMAGE_MODEL=/opt/fakewatch/models/image \
    FAKEWATCH_VIDEO_MODEL=/opt/fakewatch/models/video \
    FAKEWATCH_DEVICE=cpu
USER fakewatch
EXPOSE 8000
# `fakewatch serve` on its own (a local Ray): the app's health. Ray nodes in docker-compose.yml
# use `ray health-check` instead; FAKEWATCH_HEALTH_URL points this check elsewhere.
HEALTHCHECK --interval=15s --timeout=10s --start-period=120s --retries=5 \
  CMD ["python", "-c", "import os, urllib.request as u; u.urlopen(os.environ.get('FAKEWATCH_HEALTH_URL', 'http://127.0.0.1:8000/v1/health'), timeout=8)"]
CMD ["fakewatch", "serve"]

FROM serve-deps-cuda AS serving-cuda
COPY --from=wheel /wheels /tmp/wheels
RUN pip install --no-deps --no-index /tmp/wheels/*.whl && rm -rf /tmp/wheels
COPY models /opt/fakewatch/models
ENV FAKEWATCH_IMAGE_MODEL=/opt/fakewatch/models/image \
    FAKEWATCH_VIDEO_MODEL=/opt/fakewatch/models/video \
    FAKEWATCH_DEVICE=auto \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
USER fakewatch
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=10s --start-period=120s --retries=5 \
  CMD ["python", "-c", "import os, urllib.request as u; u.urlopen(os.environ.get('FAKEWATCH_HEALTH_URL', 'http://127.0.0.1:8000/v1/health'), timeout=8)"]
CMD ["fakewatch", "serve"]
