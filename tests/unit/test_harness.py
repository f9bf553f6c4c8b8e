"""The harness with fake runners: turns, warm-up, cold start, errors, interruption, workers."""

import threading
import time

import pymysql
import pytest

from dbbench.engine.harness import Plan, run_interleaved
from dbbench.engine.turn import error_kind
from tests.fakes import FakeClock, FakeRunner


def latencies(record) -> list[tuple[int, int]]:
    return list(record.tally.latency.buckets())


def test_one_operation_turns_rotate():
    log: list[str] = []
    runners = [FakeRunner(n, log) for n in ("a", "b", "c")]
    run_interleaved(runners, Plan(iterations=3, warmup=1))
    operations = [entry for entry in log if " " not in entry]
    # cold start a, b, c; warm-up one each; then rounds rotating the first runner: abc, bca, cab
    assert operations == ["a", "b", "c"] + ["a", "b", "c"] + list("abc") + list("bca") + list("cab")
    assert log[:2] == ["open a", "a"]
    assert log[-3:] == ["close a", "close b", "close c"]


def test_warmup_and_cold_start_are_not_in_the_samples():
    clock = FakeClock()
    slow_start = FakeRunner("pool", [], clock, cost_ns=100, open_cost_ns=5000)
    outcome = run_interleaved([slow_start], Plan(iterations=4, warmup=3), clock=clock)
    (record,) = outcome.records
    assert latencies(record) == [(100, 4)]
    assert record.first_op_ns == 5100  # open + first operation, reported apart
    assert record.measured_ns == 400
    assert slow_start.calls == 1 + 3 + 4
    assert outcome.complete


def test_errors_are_counted_by_kind_and_the_run_goes_on():
    def fail(call: int):
        if call in (3, 5):
            return pymysql.err.OperationalError(2013, "Lost connection")
        if call == 6:
            return RuntimeError("boom")
        return None

    clock = FakeClock()
    runner = FakeRunner("raw", [], clock, cost_ns=10, fail=fail)
    # calls: 1 cold, 2 warm-up, 3..7 measured
    outcome = run_interleaved([runner], Plan(iterations=5, warmup=1), clock=clock)
    (record,) = outcome.records
    assert dict(record.tally.errors_by_kind) == {"OperationalError(2013)": 2, "RuntimeError": 1}
    assert record.tally.attempted == 5
    assert record.warmup_errors == 0
    assert record.measured_ns == 50  # failed operations' time counts as measured time too


def test_warmup_errors_are_counted_apart():
    runner = FakeRunner("raw", [], fail=lambda call: RuntimeError() if call == 2 else None)
    outcome = run_interleaved([runner], Plan(iterations=3, warmup=2))
    assert outcome.records[0].warmup_errors == 1
    assert outcome.records[0].errors == 0


def test_interrupt_keeps_what_was_measured_and_closes_runners():
    def interrupt(call: int):
        return KeyboardInterrupt() if call == 5 else None

    log: list[str] = []
    a = FakeRunner("a", log, fail=interrupt)
    b = FakeRunner("b", log)
    outcome = run_interleaved([a, b], Plan(iterations=10, warmup=0))
    assert not outcome.complete
    assert a.closed and b.closed
    # a: cold, then measured calls 2, 3, 4 succeeded before call 5 was interrupted
    assert outcome.records[0].tally.latency.count == 3
    assert outcome.records[1].tally.latency.count >= 3


def test_progress_is_reported_with_totals():
    seen = []
    clock = FakeClock()
    runners = [FakeRunner("a", [], clock, cost_ns=300_000_000), FakeRunner("b", [], clock)]
    run_interleaved(runners, Plan(iterations=3, warmup=2), on_progress=seen.append, clock=clock)
    assert seen, "a run longer than the report interval reports progress"
    assert all(p.total == 6 for p in seen)
    measuring = [p for p in seen if p.phase == "measuring"]
    assert measuring and max(p.done for p in measuring) <= 6


