"""Each runner against a real server: what it does on the wire, counted by the server."""

from __future__ import annotations

import pytest

from dbbench.config.settings import BenchmarkSettings, PoolSettings, Settings
from dbbench.runners import create_runner
from dbbench.scenarios.benchmark import settings_for_server
from dbbench.workload import Workload


def settings_for(server, query: str = "SELECT 1", **pool) -> Settings:
    plain = Settings(benchmark=BenchmarkSettings(query=query), pool=PoolSettings(**pool))
    return settings_for_server(plain, server)


class ConnectionIds(Workload):
    """The workload, run as ``SELECT CONNECTION_ID()``, noting which server connection ran it."""

    def __init__(self) -> None:
        super().__init__("SELECT CONNECTION_ID()")
        object.__setattr__(self, "seen", [])

    def run_on(self, connection) -> int:
        with connection.cursor() as cursor:
            cursor.execute(self.query)
            self.seen.append(cursor.fetchall()[0][0])
        return 1


def connections_opened_by(server, name: str, operations: int, **pool) -> int:
    """How many distinct server connections ran ``operations`` operations.

    Counted by connection id rather than by the server's ``Connections``
    status, which other clients (a container's health check) also move.
    """
    runner = create_runner(name, settings_for(server, **pool))
    runner.workload = workload = ConnectionIds()
    runner.open()
    try:
        for _ in range(operations):
            runner.run_once()
    finally:
        runner.close()
    assert len(workload.seen) == operations
    return len(set(workload.seen))


def test_raw_opens_one_connection_per_operation(server):
    assert connections_opened_by(server, "raw", 25) == 25


@pytest.mark.parametrize("name", ["pool", "async-pool"])
def test_pool_reuses_one_connection_for_sequential_operations(server, name):
    assert connections_opened_by(server, name, 25) == 1


@pytest.mark.parametrize("name", ["pool", "async-pool"])
def test_pool_with_pre_ping_and_recycle_still_reuses(server, name):
    assert connections_opened_by(server, name, 10, pool_pre_ping=True, pool_recycle_s=3600) == 1


def test_persistent_uses_a_single_connection(server):
    assert connections_opened_by(server, "persistent", 25) == 1


def test_raw_connection_is_closed_when_the_operation_returns(server):
    runner = create_runner("raw", settings_for(server))
    with server.connect() as watcher, watcher.cursor() as cursor:
        cursor.execute("SELECT CONNECTION_ID()")
        runner.run_once()
        # the raw connection said goodbye: the server no longer lists it
        cursor.execute(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID > %s",
            (cursor.fetchone()[0],),
        )
        assert cursor.fetchone()[0] == 0


def test_workload_fetches_every_row(server):
    with server.connect() as connection:
        with connection.cursor() as cursor:
            cursor.execute("CREATE TEMPORARY TABLE hundred (n INT)")
            cursor.executemany("INSERT INTO hundred VALUES (%s)", [(i,) for i in range(100)])
        assert Workload("SELECT n FROM hundred").run_on(connection) == 100


@pytest.mark.parametrize("name", ["raw", "pool", "persistent", "async-pool"])
def test_query_errors_raise_from_run_once(server, name):
    runner = create_runner(name, settings_for(server, query="SELEC 1"))
    runner.open()
    try:
        with pytest.raises(Exception, match="1064"):
            runner.run_once()
    finally:
        runner.close()
