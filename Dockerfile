# One Dockerfile for every service, built from the repository root, one image per service:
#   podman build --build-arg SERVICE=router -t switchboard-router .
# (docker build works the same.) Every image shares the layers up to the dependencies; only
# the last, small layer (the service's own wheels and entry point) differs.
#
# BASE is pinned by digest for reproducible builds; update the digest on purpose (it is the
# python:3.11-slim-bookworm image). Where public registries are out of reach, pass a base with
# Python 3.11 at /usr/bin or /usr/local/bin (scripts/image_base.sh makes one from Debian's
# packages; `make image-test` and `make up IMAGES=1` use it).
ARG BASE=python:3.11-slim-bookworm@sha256:a36c24f9cbdf4fd0f52d67f0823eeac19c2028c637cecc392d97f980d4fec56b
ARG UV_VERSION=0.13.9

# The runtime with every third-party dependency of every service, from uv.lock only: this
# layer is rebuilt when the lock or a pyproject changes, not when code does.
FROM ${BASE} AS deps
RUN useradd --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin switchboard \
 && mkdir -p /var/lib/switchboard && chown 10001:10001 /var/lib/switchboard
# The venv is made where it runs (/app/.venv), so its scripts' shebangs are right.
ENV UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON_PREFERENCE=only-system \
    UV_PYTHON=python3.11 \
    UV_SYSTEM_CERTS=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /build
COPY pyproject.toml uv.lock ./
COPY libs/events/pyproject.toml libs/events/
COPY libs/rules/pyproject.toml libs/rules/
COPY libs/platform/pyproject.toml libs/platform/
COPY services/gateway/pyproject.toml services/gateway/
COPY services/inbox-projection/pyproject.toml services/inbox-projection/
COPY services/ingest/pyproject.toml services/ingest/
COPY services/notifier/pyproject.toml services/notifier/
COPY services/pm-sync/pyproject.toml services/pm-sync/
COPY services/router/pyproject.toml services/router/
# The demo practice is a workspace member (uv reads every member's pyproject to use the lock);
# only its pyproject is copied: it has no dependency of its own and no image contains it.
COPY tools/demo_practice/pyproject.toml tools/demo_practice/
# uv, pinned, is installed for each step that uses it and removed in the same step, so it
# is never part of an image (buildah cannot bind-mount a cached stage, which would be neater).
ARG UV_VERSION
ENV UV_VERSION=${UV_VERSION}
RUN --mount=type=cache,target=/root/.cache \
    python3 -m venv /tmp/uv \
 && /tmp/uv/bin/pip install --quiet --cert /etc/ssl/certs/ca-certificates.crt "uv==${UV_VERSION}" \
 && /tmp/uv/bin/uv sync --frozen --no-dev --no-install-workspace --all-packages \
 && rm -rf /tmp/uv

# The libraries' and services' wheels, built once for all services (not the demo's: tools/
# is not copied, so it cannot end up in an image).
FROM deps AS wheels
COPY libs libs
COPY services services
RUN --mount=type=cache,target=/root/.cache \
    python3 -m venv /tmp/uv \
 && /tmp/uv/bin/pip install --quiet --cert /etc/ssl/certs/ca-certificates.crt "uv==${UV_VERSION}" \
 && for package in libs/* services/*; do \
      /tmp/uv/bin/uv build --wheel --out-dir /wheels "$package" || exit 1; \
    done \
 && rm -rf /tmp/uv

# One service: its wheel and the three libraries, into the venv (dependencies are there).
FROM deps
COPY --from=wheels /wheels /build/wheels
ARG SERVICE
RUN --mount=type=cache,target=/root/.cache \
    set -eu; \
    test -n "${SERVICE:-}" || { echo "build with --build-arg SERVICE=<service>" >&2; exit 1; }; \
    python3 -m venv /tmp/uv; \
    /tmp/uv/bin/pip install --quiet --cert /etc/ssl/certs/ca-certificates.crt "uv==${UV_VERSION}"; \
    /tmp/uv/bin/uv pip install --python /app/.venv/bin/python --no-deps --compile-bytecode \
      /build/wheels/switchboard_events-*.whl /build/wheels/switchboard_platform-*.whl \
      /build/wheels/switchboard_rules-*.whl \
      /build/wheels/switchboard_$(echo "$SERVICE" | tr - _)-*.whl; \
    ln -s "/app/.venv/bin/switchboard-${SERVICE}" /usr/local/bin/switchboard; \
    rm -rf /tmp/uv
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    SERVICE=${SERVICE} \
    SWITCHBOARD_HTTP_HOST=0.0.0.0
LABEL org.opencontainers.image.title="switchboard-${SERVICE}"
WORKDIR /var/lib/switchboard
USER 10001:10001
EXPOSE 8000
# `run` (the default) serves; `migrate` applies this service's migrations under a lock.
ENTRYPOINT ["switchboard"]
CMD ["run"]
