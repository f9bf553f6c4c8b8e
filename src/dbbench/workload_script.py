"""The operation of ``--script`` (``[benchmark] scripts``): a script picked by weight, run
on the runner's connection, every statement timed.

``ScriptWorkload`` stands where ``Workload`` does: every runner on a DB-API connection
calls ``run_on(connection)`` inside the timing (those on SQLAlchemy's ``Connection`` or
``Session``, and the asyncio ones, run no script: ``Runner.runs_scripts``).  An operation:

* picks one of the scripts by weight, with the worker thread's own ``random.Random``
  (seeded from the workload's seed and the thread's number, so a given seed repeats the
  same picks and ``\\set`` draws per thread), which its ``\\set`` draws from too (one
  script is no pick: nothing is drawn);
* makes sure the connection is in autocommit the first time it sees it
  (``scripts.run.autocommit``; a pool's connection is the driver's underneath,
  remembered as long as it lives), as a script's transactions are its own
  ``BEGIN``/``COMMIT``: a run of scripts connects in autocommit (the settings set
  ``[database] autocommit``), so this sends nothing;
* runs the script (``ScriptRunner``) on one cursor kept for as long as the thread's
  connection is the same driver connection (``persistent``'s; a pool's wrapper, new at
  every checkout, gets a cursor per operation), a new one after a failure: its latency
  is the whole script's, ``\\sleep`` included, as pgbench reports it; the think time
  is counted apart (``StatementTally.think``), so that the database's time is the
  latency less it;
* a failed statement has been rolled back; ``StatementFailed`` goes on to the harness,
  which counts one failed operation of the kind ``IntegrityError(1062) at tx.sql:4``
  (``engine.turn.error_kind``).

Each statement's latency, and its failures, go into the worker thread's ``StatementTally``,
counted after the operation, outside its timing (``settle``, which the harness calls
between operations; an operation only leaves its ``ScriptResult``); ``take()`` hands
over (and clears) what every thread recorded, between the harness's turns.
"""

from __future__ import annotations

import bisect
import contextlib
import itertools
import random
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dbbench.histogram import LatencyHistogram
from dbbench.scripts.run import ScriptResult, ScriptRunner, StatementFailed, autocommit

#: the ``scale`` a script reads, pgbench's default (dbbench prepares no pgbench tables)
SCALE = 1


@dataclass
class StatementFigures:
    """One statement's record, as a runner's: the latencies of its executions that
    succeeded (each with its fetch) and how many times it failed."""

    latency: LatencyHistogram = field(default_factory=LatencyHistogram)
    errors: int = 0

    def merge(self, other: StatementFigures) -> None:
        self.latency.merge(other.latency)
        self.errors += other.errors

    def to_dict(self) -> dict[str, Any]:
        return {"latency": self.latency.to_dict(), "errors": self.errors}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StatementFigures:
        return cls(LatencyHistogram.from_dict(data["latency"]), int(data["errors"]))


