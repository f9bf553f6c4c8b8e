"""The stale-connection scenario: pooled connections left idle past the server's ``wait_timeout``.

The server closes a connection that has been idle for longer than
``wait_timeout``. The pool does not notice. The dead connection stays in its
queue, and the next request that checks it out fails, unless the pool protects
itself with ``pool_recycle`` (below the timeout) or ``pool_pre_ping``.
``run_stale_scenario`` runs the same steps for each protection on a new pool:
fill the pool, measure a baseline, sit idle past the timeout, then run
operations and count what fails. Each case gets its own pool and sleep, so one
case cannot leave anything behind for the next.

What each protection does, checked against SQLAlchemy 2.x (``pool/base.py``)
and PyMySQL with ``engine.raw_connection()`` plus a cursor, which is how
``PoolRunner`` runs an operation:

* ``none``: the query on the dead socket raises the driver's own error.
  MariaDB gives ``OperationalError(2006)`` "MySQL server has gone away" when
  the write is reset. ``2013`` "Lost connection" shows up instead when the
  write succeeds and the read finds the socket closed. MySQL 8.0.24+ first
  sends error 4031 ("disconnected by the server because of inactivity"), and
  PyMySQL reports that as 4031, or as 2013 when the packet carries sequence
  number 0. Nothing in SQLAlchemy looks at the error: ``is_disconnect`` only
  runs for a ``Connection``, not for a raw DB-API connection. The connection
  is invalidated at checkin instead. The reset-on-return rollback fails on
  the closed socket (``InterfaceError(0, '')``), and ``_finalize_fairy``
  catches that and calls ``connection_record.invalidate(e)``. The record then
  reconnects at its next checkout. The pool's invalidation time is not
  touched, so each dead connection fails once, and only when it is used. With
  FIFO every pooled connection is used, so there are ``pool_size`` errors.
  With LIFO and one worker there is one error. With
  ``pool_reset_on_return = "none"`` nothing runs at checkin, so the dead
  connection goes back to the queue and fails at every later use
  (``InterfaceError(0)``): the pool never recovers.
* ``pre_ping``: the ping fails, and the dialect's ``is_disconnect`` turns
  that into ``InvalidatePoolError``. That connection is invalidated, along
  with every connection older than now (the pool's invalidation time). The
  checkout reconnects and no error reaches the request. The other idle
  connections are replaced at their next checkout, without a ping. Every
  checkout, baseline included, pays for the ping.
* ``recycle``: at checkout a connection older than ``pool_recycle`` is closed
  and replaced (``_ConnectionRecord.get_connection``) before it is used, so
  there is no error. The age is counted from the connect, not from the last
  use, so busy connections are replaced too.

The idle timeout is set per connection through ``init_command``, after the
user's own, by the dialect's plug-in (``databases.idle_timeout.IdleTimeout``, chosen
by ``databases.get_database(dialect).idle_timeout()``): MySQL's
(``databases.mysql_idle_timeout``) appends ``, SESSION wait_timeout=<n>`` to a single
``SET`` of the user's; PostgreSQL's (``databases.postgresql_idle_timeout``) sets
``idle_session_timeout`` (14+) and says what psycopg and psycopg2 raise on a session
the server ended. The protections behave there as above: a dead connection fails
once, at its first use, and is invalidated when the rollback at checkin fails.

The rollback that fails at checkin makes SQLAlchemy log "Exception during
reset or similar" with a traceback. That is the event this scenario exists to
provoke, and it is counted in the results, so that one message is filtered
out of the pool's logger while a scenario runs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dbbench import databases, interruption
from dbbench.config.settings import DatabaseSettings, PoolSettings, Settings
from dbbench.databases.idle_timeout import IdleTimeout
from dbbench.engine.turn import error_kind
from dbbench.errors import ConnectError, QueryError
from dbbench.histogram import LatencyHistogram
from dbbench.results.model import Environment, SettingsSummary, StaleCase, StaleResult
from dbbench.runners.pool import PoolRunner
from dbbench.scenarios.backend import LIVE, Backend
from dbbench.scenarios.stale_args import DEFAULT_POOL_SIZE, PROTECTIONS, check_arguments
from dbbench.scenarios.summary import capture_environment, iso_utc
from dbbench.stats import summarize
from dbbench.workload import Workload, workload_for

#: the baseline before the idle period is this many operations per pooled connection
BASELINE_ROUNDS = 3

#: the logger of QueuePool when the engine has no ``echo_pool`` (PoolRunner sets none)
_POOL_LOGGER = "sqlalchemy.pool.impl.QueuePool"
_RESET_FAILED = "Exception during reset or similar"

def idle_timeout_of(database: DatabaseSettings) -> IdleTimeout:
    """How ``database``'s server is made to close the scenario's idle sessions."""
    return databases.database_for(database).idle_timeout()


def stale_pool_settings(
    base: PoolSettings, protection: str, pool_size: int, wait_timeout_s: int
) -> PoolSettings:
    """The pool of one case: ``base`` (LIFO, reset on return, timeout) with the protection.

    A fixed size and no overflow, so every connection the scenario opens is a pooled one that
    goes stale. ``recycle`` recycles after half the timeout, but not under 1 s.
    """
    return dataclasses.replace(
        base,
        pool_size=pool_size,
        max_overflow=0,
        pool_recycle_s=max(1, wait_timeout_s / 2) if protection == "recycle" else -1,
        pool_pre_ping=protection == "pre_ping",
    )


def run_stale_scenario(
    settings: Settings,
    *,
    wait_timeout_s: int = 2,
    idle_s: float | None = None,
    pool_size: int = DEFAULT_POOL_SIZE,
    operations: int = 40,
    protections: Sequence[str] = PROTECTIONS,
    on_case: Callable[[str], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> list[StaleCase]:
    """Run each protection's case and return the cases in the order given.

    ``wait_timeout_s`` is the server-side idle timeout of the pool's
    connections (MySQL's ``wait_timeout``, PostgreSQL's ``idle_session_timeout``, set
    through ``init_command``: ``idle_timeout_of``).
    ``idle_s`` is how long the pool sits idle, by default ``wait_timeout_s +
    1.5``, and must be longer than the timeout. ``operations`` run one after
    another on one worker once the idle period is over. ``on_case`` is called
    with the protection's name as each case starts.

    Arguments and the user's ``init_command`` are checked before anything
    connects (``ConfigError``). A pool that cannot be filled raises
    ``ConnectError``, and a query that fails before the idle period raises
    ``QueryError``. Failures after the idle period are the measurement: they
    are counted, not raised. None of this can block for ever: connects are
    bounded by ``connect_timeout``, and with one worker and no overflow a
    checkout never waits for another one.
    """
    idle_s = check_arguments(wait_timeout_s, idle_s, pool_size, operations, protections)
    database = idle_timeout_of(settings.database).session(settings.database, wait_timeout_s)
    workload = Workload(settings.benchmark.query)
    cases = []
    with _failed_reset_not_logged():
        for protection in protections:
            if on_case is not None:
                on_case(protection)
            pool = stale_pool_settings(settings.pool, protection, pool_size, wait_timeout_s)
            cases.append(_run_case(protection, database, workload, pool, idle_s, operations, sleep))
    return cases


def _run_case(
    protection: str,
    database: DatabaseSettings,
    workload: Workload,
    pool: PoolSettings,
    idle_s: float,
    operations: int,
    sleep: Callable[[float], None],
) -> StaleCase:
    runner = PoolRunner(database, workload, pool)
    try:
        runner.open()
        _fill(runner, protection, database)
        baseline = LatencyHistogram()
        for _ in range(pool.pool_size * BASELINE_ROUNDS):
            try:
                baseline.record(_timed(runner))
            except Exception as exc:
                raise QueryError(
                    f"stale-connection scenario, case {protection!r}: an operation failed "
                    f"before the idle period, so the case cannot run: {exc}"
                ) from exc
        sleep(idle_s)
        latency = LatencyHistogram()
        errors: Counter[str] = Counter()
        first_latency_ns = None
        for _ in range(operations):
            start = time.perf_counter_ns()
            try:
                runner.run_once(0)
            except Exception as exc:  # counted: failures here are the measurement
                elapsed_ns = time.perf_counter_ns() - start
                errors[error_kind(exc)] += 1
            else:
                elapsed_ns = time.perf_counter_ns() - start
                latency.record(elapsed_ns)
            if first_latency_ns is None:
                first_latency_ns = elapsed_ns
        counters = runner.counters()
    finally:
        runner.close()
    return StaleCase(
        protection=protection,
        pool_settings=pool,
        operations=operations,
        errors_by_kind=dict(errors),
        latency=summarize(latency) if latency.count else None,
        first_latency_ns=first_latency_ns,
        baseline=summarize(baseline) if baseline.count else None,
        pool=counters,
        init_command=database.init_command,
    )


def _timed(runner: PoolRunner) -> int:
    """One operation timed the way the harness does: around ``run_once`` alone."""
    start = time.perf_counter_ns()
    runner.run_once(0)
    return time.perf_counter_ns() - start


def _fill(runner: PoolRunner, protection: str, database: DatabaseSettings) -> None:
    """Open every pooled connection: check out ``pool_size`` at once, then return them all.

    Otherwise a sequential baseline would open just one, and the stale-connection count would
    depend on the pool's order rather than its size.
    """
    held = []
    try:
        for _ in range(runner.pool_settings.pool_size):
            held.append(runner.engine.raw_connection())
    except Exception as exc:
        raise ConnectError(
            f"stale-connection scenario, case {protection!r}: could not open "
            f"{runner.pool_settings.pool_size} connections to {database.describe()} "
            f"with init_command {database.init_command!r}: {exc}"
        ) from exc
    finally:
        for connection in held:
            connection.close()


class _DropFailedReset(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(_RESET_FAILED)


@contextlib.contextmanager
def _failed_reset_not_logged() -> Iterator[None]:
    """Keep SQLAlchemy's traceback for the failing checkin rollback off stderr (see the top)."""
    logger = logging.getLogger(_POOL_LOGGER)
    drop = _DropFailedReset()
    logger.addFilter(drop)
    try:
        yield
    finally:
        logger.removeFilter(drop)


