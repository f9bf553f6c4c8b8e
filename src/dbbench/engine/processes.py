"""Several processes, each with its own runners (its own pool) and its share of the workers.

This is how an application with several worker processes per host uses a
pool: one pool per process.  Every process runs ``harness.run_interleaved``;
a ``BarrierCoordinator`` keeps their turns in step (the same runner runs in
every process at once), and at the end each process sends its records --
histograms, counts, pool counters -- to the parent, which merges them
exactly (histograms add bucket by bucket; counts add).

Processes are started with the "spawn" method: a clean interpreter, no
inherited threads or sockets.  Settings travel over a pipe, never in the
process arguments, so the password does not show in ``ps``.
"""

from __future__ import annotations

import array
import contextlib
import dataclasses
import itertools
import math
import multiprocessing
import os
import queue as queue_module
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from multiprocessing.synchronize import Barrier
from typing import Any, Literal

from dbbench import interruption
from dbbench.config.settings import Settings
from dbbench.drivers import diagnosis
from dbbench.engine.harness import (
    CheckpointCallback,
    Coordinator,
    Plan,
    Progress,
    ProgressCallback,
    RunnerProgress,
    RunnerRecord,
    RunOutcome,
    RunStopped,
    merge_records,
    nearest_rank_p99,
)
from dbbench.engine.harness import run_interleaved as run_in_this_process
from dbbench.errors import ConnectError, QueryError
from dbbench.scripts.expr import ScriptError
from dbbench.scripts.run import StatementFailed

#: a turn lasts a slice, but an operation in flight or a slow cold start may take longer
BARRIER_TIMEOUT_S = 600.0
#: how often a worker process sends its progress
PROGRESS_EVERY_S = 1.0


class Children:
    """The worker processes of one run: started on entry, joined (or killed) on exit.

    They start with the stop signals blocked (``interruption.spawning``): one that
    reaches them while their interpreter starts up waits until their handlers are in.
    While they run, every stop signal to this process (SIGINT, SIGTERM, SIGHUP) is
    passed on to them as a SIGINT, as a terminal's Ctrl-C would reach them, so they
    stop and send what they measured; here it is handled by ``interruption``'s rules
    (the CLI's: the run stops as Ctrl-C stops it).  The exit waits ``JOIN_TIMEOUT_S``
    for them all, whatever signal comes, then kills those left.  Left on an exception
    (a signal while they start, a failure), nothing they would send is read: ``stop``
    is called (the barrier aborted: no worker waits for the others), they are
    interrupted, and killed after ``GRACE_S`` (one starting up would take seconds to
    hear of it).
    """

    #: how long the exit waits for the workers to end on their own, all together
    JOIN_TIMEOUT_S = 30.0
    #: the same, when the block is left on an exception
    GRACE_S = 1.0

    def __init__(self, processes: Sequence[Any], stop: Callable[[], None] = lambda: None) -> None:
        self.processes = list(processes)
        self.stop = stop
        self._signals = contextlib.ExitStack()

    def __enter__(self) -> Children:
        self._signals.enter_context(interruption.stop_on_signals(then=self._pass_on))
        try:
            with interruption.spawning():
                for process in self.processes:
                    process.start()
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        return self

    def __exit__(self, exc_type: object = None, *exc_info: object) -> None:
        try:
            # what they sent is being gathered: a signal now lets it be kept
            with interruption.held(then_act=False):
                wait_s = self.JOIN_TIMEOUT_S
                if exc_type is not None:
                    self.stop()
                    self.interrupt()
                    wait_s = self.GRACE_S
                deadline = time.monotonic() + wait_s
                started = [process for process in self.processes if process.pid is not None]
                for process in started:
                    process.join(timeout=max(0.0, deadline - time.monotonic()))
                for process in started:
                    if process.is_alive():
                        process.kill()
                        process.join()
        finally:
            self._signals.close()

    def interrupt(self) -> None:
        """Send SIGINT to the worker processes still running."""
        for process in self.processes:
            if process.pid is not None and process.is_alive():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGINT)

    def _pass_on(self, signum: int) -> None:
        self.interrupt()


class ProcessFailed(Exception):
    """A worker process failed before it could send its results."""


