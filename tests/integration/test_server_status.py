"""ServerStatusMonitor against a real server: what the server counted during a run."""

from __future__ import annotations

import dataclasses
import functools
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pymysql
import pytest
import sqlalchemy
from sqlalchemy.pool import QueuePool

from dbbench.config.settings import DatabaseSettings
from dbbench.drivers.pymysql_driver import pymysql_kwargs
from dbbench.errors import ConnectError
from dbbench.runners.poolstats import PoolInstrument
from dbbench.server.status import (
    STATUS_COUNTERS,
    ServerActivity,
    ServerStatusMonitor,
    read_max_connections,
)
from tests.integration import conftest
from tests.integration.conftest import database_for

WAIT_TIMEOUT_S = 10.0


@pytest.fixture(scope="module")
def quiet(server, local_server) -> Iterator[conftest.TestServer]:
    """A server no other client connects to, for exact ``Connections`` arithmetic.

    The session's own LocalServer is one; a shared server (DBBENCH_TEST_URL, a
    container with a health check) is not, so a private one is started then.
    """
    if server.local is not None:
        yield server
        return
    with local_server() as local:
        yield conftest.TestServer(**dataclasses.asdict(local.address), local=local)


def wait_until(condition: Callable[[], bool], what: str, poll_s: float = 0.005) -> None:
    """Poll ``condition`` instead of sleeping a fixed, hopefully long enough, time."""
    deadline = time.monotonic() + WAIT_TIMEOUT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(poll_s)


def wait_for_new_samples(monitor: ServerStatusMonitor, count: int) -> None:
    """Wait until ``count`` more samples are taken: with 2, one began after this call."""
    target = monitor.samples_taken + count
    wait_until(lambda: monitor.samples_taken >= target, f"{count} samples")


def connection_ids(connection) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT ID FROM information_schema.PROCESSLIST")
        return {int(row[0]) for row in cursor.fetchall()}


def kill_and_wait(admin, connection_id: int) -> None:
    """KILL returns before the killed thread is gone; wait until it is."""
    with admin.cursor() as cursor:
        cursor.execute(f"KILL {connection_id}")
    wait_until(lambda: connection_id not in connection_ids(admin), f"KILL {connection_id}")


def status_value(database: DatabaseSettings, name: str) -> int:
    connection = pymysql.connect(**pymysql_kwargs(database))
    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW GLOBAL STATUS LIKE %s", (name,))
            return int(cursor.fetchone()[1])
    finally:
        connection.close()


def make_engine(server, **pool) -> sqlalchemy.Engine:
    """An engine as ``runners/pool.py`` makes it."""
    return sqlalchemy.create_engine(
        "mysql+pymysql://",
        creator=functools.partial(pymysql.connect, **pymysql_kwargs(database_for(server))),
        poolclass=QueuePool,
        **pool,
    )


def run_pooled_load(engine: sqlalchemy.Engine, threads: int, sequential: int) -> None:
    """``threads`` connections checked out at the same moment, then ``sequential`` more."""
    together = threading.Barrier(threads, timeout=WAIT_TIMEOUT_S)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            connection = engine.raw_connection()
            try:
                together.wait()
            finally:
                connection.close()
        except BaseException as exc:
            errors.append(exc)
            together.abort()

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(WAIT_TIMEOUT_S)
    assert not errors, errors
    for _ in range(sequential):
        connection = engine.raw_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        connection.close()


# --- the cross-check ---------------------------------------------------------------


def test_connections_delta_is_the_pools_connects_plus_the_monitors(quiet):
    engine = make_engine(quiet, pool_size=1, max_overflow=2)
    instrument = PoolInstrument(engine)
    with ServerStatusMonitor(database_for(quiet), interval_s=0.02) as monitor:
        run_pooled_load(engine, threads=3, sequential=20)
        engine.dispose()
    activity = monitor.activity
    pool = instrument.snapshot()
    instrument.detach()

    assert activity is not None and activity.complete and activity.error is None
    # The arithmetic: inside the monitor's window the server counted
    #   3 pool connections (pool_size 1 + 2 overflow for the 3 simultaneous
    #     checkouts; the 20 sequential operations reuse the kept one)
    # + 1 monitor connection (its single connection for every read)
    # + 0 others (the test opens no other connection while the monitor runs).
    assert pool.connects == 3
    assert activity.monitor_connections == 1
    assert activity.deltas["Connections"] == pool.connects + activity.monitor_connections == 4
    assert set(activity.deltas) == set(STATUS_COUNTERS)
    assert activity.deltas["Aborted_connects"] == 0
    # Every connection was closed politely (pool checkin closes, dispose()).
    assert activity.deltas["Aborted_clients"] == 0
    # New threads: at most one per new connection (the thread cache may serve some).
    assert 0 <= activity.deltas["Threads_created"] <= 4
    assert activity.samples >= 2  # the reads before and after at least


