"""The ``core`` and ``session`` operations, layer by layer, for any driver.

Each layer is timed around the real SQLAlchemy calls the runner's operation
makes, on the runner's own engine:

- the checkout: ``engine.connect()`` (a ``Connection``, the pool's checkout
  inside it, the pre-ping when ``pool_pre_ping`` is on); ``core`` calls it,
  a ``Session`` calls it from its ``execute`` when the first statement needs a
  connection;
- Core's statement handling: from the engine's ``before_execute`` event (the
  start of ``Connection.execute``'s work) to ``before_cursor_execute``: the
  compiled statement looked up in the engine's ``compiled_cache`` (compiled on
  a miss), the autobegin of the ``Connection``'s transaction, the execution
  context;
- the DB-API execute: ``before_cursor_execute`` to ``after_cursor_execute``,
  the driver's ``cursor.execute`` (a driver's own statements, psycopg's
  ``BEGIN``, a phase of their own inside it: ``phases.statement_watch``);
- the result: from ``after_cursor_execute`` until every row is fetched: the
  ``CursorResult``, its rows (and, for a session, the ORM's result around it);
- the end: ``Connection.close()`` (``core``) or ``Session.close()``
  (``session``), with the ROLLBACK of the transaction inside it
  (``dialect.do_rollback``), the pool's ``reset_on_return`` after it when the
  pool is not told the transaction was reset (the pool's ``reset`` event, then
  ``do_rollback`` or ``do_commit``: ``Session.close()`` ends the transaction
  apart from closing the ``Connection``, so the pool rolls back again), and the
  pool's checkin;
- for ``session`` also the ``Session()`` construction and the session's own
  work in ``execute`` around Core's (its autobegin, the connection for the
  bind, the ORM's execution options).

The events are the engine's (``sqlalchemy.event.listen``); the checkout,
rollback, commit and ping are timed by wrappers set on this engine's objects
alone, as ``pool_phases`` does.  Outside ``run`` every one of them returns at
once: the runner's own ``run_once``, timed plain beside it, goes through
them too, untimed.
"""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy
from sqlalchemy.engine.interfaces import CacheStats

from dbbench.runners.pool import PoolRunner
from dbbench.runners.session import SessionRunner
from dbbench.scenarios.phases import pool_phases
from dbbench.scenarios.phases.clock import PhaseClock

CHECKOUT = "checkout"
PRE_PING = pool_phases.PRE_PING
NEW_SESSION = "Session()"
SESSION_EXECUTE = "session execute"
STATEMENT = "statement"
DBAPI = "DB-API execute"
RESULT = "result"
COMMIT = "commit"
ROLLBACK = "rollback"
RESET = pool_phases.RESET
CHECKIN = "checkin"
CLOSE = "close"

DESCRIPTIONS = {
    CHECKOUT: "engine.connect(): a Connection, the pool's checkout inside it",
    PRE_PING: pool_phases.DESCRIPTIONS[PRE_PING],
    NEW_SESSION: "sessionmaker(): a new Session",
    SESSION_EXECUTE: "Session.execute's own work around Core's: autobegin, connection for bind",
    STATEMENT: "Core: compiled_cache lookup (compile on a miss), autobegin, execution context",
    DBAPI: "the driver's cursor.execute (before_cursor_execute to after_cursor_execute)",
    RESULT: "CursorResult and its rows, fetched (after_cursor_execute to fetchall)",
    COMMIT: "COMMIT (a write workload's commit)",
    ROLLBACK: "ROLLBACK of the transaction at close",
    RESET: "pool_reset_on_return: ROLLBACK (or COMMIT) at checkin, the transaction ended",
    CHECKIN: "Connection.close(): the rest of it, the pool's checkin",
    CLOSE: "Session.close(): the rest of it, the Connection's close and the checkin",
}

_CORE = (CHECKOUT, PRE_PING, STATEMENT, DBAPI, RESULT, COMMIT, ROLLBACK, RESET, CHECKIN)
_SESSION = (NEW_SESSION, SESSION_EXECUTE, *_CORE[:-1], CLOSE)


def phases(runner: PoolRunner, statement_phases: tuple[str, ...] = ()) -> tuple[str, ...]:
    """``runner``'s layers in the order they run, a driver's own statements in the execute."""
    order = _SESSION if isinstance(runner, SessionRunner) else _CORE
    at = order.index(DBAPI) + 1
    return order[:at] + statement_phases + order[at:]


