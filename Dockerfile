# syntax=docker/dockerfile:1
# πlot backend: multi-stage build with uv; the runtime image holds only the virtualenv and the
# template library and runs as a non-root user. Start: migrations, then uvicorn on $PORT.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------- build
FROM ${PYTHON_IMAGE} AS build
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN pip install --no-cache-dir "uv>=0.5"
WORKDIR /app

# Dependencies first (cached until pyproject.toml / uv.lock change), then the project itself.
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-project
COPY README.md ./
COPY pilot ./pilot
# --no-editable: the package (with its Alembic migrations) is copied into the virtualenv,
# so the runtime stage needs no source tree.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable

# ---------------------------------------------------------------- runtime
FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 pilot \
 && useradd --system --uid 10001 --gid pilot --home-dir /app --no-create-home --shell /usr/sbin/nologin pilot
WORKDIR /app
COPY --from=build --chown=pilot:pilot /app/.venv /app/.venv
COPY --chown=pilot:pilot templates ./templates
RUN mkdir -p /app/data && chown pilot:pilot /app/data
ENV PATH="/app/.venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PILOT_TEMPLATES_DIR=/app/templates \
    PILOT_DATA_DIR=/app/data \
    HOST=0.0.0.0 \
    PORT=8000
USER pilot
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\", \"8000\")}/health', timeout=4)"]
# One uvicorn process per container (scale with replicas); proxy headers from the platform's
# load balancer are trusted. `exec` replaces the shell, so uvicorn is PID 1, receives SIGTERM
# itself and shuts down gracefully.
CMD ["/bin/sh", "-c", "pilot db upgrade && exec uvicorn pilot.app:create_app --factory --host \"$HOST\" --port \"${PORT:-8000}\" --proxy-headers --forwarded-allow-ips \"${PILOT_FORWARDED_ALLOW_IPS:-*}\""]
