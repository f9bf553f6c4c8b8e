"""PostgreSQL's "what the server saw" against the shared PostgreSQL (127.0.0.1:5432, trust,
user root, database test): ``sessions`` counts the connections a run opened once their
statistics are flushed, the client backends' peak is seen, the scratch table is created,
counted and dropped.  Other sessions share that server, so counts are at least, never
exactly, what these tests opened; nothing here is timed."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from dbbench import databases
from dbbench.config.settings import DatabaseSettings
from dbbench.databases.postgresql import PostgresScratchTable
from dbbench.databases.postgresql_status import PostgresStatusMonitor
from dbbench.databases.scratch import new_table_name
from dbbench.drivers import side

DATABASE = DatabaseSettings(
    host="127.0.0.1", port=5432, user="root", database="test", dialect="postgresql",
    driver="psycopg",
)
WAIT_TIMEOUT_S = 30.0


def pg_connect(database: DatabaseSettings, **options: Any) -> psycopg.Connection:
    """A psycopg connection to ``database`` (until pg-drivers' psycopg driver serves
    ``drivers.side``)."""
    return psycopg.connect(
        host=database.host,
        port=database.port,
        user=database.user,
        dbname=database.database,
        autocommit=options.get("autocommit", False),
    )


@pytest.fixture(autouse=True)
def side_channel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(side, "connect", pg_connect)
    monkeypatch.setattr(side, "errors", lambda database: (psycopg.Error, OSError))


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_TIMEOUT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def test_sessions_count_every_connection_opened_and_closed() -> None:
    opened = 12
    with PostgresStatusMonitor(DATABASE, interval_s=0.01) as monitor:
        connections = [pg_connect(DATABASE) for _ in range(opened)]
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
    # our closes are flushed (their backends ended) before the after-read ...
    assert activity.deltas["xact_commit"] >= opened
    # ... unless another client's backend began during the run and is still connected
    assert activity.stats_settled in (True, False)


def test_the_monitors_own_session_is_the_whole_delta_of_an_empty_run() -> None:
    # On a server others use, an empty window can still see their sessions: at least ours.
    with PostgresStatusMonitor(DATABASE) as monitor:
        pass
    activity = monitor.activity
    assert activity is not None and activity.complete
    assert activity.deltas["sessions"] >= activity.monitor_connections == 1


def test_max_connections_is_what_the_user_may_open() -> None:
    with pg_connect(DATABASE) as connection:
        maximum = int(connection.execute("SHOW max_connections").fetchone()[0])
    assert databases.read_max_connections(DATABASE) == maximum  # root is a superuser


def test_the_scratch_table_is_created_counted_and_dropped() -> None:
    table = databases.scratch_table(DATABASE, new_table_name())
    assert isinstance(table, PostgresScratchTable)
    table.create()
    try:
        assert table.created and table.schema == "public"
        with pg_connect(DATABASE, autocommit=True) as connection:
            for _ in range(3):
                connection.execute(databases.insert_statement(DATABASE, table.name))
            ids = connection.execute(
                f'SELECT connection_id FROM "{table.name}"'
            ).fetchall()
            pid = connection.execute("SELECT pg_backend_pid()").fetchone()[0]
        assert ids == [(pid,)] * 3
        assert table.count_rows() == 3
        # a second table of that name is refused, not reused
        again = databases.scratch_table(DATABASE, table.name)
        with pytest.raises(Exception, match="already exists"):
            again.create()
        assert not again.created
    finally:
        assert table.drop() is None
    assert not table.created
    with pg_connect(DATABASE) as connection:
        found = connection.execute("SELECT to_regclass(%s)", (table.name,)).fetchone()[0]
    assert found is None


def test_a_failed_drop_names_the_table_to_drop() -> None:
    table = databases.scratch_table(DATABASE, new_table_name())
    table.create()
    gone = dataclasses.replace(DATABASE, port=1)  # nothing listens there
    with pg_connect(DATABASE, autocommit=True) as connection:
        try:
            unreachable = PostgresScratchTable(gone, table.name, created=True, schema="public")
            note = unreachable.drop()
            assert note is not None
            assert f'DROP TABLE "test"."public"."{table.name}"' in note
        finally:
            connection.execute(f'DROP TABLE "{table.name}"')


class PsycopgForTheCheck:
    """What the server check asks of a driver (``connector``, ``timeout_kwargs``), psycopg's
    (until pg-drivers' driver is ``get_driver("psycopg")``)."""

    def connector(self, database: DatabaseSettings, **extra: Any) -> Callable[[], Any]:
        return lambda: pg_connect(database, **extra)

    def timeout_kwargs(self, read_s: float, write_s: float | None = None) -> dict[str, Any]:
        return {}


def check(query: str | None, **workload: Any) -> Any:
    from dbbench.databases.postgresql import check_server
    from dbbench.workload import Workload

    given = None if query is None else Workload(query=query, **workload)
    return check_server(DATABASE, given, driver=PsycopgForTheCheck())  # type: ignore[arg-type]


def test_the_check_names_the_server_postgresql() -> None:
    from dbbench.scenarios.summary import server_vendor

    info = check("SELECT 1")
    assert info.version.startswith("PostgreSQL 15.")
    assert server_vendor(info.version) == "PostgreSQL"
    assert check(None).version == info.version


def test_a_result_too_large_is_refused_after_reading_to_the_limit() -> None:
    from dbbench.errors import ConfigError

    limit = r"returns more than 100,000 rows .*stopped reading at 100,001 rows"
    with pytest.raises(ConfigError, match=limit):
        check("SELECT g FROM generate_series(1, 10000000) AS g")
    assert check("SELECT g FROM generate_series(1, 10000) AS g").version


def test_a_failing_query_is_one_line() -> None:
    from dbbench.errors import QueryError

    with pytest.raises(QueryError) as raised:
        check("SELECT * FROM no_such_table")
    assert "\n" not in str(raised.value) and "no_such_table" in str(raised.value)
