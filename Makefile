# Two commands for a new user: `make demo` and `make test`. Both build the virtualenv themselves.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test test-unit test-django test-streams bench bench-replay bench-streams lint up down clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m deploy.demo

test: $(STAMP)
	$(PY) -m pytest -q -ra

test-unit: $(STAMP)
	$(PY) -m pytest -q tests/unit

# The Django producer: outbox, shop API (SQLite and PostgreSQL), relay crash tests.
test-django: $(STAMP)
	$(PY) -m pytest -q -ra tests/unit/producer_django tests/integration/producer_django tests/reliability/test_relay_crash.py tests/reliability/test_relay_broker_outage.py

# The faust stream apps: unit, integration (real broker) and kill -9 / rebalance / recovery.
test-streams: $(STAMP)
	$(PY) -m pytest -q -ra tests/unit/streams tests/integration/streams tests/reliability/test_streams_crash.py tests/reliability/test_streams_rebalance.py tests/reliability/test_streams_recovery.py

bench: $(STAMP)
	$(PY) -m benchmarks

# Replay vs kcat on 1M events (needs Debian's kcat: apt-get install -y kcat).
bench-replay: $(STAMP)
	$(PY) -m benchmarks.bench_replay

# Inventory table updates/s: faust vs a confluent-kafka consume(500) loop.
bench-streams: $(STAMP)
	$(PY) -m benchmarks.bench_streams

lint: $(STAMP)
	$(VENV)/bin/ruff check .

up: $(STAMP)
	$(VENV)/bin/pipeline up

down: $(STAMP)
	$(VENV)/bin/pipeline down

clean:
	rm -rf $(VENV) .pytest_cache
