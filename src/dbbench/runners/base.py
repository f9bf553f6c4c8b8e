"""The runner interface: one way of getting a connection for an operation.

The harness drives every runner through the same three steps:

1. ``open()``: prepare (create the pool, open the persistent connection).
   The harness times ``open()`` together with the first operation and reports
   it as the runner's cold start, apart from the steady state.
2. ``run_once()``: one whole operation -- get a connection, run the workload,
   give the connection back -- raising on failure.  The harness times it.
3. ``close()``: release everything; called even after a failure.
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar

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
    def run_once(self) -> None:
        """Run one whole operation; raise on failure."""

    def close(self) -> None:  # noqa: B027 - optional step, empty by default
        """Release connections; must be safe to call after a failed ``open()``."""
