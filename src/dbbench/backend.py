"""What a run talks to besides its settings: the server, the runners, the clocks.

The library's entry points (``run_benchmark``, ``run_sweep``) take a
``Backend``; ``LIVE`` is the real one.  Tests hand in fakes (a ``FakeClock``,
runners that cost fake nanoseconds, a server check that always passes), the
analogue of hyperfine's mock executor, instead of patching module globals.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dbbench.preflight import ServerInfo, check_server
from dbbench.runners import create_runner
from dbbench.server_status import ServerStatusMonitor, read_max_connections
from dbbench.settings import DatabaseSettings, Settings
from dbbench.workload import Workload


@dataclass(frozen=True)
class Backend:
    #: (database, workload or None) -> what the server said; raises when it cannot be used
    check_server: Callable[[DatabaseSettings, Workload | None], ServerInfo] = check_server
    #: (label, settings) -> a runner, for the runs in this process
    create_runner: Callable[[str, Settings], Any] = create_runner
    #: database -> a monitor with start() and stop() -> ServerActivity
    monitor: Callable[[DatabaseSettings], Any] = ServerStatusMonitor
    #: database -> the server's max_connections, or None when it cannot be read
    read_max_connections: Callable[[DatabaseSettings], int | None] = read_max_connections
    #: the harness's clock, in nanoseconds: operations are timed on it
    clock_ns: Callable[[], int] = time.perf_counter_ns
    #: wall-clock seconds, for a result's timestamps
    wall_clock_s: Callable[[], float] = time.time


#: the real server, runners and clocks
LIVE = Backend()
