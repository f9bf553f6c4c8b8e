"""The processes of ``--processes``, as tasks on the workers of a Dask cluster (``--cluster``).

Each process becomes one task, pinned to one worker thread of a running Dask
scheduler, and does there what a local worker process does (``engine/processes.py``):
it makes its own runners (its own pools), runs ``harness.run_interleaved`` on its
share of the plan (``process_plans``: workers, operations, ``--rate``) and returns
its records -- histograms, counts, pool counters -- which this process merges
exactly, as it merges local processes' (``RunOutcome.merge``).

What the local engine gets from ``multiprocessing`` is built here from Dask's
primitives, all named after the run (``dbbench-<run id>-...``):

- the turn barrier (``ClusterCoordinator``): before each turn a task puts
  "ready, turn k, work left?" on the run's message queue and waits on its own
  "go" queue; this process (``TurnBarrier``) answers every task once all of them
  are ready, with the decision all must follow.  One more such barrier opens the
  measuring (``Coordinator.measuring``): each task notes the wall-clock time it was
  let go, and the result shows the spread of those (the start skew);
- progress and checkpoints go on the message queue (pickled: the queue carries
  msgpack), sent from a thread of their own (``Outbox``) so that the harness never
  waits on the scheduler between operations;
- a stop (Ctrl-C here) is a Dask ``Event`` the tasks watch (``StopWatch``): a task
  that sees it stops as a local process stops on SIGINT, and returns what it measured.

Settings, the password among them, go to each worker directly (``Client.scatter``
with ``direct=True``, under a random key): the scheduler only ever holds the key,
and no task key or name holds a setting.  The task's argument shows as
``<dbbench job>`` in any log or dashboard.  The scheduler's connections should
still be trusted or TLS (``tls://``): the workers are given the password to connect.

A worker that leaves the cluster mid-run is noted (which, when, its last
checkpoint), its task is cancelled, the others go on without it, and the result
is incomplete.  ``distributed`` is imported only here, and only with ``--cluster``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.metadata
import logging
import pickle
import queue as queue_module
import socket
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from dbbench import interruption
from dbbench.config.settings import Settings
from dbbench.engine.harness import (
    Coordinator,
    Plan,
    ProgressCallback,
    RunnerRecord,
    RunOutcome,
    RunStopped,
    merge_records,
)
from dbbench.engine.harness import run_interleaved as run_in_this_process
from dbbench.engine.processes import (
    Failure,
    LiveProgress,
    Message,
    ProcessFailed,
    ProgressSender,
    process_plans,
)
from dbbench.errors import DbbenchError, mention

#: how long connecting to the scheduler may take before it counts as unreachable
CONNECT_TIMEOUT_S = 10.0
#: a turn lasts a slice, but an operation in flight or a slow cold start may take longer
BARRIER_TIMEOUT_S = 600.0
#: how often this process looks for lost workers, and the tasks for a stop
WATCH_EVERY_S = 0.5
#: a task is lost when its worker is missing from this many answers in a row
LOST_AFTER_POLLS = 2
#: after a stop, how long the tasks get to return what they measured
DRAIN_TIMEOUT_S = 30.0
#: the setting, as messages name it (the command line: ``--cluster``)
SCHEDULER = mention("[cluster] scheduler")


class ClusterError(DbbenchError):
    """The cluster cannot be used: not installed, unreachable, too small, other versions."""


@dataclass
class WorkerPart:
    """One process of the run as a Dask worker ran it: where, and what it measured."""

    process: int
    #: the worker's name (``dask worker --name``), its host (the name its task tells,
    #: first thing; the scheduler's IP for the worker until then) and its address
    worker: str
    host: str
    address: str
    #: "finished", "stopped" (a stop, or another task's), "lost" (its worker left the
    #: cluster: ``records`` are its last checkpoint's), "failed" (``failure`` says why)
    status: str = "running"
    records: list[RunnerRecord] = field(default_factory=list)
    #: wall-clock time it started measuring (its own clock), None before
    started_at_s: float | None = None
    #: wall-clock time its loss was seen here
    lost_at_s: float | None = None
    failure: str | None = None


@dataclass
class ClusterRun:
    """The cluster's side of a run: the scheduler, each process's worker and figures."""

    scheduler: str
    parts: list[WorkerPart]

    @property
    def start_skew_s(self) -> float | None:
        """The spread of the moments the processes started measuring (their wall clocks:
        the clocks' own offsets between hosts are in it); None before two started."""
        starts = [p.started_at_s for p in self.parts if p.started_at_s is not None]
        return max(starts) - min(starts) if len(starts) >= 2 else None

    @property
    def lost(self) -> list[WorkerPart]:
        return [p for p in self.parts if p.status == "lost"]


# --- this process's side --------------------------------------------------------


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise ClusterError(
            f"{SCHEDULER} needs Dask's distributed package: pip install 'dbbench[cluster]'"
        ) from None
    return distributed


def versions(settings: Settings, runner_names: Sequence[str]) -> dict[str, str]:
    """What must be the same on every worker: dbbench's version, SQLAlchemy's and that of
    each driver the runners use, by distribution."""
    from dbbench import drivers
    from dbbench.runners import RunnerLabel, runner_settings

    found = {"dbbench": importlib.metadata.version("dbbench")}
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        found["SQLAlchemy"] = importlib.metadata.version("SQLAlchemy")
    for label in runner_names:
        name = RunnerLabel.parse(label).driver or runner_settings(label, settings).database.driver
        driver = drivers.get_driver(name)
        found[driver.distribution] = driver.version or "?"
    return found


def version_refusal(wanted: dict[str, str], found: dict[str, str]) -> str | None:
    """The packages whose versions differ, in words ("dbbench 0.2.0 here, 0.1.0 on the
    client"); None when they all agree."""
    differ = [
        f"{name} {found.get(name, 'not installed')} here, {version} on the client"
        for name, version in wanted.items()
        if found.get(name) != version
    ]
    return "; ".join(differ) or None


@dataclass(frozen=True)
class Job:
    """What one task needs, sent to its worker directly (``Client.scatter``)."""

    process: int
    settings: Settings
    runner_names: tuple[str, ...]
    plan: Plan
    run_id: str
    versions: dict[str, str]

    def __repr__(self) -> str:  # a log line, a dashboard's page: never the settings
        return "<dbbench job>"

    @property
    def messages(self) -> str:
        return f"dbbench-{self.run_id}-messages"

    @property
    def go(self) -> str:
        return go_queue(self.run_id, self.process)

    @property
    def stop(self) -> str:
        return f"dbbench-{self.run_id}-stop"


def go_queue(run_id: str, process: int) -> str:
    return f"dbbench-{run_id}-go-{process}"


class TurnBarrier:
    """This process's side of the tasks' turns: answers "go, turn k" once every task
    still running said it is ready for turn k, with whether any of them has work left
    (so all take the turn, or all skip it); a stop is answered "stop" to all."""

    def __init__(self, answer: Callable[[int, Any], None], processes: Sequence[int]) -> None:
        self.answer = answer
        self.running = set(processes)
        #: turn -> process -> work left
        self.ready: dict[int, dict[int, bool]] = {}
        self.stopped = False

    def arrive(self, process: int, turn: int, work_left: bool) -> None:
        if self.stopped:
            self.answer(process, ("stop",))
            return
        self.ready.setdefault(turn, {})[process] = work_left
        self._release()

    def leave(self, process: int) -> None:
        """A task that finished, failed or was lost: no turn waits for it any more."""
        self.running.discard(process)
        self._release()

    def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        for process in sorted(self.running):
            self.answer(process, ("stop",))

    def _release(self) -> None:
        for turn in sorted(self.ready):
            waiting = self.ready[turn]
            if self.running and self.running.issubset(waiting):
                decision = any(waiting[p] for p in self.running)
                for process in sorted(waiting):
                    if process in self.running:
                        self.answer(process, ("go", turn, decision))
                del self.ready[turn]


def place(workers: dict[str, dict[str, Any]], processes: int, scheduler: str) -> list[str]:
    """Each process's worker address: round the workers (by name) one thread at a
    time, so that two processes share a worker only once every worker has one."""
    ordered = sorted(workers.items(), key=lambda item: (str(item[1].get("name")), item[0]))
    slots = [
        address
        for round_index in range(max((w.get("nthreads", 1) for _, w in ordered), default=0))
        for address, worker in ordered
        if worker.get("nthreads", 1) > round_index
    ]
    if len(slots) < processes:
        threads = ", ".join(f"{w.get('name')}: {w.get('nthreads', 1)}" for _, w in ordered)
        raise ClusterError(
            f"the Dask cluster at {scheduler} has {len(slots)} worker threads "
            f"({threads or 'no workers'}); {mention('[benchmark] processes')} = {processes} "
            "needs one for each process, all at once"
        )
    return slots[:processes]


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Dask's own warnings (a version table, a closing connection) kept off stderr: dbbench
    checks the versions that matter itself, and says what went wrong in one line."""
    logger = logging.getLogger("distributed")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def connect(address: str) -> Any:
    """A Dask client of the scheduler at ``address``; ``ClusterError`` in one line when it
    cannot be reached."""
    distributed = _distributed()
    try:
        return distributed.Client(address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except Exception as exc:  # noqa: BLE001 -- whatever answers there, one line
        _close_half_made(exc, distributed.Client)
        if isinstance(exc, MemoryError):  # a length read from another protocol's bytes
            reason = "what answers there does not speak Dask's protocol (not a scheduler?)"
        elif isinstance(exc, TypeError) and address.startswith("tls://"):
            reason = (
                "tls:// needs Dask's TLS settings (distributed.comm.tls: ca-file, and the "
                "client's cert and key, in the Dask configuration or DASK_* variables)"
            )
        else:
            reason = str(exc).split("\n")[0] or type(exc).__name__
        raise ClusterError(
            f"cannot reach the Dask scheduler at {address} ({SCHEDULER}): {reason}"
        ) from None


def _close_half_made(exc: BaseException, client_type: type) -> None:
    """Close the ``Client`` whose ``__init__`` raised ``exc``: left to the garbage
    collector, it would wait 20 s to close and print a traceback from ``__del__``."""
    traceback = exc.__traceback__
    while traceback is not None:
        half_made = traceback.tb_frame.f_locals.get("self")
        if isinstance(half_made, client_type):
            with contextlib.suppress(Exception):
                half_made.close(timeout=1)
            return
        traceback = traceback.tb_next


#: ``on_checkpoint`` of a run on a cluster: the records so far, merged, and the
#: ``ClusterRun`` (each worker's last checkpoint); a ``CheckpointCallback`` with more
ClusterCheckpoint = Callable[[list[RunnerRecord], "ClusterRun"], None]


def run_on_cluster(
    settings: Settings,
    runner_names: Sequence[str],
    plan: Plan,
    processes: int,
    on_progress: ProgressCallback | None = None,
    on_checkpoint: ClusterCheckpoint | None = None,
) -> RunOutcome:
    """Run ``plan`` split over ``processes`` tasks on the Dask cluster of
    ``settings.cluster.scheduler`` and merge their records, as ``run_in_processes`` does
    with local processes; the outcome's ``cluster`` is the ``ClusterRun``.

    ``plan.max_errors`` is counted by each task on its own (no counter is shared across
    hosts); the first to reach it stops them all.
    """
    address = settings.cluster.scheduler
    assert address is not None
    with _quiet():
        client = connect(address)
        try:
            return _Cluster(client, address, settings, runner_names, plan, processes).run(
                on_progress, on_checkpoint
            )
        finally:
            with interruption.held(then_act=False), contextlib.suppress(Exception):
                client.close(timeout=5)


class _Cluster:
    """One run's tasks, as this process drives them."""

    def __init__(
        self,
        client: Any,
        address: str,
        settings: Settings,
        runner_names: Sequence[str],
        plan: Plan,
        processes: int,
    ) -> None:
        self.distributed = _distributed()
        self.client, self.address = client, address
        self.settings, self.runner_names = settings, list(runner_names)
        self.processes = processes
        self.run_id = uuid.uuid4().hex[:12]
        self.started_at_s = time.time()
        self.plan = dataclasses.replace(plan, origin_s=self.started_at_s)
        workers = client.scheduler_info(n_workers=-1)["workers"]
        addresses = place(workers, processes, address)
        self.cluster = ClusterRun(
            address,
            [
                WorkerPart(i, str(workers[a].get("name", a)), str(workers[a].get("host", "")), a)
                for i, a in enumerate(addresses)
            ],
        )
        self.messages = self.distributed.Queue(f"dbbench-{self.run_id}-messages", client=client)
        self.stop_event = self.distributed.Event(f"dbbench-{self.run_id}-stop", client=client)
        self.go = {
            i: self.distributed.Queue(go_queue(self.run_id, i), client=client)
            for i in range(processes)
        }
        self.barrier = TurnBarrier(lambda i, answer: self.go[i].put(answer), range(processes))
        self.futures: dict[int, Any] = {}
        self.results: dict[int, RunOutcome] = {}
        self.errors: dict[int, Failure] = {}
        self.refused: dict[int, str] = {}
        self.checkpoints: dict[int, list[RunnerRecord]] = {}
        #: process -> (the scheduler's answers in a row its worker was missing from, the
        #: time of the first): ``watch_workers``
        self.absent: dict[int, tuple[int, float]] = {}

    # --- the tasks -----------------------------------------------------------

    def submit(self) -> None:
        wanted = versions(self.settings, self.runner_names)
        plans = process_plans(self.plan, self.processes)
        for part, plan in zip(self.cluster.parts, plans, strict=True):
            job = Job(
                part.process,
                self.settings,
                tuple(self.runner_names),
                plan,
                self.run_id,
                wanted,
            )
            # straight to its worker, under a random key: the scheduler never holds it
            try:
                [sent] = self.client.scatter(
                    [job], workers=[part.address], direct=True, hash=False
                )
            except Exception as exc:  # never through the scheduler instead: it has the password
                reason = str(exc).split("\n")[0] or type(exc).__name__
                raise ClusterError(
                    f"cannot send the settings to Dask worker {part.worker} ({part.address}) "
                    f"directly: {reason}; dbbench must reach the workers, not only the scheduler"
                ) from None
            self.futures[part.process] = self.client.submit(
                run_task,
                sent,
                key=f"dbbench-{self.run_id}-process-{part.process}",
                workers=[part.address],
                allow_other_workers=False,
                pure=False,
                retries=0,
            )

    def pending(self) -> list[int]:
        return [
            i
            for i in range(self.processes)
            if i not in self.results
            and i not in self.errors
            and i not in self.refused
            and self.cluster.parts[i].status != "lost"
        ]

    def run(
        self, on_progress: ProgressCallback | None, on_checkpoint: ClusterCheckpoint | None
    ) -> RunOutcome:
        live = LiveProgress(self.processes)
        interrupted = False
        try:
            with interruption.held(then_act=False):
                self.submit()
            last_watch = 0.0
            while self.pending():
                interruption.check()
                with interruption.held(then_act=False):
                    for message in self.receive(timeout_s=WATCH_EVERY_S):
                        self.handle(message, live, on_progress, on_checkpoint)
                    if time.monotonic() - last_watch >= WATCH_EVERY_S:
                        last_watch = time.monotonic()
                        self.collect()
                        self.watch_workers()
            # what the tasks sent before they ended and was not read yet (a start's time)
            with interruption.held(then_act=False):
                for message in self.messages.get(batch=True):
                    self.handle(pickle.loads(message), live, None, None)
        except KeyboardInterrupt:
            interrupted = True
            with interruption.held(then_act=False):
                self.stop_all()
        except OSError as exc:  # the scheduler went away (Dask's CommClosedError is one)
            self.scheduler_lost(exc)
        finally:
            with interruption.held(then_act=False):
                self.release()
        return self.outcome(interrupted)

    def scheduler_lost(self, exc: OSError) -> None:
        """No word from the scheduler any more: every task still running is lost with what
        its last checkpoint held, as when its worker leaves (the run is incomplete).  The
        client's own thread goes on trying to reconnect and then logs its failure, with
        tracebacks, whenever it gives up: Dask's loggers are silenced for good."""
        for name in list(logging.Logger.manager.loggerDict):
            if name == "distributed" or name.startswith("distributed."):
                logging.getLogger(name).disabled = True
        reason = type(exc).__name__  # its text is Dask's inner connection's repr
        now = time.time()
        for i in self.pending():
            part = self.cluster.parts[i]
            part.status, part.lost_at_s = "lost", now
            part.records = self.checkpoints.get(i, [])
            part.failure = f"the Dask scheduler at {self.address} stopped answering ({reason})"
            self.barrier.leave(i)

    def receive(self, timeout_s: float) -> list[Message]:
        """The messages the tasks sent since last asked; none after ``timeout_s``."""
        try:
            items = self.messages.get(timeout=timeout_s, batch=False)
        except TimeoutError:
            return []
        more = self.messages.get(batch=True)
        return [pickle.loads(item) for item in [items, *more]]

    def handle(
        self,
        message: Message,
        live: LiveProgress,
        on_progress: ProgressCallback | None,
        on_checkpoint: ClusterCheckpoint | None,
    ) -> None:
        part = self.cluster.parts[message.process]
        if message.kind == "host":
            part.host = message.payload
        elif message.kind == "ready":
            turn, work_left = message.payload
            self.barrier.arrive(message.process, turn, work_left)
        elif message.kind == "started":
            part.started_at_s = message.payload
        elif message.kind == "stop":
            self.barrier.stop()
        elif message.kind == "progress":
            shown = live.add(message.process, message.payload)
            if on_progress is not None:
                on_progress(shown)
        elif message.kind == "checkpoint":
            records = [RunnerRecord.from_dict(r) for r in message.payload]
            self.checkpoints[message.process] = records
            if part.status == "running":
                part.records = records
            if on_checkpoint is not None:
                merged = merge_records(self.runner_names, self.checkpoints.values())
                on_checkpoint(merged, self.cluster)

    def collect(self) -> None:
        """The tasks that ended: their outcomes, why they failed, or their refusal; one
        whose worker left the cluster is lost (``watch_workers``), however Dask ended it."""
        ended = [i for i in self.pending() if self.futures[i].status != "pending"]
        failed = {i for i in ended if self.futures[i].status != "finished"}
        if failed:
            self.watch_workers(failed)
        for i in self.pending():
            future = self.futures[i]
            if future.status == "finished":
                self.finished(i, future.result())
            elif future.status in ("error", "cancelled", "lost"):
                text = future.status
                with contextlib.suppress(Exception):
                    text = f"{type(future.exception()).__name__}: {future.exception()}"
                self.errors[i] = Failure("other", text)
                self.cluster.parts[i].status = "failed"
                self.cluster.parts[i].failure = text
                self.barrier.leave(i)

    def finished(self, process: int, answer: dict[str, Any]) -> None:
        part = self.cluster.parts[process]
        if answer["kind"] == "result":
            outcome = RunOutcome.from_dict(answer["outcome"])
            self.results[process] = outcome
            part.records = outcome.records
            part.status = "finished" if outcome.complete else "stopped"
        elif answer["kind"] == "refused":
            self.refused[process] = answer["text"]
            part.status, part.failure = "failed", answer["text"]
            self.barrier.stop()  # the others would wait for it at their first turn
        else:
            failure: Failure = answer["failure"]
            self.errors[process] = failure
            part.status, part.failure = "failed", failure.text
        part.host = answer.get("host", part.host)
        self.barrier.leave(process)

    def watch_workers(self, ended: Collection[int] = ()) -> None:
        """A task whose worker left the cluster is lost: noted, cancelled, left out;
        missing from one answer of the scheduler's is enough for one of ``ended`` (its
        task ended without a result), two in a row are needed for the others."""
        present = set(self.client.scheduler_info(n_workers=-1)["workers"])
        for i in self.pending():
            part = self.cluster.parts[i]
            if part.address in present:
                self.absent.pop(i, None)
                continue
            # one answer may miss a worker that is there (seen once while another was
            # dying): lost only when it is missing from LOST_AFTER_POLLS answers in a row
            misses, since = self.absent.get(i, (0, time.time()))
            self.absent[i] = (misses + 1, since)
            if misses + 1 >= LOST_AFTER_POLLS or i in ended:
                part.status, part.lost_at_s = "lost", since
                part.records = self.checkpoints.get(i, [])
                self.client.cancel([self.futures[i]], force=True)
                self.barrier.leave(i)

    def stop_all(self) -> None:
        """Ctrl-C here: every task is told to stop, and given ``DRAIN_TIMEOUT_S`` to send
        what it measured; those that do not are cancelled (``release``)."""
        with contextlib.suppress(Exception):
            self.stop_event.set()
        self.barrier.stop()
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        while self.pending() and time.monotonic() < deadline:
            for message in self.receive(timeout_s=WATCH_EVERY_S):
                if message.kind == "ready":
                    self.barrier.arrive(message.process, *message.payload)
                elif message.kind == "checkpoint":
                    self.checkpoints[message.process] = [
                        RunnerRecord.from_dict(r) for r in message.payload
                    ]
            self.collect()
            self.watch_workers()

    def release(self) -> None:
        """Nothing of the run is left on the cluster: its tasks cancelled, the data sent."""
        with contextlib.suppress(Exception):
            self.stop_event.set()
        with contextlib.suppress(Exception):
            self.client.cancel(list(self.futures.values()), force=True)
        for queue in [self.messages, *self.go.values()]:
            with contextlib.suppress(Exception):
                queue.close()

    # --- the outcome -----------------------------------------------------------

    def outcome(self, interrupted: bool) -> RunOutcome:
        if self.refused:
            first = min(self.refused)
            part = self.cluster.parts[first]
            raise ClusterError(
                f"Dask worker {part.worker} ({part.address}) is refused: {self.refused[first]}"
            )
        measured = [self.results[i] for i in sorted(self.results)]
        lost = [p for p in self.cluster.parts if p.status == "lost"]
        if not measured and not lost:
            if self.errors and not interrupted:
                first = min(self.errors)
                error = self.errors[first].error(first)
                if isinstance(error, ProcessFailed):
                    part = self.cluster.parts[first]
                    raise ProcessFailed(f"Dask worker {part.worker}: {self.errors[first].text}")
                raise error
            empty = RunOutcome(
                merge_records(self.runner_names, []),
                False,
                self.started_at_s,
                time.time(),
                self.plan,
            )
            empty.cluster = self.cluster
            return empty
        records = merge_records(
            self.runner_names, [part.records for part in lost] + [o.records for o in measured]
        )
        merged = RunOutcome(
            records,
            complete=all(o.complete for o in measured),
            started_at_s=self.started_at_s,
            finished_at_s=time.time(),
            plan=self.plan,
            stopped=next((o.stopped for o in measured if o.stopped), None),
        )
        merged.complete = (
            merged.complete and not interrupted and len(measured) == self.processes
        )
        merged.cluster = self.cluster
        return merged


# --- a worker's side ---------------------------------------------------------------


class Outbox:
    """A task's messages to the client, put on the run's queue by a thread of their own:
    the harness never waits on the scheduler."""

    def __init__(self, queue: Any) -> None:
        self.queue = queue
        self.pending: queue_module.Queue[Message | None] = queue_module.Queue()
        self.thread = threading.Thread(target=self._send, name="dbbench-outbox", daemon=True)
        self.thread.start()

    def put(self, message: Message) -> None:
        self.pending.put(message)

    def _send(self) -> None:
        while (message := self.pending.get()) is not None:
            with contextlib.suppress(Exception):  # the client went away: nothing to tell
                self.queue.put(pickle.dumps(message))

    def close(self) -> None:
        """Send what is queued, then stop."""
        self.pending.put(None)
        self.thread.join(timeout=10)


class StopWatch:
    """A task's watch for a stop: the run's stop event set (Ctrl-C on the client), or its
    own task no longer wanted (cancelled; the client gone)."""

    def __init__(self, event: Any, still_wanted: Callable[[], bool]) -> None:
        self.event, self.still_wanted = event, still_wanted
        self.stopped = threading.Event()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._watch, name="dbbench-stop", daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        while not self.done.wait(WATCH_EVERY_S):
            try:
                stop = self.event.is_set() or not self.still_wanted()
            except Exception:  # the scheduler cannot be reached: nobody waits for this run
                stop = True
            if stop:
                self.stopped.set()
                return

    def close(self) -> None:
        self.done.set()
        self.thread.join(timeout=5)


class ClusterCoordinator(Coordinator):
    """A task's turns, kept in step with the others' by the client (``TurnBarrier``)."""

    def __init__(self, job: Job, outbox: Outbox, go: Any, stop: threading.Event) -> None:
        self.job, self.outbox, self.go, self.stop_seen = job, outbox, go, stop
        self.turn = 0

    def agree(self, work_left: bool) -> bool:
        self.turn += 1
        self.outbox.put(Message("ready", self.job.process, (self.turn, work_left)))
        deadline = time.monotonic() + BARRIER_TIMEOUT_S
        while True:
            if self.stop_seen.is_set():
                raise RunStopped("the run was stopped")
            try:
                answer = self.go.get(timeout=WATCH_EVERY_S)
            except TimeoutError:
                if time.monotonic() > deadline:
                    raise RunStopped("the other tasks did not come to the turn") from None
                continue
            if answer[0] == "stop":
                raise RunStopped("another task stopped")
            _, turn, decision = answer
            if turn == self.turn:
                return bool(decision)

    def measuring(self) -> None:
        self.agree(True)
        self.outbox.put(Message("started", self.job.process, time.time()))

    def stop(self) -> None:
        self.outbox.put(Message("stop", self.job.process, None))


class StoppingSender(ProgressSender):
    """A task's ``on_progress``: sends as a local process's does, and raises
    ``KeyboardInterrupt`` once a stop was seen -- the harness then stops as a local
    process does on SIGINT (operations in flight end; what was measured is returned)."""

    def __init__(self, index: int, put: Callable[[Message], None], stop: threading.Event) -> None:
        super().__init__(index, put, time.monotonic)
        self.stop_seen = stop

    def __call__(self, progress: Any) -> None:
        if self.stop_seen.is_set():
            raise KeyboardInterrupt
        super().__call__(progress)


def run_task(job: Job) -> dict[str, Any]:
    """The body of one task, on a Dask worker: check the versions, run, return the
    outcome (or why there is none).  It never raises: Dask would log the exception with
    its arguments."""
    distributed = _distributed()
    from dbbench import logs
    from dbbench.runners import create_runner

    logs.configure(debug=False)
    host = socket.gethostname()
    try:
        refusal = version_refusal(job.versions, versions(job.settings, job.runner_names))
    except Exception as exc:
        refusal = f"{type(exc).__name__}: {exc}"
    if refusal is not None:
        return {"kind": "refused", "text": refusal, "host": host}
    worker = distributed.get_worker()
    client = distributed.get_client()
    key = distributed.get_worker().get_current_task()

    def still_wanted() -> bool:
        task = worker.state.tasks.get(key)
        return task is not None and task.state in ("executing", "long-running")

    outbox = Outbox(distributed.Queue(job.messages, client=client))
    # the scheduler knows the worker by its address's IP: the host's name is known here,
    # and a worker lost later must show it as the others do
    outbox.put(Message("host", job.process, host))
    watch = StopWatch(distributed.Event(job.stop, client=client), still_wanted)
    coordinator = ClusterCoordinator(
        job, outbox, distributed.Queue(job.go, client=client), watch.stopped
    )

    def send_checkpoint(records: list[RunnerRecord]) -> None:
        outbox.put(Message("checkpoint", job.process, [r.to_dict() for r in records]))

    try:
        runners = [create_runner(name, job.settings) for name in job.runner_names]
        outcome = run_in_this_process(
            runners,
            job.plan,
            on_progress=StoppingSender(job.process, outbox.put, watch.stopped),
            coordinator=coordinator,
            on_checkpoint=send_checkpoint,
        )
        answer: dict[str, Any] = {"kind": "result", "outcome": outcome.to_dict(), "host": host}
    except BaseException as exc:
        coordinator.stop()  # release the others: they stop and send what they have
        answer = {"kind": "error", "failure": Failure.of(exc, job.settings), "host": host}
    finally:
        watch.close()
        outbox.close()
    return answer
