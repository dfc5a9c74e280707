# Two commands for a new user: `make demo` and `make test`. Both build the virtualenv themselves.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test test-cluster test-unit test-django test-streams test-workers bench bench-replay bench-streams bench-worker soak lint up down clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[all,dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m deploy.shop.demo

# Multi-broker and broker-fault tests take minutes each: `make test-cluster`.
test: $(STAMP)
	$(PY) -m pytest -q -ra -m "not cluster"

# Three-broker clusters (replication, kill -9 of a broker): the tests marked `cluster`.
test-cluster: $(STAMP)
	$(PY) -m pytest -q -ra -m cluster tests/integration/cluster tests/reliability

test-unit: $(STAMP)
	$(PY) -m pytest -q tests/unit

# The Django producer: outbox, shop API (SQLite and PostgreSQL), relay crash tests.
test-django: $(STAMP)
	$(PY) -m pytest -q -ra tests/unit/producer_django tests/integration/producer_django tests/reliability/test_relay_crash.py tests/reliability/test_relay_broker_outage.py

# The faust stream apps: unit, integration (real broker) and kill -9 / rebalance / recovery.
test-streams: $(STAMP)
	$(PY) -m pytest -q -ra tests/unit/streams tests/integration/streams tests/reliability/test_streams_crash.py tests/reliability/test_streams_rebalance.py tests/reliability/test_streams_recovery.py

# The consumer-group workers: unit, integration (broker, registry, SQLite, SMTP) and
# kill -9 / SIGTERM / flaky-handler reliability tests.
test-workers: $(STAMP)
	$(PY) -m pytest -q -ra tests/unit/consumers tests/integration/consumers tests/reliability/test_worker_kill9.py tests/reliability/test_worker_retries.py tests/reliability/test_worker_sigterm.py

bench: $(STAMP)
	$(PY) -m benchmarks

# Replay vs kcat on 1M events (needs Debian's kcat: apt-get install -y kcat).
bench-replay: $(STAMP)
	$(PY) -m benchmarks.bench_replay

# Inventory table updates/s: faust vs a confluent-kafka consume(500) loop.
bench-streams: $(STAMP)
	$(PY) -m benchmarks.bench_streams

# Worker records/s vs a raw confluent-kafka consume(500)+decode loop; produce->mail p50/p99.
bench-worker: $(STAMP)
	$(PY) -m benchmarks.bench_worker

# The shop flow through the API at a steady rate on three secure brokers (10 min; not in bench).
soak: $(STAMP)
	$(PY) -m benchmarks.soak

lint: $(STAMP)
	$(VENV)/bin/ruff check .

up: $(STAMP)
	$(VENV)/bin/pipeline up

down: $(STAMP)
	$(VENV)/bin/pipeline down

clean:
	rm -rf $(VENV) .pytest_cache
