"""PoolInstrument against a real pool and server: every count is exact.

The engines are built the way ``runners/pool.py`` builds them: a
``mysql+pymysql`` URL, ``creator=functools.partial(pymysql.connect, ...)``,
``QueuePool``, used through ``engine.raw_connection()`` and ``.close()``.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections.abc import Callable, Iterator

import pymysql
import pytest
import sqlalchemy
from sqlalchemy.pool import QueuePool

from dbbench.drivers.pymysql_driver import pymysql_kwargs
from dbbench.runners.poolstats import PoolCounters, PoolInstrument
from tests.integration.conftest import database_for

#: Long enough for any test machine, short enough that a bug fails instead of hanging.
BARRIER_TIMEOUT_S = 10.0


@pytest.fixture
def instrumented(server) -> Iterator[Callable[..., tuple[sqlalchemy.Engine, PoolInstrument]]]:
    """Factory: an engine as PoolRunner makes it, with a PoolInstrument; both closed after."""
    made: list[tuple[sqlalchemy.Engine, PoolInstrument]] = []
    kwargs = pymysql_kwargs(database_for(server))

    def make(**pool) -> tuple[sqlalchemy.Engine, PoolInstrument]:
        engine = sqlalchemy.create_engine(
            "mysql+pymysql://",
            creator=functools.partial(pymysql.connect, **kwargs),
            poolclass=QueuePool,
            **pool,
        )
        instrument = PoolInstrument(engine)
        made.append((engine, instrument))
        return engine, instrument

    yield make
    for engine, instrument in made:
        instrument.detach()
        engine.dispose()


def counters(**values: int) -> PoolCounters:
    """PoolCounters with every field not given at 0."""
    return PoolCounters(**{**PoolCounters.ZERO.to_document(), **values})


def connection_id(connection) -> int:
    cursor = connection.cursor()
    try:
        cursor.execute("SELECT CONNECTION_ID()")
        return int(cursor.fetchone()[0])
    finally:
        cursor.close()


def hold_at_once(engine: sqlalchemy.Engine, threads: int, while_held: Callable[[], None]) -> None:
    """``threads`` threads each check out one connection; ``while_held`` runs while all are out.

    Two barriers make the overlap certain rather than likely: nobody checks in
    before everybody has checked out and ``while_held`` has looked.
    """
    all_out = threading.Barrier(threads + 1, timeout=BARRIER_TIMEOUT_S)
    looked = threading.Barrier(threads + 1, timeout=BARRIER_TIMEOUT_S)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            connection = engine.raw_connection()
            try:
                connection_id(connection)
                all_out.wait()
                looked.wait()
            finally:
                connection.close()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
            all_out.abort()
            looked.abort()

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in workers:
        thread.start()
    broken = False
    try:
        all_out.wait()
        while_held()
    except threading.BrokenBarrierError:
        broken = True
    finally:
        with contextlib.suppress(threading.BrokenBarrierError):
            looked.wait()
        for thread in workers:
            thread.join(BARRIER_TIMEOUT_S)
    assert not errors, errors
    assert not broken, "the workers never held their connections at the same time"


# --- PoolCounters (no server needed, but they belong with the instrument) ----------


def test_counters_add_field_by_field_and_round_trip_through_a_dict():
    a = PoolCounters(
        connects=1, closes=2, checkouts=3, checkins=4, invalidations=5, peak_checked_out=6
    )
    b = PoolCounters(
        connects=10, closes=20, checkouts=30, checkins=40, invalidations=50, peak_checked_out=60
    )
    assert a + b == PoolCounters(
        connects=11, closes=22, checkouts=33, checkins=44, invalidations=55, peak_checked_out=66
    )
    assert sum([a, b]) == a + b
    assert a + PoolCounters.ZERO == a
    assert PoolCounters.from_document(a.to_document()) == a
    assert a.to_document() == {
        "connects": 1,
        "closes": 2,
        "checkouts": 3,
        "checkins": 4,
        "invalidations": 5,
        "peak_checked_out": 6,
    }


@pytest.mark.parametrize(
    "bad",
    [
        {"connects": 1},
        {**PoolCounters.ZERO.to_document(), "resets": 1},
        {**PoolCounters.ZERO.to_document(), "closes": "2"},
        {**PoolCounters.ZERO.to_document(), "closes": True},
    ],
    ids=["missing", "unknown", "string", "bool"],
)
def test_counters_from_a_bad_dict_are_refused(bad):
    with pytest.raises(ValueError):
        PoolCounters.from_document(bad)


# --- the instrument on a real pool ------------------------------------------------


def test_sequential_checkouts_reuse_one_connection(instrumented):
    engine, instrument = instrumented(pool_size=5, max_overflow=10)
    for _ in range(20):
        connection = engine.raw_connection()
        assert instrument.checked_out == 1
        connection_id(connection)
        connection.close()
    assert instrument.checked_out == 0
    assert instrument.snapshot() == counters(
        connects=1, checkouts=20, checkins=20, peak_checked_out=1
    )


def test_overflow_connections_are_closed_at_checkin(instrumented):
    engine, instrument = instrumented(pool_size=1, max_overflow=2)
    seen_out: list[int] = []
    hold_at_once(engine, 3, lambda: seen_out.append(instrument.checked_out))
    assert seen_out == [3]
    # The pool keeps 1; the 2 overflow connections are closed as they come back:
    # that open-and-close per burst is the churn a user must see.
    assert instrument.snapshot() == counters(
        connects=3, closes=2, checkouts=3, checkins=3, peak_checked_out=3
    )
    assert engine.pool.checkedin() == 1


def test_reset_peak_forgets_the_warm_up(instrumented):
    engine, instrument = instrumented(pool_size=1, max_overflow=2)
    hold_at_once(engine, 3, lambda: None)
    held = engine.raw_connection()
    instrument.reset_peak()
    assert instrument.snapshot().peak_checked_out == 1
    held.close()
    assert instrument.snapshot().peak_checked_out == 1


def test_a_checkout_that_times_out_is_not_counted(instrumented):
    engine, instrument = instrumented(pool_size=1, max_overflow=0, pool_timeout=0.1)
    held = engine.raw_connection()
    before = instrument.snapshot()
    with pytest.raises(sqlalchemy.exc.TimeoutError):
        engine.raw_connection()
    assert instrument.snapshot() == before == counters(connects=1, checkouts=1, peak_checked_out=1)
    assert instrument.checked_out == 1
    held.close()
    assert instrument.checked_out == 0


def test_dispose_closes_the_idle_connections_only(instrumented):
    engine, instrument = instrumented(pool_size=3, max_overflow=0)
    connections = [engine.raw_connection() for _ in range(3)]
    held = connections.pop()
    for connection in connections:
        connection.close()
    old_pool = engine.pool
    engine.dispose()
    # The 2 idle connections are closed; the held one belongs to the old pool now.
    assert instrument.snapshot() == counters(
        connects=3, closes=2, checkouts=3, checkins=2, peak_checked_out=3
    )
    held.close()  # back into the old pool, which has room: checked in, not closed
    assert instrument.snapshot() == counters(
        connects=3, closes=2, checkouts=3, checkins=3, peak_checked_out=3
    )
    old_pool.dispose()  # only this closes it (else it stays open until garbage collection)
    assert instrument.snapshot().closes == 3
    # The new pool kept the listeners (Pool.recreate passes them on).
    engine.raw_connection().close()
    assert instrument.snapshot() == counters(
        connects=4, closes=3, checkouts=4, checkins=4, peak_checked_out=3
    )


def test_detach_stops_counting_on_the_new_pool_too(instrumented):
    engine, instrument = instrumented(pool_size=1, max_overflow=0)
    engine.raw_connection().close()
    engine.dispose()
    instrument.detach()
    instrument.detach()  # idempotent
    engine.raw_connection().close()
    engine.dispose()
    assert instrument.snapshot() == counters(
        connects=1, closes=1, checkouts=1, checkins=1, peak_checked_out=1
    )


def test_pool_recycle_replaces_an_old_connection_at_checkout(instrumented):
    engine, instrument = instrumented(pool_size=1, max_overflow=0, pool_recycle=0.05)
    connection = engine.raw_connection()
    first_id = connection_id(connection)
    connection.close()
    # Counted from here: a connection's age starts *before* its connect, and the
    # first connect (with the dialect's set-up queries) can itself outlast 0.05 s
    # on a busy machine, so that the very first checkout recycles already.
    before = instrument.snapshot()
    time.sleep(0.1)  # older than pool_recycle
    connection = engine.raw_connection()
    assert connection_id(connection) != first_id
    connection.close()
    after = instrument.snapshot()
    # Recycling is a close and a connect; it is not an invalidation.
    assert (
        after.connects - before.connects,
        after.closes - before.closes,
        after.invalidations - before.invalidations,
        after.checkouts - before.checkouts,
        after.checkins - before.checkins,
    ) == (1, 1, 0, 1, 1)
    assert after.peak_checked_out == 1


def test_pre_ping_replaces_a_killed_connection(server, instrumented):
    engine, instrument = instrumented(pool_size=1, max_overflow=0, pool_pre_ping=True)
    connection = engine.raw_connection()
    killed_id = connection_id(connection)
    connection.close()

    admin = server.connect()
    try:
        with admin.cursor() as cursor:
            cursor.execute(f"KILL {killed_id}")
            deadline = time.monotonic() + BARRIER_TIMEOUT_S
            while True:  # KILL returns before the server thread has gone
                cursor.execute(
                    "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = %s",
                    (killed_id,),
                )
                if cursor.fetchone()[0] == 0:
                    break
                assert time.monotonic() < deadline, f"connection {killed_id} survived KILL"
                time.sleep(0.01)
    finally:
        admin.close()

    connection = engine.raw_connection()  # the ping fails: invalidate, close, connect
    assert connection_id(connection) != killed_id
    connection.close()
    assert instrument.snapshot() == counters(
        connects=2, closes=1, checkouts=2, checkins=2, invalidations=1, peak_checked_out=1
    )
