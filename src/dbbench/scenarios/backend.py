"""What a run talks to besides its settings: the server, the runners, the clocks.

The library's entry points (``run_benchmark``, ``run_sweep``, ``explain``) take a
``Backend``; ``LIVE`` is the real one, its warnings on stderr.  Tests hand in
fakes (a ``FakeClock``, runners that cost fake nanoseconds, a server check that
always passes), the analogue of hyperfine's mock executor, instead of patching
module globals.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dbbench import databases
from dbbench.config.settings import DatabaseSettings, Pooler, Settings
from dbbench.runners import create_runner
from dbbench.server.local import refuses_connections
from dbbench.server.preflight import ServerInfo
from dbbench.workload import Workload

#: the ``[database]`` settings that name a server: which one, and who logs in to it
#: (``driver``, ``ssl_mode`` and the timeouts say how to talk to whichever it is)
NAMES_A_SERVER = ("host", "port", "unix_socket", "user", "password", "database")


def no_server_to_measure(settings: Settings) -> bool:
    """True on a machine with no server of its own: nothing names a server (no flag,
    environment variable, settings file or ``~/.my.cnf [client]`` gives a host, port,
    socket, user, password or database: ``NAMES_A_SERVER``) and nothing listens at the
    default address.  A command then measures a throwaway server; a server that was
    named and does not answer stays an error (a throwaway server would silently drop a
    user or password given for the real one).  A variant's file naming a server counts
    (``Settings.variants``)."""
    named = [settings.database, *(variant.database for variant in settings.variants)]
    if any(key in database.sources for database in named for key in NAMES_A_SERVER):
        return False
    return refuses_connections(settings.database.host, settings.database.port)


def warn_on_stderr(text: str) -> None:
    print(f"dbbench: warning: {text}", file=sys.stderr)


@dataclass(frozen=True)
class Backend:
    """The seams a run goes through.  The four that talk to the server (check_server,
    monitor, read_max_connections, scratch_table) default to the plug-in of the database's
    dialect (``dbbench.databases``): MySQL's SHOW GLOBAL STATUS or PostgreSQL's
    pg_stat_database, chosen there, never by the caller."""

    #: (database, workload or None) -> what the server said; raises when it cannot be used
    check_server: Callable[[DatabaseSettings, Workload | None], ServerInfo] = (
        databases.check_server
    )
    #: (label, settings) -> a runner, for the runs in this process
    create_runner: Callable[[str, Settings], Any] = create_runner
    #: database -> a monitor with start() and stop() -> ServerActivity
    monitor: Callable[[DatabaseSettings], Any] = databases.monitor
    #: pooler (``Settings.pooler``) -> a monitor with start() and stop() -> its summary
    pooler_monitor: Callable[[Pooler], Any] = databases.pooler_monitor
    #: database -> the server's max_connections, or None when it cannot be read
    read_max_connections: Callable[[DatabaseSettings], int | None] = (
        databases.read_max_connections
    )
    #: the harness's clock, in nanoseconds: operations are timed on it
    clock_ns: Callable[[], int] = time.perf_counter_ns
    #: wall-clock seconds, for a result's timestamps
    wall_clock_s: Callable[[], float] = time.time
    #: settings -> whether no server is named and none listens at the default address
    finds_no_server: Callable[[Settings], bool] = no_server_to_measure
    #: (database, table name) -> a write workload's table: create(), count_rows(), drop()
    scratch_table: Callable[[DatabaseSettings, str], Any] = databases.scratch_table
    #: database -> the rows of the data set dbbench prepare made there, for the built-in
    #: workloads on it; raises the one-line "no data set" when there is none
    read_data_set: Callable[[DatabaseSettings], int] = databases.read_data_set
    #: text -> None: what the user must hear now, not only in the result (a failing
    #: run's scratch table left behind, whose result may never be written)
    warn: Callable[[str], None] = warn_on_stderr


#: the real server, runners and clocks
LIVE = Backend()


def main() -> int:
    """``python -m dbbench.scenarios.backend``: exit 0 when ``dbbench run`` here, with no
    flags, would measure a throwaway server (``no_server_to_measure`` on the settings of
    this directory, environment and ``~/.my.cnf``), else 1.  ``scripts/ensure-mariadb
    --for-run`` asks it before installing a server for ``make run``."""
    from dbbench.config.settings import find_config_path, load_settings
    from dbbench.errors import DbbenchError

    try:
        settings = load_settings(find_config_path(None))
    except DbbenchError:  # dbbench run will say what is wrong; it needs no server for that
        return 1
    return 0 if no_server_to_measure(settings) else 1


if __name__ == "__main__":
    sys.exit(main())
