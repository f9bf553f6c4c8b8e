"""``pool``: a SQLAlchemy ``QueuePool`` of the driver's connections, shared by all workers.

The pool belongs to a real engine of the driver's dialect (``mysql+pymysql``,
``mysql+mysqldb``, ``mysql+mysqlconnector``), so it behaves as in an
application: the dialect's ping for ``pool_pre_ping``, its rollback when a
connection is returned (``reset_on_return``), and its one-off initialisation
queries on the first physical connection, which land in the cold start.
"""

from __future__ import annotations

import functools
import time
from typing import Any

import sqlalchemy
from sqlalchemy.pool import NullPool, QueuePool

from dbbench.config.settings import DatabaseSettings, PoolSettings, Settings
from dbbench.runners.base import Runner
from dbbench.runners.poolstats import PoolCounters, PoolInstrument
from dbbench.workload import Workload


def checkout_run_checkin(engine: sqlalchemy.Engine, workload: Workload) -> int:
    """The pool runners' operation; returns the nanoseconds the checkout took."""
    start = time.perf_counter_ns()
    connection = engine.raw_connection()  # checkout
    checkout_ns = time.perf_counter_ns() - start
    try:
        workload.run_on(connection)
    except BaseException as exc:
        if not isinstance(exc, Exception):
            # Ctrl-C (or a task's cancellation) in the middle of a query: the
            # connection's state is unknown; discard it rather than let the
            # pool's reset trip over it
            connection.invalidate()
        connection.close()
        raise
    connection.close()  # checkin: back to the pool, not closed
    return checkout_ns


class PoolRunner(Runner):
    name = "pool"
    operation = "checkout, query, fetch, checkin"
    holds_pool = True
    uses_pool_settings = True
    swept = True
    explained_as = "checkout"

    def __init__(
        self, database: DatabaseSettings, workload: Workload, pool: PoolSettings, **driver: Any
    ) -> None:
        super().__init__(database, workload, **driver)
        self.pool_settings = pool
        self._engine: sqlalchemy.Engine | None = None
        self._instrument: PoolInstrument | None = None

    @classmethod
    def _sections(cls, settings: Settings) -> tuple[Any, ...]:
        return (settings.pool,)

    @property
    def engine(self) -> sqlalchemy.Engine | None:
        """The engine whose pool every operation checks out from, once open."""
        return self._engine

    @functools.cached_property
    def statement(self) -> sqlalchemy.TextClause:
        """The workload's query as the Core statement the layered runners (``core``,
        ``session``, their asyncio twins) execute: made once, on first use, as an
        application makes it once; SQLAlchemy caches its compilation."""
        return sqlalchemy.text(self.workload.query)

    def engine_arguments(self) -> dict[str, Any]:
        settings = self.pool_settings
        return {
            "poolclass": QueuePool,
            "pool_size": settings.pool_size,
            "max_overflow": settings.max_overflow,
            "pool_timeout": settings.pool_timeout_s,
            "pool_recycle": settings.pool_recycle_s,
            "pool_pre_ping": settings.pool_pre_ping,
            "pool_use_lifo": settings.pool_use_lifo,
            "pool_reset_on_return": settings.reset_on_return_argument,
        }

    def open(self) -> None:
        # creator= keeps the connection arguments exactly those of the raw
        # runner; the URL only selects the dialect that goes with the driver.
        self._engine = sqlalchemy.create_engine(
            self.driver.dialect_url,
            creator=self._connect,
            **self.engine_arguments(),
        )
        self._instrument = PoolInstrument(self._engine)

    def run_once(self, worker: int = 0) -> int:
        return checkout_run_checkin(self._engine, self.workload)

    def counters(self) -> PoolCounters | None:
        return self._instrument.snapshot() if self._instrument else None

    def connections_opened(self) -> int:
        # the pool's connect event fires for a connection made: the connects that failed
        # added, so that this counts attempts as every runner's does
        made = self._instrument.snapshot().connects if self._instrument else 0
        return made + self._connect.failed

    def checked_out(self) -> int | None:
        return self._instrument.checked_out if self._instrument else None

    def close(self) -> None:
        if self._engine is not None:
            engine, self._engine = self._engine, None
            engine.dispose()


class NullPoolRunner(PoolRunner):
    """``nullpool``: SQLAlchemy with ``NullPool``: a new connection per checkout, closed at checkin.

    Set beside ``raw`` it shows what SQLAlchemy's own machinery costs, apart
    from the connection.
    """

    name = "nullpool"
    operation = "connect via SQLAlchemy (NullPool), query, fetch, close"
    connects_per_operation = True
    resets_before_close = True
    holds_pool = False
    swept = False
    explained_as = None

    def engine_arguments(self) -> dict[str, Any]:
        settings = self.pool_settings
        return {
            "poolclass": NullPool,
            "pool_pre_ping": settings.pool_pre_ping,
            "pool_reset_on_return": settings.reset_on_return_argument,
        }
