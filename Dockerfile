# syntax=docker/dockerfile:1
# One image for every component: the command picks it (`gateway`, `executor`, `projector`,
# `notifier`, `apikey ...`, `up`). infra/compose.yaml runs it; tests/deploy checks this file.

# -- build: the locked workspace into /app/.venv, no development tools -------------------
FROM python:3.11-slim AS build
COPY --from=ghcr.io/astral-sh/uv:0.13 /uv /usr/local/bin/uv
# Bytecode compiled once here, not by each container at start; copies, as the cache is a mount.
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
WORKDIR /app

# Third-party dependencies first, from the lock alone: this layer survives source edits.
COPY pyproject.toml uv.lock README.md ./
COPY contracts/pyproject.toml contracts/
COPY infra/pyproject.toml infra/
COPY gateway/pyproject.toml gateway/
COPY executor/pyproject.toml executor/
COPY projector/pyproject.toml projector/
COPY datasets/pyproject.toml datasets/
COPY notifier/pyproject.toml notifier/
COPY client/pyproject.toml client/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace

# Then the workspace itself, installed as wheels (not editable): the runtime stage needs
# only the virtual environment.
COPY contracts contracts
COPY infra infra
COPY gateway gateway
COPY executor executor
COPY projector projector
COPY datasets datasets
COPY notifier notifier
COPY client client
COPY jobstream jobstream
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable

# -- runtime ---------------------------------------------------------------------------
FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /var/lib/jobstream --create-home jobstream \
    && install -d -o jobstream -g jobstream /var/lib/jobstream/datasets
COPY --from=build /app/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH \
    JOBSTREAM_DATA_DIR=/var/lib/jobstream \
    JOBSTREAM_LOG_FORMAT=json
USER jobstream
WORKDIR /var/lib/jobstream
EXPOSE 8000
# The gateway's liveness; infra/compose.yaml turns it off for the components without HTTP.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as r; r.urlopen('http://127.0.0.1:%s/health' % os.environ.get('JOBSTREAM_PORT', '8000'), timeout=2)"]
ENTRYPOINT ["jobstream"]
CMD ["gateway"]
