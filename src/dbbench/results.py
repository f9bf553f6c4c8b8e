"""Result dataclasses, the JSON document and the environment it records.

``RunResult.to_dict()`` is the ``--json`` document; its layout is versioned
by ``SCHEMA_VERSION`` and documented in docs/reference/json.md.  It never holds the
password: settings go in through ``Settings.public_dict()``.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from dbbench.harness import RunnerRecord, RunOutcome
from dbbench.output.numbers import us_from_ns
from dbbench.poolstats import PoolCounters
from dbbench.stats import Speedup, Summary, speedup, summarize

#: 2 added latency histograms, the server's vendor and the sweep/stale envelopes
SCHEMA_VERSION = 2
BASELINE_RUNNER = "raw"
#: an open-loop run that reached less than this share of its target rate says so
RATE_SHORTFALL = 0.95


@dataclass(frozen=True)
class RunnerResult:
    runner: str
    #: None when no operation succeeded
    summary: Summary | None
    #: time to get a connection from the pool (pool runners), apart from the query
    checkout: Summary | None
    errors_by_kind: dict[str, int]
    warmup_errors: int
    #: ``open()`` plus the first operation, nanoseconds
    first_op_ns: int | None
    #: wall time this runner was measured, seconds (its turns added up)
    measured_s: float
    pool: PoolCounters | None = None
    connections_opened: int = 0
    #: open loop: the target rate, operations per second
    target_rate_per_s: float | None = None
    #: when operations failed and when they succeeded again (``ErrorTimeline.to_dict()``);
    #: None when none failed
    error_timeline: dict[str, Any] | None = None
    #: the raw record, with its histograms (for files that keep them)
    record: RunnerRecord | None = field(default=None, repr=False, compare=False)

    @property
    def errors(self) -> int:
        return sum(self.errors_by_kind.values())

    @property
    def attempted(self) -> int:
        return (self.summary.n if self.summary else 0) + self.errors

    @property
    def timeouts(self) -> int:
        """Pool checkouts that gave up waiting (SQLAlchemy's ``TimeoutError``)."""
        return self.errors_by_kind.get("TimeoutError", 0)

    @property
    def ops_per_s(self) -> float | None:
        """Successful operations per second of measured wall time, all workers together."""
        if not self.summary or self.measured_s <= 0:
            return None
        return self.summary.n / self.measured_s

    @property
    def achieved_rate_per_s(self) -> float | None:
        """Operations attempted per second of measured wall time."""
        return self.attempted / self.measured_s if self.measured_s > 0 else None

    @property
    def rate_shortfall(self) -> bool:
        achieved = self.achieved_rate_per_s
        return bool(self.target_rate_per_s) and (
            achieved is None or achieved < RATE_SHORTFALL * self.target_rate_per_s
        )

    @classmethod
    def from_record(cls, record: RunnerRecord, target_rate_per_s: float | None) -> RunnerResult:
        tally = record.tally
        return cls(
            runner=record.runner,
            summary=summarize(tally.latency) if tally.latency.count else None,
            checkout=summarize(tally.checkout) if tally.checkout.count else None,
            errors_by_kind=dict(tally.errors_by_kind),
            warmup_errors=record.warmup_errors,
            first_op_ns=record.first_op_ns,
            measured_s=record.measured_ns / 1e9,
            pool=record.pool_counters,
            connections_opened=record.connections_opened,
            target_rate_per_s=target_rate_per_s,
            error_timeline=record.timeline.to_dict(),
            record=record,
        )


@dataclass(frozen=True)
class SpeedupResult:
    runner: str
    baseline: str
    speedup: Speedup


@dataclass(frozen=True)
class RunResult:
    command: str
    settings: dict[str, Any]
    environment: dict[str, Any]
    runners: list[RunnerResult]
    speedups: list[SpeedupResult]
    complete: bool
    started_at: str
    finished_at: str
    #: why the run stopped early (--max-errors), when it did
    stopped: str | None = None
    #: the pool's settings when a pool runner took part
    pool_description: str | None = None
    #: findings about known costs in these settings, in plain language
    notes: list[str] = field(default_factory=list)
    #: what the server saw (``ServerActivity.to_dict()``) and the cross-check
    server: dict[str, Any] | None = None
    #: a write workload's scratch table: name, database, rows counted before the drop, dropped
    scratch: dict[str, Any] | None = None
    schema_version: int = field(default=SCHEMA_VERSION)

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.runners)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "command": self.command,
            "complete": self.complete,
            "stopped": self.stopped,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "settings": self.settings,
            "environment": self.environment,
            "results": [_runner_dict(r) for r in self.runners],
            "speedups": [
                {
                    "runner": s.runner,
                    "baseline": s.baseline,
                    "ratio": s.speedup.ratio,
                    "ci_low": s.speedup.ci_low,
                    "ci_high": s.speedup.ci_high,
                    "confidence": s.speedup.confidence,
                }
                for s in self.speedups
            ],
            "server": self.server,
            "notes": self.notes,
            # only for write workloads: read documents stay as they were
            **({"scratch": self.scratch} if self.scratch is not None else {}),
        }


