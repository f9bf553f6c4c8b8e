"""The error timeline: when operations failed, and when the runner recovered."""

import pymysql
import pytest

from dbbench.engine import timeline as timeline_module
from dbbench.engine.harness import Plan, RunnerRecord, run_interleaved
from dbbench.engine.timeline import ErrorTimeline, describe, describe_kind
from dbbench.engine.turn import error_kind
from dbbench.results.model import TimelineSummary
from tests.fakes import FakeRunner


@pytest.fixture
def wall(monkeypatch):
    """A settable wall clock for the timeline (seconds)."""
    now = [1000.0]
    monkeypatch.setattr(timeline_module.time, "time", lambda: now[0])
    return now


def test_errors_buckets_and_recovery(wall):
    timeline = ErrorTimeline(origin_s=1000.0)
    lost = "OperationalError(2013)"
    for t in (3.1, 3.4, 4.2):
        wall[0] = 1000.0 + t
        timeline.error(lost)
    assert timeline.awaiting_recovery and timeline.recovered_s is None
    wall[0] = 1004.6
    timeline.success()
    wall[0] = 1009.0
    timeline.success()  # not awaiting any more: the first success after the error counts
    document = timeline.to_dict()
    assert document["kinds"] == {lost: {"count": 3, "first_s": 3.1, "last_s": pytest.approx(4.2)}}
    assert document["buckets"] == [[3.0, lost, 2], [4.0, lost, 1]]
    assert document["last_error_s"] == pytest.approx(4.2)
    assert document["recovered_s"] == pytest.approx(4.6)
    # an error after the recovery reopens it
    wall[0] = 1010.5
    timeline.error("OperationalError(1040)")
    assert timeline.to_dict()["recovered_s"] is None
    assert ErrorTimeline.from_dict(timeline.to_dict()).to_dict() == timeline.to_dict()


def test_nothing_failed_is_null():
    assert ErrorTimeline().to_dict() is None
    assert ErrorTimeline.from_dict(None).to_dict() is None
    assert describe("pool", None) == []


def test_processes_merge_counts_spans_and_the_recovery_after_the_last_error(wall):
    first, second = ErrorTimeline(origin_s=1000.0), ErrorTimeline(origin_s=1000.0)
    for target, error_at, success_at in ((first, 2.0, 2.5), (second, 3.0, 3.2)):
        wall[0] = 1000.0 + error_at
        target.error("OperationalError(2006)")
        wall[0] = 1000.0 + success_at
        target.success()
    merged = RunnerRecord("pool", timeline=ErrorTimeline.from_dict(first.to_dict()))
    merged.merge(RunnerRecord("pool", timeline=ErrorTimeline.from_dict(second.to_dict())))
    document = merged.timeline.to_dict()
    assert document["kinds"]["OperationalError(2006)"] == {
        "count": 2,
        "first_s": 2.0,
        "last_s": 3.0,
    }
    # first's recovery (2.5) came before second's error (3.0): not a recovery of the whole
    assert document["recovered_s"] == pytest.approx(3.2)


def test_describe_names_the_kind_the_times_and_the_recovery():
    document = {
        "bucket_s": 1.0,
        "kinds": {"OperationalError(2013)": {"count": 12, "first_s": 3.14, "last_s": 9.4}},
        "buckets": [[3.0, "OperationalError(2013)", 10], [9.0, "OperationalError(2013)", 2]],
        "last_error_s": 9.4,
        "recovered_s": 9.6,
    }
    assert describe("pool", TimelineSummary.from_document(document)) == [
        "pool: 12 × OperationalError(2013) lost connection, 3.1–9.4 s into the run "
        "(in 2 bursts: 3–4 s: 10, 9–10 s: 2)",
        "pool: recovered: first success 9.6 s into the run, 0.2 s after the last error",
    ]
    document["recovered_s"] = None
    assert describe("pool", TimelineSummary.from_document(document))[-1] == (
        "pool: no operation succeeded after the last error (9.4 s into the run)"
    )


def test_kinds_are_described():
    assert describe_kind("OperationalError(1040)") == "OperationalError(1040) too many connections"
    assert describe_kind("TimeoutError") == "TimeoutError pool checkout timed out"
    assert describe_kind("RuntimeError") == "RuntimeError"
    assert describe_kind("OperationalError(9999)") == "OperationalError(9999)"


def test_a_timeout_is_its_own_kind():
    lost = pymysql.err.OperationalError(2013, "Lost connection to server during query (timed out)")
    gone = pymysql.err.OperationalError(2006, "MySQL server has gone away (TimeoutError())")
    assert error_kind(lost) == "OperationalError(2013, timed out)"
    assert error_kind(gone) == "OperationalError(2006)"
    assert "read_timeout" in describe_kind(error_kind(lost))


@pytest.mark.parametrize("concurrency", [1, 4])
def test_the_harness_records_the_timeline_of_measured_operations(concurrency):
    """Calls 30 to 59 fail (a fault mid-run); the timeline agrees with the counts."""

    def fail(call: int):
        if 30 <= call < 60:
            return pymysql.err.OperationalError(2013, "Lost connection")
        if call == 3:
            return RuntimeError("warm-up failure, not in the timeline")
        return None

    runner = FakeRunner("pool", [], fail=fail)
    plan = Plan(iterations=200, warmup=5, concurrency=concurrency)
    outcome = run_interleaved([runner], plan)
    (record,) = outcome.records
    document = record.timeline.to_dict()
    assert record.warmup_errors == 1
    assert dict(record.tally.errors_by_kind) == {"OperationalError(2013)": 30}
    assert {k: v["count"] for k, v in document["kinds"].items()} == {"OperationalError(2013)": 30}
    assert sum(count for _, _, count in document["buckets"]) == 30
    span = document["kinds"]["OperationalError(2013)"]
    assert 0 <= span["first_s"] <= span["last_s"] <= document["recovered_s"]
    # (times in the document are rounded to the millisecond)
    assert document["recovered_s"] <= outcome.finished_at_s - outcome.started_at_s + 0.001
