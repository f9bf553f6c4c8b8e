"""One runner's turn, and the per-operation loop that threads and asyncio tasks share.

A ``Turn`` hands out operations (a quota, a duration, an open-loop schedule),
and records each one's outcome: into the worker's ``Tally``, the runner's
error timeline and recent latencies, and the run's ``ErrorLimit``.

The loop of one worker -- claim, wait for the scheduled start, time one
operation, record it -- is written once, as the coroutine ``work``.  An
asyncio task awaits it on its runner's event loop, its ``Steps`` awaited
(``run_once_async``, ``asyncio.sleep``); a worker thread drives it with
``run_sync``, its ``Steps`` plain calls (``run_once``, ``time.sleep``), so
that nothing in it ever suspends.  Either way the timed region holds the
clock readings and the runner's call, nothing else: no coroutine is made in it.
"""

from __future__ import annotations

import asyncio
import collections
import threading
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol, TypeVar

from dbbench import drivers
from dbbench.engine.timeline import ErrorTimeline
from dbbench.errors import Mentioning, mention
from dbbench.histogram import LatencyHistogram
from dbbench.runners.base import AsyncRunner, Runner
from dbbench.scripts.expr import ScriptError
from dbbench.scripts.run import StatementFailed

T = TypeVar("T")
Clock = Callable[[], int]
#: (elapsed ns, checkout ns, the error if the operation failed)
Timed = tuple[int, "int | None", "Exception | None"]


class Steps(NamedTuple):
    """How a worker runs one operation and waits: called on a thread, awaited in a task."""

    #: ``run_once(worker)``, or ``run_once_async(worker)`` when ``awaited``
    operation: Callable[[int], Any]
    #: ``time.sleep(seconds)``, or ``asyncio.sleep(seconds)`` when ``awaited``
    sleep: Callable[[float], Any]
    awaited: bool

    @classmethod
    def called(cls, runner: Runner) -> Steps:
        return cls(runner.run_once, time.sleep, False)

    @classmethod
    def awaiting(cls, runner: AsyncRunner) -> Steps:
        return cls(runner.run_once_async, asyncio.sleep, True)


def error_kind(exc: BaseException) -> str:
    """A short, stable name for an error: class name and driver error code, alike for
    every driver (``dbbench.drivers.error_kind``); a script's failed statement is its
    error's kind at the statement's place: ``IntegrityError(1062) at tx.sql:4``; a
    script's ``\\set`` or ``\\sleep`` that failed by what it drew, ``ScriptError at
    tx.sql:2``."""
    if isinstance(exc, StatementFailed):
        return f"{drivers.error_kind(exc.error)} at {exc.where}"
    if isinstance(exc, ScriptError) and exc.where is not None:
        return f"ScriptError at {exc.where}"
    return drivers.error_kind(exc)


