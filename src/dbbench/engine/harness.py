"""The harness: turns runners and a plan into latency histograms, honestly.

- Cold start: each runner's ``open()`` and first operation are timed together
  and reported on their own (the pool's first physical connect lives there),
  never mixed into the steady state.  A script's first operation may fail by the
  data it drew (a duplicate key, a division by a zero drawn, a deadlock): it is
  tried again, up to ``COLD_START_TRIES`` times in all, each failure counted as a
  warm-up error; one that fails every time (a table that does not exist) stops the
  run before anything is measured, as any failed cold start does.
- Warm-up: ``plan.warmup`` operations per runner (at least one per worker),
  not recorded; their failures are counted apart.
- Turns: runners take turns so that drift on a noisy machine, and any
  after-effect of one runner on the next, falls on all of them alike.  With
  one worker and a fixed number of operations the turn is one operation
  (ABC, BCA, CAB, ...: the order rotates each round).  Otherwise a turn lasts
  ``plan.slice_s`` seconds (or until the runner's operations are done), with
  all workers running that runner at once, and the order rotates likewise.
- Closed loop by default: each worker starts its next operation when the last
  one ends.  Open loop (``plan.rate_per_s``): operations are scheduled at a
  fixed rate and each one's latency is measured from its *scheduled* start, so
  time spent queueing behind a slow operation (for a pool connection, say) is
  counted, not hidden (coordinated omission).
- Only ``run_once()`` is inside the clock.  Bookkeeping happens between
  operations; the progress display is refreshed between operations with one
  worker, and from the main thread at most once a second with several.
- Ctrl-C stops the run; what was measured so far is returned, marked
  incomplete, and every runner is closed.
- An ``AsyncRunner`` (operations are coroutines) runs its turns as asyncio
  tasks on its own event loop (``engine/tasks.py``) instead of on the worker threads
  (``engine/threads.py``); both run the one per-operation loop of ``engine/turn.py``, so
  everything above holds for it alike.
- ``plan.max_errors`` is counted at every failed operation, warm-up's included (a
  query that fails everywhere stops the run in its warm-up, before thousands of
  failures reach the server), and checked before every operation is handed out:
  with W workers at most ``max_errors + W - 1`` operations fail before the run stops.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from dbbench.engine.tasks import Tasks
from dbbench.engine.threads import Threads
from dbbench.engine.timeline import ErrorTimeline
from dbbench.engine.turn import ErrorLimit, SharedCount, Tally, Turn, TurnExecutor
from dbbench.runners.base import AsyncRunner, Runner
from dbbench.runners.poolstats import PoolCounters
from dbbench.scripts.expr import ScriptError
from dbbench.scripts.run import StatementFailed
from dbbench.workload_script import StatementTally

#: latencies kept for the live p99 shown while running (not for results)
RECENT_WINDOW = 4096
#: with several workers, the main thread wakes this often to refresh progress
PROGRESS_INTERVAL_S = 1.0
#: progress is reported at most this often (between operations with one worker)
REPORT_EVERY_NS = 250_000_000
#: how often a script's first operation is tried when its statements fail (its data)
COLD_START_TRIES = 10


@dataclass(frozen=True)
class Plan:
    #: measured operations per runner, all workers together; None with duration_s
    iterations: int | None = 100
    #: instead of iterations: how long each runner is measured, in seconds
    duration_s: float | None = None
    #: warm-up operations per runner (at least one per worker is run)
    warmup: int = 10
    #: worker threads running operations at once
    concurrency: int = 1
    #: open loop: operations per second per runner, all workers together
    rate_per_s: float | None = None
    #: length of a runner's turn when turns are not single operations
    slice_s: float = 0.25
    #: stop the run once this many measured operations failed (all runners); None: never
    max_errors: int | None = None
    #: operations that failed in earlier repetitions of the run: they count toward max_errors
    errors_before: int = 0
    #: wall-clock time (``time.time()``) the error timeline counts from; None: this
    #: call's start (several processes are given their parent's, to agree on "when")
    origin_s: float | None = None

    @property
    def turns_of_one_operation(self) -> bool:
        return self.concurrency == 1 and self.duration_s is None and self.rate_per_s is None

    @property
    def warmup_operations(self) -> int:
        return max(self.warmup, self.concurrency) if self.warmup else 0


@dataclass
class RunnerRecord:
    runner: str
    tally: Tally = field(default_factory=Tally)
    #: ``open()`` plus the first operation, nanoseconds; None if not reached
    first_op_ns: int | None = None
    warmup_errors: int = 0
    #: wall time this runner was being measured, nanoseconds (sum of its turns)
    measured_ns: int = 0
    #: what the runner reports of its pool at the end (``Runner.counters()``)
    pool_counters: PoolCounters | None = None
    #: physical connections the runner opened, cold start and warm-up included
    connections_opened: int = 0
    #: of those, the connects that failed (``Runner.connects_failed``)
    connects_failed: int = 0
    #: when measured operations failed, and when they succeeded again
    timeline: ErrorTimeline = field(default_factory=ErrorTimeline)
    #: a run of scripts: each statement's measured figures (``ScriptWorkload.take``)
    statements: StatementTally | None = None

    @property
    def errors(self) -> int:
        return self.tally.errors

    @property
    def connections_made(self) -> int:
        """The connections opened that were made (the connects that succeeded)."""
        return max(0, self.connections_opened - self.connects_failed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "runner": self.runner,
            "tally": self.tally.to_dict(),
            "first_op_ns": self.first_op_ns,
            "warmup_errors": self.warmup_errors,
            "measured_ns": self.measured_ns,
            "pool_counters": self.pool_counters.to_document() if self.pool_counters else None,
            "connections_opened": self.connections_opened,
            "connects_failed": self.connects_failed,
            "error_timeline": self.timeline.to_dict(),
            "statements": self.statements.to_dict() if self.statements is not None else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunnerRecord:
        counters = data["pool_counters"]
        statements = data.get("statements")
        return cls(
            runner=data["runner"],
            tally=Tally.from_dict(data["tally"]),
            first_op_ns=data["first_op_ns"],
            warmup_errors=data["warmup_errors"],
            measured_ns=data["measured_ns"],
            pool_counters=PoolCounters.from_document(counters),
            connections_opened=data["connections_opened"],
            connects_failed=data.get("connects_failed", 0),
            timeline=ErrorTimeline.from_dict(data.get("error_timeline")),
            statements=StatementTally.from_dict(statements) if statements else None,
        )

    def add_statements(self, statements: StatementTally) -> None:
        if self.statements is None:
            self.statements = StatementTally()
        self.statements.merge(statements)

    def merge(self, other: RunnerRecord) -> None:
        """Add another process's record of the same runner (they ran at the same time)."""
        self.tally.merge(other.tally)
        self.warmup_errors += other.warmup_errors
        self.connections_opened += other.connections_opened
        self.connects_failed += other.connects_failed
        self.timeline.merge(other.timeline)
        if other.statements is not None:
            self.add_statements(other.statements)
        self.measured_ns = max(self.measured_ns, other.measured_ns)
        if self.first_op_ns is None:
            self.first_op_ns = other.first_op_ns
        if other.pool_counters is not None:
            self.pool_counters = (
                other.pool_counters
                if self.pool_counters is None
                else self.pool_counters + other.pool_counters
            )