class ThreadRecorder(FakeRunner):
    """Notes which threads and worker numbers ran operations."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.seen: set[tuple[str, int]] = set()
        self.lock = threading.Lock()

    def run_once(self, worker: int = 0) -> int:
        super().run_once(worker)
        with self.lock:
            self.seen.add((threading.current_thread().name, worker))
        time.sleep(0.0002)  # like I/O: lets the other workers run
        return 7  # a "checkout" time, recorded apart


def test_concurrent_workers_account_for_every_operation():
    runners = [ThreadRecorder("a", []), ThreadRecorder("b", [])]
    outcome = run_interleaved(runners, Plan(iterations=500, warmup=4, concurrency=4, slice_s=0.01))
    assert outcome.complete
    for runner, record in zip(runners, outcome.records, strict=True):
        assert record.tally.attempted == 500  # exactly the operations asked for
        assert runner.calls == 1 + 4 + 500  # cold start + warm-up + measured
        workers = {w for name, w in runner.seen if name.startswith("dbbench-worker-")}
        assert workers == {0, 1, 2, 3}
        assert record.tally.checkout.count == 500
        assert record.measured_ns > 0


def test_duration_runs_each_runner_for_about_that_long():
    runners = [FakeRunner("a", []), FakeRunner("b", [])]
    outcome = run_interleaved(
        runners, Plan(iterations=None, duration_s=0.2, warmup=0, concurrency=2, slice_s=0.05)
    )
    for record in outcome.records:
        # at least the duration; how far past it a loaded machine goes is not the harness's
        assert record.measured_ns / 1e9 >= 0.2
        assert record.tally.latency.count > 0


def test_duration_stops_handing_out_operations_once_it_is_over():
    # on a clock that moves only inside operations (1 ms each): each runner measures for
    # the duration, then at most the operation that was running when it ended
    clock = FakeClock()
    runners = [FakeRunner(name, [], clock=clock, cost_ns=1_000_000) for name in ("a", "b")]
    outcome = run_interleaved(
        runners, Plan(iterations=None, duration_s=0.2, warmup=0, slice_s=0.05), clock=clock
    )
    for record in outcome.records:
        assert 0.2e9 <= record.measured_ns <= 0.2e9 + 4 * 1_000_000
        assert 200 <= record.tally.latency.count <= 204


def test_open_loop_latency_counts_from_the_scheduled_start():
    # one worker, 100 ops/s scheduled, but each operation takes 30 ms: the queue grows,
    # and each latency includes the wait behind the operations before it
    class Slow(FakeRunner):
        def run_once(self, worker: int = 0) -> None:
            super().run_once(worker)
            time.sleep(0.03)

    outcome = run_interleaved(
        [Slow("a", [])], Plan(iterations=10, warmup=0, rate_per_s=100, slice_s=5)
    )
    latency = outcome.records[0].tally.latency
    assert latency.count == 10
    # the 10th operation was scheduled at 90 ms and started at about 270 ms
    assert latency.max_ns >= 0.2e9
    assert latency.min_ns < 0.05e9


def test_error_kind_names():
    assert error_kind(pymysql.err.OperationalError(2003, "x")) == "OperationalError(2003)"
    assert error_kind(TimeoutError("x")) == "TimeoutError"


def test_max_errors_stops_the_run_and_keeps_what_was_measured():
    failing = FakeRunner("raw", [], fail=lambda call: RuntimeError() if call % 3 == 0 else None)
    healthy = FakeRunner("pool", [])
    outcome = run_interleaved([failing, healthy], Plan(iterations=1000, warmup=0, max_errors=5))
    assert not outcome.complete
    assert outcome.stopped == "stopped after 5 failed operations ([benchmark] max_errors = 5)"
    assert outcome.records[0].errors == 5
    assert outcome.records[0].tally.latency.count > 0  # the successes before are kept
    assert failing.closed and healthy.closed


def test_max_errors_with_workers():
    failing = FakeRunner("raw", [], fail=lambda call: RuntimeError() if call > 3 else None)
    outcome = run_interleaved(
        [failing], Plan(iterations=10**6, warmup=0, concurrency=2, slice_s=0.01, max_errors=10)
    )
    assert outcome.stopped and outcome.records[0].errors >= 10


@pytest.mark.parametrize("concurrency", [2, 4])
def test_max_errors_stops_workers_within_the_turn(concurrency):
    # one long turn (slice 30 s, a million operations): the limit must stop it at once, not at
    # its end; at most the operations in flight when it is reached fail beyond it
    slow = [FakeRunner("ok", [])]
    failing = ThreadRecorder("raw", [], fail=lambda call: RuntimeError() if call > 1 else None)
    plan = Plan(iterations=10**6, warmup=0, concurrency=concurrency, slice_s=30, max_errors=5)
    outcome = run_interleaved([failing, *slow], plan)
    assert outcome.stopped == "stopped after 5 failed operations ([benchmark] max_errors = 5)"
    assert not outcome.complete
    assert 5 <= outcome.records[0].errors <= 5 + concurrency - 1
    assert outcome.records[1].tally.attempted == 0  # the run stopped before the next runner


@pytest.mark.parametrize("concurrency", [1, 4])
def test_max_errors_counts_warm_up_failures_and_stops_in_the_warm_up(concurrency):
    """A query that fails everywhere stops the run in its warm-up, not after thousands of
    warm-up failures sent to the server: "Stop once this many operations failed"."""
    failing = ThreadRecorder("raw", [], fail=lambda call: RuntimeError() if call > 1 else None)
    healthy = FakeRunner("ok", [])
    plan = Plan(iterations=10**6, warmup=2000, concurrency=concurrency, slice_s=30, max_errors=5)
    outcome = run_interleaved([failing, healthy], plan)
    assert outcome.stopped == "stopped after 5 failed operations ([benchmark] max_errors = 5)"
    assert not outcome.complete
    record = outcome.records[0]
    assert 5 <= record.warmup_errors <= 5 + concurrency - 1
    assert record.errors == 0 and record.tally.attempted == 0  # nothing was measured
    assert failing.calls == 1 + record.warmup_errors  # its cold start, then the failures
    assert healthy.calls == 1  # cold started, never warmed up: the run stopped first
    assert failing.closed and healthy.closed


def _statement_failed():
    from dbbench.scripts.parse import parse_script
    from dbbench.scripts.run import ScriptResult, StatementFailed

    script = parse_script("SELECT 1 / :x;\n", "div.sql", variables=("x",))
    statement = script.statements[0]
    error = pymysql.err.DataError(1365, "Division by 0")
    return StatementFailed(script, statement, error, ScriptResult(()))


def test_a_scripts_cold_start_that_fails_by_its_data_is_tried_again_and_counted():
    clock = FakeClock()
    failing = {1, 2, 3}  # the first three tries fail, as a drawn zero would
    runner = FakeRunner(
        "pool", [], clock, cost_ns=100,
        fail=lambda call: _statement_failed() if call in failing else None,
    )  # fmt: skip
    outcome = run_interleaved([runner], Plan(iterations=4, warmup=2), clock=clock)
    (record,) = outcome.records
    assert outcome.complete and record.tally.errors == 0
    assert record.warmup_errors == 3  # the failed tries, apart from the measured
    assert record.first_op_ns == 4 * 100  # open and every try: the cold start's cost
    assert runner.calls == 4 + 2 + 4


def test_a_scripts_cold_start_that_fails_every_time_stops_the_run():
    from dbbench.engine.harness import COLD_START_TRIES
    from dbbench.scripts.run import StatementFailed

    runner = FakeRunner("pool", [], fail=lambda call: _statement_failed())
    with pytest.raises(StatementFailed):
        run_interleaved([runner], Plan(iterations=4, warmup=2))
    assert runner.calls == COLD_START_TRIES and runner.closed


def test_a_cold_start_that_fails_otherwise_is_not_tried_again():
    runner = FakeRunner("raw", [], fail=lambda call: OSError("refused"))
    with pytest.raises(OSError):
        run_interleaved([runner], Plan(iterations=4, warmup=2))
    assert runner.calls == 1


def test_a_scripts_failed_set_is_named_by_its_place():
    from dbbench.scripts.expr import ScriptError

    error = ScriptError("rr.sql:2: \\set b: empty range", "rr.sql:2")
    assert error_kind(error) == "ScriptError at rr.sql:2"
    assert error_kind(ScriptError("a.sql:1: refused")) == "ScriptError"  # no place of its own