@dataclass(frozen=True)
class Failure:
    """Why a worker process stopped before it could measure, as it sends it.

    - "connect", "query": its first operation failed; ``text`` is the diagnosis
      a single process would print (``diagnosis.operation_error``), a script's failed
      statement named by its place (``tx.sql:4``) as the query;
    - "script": a script's ``\\set`` or ``\\sleep`` failed (``ScriptError``, one line);
    - "other": anything else (a bug, a crash); ``text`` is the exception's.
    """

    kind: Literal["connect", "query", "script", "other"]
    text: str

    @classmethod
    def of(cls, exc: BaseException, settings: Settings) -> Failure:
        if isinstance(exc, StatementFailed):
            error = diagnosis.operation_error(exc.error, settings.database, exc.where, script=True)
            return cls("query" if isinstance(error, QueryError) else "connect", error.template)
        if isinstance(exc, ScriptError):
            return cls("script", str(exc))
        if not diagnosis.is_operation_failure(exc):
            # exceptions do not all survive pickling; their text does
            return cls("other", f"{type(exc).__name__}: {exc}")
        error = diagnosis.operation_error(exc, settings.database, settings.benchmark.query)
        return cls("query" if isinstance(error, QueryError) else "connect", error.template)

    def error(self, process: int) -> Exception:
        """What the parent raises: the diagnosis a single process would raise, else
        ``ProcessFailed`` naming the process."""
        if self.kind == "query":
            return QueryError(self.text)
        if self.kind == "connect":
            return ConnectError(self.text)
        if self.kind == "script":
            return ScriptError(self.text)
        return ProcessFailed(f"worker process {process}: {self.text}")


@dataclass(frozen=True)
class Message:
    """What a worker process tells the parent, over the queue.

    - "progress": ``payload`` is a ``ProgressReport``, its latest figures;
    - "checkpoint": its records so far, ``[RunnerRecord.to_dict(), ...]``;
    - "result": its ``RunOutcome.to_dict()``, the last message of a process that measured;
    - "error": a ``Failure``, what stopped it before it could measure (the last message too).

    A task on a Dask cluster (``engine/cluster.py``) sends its turns through them too:
    "host" (its host's name, first: a worker lost later keeps it), "ready" (``(turn, work
    left)``), "started" (its wall-clock time at the start of the measuring) and "stop"
    (it stopped: the others must).
    """

    kind: Literal[
        "progress", "checkpoint", "result", "error", "host", "ready", "started", "stop"
    ]
    process: int
    payload: Any


@dataclass(frozen=True)
class ProgressReport:
    """A worker process's progress as it sends it: ``progress`` without the runners'
    recent latencies, and the latencies of the runners whose latencies changed since
    its last report (nanoseconds, by the runner's index; empty for none yet): the
    parent takes the p99 of all processes' together.

    The latencies travel as they are, not as a histogram: an array of 4,096 is
    pickled by the queue's feeder thread in C, where building and encoding a
    histogram of them would hold the process's interpreter for milliseconds,
    while its workers wait to time their operations' ends.
    """

    progress: Progress
    recent: dict[int, array.array]


class ProgressSender:
    """A worker process's ``on_progress``: sends a report at every new turn (so that
    each runner is shown with its own figures, however its turns fall in time), at
    a turn's end (the runner's measured time grew: a report from inside the turn,
    when its first worker finished, came before), and otherwise at most every
    ``PROGRESS_EVERY_S``."""

    def __init__(
        self, index: int, put: Callable[[Message], None], clock: Callable[[], float]
    ) -> None:
        self.index, self.put, self.clock = index, put, clock
        #: the turn and the current runner's measured time of the last report sent
        self.sent_key: tuple[int, int] | None = None
        self.sent_at_s = -math.inf
        #: each runner's recent latencies as last sent (the harness makes a new
        #: tuple only for the runner it runs)
        self.sent_recent: list[tuple[int, ...]] = []

    def __call__(self, progress: Progress) -> None:
        now = self.clock()
        current = progress.current
        key = (progress.turn, current.measured_ns if current is not None else 0)
        if key == self.sent_key and now - self.sent_at_s < PROGRESS_EVERY_S:
            return
        self.sent_key, self.sent_at_s = key, now
        recent = {
            index: array.array("q", runner.recent_ns)
            for index, runner in enumerate(progress.runners)
            if index >= len(self.sent_recent) or runner.recent_ns is not self.sent_recent[index]
        }
        self.sent_recent = [runner.recent_ns for runner in progress.runners]
        stripped = dataclasses.replace(
            progress,
            runners=tuple(dataclasses.replace(r, recent_ns=()) for r in progress.runners),
        )
        self.put(Message("progress", self.index, ProgressReport(stripped, recent)))