@dataclass(frozen=True)
class RunnerProgress:
    """One runner's figures so far, counted as its result will count them."""

    runner: str
    #: successful measured operations
    operations: int
    errors: int
    #: the wall time it was measured (the sum of its turns), nanoseconds
    measured_ns: int
    #: its throughput so far, ``operations / measured``: its result's ``ops_per_s``
    #: had the run ended now; None before it was measured
    ops_per_s: float | None
    #: p99 of its last ``RECENT_WINDOW`` successful operations; None before any
    recent_p99_ns: int | None
    #: those latencies themselves, in nanoseconds (a worker process sends them on)
    recent_ns: tuple[int, ...] = field(default=(), repr=False, compare=False)


@dataclass(frozen=True)
class Progress:
    """What the harness reports while it runs."""

    phase: str  # "cold start", "warm-up", "measuring"
    #: the runner being run now
    runner: str
    #: measured operations attempted so far, all runners
    done: int
    #: measured operations planned, all runners; None when running for a duration
    total: int | None
    elapsed_s: float
    #: measured seconds planned, all runners; None when running for a number of operations
    total_s: float | None
    errors: int
    #: pool connections checked out now, for runners with a pool
    checked_out: int | None
    #: every runner's own figures, in the run's order
    runners: tuple[RunnerProgress, ...] = ()
    #: the turn being run, counted from 1 at the first cold start; processes in step
    #: number their turns alike (with turns of one operation, each operation is one)
    turn: int = 0

    @property
    def current(self) -> RunnerProgress | None:
        """The figures of the runner being run now."""
        return next((r for r in self.runners if r.runner == self.runner), None)

    @property
    def ops_per_s(self) -> float | None:
        """The current runner's throughput so far, while measuring."""
        current = self.current
        return current.ops_per_s if current is not None and self.phase == "measuring" else None

    @property
    def recent_p99_ns(self) -> int | None:
        current = self.current
        return current.recent_p99_ns if current is not None else None


