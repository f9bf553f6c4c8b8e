"""The runner interface: one way of getting a connection for an operation.

The harness drives every runner through the same three steps:

1. ``open()``: prepare (create the pool, open the persistent connection).
   The harness times ``open()`` together with the first operation and reports
   it as the runner's cold start, apart from the steady state.
2. ``run_once(worker)``: one whole operation -- get a connection, run the
   workload, give the connection back -- raising on failure.  The harness
   times it.  Several worker threads call it at once, each with its own
   ``worker`` number (0, 1, ...); a runner that reports how long getting a
   connection took returns that, in nanoseconds.
3. ``close()``: release everything; called even after a failure.

``counters()`` and ``checked_out()`` report what a pool did, for runners
that have one.
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar

from dbbench.poolstats import PoolCounters
from dbbench.settings import DatabaseSettings
from dbbench.workload import Workload


class Runner(abc.ABC):
    #: the name used on the command line and in results
    name: ClassVar[str]
    #: one line for ``--help`` and the README: what one operation includes
    operation: ClassVar[str]

    def __init__(self, database: DatabaseSettings, workload: Workload) -> None:
        self.workload = workload
        self._connect_kwargs: dict[str, Any] = database.connect_kwargs()

    def open(self) -> None:  # noqa: B027 - optional step, empty by default
        """Prepare before the first operation."""

    @abc.abstractmethod
    def run_once(self, worker: int = 0) -> int | None:
        """Run one whole operation; raise on failure.

        Returns the nanoseconds spent getting the connection (a pool's
        checkout), or None where that is not a separate step.
        """

    def close(self) -> None:  # noqa: B027 - optional step, empty by default
        """Release connections; must be safe to call after a failed ``open()``."""

    def connections_opened(self) -> int:
        """Physical connections this runner opened so far (to check against the server's count)."""
        return 0

    def counters(self) -> PoolCounters | None:
        """What the pool did so far, for runners with a pool."""
        return None

    def checked_out(self) -> int | None:
        """Pool connections checked out right now, for runners with a pool."""
        return None
