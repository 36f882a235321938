# taskstream: the two set-up commands are `make run` and `make test`; `make help` lists the rest.
SHELL := /bin/bash
.DEFAULT_GOAL := help
SUB ?= alice
.PHONY: help token run stop status logs build broker broker-stop test test-rust fuzz validate-asyncapi check-deploy smoke lint fmt contracts bench bench-audit bench-notification clean

export KAFKA_BOOTSTRAP_SERVERS ?= 127.0.0.1:9092
# Tests create a fresh database per test through this connection (trust auth locally).
export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres
CARGO ?= cargo

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

run: broker build ## start the broker and all four services in the background (embedded defaults)
	@deploy/local/services.sh start
	@echo "Stop everything with: make stop    Logs: make logs"

stop: ## stop the services and the broker, leaving no process behind
	@deploy/local/services.sh stop
	@deploy/local/broker.sh stop

token: ## print a development token for user $(SUB) (make token SUB=bob), signed with the local secret
	@APP_CONFIG_DIR=crates/task-api/config APP_ENVIRONMENT=local $(CARGO) run -q -p task-api -- token --sub $(SUB)

status: ## show what runs
	@deploy/local/services.sh status
	@deploy/local/broker.sh status && echo "broker running" || echo "broker stopped"

logs: ## follow the logs of the broker and the services
	@tail -F .local/log/*.log

build: ## build every service
	$(CARGO) build --workspace --bins

broker: ## install (once, pinned) and start the local Kafka-protocol broker on 127.0.0.1:9092
	@deploy/local/broker.sh start

broker-stop: ## stop the local broker
	@deploy/local/broker.sh stop

test: broker test-rust fuzz validate-asyncapi check-deploy smoke ## everything: Rust tests against the real broker, API fuzzing, contract and manifest checks, run/stop smoke test

test-rust: ## Rust unit and integration tests (needs the broker)
	$(CARGO) test --workspace --all-targets --no-fail-fast

fuzz: broker build ## fuzz the task API with schemathesis from its OpenAPI document (bounded; no 5xx, no undocumented response)
	@tests/fuzz/run-schemathesis.sh

validate-asyncapi: ## validate contracts/asyncapi.yaml with the AsyncAPI parser and cross-check the catalogue
	@cd tests/contracts && npm ci --no-audit --no-fund --silent && node validate-asyncapi.mjs

check-deploy: ## render the dev and production overlays, validate every resource (kubectl, kubernetes-validate, CRD schemas), check them against contracts/ and the settings
	@python3 -c 'import yaml' 2>/dev/null || python3 -m pip install --quiet pyyaml
	@python3 deploy/k8s/check.py
	@tests/deploy/run.sh

smoke: build ## `make run`, every service answers /healthz and /readyz, `make stop` leaves no process
	@tests/smoke/run-and-stop.sh

lint: ## formatting and clippy, warnings are errors
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt: ## format the code
	$(CARGO) fmt --all

contracts: ## regenerate contracts/ from the Rust types (then commit the result)
	UPDATE_CONTRACTS=1 $(CARGO) test -p event-schema --test contract
	UPDATE_CONTRACTS=1 $(CARGO) test -p task-api --test openapi

bench: broker ## benchmarks against the local broker and PostgreSQL (BENCH_MESSAGES, default 100000); printed, never asserted
	$(CARGO) bench -p service-runtime --bench consume_throughput
	$(CARGO) bench -p service-runtime --bench connection_round_trip
	$(CARGO) bench -p task-api --bench create_latency
	$(CARGO) bench -p audit --bench record_throughput
	$(CARGO) bench -p audit --bench event_latency
	$(CARGO) bench -p notification --bench reminder_lateness

bench-notification: broker ## 10,000 reminders due within one minute: firing lateness p50/p99/max, missed, doubled
	$(CARGO) bench -p notification --bench reminder_lateness

bench-audit: broker ## audit recording (PostgreSQL on DATABASE_URL, and SQLite) vs a do-nothing consumer over the same events
	$(CARGO) bench -p audit --bench record_throughput

clean: stop ## stop everything and delete local state (broker data, logs)
	rm -rf .local
