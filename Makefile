# Two commands do everything: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 5984
export PORT

.PHONY: run test install install-test node-deps field-app-deps browser-deps proxy-deps drill-deps drills clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

tests/node_modules/.installed: tests/package.json tests/package-lock.json
	cd tests && npm ci --no-audit --no-fund --loglevel=error
	touch $@

node-deps: tests/node_modules/.installed

## The field app's libraries (mobile_api/field_app/package.json), copied as they ship into the
## directory /app/ serves them from: no bundler, nothing to build.
FIELD_APP := mobile_api/field_app
$(FIELD_APP)/vendor/.installed: $(FIELD_APP)/package.json $(FIELD_APP)/package-lock.json
	cd $(FIELD_APP) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	rm -rf $(FIELD_APP)/vendor && mkdir -p $(FIELD_APP)/vendor/workbox
	cp $(FIELD_APP)/node_modules/vue/dist/vue.global.prod.js $(FIELD_APP)/node_modules/vant/lib/vant.min.js \
	   $(FIELD_APP)/node_modules/vant/lib/index.css $(FIELD_APP)/node_modules/pouchdb/dist/pouchdb.min.js \
	   $(FIELD_APP)/node_modules/tus-js-client/dist/tus.min.js $(FIELD_APP)/vendor/
	cp $(FIELD_APP)/node_modules/workbox-sw/build/workbox-sw.js \
	   $(FIELD_APP)/node_modules/workbox-*/build/workbox-*.prod.js $(FIELD_APP)/vendor/workbox/
	touch $@

field-app-deps: $(FIELD_APP)/vendor/.installed

## Debian's chromium (and a CJK font for readable screenshots) for tests/browser, when missing and root.
browser-deps:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null; \
	fi

## Debian's nginx for the test of docker/nginx/paicha.conf (tests/e2e/test_slow_clients.py), when missing and root.
proxy-deps:
	@if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing nginx for the reverse-proxy test"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null; \
	fi

## Debian's nginx and PostgreSQL 15 server binaries for the deployment drills, when missing and root.
drill-deps: proxy-deps
	@if [ ! -x /usr/lib/postgresql/15/bin/initdb ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing PostgreSQL 15 for the deployment drills"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 iproute2 >/dev/null; \
	fi

## The deployment drills (README "Deployment"): proxy, two web hosts, PostgreSQL primary and standby
## and the phones as separate hosts (network namespaces: root), DRILL_PHONES real PouchDB phones.
DRILL_PHONES ?= 100
drills: install node-deps drill-deps
	PAICHA_DRILLS=1 PAICHA_DRILL_PHONES=$(DRILL_PHONES) PYTHONDONTWRITEBYTECODE= $(PY) -m pytest -p no:cacheprovider \
	  -q -s --durations=0 tests/drills $(PYTEST_ARGS)

## Serve the demo district on 127.0.0.1:$(PORT) (SQLite unless DATABASE_URL says otherwise).
run: install field-app-deps
	PAICHA_DEMO=$${PAICHA_DEMO-1} $(PY) -m server serve --host $${HOST:-127.0.0.1} --port $(PORT)

## Install everything the tests need (Python, npm peers) and run the whole suite, TEST_WORKERS
## processes at once (most tests wait on servers and phones; a file's tests stay in one process).
## Compiled bytecode is kept even where PYTHONDONTWRITEBYTECODE is set: otherwise each of the run's
## ~100 Python processes (test processes, servers) compiles again what it imports, and pytest
## rewrites and compiles every test module and its plugins again in each test process.
TEST_WORKERS ?= 4
test: install node-deps field-app-deps browser-deps proxy-deps
	PYTHONDONTWRITEBYTECODE= $(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

## Paicha vs pouchdb-server, side by side (bench/README.md); e.g. BENCH_ARGS="--store sqlite --quick".
.PHONY: bench
bench: install node-deps
	$(PY) bench/run.py $(BENCH_ARGS)

## The same two servers over a simulated 2G link (bench/README.md "Over a weak link"); e.g.
## WEAKLINK_ARGS="--store postgresql --runs 3".
.PHONY: bench-weaklink
bench-weaklink: install node-deps
	$(PY) -m bench.weaklink $(WEAKLINK_ARGS)

clean:
	rm -rf $(VENV) tests/node_modules instance $(FIELD_APP)/node_modules $(FIELD_APP)/vendor