class _Layers(pool_phases._Timed):
    """The current clock, and the phases the events opened on it, innermost last."""

    def __init__(self) -> None:
        self.opened: list[Any] = []
        #: inside ``run``'s execute (the events ignore the dialect's first-connect queries)
        self.armed = False
        self.connecting = 0
        #: the pool's reset has begun: the rollback or commit that follows is its own
        self.resetting = False
        self.executions = 0
        self.cache_hits = 0

    def listening(self) -> bool:
        return self.clock is not None and self.armed and not self.connecting

    def enter(self, name: str) -> None:
        phase = self.clock.phase(name)
        phase.__enter__()
        self.opened.append((name, phase))

    def leave(self, name: str) -> None:
        if self.opened and self.opened[-1][0] == name:
            self.opened.pop()[1].__exit__(None, None, None)

    def leave_all(self) -> None:
        while self.opened:
            self.opened.pop()[1].__exit__(None, None, None)


class LayeredOperation:
    """Runs the ``core`` or ``session`` runner's operation with its layers timed; the
    runner must be open.  ``executions`` counts the executions of the runner's statement
    on its engine (the runner's own ``run_once`` too), ``cache_hits`` those whose
    compilation the engine's ``compiled_cache`` held."""

    def __init__(self, runner: PoolRunner, watch: pool_phases.Watch | None = None) -> None:
        self._runner = runner
        self._session = isinstance(runner, SessionRunner)
        layers = self._layers = _Layers()
        engine = runner.engine
        if watch is not None:
            sqlalchemy.event.listen(
                engine, "connect", lambda connection, record: watch(connection, layers)
            )
        sqlalchemy.event.listen(engine, "before_execute", self._before_execute)
        sqlalchemy.event.listen(engine, "before_cursor_execute", self._before_cursor)
        sqlalchemy.event.listen(engine, "after_cursor_execute", self._after_cursor)
        sqlalchemy.event.listen(engine, "reset", self._reset)
        dialect = engine.dialect
        # instance attributes shadow the dialect's and the engine's methods for this one
        dialect.do_ping = pool_phases._timed(dialect.do_ping, PRE_PING, layers)
        dialect.do_rollback = self._timed_end(dialect.do_rollback, ROLLBACK)
        dialect.do_commit = self._timed_end(dialect.do_commit, COMMIT)
        engine.connect = self._timed_connect(engine.connect)

    @property
    def executions(self) -> int:
        return self._layers.executions

    @property
    def cache_hits(self) -> int:
        return self._layers.cache_hits

    def _timed_connect(self, connect: Any) -> Any:
        layers = self._layers

        @functools.wraps(connect)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if layers.clock is None:
                return connect(*args, **kwargs)
            # a new connection's first connect runs the dialect's queries on it: not ours
            layers.connecting += 1
            try:
                with layers.clock.phase(CHECKOUT):
                    return connect(*args, **kwargs)
            finally:
                layers.connecting -= 1

        return wrapper

    def _timed_end(self, method: Any, name: str) -> Any:
        """A rollback or commit: the transaction's, or the pool's reset after the event."""
        layers = self._layers

        @functools.wraps(method)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if layers.clock is None:
                return method(*args, **kwargs)
            with layers.clock.phase(RESET if layers.resetting else name):
                return method(*args, **kwargs)

        return wrapper

    def _reset(self, *args: Any) -> None:
        if self._layers.clock is not None and not self._layers.connecting:
            self._layers.resetting = True

    def _before_execute(self, *args: Any) -> None:
        if self._layers.listening():
            self._layers.enter(STATEMENT)

    def _before_cursor(self, *args: Any) -> None:
        if self._layers.listening():
            self._layers.enter(DBAPI)

    def _after_cursor(self, conn: Any, cursor: Any, statement: Any, parameters: Any,
                      context: Any, executemany: bool) -> None:
        layers = self._layers
        if getattr(context, "invoked_statement", None) is self._runner.statement:
            # every execution of the runner's statement, the plain operations' too
            layers.executions += 1
            layers.cache_hits += context.cache_hit == CacheStats.CACHE_HIT
        if not layers.listening():
            return
        layers.leave(DBAPI)
        layers.leave(STATEMENT)
        layers.enter(RESULT)

    def run(self, clock: PhaseClock) -> None:
        runner, layers = self._runner, self._layers
        layers.clock = clock
        try:
            if self._session:
                with clock.phase(NEW_SESSION):
                    executor = runner.sessions()
            else:
                executor = runner.engine.connect()  # the checkout, timed by the wrapper
            try:
                with clock.phase(SESSION_EXECUTE if self._session else STATEMENT):
                    layers.armed = True
                    try:
                        runner.workload.run_through(executor, runner.statement)
                    finally:
                        layers.armed = False
                        layers.leave_all()
            finally:
                with clock.phase(CLOSE if self._session else CHECKIN):
                    executor.close()
        finally:
            layers.clock = None
            layers.opened.clear()
            layers.resetting = False
