"""What the server saw during a run: its own connection counters, read before and after.

The pool's events say what the client did; the server's ``SHOW GLOBAL
STATUS`` says what actually arrived.  The two should agree: a ``Connections``
delta far above the pool's connect count means something else opened
connections (or the pool churned in a way the events missed), and
``Threads_connected`` near ``max_connections`` explains refused connections.

The monitor does all its reading on ONE connection of its own, so that its
share of ``Connections`` is known (``monitor_connections``, normally 1) and a
cross-check can subtract it.  Its first read necessarily happens on that
connection, already counted; the ``Connections`` baseline is that value minus
one, so the window opens just before the monitor connected and
``deltas["Connections"] == pool connects + monitor_connections + others``.
(Only ``Connections`` is adjusted: whether our connection created a thread
depends on the server's thread cache.)
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any

from dbbench.config.schema import mentioned
from dbbench.config.settings import DatabaseSettings
from dbbench.drivers import error_code, side
from dbbench.drivers.diagnosis import connect_error, redact
from dbbench.errors import Mentioning
from dbbench.server.connection_memory import MEMORY_INTERVAL_S, ConnectionMemory

if TYPE_CHECKING:
    from dbbench.server.connection_memory import MemoryReader

#: Counters whose change over the run is reported (all only ever grow while the server runs).
STATUS_COUNTERS = ("Connections", "Threads_created", "Aborted_connects", "Aborted_clients")

_THREADS_CONNECTED = "Threads_connected"
_UPTIME = "Uptime"
_STATUS_NAMES = (*STATUS_COUNTERS, _THREADS_CONNECTED, _UPTIME)

#: Share of max_connections, in percent, from which connection_budget_warning speaks up.
BUDGET_WARNING_PERCENT = 80
#: Slack, in seconds, when comparing the server's Uptime (whole seconds) to our clock.
_UPTIME_SLACK_S = 2.0
#: Extra seconds stop() waits for the sampling thread beyond its read timeout.
_JOIN_MARGIN_S = 1.0
#: Driver error numbers below this come from the server: the attempt reached it and
#: counts in its Connections even though it failed (e.g. 1040 too many connections).
_CLIENT_ERROR_BASE = 2000


@dataclass(frozen=True)
class ServerActivity:
    """The server's view of one run, read by a ``ServerStatusMonitor``."""

    #: after - before for each name in STATUS_COUNTERS; empty when unknown (see ``error``).
    #: ``Connections`` includes the monitor's own connections: subtract ``monitor_connections``.
    deltas: dict[str, int]
    threads_connected_before: int
    #: highest Threads_connected seen (before, every sample, after); it includes the
    #: monitor's own connection, and other clients' connections too
    threads_connected_peak: int
    #: how many times Threads_connected was read, the before and after reads included
    samples: int
    max_connections: int
    #: connection attempts of the monitor that the server counted in ``Connections``
    monitor_connections: int
    #: False when a read failed, the server restarted, or sampling stopped early
    complete: bool = True
    #: what went wrong, in order ("; "-separated), when not complete
    error: str | None = None
    #: the memory of the run's connections at its peak (``server.connection_memory``:
    #: ``ConnectionMemory.to_dict()``), or why it is not available; None when not read
    connection_memory: dict[str, Any] | None = None

    @property
    def new_connections(self) -> int | None:
        """The server's count of connections made during the run (the cross-check's)."""
        return self.deltas.get("Connections")

    @property
    def lag(self) -> str | None:
        """Why the counters may not yet hold all of the run, if they may not: MySQL's
        status counters are never behind."""
        return None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class _Samples:
    """Mutable sampling state shared with the sampling thread (under ``lock``)."""

    count: int = 0
    peak: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, threads_connected: int) -> None:
        with self.lock:
            self.count += 1
            self.peak = max(self.peak, threads_connected)


