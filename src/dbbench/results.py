"""Result dataclasses, the JSON document and the environment it records.

``RunResult.to_dict()`` is the ``--json`` document; its layout is versioned
by ``SCHEMA_VERSION`` and documented in the README.  It never holds the
password: settings go in through ``Settings.public_dict()``.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from dbbench.harness import RunnerSamples, RunOutcome
from dbbench.stats import Speedup, Summary, speedup, summarize

SCHEMA_VERSION = 1
BASELINE_RUNNER = "raw"


@dataclass(frozen=True)
class RunnerResult:
    runner: str
    #: None when no operation succeeded
    summary: Summary | None
    errors_by_kind: dict[str, int]
    warmup_errors: int
    #: ``open()`` plus the first operation, nanoseconds
    first_op_ns: int | None

    @property
    def errors(self) -> int:
        return sum(self.errors_by_kind.values())

    @classmethod
    def from_samples(cls, samples: RunnerSamples) -> RunnerResult:
        return cls(
            runner=samples.runner,
            summary=summarize(samples.latencies_ns) if samples.latencies_ns else None,
            errors_by_kind=dict(samples.errors_by_kind),
            warmup_errors=samples.warmup_errors,
            first_op_ns=samples.first_op_ns,
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
    #: the pool's settings when the pool runner took part
    pool_description: str | None = None
    #: findings about known costs in these settings, in plain language
    notes: list[str] = field(default_factory=list)
    schema_version: int = field(default=SCHEMA_VERSION)

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.runners)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "command": self.command,
            "complete": self.complete,
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
            "notes": self.notes,
        }


def _us(value_ns: float | None) -> float | None:
    return None if value_ns is None else value_ns / 1000.0


def _runner_dict(result: RunnerResult) -> dict[str, Any]:
    s = result.summary
    return {
        "runner": result.runner,
        "n": s.n if s else 0,
        "errors": result.errors,
        "errors_by_kind": result.errors_by_kind,
        "warmup_errors": result.warmup_errors,
        "mean_us": _us(s.mean_ns) if s else None,
        "stddev_us": _us(s.stddev_ns) if s else None,
        "min_us": _us(s.min_ns) if s else None,
        "p50_us": _us(s.p50_ns) if s else None,
        "p95_us": _us(s.p95_ns) if s else None,
        "p99_us": _us(s.p99_ns) if s else None,
        "max_us": _us(s.max_ns) if s else None,
        "ops_per_s": s.ops_per_s if s else None,
        "first_op_us": _us(result.first_op_ns),
    }


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def capture_environment(server_version: str | None) -> dict[str, Any]:
    return {
        "dbbench": _version("dbbench"),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "pymysql": _version("PyMySQL"),
        "sqlalchemy": _version("SQLAlchemy"),
        "server_version": server_version,
        "os": f"{platform.system()} {platform.release()}",
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
    }


def _iso(timestamp_s: float) -> str:
    return dt.datetime.fromtimestamp(timestamp_s, dt.UTC).isoformat(timespec="seconds")


def build_result(
    command: str,
    outcome: RunOutcome,
    settings: dict[str, Any],
    environment: dict[str, Any],
    pool_description: str | None = None,
    notes: list[str] | None = None,
) -> RunResult:
    """Summarise every runner and compute each one's speedup over ``raw``."""
    runners = [RunnerResult.from_samples(s) for s in outcome.samples]
    by_name = {r.runner: r for r in runners}
    baseline = by_name.get(BASELINE_RUNNER)
    speedups = []
    if baseline is not None and baseline.summary is not None:
        for result in runners:
            if result.runner != BASELINE_RUNNER and result.summary is not None:
                speedups.append(
                    SpeedupResult(
                        result.runner,
                        BASELINE_RUNNER,
                        speedup(baseline.summary, result.summary),
                    )
                )
    return RunResult(
        command=command,
        settings=settings,
        environment=environment,
        runners=runners,
        speedups=speedups,
        complete=outcome.complete,
        started_at=_iso(outcome.started_at_s),
        finished_at=_iso(outcome.finished_at_s),
        pool_description=pool_description,
        notes=list(notes or []),
    )
