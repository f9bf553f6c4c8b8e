"""PostgreSQL's "what the server saw" on a fake server: pg_stat_database's deltas, the
client backends' peak, the cross-check of ``sessions`` against dbbench's connects, a
restart or a statistics reset making it incomplete, counters that may lag."""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import pytest

from dbbench import databases
from dbbench.config.settings import DatabaseSettings
from dbbench.databases import postgresql_status
from dbbench.databases.postgresql import PostgreSQL, PostgresScratchTable
from dbbench.databases.postgresql_status import (
    PostgresActivity,
    PostgresStatusMonitor,
    available_connections,
)
from dbbench.drivers import side
from dbbench.scenarios.benchmark import cross_check

DATABASE = DatabaseSettings(port=5432, database="test", dialect="postgresql", driver="psycopg")


class FakeError(Exception):
    pass


class FakeServer:
    """The numbers a PostgreSQL server would answer the monitor's queries with."""

    def __init__(self, version: int = 150020) -> None:
        self.version = version
        self.counters = {
            "sessions": 40,
            "sessions_abandoned": 0,
            "sessions_fatal": 0,
            "sessions_killed": 0,
            "xact_commit": 900,
            "xact_rollback": 3,
            "numbackends": 2,
        }
        self.backends = 3
        self.unsettled = 0
        self.started_us = 1_000
        self.reset_us = 0
        self.flushes = 0
        self.statements: list[str] = []

    def connect(self, database: DatabaseSettings, **_: Any) -> FakeConnection:
        self.counters["sessions"] += 1  # counted at its first idle flush, before any query
        self.backends += 1
        return FakeConnection(self)


class FakeConnection:
    def __init__(self, server: FakeServer) -> None:
        self.server = server

    def cursor(self) -> FakeCursor:
        return FakeCursor(self.server)

    def close(self) -> None:
        self.server.backends -= 1


class FakeCursor:
    def __init__(self, server: FakeServer) -> None:
        self.server, self.row = server, None

    def __enter__(self) -> FakeCursor:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        server = self.server
        server.statements.append(sql)
        if "server_version_num" in sql:
            self.row = (str(server.version),)
        elif "pg_stat_force_next_flush" in sql:
            server.flushes += 1
            self.row = ("",)
        elif "max_connections" in sql:
            self.row = (100, 3, 0, True)
        elif "pid <> pg_backend_pid()" in sql:
            self.row = (server.unsettled,)
        elif sql.startswith("SELECT d."):
            names = re.findall(r"\bd\.(\w+)", sql.split(" FROM pg_stat_database")[0])
            names = [name for name in names if name != "stats_reset"]
            self.row = (
                *(server.counters[name] for name in names),
                server.backends,
                server.started_us,
                server.reset_us,
                5_000_000,
            )
        elif sql.startswith("SELECT count(*) FROM pg_stat_activity"):
            self.row = (server.backends,)
        else:
            raise AssertionError(f"unexpected SQL {sql!r}")

    def fetchone(self) -> Any:
        return self.row


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> FakeServer:
    fake = FakeServer()
    monkeypatch.setattr(side, "connect", fake.connect)
    monkeypatch.setattr(side, "errors", lambda database: (FakeError, OSError))
    return fake


def watch(server: FakeServer, during: Any, **options: Any) -> PostgresActivity:
    monitor = PostgresStatusMonitor(DATABASE, interval_s=60.0, settle_s=0.0, **options)
    monitor.start()
    during(server)
    return monitor.stop()


def pool_of(size: int) -> Any:
    def run(server: FakeServer) -> None:
        connections = [server.connect(DATABASE) for _ in range(size)]
        server.counters["xact_commit"] += 7
        server.counters["xact_rollback"] += 1
        for connection in connections:
            connection.close()

    return run


def test_the_deltas_count_the_runs_sessions_and_the_monitors_own(server: FakeServer) -> None:
    activity = watch(server, pool_of(5))
    assert activity.deltas == {
        "sessions": 6,  # 5 of the pool's + the monitor's own
        "sessions_abandoned": 0,
        "sessions_fatal": 0,
        "sessions_killed": 0,
        "xact_commit": 7,
        "xact_rollback": 1,
    }
    assert activity.monitor_connections == 1
    assert activity.new_connections == 6
    assert (activity.backends_before, activity.max_connections) == (4, 100)
    assert activity.superuser_reserved_connections == 3
    assert (activity.numbackends_before, activity.numbackends_after) == (2, 2)
    assert activity.complete and activity.stats_settled and activity.lag is None
    assert server.flushes == 1  # PostgreSQL 15: its own session flushed before the baseline