@dataclass(frozen=True)
class StaleRequest:
    """What ``dbbench stale`` was asked for: the scenario's own arguments."""

    wait_timeout_s: int = 2
    #: how long the pool sits idle; None: ``wait_timeout_s`` + ``IDLE_MARGIN_S``
    idle_s: float | None = None
    pool_size: int = DEFAULT_POOL_SIZE
    operations: int = 40
    protections: tuple[str, ...] = PROTECTIONS

    def check(self, names: Mapping[str, str] | None = None) -> float:
        """``check_arguments`` on these; returns the idle period in seconds."""
        return check_arguments(
            self.wait_timeout_s,
            self.idle_s,
            self.pool_size,
            self.operations,
            self.protections,
            names=names,
        )


def stale_settings(settings: Settings, request: StaleRequest, idle_s: float) -> dict[str, Any]:
    """What shaped the scenario: the connection, the query, and the scenario's own
    arguments (each case's exact pool settings are in its case)."""
    public = settings.public_dict()
    return {
        "config_path": public["config_path"],
        "database": public["database"],
        "benchmark": {"query": settings.benchmark.query},
        "stale": {
            "wait_timeout_s": request.wait_timeout_s,
            "idle_s": idle_s,
            "pool_size": request.pool_size,
            "operations": request.operations,
            "protections": list(request.protections),
        },
    }