@dataclass
class Tally:
    """What one worker (or a whole runner, once merged) recorded."""

    latency: LatencyHistogram = field(default_factory=LatencyHistogram)
    #: time to get a connection from a pool, for runners that report it
    checkout: LatencyHistogram = field(default_factory=LatencyHistogram)
    errors_by_kind: Counter[str] = field(default_factory=Counter)

    @property
    def errors(self) -> int:
        return sum(self.errors_by_kind.values())

    @property
    def attempted(self) -> int:
        return self.latency.count + self.errors

    def count(self, latency_ns: int, checkout_ns: int | None) -> None:
        """Record one successful operation."""
        self.latency.record(latency_ns)
        if checkout_ns is not None:
            self.checkout.record(checkout_ns)

    def count_error(self, exc: BaseException) -> str:
        """Record one failed operation, by kind; returns the kind."""
        kind = error_kind(exc)
        self.errors_by_kind[kind] += 1
        return kind

    def reset(self) -> None:
        self.latency.reset()
        self.checkout.reset()
        self.errors_by_kind.clear()

    def merge(self, other: Tally) -> None:
        self.latency.merge(other.latency)
        self.checkout.merge(other.checkout)
        self.errors_by_kind.update(other.errors_by_kind)

    def to_dict(self) -> dict[str, Any]:
        return {
            "latency": self.latency.to_dict(),
            "checkout": self.checkout.to_dict(),
            "errors_by_kind": dict(self.errors_by_kind),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Tally:
        return cls(
            latency=LatencyHistogram.from_dict(data["latency"]),
            checkout=LatencyHistogram.from_dict(data["checkout"]),
            errors_by_kind=Counter(data["errors_by_kind"]),
        )


class SharedCount(Protocol):
    """A ``multiprocessing.Value`` of an integer type, made with its lock."""

    def get_obj(self) -> Any: ...

    def get_lock(self) -> Any: ...


class ErrorLimit:
    """``--max-errors``: the run stops once ``limit`` operations failed, warm-up or measured.

    All runners and workers count together, and with ``shared`` (a
    ``multiprocessing.Value`` handed to every process) all processes too.  It
    is counted at every failure and read before every operation is handed
    out, so with W workers in all at most ``limit + W - 1`` operations fail:
    the limit's, and those already in flight when it was reached.
    """

    def __init__(self, limit: int, shared: SharedCount | None = None, already: int = 0) -> None:
        self.limit = limit
        #: failures counted before this run began (earlier repetitions of it)
        self.already = already
        #: the shared integer itself: read without its lock, before every operation
        self._shared = shared.get_obj() if shared is not None else None
        self._lock = shared.get_lock() if shared is not None else threading.Lock()
        self._count = 0

    @property
    def count(self) -> int:
        return self.already + (self._shared.value if self._shared is not None else self._count)

    @property
    def reached(self) -> bool:
        return self.count >= self.limit

    @property
    def message(self) -> Mentioning:
        return Mentioning(
            f"stopped after {self.limit} failed operations "
            f"({mention('[benchmark] max_errors')} = {self.limit})"
        )

    def failed(self) -> bool:
        """Count one failure; True once the limit is reached."""
        with self._lock:
            if self._shared is not None:
                self._shared.value += 1
                count = self._shared.value
            else:
                self._count += 1
                count = self._count
        return self.already + count >= self.limit


class Turn:
    """One runner's turn: workers run operations until the quota or the time is used up.

    ``timeline`` is the runner's while measuring; while warming up (None) a failure is
    only counted in the worker's tally, and toward ``limit`` (the run's, in every phase).
    """

    def __init__(
        self,
        runner: Runner,
        quota: int | None,
        duration_ns: int | None,
        rate_per_s: float | None,
        clock: Clock,
        timeline: ErrorTimeline | None = None,
        recent: collections.deque[int] | None = None,
        limit: ErrorLimit | None = None,
    ) -> None:
        self.runner = runner
        self.clock = clock
        self.timeline = timeline
        self.recent = recent
        self.limit = limit
        self.quota = quota
        self.interval_ns = 1e9 / rate_per_s if rate_per_s else None
        self.start_ns = clock()
        self.end_ns = self.start_ns + duration_ns if duration_ns is not None else None
        #: set on Ctrl-C or when the error limit is reached: no more operations are handed out
        self.stopped = False
        self._next = 0
        self._lock = threading.Lock()
        #: the workload's bookkeeping of an operation, done after its timing (a script's
        #: statements: ``ScriptWorkload.settle``); None for a workload that keeps none
        self._settle: Callable[[], None] | None = getattr(
            getattr(runner, "workload", None), "settle", None
        )

    def claim(self) -> int | None:
        """The next operation's number in this turn, or None when the turn is over."""
        with self._lock:
            if self.stopped or (self.quota is not None and self._next >= self.quota):
                return None
            if self.limit is not None and self.limit.reached:  # another worker or process's
                self.stopped = True
                return None
            index = self._next
            self._next += 1
            return index

    def next_start(self) -> tuple[int | None, int] | None:
        """Claim the next operation: (the clock reading its latency counts from, None
        for "when it starts"; nanoseconds to wait before starting it), or None when
        the turn is over."""
        index = self.claim()
        if index is None:
            return None
        if self.interval_ns is not None:
            scheduled = self.start_ns + int(index * self.interval_ns)
            if self.end_ns is not None and scheduled >= self.end_ns:
                return None
            # late starts count as latency: coordinated omission
            return scheduled, scheduled - self.clock()
        if self.end_ns is not None and self.clock() >= self.end_ns:
            return None
        return None, 0

    def record(self, tally: Tally, timed: Timed) -> None:
        """Count one operation's outcome; a failure that reaches the error limit ends the turn."""
        if self._settle is not None:
            self._settle()
        elapsed_ns, checkout_ns, error = timed
        if error is None:
            tally.count(elapsed_ns, checkout_ns)
            if self.recent is not None:
                self.recent.append(elapsed_ns)
            if self.timeline is not None and self.timeline.awaiting_recovery:
                self.timeline.success()
            return
        kind = tally.count_error(error)
        if self.timeline is not None:
            self.timeline.error(kind)
        if self.limit is not None and self.limit.failed():
            self.stopped = True


async def time_one(steps: Steps, worker: int, clock: Clock, start_ns: int | None = None) -> Timed:
    """One operation, timed from ``start_ns`` (its scheduled start) or from when it starts."""
    operation, awaited = steps.operation, steps.awaited
    if start_ns is None:
        start_ns = clock()
    try:
        checkout_ns = (await operation(worker)) if awaited else operation(worker)
    except Exception as exc:  # counted, never fatal: the run goes on
        return clock() - start_ns, None, exc
    return clock() - start_ns, checkout_ns, None


async def work(turn: Turn, worker: int, tally: Tally, steps: Steps) -> None:
    """The per-operation loop of one worker, threads' and tasks' alike."""
    while (slot := turn.next_start()) is not None:
        start_ns, delay_ns = slot
        if delay_ns > 0:
            if steps.awaited:
                await steps.sleep(delay_ns / 1e9)
            else:
                steps.sleep(delay_ns / 1e9)
        turn.record(tally, await time_one(steps, worker, turn.clock, start_ns))


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run, in this thread, a coroutine that never suspends (its ``Steps`` are plain calls)."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise RuntimeError("a thread's operation awaited an event loop; use an AsyncRunner")


class TurnExecutor(Protocol):
    """How a runner's operations run: on worker threads, or as asyncio tasks on its loop."""

    def run(self, turn: Turn, tallies: list[Tally], poll: Callable[[], None]) -> None:
        """Run ``turn`` with one worker per tally; ``poll`` about once a second meanwhile.

        On Ctrl-C the turn is stopped, operations in flight finish, and the
        KeyboardInterrupt goes on: the tallies hold everything recorded."""

    def time_one(self, runner: Runner, clock: Clock) -> Timed:
        """One operation of worker 0, timed (turns of one operation)."""

    def close(self) -> None: ...
