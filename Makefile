# The two commands of the README's quick start, each installing what it needs:
#   make run    benchmark the server at 127.0.0.1:3306 (or as dbbench.toml says; with
#               neither, a throwaway one)
#   make test   the whole test suite, against throwaway servers it starts itself
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
ITERATIONS ?= 100

.PHONY: run test test-unit test-integration lint clean

# mysqlclient (in the test extra) compiles against the MariaDB client headers:
# ensure-client-headers installs them (apt) where pkg-config cannot find them
$(BIN)/dbbench: pyproject.toml
	scripts/ensure-client-headers
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $@

# with no server at 127.0.0.1:3306 and none configured, dbbench run measures a
# throwaway one: ensure-mariadb --for-run installs its binaries where that needs them
run: $(BIN)/dbbench
	DBBENCH_PYTHON=$(BIN)/python scripts/ensure-mariadb --for-run
	$(BIN)/dbbench run --iterations $(ITERATIONS)

# the whole suite: the unit tests first (no server; they fail fast), then the
# integration tests, two at a time (pytest-xdist), with their slowest printed
test: test-unit test-integration

test-unit: $(BIN)/dbbench
	$(BIN)/python -m pytest -q -m "not integration"

test-integration: $(BIN)/dbbench
	scripts/ensure-mariadb
	scripts/ensure-postgresql
	scripts/ensure-pgbouncer
	scripts/ensure-chromium
	$(BIN)/python -m pytest -q -m integration -n 2 --dist loadfile --durations=25

lint: $(BIN)/dbbench
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/cog --check --check-fail-msg='run: cog -r docs/reference/cli.md' docs/reference/cli.md
	$(BIN)/cog --check --check-fail-msg='run: cog -r docs/reference/configuration.md' docs/reference/configuration.md
	$(BIN)/python -m dbbench.config.docs | diff -u config.example.toml - \
		|| { echo 'run: python -m dbbench.config.docs > config.example.toml'; exit 1; }
	.ci/actionlint

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .ci/.cache
