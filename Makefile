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

# About 16 minutes on 2 cores (13.5 measured before bench_export, which adds 2-3). The rush, capacity, log-in and keep-alive benches
# append PASS/FAIL lines to the summary; one that fails lets the others run; the summary ends it.
bench: BENCH_SUMMARY := var/bench-summary.txt
bench: $(STAMP) compile
	@mkdir -p var && rm -f $(BENCH_SUMMARY) && uptime | sed 's/^/load before make bench: /' > $(BENCH_SUMMARY)
	$(BIN)/python tests/bench/bench_scoring.py
	$(BIN)/python tests/bench/bench_assignment.py
	$(BIN)/python tests/bench/bench_export.py --summary $(BENCH_SUMMARY) \
		|| echo "bench_export.py: exit status $$?" >> $(BENCH_SUMMARY)
	$(BIN)/python tests/bench/flow_cost.py --applicants 50
	$(BIN)/python tests/bench/bench_rush.py --backend both --applicants 500 --processes 2 \
		--summary $(BENCH_SUMMARY) || echo "bench_rush.py: exit status $$?" >> $(BENCH_SUMMARY)
	$(BIN)/python tests/bench/bench_capacity.py --backend sqlite --processes 2 --serve-mode reuseport \
		--rates 20 30 40 50 60 --summary $(BENCH_SUMMARY) \
		|| echo "bench_capacity.py: exit status $$?" >> $(BENCH_SUMMARY)
	$(BIN)/python tests/bench/bench_login.py --rates 5 10 20 30 40 --duration 40 \
		--summary $(BENCH_SUMMARY) || echo "bench_login.py: exit status $$?" >> $(BENCH_SUMMARY)
	$(BIN)/python tests/bench/keepalive_check.py --ways serve-1 serve workers-asyncio \
		--summary $(BENCH_SUMMARY) || echo "keepalive_check.py: exit status $$?" >> $(BENCH_SUMMARY)
	@echo; echo "== make bench: summary =="; cat $(BENCH_SUMMARY); ! grep -q "FAIL\|exit status" $(BENCH_SUMMARY)

e2e: $(STAMP) compile
	$(BIN)/python -m pytest -q -m e2e tests/e2e

# All three run, so one pass shows every finding; lint fails if any of them fails.
lint: $(STAMP)
	status=0; \
	$(BIN)/ruff check grants scoring tests || status=1; \
	$(BIN)/ruff format --check grants scoring tests || status=1; \
	$(BIN)/mypy || status=1; \
	exit $$status

messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -o grants/i18n/messages.pot -k N_ --no-location --sort-output .
	for lang in fr ru; do $(BIN)/pybabel update -i grants/i18n/messages.pot -d grants/i18n -l $$lang --no-fuzzy-matching --ignore-obsolete; done

clean:
	rm -rf $(VENV) var .pytest_cache