def test_the_cross_check_compares_sessions_with_dbbench_s_connects(server: FakeServer) -> None:
    activity = watch(server, pool_of(5))
    records = [SimpleNamespace(runner="raw", connections_opened=5)]
    check = cross_check(activity, records)  # type: ignore[arg-type]
    assert check == {
        "server_connections": 6,
        "dbbench_connections": 6,
        "by_runner": {"raw": 5},
        "matches": True,
    }
    other = [SimpleNamespace(runner="raw", connections_opened=4)]
    assert not cross_check(activity, other)["matches"]  # type: ignore[arg-type]


def test_the_peak_is_the_most_client_backends_counted(server: FakeServer) -> None:
    monitor = PostgresStatusMonitor(DATABASE, interval_s=60.0, settle_s=0.0)
    monitor.start()
    held = [server.connect(DATABASE) for _ in range(9)]
    # the sampling thread's read, taken here by hand (no waiting on its interval)
    monitor._samples.add(monitor._read_gauge(monitor._connection))
    for connection in held:
        connection.close()
    activity = monitor.stop()
    assert (activity.backends_before, activity.backends_peak) == (4, 13)
    assert activity.samples == 3


def test_a_restart_makes_it_incomplete_without_deltas(server: FakeServer) -> None:
    def restart(server: FakeServer) -> None:
        server.started_us += 1
        server.counters["sessions"] = 1

    activity = watch(server, restart)
    assert activity.deltas == {} and not activity.complete
    assert "restarted during the run (pg_postmaster_start_time() changed)" in str(activity.error)
    assert activity.new_connections is None


def test_a_statistics_reset_makes_it_incomplete(server: FakeServer) -> None:
    def reset(server: FakeServer) -> None:
        server.reset_us = 4_000_000

    activity = watch(server, reset)
    assert activity.deltas == {} and not activity.complete
    assert "statistics were reset during the run" in str(activity.error)


def test_backends_still_there_say_the_counters_may_lag(server: FakeServer) -> None:
    def linger(server: FakeServer) -> None:
        server.unsettled = 2

    activity = watch(server, linger)
    assert activity.stats_settled is False
    assert activity.complete  # the counters are right as far as they go
    assert "PostgreSQL's statistics may lag" in str(activity.lag)


def test_the_after_read_waits_for_the_runs_backends_to_end(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # each wait lets one exiting backend finish
        waits.append(seconds)
        server.unsettled -= 1

    monkeypatch.setattr(postgresql_status.time, "sleep", sleep)
    monitor = PostgresStatusMonitor(DATABASE, interval_s=60.0, settle_s=3600.0)
    monitor.start()
    server.unsettled = 3
    activity = monitor.stop()
    assert len(waits) == 3 and activity.stats_settled is True


def test_before_postgresql_14_there_are_no_session_counters(server: FakeServer) -> None:
    server.version = 130011
    activity = watch(server, pool_of(2))
    assert activity.deltas == {"xact_commit": 7, "xact_rollback": 1}
    assert activity.new_connections is None
    assert server.flushes == 0  # pg_stat_force_next_flush() is PostgreSQL 15's


def test_the_result_keys_say_it_is_postgresql(server: FakeServer) -> None:
    keys = list(watch(server, pool_of(1)).to_dict())
    assert keys == [
        "deltas",
        "backends_before",
        "backends_peak",
        "samples",
        "max_connections",
        "superuser_reserved_connections",
        "monitor_connections",
        "numbackends_before",
        "numbackends_after",
        "stats_settled",
        "complete",
        "error",
        "connection_memory",
    ]


@pytest.mark.parametrize(
    ("superuser", "expected"), [(True, 100), (False, 97)], ids=["superuser", "ordinary user"]
)
def test_an_ordinary_user_cannot_have_the_reserved_slots(superuser: bool, expected: int) -> None:
    assert available_connections(100, 3, 0, superuser) == expected
    assert available_connections(100, 3, 5, False) == 92  # PostgreSQL 16's reserved_connections


def test_the_postgresql_plugin_is_chosen_by_the_dialect(server: FakeServer) -> None:
    plugin = databases.database_for(DATABASE)
    assert isinstance(plugin, PostgreSQL)
    assert isinstance(plugin.monitor(DATABASE), PostgresStatusMonitor)
    table = plugin.scratch_table(DATABASE, "dbbench_scratch_0123abcd")
    assert isinstance(table, PostgresScratchTable)
    assert table.qualified_name == '"test"."public"."dbbench_scratch_0123abcd"'
    assert table.create_statement().startswith(
        'CREATE TABLE "dbbench_scratch_0123abcd" (id bigint GENERATED ALWAYS AS IDENTITY'
    )
    assert databases.insert_statement(DATABASE, "dbbench_scratch_0123abcd") == (
        'INSERT INTO "dbbench_scratch_0123abcd" (connection_id) VALUES (pg_backend_pid())'
    )
    with pytest.raises(ValueError, match="not a dbbench scratch table name"):
        plugin.insert_statement('x"; DROP TABLE users; --')
