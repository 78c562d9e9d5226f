# ScaleShop: `make up` runs the stack, `make test` proves it. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Docker when an engine answers, else the native runtime; STACK_RUNTIME=native|docker overrides.
STACK_RUNTIME ?= $(shell docker info >/dev/null 2>&1 && echo docker || echo native)
PYTHON := .venv/bin/python
STACKCTL := $(PYTHON) -m stackctl
# The `docker compose` plugin when present, else the standalone `docker-compose` (Debian's 1.29).
COMPOSE_BIN := $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose)
# The profile "lab" adds the control API with the Docker socket: development only (see docker-compose.yml).
COMPOSE := $(COMPOSE_BIN) --profile lab
# Only the plugin can wait for health itself; with 1.29, depends_on conditions gate the start order.
COMPOSE_WAIT := $(if $(filter docker-compose,$(COMPOSE_BIN)),,--wait)

.PHONY: help bootstrap up down ps logs kill stop start clean test test-chaos test-lab test-unit test-docker images grep-logs footprint

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

bootstrap: ## install missing Debian packages and the Python environment
	@bash scripts/bootstrap.sh

up: bootstrap ## start the whole topology and wait until every component is healthy
ifeq ($(STACK_RUNTIME),docker)
	@$(PYTHON) scripts/docker-images.py --engine docker
	$(COMPOSE) up -d $(COMPOSE_WAIT)
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
	@# A crash, not `docker kill` (an operator's stop, never restarted): every process but tini (PID 1)
	@# gets SIGKILL, the container ends with the server's status and its restart policy brings it back.
	$(COMPOSE) exec -T $(NAME) sh -c 'kill -9 -1'
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

test-restore: bootstrap ## the restore tests alone (orders and the products cluster to a timestamp; also in make test)
	@.venv/bin/pytest tests/restore

test-chaos: bootstrap ## only the chaos subset of make test (kill-queue, kill-worker) on its own isolated stack, floors asserted
	@.venv/bin/pytest tests/chaos

test-lab: bootstrap ## browser tests of the storefront and the lab + the control API (own isolated stack; screenshots in reports/ui/)
	@.venv/bin/pytest tests/lab

# Without the plugins of the live tiers (hypothesis and schemathesis: tests/contract; playwright: tests/lab;
# locust, base_url): loading them cost every run ~3 s of CPU before its first test.
test-unit: bootstrap ## the fast tests only (no stack)
	@.venv/bin/pytest -p no:hypothesispytest -p no:schemathesis -p no:playwright -p no:locust -p no:base_url \
		tests/unit tests/static

images: bootstrap ## build every image of docker-compose.yml from this repository (sizes: reports/docker/)
	@$(PYTHON) scripts/docker-images.py --engine $(or $(CONTAINER_ENGINE),docker) --report reports/docker/images.md

test-docker: bootstrap ## prove the Docker path: build every image, compose up under an engine (podman if no Docker), e2e through nginx
	@bash scripts/test-docker.sh

footprint: ## memory (PSS) of every component of the native stack, and the total
	@$(STACKCTL) footprint

# --- Load tests (Locust: behaviour, thresholds) and benchmarks (wrk: figures); see loadtests/ and bench/ ---
.PHONY: load load-ui bench bench-pooler reshard schema-change capacity
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

reshard: ## add the third orders shard online: move BUCKETS (21 of 64) of users to orders-db-2 under 10 orders/s, verify nothing lost (reports/reshard/)
	@$(DRILL).reshard --buckets $(or $(BUCKETS),21) $(if $(RATE),--rate $(RATE))

schema-change: ## zero-downtime schema change under load: order_items.quantity to bigint by expand, backfill, switch, contract (TO=integer walks back)
	@$(DRILL).schema_change --to $(or $(TO),bigint)

bench-pooler: ## 500 concurrent DB clients through pgbouncer vs direct to Postgres: errors, p99, server connections (reports/bench-pooler/)
	@BENCH_RUNTIME=native PYTHONPATH=src:. $(PYTHON) -m bench.pooler

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

# --- The edge (infra/nginx): balancing algorithm, the development CA, the balancing demo ---
.PHONY: lb lb-demo trust
ALGO ?= least-conn
EDGE_POOL = gateways_$(subst -,_,$(ALGO))

