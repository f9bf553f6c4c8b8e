"""The library entry point: settings + runner names -> a ``RunResult``.

``cli.py`` is a thin shell over ``run_benchmark``; a script can call it too::

    from dbbench import load_settings, run_benchmark
    result = run_benchmark(load_settings(), ["raw", "pool"])
    print(result.to_dict()["speedups"])
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pymysql
import sqlalchemy.exc

from dbbench.diagnosis import operation_error
from dbbench.errors import ConfigError
from dbbench.harness import Plan, ProgressCallback, RunnerRecord, RunOutcome, run_interleaved
from dbbench.preflight import check_server
from dbbench.processes import ProcessFailed, run_in_processes
from dbbench.results import SCHEMA_VERSION, RunResult, build_result, capture_environment
from dbbench.runners import create_runner
from dbbench.server import ServerAddress
from dbbench.server_status import (
    ServerActivity,
    ServerStatusMonitor,
    connection_budget_warning,
    read_max_connections,
)
from dbbench.settings import PoolSettings, Settings
from dbbench.sweep import Recommendation, SweepCell, grid, recommend
from dbbench.workload import Workload


def settings_for_server(settings: Settings, address: ServerAddress) -> Settings:
    """``settings`` pointed at a throwaway server; driver options (ssl, timeout) are kept."""
    database = dataclasses.replace(
        settings.database,
        host=address.host,
        port=address.port,
        user=address.user,
        password=address.password,
        database=address.database,
        unix_socket=None,
    )
    return dataclasses.replace(settings, database=database)


def findings(settings: Settings, runner_names: Sequence[str]) -> list[str]:
    """Plain-language notes on known costs that the settings bring into the numbers."""
    notes = []
    ssl = settings.database.ssl
    real_tls = any(key in ssl for key in ("ssl_ca", "ssl_cert", "ssl_key"))
    if "raw" in runner_names and not ssl.get("ssl_disabled") and not real_tls:
        notes.append(
            "no ssl_* setting: PyMySQL then tries TLS ('preferred') and builds a new SSL "
            "context, loading the system's CA store, for every connect, whether or not the "
            "server offers TLS; on a nearby server that can be most of raw's time. Set "
            "ssl_disabled = true, or ssl_ca for verified TLS, to measure what your "
            "application configures (README: 'The TLS default')."
        )
    if "pool" in runner_names and settings.benchmark.concurrency == 1:
        notes.append(
            "one worker uses one pooled connection at a time: pool_size, max_overflow and "
            "pool_timeout change nothing here; give --concurrency to see them matter"
        )
    return notes


def plan_for(settings: Settings) -> Plan:
    bench = settings.benchmark
    return Plan(
        iterations=None if bench.duration_s else bench.iterations,
        duration_s=bench.duration_s,
        warmup=bench.warmup_iterations,
        concurrency=bench.concurrency,
        rate_per_s=bench.rate_per_s,
        max_errors=bench.max_errors,
    )


def _connections_held(settings: Settings, runner_names: Sequence[str]) -> int:
    """Connections other than the pools' that may be open at once: workers, the monitor."""
    workers = settings.benchmark.concurrency
    held = workers if "persistent" in runner_names else 0  # held all run long
    busy = workers if {"raw", "nullpool"} & set(runner_names) else 0  # during their turns
    return held + busy + 1


def cross_check(activity: ServerActivity, records: Sequence[RunnerRecord]) -> dict[str, Any]:
    """The server's count of new connections against dbbench's own."""
    ours = sum(r.connections_opened for r in records) + activity.monitor_connections
    theirs = activity.deltas.get("Connections")
    return {
        "server_connections": theirs,
        "dbbench_connections": ours,
        "by_runner": {r.runner: r.connections_opened for r in records},
        "matches": theirs == ours,
    }


def run_benchmark(
    settings: Settings,
    runner_names: Sequence[str],
    *,
    command: str = "run",
    on_progress: ProgressCallback | None = None,
    on_result: Callable[[RunResult], None] | None = None,
) -> RunResult:
    """Check the server, run every runner in turns, and summarise.

    Raises ``ConnectError``/``QueryError`` when the server cannot be used at
    all.  Errors of single operations during the run are counted, not raised.
    A Ctrl-C during the run returns the partial result (``complete`` False).
    ``on_result`` gets the result so far about once a second while measuring
    (``complete`` False; with one process), then the final one: a result
    file written from it loses nothing to a crash.
    """
    workload = Workload(settings.benchmark.query)
    server = check_server(settings.database, workload)
    plan = plan_for(settings)
    processes = settings.benchmark.processes
    notes = findings(settings, runner_names)
    if "pool" in runner_names:
        warning = connection_budget_warning(
            read_max_connections(settings.database),
            processes,
            settings.pool.pool_size,
            settings.pool.max_overflow,
            other_connections=_connections_held(settings, runner_names),
        )
        if warning:
            notes.append(warning)
    environment = capture_environment(server.version)
    pool_description = (
        settings.pool.describe() if {"pool", "nullpool"} & set(runner_names) else None
    )
    started_at_s = time.time()
    summarise = functools.partial(
        build_result,
        command,
        settings=settings.public_dict(),
        environment=environment,
        pool_description=pool_description,
    )

    def checkpoint(records: list[RunnerRecord]) -> None:
        partial = RunOutcome(records, False, started_at_s, time.time(), plan)
        on_result(summarise(partial, notes=notes))

    monitor = ServerStatusMonitor(settings.database)
    monitor.start()
    try:
        if processes > 1:
            outcome = run_in_processes(
                settings,
                runner_names,
                plan,
                processes,
                on_progress,
                on_checkpoint=checkpoint if on_result else None,
            )
        else:
            runners = [create_runner(name, settings) for name in runner_names]
            outcome = run_interleaved(
                runners,
                plan,
                on_progress=on_progress,
                on_checkpoint=checkpoint if on_result else None,
            )
    except (pymysql.err.MySQLError, sqlalchemy.exc.SQLAlchemyError, OSError, ProcessFailed) as exc:
        # a cold start failed after the check passed (the server went away?)
        raise operation_error(exc, settings.database, workload.query) from exc
    finally:
        activity = monitor.stop()
    check = cross_check(activity, outcome.records)
    if outcome.complete and activity.complete and not check["matches"]:
        notes.append(
            f"the server counted {check['server_connections']} new connections during the run, "
            f"dbbench opened {check['dbbench_connections']}: other clients were connecting too, "
            "or some connects failed before the server counted them"
        )
    result = summarise(outcome, notes=notes, server={**activity.to_dict(), "cross_check": check})
    if on_result is not None:
        on_result(result)
    return result


