# Fieldstone — `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

CACHE ?= $(or $(FIELDSTONE_CACHE),$(HOME)/.cache/fieldstone)
export FIELDSTONE_CACHE := $(CACHE)
UV_VERSION := 0.9.30
UV := $(CACHE)/uv/bin/uv
VENV := .venv
BIN := $(VENV)/bin
INFRA := scripts/infra/infra.sh
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := python3.11
export UV_LINK_MODE := copy

.PHONY: traces bench-tracing bench-extract bench-webhooks helm golden test-deploy openapi help up down status logs test test-unit test-integration test-e2e check lint typecheck imports protos protos-check sync infra bench clean

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(UV):
	@echo "[make] installing uv $(UV_VERSION) into $(CACHE)/uv"
	@python3 -m venv $(CACHE)/uv
	@$(CACHE)/uv/bin/pip install -q "uv==$(UV_VERSION)"

sync: $(UV) ## Install the Python workspace (locked) into .venv
	@$(UV) sync --all-packages --frozen -q

infra: ## Install (cached) and start Postgres, Kafka and MinIO
	@$(INFRA) install
	@$(INFRA) start

up: infra sync ## Run the whole platform locally; prints FIELDSTONE_URL and FIELDSTONE_API_KEY
	@$(BIN)/fieldstone-stack up

down: ## Stop the services and the infrastructure
	@if [ -x $(BIN)/fieldstone-stack ]; then $(BIN)/fieldstone-stack down; fi
	@$(INFRA) stop

status: ## Show what runs, with ports and log files
	@$(INFRA) status
	@if [ -x $(BIN)/fieldstone-stack ]; then $(BIN)/fieldstone-stack status; fi

logs: ## Tail every service's log (or SERVICE=name)
	@$(BIN)/fieldstone-stack logs $(SERVICE)

traces: ## Print the local stack's recent traces (FIELDSTONE_TRACING=file make up; TRACE=<id> for one)
	@$(BIN)/fieldstone-stack traces $(if $(TRACE),--trace-id $(TRACE))

bench-tracing: infra sync ## Tracing overhead on the walking skeleton (tracing off vs on)
	@eval "$$($(INFRA) env)" && $(BIN)/pytest -q -s -m bench tests/e2e/test_observability_stack.py -k overhead

protos: sync ## Regenerate the committed protobuf/gRPC code from protos/
	@$(BIN)/python scripts/gen_protos.py

openapi: sync ## Regenerate docs/openapi.json from the gateway
	@$(BIN)/python scripts/export_openapi.py

protos-check: sync ## Fail if the committed generated code is stale
	@$(BIN)/python scripts/gen_protos.py --check

lint: sync ## ruff (lint + format check)
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .

typecheck: sync ## mypy (strict)
	@$(BIN)/mypy $$(ls -d libs/*/src services/*/src | grep -v libs/proto) scripts

imports: sync ## import-linter layer contracts
	@$(BIN)/lint-imports

check: lint typecheck imports protos-check ## Every static check

helm: ## Install the pinned Helm (go install, cached in $(CACHE)/bin)
	@scripts/helm/install-helm.sh >/dev/null

golden: helm ## Re-render the Helm chart's golden examples after an intended change
	@scripts/helm/update-golden.sh

test-deploy: sync helm ## Chart, Dockerfile and compose checks (no cluster or Docker needed)
	@$(BIN)/pytest -q -ra tests/deploy

test-unit: sync helm ## Unit tests only (no infrastructure)
	@$(BIN)/pytest -q -m "not integration and not e2e"

test: infra sync check helm ## The whole suite against real Postgres, Kafka and MinIO
	@eval "$$($(INFRA) env)" && $(BIN)/pytest -q -ra

bench: bench-extract bench-webhooks bench-tracing ## All benchmarks (results printed as tables)

bench-extract: sync ## Extraction benchmark: field accuracy, time per page (text/OCR), peak memory
	@mkdir -p .stack/bench-extract
	@$(BIN)/python libs/extract/bench/run_bench.py --out .stack/bench-extract/predictions.json

bench-webhooks: infra sync ## Webhook dispatch: deliveries/s with 1 and 2 dispatchers, completion-to-attempt latency
	@eval "$$($(INFRA) env)" && $(BIN)/python services/webhooks/bench/run_bench.py

clean: down ## Stop everything, then remove local state (.stack: databases, topics, objects) and caches
	@rm -rf .stack .mypy_cache .ruff_cache .pytest_cache
