"""``raw``: a new connection (the runner's driver's) for every operation, as with no pool."""

from __future__ import annotations

import threading

from dbbench.runners.base import Runner


class RawRunner(Runner):
    name = "raw"
    operation = "connect, query, fetch, close"
    connects_per_operation = True
    is_baseline = True
    explained_as = "connect"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # a lock costs ~0.1 µs, nothing next to a connect
        self._lock = threading.Lock()
        self._connect_count = 0

    def run_once(self, worker: int = 0) -> None:
        # close() is inside the timing: a connection-per-query application
        # pays for it on every request, and leaving it out flatters this path.
        with self._lock:
            self._connect_count += 1
        connection = self._connect()
        try:
            self.workload.run_on(connection)
        finally:
            connection.close()

    def connections_opened(self) -> int:
        return self._connect_count
