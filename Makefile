# fincore: `make run` brings the whole stack up with demo data; `make test` checks everything;
# `make fuzz` attacks the API with schemathesis for longer; `make bench` measures the ledger, the
# payment path and settlement; `make chaos` crashes it under load. All start from nothing: they
# create the virtualenv, start the services and the database (the benchmark databases of its own,
# the chaos run a PostgreSQL and a RabbitMQ of its own, never development's or the tests').

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed-requirements
METRICS_DIR := $(CURDIR)/var/prometheus
PYTEST_ARGS ?=
# `make bench PROFILE=1` (or BENCH_PROFILE=1 in the environment): py-spy flame graphs into bench/profiles/
PROFILE ?= $(BENCH_PROFILE)
BENCH := DJANGO_SETTINGS_MODULE=bench.settings BENCH_PROFILE=$(PROFILE)

.PHONY: run test test-clock-ahead services db lint check-migrations pytest fuzz bench bench-settlement bench-screening bench-matching chaos clean

$(INSTALLED): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	cp requirements.txt $@

## services: make sure PostgreSQL, RabbitMQ and Redis are up (installs them on Debian as root)
services:
	deploy/dev/services.sh

## db: create the development database and apply migrations
db: $(INSTALLED) services
	$(BIN)/python manage.py db_create
	$(BIN)/python manage.py migrate --no-input

## run: web (gunicorn), Celery workers and beat in the foreground, with demo data; Ctrl-C stops all
run: db
	$(BIN)/python manage.py demo_setup
	rm -rf $(METRICS_DIR) && mkdir -p $(METRICS_DIR)
	PROMETHEUS_MULTIPROC_DIR=$(METRICS_DIR) $(BIN)/honcho -f deploy/Procfile.dev -d . start

## test: the same set-up (and Debian's chromium for the admin's browser tests), then ruff, import-linter,
## migrations check and pytest on the real services
test: db
	deploy/dev/services.sh --test
	deploy/dev/browser.sh
	$(MAKE) --no-print-directory lint check-migrations pytest

## test-clock-ahead: the tests that travel in time or read the clock (marked time_sensitive at
## collection), with the clock of every test process CLOCK_OFFSET_DAYS ahead: no test may depend on
## today's date. CI runs it after `make test`.
CLOCK_OFFSET_DAYS ?= 400
test-clock-ahead: $(INSTALLED)
	deploy/dev/services.sh --test
	FINCORE_TEST_CLOCK_OFFSET_DAYS=$(CLOCK_OFFSET_DAYS) $(BIN)/pytest -m time_sensitive $(PYTEST_ARGS)

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

check-migrations: $(INSTALLED)
	$(BIN)/python manage.py makemigrations --check --dry-run

pytest: $(INSTALLED)
	$(BIN)/pytest $(PYTEST_ARGS)

## fuzz: schemathesis against the API served by gunicorn, as `make test` does it (tests/contract)
## but long: FUZZ_EXAMPLES examples an operation (default 300), new ones each run, every boundary
## of every parameter too; FUZZ_SEED=<n> replays a run. A failure prints a curl command.
FUZZ_EXAMPLES ?= 300
FUZZ_SEED ?=
fuzz: $(INSTALLED)
	deploy/dev/services.sh --test
	CONTRACT_FUZZ=1 CONTRACT_EXAMPLES=$(FUZZ_EXAMPLES) CONTRACT_SEED=$(FUZZ_SEED) \
		$(BIN)/pytest tests/contract/test_schemathesis.py $(PYTEST_ARGS)

## bench: the ledger benchmark (bench/ledger.py), then the payments one (bench/payments.py: gunicorn and
## Celery workers it starts and stops itself), on a fresh database, Redis database and RabbitMQ vhost
## of their own, then settlement's (bench-settlement), then sanctions screening's (bench-screening);
## BENCH_QUICK=1 for a short run, BENCH_ONLY=<figures> for some, BENCH_BACKLOG_RUNS (5) runs of the
## payment latency figures (the backlog ratio must hold in each); PROFILE=1 (or BENCH_PROFILE=1) also writes
## py-spy flame graphs of the engine, the API and a payment into bench/profiles/ (bench/README.md)
bench: $(INSTALLED) services
	bench/tools.sh
	$(BENCH) $(BIN)/python -m bench.database
	$(BENCH) $(BIN)/python manage.py migrate --no-input -v 0
	$(BENCH) $(BIN)/python -m bench.ledger
	$(BENCH) $(BIN)/python -m bench.payments
	$(BENCH) $(BIN)/python -m bench.settlement
	$(BENCH) $(BIN)/python -m bench.screening
	$(BENCH) $(BIN)/python -m bench.reconciliation

## bench-settlement: settlement alone (bench/settlement.py): a business date of 1,000,000 captures of 1,000
## merchants in a database of its own (fincore_bench_settlement), settled by manage.py settlement_run on a
## copy per run, against PostgreSQL's GROUP BY over the same rows; BENCH_SETTLEMENT_REUSE=1 skips preparing
bench-settlement: $(INSTALLED) services
	bench/tools.sh
	$(BENCH) $(BIN)/python -m bench.settlement

## bench-screening: sanctions screening alone (bench/screening.py): one name against a 20,000-entry list
## (sdn.xml, read by the importer's parser) by our index, against rapidfuzz's process.extract over the same
## names; no database
bench-screening: $(INSTALLED)
	$(BENCH) $(BIN)/python -m bench.screening

## bench-matching: reconciliation's matching alone (bench/reconciliation.py): 100,000 statement lines against
## 100,000 expectations by matching_run with the default rules, beside PostgreSQL's join on (reference, amount)
## over the same rows, the same writes by raw SQL, and the least any durable matcher writes, in a database
## of its own (fincore_bench_matching, dropped after)
bench-matching: $(INSTALLED) services
	$(BENCH) $(BIN)/python -m bench.reconciliation

## chaos: payments and transfers through the API while PostgreSQL and RabbitMQ restart and workers and
## web processes are killed (tests/reliability/chaos.py), on a PostgreSQL cluster and RabbitMQ node it
## starts and removes itself; asserts every acknowledged payment final within 3 minutes, one payment
## per Idempotency-Key, each customer charged once, pending balance = captured, ledger_verify;
## CHAOS_SECONDS=90, CHAOS_FAULTS=... (python -m tests.reliability.chaos --help)
chaos: $(INSTALLED) services
	$(BIN)/python -m tests.reliability.chaos

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis
