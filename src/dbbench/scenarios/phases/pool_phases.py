"""The pooled and the persistent operation, phase by phase, for any driver.

A pooled operation is timed around SQLAlchemy's own steps: the checkout
(``engine.raw_connection()``), the pre-ping inside it (``dialect.do_ping``,
when ``pool_pre_ping`` is on), the query, and the checkin (``close()`` on
the pooled connection) with the reset-on-return inside it
(``dialect.do_rollback`` or ``do_commit``).  The dialect's methods are
wrapped on this engine's dialect object only, so nothing else is touched.

A driver that sends statements of its own (psycopg's ``BEGIN`` before a
transaction's first statement) gives a ``watch`` (``phases.statement_watch``):
every connection the pool makes, and the persistent runner's, is handed to it
with the current clock's holder, and those statements become phases of their own
inside the query or wherever they are sent.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import sqlalchemy

from dbbench.runners.persistent import PersistentRunner
from dbbench.runners.pool import PoolRunner
from dbbench.scenarios.phases.clock import PhaseClock

CHECKOUT = "checkout"
PRE_PING = "pre-ping"
QUERY = "query"
RESET = "reset-on-return"
CHECKIN = "checkin"

#: the pooled operation's phases in the order they run
PHASES = (CHECKOUT, PRE_PING, QUERY, RESET, CHECKIN)
#: a pool connects inside the checkout (only when it grows: not in the steady state)
TCP_PHASE = CHECKOUT
#: ... and so does the server's greeting
GREETING_PHASE = CHECKOUT

DESCRIPTIONS = {
    CHECKOUT: "engine.raw_connection(): take an idle connection from the pool",
    PRE_PING: "pool_pre_ping: a ping round trip before handing the connection out",
    QUERY: "execute the query, fetch all rows",
    RESET: "pool_reset_on_return: ROLLBACK (or COMMIT) on checkin",
    CHECKIN: "return the connection to the pool",
}


def phases(statement_phases: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The pooled operation's phases in order, a driver's own statements before the query."""
    at = PHASES.index(QUERY)
    return PHASES[:at] + statement_phases + PHASES[at:]


#: (connection, the holder of the current clock) -> None: ``phases.statement_watch``
Watch = Callable[[Any, "_Timed"], None]


class _Timed:
    """Whichever clock is current, so that one wrapped dialect serves every operation."""

    clock: PhaseClock | None = None


def _timed(method: Callable[..., Any], phase: str, current: _Timed) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current.clock is None:
            return method(*args, **kwargs)
        with current.clock.phase(phase):
            return method(*args, **kwargs)

    return wrapper


class PooledOperation:
    """Runs the ``pool`` runner's operation with its phases timed; the runner must be open.

    The runner's own ``run_once`` still works, untimed: the wrapped dialect
    methods only time while ``run`` is running.
    """

    def __init__(self, runner: PoolRunner, watch: Watch | None = None) -> None:
        self._runner = runner
        self._current = _Timed()
        if watch is not None:
            # the pool connects at its first checkouts, after this: every connection is seen
            current = self._current
            sqlalchemy.event.listen(
                runner.engine, "connect", lambda connection, record: watch(connection, current)
            )
        dialect = runner.engine.dialect
        # instance attributes shadow the dialect's methods for this engine alone
        dialect.do_ping = _timed(dialect.do_ping, PRE_PING, self._current)
        dialect.do_rollback = _timed(dialect.do_rollback, RESET, self._current)
        dialect.do_commit = _timed(dialect.do_commit, RESET, self._current)

    def run(self, clock: PhaseClock) -> None:
        self._current.clock = clock
        try:
            with clock.phase(CHECKOUT):
                connection = self._runner.engine.raw_connection()
            try:
                with clock.phase(QUERY):
                    self._runner.workload.run_on(connection)
            except BaseException:
                connection.invalidate()
                raise
            finally:
                with clock.phase(CHECKIN):
                    connection.close()
        finally:
            self._current.clock = None


class PersistentOperation:
    """The ``persistent`` runner's operation: the query alone (its worker has connected)."""

    def __init__(self, runner: PersistentRunner, watch: Watch | None = None) -> None:
        self._runner = runner
        self._watch = watch
        self._current = _Timed()
        #: the connection handed to ``watch``
        self._watched: Any = None

    def run(self, clock: PhaseClock) -> None:
        if self._watch is not None:
            connection = self._runner.connection
            if connection is not None and connection is not self._watched:
                # once: its first operation (the warm-up) connected
                self._watch(connection, self._current)
                self._watched = connection
        self._current.clock = clock
        try:
            with clock.phase(QUERY):
                self._runner.run_once()
        finally:
            self._current.clock = None