ProgressCallback = Callable[[Progress], None]
#: called between turns, at most every CHECKPOINT_EVERY_S, with the records so far
CheckpointCallback = Callable[[list["RunnerRecord"]], None]
CHECKPOINT_EVERY_S = 1.0


class Coordinator:
    """Keeps the turns of several processes in step; alone, it agrees with itself.

    Before each turn every process says whether it still has work for that
    runner; all of them then take the turn (an empty one where there is no
    work left) or all skip it, so the same runner runs everywhere at once.
    """

    def agree(self, work_left: bool) -> bool:
        return work_left

    def stop(self) -> None:
        """Tell the other processes this one stopped (Ctrl-C)."""

    def measuring(self) -> None:
        """The warm-up is over: with processes on several hosts (``engine/cluster.py``),
        wait here until all of them are, so that they start measuring together."""


class RunStopped(Exception):
    """Another process stopped: end this one as if interrupted."""


def _statements_of(runner: Runner) -> Callable[[], StatementTally] | None:
    """A runner's ``take`` of its script statements' figures (``ScriptWorkload.take``), or
    None when its workload runs no script."""
    return getattr(getattr(runner, "workload", None), "take", None)


def merge_records(
    runner_names: Sequence[str], per_process: Iterable[Sequence[RunnerRecord]]
) -> list[RunnerRecord]:
    """Each runner's records from several processes that ran it at the same time, as one."""
    merged = [RunnerRecord(name) for name in runner_names]
    for records in per_process:
        for target, record in zip(merged, records, strict=True):
            target.merge(record)
    return merged


