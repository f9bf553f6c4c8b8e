"""``persistent``: one PyMySQL connection per worker, opened once and reused: the lower bound."""

from __future__ import annotations

import pymysql

from dbbench.runners.base import Runner


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
        self.workload.run_on(connection)

    def connections_opened(self) -> int:
        return len(self._connections)

    def close(self) -> None:
        connections, self._connections = list(self._connections.values()), {}
        for connection in connections:
            connection.close()
