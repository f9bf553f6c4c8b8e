"""``raw``: a new connection (the runner's driver's) for every operation, as with no pool."""

from __future__ import annotations

from dbbench.runners.base import Runner


class RawRunner(Runner):
    name = "raw"
    operation = "connect, query, fetch, close"
    connects_per_operation = True
    is_baseline = True
    explained_as = "connect"

    def run_once(self, worker: int = 0) -> None:
        # close() is inside the timing: a connection-per-query application
        # pays for it on every request, and leaving it out flatters this path.
        connection = self._connect()
        try:
            self.workload.run_on(connection)
        finally:
            connection.close()

    def connections_opened(self) -> int:
        # attempts, those that failed too: the server may count one that failed (a login
        # it refused) as a connection of its own
        return self._connect.attempts
