"""``pool``: a SQLAlchemy ``QueuePool`` of PyMySQL connections.

The pool belongs to a real ``mysql+pymysql`` engine, so it behaves as in an
application: the dialect's ping for ``pool_pre_ping``, its rollback when a
connection is returned (``reset_on_return``), and its one-off initialisation
queries on the first physical connection, which land in the cold start.
"""

from __future__ import annotations

import functools

import pymysql
import sqlalchemy
from sqlalchemy.pool import QueuePool

from dbbench.runners.base import Runner
from dbbench.settings import DatabaseSettings, PoolSettings
from dbbench.workload import Workload


class PoolRunner(Runner):
    name = "pool"
    operation = "checkout, query, fetch, checkin"

    def __init__(self, database: DatabaseSettings, workload: Workload, pool: PoolSettings) -> None:
        super().__init__(database, workload)
        self.pool_settings = pool
        self._engine: sqlalchemy.Engine | None = None

    @property
    def engine(self) -> sqlalchemy.Engine | None:
        """The engine whose pool every operation checks out from, once open."""
        return self._engine

    def open(self) -> None:
        settings = self.pool_settings
        # creator= keeps the connection arguments exactly those of the raw
        # runner; the URL only selects the dialect.
        self._engine = sqlalchemy.create_engine(
            "mysql+pymysql://",
            creator=functools.partial(pymysql.connect, **self._connect_kwargs),
            poolclass=QueuePool,
            pool_size=settings.pool_size,
            max_overflow=settings.max_overflow,
            pool_timeout=settings.pool_timeout_s,
            pool_recycle=settings.pool_recycle_s,
            pool_pre_ping=settings.pool_pre_ping,
        )

    def run_once(self) -> None:
        connection = self._engine.raw_connection()  # checkout
        try:
            self.workload.run_on(connection)
        finally:
            connection.close()  # checkin: back to the pool, not closed

    def close(self) -> None:
        if self._engine is not None:
            engine, self._engine = self._engine, None
            engine.dispose()
