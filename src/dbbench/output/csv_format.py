"""CSV (``--format csv``): one header row, then one row per runner, sweep cell or stale case.

A run of scripts (``--script``, ``--workload point-select|read-only``) keeps its row per
runner and adds a row per statement of each runner's scripts after it: a first column
``row`` says which (``runner`` or ``statement``), and the columns ``script``, ``weight``,
``script_operations``, ``share``, ``line`` and ``statement`` come last.  A statement's row
fills ``runner`` and the columns it shares with the JSON document's statement (``n``,
``errors``, ``mean_us``, ``p50_us``, ``p99_us``), and leaves the others empty.  A run on
a Dask cluster (``--cluster``) has the column ``row`` too, and a row per worker and runner
(``row`` ``worker``) after the others: ``runner``, ``n``, ``errors`` and ``ops_per_s`` in
the runner's columns, and the columns ``process``, ``worker``, ``host`` and ``status``
last.  A run with neither keeps the columns it always had.

For machines: numbers as Python writes them (no thousands separators, no
rounding), times in microseconds and rates per second as the column names say
(``mean_us``, ``ops_per_s``), an empty cell for a value that does not exist
(no successful operation, no pool), booleans as ``true``/``false``.  Column
names follow the JSON document's keys where both have the value.

A text cell is written so that a spreadsheet shows it and runs nothing (CSV injection,
as OWASP describes it): one that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return gets a single quote before it (``'=cmd|' /C calc'!A0``, ``'+1``), and
its control characters are escaped as everywhere dbbench shows text (``text.printable``:
``\t``, ``\r``, ``\x1b``), so a row is one line and a terminal that shows the CSV obeys
nothing in it.  A number dbbench computed is written as the number it is, a negative one
too (``-0.052``): a cell typed a number is no formula, and a spreadsheet or a script
reading it must get the number.  The ``;``-separated lists of numbers dbbench builds
(calibrate's ``changes``) are numbers too, and stay as they are.
"""

from __future__ import annotations

import csv
import dataclasses
import itertools
import re
from collections.abc import Iterable, Mapping
from typing import Any

from rich.console import Console

from dbbench.numbers import us_from_ns
from dbbench.output.base import NO_EXTRAS, Format, RunExtras
from dbbench.output.columns import (
    CSV,
    KINDS,
    LATENCY,
    POOL_COLUMNS,
    RUNNER_COLUMNS,
    STALE_CASE_COLUMNS,
    Column,
    cell_key,
    marked,
    shown_in,
)
from dbbench.output.table import statement_lines
from dbbench.results.model import (
    CalibrationResult,
    ClusterSummary,
    DiffResult,
    RunnerResult,
    RunResult,
    RunsListing,
    StaleCase,
    StaleResult,
    SweepResult,
    summary_to_document,
)
from dbbench.runners import runner_with
from dbbench.stats import Summary
from dbbench.text import printable

_RUNNER = shown_in(RUNNER_COLUMNS, CSV)
_SPEEDUP = (
    "speedup_vs",
    "speedup",
    "speedup_ci_low",
    "speedup_ci_high",
    "speedup_repetitions",
)
_POOL = shown_in(POOL_COLUMNS, CSV)
RUN_COLUMNS = (
    "runner",
    *(c.key for c in _RUNNER),
    *_SPEEDUP,
    "target_rate_per_s",
    "achieved_rate_per_s",
    *(c.key for c in _POOL),
    "connections_opened",
)

SWEEP_COLUMNS = (
    "concurrency",
    "pool_size",
    "max_overflow",
    "ops_per_s",
    "p99_us",
    "errors",
    "timeouts",
    "operations",
    "mean_us",
    "p50_us",
    "p90_us",
    "p999_us",
    "max_us",
    "recommended",
    "best",
)

_STALE = shown_in(STALE_CASE_COLUMNS, CSV)
STALE_COLUMNS = (
    "protection",
    "wait_timeout_s",
    "idle_s",
    "pool_size",
    "pool_recycle_s",
    "pool_pre_ping",
    *(c.key for c in _STALE),
    "after_idle_ratio",
    "after_idle_ci_low",
    "after_idle_ci_high",
    "after_idle_p_value",
    "after_idle_beyond_noise",
)


def _kinds(errors_by_kind: Mapping[str, int]) -> str:
    """e.g. "OperationalError(2006)=2;TimeoutError=1" (empty when there were none)."""
    return ";".join(f"{kind}={count}" for kind, count in sorted(errors_by_kind.items()))


#: what starts a formula in a spreadsheet (OWASP's list), at a text cell's start
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = r"[+-]?(?:[0-9]+\.?[0-9]*(?:[eE][+-]?[0-9]+)?|inf|nan)"
#: a list of numbers as ``repr`` writes them, ``;`` between them, some empty: "-0.05;0.1;;3"
_NUMBER_LIST = re.compile(f"(?:{_NUMBER})?(?:;(?:{_NUMBER})?)*")
#: the columns that hold a ``;``-separated list of numbers dbbench builds, no text
NUMBER_LISTS = frozenset({"changes", "beyond_noise_trials"})


