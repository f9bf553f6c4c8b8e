"""The harness with fake async runners: tasks instead of threads, in turns with threaded runners."""

import contextlib
import signal
import threading

import pytest

from dbbench import interruption
from dbbench.engine.harness import Plan, run_interleaved
from tests.fakes import FakeAsyncRunner, FakeClock, FakeRunner
from tests.unit.test_harness import ThreadRecorder, latencies


def test_an_async_runner_takes_its_one_operation_turns_among_threaded_ones():
    log: list[str] = []
    b = FakeAsyncRunner("b", log)
    runners = [FakeRunner("a", log), b, FakeRunner("c", log)]
    outcome = run_interleaved(runners, Plan(iterations=3, warmup=1))
    operations = [entry for entry in log if " " not in entry]
    # the same rotation as threaded runners alone: abc, bca, cab after cold start and warm-up
    assert operations == ["a", "b", "c"] * 2 + list("abc") + list("bca") + list("cab")
    assert log[-3:] == ["close a", "close b", "close c"]
    assert outcome.complete and outcome.records[1].tally.latency.count == 3
    # every operation ran on the main thread, on one event loop, kept for the run
    assert {thread for thread, _, _, _ in b.seen} == {threading.main_thread().name}
    assert len({loop for _, _, _, loop in b.seen}) == 1
    assert b._loop is None  # closed with the runner


def test_async_cold_start_and_warmup_are_not_in_the_samples():
    clock = FakeClock()
    runner = FakeAsyncRunner("async", [], clock, cost_ns=100, open_cost_ns=5000)
    outcome = run_interleaved([runner], Plan(iterations=4, warmup=3), clock=clock)
    (record,) = outcome.records
    assert latencies(record) == [(100, 4)]
    assert record.first_op_ns == 5100  # open + first operation, reported apart
    assert record.measured_ns == 400
    assert record.tally.checkout.count == 4
    assert runner.calls == 1 + 3 + 4


def test_tasks_account_for_every_operation_beside_threads():
    tasks = FakeAsyncRunner("tasks", [], pause_s=0.0002)
    threads = ThreadRecorder("threads", [])
    outcome = run_interleaved(
        [tasks, threads], Plan(iterations=500, warmup=4, concurrency=4, slice_s=0.01)
    )
    assert outcome.complete
    for runner, record in zip((tasks, threads), outcome.records, strict=True):
        assert record.tally.attempted == 500  # exactly the operations asked for
        assert runner.calls == 1 + 4 + 500  # cold start + warm-up + measured
        assert record.tally.checkout.count == 500
        assert record.measured_ns > 0
    # the async runner's workers are tasks on the main thread, not the worker threads
    assert {thread for thread, _, _, _ in tasks.seen} == {threading.main_thread().name}
    assert {worker for _, worker, _, _ in tasks.seen} == {0, 1, 2, 3}
    assert len({loop for _, _, _, loop in tasks.seen}) == 1
    assert {worker for name, worker in threads.seen if name.startswith("dbbench-worker-")} == {
        0,
        1,
        2,
        3,
    }


def test_tasks_run_at_once():
    # each operation waits 5 ms; the four tasks wait at the same time
    runner = FakeAsyncRunner("tasks", [], pause_s=0.005)
    outcome = run_interleaved([runner], Plan(iterations=40, warmup=0, concurrency=4, slice_s=5))
    assert outcome.records[0].tally.attempted == 40
    assert runner.peak_in_flight == 4


def test_only_async_runners_start_no_worker_threads():
    before = {t.name for t in threading.enumerate()}

    class Watcher(FakeAsyncRunner):
        async def run_once_async(self, worker: int = 0) -> int:
            self.threads = {t.name for t in threading.enumerate()} - before
            return await super().run_once_async(worker)

    runner = Watcher("tasks", [])
    run_interleaved([runner], Plan(iterations=20, warmup=0, concurrency=3, slice_s=0.01))
    assert not any(name.startswith("dbbench-worker-") for name in runner.threads)


def test_task_errors_are_counted_by_kind_and_max_errors_stops():
    runner = FakeAsyncRunner("tasks", [], fail=lambda call: RuntimeError() if call > 3 else None)
    outcome = run_interleaved(
        [runner], Plan(iterations=10**6, warmup=0, concurrency=2, slice_s=0.01, max_errors=10)
    )
    record = outcome.records[0]
    assert outcome.stopped and not outcome.complete
    assert set(record.tally.errors_by_kind) == {"RuntimeError"}
    assert record.errors >= 10
    assert runner.closed


