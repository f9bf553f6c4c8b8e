"""Splitting a plan over processes, and merging what they send back (no processes started)."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import queue as queue_module
import signal
import sys
import threading
import time

import pymysql
import pytest

from dbbench import interruption
from dbbench.config.settings import BenchmarkSettings, DatabaseSettings, Settings
from dbbench.drivers.diagnosis import operation_error
from dbbench.engine.harness import Plan, RunOutcome, run_interleaved
from dbbench.engine.processes import Children, Message, ProcessFailed, _child, process_plans
from dbbench.errors import ConnectError, QueryError
from tests.fakes import FakeClock, FakeRunner


def test_process_plans_share_out_workers_operations_rate_and_warmup():
    plan = Plan(iterations=10, warmup=9, concurrency=3, rate_per_s=30.0, max_errors=5)
    plans = process_plans(plan, 3)
    assert [p.concurrency for p in plans] == [1, 1, 1]
    assert [p.iterations for p in plans] == [4, 3, 3]
    assert [p.rate_per_s for p in plans] == [10.0, 10.0, 10.0]
    assert [p.warmup for p in plans] == [3, 3, 3]
    # the limit is the run's: every process counts against the same shared counter
    assert [p.max_errors for p in plans] == [5, 5, 5]


def test_process_plans_for_a_duration_keep_it():
    plans = process_plans(Plan(iterations=None, duration_s=2.0, concurrency=5, warmup=0), 2)
    assert [(p.concurrency, p.iterations, p.duration_s, p.warmup) for p in plans] == [
        (3, None, 2.0, 0),
        (2, None, 2.0, 0),
    ]


def part(name_costs, plan, clock, fail=None, shared=None) -> RunOutcome:
    """One "process"'s outcome, as the parent receives it (through to_dict, from_dict)."""
    runners = [FakeRunner(name, [], clock, cost_ns=cost, fail=fail) for name, cost in name_costs]
    outcome = run_interleaved(runners, plan, clock=clock, shared_errors=shared)
    message = Message("result", 0, outcome.to_dict())
    return RunOutcome.from_dict(message.payload)


def test_merge_adds_the_processes_records_and_keeps_complete():
    clock = FakeClock()
    plan = Plan(iterations=4, warmup=0)
    a = part([("raw", 100), ("pool", 10)], plan, clock)
    b = part([("raw", 300), ("pool", 10)], plan, clock)
    merged = RunOutcome.merge([a, b], Plan(iterations=8, warmup=0, concurrency=2))
    assert merged.complete and merged.stopped is None
    raw, pool = merged.records
    assert (raw.runner, pool.runner) == ("raw", "pool")
    assert list(raw.tally.latency.buckets()) == [(100, 4), (300, 4)]
    assert raw.measured_ns == 1200  # they ran at the same time: the longer one's
    assert pool.tally.attempted == 8
    assert merged.plan.iterations == 8
    assert merged.started_at_s == a.started_at_s and merged.finished_at_s == b.finished_at_s


def test_max_errors_counts_every_process_and_stopped_survives_the_merge():
    shared = multiprocessing.get_context("spawn").Value("q", 0)
    clock = FakeClock()
    plan = Plan(iterations=100, warmup=0, max_errors=5)
    failing = part(
        [("raw", 10)],
        plan,
        clock,
        fail=lambda call: RuntimeError() if call > 3 else None,
        shared=shared,
    )
    # the second process starts once the first has used up the run's limit: it stops too
    healthy = part([("raw", 10)], plan, clock, shared=shared)
    assert failing.stopped == "stopped after 5 failed operations ([benchmark] max_errors = 5)"
    assert failing.records[0].errors == 5
    assert healthy.stopped == failing.stopped and healthy.records[0].tally.attempted == 0
    merged = RunOutcome.merge([healthy, failing], Plan(iterations=200, warmup=0, max_errors=5))
    assert merged.stopped == "stopped after 5 failed operations ([benchmark] max_errors = 5)"
    assert not merged.complete
    assert merged.records[0].errors == 5
    assert merged.records[0].tally.latency.count == 2  # calls 2 and 3 succeeded, then 4..8 failed


def test_max_errors_counts_every_process_warm_up_failures():
    shared = multiprocessing.get_context("spawn").Value("q", 0)
    clock = FakeClock()
    plan = Plan(iterations=100, warmup=50, max_errors=5)
    failing = part(
        [("raw", 10)], plan, clock, fail=lambda call: RuntimeError() if call > 1 else None,
        shared=shared,
    )  # fmt: skip
    # the limit was used up in the first process's warm-up: the second stops in its own
    healthy = part([("raw", 10)], plan, clock, shared=shared)
    assert failing.stopped == "stopped after 5 failed operations ([benchmark] max_errors = 5)"
    assert failing.records[0].warmup_errors == 5 and failing.records[0].tally.attempted == 0
    assert healthy.stopped == failing.stopped
    assert healthy.records[0].warmup_errors == 0 and healthy.records[0].tally.attempted == 0
    merged = RunOutcome.merge([failing, healthy], Plan(iterations=200, warmup=100, max_errors=5))
    assert merged.stopped == failing.stopped and not merged.complete
    assert merged.records[0].warmup_errors == 5