class ServerStatusMonitor:
    """Context manager: reads SHOW GLOBAL STATUS before, samples Threads_connected every
    interval_s on its own connection in a daemon thread, reads again after.

    ``start()`` raises a ``DbbenchError`` if the server cannot be reached at
    all.  After that nothing raises: if the connection dies mid-run (a server
    restart, a KILL), the monitor reconnects once per failure or stops
    sampling, and ``stop()`` returns what it could read with ``complete=False``.

    Another server's monitor (``databases.postgresql_status``) keeps this life -- one
    connection, a sampling thread, one reconnect per failure -- and fills in the reads:
    ``_open_window``, ``_read_gauge``, ``_read_counters``, ``_build_activity``, and
    ``_counted_by_server``.

    ``memory`` (a ``server.connection_memory.MemoryReader``) reads the memory of the
    run's connections at the peak of the gauge, on the same connection, in the sampling
    thread (when: ``server.connection_memory``); a failure of its reads only makes
    the figure unavailable.
    """

    def __init__(
        self,
        database: DatabaseSettings,
        interval_s: float = 0.1,
        memory: MemoryReader | None = None,
    ) -> None:
        if not interval_s > 0:
            raise ValueError(f"interval_s must be greater than 0, got {interval_s!r}")
        self._database = database
        self._interval_s = interval_s
        # A read timeout, so that a hung server cannot keep stop() waiting forever.
        self._read_timeout_s = database.connect_timeout_s
        #: what the driver's connections raise when the server fails them (``drivers.side``)
        self._db_errors = side.errors(database)
        self._connection: Any = None
        #: the connected gauge's name in messages
        self._gauge_name = _THREADS_CONNECTED
        self._thread: threading.Thread | None = None
        self._stop_event = threading.Event()
        self._samples = _Samples()
        self._before: dict[str, int] = {}
        self._started_s = 0.0
        self._max_connections = 0
        self._monitor_connections = 0
        self._reconnected = False
        self._errors: list[str] = []
        self._activity: ServerActivity | None = None
        self._memory_reader = memory
        #: the last reading kept (at the highest gauge), or why there is none
        self._memory: ConnectionMemory | None = None
        self._memory_gauge = 0
        self._memory_read_s = 0.0

    # --- public -------------------------------------------------------------------

    @property
    def activity(self) -> ServerActivity | None:
        """The result of ``stop()``; None before."""
        return self._activity

    @property
    def samples_taken(self) -> int:
        """Threads_connected reads so far (lets a caller wait for a sample without sleeping)."""
        with self._samples.lock:
            return self._samples.count

    def start(self) -> None:
        if self._connection is not None or self._activity is not None:
            raise RuntimeError("the server status monitor was already started")
        try:
            self._connection = self._connect()
        except self._db_errors as exc:
            raise connect_error(exc, self._database) from exc
        self._started_s = time.monotonic()
        try:
            before, gauge = self._open_window(self._connection)
        except (*self._db_errors, LookupError) as exc:
            self._close_connection()
            raise connect_error(exc, self._database) from exc
        self._before = before
        self._samples.add(gauge)
        self._open_memory()
        self._thread = threading.Thread(
            target=self._sample_loop, name="dbbench-server-status", daemon=True
        )
        self._thread.start()

    def stop(self) -> ServerActivity:
        """Stop sampling, read the counters again, close the connection.  Never raises."""
        if self._activity is not None:
            return self._activity
        if self._thread is None:
            raise RuntimeError("the server status monitor was not started")
        self._stop_event.set()
        self._thread.join(self._read_timeout_s + self._interval_s + _JOIN_MARGIN_S)
        if self._thread.is_alive():
            # Still blocked in a read: the connection is the thread's; leave it to it.
            self._note_error("the sampling thread did not stop in time")
            after = None
        else:
            after = self._read_after()
            self._close_connection()
        self._activity = self._build_activity(after, time.monotonic() - self._started_s)
        return self._activity

    def __enter__(self) -> ServerStatusMonitor:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # --- what the server is asked (another server's monitor overrides these) ----------

    def _open_window(self, connection: Any) -> tuple[dict[str, int], int]:
        """The counters before the run and the connected gauge's first sample; sets
        ``_max_connections``."""
        before = _read_status(connection)
        self._max_connections = _read_max_connections(connection)
        # The monitor's own connection was counted just before this read; move the
        # baseline before it, so that deltas["Connections"] includes exactly
        # monitor_connections of the monitor's connections.
        before["Connections"] -= 1
        return before, before[_THREADS_CONNECTED]

    def _read_gauge(self, connection: Any) -> int:
        """One sample of the connections open on the server (Threads_connected)."""
        return _read_threads_connected(connection)

    def _read_counters(self, connection: Any) -> dict[str, int]:
        """The counters after the run (``_open_window``'s, read again)."""
        return _read_status(connection)

    def _counted_by_server(self, exc: BaseException) -> bool:
        """Whether a failed connection attempt of the monitor's reached the server's count."""
        code = error_code(exc)
        return code is not None and code < _CLIENT_ERROR_BASE

    # --- internals ----------------------------------------------------------------

    def _connect(self) -> Any:
        """One connection attempt with the run's driver, counted in monitor_connections if
        the server saw it."""
        try:
            connection = side.connect(
                self._database, read_timeout_s=self._read_timeout_s, autocommit=True
            )
        except self._db_errors as exc:
            if self._counted_by_server(exc):
                self._monitor_connections += 1
            raise
        self._monitor_connections += 1
        return connection

    def _reconnect(self) -> bool:
        """Replace a failed connection with a new one, once; False if that fails too."""
        self._close_connection()
        try:
            self._connection = self._connect()
        except self._db_errors as exc:
            self._note_error(f"reconnecting failed: {exc}")
            return False
        self._reconnected = True
        return True

    def _close_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.close()

    def _note_error(self, message: str) -> None:
        """Keep every error, in order: there are few (one reconnect per failure)."""
        self._errors.append(redact(message, self._database.password))

    def _sample_loop(self) -> None:
        """The sampling thread: one Threads_connected read every interval until stop()."""
        try:
            while not self._stop_event.wait(self._interval_s):
                if self._connection is None:
                    return
                try:
                    value = self._read_gauge(self._connection)
                except self._db_errors as exc:
                    self._note_error(f"reading {self._gauge_name} failed: {exc}")
                    if not self._reconnect():
                        return  # give up quietly; stop() tries once more for the after-read
                    continue
                self._samples.add(value)
                self._read_memory(value)
        except Exception as exc:  # never let the monitor take the run down
            self._note_error(f"the sampling thread failed: {exc!r}")

    def _open_memory(self) -> None:
        """Ask the memory reader whether it can read; keep why not when it cannot."""
        reader = self._memory_reader
        if reader is None:
            return
        try:
            reason = reader.open(self._connection)
        except (*self._db_errors, OSError, LookupError, TypeError, ValueError) as exc:
            reason = f"reading it failed: {redact(str(exc), self._database.password)}"
        if reason is not None:
            self._memory = ConnectionMemory(unavailable=reason)
            self._memory_reader = None

    def _read_memory(self, gauge: int) -> None:
        """Read the run's connections' memory at a new peak of ``gauge``, and at the same
        peak again after ``MEMORY_INTERVAL_S``; keep the reading at the highest peak that
        found the most of the run's connections, the latest of those."""
        reader = self._memory_reader
        now = time.monotonic()
        if reader is None or gauge < self._memory_gauge:
            return
        if gauge == self._memory_gauge and now - self._memory_read_s < MEMORY_INTERVAL_S:
            return
        try:
            sample = reader.read(self._connection)
        except (*self._db_errors, OSError, LookupError, TypeError, ValueError) as exc:
            reason = f"reading it failed: {redact(str(exc), self._database.password)}"
            self._memory = ConnectionMemory(unavailable=reason)
            self._memory_reader = None
            return
        kept = self._memory.connections if gauge == self._memory_gauge and self._memory else 0
        if sample.connections and sample.connections >= kept:
            self._memory = dataclasses.replace(sample, backends=gauge)
            self._memory_gauge, self._memory_read_s = gauge, now

    def _memory_dict(self) -> dict[str, Any] | None:
        """The reading kept for the activity, or why there is none; None without a reader."""
        if self._memory is not None:
            return self._memory.to_dict()
        if self._memory_reader is None:
            return None
        return ConnectionMemory(
            unavailable=(
                f"no reading found a connection of the run's open ({self._gauge_name} "
                f"sampled every {self._interval_s:g} s)"
            ),
        ).to_dict()

    def _read_after(self) -> dict[str, int] | None:
        """The final counters; one reconnect allowed if the connection is gone or fails."""
        if self._connection is not None:
            try:
                return self._read_counters(self._connection)
            except (*self._db_errors, LookupError) as exc:
                self._note_error(f"reading the status after the run failed: {exc}")
        if not self._reconnect():
            return None
        try:
            return self._read_counters(self._connection)
        except (*self._db_errors, LookupError) as exc:
            self._note_error(f"reading the status after the run failed: {exc}")
            return None

    def _build_activity(self, after: dict[str, int] | None, elapsed_s: float) -> ServerActivity:
        """Deltas only if the counters are continuous.

        A restart resets them, and always breaks our connection, so it is looked
        for only after a reconnect: the server's Uptime (whole seconds) must have
        grown as much as our clock, and no counter may have gone down.  A
        restart within about 2 s of the server's previous start can pass both
        tests; the run is then still marked incomplete by the broken connection.
        """
        before = self._before
        deltas: dict[str, int] = {}
        if after is not None:
            self._samples.add(after[_THREADS_CONNECTED])
            uptime_gain_s = after[_UPTIME] - before[_UPTIME]
            candidate = {name: after[name] - before[name] for name in STATUS_COUNTERS}
            restarted = uptime_gain_s < elapsed_s - _UPTIME_SLACK_S or min(candidate.values()) < 0
            if self._reconnected and restarted:
                self._note_error(
                    f"the server restarted during the run (Uptime {before[_UPTIME]} s before, "
                    f"{after[_UPTIME]} s after, {elapsed_s:.1f} s apart): its counters restarted"
                )
            else:
                deltas = candidate
        with self._samples.lock:
            samples, peak = self._samples.count, self._samples.peak
        return ServerActivity(
            deltas=deltas,
            threads_connected_before=before[_THREADS_CONNECTED],
            threads_connected_peak=peak,
            samples=samples,
            max_connections=self._max_connections,
            monitor_connections=self._monitor_connections,
            complete=not self._errors,
            error="; ".join(self._errors) or None,
            connection_memory=self._memory_dict(),
        )


