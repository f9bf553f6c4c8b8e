"""``psycopg-pool``: psycopg 3's own pool, ``psycopg_pool.ConnectionPool``, shared by all workers.

The other pool Python users of PostgreSQL pick, beside SQLAlchemy's: a pool of
psycopg connections with worker threads of its own that open connections
ahead of demand and check idle ones.  It runs on PostgreSQL only, with
psycopg's connection arguments (``drivers/psycopg_driver.py``, TLS included),
whatever ``--driver`` says: like ``async-pool``, it is not a per-driver runner.

One operation is what the pool's documentation calls the manual way,
``getconn()``, the query and its fetch, the reset, ``putconn()``: the same work
as the ``pool`` runner's checkout, query, fetch and SQLAlchemy's
rollback-on-checkin.  (``with pool.connection()`` would COMMIT at the end
instead, as its context manager does: one round trip either way, but not the
same one as the other runners'.)  The ``[pool]`` settings are mapped onto the
pool's own arguments, checked against psycopg_pool 3.3's ``ConnectionPool``:

* ``pool_size`` -> ``min_size``: the connections the pool keeps, which it opens
  at once when it opens (the runner's cold start waits for them, where
  SQLAlchemy's pool opens its connections as checkouts ask for them);
* ``pool_size + max_overflow`` -> ``max_size``: connections beyond ``min_size``
  are opened by the pool's workers when checkouts wait, and closed after
  ``max_idle`` (10 minutes) idle, not at the next checkin as QueuePool's
  overflow is; an unlimited overflow (``-1``) has no counterpart and is refused;
* ``pool_timeout`` -> ``timeout``; a checkout that gives up raises
  ``PoolTimeout``, counted as ``TimeoutError`` like QueuePool's;
* ``pool_recycle`` -> ``max_lifetime`` (the pool's own default is an hour,
  with jitter; ``pool_recycle`` off is no limit here, as in SQLAlchemy);
* ``pool_pre_ping`` -> ``check=ConnectionPool.check_connection``: an empty
  query at every checkout;
* ``pool_reset_on_return``: ``rollback`` and ``commit`` are done by the runner
  before ``putconn``, inside the timed operation; with ``none`` the pool
  itself rolls back a connection returned inside a transaction (it always
  does), so ``none`` is a rollback too, done by the pool;
* ``pool_use_lifo`` has no counterpart: the pool hands out its connections in
  turn; it is refused rather than ignored.

Its statistics (``get_stats()``) join the pool counters: connections made
(``connections_num``), closed (made minus those it holds), found broken
(``connections_lost`` and ``returns_bad``), checkouts that waited and how long
(``requests_queued``, ``requests_wait_ms``) and failed connects
(``connections_errors``); checkouts, checkins and the peak checked out are
counted by the runner around ``getconn`` and ``putconn``, as the SQLAlchemy
pool's events count them.

The pool logs a warning for every connection it rolls back or discards; a
``NullHandler`` on the ``psycopg.pool`` logger keeps those off the terminal
(Python's last-resort handler would print them between progress lines).
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from typing import Any

import sqlalchemy.exc

from dbbench.config.settings import DatabaseSettings, PoolSettings, Settings
from dbbench.drivers import get_driver
from dbbench.errors import ConfigError, mention
from dbbench.results.model import PoolCounters
from dbbench.runners.base import Runner
from dbbench.workload import Workload

logging.getLogger("psycopg.pool").addHandler(logging.NullHandler())

#: the runner's name, for its messages
NAME = "psycopg-pool"


class PsycopgPoolRunner(Runner):
    name = NAME
    operation = "getconn, query, fetch, rollback, putconn (psycopg_pool.ConnectionPool)"
    holds_pool = True
    uses_pool_settings = True
    per_driver = False  # psycopg's pool, psycopg's connections
    explained_as = None

    def __init__(
        self, database: DatabaseSettings, workload: Workload, pool: PoolSettings, **kwargs: Any
    ) -> None:
        _check_settings(database, pool)
        kwargs["driver"] = get_driver("psycopg")
        super().__init__(database, workload, **kwargs)
        self.pool_settings = pool
        # as every other runner's connect (Driver.connector): read-only sessions, and
        # transaction pooling's prepare_threshold=None
        self._connect_kwargs = self.driver.connection_kwargs(database)
        self._open_timeout_s = database.connect_timeout_s * max(1, pool.pool_size)
        self._pool: Any = None
        self._lock = threading.Lock()
        self._checkouts = self._checkins = self._out = self._peak = 0

    @classmethod
    def _sections(cls, settings: Settings) -> tuple[Any, ...]:
        return (settings.pool,)

    @classmethod
    def check_available(cls, where: str) -> None:
        try:
            import psycopg_pool  # noqa: F401
        except ImportError as exc:
            raise ConfigError(
                f"{where}: the {NAME} runner needs the psycopg-pool package, which is not "
                f"installed ({exc}); pip install 'dbbench[postgresql]'"
            ) from None

    def open(self) -> None:
        from psycopg_pool import ConnectionPool

        settings = self.pool_settings
        self._pool = ConnectionPool(
            "",
            kwargs=self._connect_kwargs,
            min_size=settings.pool_size,
            max_size=settings.pool_size + settings.max_overflow,
            timeout=settings.pool_timeout_s,
            max_lifetime=math.inf if settings.pool_recycle_s < 0 else settings.pool_recycle_s,
            check=ConnectionPool.check_connection if settings.pool_pre_ping else None,
            name="dbbench",
            open=False,
        )
        self._pool.open(wait=True, timeout=self._open_timeout_s)

    def run_once(self, worker: int = 0) -> int:
        from psycopg_pool import PoolTimeout

        start = time.perf_counter_ns()
        try:
            connection = self._pool.getconn()
        except PoolTimeout as exc:  # counted with QueuePool's, by its name
            raise sqlalchemy.exc.TimeoutError(str(exc)) from None
        checkout_ns = time.perf_counter_ns() - start
        with self._lock:
            self._checkouts += 1
            self._out += 1
            self._peak = max(self._peak, self._out)
        try:
            self.workload.run_on(connection)
            self._reset(connection)
        except BaseException:
            # a failed query leaves its transaction aborted: roll it back here, or the
            # pool does so with a warning (a broken connection it discards itself)
            with contextlib.suppress(Exception):
                connection.rollback()
            self._put(connection)
            raise
        self._put(connection)
        return checkout_ns

    def _reset(self, connection: Any) -> None:
        reset = self.pool_settings.pool_reset_on_return
        if reset == "rollback":
            connection.rollback()
        elif reset == "commit":
            connection.commit()

    def _put(self, connection: Any) -> None:
        self._pool.putconn(connection)
        with self._lock:
            self._out -= 1
            self._checkins += 1

    def counters(self) -> PoolCounters | None:
        if self._pool is None:
            return None
        stats = self._pool.get_stats()
        made = stats.get("connections_num", 0)
        with self._lock:
            checkouts, checkins, peak = self._checkouts, self._checkins, self._peak
        return PoolCounters(
            connects=made,
            closes=max(0, made - stats.get("pool_size", 0)),
            checkouts=checkouts,
            checkins=checkins,
            invalidations=stats.get("connections_lost", 0) + stats.get("returns_bad", 0),
            peak_checked_out=peak,
            waits=stats.get("requests_queued", 0),
            wait_ms=stats.get("requests_wait_ms", 0),
            lost=stats.get("connections_lost", 0),
            connect_errors=stats.get("connections_errors", 0),
        )

    def connections_opened(self) -> int:
        return self._pool.get_stats().get("connections_num", 0) if self._pool else 0

    def connects_failed(self) -> int:
        return self._pool.get_stats().get("connections_errors", 0) if self._pool else 0

    def checked_out(self) -> int | None:
        with self._lock:
            return self._out if self._pool is not None else None

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()


def _check_settings(database: DatabaseSettings, pool: PoolSettings) -> None:
    """One line for settings psycopg_pool cannot follow."""
    dialect = database.dialect
    if dialect != "postgresql":
        raise ConfigError(
            f"the {NAME} runner is psycopg's pool and runs on PostgreSQL only, and "
            f"{mention('[database] dialect')} is {dialect!r}: use the pool runner for MySQL"
        )
    if pool.max_overflow >= 0 and pool.pool_size + pool.max_overflow < 1:
        raise ConfigError(
            f"{mention('[pool] pool_size')} + {mention('[pool] max_overflow')} = 0: the {NAME} "
            "runner's pool needs room for one connection at least"
        )
    if pool.max_overflow < 0:
        raise ConfigError(
            f"{mention('[pool] max_overflow')} = -1 (no limit): the {NAME} runner's pool needs "
            "a largest size (pool_size + max_overflow); give a number"
        )
    if pool.pool_use_lifo:
        raise ConfigError(
            f"{mention('[pool] pool_use_lifo')} = true: psycopg_pool hands out its connections "
            f"in turn and has no LIFO order; leave it off for the {NAME} runner"
        )
