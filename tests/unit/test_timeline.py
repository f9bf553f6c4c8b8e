"""The error timeline: when operations failed, and when the runner recovered."""

import io

import psycopg
import pymysql
import pytest
from rich.console import Console

from dbbench.databases import get_database
from dbbench.drivers import get_driver
from dbbench.engine import timeline as timeline_module
from dbbench.engine.harness import Plan, RunnerRecord, run_interleaved
from dbbench.engine.timeline import ErrorTimeline, describe, describe_kind
from dbbench.engine.turn import error_kind
from dbbench.output import markdown, table
from dbbench.output.report import sections
from dbbench.results.model import TimelineSummary
from dbbench.scenarios.summary import build_result
from tests.fakes import FakeClock, FakeRunner


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


@pytest.mark.parametrize(
    ("kind", "dialect", "described"),
    [
        ("OperationalError(57P01)", "postgresql", "OperationalError(57P01) connection killed "
         "(pg_terminate_backend, or the server shutting down)"),
        ("OperationalError(53300)", "postgresql", "OperationalError(53300) too many connections"),
        ("OperationalError(08006)", "postgresql", "OperationalError(08006) lost connection"),
        ("OperationalError(57P05)", "postgresql",
         "OperationalError(57P05) disconnected by the server (idle_session_timeout)"),
        # one dialect's codes mean nothing in the other's words
        ("OperationalError(1040)", "postgresql", "OperationalError(1040)"),
        ("OperationalError(57P01)", "mysql", "OperationalError(57P01)"),
        # a file from before PostgreSQL support (no dialect) measured MySQL
        ("OperationalError(2013)", None, "OperationalError(2013) lost connection"),
        # a dialect this dbbench does not know (a file from a newer one): no words, no error
        ("OperationalError(2013)", "oracle", "OperationalError(2013)"),
        ("TimeoutError", "postgresql", "TimeoutError pool checkout timed out"),
    ],
)
def test_codes_are_described_in_the_dialects_words(kind, dialect, described):
    assert describe_kind(kind, dialect) == described


def test_every_sqlstate_dbbench_files_a_postgresql_failure_under_has_words():
    """The SQLSTATEs the libpq drivers give (the server's, or read from libpq's text)."""
    from dbbench.drivers import libpq

    codes = set(libpq.SQLSTATE_FAILURES) | {code for _, code, _ in libpq.MESSAGE_FAILURES}
    words = get_database("postgresql").error_codes
    assert codes - set(words) == set()


def test_a_postgresql_failure_reads_in_the_timeline():
    driver = get_driver("psycopg")
    killed = driver.error_kind(psycopg.errors.AdminShutdown("terminating connection"))
    lost = driver.error_kind(psycopg.OperationalError("server closed the connection unexpectedly"))
    assert (killed, lost) == ("OperationalError(57P01)", "OperationalError(08006)")
    document = {
        "bucket_s": 1.0,
        "kinds": {
            killed: {"count": 3, "first_s": 1.0, "last_s": 1.2},
            lost: {"count": 1, "first_s": 1.3, "last_s": 1.3},
        },
        "buckets": [[1.0, killed, 3], [1.0, lost, 1]],
        "last_error_s": 1.3,
        "recovered_s": 1.5,
    }
    lines = describe("pool", TimelineSummary.from_document(document), "postgresql")
    assert lines[:2] == [
        "pool: 3 × OperationalError(57P01) connection killed (pg_terminate_backend, or the "
        "server shutting down), 1.0–1.2 s into the run",
        "pool: 1 × OperationalError(08006) lost connection, 1.3 s into the run",
    ]


def _postgresql_run_with_killed_connections():
    """A run on PostgreSQL whose pool lost operations 5 to 7 to pg_terminate_backend."""
    clock = FakeClock()

    def killed(call: int):
        return psycopg.errors.AdminShutdown("terminating connection") if 5 <= call < 8 else None

    outcome = run_interleaved(
        [FakeRunner("pool", [], clock, cost_ns=50_000, fail=killed)],
        Plan(iterations=20, warmup=2),
        clock=clock,
    )
    settings = {
        "database": {"dialect": "postgresql", "host": "127.0.0.1", "port": 5432, "user": "root"},
        "benchmark": {"iterations": 20, "duration_s": None, "warmup": 2, "query": "SELECT 1"},
    }
    environment = {"server_version": "PostgreSQL 15.0-Fake", "dbbench": "0.1.0"}
    return build_result("run", outcome, settings, environment, pool_description="pool_size=5")


@pytest.mark.parametrize("write", [table.write, markdown.write_run], ids=["table", "markdown"])
def test_every_format_describes_a_postgresql_code_in_its_words(write):
    out = io.StringIO()
    write(_postgresql_run_with_killed_connections(), Console(file=out, width=300))
    text = " ".join(out.getvalue().split())
    assert "3 × OperationalError(57P01) connection killed (pg_terminate_backend" in text


def test_the_report_describes_a_postgresql_code_in_its_words():
    run = _postgresql_run_with_killed_connections()
    html = sections._errors_list(run.runners, run.settings.database.dialect)
    assert "OperationalError(57P01) connection killed (pg_terminate_backend" in html


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