lb: ## switch the edge's balancing algorithm with a graceful reload: make lb ALGO=round-robin|weighted|least-conn|ip-hash|hash|random-two
ifeq ($(STACK_RUNTIME),docker)
	@case "$(ALGO)" in round-robin|weighted|least-conn|ip-hash|hash|random-two) ;; *) echo "unknown ALGO=$(ALGO)"; exit 2;; esac
	$(COMPOSE) exec -T nginx sh -c "echo 'default $(EDGE_POOL);' > /etc/nginx/runtime/lb.conf && nginx -s reload"
else
	@$(STACKCTL) lb $(ALGO)
endif

lb-demo: ## the same load under each balancing algorithm with one slow gateway: share, p50/p99, errors, a chart
ifeq ($(STACK_RUNTIME),docker)
	@BENCH_RUNTIME=docker PYTHONPATH=src:. $(PYTHON) -m bench.lb_demo
else
	@BENCH_RUNTIME=native PYTHONPATH=src:. $(PYTHON) -m bench.lb_demo
endif

trust: ## print how to trust the edge's development CA (https://localhost:8443)
ifeq ($(STACK_RUNTIME),docker)
	@echo "The development CA lives in the edge-tls volume. Copy it out, then trust it:"
	@echo "  $(COMPOSE) run --rm --no-deps --entrypoint cat edge-init /etc/nginx/tls/ca/rootCA.pem > scaleshop-dev-ca.pem"
	@echo "  curl --cacert scaleshop-dev-ca.pem https://localhost:8443/api/products"
	@echo "  system + browsers: mkdir -p ca && cp scaleshop-dev-ca.pem ca/rootCA.pem && CAROOT=ca mkcert -install"
else
	@$(STACKCTL) trust
endif

# --- High availability and disaster recovery (Patroni + etcd for products-db, pgBackRest for every database) ---
.PHONY: db-status failover failover-drill backup backup-info restore restore-cluster dr-drill
PATRONICTL := patronictl -c /etc/patroni/patroni.yml
DRILL := PYTHONPATH=src:. $(PYTHON) -m drills
ifeq ($(STACK_RUNTIME),docker)
IN_PATRONI := $(COMPOSE) exec products-db-1
IN_BACKUP := $(COMPOSE) exec backup
else
IN_PATRONI := $(STACKCTL) exec products-db-1 --
IN_BACKUP := $(STACKCTL) exec backup --
endif

db-status: ## products-db's Patroni cluster: which node is primary, replication state, lag, timeline
	@$(IN_PATRONI) $(PATRONICTL) list

failover: ## planned switchover of products-db to its replica (Patroni); the old primary becomes the replica
	@$(IN_PATRONI) $(PATRONICTL) switchover --force
	@$(IN_PATRONI) $(PATRONICTL) list

failover-drill: ## measure a failover of products-db under writes and reads: make failover-drill MODE=crash|stop|kill|switchover
	@$(DRILL).failover --mode $(or $(MODE),crash)

backup: ## take a backup of every database now (TYPE=full|incr, default incr; STANZA=orders for one)
	@$(IN_BACKUP) python -m backups.cli backup --type $(or $(TYPE),incr) $(STANZA)

backup-info: ## the pgBackRest repository: every database's backups and archived WAL
	@$(IN_BACKUP) pgbackrest info

restore: ## restore a database from backups + WAL: make restore SERVICE=orders|products|... [TARGET_TIME="2026-12-01 06:00:00+00"]
	@test -n "$(SERVICE)" || { echo "usage: make restore SERVICE=orders [TARGET_TIME=...]"; exit 2; }
ifeq ($(SERVICE),products)
	@$(MAKE) --no-print-directory restore-cluster
else ifeq ($(STACK_RUNTIME),docker)
	$(COMPOSE) stop $(SERVICE)-db
	$(COMPOSE) run --rm --no-deps backup python -m backups.cli restore $(SERVICE) $(RESTORE_TARGET)
	$(COMPOSE) start $(SERVICE)-db
else
	@$(STACKCTL) stop $(SERVICE)-db
	@$(IN_BACKUP) python -m backups.cli restore $(SERVICE) $(RESTORE_TARGET)
	@$(STACKCTL) start $(SERVICE)-db
endif

