"""explain's layers of ``core`` and ``session``: their order, the findings' arithmetic,
and the layered operation timed on a real SQLAlchemy engine over SQLite (no server)."""

from __future__ import annotations

import time

import pytest
import sqlalchemy
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import QueuePool

from dbbench.config.settings import Settings
from dbbench.runners.core import CoreRunner
from dbbench.runners.session import SessionRunner
from dbbench.scenarios.explain import PhaseResult, RunnerExplanation, check_arguments, findings
from dbbench.scenarios.phases import layer_phases
from dbbench.scenarios.phases.clock import PhaseClock
from dbbench.workload import Workload


def _phase(name: str, median_ns: int, trips: int = 0) -> PhaseResult:
    return PhaseResult(name, "", median_ns, median_ns * 2, trips)


def _explained(runner: str, whole_ns: int, *phases: PhaseResult) -> RunnerExplanation:
    return RunnerExplanation(
        runner=runner,
        operation="",
        iterations=100,
        phases=phases,
        whole_median_ns=whole_ns,
        whole_p95_ns=whole_ns * 2,
        gap_median_ns=0,
    )


CORE = _explained(
    "core",
    113_000,
    _phase("checkout", 10_000),
    _phase("statement", 18_000),
    _phase("DB-API execute", 38_000, 1),
    _phase("result", 15_000),
    _phase("rollback", 19_000, 1),
    _phase("checkin", 11_000),
)
SESSION = _explained(
    "session",
    164_000,
    _phase("Session()", 4_000),
    _phase("session execute", 23_000),
    _phase("checkout", 11_000),
    _phase("statement", 12_000),
    _phase("DB-API execute", 40_000, 1),
    _phase("result", 16_000),
    _phase("rollback", 19_000, 1),
    _phase("reset-on-return", 15_000, 1),
    _phase("close", 23_000),
)


def _unbuilt(cls: type) -> object:
    return cls.__new__(cls)  # the class is all the order reads


def test_the_layers_run_in_order_a_drivers_own_statements_inside_the_execute():
    assert layer_phases.phases(_unbuilt(CoreRunner), ("BEGIN",)) == (
        "checkout", "pre-ping", "statement", "DB-API execute", "BEGIN", "result",
        "commit", "rollback", "reset-on-return", "checkin",
    )
    assert layer_phases.phases(_unbuilt(SessionRunner)) == (
        "Session()", "session execute", "checkout", "pre-ping", "statement",
        "DB-API execute", "result", "commit", "rollback", "reset-on-return", "close",
    )


def test_explain_splits_core_and_session_and_still_refuses_the_async_runners():
    check_arguments(("core", "session"), "pymysql")
    with pytest.raises(Exception, match="async-core"):
        check_arguments(("async-core",), "pymysql")


def test_cores_statement_handling_is_the_statement_and_the_result_by_hand():
    (note, *_) = findings([CORE], Settings(), None, {"core": (599, 600)})
    # 18 + 15 = 33 µs of 113 µs: 29%
    assert note == (
        "core: Core's statement handling (the statement: compiled_cache lookup, autobegin, "
        "execution context, 18 µs; the result: CursorResult and rows, 15 µs) adds 33 µs per "
        "operation over the DB-API execute's 38 µs (29% of its 113 µs); the compiled "
        "statement was found in the engine's compiled_cache in 599 of 600 executions (the "
        "first compiled it). A hot path that runs one fixed statement can drop to the pool's "
        "DB-API connection (engine.raw_connection(), as the pool runner) and do without it."
    )


def test_misses_beyond_the_first_compile_are_said():
    (note, *_) = findings([CORE], Settings(), None, {"core": (500, 600)})
    assert "in 500 of 600 executions: it was compiled again on the others" in note
    (unseen, *_) = findings([CORE], Settings(), None)
    assert "compiled_cache in" not in unseen


def test_a_session_per_operation_its_own_work_and_the_second_rollback_by_hand():
    notes = findings([CORE, SESSION], Settings(), None, {})
    (session,) = [n for n in notes if "a Session per operation" in n]
    # Session() 4 + its execute's own 23 = 27 µs; + the reset's 15 + close 23 - checkin 11
    assert session == (
        "session: a Session per operation adds 27 µs of its own (Session() 4 µs, its "
        "execute's own work 23 µs), and its close takes 23 µs with the Connection's close "
        "and the checkin (core's checkin 11 µs); with the pool's reset-on-return (15 µs) and "
        "its close beyond that checkin (12 µs), a Session per operation costs 54 µs over "
        "Core's layers. Session() and its close, 27 µs here, come once per Session however "
        "many statements it runs: reuse one Session for the statements of a request rather "
        "than one per statement, or drop to Core (engine.connect()) on a hot path, without "
        "those 54 µs."
    )
    (alone,) = [n for n in findings([SESSION], Settings(), None) if "per operation adds" in n]
    # no core to set it beside: no figure for dropping to Core, so no such advice
    assert "and the checkin. Session() and its close, 27 µs here" in alone
    assert alone.endswith(
        "rather than one per statement; explain --runner core,session measures what "
        "dropping to Core (engine.connect()) would leave out."
    )
    (reset,) = [n for n in notes if "rolls the transaction back" in n]
    assert "(15 µs and 1 round trip(s) per operation here" in reset
    assert "[pool] pool_reset_on_return none removes it" in reset


def test_a_reset_with_no_round_trip_earns_no_finding():
    quiet = _explained(
        "session", SESSION.whole_median_ns,
        *(_phase(p.name, p.median_ns, 0 if p.name == "reset-on-return" else p.round_trips)
          for p in SESSION.phases),
    )
    notes = findings([quiet], Settings(), None)
    assert [n for n in notes if "a Session per operation" in n]
    assert not [n for n in notes if "rolls the transaction back" in n]


# --- the layered operation on a real engine (SQLite in memory) ---------------------


def _open(cls: type) -> CoreRunner | SessionRunner:
    """``cls`` with what the layered operation reads, on SQLite: its engine, workload,
    statement (and sessionmaker)."""
    runner = cls.__new__(cls)
    runner.workload = Workload("SELECT 1")
    runner._engine = sqlalchemy.create_engine("sqlite://", poolclass=QueuePool)
    runner.sessions = sessionmaker(bind=runner._engine)
    return runner


@pytest.mark.parametrize(
    ("cls", "expected"),
    [
        (CoreRunner, {"checkout", "statement", "DB-API execute", "result", "rollback",
                      "checkin"}),
        (SessionRunner, {"Session()", "session execute", "checkout", "statement",
                         "DB-API execute", "result", "rollback", "reset-on-return", "close"}),
    ],
)
def test_each_layer_is_timed_and_they_add_up_to_no_more_than_the_operation(cls, expected):
    runner = _open(cls)
    try:
        operation = layer_phases.LayeredOperation(runner, None)
        operation.run(PhaseClock())  # the first connect, and the compile
        clock = PhaseClock()
        start = time.perf_counter_ns()
        operation.run(clock)
        elapsed_ns = time.perf_counter_ns() - start
        assert set(clock.durations_ns) == expected
        assert all(ns > 0 for ns in clock.durations_ns.values())
        # the phases never overlap: together within the operation timed around them
        assert sum(clock.durations_ns.values()) <= elapsed_ns
        assert clock._stack == []
        runner.run_once()  # untimed, through the same events: counted, charged nowhere
        assert (operation.executions, operation.cache_hits) == (3, 2)
    finally:
        runner.close()
