"""The psycopg-pool runner against a real PostgreSQL (the session's, ``postgresql_server``):
its counts, its timeouts, a lost connection, workers sharing it; and async-pool's asyncpg
connections beside it.
"""

from __future__ import annotations

import threading

import psycopg
import pytest
import sqlalchemy.exc

from dbbench.config.settings import DatabaseSettings, PoolSettings
from dbbench.runners.async_pool import AsyncPoolRunner
from dbbench.runners.psycopg_pool import PsycopgPoolRunner
from dbbench.workload import Workload

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def database(postgresql_server) -> DatabaseSettings:
    return DatabaseSettings(
        dialect="postgresql",
        host=postgresql_server.host,
        port=postgresql_server.port,
        user=postgresql_server.user,
        password=postgresql_server.password,
        database=postgresql_server.database,
        driver="psycopg",
        ssl_mode="disabled",
    )


def runner(database: DatabaseSettings, **pool) -> PsycopgPoolRunner:
    return PsycopgPoolRunner(database, Workload("SELECT 1"), PoolSettings(**pool))


def _connect(database: DatabaseSettings) -> psycopg.Connection:
    return psycopg.connect(
        host=database.host, port=database.port, user=database.user,
        password=database.password or None, dbname=database.database, autocommit=True,
    )  # fmt: skip


def backend_pids(database: DatabaseSettings) -> set[int]:
    """The PIDs of the backends of the run's user other than this query's own."""
    with _connect(database) as connection:
        rows = connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = '' AND usename = %s "
            "AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
            (database.user,),
        ).fetchall()
    return {pid for (pid,) in rows}


def test_its_counts_are_exact(database) -> None:
    pooled = runner(database, pool_size=2, max_overflow=1)
    pooled.open()
    try:
        for _ in range(25):
            assert pooled.run_once() >= 0
        counters = pooled.counters()
    finally:
        pooled.close()
    assert (counters.connects, counters.closes) == (2, 0)  # min_size, opened at once
    assert (counters.checkouts, counters.checkins, counters.peak_checked_out) == (25, 25, 1)
    assert (counters.waits, counters.lost, counters.connect_errors) == (0, 0, 0)
    assert pooled.checked_out() is None  # closed


def test_a_checkout_that_waits_too_long_is_a_timeout_as_queuepool_s(database) -> None:
    pooled = runner(database, pool_size=1, max_overflow=0, pool_timeout_s=0.2)
    pooled.open()
    try:
        held = pooled._pool.getconn()  # the only connection, held by "another worker"
        try:
            with pytest.raises(sqlalchemy.exc.TimeoutError):
                pooled.run_once()
        finally:
            pooled._pool.putconn(held)
        pooled.run_once()
        counters = pooled.counters()
    finally:
        pooled.close()
    assert counters.waits == 1 and counters.wait_ms >= 0
    assert (counters.checkouts, counters.checkins) == (1, 1)  # the timed-out one is none


def test_pre_ping_replaces_a_connection_the_server_ended(database) -> None:
    before = backend_pids(database)
    pooled = runner(database, pool_size=1, max_overflow=0, pool_pre_ping=True)
    pooled.open()
    try:
        pooled.run_once()
        (mine,) = backend_pids(database) - before
        with _connect(database) as killer:
            killer.execute("SELECT pg_terminate_backend(%s)", (mine,))
        for _ in range(3):  # the check finds it broken; a new one is made for the checkout
            pooled.run_once()
        counters = pooled.counters()
    finally:
        pooled.close()
    assert counters.lost >= 1 and counters.invalidations >= 1
    assert counters.connects >= 2 and counters.checkouts == counters.checkins == 4


def test_workers_share_it(database) -> None:
    pooled = runner(database, pool_size=2, max_overflow=2)
    pooled.open()
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(30):
                pooled.run_once()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    try:
        threads = [threading.Thread(target=work) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        counters = pooled.counters()
    finally:
        pooled.close()
    assert errors == []
    assert counters.checkouts == counters.checkins == 120
    assert 1 <= counters.peak_checked_out <= 4 and counters.connects <= 4


def test_async_pool_runs_on_asyncpg(database) -> None:
    pooled = AsyncPoolRunner(database, Workload("SELECT 1"), PoolSettings(pool_size=2))
    pooled.open()
    try:
        for _ in range(20):
            pooled.run_once()
        counters = pooled.counters()
        dialect = (pooled.engine.dialect.name, pooled.engine.dialect.driver)
    finally:
        pooled.close()
    assert (counters.connects, counters.checkouts, counters.checkins) == (1, 20, 20)
    assert dialect == ("postgresql", "asyncpg")