def test_peak_threads_connected_sees_three_held_connections(server):
    database = database_for(server)
    with ServerStatusMonitor(database, interval_s=0.01) as monitor:
        held = [server.connect() for _ in range(3)]
        try:
            wait_for_new_samples(monitor, 2)  # so one sample ran while all 3 were open
        finally:
            for connection in held:
                connection.close()
    activity = monitor.activity
    assert activity is not None and activity.complete
    # 3 held + the monitor's own connection, which Threads_connected includes.
    assert activity.threads_connected_peak >= 3 + 1
    assert activity.threads_connected_before >= 1  # the monitor itself
    assert activity.samples >= 2 + 2  # before, after, and the 2 waited for


def test_max_connections_is_read(server):
    database = database_for(server)
    admin = server.connect()
    try:
        with admin.cursor() as cursor:
            cursor.execute("SELECT @@max_connections")
            expected = int(cursor.fetchone()[0])
    finally:
        admin.close()
    assert read_max_connections(database) == expected
    with ServerStatusMonitor(database) as monitor:
        pass
    assert monitor.activity.max_connections == expected
    if server.local is not None:
        assert expected == 200  # LocalServer's --max-connections


def test_stop_is_prompt_even_with_a_long_interval(server):
    monitor = ServerStatusMonitor(database_for(server), interval_s=30.0)
    monitor.start()
    started = time.monotonic()
    activity = monitor.stop()
    assert time.monotonic() - started < 2.0
    assert activity.complete
    assert activity.samples == 2  # before and after; the sampler never woke up


def test_the_lifecycle_is_checked(server):
    monitor = ServerStatusMonitor(database_for(server))
    assert monitor.activity is None
    with pytest.raises(RuntimeError):
        monitor.stop()
    monitor.start()
    with pytest.raises(RuntimeError):
        monitor.start()
    activity = monitor.stop()
    assert monitor.stop() is activity is monitor.activity
    assert activity.to_dict() == {
        "deltas": activity.deltas,
        "threads_connected_before": activity.threads_connected_before,
        "threads_connected_peak": activity.threads_connected_peak,
        "samples": activity.samples,
        "max_connections": activity.max_connections,
        "monitor_connections": 1,
        "complete": True,
        "error": None,
        "connection_memory": None,  # no memory reader given
    }
    with pytest.raises(ValueError):
        ServerStatusMonitor(database_for(server), interval_s=0)


def test_no_server_at_start_is_a_connect_error():
    with socket.socket() as probe:  # a port on which nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    database = DatabaseSettings(host="127.0.0.1", port=port, connect_timeout_s=2.0)
    with pytest.raises(ConnectError):
        ServerStatusMonitor(database).start()
    with pytest.raises(ConnectError):
        read_max_connections(database)


# --- a monitor that loses its connection ---------------------------------------------


def test_a_killed_monitor_connection_is_replaced_once(quiet):
    database = database_for(quiet)
    admin = quiet.connect()  # opened before the monitor: outside its Connections window
    try:
        before_ids = connection_ids(admin)
        monitor = ServerStatusMonitor(database, interval_s=0.01)
        monitor.start()
        (monitor_id,) = connection_ids(admin) - before_ids  # quiet: nobody else connects
        kill_and_wait(admin, monitor_id)
        wait_for_new_samples(monitor, 2)  # the second is certainly on a new connection
        activity = monitor.stop()
    finally:
        admin.close()
    assert not activity.complete
    assert "reading Threads_connected failed" in activity.error
    assert activity.monitor_connections == 2
    # The counters are continuous (no restart): the deltas are kept, and the
    # monitor's 2 connections are all the server counted.
    assert activity.deltas["Connections"] == activity.monitor_connections


def test_the_monitor_survives_a_server_restart(local_server):
    # Our own server: this one gets killed.  Its Uptime must be 3 s or more
    # first, or the restart could not be told apart by Uptime (whole seconds).
    with local_server(extra_args=["--max-connections=32"]) as own:
        database = database_for(own.address)
        wait_until(lambda: status_value(database, "Uptime") >= 3, "Uptime 3 s", poll_s=0.1)
        monitor = ServerStatusMonitor(database, interval_s=0.01)
        monitor.start()
        wait_for_new_samples(monitor, 1)
        own.kill()
        own.restart()
        activity = monitor.stop()  # must not raise
    assert isinstance(activity, ServerActivity)
    assert not activity.complete
    assert "the server restarted during the run" in activity.error
    assert activity.deltas == {}  # counters restarted at 0: no delta is meaningful
    assert activity.max_connections == 32
    assert activity.samples >= 1 + 1 + 1  # before, the one waited for, after
    assert activity.monitor_connections >= 2  # the first, and one after the restart
