"""``persistent``: one PyMySQL connection opened once and reused: the lower bound."""

from __future__ import annotations

import pymysql

from dbbench.runners.base import Runner


class PersistentRunner(Runner):
    name = "persistent"
    operation = "query, fetch (one connection reused)"

    _connection: pymysql.connections.Connection | None = None

    @property
    def connection(self) -> pymysql.connections.Connection | None:
        """The connection every operation reuses, once open."""
        return self._connection

    def open(self) -> None:
        self._connection = pymysql.connect(**self._connect_kwargs)

    def run_once(self) -> None:
        self.workload.run_on(self._connection)

    def close(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            connection.close()