def _read_status(connection: Any) -> dict[str, int]:
    """The STATUS_COUNTERS, Threads_connected and Uptime, in one round trip."""
    placeholders = ", ".join(["%s"] * len(_STATUS_NAMES))
    with connection.cursor() as cursor:
        cursor.execute(f"SHOW GLOBAL STATUS WHERE Variable_name IN ({placeholders})", _STATUS_NAMES)
        rows = {str(name).lower(): value for name, value in cursor.fetchall()}
    missing = [name for name in _STATUS_NAMES if name.lower() not in rows]
    if missing:
        raise LookupError(f"the server does not report {', '.join(missing)}")
    return {name: int(rows[name.lower()]) for name in _STATUS_NAMES}


def _read_threads_connected(connection: Any) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SHOW GLOBAL STATUS LIKE 'Threads_connected'")
        row = cursor.fetchone()
    if row is None:
        raise LookupError("the server does not report Threads_connected")
    return int(row[1])


def _read_max_connections(connection: Any) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT @@max_connections")
        (value,) = cursor.fetchone()
    return int(value)


def read_max_connections(database: DatabaseSettings) -> int:
    """The server's ``@@max_connections``, on a connection of its own (opened and closed)."""
    try:
        connection = side.connect(database)
    except side.errors(database) as exc:
        raise connect_error(exc, database) from exc
    try:
        return _read_max_connections(connection)
    finally:
        with contextlib.suppress(Exception):
            connection.close()


