"""``--prepared`` against real servers, counted by the servers themselves: a prepared
statement lives on its connection, so ``raw@prepared`` prepares once per operation (each
a new connection), ``pool@prepared`` and ``persistent@prepared`` once per connection they
opened, a script's statements each once per connection; ``plain`` prepares nothing.

MariaDB counts the prepares in ``Com_stmt_prepare`` (the ``COM_STMT_PREPARE`` commands of
mysql-connector's prepared cursors), read globally around each run on a throwaway server
of the test's own, so that every prepare it counts is the run's.  PostgreSQL logs each
step of the extended protocol with ``log_min_duration_statement = 0``: psycopg's prepared
statements are named ``_pg3_N``, so each ``parse _pg3_N: QUERY`` line of the server's log
is one prepare of the query (the plain one is parsed ``<unnamed>``).  The query is one no
other part of the run sends (the monitor's, the checks'), so the count is of it alone.
"""

from __future__ import annotations

import dataclasses
import json
import re

import pymysql
import pytest

from tests.integration.conftest import PostgreSQLTestServer, TestServer, run_dbbench

pytestmark = pytest.mark.integration

QUERY = "SELECT 42 AS prepared_probe"
#: the run's counts: 20 measured operations and 3 of warm-up per runner, after the first
RUN = ("-n", "20", "--warmup", "3", "--concurrency", "2", "--format", "json")
OPERATIONS = 20 + 3 + 1  # the first one (the cold start) too


@pytest.fixture(scope="module")
def mariadb(local_server):
    """A MariaDB of this module's own: its global counters count its runs alone."""
    with local_server() as local:
        yield TestServer(**dataclasses.asdict(local.address), local=local)


@pytest.fixture(scope="module")
def postgresql(local_postgresql):
    """A PostgreSQL that logs every parse, bind and execute (and of nothing else)."""
    with local_postgresql(extra_args=["-c", "log_min_duration_statement=0"]) as local:
        yield PostgreSQLTestServer(**dataclasses.asdict(local.address), local=local), local


def _counts(server: TestServer) -> dict[str, int]:
    """The server's counts of the prepared statements' commands so far."""
    with pymysql.connect(
        host=server.host, port=server.port, user=server.user, password=server.password,
        ssl_disabled=True,
    ) as connection, connection.cursor() as cursor:  # fmt: skip
        cursor.execute("SHOW GLOBAL STATUS LIKE 'Com_stmt_%'")
        return {name.removeprefix("Com_stmt_"): int(value) for name, value in cursor.fetchall()}


def _prepares(server: TestServer) -> int:
    return _counts(server)["prepare"]


def _run(env: dict[str, str], *args: str) -> dict:
    done = run_dbbench("run", "--prepared", *RUN, *args, env=env, timeout_s=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _opened(document: dict, label: str) -> int:
    (found,) = [r for r in document["results"] if r["runner"] == label]
    return found["connections_opened"]


@pytest.mark.parametrize("runner", ["raw", "pool", "persistent"])
def test_mariadb_prepares_once_per_connection(mariadb, runner):
    before = _counts(mariadb)
    document = _run(
        mariadb.env(), "--driver", "mysql-connector", "--ssl-mode", "disabled",
        "--runner", runner, "--query", QUERY,
    )  # fmt: skip
    after = _counts(mariadb)
    prepared = after["prepare"] - before["prepare"]
    connections = _opened(document, f"{runner}@prepared")
    assert prepared == connections  # plain prepared nothing
    # every operation of prepared executed its statement, and mysql-connector sent a
    # COM_STMT_RESET before each execution: a round trip plain text does not make
    assert after["execute"] - before["execute"] == OPERATIONS
    assert after["reset"] - before["reset"] == OPERATIONS
    if runner == "raw":
        assert prepared == OPERATIONS  # a new connection, a new prepare, every operation
    else:
        assert 1 <= prepared <= 2  # each of the two workers' connections, once
    assert [v["database"] for v in document["settings"]["variants"]] == [
        {"prepared": False},
        {"prepared": True},
    ]


def test_a_script_prepares_each_statement_once_per_pooled_connection(mariadb, tmp_path):
    script = tmp_path / "two.sql"
    script.write_text("\\set id random(1, 100)\nSELECT :id + 1 AS a;\nSELECT 2 AS b;\n")
    before = _prepares(mariadb)
    document = _run(
        mariadb.env(), "--driver", "mysql-connector", "--ssl-mode", "disabled",
        "--runner", "raw,pool", "--script", str(script),
    )  # fmt: skip
    prepared = _prepares(mariadb) - before
    raw, pool = _opened(document, "raw@prepared"), _opened(document, "pool@prepared")
    assert raw == OPERATIONS
    assert prepared == 2 * (raw + pool)
    scripts = [r["scripts"] for r in document["results"] if r["runner"] == "pool@prepared"]
    assert scripts and all(s["statements"][0]["errors"] == 0 for s in scripts[0])


def _parses(log: str) -> int:
    return len(re.findall(rf"parse _pg3_\d+: {re.escape(QUERY)}$", log, re.MULTILINE))


@pytest.mark.parametrize(
    ("runner", "autocommit"),
    [("raw", False), ("persistent", False), ("pool", True), ("pool", False)],
)
def test_postgresql_prepares_once_per_connection_unless_it_rolls_back(
    postgresql, runner, autocommit
):
    server, local = postgresql
    before = _parses(local.error_log.read_text())
    given = ["--autocommit"] if autocommit else []
    document = _run(server.env(), "--runner", runner, "--query", QUERY, *given)
    prepared = _parses(local.error_log.read_text()) - before
    connections = _opened(document, f"{runner}@prepared")
    # plain prepared nothing, though psycopg's default would have on a query's fifth
    # execution on a connection (prepare_threshold=5): each worker ran it twelve times
    if runner == "raw":
        assert prepared == connections == OPERATIONS
    elif runner == "persistent" or autocommit:
        assert prepared == connections
        assert 1 <= prepared <= 2
    else:
        # the pool's reset on return rolls back at every checkin, and psycopg deallocates
        # all it prepared on a rollback: a prepare per operation, as raw
        assert prepared == OPERATIONS
        assert connections <= 2
        (note,) = [n for n in document["notes"] if "DEALLOCATE ALL" in n]
        assert note.startswith("variant prepared: psycopg deallocates every statement")


def test_a_driver_without_prepared_statements_is_refused_in_one_line(mariadb):
    done = run_dbbench("run", "--prepared", "--driver", "pymysql", env=mariadb.env())
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "dbbench: error: --prepared: driver pymysql has no server-side prepared statements; "
        "on MySQL, give --driver mysql-connector (the drivers that have them: "
        "mysql-connector, psycopg)"
    )
    assert done.stdout == ""
