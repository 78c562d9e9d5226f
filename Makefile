# ScaleShop: `make up` runs the stack, `make test` proves it. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Docker when an engine answers, else the native runtime; STACK_RUNTIME=native|docker overrides.
STACK_RUNTIME ?= $(shell docker info >/dev/null 2>&1 && echo docker || echo native)
PYTHON := .venv/bin/python
STACKCTL := $(PYTHON) -m stackctl
# The profile "lab" adds the control API with the Docker socket: development only (see docker-compose.yml).
COMPOSE := docker compose --profile lab

.PHONY: help bootstrap up down ps logs kill stop start clean test test-lab test-unit grep-logs footprint

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

bootstrap: ## install missing Debian packages and the Python environment
	@bash scripts/bootstrap.sh

up: bootstrap ## start the whole topology and wait until every component is healthy
ifeq ($(STACK_RUNTIME),docker)
	$(COMPOSE) up -d --build --wait
else
	@$(STACKCTL) up
endif

down: ## stop the stack (data is kept)
ifeq ($(STACK_RUNTIME),docker)
	$(COMPOSE) down
else
	@$(STACKCTL) down
endif

ps: ## every component with its address, pid/state and health
ifeq ($(STACK_RUNTIME),docker)
	$(COMPOSE) ps
else
	@$(STACKCTL) ps
endif

logs: ## tail one component's log: make logs NAME=orders-2
ifeq ($(STACK_RUNTIME),docker)
	$(COMPOSE) logs -f --tail=100 $(NAME)
else
	@$(STACKCTL) logs $(NAME)
endif

kill: ## SIGKILL one component (it is restarted, like restart: unless-stopped): make kill NAME=orders-2
ifeq ($(STACK_RUNTIME),docker)
	docker kill $$($(COMPOSE) ps -q $(NAME))
else
	@$(STACKCTL) kill $(NAME)
endif

stop: ## take one component out until `make start`: make stop NAME=orders-2
ifeq ($(STACK_RUNTIME),docker)
	$(COMPOSE) stop $(NAME)
else
	@$(STACKCTL) stop $(NAME)
endif

start: ## bring a stopped component back and wait for its health: make start NAME=orders-2
ifeq ($(STACK_RUNTIME),docker)
	$(COMPOSE) start $(NAME)
else
	@$(STACKCTL) start $(NAME)
endif

grep-logs: ## every log line of one request: make grep-logs ID=<request id>
	@grep -h -- "$(ID)" .stack/logs/*.log | sort

clean: ## stop the stack and wipe its data
ifeq ($(STACK_RUNTIME),docker)
	$(COMPOSE) down -v
else
	@$(STACKCTL) clean
endif

test: bootstrap ## run every test: unit, static checks, then the live stack (its own isolated instance)
	@.venv/bin/pytest

test-lab: bootstrap ## browser tests of the storefront and the lab + the control API (own isolated stack; screenshots in reports/ui/)
	@.venv/bin/pytest tests/lab

test-unit: bootstrap ## the fast tests only (no stack)
	@.venv/bin/pytest tests/unit tests/static

footprint: ## memory (PSS) of every component of the native stack, and the total
	@$(STACKCTL) footprint

# --- Load tests (Locust: behaviour, thresholds) and benchmarks (wrk: figures); see loadtests/ and bench/ ---
.PHONY: load load-ui bench capacity
HOST ?= http://localhost:8080
LOAD_SHAPE ?= steady
LOAD_USERS ?= 20
LOCUST := $(PYTHON) -m locust -f loadtests/locustfile.py

load: ## headless Locust run, exits 1 when a threshold fails: make load LOAD_SHAPE=ramp LOAD_USERS=50 [LOAD_DURATION=120]
	@dir=reports/load/$$(date +%Y%m%d-%H%M%S) && mkdir -p $$dir && \
	LOAD_SHAPE=$(LOAD_SHAPE) LOAD_USERS=$(LOAD_USERS) $(if $(LOAD_DURATION),LOAD_DURATION=$(LOAD_DURATION)) \
	$(LOCUST) --headless --host $(HOST) --only-summary --html $$dir/report.html --csv $$dir/load; \
	rc=$$?; echo "report: $$dir/report.html (CSV: $$dir/load_*.csv)"; exit $$rc

load-ui: ## Locust's web UI on http://localhost:8089 against the running stack (LOAD_SHAPE=ramp to drive it by a shape)
	LOAD_SHAPE=$(if $(filter command line environment,$(origin LOAD_SHAPE)),$(LOAD_SHAPE),none) \
	$(LOCUST) --host $(HOST) --web-host 127.0.0.1 --web-port 8089

bench: ## benchmark the running stack (`make up` first): figures as ratios, report under reports/bench/
ifeq ($(STACK_RUNTIME),docker)
	@BENCH_RUNTIME=docker PYTHONPATH=src:. $(PYTHON) -m bench
else
	@BENCH_RUNTIME=native PYTHONPATH=src:. $(PYTHON) -m bench
endif

capacity: ## replicas, DB connections, cache, machines and HPA min/max/requests for USERS from the last bench (K8S_WRITE=1: into k8s/overlays/prod)
	@PYTHONPATH=src:. $(PYTHON) -m bench.capacity --users $(or $(USERS),1000000) \
	$(if $(RPS_PER_USER),--rps-per-user $(RPS_PER_USER)) $(if $(PEAK_FACTOR),--peak-factor $(PEAK_FACTOR)) \
	$(if $(HEADROOM),--headroom $(HEADROOM)) $(if $(K8S_WRITE),--write-k8s)

# --- Autoscaling (k8s/ HPA, run natively): see stackctl/autoscale.py ---
.PHONY: autoscale
autoscale: ## run the dev overlay's HPA against the native stack: make autoscale SERVICE=products [AUTOSCALE_WINDOW=30]
	@$(STACKCTL_AUTOSCALE) $(or $(SERVICE),products) $(if $(AUTOSCALE_WINDOW),--scale-down-window $(AUTOSCALE_WINDOW)) \
	$(if $(AUTOSCALE_TARGET_RPS),--target-rps $(AUTOSCALE_TARGET_RPS)) $(if $(AUTOSCALE_DURATION),--duration $(AUTOSCALE_DURATION)) --log reports/autoscale/$$(date +%Y%m%d-%H%M%S).jsonl
STACKCTL_AUTOSCALE = mkdir -p reports/autoscale && PYTHONPATH=src $(PYTHON) -m stackctl.autoscale

.PHONY: seed
seed: ## load the product catalogue into an empty products database (make up does it too)
ifeq ($(STACK_RUNTIME),docker)
	$(COMPOSE) run --rm products-seed
else
	@$(STACKCTL) start products-seed
endif
