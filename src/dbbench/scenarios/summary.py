"""A live run summarised into the result model, and the environment it records.

``build_result`` turns the harness's ``RunOutcome`` into a ``model.RunResult``,
the same class a result file is read into; its ``to_document()`` is the
``--json`` document, documented in docs/reference/json.md.  It never holds the
password: settings go in through ``Settings.public_dict()``.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
from importlib import metadata
from typing import Any

from dbbench.config.schema import mentioned
from dbbench.config.settings import split_label
from dbbench.engine.harness import RunnerRecord, RunOutcome
from dbbench.errors import Mentioning
from dbbench.results.model import (
    ClusterSummary,
    Distribution,
    Environment,
    RunnerResult,
    RunResult,
    Scratch,
    ScriptSummary,
    ServerSummary,
    SettingsSummary,
    SpeedupResult,
    StatementSummary,
    TimelineSummary,
    WorkerRunner,
    WorkerSummary,
)
from dbbench.runners import baseline_for
from dbbench.stats import speedup, summarize
from dbbench.workload_script import StatementFigures, StatementTally


def runner_result(record: RunnerRecord, target_rate_per_s: float | None) -> RunnerResult:
    """One runner's record, summarised (its histograms kept, for the document)."""
    tally = record.tally
    return RunnerResult(
        runner=record.runner,
        summary=summarize(tally.latency) if tally.latency.count else None,
        checkout=summarize(tally.checkout) if tally.checkout.count else None,
        errors_by_kind=dict(tally.errors_by_kind),
        warmup_errors=record.warmup_errors,
        first_op_ns=record.first_op_ns,
        measured_s=record.measured_ns / 1e9,
        pool=record.pool_counters,
        connections_opened=record.connections_opened,
        connects_failed=record.connects_failed,
        target_rate_per_s=target_rate_per_s,
        error_timeline=TimelineSummary.from_document(record.timeline.to_dict()),
        latency=Distribution.of(tally.latency),
        checkout_latency=Distribution.of(tally.checkout) if tally.checkout.count else None,
        scripts=script_summaries(record.statements) if record.statements is not None else None,
    )


def script_summaries(tally: StatementTally) -> tuple[ScriptSummary, ...]:
    """A run of scripts' figures, per script and statement, in the scripts' order."""
    empty = StatementFigures()
    scripts = []
    for number, (path, weight) in sorted(tally.scripts.items()):
        statements = []
        for (script, index), (line, sql) in sorted(tally.texts.items()):
            if script != number:
                continue
            figures = tally.statements.get((script, index), empty)
            latency = figures.latency
            statements.append(
                StatementSummary(
                    line,
                    sql,
                    latency.count,
                    figures.errors,
                    summarize(latency) if latency.count else None,
                    Distribution.of(latency) if latency.count else None,
                )
            )
        scripts.append(
            ScriptSummary(
                path,
                weight,
                tally.operations.get(number, 0),
                tally.think_ns.get(number, 0) / 1e9,
                tuple(statements),
            )
        )
    return tuple(scripts)


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def server_vendor(version: str | None) -> str | None:
    """ "MariaDB" or "MySQL" from ``SELECT VERSION()`` (MySQL's has no vendor in it);
    "PostgreSQL" from the version PostgreSQL's server check names so
    (``databases.postgresql``: "PostgreSQL 15.20 (Debian ...)")."""
    if not version:
        return None
    if version.startswith("PostgreSQL "):
        return "PostgreSQL"
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
        # diff warns when two results come from different hosts
        "host": platform.node() or None,
        "cpu_count": os.cpu_count(),
    }


def iso_utc(timestamp_s: float) -> str:
    return dt.datetime.fromtimestamp(timestamp_s, dt.UTC).isoformat(timespec="seconds")


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
    runners = [runner_result(r, outcome.plan.rate_per_s) for r in outcome.records]
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
    for result in runners:
        if result.timeouts:
            own = _runner_settings(result.runner, settings)
            all_notes.append(checkout_timeout_note(result.runner, result.timeouts, own))
    all_notes += [
        pool_statistics_note(r.runner, r.pool)
        for r in runners
        if r.pool is not None and r.pool.waits is not None
    ]
    cluster = cluster_summary(outcome.cluster) if outcome.cluster is not None else None
    if cluster is not None:
        all_notes += [worker_note(worker) for worker in cluster.workers if worker_note(worker)]
    return RunResult(
        command=command,
        settings=SettingsSummary.from_document(settings),
        environment=Environment.from_document(environment),
        runners=runners,
        speedups=speedups,
        complete=outcome.complete,
        stopped=outcome.stopped,
        started_at=iso_utc(outcome.started_at_s),
        finished_at=iso_utc(outcome.finished_at_s),
        pool_description=pool_description,
        notes=all_notes,
        server=None if server is None else ServerSummary.from_document(server),
        scratch=Scratch.from_document(scratch),
        cluster=cluster,
    )


