"""What a PostgreSQL server saw during a run: ``pg_stat_database``'s counters for the run's
database, read before and after, and the client backends in ``pg_stat_activity``, sampled.

The MySQL monitor's life (``server.status.ServerStatusMonitor``: one connection of its own,
a sampling thread, one reconnect per failure, ``stop()`` never raising) is kept; what it
reads is PostgreSQL's:

* the deltas of ``xact_commit`` and ``xact_rollback`` and, on PostgreSQL 14 and later,
  ``sessions``, ``sessions_abandoned``, ``sessions_fatal`` and ``sessions_killed`` (older
  servers have no session counters: the cross-check then has nothing to compare);
* ``numbackends`` of the run's database before and after;
* the client backends of the whole server (``backend_type = 'client backend'``, the
  monitor's own included), before, every sample and after: their peak is what
  ``Threads_connected``'s is for MySQL, set against ``max_connections`` (with
  ``superuser_reserved_connections``, the slots an ordinary user cannot have).

When the statistics are there to read (PostgreSQL 15's cumulative statistics, measured
here against 15.20): a backend keeps its counts pending and flushes them to shared memory
when it goes idle, at most once a second (``PGSTAT_MIN_INTERVAL``; the first time as soon
as it first goes idle), and on exit.  A new session's ``sessions`` count is pending from
its start, so it reaches the counters at that first idle flush, before its first query is
answered: 50 connections opened and not yet used all show in ``sessions`` at once.  What a
short-lived backend did (``xact_commit``) may still be pending when the client has closed
it: the backend flushes at exit, after the client's close has returned (50 closes took
about 50 ms here to leave ``pg_stat_activity``).  A backend leaves ``pg_stat_activity``
only after that exit flush (``pgstat_shutdown_hook`` runs before the backend's entry is
cleared), so the after-read waits, up to ``SETTLE_S``, until no backend that began during
the run is left (the monitor's own excepted), then reads; when one is left (another
client's, still connected) the activity says its counters may lag (``stats_settled``
False).  Measured here: 30 connections, each closed with a transaction open, then read at
once, showed 19 to 27 of their 30 rollbacks in 4 tries of 5 (``sessions`` all 30 every
time); read after the wait, 30 of 30 every time, the wait taking 40 to 60 ms.  Each read
is its own transaction (autocommit), so ``stats_fetch_consistency``
(``cache`` by default: a snapshot per transaction) never shows an old snapshot, and no
``pg_stat_clear_snapshot()`` is needed.

The monitor's own session is counted before its first read (on PostgreSQL 15 it asks for
the flush with ``pg_stat_force_next_flush()`` first); the ``sessions`` baseline is moved
before it, so ``deltas["sessions"] == pool connects + monitor_connections + others``, as
``Connections`` is for MySQL.  A login the server refused is no session: a failed attempt
of the monitor's is not counted.

A server restart (``pg_postmaster_start_time()`` changed) or a reset of the statistics
(``stats_reset`` changed) makes the activity incomplete, with no deltas.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

from dbbench.config.settings import DatabaseSettings
from dbbench.drivers import side
from dbbench.drivers.diagnosis import connect_error
from dbbench.server.connection_memory import MemoryReader
from dbbench.server.status import ServerStatusMonitor

#: counters of every supported PostgreSQL whose change over the run is reported
COUNTERS = ("xact_commit", "xact_rollback")
#: PostgreSQL 14's session counters (``server_version_num`` 140000 and later)
SESSION_COUNTERS = ("sessions", "sessions_abandoned", "sessions_fatal", "sessions_killed")
SESSIONS_SINCE = 140000
#: ``pg_stat_force_next_flush()`` exists from PostgreSQL 15
FORCE_FLUSH_SINCE = 150000
#: longest wait, in seconds, for the run's backends to end (and flush) before the after-read
SETTLE_S = 2.0
_SETTLE_POLL_S = 0.02

_CLIENT_BACKENDS = "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
_UNSETTLED = (
    "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
    "AND pid <> pg_backend_pid() AND backend_start >= to_timestamp(%s / 1000000.0)"
)
_LIMITS = (
    "SELECT current_setting('max_connections')::int, "
    "current_setting('superuser_reserved_connections')::int, "
    "coalesce(current_setting('reserved_connections', true), '0')::int, "
    "coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false)"
)


@dataclass(frozen=True)
class PostgresActivity:
    """A PostgreSQL server's view of one run, read by a ``PostgresStatusMonitor``."""

    #: after - before of ``xact_commit``, ``xact_rollback`` and the session counters of
    #: the run's database; empty when unknown (see ``error``).  ``sessions`` includes the
    #: monitor's own sessions: subtract ``monitor_connections``
    deltas: dict[str, int]
    #: client backends of the whole server at the first read, the monitor's included
    backends_before: int
    #: the most client backends seen (before, every sample, after), the monitor's and
    #: other clients' included
    backends_peak: int
    #: how many times the client backends were counted, before and after included
    samples: int
    max_connections: int
    #: of max_connections, the slots only a superuser may take
    superuser_reserved_connections: int
    #: sessions of the monitor's that the server counted
    monitor_connections: int
    #: ``pg_stat_database.numbackends`` of the run's database, before and after
    numbackends_before: int
    numbackends_after: int | None
    #: True when the after-read came once every backend begun during the run had ended
    #: (its statistics flushed); False: the counters may not hold all of the run yet
    stats_settled: bool | None
    complete: bool = True
    error: str | None = None
    #: the memory of the run's backends at its peak (``databases.postgresql_memory``), or
    #: why it is not available; None when not read
    connection_memory: dict[str, Any] | None = None

    @property
    def new_connections(self) -> int | None:
        """The server's count of sessions begun during the run (the cross-check's)."""
        return self.deltas.get("sessions")

    @property
    def lag(self) -> str | None:
        if self.stats_settled is not False:
            return None
        return (
            "PostgreSQL's statistics may lag: backends begun during the run were still "
            f"connected {SETTLE_S:g} s after it, and a backend flushes its counts only when "
            "idle, at most once a second, and on exit"
        )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def read_limits(connection: Any) -> tuple[int, int, int, bool]:
    """``max_connections``, ``superuser_reserved_connections``, ``reserved_connections``
    (PostgreSQL 16; 0 before) and whether the current user is a superuser."""
    with connection.cursor() as cursor:
        cursor.execute(_LIMITS)
        maximum, superuser_reserved, reserved, superuser = cursor.fetchone()
    return int(maximum), int(superuser_reserved), int(reserved), bool(superuser)


