# Two commands matter: `make run` and `make test`. Everything else is set up on the way.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CATALOGS := $(wildcard grants/i18n/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGS:.po=.mo)

.PHONY: run test test-sqlite test-postgres bench e2e lint messages compile clean

$(STAMP): pyproject.toml tests/plugins/example-scoring-plugin/pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --config-settings editable_mode=compat -e '.[test]'
	$(BIN)/pip install --quiet -e tests/plugins/example-scoring-plugin
	touch $(STAMP)

grants/i18n/%/LC_MESSAGES/messages.mo: grants/i18n/%/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -d grants/i18n -l $* -i $< -o $@

compile: $(COMPILED)

run: $(STAMP) compile
	$(BIN)/grants demo
	$(BIN)/grants serve --host 127.0.0.1 --port 8000

test: $(STAMP) compile
	$(BIN)/python -m pytest -q

bench: $(STAMP) compile
	$(BIN)/python tests/bench/bench_scoring.py
	$(BIN)/python tests/bench/bench_assignment.py
	$(BIN)/python tests/bench/flow_cost.py --applicants 50
	$(BIN)/python tests/bench/bench_rush.py --backend both --applicants 500 --processes 2

e2e: $(STAMP) compile
	$(BIN)/python -m pytest -q -m e2e tests/e2e

lint: $(STAMP)
	$(BIN)/ruff check grants scoring tests

messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -o grants/i18n/messages.pot -k N_ --no-location --sort-output .
	for lang in fr ru; do $(BIN)/pybabel update -i grants/i18n/messages.pot -d grants/i18n -l $$lang --no-fuzzy-matching; done

clean:
	rm -rf $(VENV) var .pytest_cache
