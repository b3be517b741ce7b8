# The README's commands. `make dev` and `make test` work from a fresh clone on a fresh machine.
.DEFAULT_GOAL := help
# Resolved when used (after bootstrap may have installed it), not when make starts.
UV = $(shell command -v uv 2>/dev/null || echo python3 -m uv)

.PHONY: help bootstrap dev test lint fmt schemas sdl docs visibility bench clean

help:  ## List the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

bootstrap:  ## Install what is missing: uv, Python deps, Java, Maven, Postgres, Kafka jars
	@bash deploy/bootstrap.sh

dev: bootstrap  ## Run the whole system locally in the foreground (Ctrl-C stops it)
	.venv/bin/mpe-dev

# Three workers on two cores: most of a test's time is spent waiting on Postgres, Kafka and HTTP.
test: bootstrap  ## Run the whole test suite against real Postgres and Kafka
	$(UV) run --frozen pytest -n 3

lint:  ## ruff and mypy (strict)
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen mypy

fmt:  ## Format and auto-fix
	$(UV) run --frozen ruff format .
	$(UV) run --frozen ruff check --fix .

schemas:  ## Regenerate the events' JSON Schemas (refuses incompatible changes)
	$(UV) run --frozen mpe-events schemas

sdl:  ## Re-export the gateway's GraphQL SDL (refuses breaking changes)
	$(UV) run --frozen python tests/contract/export_sdl.py

# Bootstrap builds them too, so `make test` and `make dev` always serve the current schema.
docs:  ## Build the explorer and the partner docs the gateway serves (fails on a broken link)
	@bash deploy/portal.sh

visibility:  ## Measure REST write -> GraphQL visibility on a running `make dev`
	$(UV) run --frozen python -m mpe_devstack.visibility

# Its own throwaway stack on free ports, so it runs beside `make dev`; 5 to 9 minutes.
bench: bootstrap  ## Benchmark the gateway's headline queries with vegeta (deploy/bench/README.md)
	$(UV) run --frozen python deploy/bench/bench.py $(BENCH_ARGS)

clean:  ## Remove the local stack's data (.dev/)
	rm -rf .dev
