# Two commands set everything up on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
export AIOA_HOME ?= $(CURDIR)/data
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
UV = $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
SIZE ?= small
SEED ?= 42

.PHONY: env demo pipeline test browser lint api bench bench-tree bench-pipeline bench-app bench-api bench-routing dagster app mlflow notebooks

env:  ## create the environment (installs uv with pip if it is missing); once per `make` (sub-makes get ENV_READY=1)
ifndef ENV_READY
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	@echo "syncing the environment (uv sync)"
	@$(UV) sync -q --frozen --compile-bytecode  # compiled once: fast start-up even where PYTHONDONTWRITEBYTECODE is set
	@$(UV) run -q --no-sync python -m compileall -q -j 0 src ml orchestration apps >/dev/null  # our own code too (~2 CPU-s a start)
endif

# Log locations of the generated sample, unless the caller set their own.
SAMPLE_ENV = export AIOA_CLAUDE_CODE_DIRS="$${AIOA_CLAUDE_CODE_DIRS-$$(ls -d $(AIOA_HOME)/sample/claude-code/*/.claude 2>/dev/null | paste -sd,)}" \
	  AIOA_HANDOFF_PATHS="$${AIOA_HANDOFF_PATHS-$(AIOA_HOME)/sample/handoffs}" AIOA_OTEL_PATHS="$${AIOA_OTEL_PATHS-$(AIOA_HOME)/sample/otel}" \
	  DAGSTER_HOME=$(AIOA_HOME)/dagster

demo: env  ## generate the sample data, materialise every Dagster asset once, then serve the app
	$(UV) run aioa generate --size $(SIZE) --seed $(SEED)
	$(MAKE) --no-print-directory pipeline ENV_READY=1
	$(UV) run aioa report monthly
	-$(SAMPLE_ENV); $(UV) run aioa doctor
	$(UV) run aioa users demo  # two orgs x three roles; passwords printed once
	$(MAKE) --no-print-directory app ENV_READY=1

# Dagster's instance under AIOA_HOME: the shipped dagster.yaml (telemetry off, one pipeline run at a time).
DAGSTER_INSTANCE = mkdir -p $(AIOA_HOME)/dagster && \
	(test -f $(AIOA_HOME)/dagster/dagster.yaml || cp orchestration/dagster.yaml $(AIOA_HOME)/dagster/dagster.yaml)

pipeline: env  ## materialise every asset (ingest, dbt, checks, ML, snapshot): `aioa run` runs the Dagster job
	@$(DAGSTER_INSTANCE)
	$(SAMPLE_ENV); MLFLOW_LOGGING_LEVEL=WARNING $(UV) run aioa run  # one line per step, with its duration

test: env browser lint  ## lint, then the whole test suite
	$(UV) run pytest -q -n 2 --dist loadfile --no-loadscope-reorder --durations=15  # two workers, one file each at a time, longest files first (tests/conftest.py)

browser:  ## Debian's Chromium for the real-browser test (skipped with a message when it cannot be installed)
	@test -x /usr/bin/chromium || (apt-get install -y -qq chromium >/dev/null 2>&1 || \
	  (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null 2>&1)) || \
	  echo "chromium could not be installed: the browser test will skip"

app: env  ## the Streamlit app (and its sign-in routes) on 127.0.0.1:$${PORT:-8501}, reading the published snapshot
	$(UV) run streamlit run apps/dashboard/asgi.py --server.address 127.0.0.1 \
	  --server.port $${PORT:-8501} --server.headless true --browser.gatherUsageStats false --client.toolbarMode minimal

api: env  ## the REST API on 127.0.0.1:$${API_PORT:-8000} (OpenAPI at /docs), reading the published snapshot
	$(UV) run aioa serve --host 127.0.0.1 --port $${API_PORT:-8000}

mlflow: env  ## the MLflow UI on 127.0.0.1:$${MLFLOW_PORT:-5000} (SQLite backend under AIOA_HOME)
	mkdir -p $(AIOA_HOME)/mlflow/artifacts
	$(UV) run mlflow server --backend-store-uri sqlite:///$(AIOA_HOME)/mlflow/mlflow.db \
	  --default-artifact-root $(AIOA_HOME)/mlflow/artifacts --host 127.0.0.1 --port $${MLFLOW_PORT:-5000}

dagster: env  ## Dagster UI on 127.0.0.1:3000 with the code location loaded (storage under AIOA_HOME); Ctrl-C stops it
	@$(DAGSTER_INSTANCE)
	@# dagster dev runs as its own job (set -m: its own process group). Ctrl-C or a TERM to make's shell is passed
	@# as INT to that whole group, as a terminal's Ctrl-C would be (uv forwards no INT inside its own group); the
	@# shell waits while dagster dev stops its webserver and daemon, then stops what is left of the group: code
	@# servers and the runs they launched (a sensor's run) would otherwise go on in the background for minutes.
	set -m; $(SAMPLE_ENV); $(UV) run dagster dev -w workspace.yaml -h 127.0.0.1 -p $${DAGSTER_PORT:-3000} & \
	  pid=$$!; trap 'kill -INT -- -$$pid 2>/dev/null; wait $$pid; kill -TERM -- -$$pid 2>/dev/null; sleep 5; \
	  kill -KILL -- -$$pid 2>/dev/null; true' INT TERM; wait $$pid

lint: env  ## ruff's rules and its formatting (run `uv run ruff format` to fix the latter)
	$(UV) run ruff check src ml orchestration apps tests benchmarks
	$(UV) run ruff format --check src ml orchestration apps tests benchmarks

notebooks: env  ## the analyst notebooks in JupyterLab on 127.0.0.1 (they read the published snapshot)
	$(UV) run jupyter lab notebooks/ --ip 127.0.0.1 --no-browser

bench: env  ## ingest benchmark on a generated tree of at least 1 GB (see benchmarks/README.md)
	$(UV) run python benchmarks/ingest_benchmark.py

bench-tree: env  ## aioa vs ccusage (npm) on a generated real-shaped ~/.claude tree, A B A B (TREE_GB=1 for 1 GB)
	$(UV) run python benchmarks/real_tree_benchmark.py $(if $(TREE_GB),--total-gb $(TREE_GB))

bench-pipeline: env  ## full and incremental pipeline runs (SIZE=small|large)
	$(UV) run python benchmarks/pipeline_benchmark.py --size $(SIZE)

bench-app: env  ## p50/p95 of every page query and each page's first render, on the snapshot under AIOA_HOME
	$(UV) run python benchmarks/app_benchmark.py

bench-api: env  ## `aioa serve`, auth on, 1/10/50 clients: report, KPIs, route p50/p95/p99, req/s (AIOA_HOME's snapshot)
	$(UV) run python benchmarks/api_benchmark.py --profile

bench-routing: env  ## route() latency, and training time and metrics on small, large and MMLU data
	$(UV) run python benchmarks/routing_benchmark.py
