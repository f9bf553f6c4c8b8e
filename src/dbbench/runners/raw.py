"""``raw``: a new PyMySQL connection for every operation, as with no pool at all."""

from __future__ import annotations

import pymysql

from dbbench.runners.base import Runner


class RawRunner(Runner):
    name = "raw"
    operation = "connect, query, fetch, close"

    def run_once(self) -> None:
        # close() is inside the timing: a connection-per-query application
        # pays for it on every request, and leaving it out flatters this path.
        connection = pymysql.connect(**self._connect_kwargs)
        try:
            self.workload.run_on(connection)
        finally:
            connection.close()