@pytest.mark.parametrize(
    ("exc", "kind", "raised"),
    [
        (pymysql.err.ProgrammingError(1146, "Table 'test.t' doesn't exist"), "query", QueryError),
        (pymysql.err.OperationalError(2003, "Can't connect"), "connect", ConnectError),
        (RuntimeError("a bug"), "other", ProcessFailed),
    ],
    ids=["query", "connect", "other"],
)
def test_a_process_whose_first_operation_fails_says_why_as_one_process_would(
    monkeypatch, exc, kind, raised
):
    settings = Settings(
        database=DatabaseSettings(database="test", sources={"database": "--database"}),
        benchmark=BenchmarkSettings(query="SELECT * FROM t"),
    )
    runner = FakeRunner("raw", [], fail=lambda call: exc)
    monkeypatch.setattr("dbbench.runners.create_runner", lambda name, settings: runner)
    monkeypatch.setattr(signal, "signal", lambda *args: None)  # the child's own handlers
    messages = queue_module.Queue()
    _child(0, settings, ["raw"], Plan(), threading.Barrier(1), [0], messages, False, None)
    # what the queue carries is pickled on its way to the parent
    message = pickle.loads(pickle.dumps(messages.get_nowait()))
    assert message.kind == "error" and message.payload.kind == kind
    error = message.payload.error(0)
    assert type(error) is raised
    if raised is ProcessFailed:
        assert str(error) == "worker process 0: RuntimeError: a bug"
    else:  # the diagnosis, exit status and all, that a single process gives
        single = operation_error(exc, settings.database, settings.benchmark.query)
        assert str(error) == str(single) and error.exit_status == single.exit_status


def _wait_for_sigint(ready) -> None:
    # as a worker process does: its handlers in, the signals blocked at its start unblocked
    with interruption.stop_on_signals(worker=True, last=True):
        try:
            with interruption.interruptible():
                ready.set()
                time.sleep(60)
        except KeyboardInterrupt:
            sys.exit(7)


@pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread(), reason="signals need it"
)
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_children_pass_each_stop_signal_on_as_sigint_and_stop_as_ctrl_c_does(signum, monkeypatch):
    # the child must end on the SIGINT passed on, not on the kill after the grace:
    # on a loaded machine it may take longer than the grace to be scheduled and exit
    monkeypatch.setattr(Children, "GRACE_S", 60.0)

    def before(signum, frame):
        raise AssertionError("the handler before is not called meanwhile")

    previous = signal.signal(signum, before)
    try:
        context = multiprocessing.get_context("spawn")
        ready = context.Event()
        child = context.Process(target=_wait_for_sigint, args=(ready,))
        with pytest.raises(KeyboardInterrupt), Children([child]):
            assert ready.wait(60)
            os.kill(os.getpid(), signum)
            time.sleep(30)  # the handler raises before this ends
        assert child.exitcode == 7  # it was interrupted, and Children joined it
        assert signal.getsignal(signum) is before  # put back on exit
    finally:
        signal.signal(signum, previous)


def _sleep() -> None:
    time.sleep(60)


@pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread(), reason="signals need it"
)
def test_children_left_on_an_exception_are_killed_after_a_grace():
    child = multiprocessing.get_context("spawn").Process(target=_sleep)
    started = time.monotonic()
    with pytest.raises(RuntimeError), Children([child]):
        raise RuntimeError("a failure")
    assert child.exitcode == -signal.SIGKILL  # it ignored the SIGINT: still starting up
    assert time.monotonic() - started < 30  # not JOIN_TIMEOUT_S


def test_a_worker_process_whose_script_failed_says_what_one_process_would():
    """A script's failed statement is a query failure named by its place, not a connect
    failure; a failed ``\\set`` is the script's own error (exit 2 as in one process)."""
    from dbbench.config.settings import Settings
    from dbbench.engine.processes import Failure
    from dbbench.errors import QueryError
    from dbbench.scripts.expr import ScriptError
    from tests.unit.test_harness import _statement_failed

    failure = Failure.of(_statement_failed(), Settings())
    assert failure.kind == "query"
    error = failure.error(0)
    assert isinstance(error, QueryError) and "the statement at div.sql:1 failed" in str(error)
    failure = Failure.of(ScriptError("rr.sql:2: \\set b: empty range"), Settings())
    error = failure.error(1)
    assert isinstance(error, ScriptError) and str(error) == "rr.sql:2: \\set b: empty range"