def cluster_summary(run: Any) -> ClusterSummary:
    """A run on a Dask cluster (``engine.cluster.ClusterRun``): each process's worker, how it
    ended, and its own figures and histograms, runner by runner."""
    return ClusterSummary(
        scheduler=run.scheduler,
        start_skew_s=run.start_skew_s,
        workers=tuple(
            WorkerSummary(
                process=part.process,
                worker=part.worker,
                host=part.host,
                address=part.address,
                status=part.status,
                runners=tuple(
                    WorkerRunner(
                        record.runner,
                        record.tally.latency.count,
                        record.errors,
                        record.measured_ns / 1e9,
                        Distribution.of(record.tally.latency),
                    )
                    for record in part.records
                ),
                started_at=_iso_ms(part.started_at_s) if part.started_at_s else None,
                lost_at=_iso_ms(part.lost_at_s) if part.lost_at_s else None,
                failure=part.failure,
            )
            for part in run.parts
        ),
    )


def _iso_ms(timestamp_s: float) -> str:
    return dt.datetime.fromtimestamp(timestamp_s, dt.UTC).isoformat(timespec="milliseconds")


def worker_note(worker: WorkerSummary) -> str | None:
    """What a note says of a cluster's worker that did not finish: lost (when, and what
    its last checkpoint held, which the run's figures include) or failed (why)."""
    where = f"Dask worker {worker.worker} ({worker.host}, process {worker.process})"
    if worker.status == "lost":
        return (
            f"{where} was lost at {worker.lost_at}"
            + (f" ({worker.failure})" if worker.failure else "")
            + ": its figures are those of its last "
            f"checkpoint ({worker.operations:,} operations, {worker.errors:,} errors), "
            "included in the run's; what it ran after that is not counted, and the result "
            "is incomplete"
        )
    if worker.status == "failed":
        return f"{where} failed: {worker.failure}"
    return None


def _runner_settings(runner: str, settings: dict[str, Any]) -> dict[str, Any]:
    """The public settings ``runner`` ran with: the run's, with its variant's pool."""
    name = split_label(runner)[1]
    variant = next((v for v in settings.get("variants") or () if v["name"] == name), None)
    if variant is None:
        return settings
    return {**settings, "pool": {**settings["pool"], **variant["pool"]}}


def pool_statistics_note(runner: str, pool: Any) -> str:
    """What a pool that keeps statistics of its own said of itself (psycopg_pool's
    ``get_stats()``: ``PoolCounters.waits`` and the rest), cold start and warm-up
    included, as the pool table's counts."""
    waited = f"{pool.waits:,} checkout{'s' * (pool.waits != 1)} waited for a connection"
    if pool.waits:
        waited += f" ({pool.wait_ms:,} ms in all)"
    return (
        f"{runner}'s own statistics: {waited}, {pool.lost:,} connection"
        f"{'s' * (pool.lost != 1)} found broken, {pool.connect_errors:,} failed connect"
        f"{'s' * (pool.connect_errors != 1)}"
    )


def checkout_timeout_note(runner: str, timeouts: int, settings: dict[str, Any]) -> Mentioning:
    """Why checkouts gave up, and the settings that make them stop: ``settings`` is the run's
    ``Settings.public_dict()``."""
    pool, bench = settings["pool"], settings["benchmark"]
    size, overflow = mentioned("pool", "pool_size"), mentioned("pool", "max_overflow")
    timeout = mentioned("pool", "pool_timeout")
    waited = f"{timeouts:,} checkouts waited {pool['pool_timeout_s']:g} s ({timeout})"
    if pool["max_overflow"] < 0:  # no limit: the pool was never full, connecting was slow
        return Mentioning(
            f"{runner}: {waited} for a new connection and gave up (TimeoutError); give "
            f"{timeout} a longer wait"
        )
    limit = pool["pool_size"] + pool["max_overflow"]
    connections = f"{limit} connection{'s' * (limit != 1)}"
    processes = bench["processes"]
    each = f" in each of {processes} processes" if processes > 1 else ""
    return Mentioning(
        f"{runner}: {waited} for a free connection and gave up (TimeoutError): "
        f"{bench['concurrency']} workers shared at most {connections}{each} "
        f"({size} {pool['pool_size']} + {overflow} {pool['max_overflow']}); raise {size} or "
        f"{overflow}, or give {timeout} a longer wait"
    )


__all__ = ["build_result", "capture_environment", "iso_utc", "runner_result"]