def run_stale(
    settings: Settings,
    request: StaleRequest = StaleRequest(),
    *,
    on_case: Callable[[str], None] | None = None,
    on_result: Callable[[StaleResult], None] | None = None,
    backend: Backend = LIVE,
    allow_writes: bool = False,
) -> StaleResult:
    """``dbbench stale``: check the server, then run each protection's case in turn.

    ``on_result`` gets the result after every case (``complete`` False) and the
    final one: a file written from it grows case by case and loses nothing to
    a crash.  A stop signal (Ctrl-C, SIGTERM, SIGHUP) ends the case it lands in, the
    idle wait included: the cases done before it are the result (``complete`` False);
    with none done, KeyboardInterrupt goes on.  ``backend``: its server check, and its
    wall clock for the timestamps.  A query or init_command that may write is
    refused unless ``allow_writes``.
    """
    settings = databases.guarded(settings, allow_writes)
    idle_s = request.check()
    started_at = iso_utc(backend.wall_clock_s())
    # checked in the session the cases use: their idle timeout, after the user's init_command
    server = idle_timeout_of(settings.database).check_server(
        backend.check_server,
        settings.database,
        request.wait_timeout_s,
        workload_for(settings.benchmark),
    )
    environment = capture_environment(server.version)
    shaped = stale_settings(settings, request, idle_s)
    cases: list[StaleCase] = []

    def result(complete: bool) -> StaleResult:
        return StaleResult(
            tuple(cases),
            request.wait_timeout_s,
            idle_s,
            SettingsSummary.from_document(shaped),
            Environment.from_document(environment),
            started_at,
            iso_utc(backend.wall_clock_s()),
            complete,
        )

    for protection in request.protections:  # one case at a time: the file grows case by case
        try:
            with interruption.interruptible():
                cases += run_stale_scenario(
                    settings,
                    wait_timeout_s=request.wait_timeout_s,
                    idle_s=idle_s,
                    pool_size=request.pool_size,
                    operations=request.operations,
                    protections=[protection],
                    on_case=on_case,
                )
        except KeyboardInterrupt:
            if not cases:
                raise
            break  # the cases done are kept
        if on_result is not None:
            on_result(result(complete=False))
    final = result(complete=len(cases) == len(request.protections))
    if on_result is not None:
        on_result(final)
    return final