def summary_dict(s: Summary | None) -> dict[str, Any]:
    """Latency statistics in microseconds (null when nothing succeeded)."""
    keys = ("mean", "stddev", "min", "p50", "p90", "p95", "p99", "p999", "max")
    if s is None:
        return {f"{key}_us": None for key in keys}
    return {f"{key}_us": us_from_ns(getattr(s, f"{key}_ns")) for key in keys}


def _runner_dict(result: RunnerResult) -> dict[str, Any]:
    return {
        "runner": result.runner,
        "n": result.summary.n if result.summary else 0,
        "errors": result.errors,
        "errors_by_kind": result.errors_by_kind,
        "error_timeline": result.error_timeline,
        "warmup_errors": result.warmup_errors,
        **summary_dict(result.summary),
        "ops_per_s": result.ops_per_s,
        "measured_s": result.measured_s,
        "first_op_us": us_from_ns(result.first_op_ns),
        "target_rate_per_s": result.target_rate_per_s,
        "achieved_rate_per_s": result.achieved_rate_per_s if result.target_rate_per_s else None,
        "checkout": summary_dict(result.checkout) if result.checkout else None,
        "pool": result.pool.to_dict() if result.pool else None,
        "connections_opened": result.connections_opened,
        # the distributions themselves: percentiles can be recomputed and runs merged
        "histograms": {
            "latency": result.record.tally.latency.to_dict() if result.record else None,
            "checkout": (
                result.record.tally.checkout.to_dict()
                if result.record and result.record.tally.checkout.count
                else None
            ),
        },
    }


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def server_vendor(version: str | None) -> str | None:
    """ "MariaDB" or "MySQL" from ``SELECT VERSION()`` (MySQL's has no vendor in it)."""
    if not version:
        return None
    return "MariaDB" if "mariadb" in version.lower() else "MySQL"


def capture_environment(server_version: str | None) -> dict[str, Any]:
    return {
        "dbbench": _version("dbbench"),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "pymysql": _version("PyMySQL"),
        "mysqlclient": _version("mysqlclient"),
        "mysql_connector": _version("mysql-connector-python"),
        "sqlalchemy": _version("SQLAlchemy"),
        "server_version": server_version,
        "server_vendor": server_vendor(server_version),
        "os": f"{platform.system()} {platform.release()}",
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
    }


def iso_utc(timestamp_s: float) -> str:
    return dt.datetime.fromtimestamp(timestamp_s, dt.UTC).isoformat(timespec="seconds")


def baseline_for(runner: str) -> str:
    """The runner another is compared with: ``raw``, or ``raw/DRIVER`` for ``pool/DRIVER``."""
    _, slash, driver = runner.partition("/")
    return BASELINE_RUNNER + slash + driver


def is_baseline(runner: str) -> bool:
    return runner == baseline_for(runner)


def build_result(
    command: str,
    outcome: RunOutcome,
    settings: dict[str, Any],
    environment: dict[str, Any],
    pool_description: str | None = None,
    notes: list[str] | None = None,
    server: dict[str, Any] | None = None,
    scratch: dict[str, Any] | None = None,
) -> RunResult:
    """Summarise every runner and compute each one's speedup over ``raw``.

    With several drivers (runners labelled ``pool/mysqlclient``) each runner is
    compared with ``raw`` of its own driver (``raw/mysqlclient``).
    """
    runners = [RunnerResult.from_record(r, outcome.plan.rate_per_s) for r in outcome.records]
    by_name = {r.runner: r for r in runners}
    speedups = []
    for result in runners:
        name = baseline_for(result.runner)
        baseline = by_name.get(name)
        if baseline is None or baseline.summary is None or name == result.runner:
            continue
        if result.summary is not None:
            speedups.append(
                SpeedupResult(result.runner, name, speedup(baseline.summary, result.summary))
            )
    all_notes = list(notes or [])
    if outcome.stopped:
        all_notes.append(outcome.stopped)
    for result in runners:
        if result.rate_shortfall:
            achieved = result.achieved_rate_per_s or 0.0
            all_notes.append(
                f"{result.runner} reached {achieved:,.0f} operations/s of the "
                f"{result.target_rate_per_s:,.0f}/s asked for: the client or the server "
                "could not keep up, and latencies include the queueing that caused"
            )
    return RunResult(
        command=command,
        settings=settings,
        environment=environment,
        runners=runners,
        speedups=speedups,
        complete=outcome.complete,
        stopped=outcome.stopped,
        started_at=iso_utc(outcome.started_at_s),
        finished_at=iso_utc(outcome.finished_at_s),
        pool_description=pool_description,
        notes=all_notes,
        server=server,
        scratch=scratch,
    )
