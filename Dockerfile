# syntax=docker/dockerfile:1
# An image per component, each holding only its package's locked dependencies:
#
#   docker build --target gateway   -t jobstream-gateway .    # HTTP; no data stack
#   docker build --target projector -t jobstream-projector .  # no data stack
#   docker build --target notifier  -t jobstream-notifier .   # no data stack
#   docker build --target executor  -t jobstream-executor .   # the data stack (datasets)
#   docker build -t jobstream .                               # all: every command (`up`, `apikey`)
#
# Each runs `jobstream <component>` as uid 10001. --build-arg VERSION, SOURCE (the repository's
# URL) and REVISION (its commit) fill the OCI labels. infra/compose.yaml and infra/kubernetes
# run these images; tests/deploy/test_dockerfile.py checks this file, and the sizes are in
# docs/how-to/deploy.md.

ARG VERSION=0.1.0

# -- lock: the workspace's metadata, from which uv resolves every target's closure ----------
FROM python:3.11-slim AS lock
COPY --from=ghcr.io/astral-sh/uv:0.13 /uv /usr/local/bin/uv
# Bytecode compiled once here, not by each container at start; copies, as the cache is a mount.
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
COPY contracts/pyproject.toml contracts/
COPY infra/pyproject.toml infra/
COPY gateway/pyproject.toml gateway/
COPY executor/pyproject.toml executor/
COPY projector/pyproject.toml projector/
COPY datasets/pyproject.toml datasets/
COPY notifier/pyproject.toml notifier/
COPY client/pyproject.toml client/

# -- sources: the workspace's code, copied over a target's dependencies ---------------------
FROM lock AS sources
COPY contracts contracts
COPY infra infra
COPY gateway gateway
COPY executor executor
COPY projector projector
COPY datasets datasets
COPY notifier notifier
COPY client client
COPY jobstream jobstream

# -- one virtual environment per target: third-party dependencies first, from the lock alone
# (that layer survives source edits), then the members as wheels (not editable), so the
# runtime stage needs only /app/.venv. --package: that member and its locked closure only.

FROM lock AS gateway-venv
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace --package jobstream-gateway --extra postgres
COPY --from=sources /app /app
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package jobstream-gateway --extra postgres

FROM lock AS projector-venv
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace --package jobstream-projector --extra postgres
COPY --from=sources /app /app
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package jobstream-projector --extra postgres

FROM lock AS notifier-venv
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace --package jobstream-notifier
COPY --from=sources /app /app
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package jobstream-notifier

# The executor with the data processes it serves by default (jobstream-datasets pulls it in).
FROM lock AS executor-venv
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace --package jobstream-datasets
COPY --from=sources /app /app
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package jobstream-datasets

FROM lock AS all-venv
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace
COPY --from=sources /app /app
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable

# -- runtime: what every image shares --------------------------------------------------------
FROM python:3.11-slim AS runtime
ARG VERSION
ARG SOURCE=""
ARG REVISION=""
LABEL org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="MIT"
RUN useradd --system --uid 10001 --home-dir /var/lib/jobstream --create-home jobstream \
    && install -d -o jobstream -g jobstream /var/lib/jobstream/datasets
ENV PATH=/app/.venv/bin:$PATH \
    JOBSTREAM_DATA_DIR=/var/lib/jobstream \
    JOBSTREAM_LOG_FORMAT=json
USER jobstream
WORKDIR /var/lib/jobstream
ENTRYPOINT ["jobstream"]

# The images that serve HTTP: the gateway's port, and its liveness (the process answers /health).
FROM runtime AS http
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as r; r.urlopen('http://127.0.0.1:%s/health' % os.environ.get('JOBSTREAM_PORT', '8000'), timeout=2)"]
CMD ["gateway"]

# -- the images ------------------------------------------------------------------------------
FROM http AS gateway
LABEL org.opencontainers.image.title="jobstream-gateway" \
      org.opencontainers.image.description="jobstream's OGC API - Processes HTTP gateway"
COPY --from=gateway-venv /app/.venv /app/.venv

FROM runtime AS projector
LABEL org.opencontainers.image.title="jobstream-projector" \
      org.opencontainers.image.description="jobstream's projector: the job events into a SQL view"
COPY --from=projector-venv /app/.venv /app/.venv
CMD ["projector"]

FROM runtime AS notifier
LABEL org.opencontainers.image.title="jobstream-notifier" \
      org.opencontainers.image.description="jobstream's notifier: delivers job callbacks"
COPY --from=notifier-venv /app/.venv /app/.venv
CMD ["notifier"]

FROM runtime AS executor
LABEL org.opencontainers.image.title="jobstream-executor" \
      org.opencontainers.image.description="jobstream's executor, with the data processes"
COPY --from=executor-venv /app/.venv /app/.venv
CMD ["executor"]

# Last, so a build without --target makes it: every command, the admin's (`apikey`, `events
# export`) and `up` included; it serves the gateway unless given another command.
FROM http AS all
LABEL org.opencontainers.image.title="jobstream" \
      org.opencontainers.image.description="jobstream: every component and command"
COPY --from=all-venv /app/.venv /app/.venv