@dataclass
class RunOutcome:
    records: list[RunnerRecord]
    #: False when the run was interrupted before it finished
    complete: bool
    started_at_s: float
    finished_at_s: float
    plan: Plan
    #: why the run stopped early, when not interrupted (``ErrorLimit.message``)
    stopped: str | None = None
    #: run on a Dask cluster: each process's worker and records (``cluster.ClusterRun``)
    cluster: Any = None

    def to_dict(self) -> dict[str, Any]:
        """For another process (``from_dict``): records with their histograms, and the rest."""
        return {
            "records": [record.to_dict() for record in self.records],
            "complete": self.complete,
            "started_at_s": self.started_at_s,
            "finished_at_s": self.finished_at_s,
            "plan": dataclasses.asdict(self.plan),
            "stopped": self.stopped,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunOutcome:
        return cls(
            records=[RunnerRecord.from_dict(record) for record in data["records"]],
            complete=data["complete"],
            started_at_s=data["started_at_s"],
            finished_at_s=data["finished_at_s"],
            plan=Plan(**data["plan"]),
            stopped=data["stopped"],
        )

    @classmethod
    def merge(cls, parts: Sequence[RunOutcome], plan: Plan) -> RunOutcome:
        """The outcomes of processes that ran their shares of ``plan`` at the same time.

        Complete only if every part is; stopped if any part was (the first
        one's reason); from the first start to the last finish.
        """
        names = [record.runner for record in parts[0].records]
        return cls(
            records=merge_records(names, [part.records for part in parts]),
            complete=all(part.complete for part in parts),
            started_at_s=min(part.started_at_s for part in parts),
            finished_at_s=max(part.finished_at_s for part in parts),
            plan=plan,
            stopped=next((part.stopped for part in parts if part.stopped), None),
        )


def nearest_rank_p99(latencies_ns: Iterable[int]) -> int | None:
    """The nearest-rank p99, as ``LatencyHistogram.percentile(0.99)`` takes it."""
    ordered = sorted(latencies_ns)
    return ordered[max(0, -(-len(ordered) * 99 // 100) - 1)] if ordered else None


class TooManyErrors(Exception):
    """``plan.max_errors`` operations failed (warm-up or measured): the run stops, results
    kept."""


class _Run:
    """The state of one ``run_interleaved`` call."""

    def __init__(
        self,
        runners: Sequence[Runner],
        plan: Plan,
        on_progress: ProgressCallback | None,
        clock: Callable[[], int],
        coordinator: Coordinator,
        on_checkpoint: CheckpointCallback | None = None,
        origin_s: float = 0.0,
        shared_errors: SharedCount | None = None,
    ) -> None:
        self.coordinator = coordinator
        self.on_checkpoint = on_checkpoint
        self.last_checkpoint_s = time.monotonic()
        #: grows when summarising takes long (many runners): a checkpoint must
        #: never take more than a tenth of the run's time
        self.checkpoint_every_s = CHECKPOINT_EVERY_S
        self.runners = list(runners)
        self.plan = plan
        self.clock = clock
        self.on_progress = on_progress
        self.records = [
            RunnerRecord(runner.name, timeline=ErrorTimeline(origin_s)) for runner in runners
        ]
        #: each runner's latest latencies, for its live p99
        self.recent = [collections.deque[int](maxlen=RECENT_WINDOW) for _ in runners]
        self.recent_p99: list[int | None] = [None for _ in runners]
        self.recent_ns: list[tuple[int, ...]] = [() for _ in runners]
        self.started_ns = clock()
        self.phase = "cold start"
        #: the index of the runner being run now, and the number of its turn
        self.current = 0
        self.turn_number = 0
        #: --max-errors, counted at every failure of every runner, in warm-up too
        self.limit = (
            ErrorLimit(plan.max_errors, shared_errors, plan.errors_before)
            if plan.max_errors is not None
            else None
        )
        self.tasks = Tasks(PROGRESS_INTERVAL_S)
        # worker threads only if a synchronous runner needs them: async ones run tasks
        sync = not all(isinstance(r, AsyncRunner) for r in runners)
        self.threads = Threads(plan.concurrency if sync else 1, PROGRESS_INTERVAL_S)
        #: one per worker, reused every turn (see LatencyHistogram.reset)
        self.tallies = [Tally() for _ in range(plan.concurrency)]
        self.last_report_ns = -REPORT_EVERY_NS

    # --- progress ------------------------------------------------------------

    def checkpoint(self, force: bool = False) -> None:
        """Hand the records so far to ``on_checkpoint`` (a result file), between operations."""
        if self.on_checkpoint is None:
            return
        now = time.monotonic()
        if force or now - self.last_checkpoint_s >= self.checkpoint_every_s:
            self.on_checkpoint(self.records)
            self.last_checkpoint_s = time.monotonic()
            took_s = self.last_checkpoint_s - now
            self.checkpoint_every_s = max(CHECKPOINT_EVERY_S, 10 * took_s)

    def check_errors(self) -> None:
        if self.limit is not None and self.limit.reached:
            raise TooManyErrors(self.limit.message)

    def report(self, turn_ended: bool = False) -> None:
        """Hand the progress so far to ``on_progress``: at most every REPORT_EVERY_NS, and
        at a turn's end whenever it comes (the turn's last figures would otherwise go
        unshown when a worker's report took the slot just before)."""
        if self.on_progress is None:
            return
        now = self.clock()
        if not turn_ended and now - self.last_report_ns < REPORT_EVERY_NS:
            return
        self.last_report_ns = now
        plan = self.plan
        runner = self.runners[self.current]
        # only the current runner's latencies changed since the last report
        self.recent_ns[self.current] = tuple(self.recent[self.current])
        self.recent_p99[self.current] = nearest_rank_p99(self.recent_ns[self.current])
        self.on_progress(
            Progress(
                phase=self.phase,
                runner=runner.name,
                done=sum(r.tally.attempted for r in self.records),
                total=plan.iterations * len(self.runners) if plan.iterations else None,
                elapsed_s=sum(r.measured_ns for r in self.records) / 1e9,
                total_s=plan.duration_s * len(self.runners) if plan.duration_s else None,
                errors=sum(r.errors for r in self.records),
                checked_out=runner.checked_out(),
                runners=tuple(
                    RunnerProgress(
                        runner=record.runner,
                        operations=record.tally.latency.count,
                        errors=record.errors,
                        measured_ns=record.measured_ns,
                        ops_per_s=(
                            record.tally.latency.count / (record.measured_ns / 1e9)
                            if record.measured_ns > 0
                            else None
                        ),
                        recent_p99_ns=p99,
                        recent_ns=recent,
                    )
                    for record, p99, recent in zip(
                        self.records, self.recent_p99, self.recent_ns, strict=True
                    )
                ),
                turn=self.turn_number,
            )
        )

    # --- phases ----------------------------------------------------------------

    def cold_start(self) -> None:
        for index, (runner, record) in enumerate(zip(self.runners, self.records, strict=True)):
            self.current = index
            self.turn_number += 1
            start = self.clock()
            runner.open()
            for tries_left in range(COLD_START_TRIES - 1, -1, -1):
                try:
                    runner.run_once(0)
                    break
                except (StatementFailed, ScriptError):
                    if not tries_left:
                        raise
                    record.warmup_errors += 1
            record.first_op_ns = self.clock() - start
            self.report()

    def executor_for(self, runner: Runner) -> TurnExecutor:
        return self.tasks if isinstance(runner, AsyncRunner) else self.threads

    def new_turn(
        self, index: int, quota: int | None, duration_ns: int | None, measuring: bool
    ) -> Turn:
        runner, record = self.runners[index], self.records[index]
        self.current = index
        return Turn(
            runner,
            quota,
            duration_ns,
            self.plan.rate_per_s,
            self.clock,
            timeline=record.timeline if measuring else None,
            recent=self.recent[index],
            limit=self.limit,
        )

    def turn(self, index: int, quota: int | None, duration_ns: int | None, measuring: bool) -> None:
        """One turn of runner ``index``, added to its record even when interrupted."""
        runner, record = self.runners[index], self.records[index]
        turn = self.new_turn(index, quota, duration_ns, measuring)
        tallies = self.tallies
        for tally in tallies:
            tally.reset()
        # a script's statements: what ran before this turn (the cold start) is not measured
        take = _statements_of(runner)
        if take is not None:
            take()
        try:
            self.executor_for(runner).run(turn, tallies, self.report)
        finally:
            for tally in tallies:
                if measuring:
                    record.tally.merge(tally)
                else:
                    record.warmup_errors += tally.errors
            if take is not None and measuring:
                record.add_statements(take())
            if measuring:
                record.measured_ns += self.clock() - turn.start_ns

    def warm_up(self) -> None:
        self.phase = "warm-up"
        operations = self.plan.warmup_operations
        if operations:
            for index in range(len(self.runners)):
                self.coordinator.agree(True)
                self.turn_number += 1
                self.turn(index, operations, None, measuring=False)
                self.checkpoint()
                self.check_errors()  # warm-up's failures count toward --max-errors too
        for recent in self.recent:
            recent.clear()
        self.recent_p99 = [None for _ in self.runners]
        self.recent_ns = [() for _ in self.runners]

    def measure_one_operation_turns(self) -> None:
        """One worker, a fixed number of operations: turns of one operation each."""
        count = len(self.runners)
        executors = [self.executor_for(runner) for runner in self.runners]
        # each runner's operations are recorded as its turn's would be (one Turn per
        # runner, made once: the bookkeeping between operations stays small)
        turns = [self.new_turn(index, None, None, measuring=True) for index in range(count)]
        takes = [_statements_of(runner) for runner in self.runners]
        for take in takes:
            if take is not None:
                take()  # the cold start's and the warm-up's statements: not measured
        try:
            for round_index in range(self.plan.iterations):
                for offset in range(count):
                    self.check_errors()  # this process's failures, and the other processes'
                    position = (round_index + offset) % count
                    runner, record = self.runners[position], self.records[position]
                    self.current = position
                    self.turn_number += 1
                    timed = executors[position].time_one(runner, self.clock)
                    turns[position].record(record.tally, timed)
                    record.measured_ns += timed[0]  # the operation's own time only
                    self.report()
                    self.checkpoint()
        finally:
            for take, record in zip(takes, self.records, strict=True):
                if take is not None:
                    record.add_statements(take())
        self.check_errors()  # the last operation's failure may have reached the limit

    def measure_timed_turns(self) -> None:
        """Turns of ``slice_s`` seconds (or the operations left), rotating."""
        plan = self.plan
        count = len(self.runners)
        slice_ns = int(plan.slice_s * 1e9)
        round_index = 0
        while True:
            pending = False
            for offset in range(count):
                position = (round_index + offset) % count
                record = self.records[position]
                if plan.iterations is not None:
                    quota = plan.iterations - record.tally.attempted
                    work_left, duration_ns = quota > 0, slice_ns
                else:
                    left_ns = int(plan.duration_s * 1e9) - record.measured_ns
                    work_left, quota, duration_ns = left_ns > 0, None, min(slice_ns, left_ns)
                if not self.coordinator.agree(work_left):
                    continue
                self.turn_number += 1  # in every process, whether or not it has work left
                pending = True
                if work_left:
                    self.turn(position, quota, duration_ns, measuring=True)
                    self.report(turn_ended=True)
                    self.checkpoint()  # between turns: no worker is running
                    self.check_errors()
            if not pending:
                return
            round_index += 1

    def measure(self) -> None:
        self.coordinator.measuring()
        self.phase = "measuring"
        if self.plan.turns_of_one_operation:
            self.measure_one_operation_turns()
        else:
            self.measure_timed_turns()


def run_interleaved(
    runners: Sequence[Runner],
    plan: Plan,
    on_progress: ProgressCallback | None = None,
    clock: Callable[[], int] = time.perf_counter_ns,
    coordinator: Coordinator | None = None,
    on_checkpoint: CheckpointCallback | None = None,
    shared_errors: SharedCount | None = None,
) -> RunOutcome:
    """Run ``plan`` over ``runners``; see the module docstring for the method.

    An exception from a cold start (the first operation of a runner) is
    raised after every runner is closed: nothing was measured yet.  With
    ``coordinator``, this is one of several processes running in step, and
    ``shared_errors`` (a ``multiprocessing.Value``) counts the failed
    operations of them all against ``plan.max_errors``.
    """
    started_at_s = time.time()
    run = _Run(
        runners,
        plan,
        on_progress,
        clock,
        coordinator or Coordinator(),
        on_checkpoint,
        origin_s=plan.origin_s if plan.origin_s is not None else started_at_s,
        shared_errors=shared_errors,
    )
    complete = False
    stopped = None
    try:
        run.cold_start()
        run.checkpoint(force=True)  # a result file exists from the start
        run.warm_up()
        run.measure()
        complete = True
    except KeyboardInterrupt:
        run.coordinator.stop()
    except RunStopped:
        pass
    except TooManyErrors as exc:
        run.coordinator.stop()
        stopped = exc.args[0]  # the limit's message, its setting mentioned
    finally:
        run.threads.close()
        for runner, record in zip(runners, run.records, strict=True):
            with contextlib.suppress(Exception):
                record.pool_counters = runner.counters()
                record.connections_opened = runner.connections_opened()
                record.connects_failed = runner.connects_failed()
            with contextlib.suppress(Exception):  # best effort: the results matter more
                runner.close()
    return RunOutcome(run.records, complete, started_at_s, time.time(), plan, stopped)
