"""One script, run once on one DB-API connection: what an operation of ``--script`` does.

``ScriptRunner(script).run(connection, rng, variables)`` goes through the script in order:

* ``\\set``: evaluated with ``rng`` (a ``random.Random``, one per client thread, seedable)
  and the variables so far, which start as ``variables`` (the run's: ``scale``, ...);
* a statement: executed with its variables as parameters (``bind``), its rows fetched
  where it produced any (``fetching.fetch_all``), timed from before ``execute`` to after
  the fetch with ``time.perf_counter_ns``;
* ``\\sleep``: slept, and counted as think time, apart from the statements' time.

Transactions are the script's, as in pgbench: ``BEGIN``/``COMMIT`` are sent as written, on
a connection in autocommit mode (``autocommit``, once per connection: a statement outside
them is a transaction of its own).  When a statement fails, the transaction the script
may have open is rolled back (a ``ROLLBACK`` sent, its own failure ignored) and
``StatementFailed`` raised, carrying the failing statement's index and the driver's
exception; the whole operation failed.  A failing ``\\set`` (``random(:lb, :ub)`` with
``lb > ub``) rolls back the same way and raises a ``ScriptError``.  A script that ends
inside a transaction (its ``BEGIN`` with no ``COMMIT``) has it rolled back, and says so
(``ScriptResult.left_open``), where pgbench aborts the client: nothing is left open
for the next operation on that connection.  Such a script is refused when the settings
load (``checks``); the rollback is a safety net.

Whether a transaction is open is read from the statements themselves: ``BEGIN`` and
``START TRANSACTION`` open one; ``COMMIT``, ``END``, ``ROLLBACK``, ``ABORT`` and
``PREPARE TRANSACTION`` close it, except ``... AND CHAIN`` and ``ROLLBACK TO``
(a savepoint).
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Mapping
from random import Random
from typing import Any, NamedTuple

from dbbench.fetching import fetch_all
from dbbench.scripts.bind import BoundStatement, bind
from dbbench.scripts.expr import EvaluationError, ScriptError, Value
from dbbench.scripts.parse import MAX_SLEEP_US, Script, SetVariable, Sleep, Statement

_OPENS = re.compile(r"(?:BEGIN|START\s+TRANSACTION)\b", re.IGNORECASE)
_CLOSES = re.compile(r"(?:COMMIT|END|ROLLBACK|ABORT|PREPARE\s+TRANSACTION)\b", re.IGNORECASE)
_UNITS = {1: "us", 1_000: "ms", 1_000_000: "s"}
_KEEPS = re.compile(r"\bAND\s+CHAIN\b|^ROLLBACK(?:\s+(?:WORK|TRANSACTION))?\s+TO\b", re.IGNORECASE)


def transaction_after(sql: str, open_: bool) -> bool:
    """Whether a transaction is open after ``sql`` ran, ``open_`` telling whether one was
    before (read from the statement's first words)."""
    if _OPENS.match(sql):
        return True
    if _CLOSES.match(sql) and not _KEEPS.search(sql):
        return False
    return open_


def autocommit(connection: Any) -> None:
    """Put a DB-API connection in autocommit mode, whichever way its driver spells it: a
    method (PyMySQL, mysqlclient: each compares with the server's status flag first, no
    round trip when it is on already) or an attribute (psycopg, psycopg2,
    mysql-connector).  Once per connection, before its first script.  Nothing is sent
    when the connection is in autocommit already, as the run's connect leaves it: the
    mode is read where the driver keeps it (``_autocommit``: psycopg's, mysql-connector's,
    whose ``autocommit`` property would ask the server), never asked of the server."""
    if callable(getattr(type(connection), "autocommit", None)):
        connection.autocommit(True)
    elif getattr(connection, "_autocommit", None) is not True:
        connection.autocommit = True


class StatementResult(NamedTuple):
    """One statement's run: its place in the script (``index``, 0 first; ``line``), how
    long it took with its fetch, the rows it gave, and its error if it failed.  A named
    tuple, not a frozen dataclass: one is made per statement inside the operation's
    timing, and a frozen dataclass's ``__init__`` costs three times as much."""

    index: int
    line: int
    latency_ns: int
    rows: int = 0
    error: BaseException | None = None


class ScriptResult(NamedTuple):
    """One run of a script: each statement run (all, or up to the failed one), the
    time slept (``\\sleep``), and whether the script ended in a transaction, rolled back."""

    statements: tuple[StatementResult, ...]
    think_ns: int = 0
    left_open: bool = False

    @property
    def database_ns(self) -> int:
        """The statements' time, fetches included, think time not."""
        return sum(s.latency_ns for s in self.statements)

    @property
    def failed(self) -> bool:
        return any(s.error is not None for s in self.statements)


class StatementFailed(Exception):
    """A statement of a script failed, and the transaction was rolled back: ``index`` its
    place among the script's statements, ``error`` the driver's exception (also the
    ``__cause__``), ``result`` what ran up to it, the failed statement last."""

    def __init__(
        self, script: Script, statement: Statement, error: BaseException, result: ScriptResult
    ) -> None:
        self.index = statement.index
        self.line = statement.line
        #: ``tx.sql:4``: where the failed statement starts
        self.where = script.where(statement.line)
        self.error = error
        self.result = result
        super().__init__(
            f"{script.where(statement.line)}: statement {statement.index + 1} failed: "
            f"{type(error).__name__}: {error}"
        )


class ScriptRunner:
    """Runs ``script`` (bound once, in ``paramstyle``: the driver's ``Driver.paramstyle``)
    on a connection, as often as asked, from any thread: a run keeps its state to itself,
    each thread giving its own connection and ``random.Random``.

    ``sleep`` and ``clock`` are ``time.sleep`` and ``time.perf_counter_ns`` unless a test
    gives others; ``cursor`` makes a run's cursor on its connection where not ``cursor()``
    (the statements prepared: ``Driver.cursor_factory``)."""

    def __init__(
        self,
        script: Script,
        paramstyle: str = "format",
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], int] = time.perf_counter_ns,
        cursor: Callable[[Any], Any] | None = None,
    ) -> None:
        self.script = script
        self.steps = tuple(
            bind(c, paramstyle, script.name) if isinstance(c, Statement) else c
            for c in script.commands
        )
        #: what a run reads of each step, decided once: (_SET, step, its compiled
        #: expression), (_SLEEP, step), (_EXECUTE, bound statement, its SQL, its
        #: parameters' names, what it does to the transaction: True opens one, False
        #: closes it, None neither; the statement's index and line)
        self._plan = tuple(_planned(step) for step in self.steps)
        self.sleep = sleep
        self.clock = clock
        #: what gives a run its cursor on the connection (prepared statements:
        #: ``Driver.cursor_factory``); None: the connection's ``cursor()``
        self.cursor = cursor

    def run(
        self,
        connection: Any,
        rng: Random,
        variables: Mapping[str, Value] | None = None,
        cursor: Any = None,
    ) -> ScriptResult:
        """Run the script once on ``connection`` (in autocommit mode), drawing from ``rng``,
        ``variables`` the run's; a ``ScriptResult``, or ``StatementFailed``/``ScriptError``
        after the rollback.  ``cursor``: one of ``connection``'s (``open_cursor``) to
        execute on, left open (the caller's to reuse); else one is opened and closed."""
        values: dict[str, Value] = dict(variables or {})
        results: list[StatementResult] = []
        think_ns = 0
        in_transaction = False
        clock = self.clock
        own_cursor = cursor is None
        if own_cursor:
            cursor = self.open_cursor(connection)
        try:
            for planned in self._plan:
                kind = planned[0]
                if kind is _EXECUTE:
                    _, step, sql, names, effect, index, line = planned
                    started = clock()
                    try:
                        if names:
                            cursor.execute(sql, tuple([values[name] for name in names]))
                        else:
                            cursor.execute(sql)
                        rows = fetch_all(cursor)
                    except Exception as exc:
                        statement = step.statement
                        results.append(
                            StatementResult(
                                statement.index, statement.line, clock() - started, error=exc
                            )
                        )
                        failed = ScriptResult(tuple(results), think_ns)
                        raise StatementFailed(self.script, statement, exc, failed) from exc
                    results.append(StatementResult(index, line, clock() - started, rows))
                    if effect is not None:
                        in_transaction = effect
                elif kind is _SET:
                    _, step, evaluate = planned
                    try:
                        values[step.name] = evaluate(values, rng)
                    except EvaluationError as exc:
                        where = self.script.where(step.line)
                        raise ScriptError(f"{where}: \\set {step.name}: {exc}", where) from None
                else:
                    microseconds = self._sleep_us(planned[1], values)
                    started = clock()
                    self.sleep(microseconds / 1e6)
                    think_ns += clock() - started
        except BaseException as exc:
            if in_transaction or isinstance(exc, StatementFailed):
                _roll_back(connection)
            raise
        finally:
            if own_cursor:
                try:  # noqa: SIM105 -- no suppress() made per operation
                    cursor.close()
                except Exception:
                    pass
        if in_transaction:
            _roll_back(connection)
        return ScriptResult(tuple(results), think_ns, left_open=in_transaction)

    def open_cursor(self, connection: Any) -> Any:
        """A cursor on ``connection`` as a run makes it: ``cursor``'s, else ``cursor()``."""
        return connection.cursor() if self.cursor is None else self.cursor(connection)

    def _sleep_us(self, step: Sleep, values: Mapping[str, Value]) -> int:
        amount = step.amount if isinstance(step.amount, int) else values.get(step.amount)
        if isinstance(amount, bool) or not isinstance(amount, int):
            where = self.script.where(step.line)
            raise ScriptError(
                f"{where}: \\sleep :{step.amount}: the variable holds {amount!r}, not a whole "
                "number",
                where,
            )
        microseconds = max(0, amount) * step.unit_us
        if microseconds > MAX_SLEEP_US:
            where = self.script.where(step.line)
            raise ScriptError(
                f"{where}: \\sleep :{step.amount}: {amount} {_UNITS[step.unit_us]} is longer "
                "than a day",
                where,
            )
        return microseconds


_SET, _SLEEP, _EXECUTE = "set", "sleep", "execute"


def _planned(step: BoundStatement | SetVariable | Sleep) -> tuple[Any, ...]:
    if isinstance(step, SetVariable):
        return (_SET, step, step.expression.compile())
    if isinstance(step, Sleep):
        return (_SLEEP, step)
    opens = transaction_after(step.sql, False)
    closes = not transaction_after(step.sql, True)
    effect = True if opens else False if closes else None
    statement = step.statement
    return (_EXECUTE, step, step.sql, step.names, effect, statement.index, statement.line)


def _roll_back(connection: Any) -> None:
    """Send ``ROLLBACK`` (not ``connection.rollback()``, which psycopg2 skips in autocommit
    mode); a connection already lost fails it, which changes nothing: the server ends
    the transaction of a session it no longer has."""
    with contextlib.suppress(Exception):
        cursor = connection.cursor()
        try:
            cursor.execute("ROLLBACK")
        finally:
            cursor.close()


__all__ = [
    "ScriptResult",
    "ScriptRunner",
    "StatementFailed",
    "StatementResult",
    "autocommit",
    "transaction_after",
]
