# ScaleShop: `make up` runs the stack, `make test` proves it. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Docker when an engine answers, else the native runtime; STACK_RUNTIME=native|docker overrides.
STACK_RUNTIME ?= $(shell docker info >/dev/null 2>&1 && echo docker || echo native)
PYTHON := .venv/bin/python
STACKCTL := $(PYTHON) -m stackctl
COMPOSE := docker compose

.PHONY: help bootstrap up down ps logs kill stop start clean test test-unit grep-logs footprint

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

test-unit: bootstrap ## the fast tests only (no stack)
	@.venv/bin/pytest tests/unit tests/static

footprint: ## memory (PSS) of every component of the native stack, and the total
	@$(STACKCTL) footprint
