# syntax=docker/dockerfile:1
# One image per service, from one Dockerfile. Build from the repository root (the uv workspace):
#   docker build --build-arg SERVICE=catalog -t mpehub/catalog .
# Without a Docker engine (podman, Debian's own base): `make images`, deploy/images/README.md.

# The base: any Debian-like image with Python 3.11 and its venv module. Both stages use it, so
# the virtualenv built in the first finds the same interpreter at the same path in the second.
ARG BASE=python:3.11-slim
# Node.js builds the gateway's partner portal (explorer and docs) from its pinned npm packages.
ARG NODE_BASE=node:20-slim

# ---- portal: the gateway's explorer and docs, as deploy/portal.sh builds them ----------------
FROM ${NODE_BASE} AS portal
ARG EXTRA_CA=
WORKDIR /src/services/gateway/portal
COPY services/gateway/portal/package.json services/gateway/portal/package-lock.json ./
RUN if [ -n "${EXTRA_CA}" ]; then export NODE_EXTRA_CA_CERTS="${EXTRA_CA}"; fi \
    && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
COPY services/gateway/portal/build.mjs services/gateway/portal/docs.mjs ./
COPY services/gateway/portal/src src
COPY services/gateway/schema.graphql /src/services/gateway/schema.graphql
COPY docs/partner-guide.md docs/partner-guide.ko.md /src/docs/
RUN node build.mjs

# ---- builder: the service and its locked dependencies, installed (not editable) into /app ----
FROM ${BASE} AS builder
ARG SERVICE
ARG UV_VERSION=0.13.9
# A CA bundle (a path mounted into the build) for networks that inspect TLS; empty elsewhere.
ARG EXTRA_CA=
RUN test -n "${SERVICE}" || (echo "--build-arg SERVICE=catalog|firms|budget|gateway is required" >&2; exit 1)
# uv from PyPI into a throwaway venv: no second image to pull.
RUN if [ -n "${EXTRA_CA}" ]; then export PIP_CERT="${EXTRA_CA}"; fi \
    && python3 -m venv /opt/uv && /opt/uv/bin/pip install --quiet --no-cache-dir "uv==${UV_VERSION}"
ENV UV_PYTHON_DOWNLOADS=0 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PROJECT_ENVIRONMENT=/app
WORKDIR /src
# Dependencies first, from the lock and the manifests only: rebuilt when those change.
COPY pyproject.toml uv.lock ./
COPY shared/kit/pyproject.toml shared/kit/
COPY shared/events/pyproject.toml shared/events/
COPY shared/devstack/pyproject.toml shared/devstack/
COPY shared/replicas/pyproject.toml shared/replicas/
COPY services/catalog/pyproject.toml services/catalog/
COPY services/firms/pyproject.toml services/firms/
COPY services/budget/pyproject.toml services/budget/
COPY services/gateway/pyproject.toml services/gateway/
RUN if [ -n "${EXTRA_CA}" ]; then export SSL_CERT_FILE="${EXTRA_CA}"; fi \
    && /opt/uv/bin/uv sync --frozen --no-dev --no-install-workspace --package "mpe-${SERVICE}" --python python3
# Then the workspace members, as wheels: the migrations travel inside the service's package.
COPY shared/kit/src shared/kit/src
COPY shared/events/src shared/events/src
COPY shared/replicas/src shared/replicas/src
COPY services/${SERVICE}/src services/${SERVICE}/src
RUN if [ -n "${EXTRA_CA}" ]; then export SSL_CERT_FILE="${EXTRA_CA}"; fi \
    && /opt/uv/bin/uv sync --frozen --no-dev --no-editable --package "mpe-${SERVICE}" --python python3 \
    && ln -s "/app/bin/${SERVICE}" /app/bin/mpe-service
# The gateway serves the built portal (GATEWAY_PORTAL_DIR below); the other services need none.
COPY --from=portal /src/services/gateway/portal/dist /tmp/portal
RUN if [ "${SERVICE}" = gateway ]; then cp -r /tmp/portal /app/portal; fi

# ---- runtime: the venv alone, owned by root, run by an unprivileged user ---------------------
FROM ${BASE}
ARG SERVICE
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE=https://github.com/mpehub/mpehub
LABEL org.opencontainers.image.title="mpehub ${SERVICE}" \
      org.opencontainers.image.description="The mpehub ${SERVICE} service" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.version="${VERSION}"
RUN groupadd --system --gid 10001 mpe \
    && useradd --system --uid 10001 --gid mpe --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin mpe
COPY --from=builder /app /app
# Nothing is written at run time (the root filesystem can be read-only): bytecode is compiled
# at build time, logs go to stdout, secrets are read from mounted files.
ENV PATH="/app/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MPE_SERVICE=${SERVICE} \
    GATEWAY_PORTAL_DIR=/app/portal
USER 10001:10001
WORKDIR /app
EXPOSE 8000-8003 9090
# `catalog serve`, `catalog api`, `catalog worker`, `catalog migrate` …: the arguments name the
# service, as in docker-compose.yml and deploy/k8s; without any, the service serves.
CMD ["mpe-service", "serve"]
