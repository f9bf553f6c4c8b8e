"""``persistent``: one PyMySQL connection per worker, opened once and reused: the lower bound."""

from __future__ import annotations

import contextlib

import pymysql

from dbbench.runners.base import Runner

#: lost-connection errors: gone away, lost, server lost, timed out (MySQL), killed (MariaDB)
LOST = frozenset({2006, 2013, 2055, 4031, 1927})


class PersistentRunner(Runner):
    name = "persistent"
    operation = "query, fetch (one connection per worker, reused)"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        #: worker number -> its connection; each worker touches only its own entry
        self._connections: dict[int, pymysql.connections.Connection] = {}

    @property
    def connection(self) -> pymysql.connections.Connection | None:
        """Worker 0's connection, once it made its first operation."""
        return self._connections.get(0)

    def run_once(self, worker: int = 0) -> None:
        connection = self._connections.get(worker)
        if connection is None:
            # a worker's first operation connects: the cold start or warm-up
            connection = self._connections[worker] = pymysql.connect(**self._connect_kwargs)
        try:
            self.workload.run_on(connection)
        except (pymysql.err.OperationalError, pymysql.err.InterfaceError) as exc:
            if isinstance(exc, pymysql.err.OperationalError) and exc.args[0] not in LOST:
                raise
            # the connection is lost (server restarted, KILL, timeout): as an
            # application would, this worker reconnects on its next operation
            del self._connections[worker]
            with contextlib.suppress(Exception):
                connection.close()
            raise

    def connections_opened(self) -> int:
        return len(self._connections)

    def close(self) -> None:
        connections, self._connections = list(self._connections.values()), {}
        for connection in connections:
            connection.close()
