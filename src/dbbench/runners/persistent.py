"""``persistent``: one connection per worker, opened once and reused: the lower bound."""

from __future__ import annotations

import contextlib
from typing import Any

from dbbench.drivers import is_lost
from dbbench.runners.base import Runner
from dbbench.scripts.run import StatementFailed


class PersistentRunner(Runner):
    name = "persistent"
    operation = "query, fetch (one connection per worker, reused)"
    holds_connection_per_worker = True
    explained_as = "reuse"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        #: worker number -> its connection; each worker touches only its own entry
        self._connections: dict[int, Any] = {}

    @property
    def connection(self) -> Any | None:
        """Worker 0's connection, once it made its first operation."""
        return self._connections.get(0)

    def run_once(self, worker: int = 0) -> None:
        connection = self._connections.get(worker)
        if connection is None:
            # a worker's first operation connects: the cold start or warm-up
            connection = self._connections[worker] = self._connect()
        try:
            self.workload.run_on(connection)
        except Exception as exc:
            # a script's failed statement carries the driver's error (``StatementFailed``)
            error = exc.error if isinstance(exc, StatementFailed) else exc
            if not isinstance(error, self.driver.errors) or not self._is_lost(error):
                raise
            # the connection is lost (server restarted, KILL, timeout): as an
            # application would, this worker reconnects on its next operation
            del self._connections[worker]
            with contextlib.suppress(Exception):
                connection.close()
            raise

    def _is_lost(self, exc: BaseException) -> bool:
        # lost, gone, killed or timed out, in any dialect's words (drivers.failures)
        return is_lost(exc)

    def connections_opened(self) -> int:
        # every connect: a worker's reconnect after a loss too, and those that failed
        return self._connect.attempts

    def close(self) -> None:
        connections, self._connections = list(self._connections.values()), {}
        for connection in connections:
            connection.close()
