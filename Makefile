# Two commands set everything up on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
export AIOA_HOME ?= $(CURDIR)/data
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
UV = $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
SIZE ?= small
SEED ?= 42

.PHONY: env demo test lint bench dagster

env:  ## create the environment (installs uv with pip if it is missing)
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen

demo: env  ## generate the sample data, ingest it, and show the reports
	$(UV) run aioa generate --size $(SIZE) --seed $(SEED)
	$(UV) run aioa ingest sample
	$(UV) run aioa report monthly
	$(UV) run aioa report project
	$(UV) run aioa doctor

test: env  ## run the whole test suite
	$(UV) run pytest -q

dagster: env  ## Dagster UI on 127.0.0.1:3000 with the code location loaded (storage under AIOA_HOME)
	mkdir -p $(AIOA_HOME)/dagster
	set -m; export AIOA_CLAUDE_CODE_DIRS="$${AIOA_CLAUDE_CODE_DIRS-$$(ls -d $(AIOA_HOME)/sample/claude-code/*/.claude 2>/dev/null | paste -sd,)}" \
	  AIOA_HANDOFF_PATHS="$${AIOA_HANDOFF_PATHS-$(AIOA_HOME)/sample/handoffs}" AIOA_OTEL_PATHS="$${AIOA_OTEL_PATHS-$(AIOA_HOME)/sample/otel}"; \
	DAGSTER_HOME=$(AIOA_HOME)/dagster $(UV) run dagster dev -w workspace.yaml -h 127.0.0.1 -p $${DAGSTER_PORT:-3000}

lint: env
	$(UV) run ruff check src tests benchmarks

bench: env  ## ingest benchmark on a generated tree of at least 1 GB (see benchmarks/README.md)
	$(UV) run python benchmarks/ingest_benchmark.py
