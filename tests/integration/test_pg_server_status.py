"""PostgreSQL's "what the server saw" against the session's PostgreSQL (``postgresql_server``:
``DBBENCH_TEST_POSTGRESQL_URL``'s, such as the shared 127.0.0.1:5432, else a throwaway one):
``sessions`` counts the connections a run opened once their statistics are flushed, the
client backends' peak is seen, the scratch table is created, counted and dropped, a whole
run's cross-check matches.  Other clients may share that server, so counts are at least,
never exactly, what these tests opened; nothing here is timed."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from dbbench import databases
from dbbench.config.settings import BenchmarkSettings, DatabaseSettings, Settings
from dbbench.databases.postgresql import PostgresScratchTable, check_server
from dbbench.databases.postgresql_status import PostgresStatusMonitor
from dbbench.databases.scratch import new_table_name
from dbbench.drivers import side
from dbbench.errors import ConfigError, QueryError
from dbbench.scenarios.benchmark import run_benchmark
from dbbench.scenarios.summary import server_vendor
from dbbench.workload import Workload
from tests.integration.conftest import PostgreSQLTestServer, database_for

WAIT_TIMEOUT_S = 30.0


@pytest.fixture(scope="module")
def database(postgresql_server: PostgreSQLTestServer) -> DatabaseSettings:
    return dataclasses.replace(
        database_for(postgresql_server), dialect="postgresql", driver="psycopg"
    )


def pg_connect(database: DatabaseSettings, **options: Any) -> psycopg.Connection:
    """A connection with dbbench's psycopg driver, as the monitor's own are made."""
    return side.connect(database, autocommit=options.get("autocommit", False))


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_TIMEOUT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def test_sessions_count_every_connection_opened_and_closed(database: DatabaseSettings) -> None:
    opened = 12
    with PostgresStatusMonitor(database, interval_s=0.01) as monitor:
        connections = [pg_connect(database) for _ in range(opened)]
        for connection in connections:
            connection.execute("SELECT 1")
        target = monitor.samples_taken + 2  # a sample taken while all of them were open
        wait_until(lambda: monitor.samples_taken >= target, "two samples")
        for connection in connections:
            connection.close()
    activity = monitor.activity
    assert activity is not None and activity.complete, activity
    # every session of ours, and the monitor's own, whatever else connected meanwhile
    assert activity.deltas["sessions"] >= opened + activity.monitor_connections
    assert activity.monitor_connections == 1
    assert activity.backends_peak >= opened + 1
    assert activity.samples >= 4
    assert activity.max_connections >= activity.superuser_reserved_connections > 0
    # each closed its open transaction: a rollback its backend counts as it exits, after
    # the close returned; the after-read waited for those exits (the monitor never rolls
    # back, so these are ours)
    assert activity.deltas["xact_rollback"] >= opened


def test_an_empty_run_counts_at_least_the_monitors_session(database: DatabaseSettings) -> None:
    # On a server others use, an empty window can still see their sessions: at least ours.
    with PostgresStatusMonitor(database) as monitor:
        pass
    activity = monitor.activity
    assert activity is not None and activity.complete
    assert activity.deltas["sessions"] >= activity.monitor_connections == 1


def test_max_connections_is_what_the_user_may_open(database: DatabaseSettings) -> None:
    with pg_connect(database) as connection:
        maximum = int(connection.execute("SHOW max_connections").fetchone()[0])
    assert databases.read_max_connections(database) == maximum  # root is a superuser


def test_the_scratch_table_is_created_counted_and_dropped(database: DatabaseSettings) -> None:
    table = databases.scratch_table(database, new_table_name())
    assert isinstance(table, PostgresScratchTable)
    table.create()
    try:
        assert table.created and table.schema == "public"
        with pg_connect(database, autocommit=True) as connection:
            for _ in range(3):
                connection.execute(databases.insert_statement(database, table.name))
            ids = connection.execute(
                f'SELECT connection_id FROM "{table.name}"'
            ).fetchall()
            pid = connection.execute("SELECT pg_backend_pid()").fetchone()[0]
        assert ids == [(pid,)] * 3
        assert table.count_rows() == 3
        # a second table of that name is refused, not reused
        again = databases.scratch_table(database, table.name)
        with pytest.raises(Exception, match="already exists"):
            again.create()
        assert not again.created
    finally:
        assert table.drop() is None
    assert not table.created
    with pg_connect(database) as connection:
        found = connection.execute("SELECT to_regclass(%s)", (table.name,)).fetchone()[0]
    assert found is None


def test_a_failed_drop_names_the_table_to_drop(database: DatabaseSettings) -> None:
    table = databases.scratch_table(database, new_table_name())
    table.create()
    gone = dataclasses.replace(database, port=1)  # nothing listens there
    with pg_connect(database, autocommit=True) as connection:
        try:
            unreachable = PostgresScratchTable(gone, table.name, created=True, schema="public")
            note = unreachable.drop()
            assert note is not None
            assert f'DROP TABLE "test"."public"."{table.name}"' in note
        finally:
            connection.execute(f'DROP TABLE "{table.name}"')


def check(database: DatabaseSettings, query: str | None, **workload: Any) -> Any:
    given = None if query is None else Workload(query=query, **workload)
    return check_server(database, given)


def test_the_check_names_the_server_postgresql(database: DatabaseSettings) -> None:
    info = check(database, "SELECT 1")
    assert info.version.startswith("PostgreSQL 15.")
    assert server_vendor(info.version) == "PostgreSQL"
    assert check(database, None).version == info.version


def test_a_result_too_large_is_refused_at_the_limit(database: DatabaseSettings) -> None:
    limit = r"returns more than 100,000 rows .*stopped reading at 100,001 rows"
    with pytest.raises(ConfigError, match=limit):
        check(database, "SELECT g FROM generate_series(1, 10000000) AS g")
    assert check(database, "SELECT g FROM generate_series(1, 10000) AS g").version


def test_a_failing_query_is_one_line(database: DatabaseSettings) -> None:
    with pytest.raises(QueryError) as raised:
        check(database, "SELECT * FROM no_such_table")
    assert "\n" not in str(raised.value) and "no_such_table" in str(raised.value)


def test_a_runs_cross_check_matches_and_its_scratch_table_is_dropped(
    database: DatabaseSettings,
) -> None:
    settings = Settings(
        database=database,
        benchmark=BenchmarkSettings(workload="insert", iterations=30, warmup=4),
    )
    document = run_benchmark(settings, ["raw", "pool"], allow_writes=True).to_document()
    server, check = document["server"], document["server"]["cross_check"]
    assert server["complete"] and check["by_runner"]["raw"] >= 30
    # every connection dbbench opened is a session the server counted (others' too)
    assert server["deltas"]["sessions"] >= check["dbbench_connections"]
    assert document["scratch"]["dropped"] and document["scratch"]["rows"] == 2 * (30 + 1 + 4)
    assert document["environment"]["server_vendor"] == "PostgreSQL"
    with pg_connect(database) as connection:
        name = document["scratch"]["table"]
        assert connection.execute("SELECT to_regclass(%s)", (name,)).fetchone()[0] is None


def test_a_restart_mid_run_makes_it_incomplete(local_postgresql: Any) -> None:
    # a server of this test's own: this one is killed and started again
    with local_postgresql(extra_args=["-c", "max_connections=20"]) as own:
        database = dataclasses.replace(
            database_for(own.address), dialect="postgresql", driver="psycopg"
        )
        monitor = PostgresStatusMonitor(database, interval_s=0.01)
        monitor.start()
        target = monitor.samples_taken + 1
        wait_until(lambda: monitor.samples_taken >= target, "a sample")
        own.kill()
        own.restart()
        activity = monitor.stop()  # must not raise
    assert not activity.complete
    assert "the server restarted during the run" in str(activity.error)
    assert activity.deltas == {} and activity.new_connections is None
    assert activity.max_connections == 20
    assert activity.monitor_connections >= 2  # the first, and one after the restart