class LiveProgress:
    """The processes' progress reports put together, as the parent shows them.

    Shown is the turn furthest on that any process reported (its phase and
    runner): a late report, or a burst of them, from a process behind the others
    updates that process's figures without taking the display back to an
    earlier turn.  A runner's throughput is shown once every process has
    measured it; its recent p99 is that of every process's recent latencies
    together, as one process takes its own (``harness.nearest_rank_p99``).
    """

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self.latest: dict[int, Progress] = {}
        #: (process, runner index) -> that process's recent latencies of that runner
        self.recent: dict[tuple[int, int], array.array] = {}
        #: runner index -> the p99 of all processes' recent latencies, once asked for
        self.p99: dict[int, int | None] = {}

    def add(self, process: int, report: ProgressReport) -> Progress:
        """Note a process's report; the combined progress to show now."""
        self.latest[process] = report.progress
        for index, latencies in report.recent.items():
            self.p99.pop(index, None)
            self.recent[process, index] = latencies
        shown = max(self.latest.values(), key=lambda progress: progress.turn)
        return _combine(self.latest.values(), shown, self.recent_p99_ns, self.processes)

    def recent_p99_ns(self, index: int) -> int | None:
        """The p99 of runner ``index``'s recent latencies in every process."""
        if index not in self.p99:
            self.p99[index] = nearest_rank_p99(
                itertools.chain.from_iterable(
                    latencies for (_, runner), latencies in self.recent.items() if runner == index
                )
            )
        return self.p99[index]


class BarrierCoordinator(Coordinator):
    def __init__(self, barrier: Barrier, flags: Any, index: int) -> None:
        self.barrier, self.flags, self.index = barrier, flags, index

    def agree(self, work_left: bool) -> bool:
        try:
            self.flags[self.index] = int(work_left)
            self.barrier.wait(BARRIER_TIMEOUT_S)  # everyone has written
            decision = any(self.flags[:])
            self.barrier.wait(BARRIER_TIMEOUT_S)  # everyone has read
        except threading.BrokenBarrierError:
            raise RunStopped("another process stopped") from None
        return decision

    def stop(self) -> None:
        self.barrier.abort()


def split(total: int, parts: int) -> list[int]:
    """``total`` as ``parts`` near-equal whole shares, larger ones first: 10, 3 -> 4, 3, 3."""
    share, extra = divmod(total, parts)
    return [share + (1 if i < extra else 0) for i in range(parts)]


