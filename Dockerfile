# One image for every fakewatch service (serving on Ray, bot, console, migrations).
# It installs exactly what `make` installs (same Makefile target), so the pins live in one place.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    FAKEWATCH_DATA_DIR=/var/lib/fakewatch

RUN apt-get update \
 && apt-get install -y --no-install-recommends make libgl1 libglib2.0-0 curl \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml Makefile README.md ./
COPY fakewatch ./fakewatch
COPY serving ./serving
COPY training ./training
COPY bot ./bot
COPY db ./db
COPY models ./models
RUN make venv PY=python3.11 && mkdir -p /var/lib/fakewatch

ENV PATH="/app/.venv/bin:${PATH}"
RUN useradd --create-home --uid 10001 fakewatch && chown -R fakewatch /var/lib/fakewatch
USER fakewatch
CMD ["fakewatch", "--help"]