# products-db, a Patroni cluster, is restored as a new cluster (src/backups/cluster.py): both nodes
# stopped, the cluster's state removed from etcd, node 1 restored and recovered, then node 1 starts
# as the leader and node 2 re-clones from it.
RESTORE_TARGET = $(if $(TARGET_TIME),--target-time "$(TARGET_TIME)")
FORGET_CLUSTER = printf 'products-db\nYes I am aware\n' | $(PATRONICTL) remove products-db
restore-cluster:
ifeq ($(STACK_RUNTIME),docker)
	$(COMPOSE) stop products-db-2
	$(COMPOSE) stop products-db-1
	$(COMPOSE) run --rm --no-deps --entrypoint sh products-db-1 -c "$(FORGET_CLUSTER)"
	$(COMPOSE) run --rm --no-deps backup python -m backups.cli restore products $(RESTORE_TARGET)
	$(COMPOSE) start products-db-1
	$(COMPOSE) start products-db-2
else
	@$(STACKCTL) stop products-db-2
	@$(STACKCTL) stop products-db-1
	@$(IN_PATRONI) sh -c "$(FORGET_CLUSTER)"
	@$(IN_BACKUP) python -m backups.cli restore products $(RESTORE_TARGET)
	@$(STACKCTL) start products-db-1
	@$(STACKCTL) start products-db-2
endif

dr-drill: ## destroy the orders database under a stream of orders, restore it, report RPO and RTO (reports/dr/)
	@$(DRILL).dr

# --- Flags (chassis/flags.py): fault and feature flags, applied by running services without a restart ---
.PHONY: flag flags
# Natively the CLI talks to the stack's flag store itself; under Docker it runs inside the worker container.
ifeq ($(STACK_RUNTIME),docker)
FLAGCTL := $(COMPOSE) exec -T worker python -m chassis.flagctl
else
FLAGCTL = FLAGS_REDIS_URL=redis://$$($(STACKCTL) address $(FLAGS_STORE)):6379/0 PYTHONPATH=src $(PYTHON) -m chassis.flagctl
endif
FLAGS_STORE ?= queue-redis

flag: ## set a flag: make flag NAME=latency_ms@products-1 VALUE=300 (VALUE= empty: back to the default)
	@test -n "$(NAME)" || { echo "usage: make flag NAME=<flag>[@service|@replica] VALUE=<value>"; exit 2; }
	@$(FLAGCTL) $(if $(VALUE),set "$(NAME)" '$(VALUE)',clear "$(NAME)")

flags: ## every flag: type, default, what is set where (make flag NAME=... VALUE=... to change one)
	@$(FLAGCTL) list

# --- Deploys without downtime (stackctl/deploy.py, stackctl/bluegreen.py): see README "Shipping without downtime" ---
.PHONY: deploy
STRATEGY ?= rolling
deploy: ## ship a version: make deploy SERVICE=products VERSION=v2 STRATEGY=rolling|canary (SERVICE=gateway STRATEGY=blue-green|blue-green-rollback)
	@test -n "$(SERVICE)" -a -n "$(VERSION)" || { echo "usage: make deploy SERVICE=products VERSION=v2 STRATEGY=rolling|canary"; exit 2; }
ifeq ($(STACK_RUNTIME),docker)
	@echo "Under compose: README 'Shipping without downtime' gives the equivalent commands"; exit 2
else
	@mkdir -p reports/deploy && PYTHONPATH=src $(PYTHON) -m $(if $(filter blue-green%,$(STRATEGY)),stackctl.bluegreen \
	$(VERSION) $(if $(filter blue-green-rollback,$(STRATEGY)),--rollback),stackctl.deploy $(SERVICE) $(VERSION) \
	--strategy $(STRATEGY) $(if $(STEPS),--steps $(STEPS))) --log reports/deploy/$$(date +%Y%m%d-%H%M%S).jsonl
endif

# --- Chaos experiments (chaos/, Chaos Toolkit): the matrix against the running stack ---
.PHONY: chaos
chaos: ## the chaos matrix against the running stack, report under reports/chaos/: make chaos [EXPERIMENT=kill-queue]
	@CHAOS_RUNTIME=$(STACK_RUNTIME) PYTHONPATH=.:src $(PYTHON) -m chaos $(if $(EXPERIMENT),--experiment $(EXPERIMENT))