@dataclass(frozen=True)
class SweepResult:
    """Every cell of a pool-settings grid, each a full ``RunResult``."""

    cells: list[tuple[SweepCell, RunResult]]
    recommendations: list[Recommendation]
    complete: bool
    #: the lists swept: concurrency, pool_size, max_overflow
    grid: dict[str, list[int]] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        first = self.cells[0][1] if self.cells else None
        last = self.cells[-1][1] if self.cells else None
        return {
            "schema_version": SCHEMA_VERSION,
            "command": "sweep",
            "complete": self.complete,
            "started_at": first.started_at if first else None,
            "finished_at": last.finished_at if last else None,
            "settings": {**(first.settings if first else {}), "grid": self.grid},
            "environment": first.environment if first else {},
            "cells": [
                {**dataclasses.asdict(cell), "result": result.to_dict()}
                for cell, result in self.cells
            ],
            "recommendations": [
                {
                    "concurrency": r.concurrency,
                    "chosen": _setting(r.chosen),
                    "best": _setting(r.best),
                    "fraction_of_best": r.fraction_of_best,
                    "rule_of_thumb": r.rule_of_thumb,
                    "agrees_with_rule": r.agrees_with_rule,
                }
                for r in self.recommendations
            ],
        }


def _setting(cell: SweepCell | None) -> dict[str, int] | None:
    if cell is None:
        return None
    return {"pool_size": cell.pool_size, "max_overflow": cell.max_overflow}


def sweep_cell(concurrency: int, pool: PoolSettings, result: RunResult) -> SweepCell:
    pooled = next(r for r in result.runners if r.runner == "pool")
    return SweepCell(
        concurrency=concurrency,
        pool_size=pool.pool_size,
        max_overflow=pool.max_overflow,
        ops_per_s=pooled.ops_per_s,
        p99_us=pooled.summary.p99_ns / 1000 if pooled.summary else None,
        errors=pooled.errors,
        timeouts=pooled.timeouts,
        operations=pooled.attempted,
    )


def run_sweep(
    settings: Settings,
    runner_names: Sequence[str],
    concurrencies: Sequence[int],
    pool_sizes: Sequence[int],
    max_overflows: Sequence[int],
    *,
    on_cell: Callable[[str], ProgressCallback | None] | None = None,
    on_result: Callable[[SweepResult], None] | None = None,
) -> SweepResult:
    """Run every (concurrency, pool_size, max_overflow) cell, one after another.

    Each cell is a full ``run_benchmark`` with those settings; ``runner_names``
    must include ``pool``.  Cells run in turn, not interleaved: every cell's
    pool holds its connections, and a grid of pools held at once could
    exceed the server's max_connections.  Ctrl-C keeps the cells done.
    """
    if "pool" not in runner_names:
        raise ConfigError("a sweep compares pool settings: --runner must include pool")
    cells: list[tuple[SweepCell, RunResult]] = []
    complete = True
    todo = grid(concurrencies, pool_sizes, max_overflows)
    sweep = SweepResult([], [], False)
    for number, (concurrency, pool_size, max_overflow) in enumerate(todo, start=1):
        processes = settings.benchmark.processes
        if processes > concurrency:
            raise ConfigError(
                f"--processes = {processes} is more than --concurrency {concurrency} in the "
                "sweep: each process needs at least one worker"
            )
        cell_settings = dataclasses.replace(
            settings,
            benchmark=dataclasses.replace(settings.benchmark, concurrency=concurrency),
            pool=dataclasses.replace(settings.pool, pool_size=pool_size, max_overflow=max_overflow),
        )
        label = (
            f"cell {number}/{len(todo)}: concurrency {concurrency}, "
            f"pool_size {pool_size}, max_overflow {max_overflow}"
        )
        progress = on_cell(label) if on_cell else None
        result = run_benchmark(cell_settings, runner_names, command="compare", on_progress=progress)
        cells.append((sweep_cell(concurrency, cell_settings.pool, result), result))
        if not result.complete:
            complete = False
        sweep = SweepResult(
            list(cells),
            recommend([c for c, _ in cells]),
            complete and number == len(todo),
            {
                "concurrency": sorted(set(concurrencies)),
                "pool_size": sorted(set(pool_sizes)),
                "max_overflow": sorted(set(max_overflows)),
            },
        )
        if on_result is not None:
            on_result(sweep)  # after each cell: a crash later loses nothing done
        if not complete:
            break
    return sweep