def connection_budget_warning(
    max_connections: int,
    processes: int,
    pool_size: int,
    max_overflow: int,
    other_connections: int = 0,
) -> Mentioning | None:
    """One line when the pools could use 80% or more of ``max_connections``; else None.
    It names the settings that lower the pool as the settings file does (``Mentioning``).

    Every process has its own pool, so the worst case is
    ``processes * (pool_size + max_overflow)`` connections, plus
    ``other_connections`` (a monitor, other clients).  A pool without a limit
    (``max_overflow == -1``, or ``pool_size == 0``, which QueuePool treats the
    same way) always deserves the warning: it opens whatever the load asks for.
    """
    if max_connections < 1 or processes < 1 or pool_size < 0 or max_overflow < -1:
        raise ValueError(
            f"connection budget: max_connections={max_connections}, processes={processes}, "
            f"pool_size={pool_size}, max_overflow={max_overflow} is not a possible set-up"
        )
    if other_connections < 0:
        raise ValueError(f"connection budget: other_connections={other_connections} < 0")
    plural = "process" if processes == 1 else "processes"
    pool = f"{processes} {plural} × (pool_size {pool_size} + max_overflow {max_overflow})"
    size, overflow = mentioned("pool", "pool_size"), mentioned("pool", "max_overflow")
    if max_overflow == -1 or pool_size == 0:
        return Mentioning(
            f"{pool}: the pool is unbounded (no limit on overflow connections), so it can "
            f"open more than the server's max_connections ({max_connections}); connections "
            f"may be refused: set {overflow} to 0 or more and {size} to 1 or more"
        )
    total = processes * (pool_size + max_overflow) + other_connections
    if total * 100 < BUDGET_WARNING_PERCENT * max_connections:
        return None
    others = f" + {other_connections} other" if other_connections else ""
    return Mentioning(
        f"{pool}{others} = {total} connections is {BUDGET_WARNING_PERCENT}% or more of the "
        f"server's max_connections ({max_connections}); connections may be refused: lower "
        f"{size} or {overflow}, or raise the server's max_connections"
    )