def process_plans(plan: Plan, processes: int) -> list[Plan]:
    """Each process's plan: its share of the workers, operations, rate and warm-up."""
    workers = split(plan.concurrency, processes)
    operations = split(plan.iterations, processes) if plan.iterations is not None else None
    return [
        dataclasses.replace(
            plan,
            concurrency=workers[i],
            iterations=operations[i] if operations is not None else None,
            rate_per_s=plan.rate_per_s * workers[i] / plan.concurrency if plan.rate_per_s else None,
            warmup=max(1, plan.warmup * workers[i] // plan.concurrency) if plan.warmup else 0,
        )
        for i in range(processes)
    ]


def _child(
    index: int,
    settings: Settings,
    runner_names: Sequence[str],
    plan: Plan,
    barrier: Barrier,
    flags: Any,
    messages: Any,
    checkpoints: bool,
    shared_errors: Any,
) -> None:
    """The body of one worker process: run, then send the records (or the error)."""
    from dbbench import logs
    from dbbench.runners import create_runner

    logs.configure(debug=False)

    def send_checkpoint(records: list[RunnerRecord]) -> None:
        messages.put(Message("checkpoint", index, [r.to_dict() for r in records]))

    # SIGINT (the parent's Children.interrupt(), a terminal's Ctrl-C), SIGTERM and
    # SIGHUP stop the run as in one process; started blocked, they are unblocked here
    with interruption.stop_on_signals(worker=True, last=True):
        try:
            runners = [create_runner(name, settings) for name in runner_names]
            with interruption.interruptible():
                outcome = run_in_this_process(
                    runners,
                    plan,
                    on_progress=ProgressSender(index, messages.put, time.monotonic),
                    coordinator=BarrierCoordinator(barrier, flags, index),
                    on_checkpoint=send_checkpoint if checkpoints else None,
                    shared_errors=shared_errors,
                )
            # measured: a signal from here on lets it be sent (interruption's rules)
            last = Message("result", index, outcome.to_dict())
        except BaseException as exc:
            barrier.abort()  # release the others: they stop and send what they have
            last = Message("error", index, Failure.of(exc, settings))
        with interruption.held(then_act=False):  # the process ends with it
            messages.put(last)
            _flush(messages)


def _flush(messages: Any) -> None:
    """Wait until what was put on a ``multiprocessing`` queue is in the pipe: a process
    that ends on a signal after this has sent it whole."""
    if hasattr(messages, "join_thread"):
        messages.close()
        messages.join_thread()


def run_in_processes(
    settings: Settings,
    runner_names: Sequence[str],
    plan: Plan,
    processes: int,
    on_progress: ProgressCallback | None = None,
    on_checkpoint: CheckpointCallback | None = None,
) -> RunOutcome:
    """Run ``plan`` split over ``processes`` processes and merge their records.

    With ``on_checkpoint``, each process sends its records at its checkpoints
    and the parent hands on the merge of the latest from each.  ``plan.max_errors``
    counts the failed operations of all processes together.
    """
    context = multiprocessing.get_context("spawn")
    # the first of these starts multiprocessing's resource tracker: with the stop signals
    # blocked, a SIGHUP to the process group does not end it before the run ends
    with interruption.spawning():
        barrier = context.Barrier(processes)
        flags = context.Array("b", processes, lock=False)
        messages = context.Queue()
        shared_errors = context.Value("q", 0) if plan.max_errors is not None else None
    started_at_s = time.time()
    children = [
        context.Process(
            target=_child,
            args=(
                i,
                settings,
                list(runner_names),
                child_plan,
                barrier,
                flags,
                messages,
                on_checkpoint is not None,
                shared_errors,
            ),
            name=f"dbbench-process-{i}",
        )
        # the parent's start: every process's error timeline counts from it
        for i, child_plan in enumerate(
            process_plans(dataclasses.replace(plan, origin_s=started_at_s), processes)
        )
    ]
    results: dict[int, RunOutcome] = {}
    errors: dict[int, Failure] = {}
    live = LiveProgress(processes)
    checkpoints: dict[int, list[RunnerRecord]] = {}
    interrupted = False
    heard: set[int] = set()  # the processes that sent anything: they are under way
    with Children(children, stop=barrier.abort) as running:
        try:
            while len(results) + len(errors) < processes:
                # a signal while they started, or while a message was read: stop now
                interruption.check()
                try:
                    # a message read whole, or not at all; and not lost to a raise
                    with interruption.held(then_act=False):
                        message: Message = messages.get(timeout=0.5)
                except queue_module.Empty:
                    _check_exits(children, results, errors)
                    continue
                heard.add(message.process)
                if message.kind == "progress":
                    shown = live.add(message.process, message.payload)
                    if on_progress is not None:
                        on_progress(shown)
                elif message.kind == "checkpoint":
                    records = [RunnerRecord.from_dict(r) for r in message.payload]
                    checkpoints[message.process] = records
                    on_checkpoint(merge_records(runner_names, checkpoints.values()))
                else:
                    _finished(message, results, errors)
        except KeyboardInterrupt:
            # Each stop signal was passed on to the workers (Children), and breaking the
            # barrier stops them at their next turn too: they send what they measured.
            interrupted = True
            barrier.abort()
            running.interrupt()  # those started after the signal have not heard of it
            _drain(messages, results, errors, children, heard)

    if not results:
        if errors and not interrupted:
            first = min(errors)
            raise errors[first].error(first)
        # interrupted before any process measured (still starting, say): nothing to
        # merge, and not a failure -- as in one process, an incomplete, empty run
        return RunOutcome(merge_records(runner_names, []), False, started_at_s, time.time(), plan)
    merged = RunOutcome.merge([results[i] for i in sorted(results)], plan)
    # the run began here, before the processes were started: its error timeline counts from it
    merged.started_at_s, merged.finished_at_s = started_at_s, time.time()
    merged.complete = merged.complete and not interrupted and len(results) == processes
    return merged


def _finished(message: Message, results: dict, errors: dict) -> None:
    """Note a process's last message: its outcome, or why it has none."""
    if message.kind == "result":
        results[message.process] = RunOutcome.from_dict(message.payload)
    elif message.kind == "error":
        errors[message.process] = message.payload


def _check_exits(children: list, results: dict, errors: dict) -> None:
    """A child that died without a word (killed, crashed) counts as failed."""
    for i, child in enumerate(children):
        if not child.is_alive() and i not in results and i not in errors:
            text = f"exited with status {child.exitcode} before sending results"
            errors[i] = Failure("other", text)


#: after an interrupt, how long the workers get to stop on their own before they are sent one
NUDGE_AFTER_S = 2.0


def _drain(messages: Any, results: dict, errors: dict, children: list, heard: set) -> None:
    """After an interrupt: gather what each worker sends last (its result, or why it has
    none), for 30 s at most."""
    start = time.monotonic()
    deadline, nudged = start + 30, False
    while len(results) + len(errors) < len(children) and time.monotonic() < deadline:
        if not nudged and time.monotonic() - start >= NUDGE_AFTER_S:
            # each worker was sent a SIGINT with each signal (Children): one that has not
            # answered is sent another, should it have been lost; one that never sent
            # anything is still starting up (its signals blocked until its handlers are
            # in), has measured nothing, and would take seconds more to hear: killed
            nudged = True
            for i, child in enumerate(children):
                if i not in results and i not in errors and child.is_alive():
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(child.pid, signal.SIGINT if i in heard else signal.SIGKILL)
        try:
            message: Message = messages.get(timeout=0.5)
        except queue_module.Empty:
            _check_exits(children, results, errors)
            continue
        heard.add(message.process)
        _finished(message, results, errors)


def _combine(
    progress: Iterable[Progress],
    shown: Progress,
    recent_p99_ns: Callable[[int], int | None],
    processes: int,
) -> Progress:
    """One progress report from every process's latest; ``shown`` names the turn shown.

    The processes run the same runner at the same time.  A runner's throughput
    is the sum of the ``processes``' own (each over its own measured time, so
    that a report a second older than another does not skew it), None until
    each has one; its recent p99 is ``recent_p99_ns(runner index)``, all the
    processes' latencies' together.
    """
    items = list(progress)
    # a pool's checked-out count is only a figure of the runner it belongs to
    checked = [
        p.checked_out for p in items if p.checked_out is not None and p.runner == shown.runner
    ]
    return Progress(
        phase=shown.phase,
        runner=shown.runner,
        done=sum(p.done for p in items),
        total=sum(p.total for p in items)
        if len(items) == processes and all(p.total for p in items)
        else None,
        elapsed_s=max(p.elapsed_s for p in items),
        total_s=shown.total_s,
        errors=sum(p.errors for p in items),
        checked_out=sum(checked) if checked else None,
        runners=tuple(
            _combine_runner(parts, recent_p99_ns(index), processes)
            for index, parts in enumerate(zip(*(p.runners for p in items), strict=True))
        ),
        turn=shown.turn,
    )


def _combine_runner(
    parts: Sequence[RunnerProgress], recent_p99_ns: int | None, processes: int
) -> RunnerProgress:
    rates = [p.ops_per_s for p in parts if p.ops_per_s is not None]
    return RunnerProgress(
        runner=parts[0].runner,
        operations=sum(p.operations for p in parts),
        errors=sum(p.errors for p in parts),
        measured_ns=max(p.measured_ns for p in parts),
        ops_per_s=sum(rates) if len(rates) == processes else None,
        recent_p99_ns=recent_p99_ns,
    )