def neutralised(text: str) -> str:
    """A text cell a spreadsheet shows and does not run: a single quote before a formula's
    first character (OWASP), control characters escaped."""
    if text.startswith(FORMULA_STARTS):
        text = "'" + text
    return printable(text)


def _cell(value: Any, column: str = "") -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        if column in NUMBER_LISTS and _NUMBER_LIST.fullmatch(value):
            return value
        return neutralised(value)
    return value  # the csv module writes None as an empty cell, numbers with repr()


def _write(columns: tuple[str, ...], rows: Iterable[Mapping[str, Any]], console: Console) -> None:
    # "\n", not csv's default "\r\n": this is a text stream, which adds "\r" itself where needed
    writer = csv.DictWriter(console.file, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({name: _cell(row.get(name), name) for name in columns})
    console.file.flush()


def _summary(s: Summary | None, *keys: str) -> dict[str, float | None]:
    values = summary_to_document(s)
    return {f"{key}_us": values[f"{key}_us"] for key in keys}


def _value(column: Column, runner: RunnerResult) -> Any:
    value = column.get(runner)
    if column.kind == LATENCY:
        return us_from_ns(value)
    return _kinds(value) if column.kind == KINDS else value


def run_row(r: RunnerResult, result: RunResult) -> dict[str, Any]:
    speedup = next((s for s in result.speedups if s.runner == r.runner), None)
    return {
        "runner": r.runner,
        **{c.key: _value(c, r) for c in _RUNNER},
        "speedup_vs": speedup.baseline if speedup else None,
        "speedup": speedup.speedup.ratio if speedup else None,
        "speedup_ci_low": speedup.speedup.ci_low if speedup else None,
        "speedup_ci_high": speedup.speedup.ci_high if speedup else None,
        # what noise the interval covers: 1 is within that run only
        "speedup_repetitions": speedup.speedup.repetitions if speedup else None,
        "target_rate_per_s": r.target_rate_per_s,
        "achieved_rate_per_s": r.achieved_rate_per_s if r.target_rate_per_s else None,
        **{c.key: _value(c, r) for c in _POOL},
        "connections_opened": r.connections_opened,
    }


#: a run of scripts' columns after the runner's: a statement's place and its script's share
STATEMENT_COLUMNS = ("script", "weight", "script_operations", "share", "line", "statement")


def statement_rows(runners: Iterable[RunnerResult]) -> Iterable[dict[str, Any]]:
    """Each runner's statements, one row each: the figures under the runner's column names
    (``n``, ``errors``, ``mean_us``, ...), its script's share of the runner's operations
    as a fraction, the statement's whole text."""
    for r, script, share, statement in statement_lines(runners):
        document = statement.to_document()
        yield {
            "row": "statement",
            "runner": r.runner,
            **{key: document[key] for key in ("n", "errors", "mean_us", "p50_us", "p99_us")},
            "script": script.script,
            "weight": script.weight,
            "script_operations": script.operations,
            "share": share,
            "line": statement.line,
            "statement": statement.sql,
        }


#: a run on a Dask cluster's columns after the others: which process, on which worker
WORKER_COLUMNS = ("process", "worker", "host", "status")


def worker_rows(cluster: ClusterSummary) -> Iterable[dict[str, Any]]:
    """Each process's own figures, a row per runner (one that measured nothing: one row,
    without a runner), as the terminal's "Dask workers" table has them."""
    for worker in cluster.workers:
        head = {
            "row": "worker",
            "process": worker.process,
            "worker": worker.worker,
            "host": worker.host,
            "status": worker.status,
        }
        if not worker.runners:
            yield {**head, "n": 0, "errors": 0}
        for r in worker.runners:
            figures = {"n": r.n, "errors": r.errors, "ops_per_s": r.ops_per_s}
            yield {**head, "runner": r.runner, **figures}


def write_run(result: RunResult, console: Console) -> None:
    """A row per runner; of a run of scripts, each followed by its statements' rows; of a
    run on a Dask cluster, the workers' rows after them all."""
    scripts = any(r.scripts for r in result.runners)
    if not scripts and result.cluster is None:
        _write(RUN_COLUMNS, (run_row(r, result) for r in result.runners), console)
        return
    rows = itertools.chain(
        (
            row
            for r in result.runners
            for row in ({"row": "runner", **run_row(r, result)}, *statement_rows([r]))
        ),
        worker_rows(result.cluster) if result.cluster is not None else (),
    )
    columns = (
        "row",
        *RUN_COLUMNS,
        *(STATEMENT_COLUMNS if scripts else ()),
        *(WORKER_COLUMNS if result.cluster is not None else ()),
    )
    _write(columns, rows, console)


def _sweep_rows(sweep: SweepResult) -> Iterable[dict[str, Any]]:
    for name, part in sweep.parts():
        yield from _part_rows(part, name)


def _part_rows(sweep: SweepResult, name: str | None) -> Iterable[dict[str, Any]]:
    best, chosen, near = marked(sweep.recommendations)
    for cell, result in sweep.cells:
        pooled = runner_with("swept", result.runners)
        yield {
            "variant": name,
            "concurrency": cell.concurrency,
            "pool_size": cell.pool_size,
            "max_overflow": cell.max_overflow,
            "ops_per_s": cell.ops_per_s,
            "p99_us": cell.p99_us,
            "errors": cell.errors,
            "timeouts": cell.timeouts,
            "operations": cell.operations,
            **_summary(pooled.summary if pooled else None, "mean", "p50", "p90", "p999", "max"),
            "recommended": cell_key(cell) in chosen,
            "best": cell_key(cell) in best,
            # its throughput does not differ from the best's beyond noise
            "within_noise_of_best": cell_key(cell) in near,
        }


def write_sweep(sweep: SweepResult, console: Console) -> None:
    """One row per cell; of a sweep of several variants, a first column ``variant`` says
    whose (a sweep of one keeps the columns it always had)."""
    columns = ("variant", *SWEEP_COLUMNS) if sweep.variant_names else SWEEP_COLUMNS
    _write(columns, _sweep_rows(sweep), console)


def _stale_rows(
    cases: list[StaleCase], wait_timeout_s: int, idle_s: float
) -> Iterable[dict[str, Any]]:
    for case in cases:
        pool = case.pool_settings
        yield {
            "protection": case.protection,
            "wait_timeout_s": wait_timeout_s,
            "idle_s": idle_s,
            "pool_size": pool.pool_size,
            "pool_recycle_s": pool.pool_recycle_s,
            "pool_pre_ping": pool.pool_pre_ping,
            **{c.key: _value(c, case) for c in _STALE},
            **_after_idle(case),
        }


def _after_idle(case: StaleCase) -> dict[str, Any]:
    """The mean after the idle period over the baseline's, and whether beyond noise."""
    c = case.after_idle
    return {
        "after_idle_ratio": c.ratio if c else None,
        "after_idle_ci_low": c.low if c else None,
        "after_idle_ci_high": c.high if c else None,
        "after_idle_p_value": c.p_value if c else None,
        "after_idle_beyond_noise": c.beyond_noise if c else None,
    }


def write_stale(
    cases: list[StaleCase], wait_timeout_s: int, idle_s: float, console: Console
) -> None:
    _write(STALE_COLUMNS, _stale_rows(cases, wait_timeout_s, idle_s), console)


DIFF_COLUMNS = (
    "runner",
    "cell",
    "only_in",
    "metric",
    "base",
    "new",
    "change",
    "worse",
    "beyond_noise",
    "p_value",
    "method",
)


def write_diff(result: DiffResult, console: Console) -> None:
    """``dbbench diff --format csv``: a row per runner (or cell) and metric."""
    rows: list[dict[str, Any]] = []
    for diff in result.diffs:
        base = {"runner": diff.runner, "cell": diff.cell, "only_in": diff.only_in}
        rows += [{**base, **dataclasses.asdict(change)} for change in diff.changes] or [base]
    _write(DIFF_COLUMNS, rows, console)


#: ``error``: why a saved run cannot be read (empty when it can), as in the JSON listing
RUNS_COLUMNS = ("number", "name", "started_at", "command", "runners", "complete", "path", "error")


def write_runs(listing: RunsListing, console: Console) -> None:
    """``dbbench runs --format csv``: a row per saved run."""
    _write(RUNS_COLUMNS, (entry.to_document() for entry in listing.runs), console)


CALIBRATE_COLUMNS = (
    "runner",
    "metric",
    "trials",
    "beyond_noise",
    "worse_beyond_noise",
    "missing",
    "largest_change",
    "smallest",
    "suggested",
    "gates",
    "changes",
    "beyond_noise_trials",
)


def write_calibrate(result: CalibrationResult, console: Console) -> None:
    """``dbbench calibrate --format csv``: a row per runner and metric, its limits, and each
    trial's change (``changes``, in trial order, ``;`` between them; an empty one where a
    side had no value) with the trials beyond noise (``beyond_noise_trials``)."""
    rows = []
    for row in result.calibrations:
        changes = [(trial.number, trial.change(row.runner, row.metric)) for trial in result.trials]
        rows.append(
            {
                **row.to_document(),
                "changes": ";".join(
                    "" if c is None or c.missing else repr(c.change) for _, c in changes
                ),
                "beyond_noise_trials": ";".join(
                    str(number) for number, c in changes if c is not None and c.beyond_noise
                ),
            }
        )
    _write(CALIBRATE_COLUMNS, rows, console)


class CsvFormat(Format):
    name = "csv"

    def run(self, result: RunResult, console: Console, extras: RunExtras = NO_EXTRAS) -> None:
        write_run(result, console)

    def sweep(self, sweep: SweepResult, console: Console) -> None:
        write_sweep(sweep, console)

    def stale(self, result: StaleResult, console: Console) -> None:
        write_stale(list(result.cases), result.wait_timeout_s, result.idle_s, console)

    def diff(self, result: DiffResult, console: Console) -> None:
        write_diff(result, console)

    def runs(self, listing: RunsListing, console: Console) -> None:
        write_runs(listing, console)

    def calibrate(self, result: CalibrationResult, console: Console) -> None:
        write_calibrate(result, console)


FORMAT = CsvFormat()
