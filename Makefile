# The README's commands. `make dev` and `make test` work from a fresh clone on a fresh machine.
.DEFAULT_GOAL := help
# Resolved when used (after bootstrap may have installed it), not when make starts.
UV = $(shell command -v uv 2>/dev/null || echo python3 -m uv)

.PHONY: help bootstrap dev test test-unit lint schemas-check sdl-check check fmt schemas sdl k8s images images-test docs-portal visibility bench clean

help:  ## List the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

bootstrap:  ## Install what is missing: uv, Python deps, Java, Maven, Postgres, Kafka jars
	@bash deploy/bootstrap.sh

dev: bootstrap  ## Run the whole system locally in the foreground (Ctrl-C stops it)
	.venv/bin/mpe-dev

# Three workers on two cores: most of a test's time is spent waiting on Postgres, Kafka and HTTP.
test: bootstrap  ## Run the whole test suite against real Postgres and Kafka
	$(UV) run --frozen pytest -n 3

# No server starts in this lane: a test marked `unit` that needs Postgres or Kafka fails.
test-unit:  ## Only the unit tests: no Postgres, no Kafka, under a minute
	MPE_TEST_LANE=unit $(UV) run --frozen pytest -m unit -p no:xdist -q

# Installs the locked tools first (dev group included): on a fresh machine it runs right after bootstrap.
lint:  ## ruff (lint and format check) and mypy (strict)
	$(UV) sync --frozen
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen mypy

fmt:  ## Format and auto-fix
	$(UV) run --frozen ruff format .
	$(UV) run --frozen ruff check --fix .

schemas:  ## Regenerate the events' JSON Schemas (refuses incompatible changes)
	$(UV) run --frozen mpe-events schemas

schemas-check:  ## Fail if the committed JSON Schemas or docs/asyncapi.yaml differ from the event models (writes nothing)
	$(UV) run --frozen mpe-events schemas --check
	$(UV) run --frozen mpe-events asyncapi --check

sdl:  ## Re-export the gateway's GraphQL SDL (refuses breaking changes)
	$(UV) run --frozen python tests/contract/export_sdl.py

sdl-check:  ## Fail if the committed SDL differs from the gateway's schema (writes nothing)
	$(UV) run --frozen python tests/contract/export_sdl.py --check

check: lint schemas-check sdl-check  ## What CI checks before the tests: lint, event schemas, SDL
k8s:  ## Regenerate deploy/k8s/base (topics, users, workloads) from the registries
	$(UV) run --frozen python -m mpe_devstack.k8s

# Minutes, not seconds (a Debian base, then each service's locked dependencies): kept out of
# `make test`, which checks the Dockerfile offline (tests/compose).
images:  ## Build every service's image with podman (no Docker engine needed; deploy/images)
	bash deploy/images/build.sh

images-test: bootstrap  ## Check a built image: the catalog answers /healthz from its read-only root
	$(UV) run --frozen pytest deploy/images/test_image.py -p no:xdist -q

# Bootstrap builds them too, so `make test` and `make dev` always serve the current schema.
docs-portal:  ## Build the explorer and the partner docs the gateway serves (fails on a broken link)
	@bash deploy/portal.sh

visibility:  ## Measure REST write -> GraphQL visibility on a running `make dev`
	$(UV) run --frozen python -m mpe_devstack.visibility

# Its own throwaway stack on free ports, so it runs beside `make dev`; 5 to 9 minutes at 1x.
# SCALE=10|100 adds `make demo-scale`'s dataset first (the demo alone unless given); for those
# runs BENCH_ARGS="--queries technologies --cold-rates 50,200 --warm-rates 1000 --seconds 8" is enough.
bench: SCALE = 1
bench: bootstrap  ## Benchmark the headline queries with vegeta at SCALE× (1, 10, 100): latency, CPU/request of gateway + Postgres; at scale BENCH_ARGS="--queries technologies --cold-rates 50,200" (deploy/bench/README.md)
	$(UV) run --frozen python deploy/bench/bench.py --scale $(SCALE) $(BENCH_ARGS)

clean:  ## Remove the local stack's data (.dev/)
	rm -rf .dev

.PHONY: asyncapi docs docs-asyncapi

asyncapi:  ## Regenerate docs/asyncapi.yaml (AsyncAPI 3.0) from the topic registry and committed schemas
	$(UV) run --frozen mpe-events asyncapi

docs-asyncapi:  ## Validate docs/asyncapi.yaml and render it to docs/asyncapi/index.html (self-contained)
	bash deploy/asyncapi/run.sh validate docs/asyncapi.yaml
	bash deploy/asyncapi/run.sh render docs/asyncapi.yaml docs/asyncapi
	bash deploy/asyncapi/run.sh check-offline docs/asyncapi/index.html

docs: docs-asyncapi docs-portal  ## Build the documentation

# Chaos (issue 13, section 1): its own three-broker stack on free ports, beside `make dev`.
.PHONY: chaos
CHAOS_ARGS ?= --duration 600

chaos: bootstrap  ## Ten minutes of writes under broker, relay, projector and Postgres faults, then the verdict
	$(UV) run --frozen python -m mpe_devstack.chaos $(CHAOS_ARGS)

# Issue 13, section 4: the pipeline as the data grows (docs/operations.md, docs/measurements.md).
.PHONY: demo-scale bench-pipeline
SCALE ?= 10
PIPELINE_ARGS ?= --label $(SCALE)x

demo-scale:  ## Add the demo at SCALE× (1, 10, 100) to a running `make dev`: straight into the tables and outboxes
	$(UV) run --frozen python -m mpe_devstack.scale --scale $(SCALE)

bench-pipeline:  ## Measure projector, rebuild, write->visible, queries and export on a running `make dev` (PIPELINE_ARGS)
	$(UV) run --frozen python deploy/bench/bench_pipeline.py $(PIPELINE_ARGS)

# The longer fuzzing run (issue 13, section 2); `make test` runs 12 examples with a fixed seed.
.PHONY: fuzz
FUZZ_EXAMPLES ?= 100
FUZZ_SEED ?= random
fuzz: bootstrap  ## schemathesis against the three write services: FUZZ_EXAMPLES (100) an operation, a fresh seed (FUZZ_SEED=random, or a number to repeat a run)
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_SEED=$(FUZZ_SEED) $(UV) run --frozen pytest tests/openapi -p no:xdist -q

# Query 1 on PostGraphile 5 over the same read model, against the gateway (issue 13's reference).
.PHONY: bench-postgraphile
PGL_ARGS ?=
bench-postgraphile: SCALE = 1
bench-postgraphile: bootstrap  ## Query 1 cold, CPU a request: the gateway against PostGraphile 5 on the same read model at SCALE× (PGL_ARGS)
	$(UV) run --frozen python deploy/bench/versus_postgraphile.py --scale $(SCALE) $(PGL_ARGS)

# Soak (issue 13, section 3): its own stack on free ports, beside `make dev`; ~25 minutes in all.
.PHONY: soak
SOAK_ARGS ?=

soak: bootstrap  ## Twenty minutes of writes and reads (SOAK_MINUTES=n for fewer): memory, lag, visibility
	$(UV) run --frozen python deploy/soak/soak.py $(SOAK_ARGS)