@pytest.mark.parametrize("warmup", [0, 2000], ids=["measuring", "warm-up"])
@pytest.mark.parametrize("concurrency", [2, 4])
def test_max_errors_stops_tasks_within_the_turn(concurrency, warmup):
    # the warm-up's failures count too: a query failing everywhere stops the run there
    runner = FakeAsyncRunner(
        "tasks", [], pause_s=0.0005, fail=lambda call: RuntimeError() if call > 1 else None
    )
    plan = Plan(iterations=10**6, warmup=warmup, concurrency=concurrency, slice_s=30, max_errors=5)
    outcome = run_interleaved([runner], plan)
    assert outcome.stopped == "stopped after 5 failed operations ([benchmark] max_errors = 5)"
    record = outcome.records[0]
    failed = record.warmup_errors if warmup else record.errors
    assert 5 <= failed <= 5 + concurrency - 1
    assert record.errors + record.warmup_errors == failed  # none in the other phase
    assert runner.peak_in_flight == concurrency  # they did run at once
    assert runner.closed


def test_tasks_run_for_a_duration():
    runners = [FakeAsyncRunner("tasks", [], pause_s=0.001), FakeRunner("threads", [])]
    outcome = run_interleaved(
        runners, Plan(iterations=None, duration_s=0.2, warmup=0, concurrency=2, slice_s=0.05)
    )
    for record in outcome.records:
        assert 0.2 <= record.measured_ns / 1e9 < 0.4
        assert record.tally.latency.count > 0


def test_open_loop_tasks_count_latency_from_the_scheduled_start():
    # 100 ops/s scheduled, one task, 30 ms per operation: the queue grows, and each
    # latency includes the wait behind the operations before it
    runner = FakeAsyncRunner("tasks", [], pause_s=0.03)
    outcome = run_interleaved([runner], Plan(iterations=10, warmup=0, rate_per_s=100, slice_s=5))
    latency = outcome.records[0].tally.latency
    assert latency.count == 10
    # each operation ends 30 ms or more after the one before it, and is scheduled 10 ms
    # after it: each latency exceeds the one before by 20 ms or more, the 10th the 1st's
    # by 180 ms, however late a loaded machine starts the first (its latency alone, once
    # bounded here by 50 ms, is the machine's to set)
    assert latency.min_ns >= 0.025e9
    assert latency.max_ns - latency.min_ns >= 0.15e9


@pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread(), reason="signals need it"
)
@pytest.mark.parametrize(
    ("signum", "ours"),
    [(signal.SIGINT, False), (signal.SIGINT, True), (signal.SIGTERM, True), (signal.SIGHUP, True)],
    ids=["SIGINT, asyncio's handler", "SIGINT", "SIGTERM", "SIGHUP"],
)
def test_ctrl_c_lets_the_tasks_operations_in_flight_finish(signum, ours):
    """asyncio.Runner's way with Ctrl-C; under dbbench's handlers (interruption), with
    every stop signal."""

    class Interrupting(FakeAsyncRunner):
        async def run_once_async(self, worker: int = 0) -> int:
            if self.calls == 30:  # the measured turn is under way
                signal.raise_signal(signum)
            return await super().run_once_async(worker)

    runner = Interrupting("tasks", [], pause_s=0.001)
    other = FakeRunner("threads", [])
    handlers = interruption.stop_on_signals() if ours else contextlib.nullcontext()
    with handlers:
        outcome = run_interleaved(
            [runner, other], Plan(iterations=10**6, warmup=4, concurrency=4, slice_s=5)
        )
    assert not outcome.complete
    assert runner.closed and other.closed
    assert runner.cancelled == 0  # none was cut short: the in-flight ones finished
    record = outcome.records[0]
    assert record.tally.attempted == runner.calls - 1 - 4  # every measured one recorded
    assert record.tally.attempted >= 30 - 5


@pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread(), reason="signals need it"
)
def test_ctrl_c_in_one_operation_turns_stops_and_closes():
    class Interrupting(FakeAsyncRunner):
        async def run_once_async(self, worker: int = 0) -> int:
            if self.calls == 10:
                signal.raise_signal(signal.SIGINT)
            return await super().run_once_async(worker)

    runner = Interrupting("tasks", [], pause_s=0.001)
    other = FakeRunner("threads", [])
    outcome = run_interleaved([runner, other], Plan(iterations=1000, warmup=2))
    assert not outcome.complete
    assert runner.closed and other.closed and runner._loop is None
    assert runner.in_flight == 0
    # cold start + warm-up + the measured ones before the interrupted one
    assert outcome.records[0].tally.attempted == runner.calls - 1 - 2


def test_a_keyboard_interrupt_inside_an_operation_stops_at_once_and_closes():
    def interrupt(call: int):
        return KeyboardInterrupt() if call == 40 else None

    runner = FakeAsyncRunner("tasks", [], pause_s=0.001, fail=interrupt)
    outcome = run_interleaved([runner], Plan(iterations=10**6, warmup=0, concurrency=4, slice_s=5))
    assert not outcome.complete
    assert runner.closed and runner._loop is None
    assert runner.in_flight == 0  # the other tasks were cancelled by close(), not left running
    assert 0 < outcome.records[0].tally.attempted < 40
