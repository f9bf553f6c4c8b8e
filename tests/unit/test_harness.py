"""The harness with fake runners: ordering, warm-up, cold start, errors, interruption."""

import pymysql

from dbbench.harness import Plan, error_kind, run_interleaved
from tests.fakes import FakeClock, FakeRunner


def test_rounds_are_interleaved_and_rotate():
    log: list[str] = []
    runners = [FakeRunner(n, log) for n in ("a", "b", "c")]
    run_interleaved(runners, Plan(iterations=2, warmup=1))
    operations = [entry for entry in log if " " not in entry]
    # cold start a, b, c; then rounds rotating the first runner: abc, bca, cab
    assert operations == ["a", "b", "c"] + list("abc") + list("bca") + list("cab")
    assert log[:2] == ["open a", "a"]
    assert log[-3:] == ["close a", "close b", "close c"]


def test_warmup_and_cold_start_are_not_in_the_samples():
    clock = FakeClock()
    log: list[str] = []
    slow_start = FakeRunner("pool", log, clock, cost_ns=100, open_cost_ns=5000)
    outcome = run_interleaved([slow_start], Plan(iterations=4, warmup=3), clock=clock)
    (samples,) = outcome.samples
    assert list(samples.latencies_ns) == [100, 100, 100, 100]
    assert samples.first_op_ns == 5100  # open + first operation, reported apart
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
    (samples,) = outcome.samples
    assert dict(samples.errors_by_kind) == {"OperationalError(2013)": 2, "RuntimeError": 1}
    assert samples.errors + len(samples.latencies_ns) == 5
    assert samples.warmup_errors == 0


def test_warmup_errors_are_counted_apart():
    runner = FakeRunner("raw", [], fail=lambda call: RuntimeError() if call == 2 else None)
    outcome = run_interleaved([runner], Plan(iterations=3, warmup=2))
    assert outcome.samples[0].warmup_errors == 1
    assert outcome.samples[0].errors == 0


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
    assert len(outcome.samples[0].latencies_ns) == 3
    assert len(outcome.samples[1].latencies_ns) >= 3


def test_progress_reports_every_operation_up_to_the_total():
    seen: list[tuple[int, int]] = []
    runners = [FakeRunner("a", []), FakeRunner("b", [])]
    run_interleaved(
        runners, Plan(iterations=3, warmup=2), on_progress=lambda d, t: seen.append((d, t))
    )
    assert seen[-1] == (12, 12)  # 2 runners x (1 cold + 2 warm-up + 3 measured)
    assert [d for d, _ in seen] == list(range(1, 13))


def test_error_kind_names():
    assert error_kind(pymysql.err.OperationalError(2003, "x")) == "OperationalError(2003)"
    assert error_kind(TimeoutError("x")) == "TimeoutError"