def available_connections(
    maximum: int, superuser_reserved: int, reserved: int, superuser: bool
) -> int:
    """The connections the user may open: all for a superuser, else those not reserved."""
    return maximum if superuser else max(maximum - superuser_reserved - reserved, 0)


def read_max_connections(database: DatabaseSettings) -> int:
    """The connections ``database.user`` may open at once (``available_connections``), on a
    connection of its own (opened and closed)."""
    try:
        connection = side.connect(database, autocommit=True)
    except side.errors(database) as exc:
        raise connect_error(exc, database) from exc
    try:
        return available_connections(*read_limits(connection))
    except side.errors(database) as exc:
        raise connect_error(exc, database) from exc
    finally:
        connection.close()


def _scalar(connection: Any, sql: str, params: tuple[Any, ...] = ()) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql, params) if params else cursor.execute(sql)
        (value,) = cursor.fetchone()
    return value


class PostgresStatusMonitor(ServerStatusMonitor):
    """``ServerStatusMonitor`` reading ``pg_stat_database`` and ``pg_stat_activity``."""

    def __init__(
        self,
        database: DatabaseSettings,
        interval_s: float = 0.1,
        settle_s: float = SETTLE_S,
        memory: MemoryReader | None = None,
    ) -> None:
        super().__init__(database, interval_s, memory)
        self._gauge_name = "the client backends (pg_stat_activity)"
        self._settle_s = settle_s
        self._counters: tuple[str, ...] = COUNTERS
        self._superuser_reserved = 0
        #: the server's clock at the first read, microseconds since the epoch
        self._window_start_us = 0
        self._settled: bool | None = None

    def _open_window(self, connection: Any) -> tuple[dict[str, int], int]:
        version = int(_scalar(connection, "SELECT current_setting('server_version_num')"))
        if version >= SESSIONS_SINCE:
            self._counters = (*SESSION_COUNTERS, *COUNTERS)
        if version >= FORCE_FLUSH_SINCE:
            # flushed when this statement's transaction ends: the next read counts our session
            _scalar(connection, "SELECT pg_stat_force_next_flush()")
        before = self._read_counters_now(connection)
        maximum, self._superuser_reserved, _, _ = read_limits(connection)
        self._max_connections = maximum
        self._window_start_us = before.pop("now_us")
        if "sessions" in before:
            before["sessions"] -= 1  # the monitor's own, counted before this read
        return before, before["backends"]

    def _read_gauge(self, connection: Any) -> int:
        return int(_scalar(connection, _CLIENT_BACKENDS))

    def _read_counters(self, connection: Any) -> dict[str, int]:
        """Wait for the run's backends to end (``SETTLE_S`` at most), then read."""
        deadline = time.monotonic() + self._settle_s
        while True:
            left = int(_scalar(connection, _UNSETTLED, (self._window_start_us,)))
            if left == 0 or time.monotonic() >= deadline:
                break
            time.sleep(_SETTLE_POLL_S)
        self._settled = left == 0
        after = self._read_counters_now(connection)
        after.pop("now_us")
        return after

    def _read_counters_now(self, connection: Any) -> dict[str, int]:
        """The counters, numbackends, client backends, the server's start, the statistics'
        reset and clock (microseconds since the epoch), in one round trip."""
        columns = ", ".join(f"d.{name}" for name in self._counters)
        sql = (
            f"SELECT {columns}, d.numbackends, ({_CLIENT_BACKENDS}), "
            "(extract(epoch FROM pg_postmaster_start_time()) * 1000000)::bigint, "
            "coalesce((extract(epoch FROM d.stats_reset) * 1000000)::bigint, 0), "
            "(extract(epoch FROM now()) * 1000000)::bigint "
            "FROM pg_stat_database d WHERE d.datname = current_database()"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql)
            row = cursor.fetchone()
        if row is None:
            raise LookupError("pg_stat_database has no row for the current database")
        names = (*self._counters, "numbackends", "backends", "started_us", "reset_us", "now_us")
        return dict(zip(names, (int(value) for value in row), strict=True))

    def _counted_by_server(self, exc: BaseException) -> bool:
        return False  # a refused login never became a session

    def _build_activity(
        self, after: dict[str, int] | None, elapsed_s: float
    ) -> PostgresActivity:
        before = self._before
        deltas: dict[str, int] = {}
        if after is not None:
            self._samples.add(after["backends"])
            if after["started_us"] != before["started_us"]:
                self._note_error(
                    "the server restarted during the run (pg_postmaster_start_time() changed): "
                    "its counters restarted"
                )
            elif after["reset_us"] != before["reset_us"]:
                self._note_error(
                    "the statistics were reset during the run (pg_stat_database.stats_reset "
                    "changed): their counters restarted"
                )
            else:
                deltas = {name: after[name] - before[name] for name in self._counters}
        with self._samples.lock:
            samples, peak = self._samples.count, self._samples.peak
        return PostgresActivity(
            deltas=deltas,
            backends_before=before["backends"],
            backends_peak=peak,
            samples=samples,
            max_connections=self._max_connections,
            superuser_reserved_connections=self._superuser_reserved,
            monitor_connections=self._monitor_connections,
            numbackends_before=before["numbackends"],
            numbackends_after=after["numbackends"] if after is not None else None,
            stats_settled=self._settled if after is not None else None,
            complete=not self._errors,
            error="; ".join(self._errors) or None,
            connection_memory=self._memory_dict(),
        )