@dataclass
class StatementTally:
    """What operations of scripts recorded: per script (its place among the run's), the
    operations that picked it and the think time they slept, and per statement (script,
    statement index) its figures."""

    operations: dict[int, int] = field(default_factory=dict)
    think_ns: dict[int, int] = field(default_factory=dict)
    statements: dict[tuple[int, int], StatementFigures] = field(default_factory=dict)
    #: what ``take`` says of the scripts: each one's file and weight, each statement's
    #: line and text (those that never ran too)
    scripts: dict[int, tuple[str, int]] = field(default_factory=dict)
    texts: dict[tuple[int, int], tuple[int, str]] = field(default_factory=dict)
    #: the operations run but not yet counted (script number, its result): an
    #: operation leaves its record here, counted by ``settle`` outside its timing
    pending: list[tuple[int, ScriptResult]] = field(
        default_factory=list, repr=False, compare=False
    )

    def settle(self) -> None:
        """Count the operations left pending (``ScriptWorkload.settle``)."""
        for script, result in self.pending:
            self.count(script, result)
        self.pending.clear()

    def count(self, script: int, result: ScriptResult) -> None:
        """One operation of script number ``script``: its statements as they ran."""
        self.operations[script] = self.operations.get(script, 0) + 1
        self.think_ns[script] = self.think_ns.get(script, 0) + result.think_ns
        for run in result.statements:
            figures = self.statements.get((script, run.index))
            if figures is None:
                figures = self.statements[(script, run.index)] = StatementFigures()
            if run.error is None:
                figures.latency.record(run.latency_ns)
            else:  # as a runner's: n and the latencies are of what succeeded
                figures.errors += 1

    def merge(self, other: StatementTally) -> None:
        for script, n in other.operations.items():
            self.operations[script] = self.operations.get(script, 0) + n
        for script, ns in other.think_ns.items():
            self.think_ns[script] = self.think_ns.get(script, 0) + ns
        for key, figures in other.statements.items():
            if key in self.statements:
                self.statements[key].merge(figures)
            else:
                mine = self.statements[key] = StatementFigures()
                mine.merge(figures)
        self.scripts.update(other.scripts)
        self.texts.update(other.texts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "operations": [[s, n] for s, n in sorted(self.operations.items())],
            "think_ns": [[s, n] for s, n in sorted(self.think_ns.items())],
            "statements": [
                [s, i, figures.to_dict()] for (s, i), figures in sorted(self.statements.items())
            ],
            "scripts": [[s, path, weight] for s, (path, weight) in sorted(self.scripts.items())],
            "texts": [[s, i, line, sql] for (s, i), (line, sql) in sorted(self.texts.items())],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StatementTally:
        return cls(
            {int(s): int(n) for s, n in data["operations"]},
            {int(s): int(n) for s, n in data["think_ns"]},
            {(int(s), int(i)): StatementFigures.from_dict(f) for s, i, f in data["statements"]},
            {int(s): (str(path), int(weight)) for s, path, weight in data["scripts"]},
            {(int(s), int(i)): (int(line), str(sql)) for s, i, line, sql in data["texts"]},
        )


class ScriptWorkload:
    """The scripts of a run (``ScriptFile``: path, weight, parsed script), each operation
    one of them picked by weight; ``paramstyle`` the driver's (``for_driver``), ``seed``
    what each thread's ``random.Random`` is seeded from (None: the system's randomness),
    ``variables`` what the run defines for every script besides pgbench's (a built-in
    workload's ``rows``)."""

    #: what the preflight and the Core runners read of a workload: a script has no one query
    query = ""
    commit = False
    allow_large_results = True

    def __init__(
        self,
        scripts: Sequence[Any],
        paramstyle: str = "format",
        seed: int | None = None,
        variables: Mapping[str, int] | None = None,
        cursor: Callable[[Any], Any] | None = None,
        session: Callable[[Any], None] | None = None,
    ):
        if not scripts:
            raise ValueError("a script workload needs at least one script")
        self.scripts = tuple(scripts)
        self.paramstyle = paramstyle
        self.seed = seed
        self.variables = dict(variables or {})
        #: what gives a script its cursor (``Driver.cursor_factory``); None: ``cursor()``
        self.cursor = cursor
        #: what each driver connection is given once, before its first script
        #: (``Driver.script_session``: psycopg's ints bound as int8); None: nothing
        self.session = session
        self.runners = tuple(
            ScriptRunner(f.script, paramstyle, cursor=cursor) for f in self.scripts
        )
        self._cumulative = list(itertools.accumulate(f.weight for f in self.scripts))
        self._local = threading.local()
        self._threads = itertools.count()
        self._lock = threading.Lock()
        self._tallies: list[StatementTally] = []
        #: the driver connections already put in autocommit (a pool's, persistent's)
        self._in_autocommit: weakref.WeakSet[Any] = weakref.WeakSet()

    def for_driver(self, driver: Any, prepared: bool | None = None) -> ScriptWorkload:
        """This workload with its statements bound in ``driver``'s paramstyle, and
        prepared (``prepared`` True), never prepared (False) or as the driver does by
        default (None: ``Driver.cursor_factory``)."""
        cursor = driver.cursor_factory(prepared)
        session = driver.script_session()
        if driver.paramstyle == self.paramstyle and cursor is None and session is self.session:
            return self
        return ScriptWorkload(
            self.scripts, driver.paramstyle, self.seed, self.variables, cursor, session
        )

    # ------------------------------------------------------------------ per thread

    def _thread(self) -> tuple[random.Random, StatementTally, dict[str, Any], list[Any]]:
        state = getattr(self._local, "state", None)
        if state is None:
            number = next(self._threads)
            seed = random.SystemRandom().getrandbits(63) if self.seed is None else self.seed
            rng = random.Random(f"{seed}/{number}")
            tally = StatementTally()
            with self._lock:
                self._tallies.append(tally)
            variables = {
                "scale": SCALE,
                "client_id": number,
                "random_seed": seed,
                "default_seed": rng.getrandbits(63),
                **self.variables,
            }
            #: the connection of the thread's last operation, in autocommit already,
            #: and the cursor its scripts execute on (None: each opens its own)
            last: list[Any] = [None, None]
            state = self._local.state = (rng, tally, variables, last)
        return state

    def pick(self, rng: random.Random) -> int:
        """The number of the script an operation runs, by weight (one script: no draw)."""
        if len(self._cumulative) == 1:
            return 0
        return bisect.bisect_right(self._cumulative, rng.randrange(self._cumulative[-1]))

    # ------------------------------------------------------------------ the operation

    def run_on(self, connection: Any) -> int:
        """One operation on a DB-API connection (a pool's wrapper or the driver's own):
        a script picked, run; the rows its statements returned.  A failed statement's
        ``StatementFailed`` is raised after its rollback, once recorded."""
        rng, tally, variables, last = self._thread()
        number = self.pick(rng)
        if connection is not last[0]:  # not the driver's connection of the last operation
            last[0] = self._ensure_autocommit(connection)
            # one cursor for as long as the connection is the thread's (persistent's), as
            # a hand-written loop keeps one: psycopg's costs some 4 µs to make
            last[1] = None if last[0] is None else self.runners[number].open_cursor(connection)
        try:
            result = self.runners[number].run(connection, rng, variables, last[1])
        except Exception as exc:
            # a cursor that saw a failure is not trusted again: the next operation makes
            # a new one (and the connection, perhaps lost, is checked again)
            stale, last[0], last[1] = last[1], None, None
            if stale is not None:
                with contextlib.suppress(Exception):
                    stale.close()
            if isinstance(exc, StatementFailed):
                tally.pending.append((number, exc.result))
            raise
        tally.pending.append((number, result))  # counted by settle(), after the timing
        return sum(s.rows for s in result.statements)

    def settle(self) -> None:
        """Count the calling thread's last operations' statements into its tally: the
        harness calls it after each operation, outside its timing (``Turn.record``), so
        that the histograms' bookkeeping is no part of the latency it measures, as for a
        query's operation.  ``take`` counts what is left."""
        state = getattr(self._local, "state", None)
        if state is not None and state[1].pending:
            state[1].settle()

    def _ensure_autocommit(self, connection: Any) -> Any:
        """Put the driver's connection under ``connection`` in autocommit unless it is
        already; ``connection`` when it is the driver's own (the next operation on it
        then checks nothing), else None (a wrapper is checked every time)."""
        # a pool's checkout is a wrapper around the driver's connection, a new one each time
        own = getattr(connection, "dbapi_connection", None) or connection
        try:
            if own not in self._in_autocommit:
                self._first_script(own)
                self._in_autocommit.add(own)
        except TypeError:  # no weak reference to it: set every time
            self._first_script(own)
            return None
        return connection if own is connection else None

    def _first_script(self, connection: Any) -> None:
        """What a driver connection is given before its first script: autocommit, and the
        driver's ``session``."""
        autocommit(connection)
        if self.session is not None:
            self.session(connection)

    def take(self) -> StatementTally:
        """What every thread recorded since the last ``take``, merged; the threads' own
        records cleared.  Between turns only, when no operation runs."""
        merged = StatementTally()
        for number, file in enumerate(self.scripts):
            merged.scripts[number] = (file.path, file.weight)
            for statement in file.script.statements:
                merged.texts[(number, statement.index)] = (statement.line, statement.sql)
        with self._lock:
            for tally in self._tallies:
                tally.settle()
                merged.merge(tally)
                tally.operations.clear()
                tally.think_ns.clear()
                tally.statements.clear()
        return merged
