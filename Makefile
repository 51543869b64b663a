# Stackyard developer entry points. Every target bootstraps what it needs (scripts/deps.sh is idempotent).
SHELL := /bin/bash
.DEFAULT_GOAL := help
.PHONY: help deps dev smoke-dev migrate test test-multinode test-ha test-faults test-compose fuzz bench build typecheck lint format reset nats-stop

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

deps: ## install/start Node 22, npm packages, Postgres, our NATS, dockerd (swarm), chromium
	bash scripts/deps.sh

dev: ## run the whole platform locally (NATS + migrations + all services), prints the URL
	bash scripts/dev.sh

smoke-dev: ## what CI checks of make dev: system Node first, ready, first-run login, UI, clean Ctrl-C
	bash scripts/smoke-dev.sh

migrate: ## apply pending database migrations to DATABASE_URL (needs only Postgres)
	bash scripts/migrate.sh

test: ## every suite: typecheck, lint, unit, integration and end-to-end against real services
	bash scripts/test.sh

test-multinode: ## 3-node Swarm in network namespaces: inventory, spread, placement, drain, a worker killed (STACKYARD_MULTINODE_TEST_TIMEOUT)
	bash scripts/test-multinode.sh

test-ha: ## production topology: 3 NATS nodes, 2 gateways, 2 service processes, 2 workers; a node, a gateway and a worker killed mid-deploy (STACKYARD_HA_TEST_TIMEOUT)
	bash scripts/test-ha.sh

test-faults: ## fault suite: agent, control plane, a worker, NATS and Postgres killed/restarted mid-deploy, the agent paused (STACKYARD_FAULTS_TEST_TIMEOUT)
	bash scripts/test-faults.sh

test-compose: ## run docker-compose.dev.yml for real (offline stand-in base images) and check it through the API
	bash scripts/test-compose.sh

build: ## the build CI and the Dockerfiles share: npm ci, typecheck, web build
	bash scripts/run.sh bash scripts/build.sh

fuzz: ## long fuzz runs: the spec-driven API fuzzer (FUZZ_SEED, FUZZ_ITERATIONS per operation, FUZZ_OP, FUZZ_CASE; report in .state/fuzz/), then the parser properties (FUZZ_PROPERTY_RUNS, default 20000)
	bash scripts/deps.sh --no-chromium && bash scripts/run.sh npm run --silent fuzz
	FUZZ_PROPERTY_RUNS=$${FUZZ_PROPERTY_RUNS:-20000} bash scripts/run.sh npx mocha --no-config --node-option import=tsx --timeout 0 --exit test/fuzz/properties.spec.ts

bench: ## benchmarks; prints the figures
	BENCH=$(BENCH) bash scripts/run.sh npm run --silent bench

typecheck: ## tsc --noEmit
	bash scripts/run.sh npm run --silent typecheck

lint: ## eslint + prettier --check
	bash scripts/run.sh npm run --silent lint

format: ## prettier --write + eslint --fix
	bash scripts/run.sh npm run --silent format

nats-stop: ## stop our development nats-server
	bash scripts/run.sh node --import tsx scripts/nats.ts stop

reset: ## stop our NATS and delete all local state (.state/, dev and test databases)
	bash scripts/reset.sh
