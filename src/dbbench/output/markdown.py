"""GitHub-flavoured Markdown (``--format markdown``): results to paste into a pull-request comment.

The same content as the terminal tables, as Markdown tables with the figures
formatted for people (milliseconds with 3 decimals, thousands separators),
the speedups, errors and notes as bullet lists, and the environment in small
print.  Text that comes from outside (queries, notes, error kinds, versions)
is escaped, so that a ``|`` cannot split a table cell and a ``*`` cannot
start emphasis.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from rich.console import Console

from dbbench.diffing import METRICS
from dbbench.engine.timeline import describe as describe_timeline
from dbbench.numbers import (
    MISSING,
    count,
    error_kinds,
    ms_from_ns,
    ops_per_s,
    overflow,
    percent,
)
from dbbench.numbers import escape_markdown as escape
from dbbench.output import calibrate_table, diff_table
from dbbench.output.base import NO_EXTRAS, Format, RunExtras
from dbbench.output.columns import (
    MARKDOWN,
    POOL_COLUMNS,
    RUNNER_COLUMNS,
    STALE_CASE_COLUMNS,
    Column,
    cell_text,
    cell_words,
    marks,
    shown_in,
    sweep_grid,
)
from dbbench.output.findings import (
    pooler_lines,
    speedup_lines,
    sweep_findings,
    target_findings,
)
from dbbench.output.matrix import LEGEND, describe_recommendation
from dbbench.output.stale_table import (
    NOISE_NOTE,
    describe_after_idle,
    describe_protection,
    timeout_setting,
)
from dbbench.output.table import (
    WORKER_HEADER,
    cluster_title,
    describe_speedup,
    memory_line,
    projection_line,
    server_line,
    statement_lines,
    vs_raw,
    worker_lines,
)
from dbbench.output.target_grid import GRID_CAPTION, target_grid
from dbbench.results.model import (
    BenchmarkSummary,
    CalibrationResult,
    DiffResult,
    Recommendation,
    RunnerResult,
    RunResult,
    RunsListing,
    StaleCase,
    StaleResult,
    SweepCell,
    SweepResult,
)
from dbbench.text import printable, shortened
from dbbench.workload import READ_WORKLOAD
from dbbench.workload import describe as describe_workload

_BACKTICKS = re.compile(r"`+")


def code_span(text: str, *, in_table: bool = False) -> str:
    """``text`` as inline code, on one line, whatever backticks it holds.

    In a table cell ``|`` must be written ``\\|`` even inside code (GFM splits
    rows before it reads code spans); elsewhere a backslash in code is shown as
    is, so ``|`` is left alone.
    """
    text = printable(" ".join(str(text).split()))
    fence = "`" * (max((len(run) for run in _BACKTICKS.findall(text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    if in_table:
        text = text.replace("|", "\\|")
    return f"{fence}{pad}{text}{pad}{fence}"


def table(header: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> list[str]:
    """A GFM table: the first ``left`` columns left-aligned, the others (numbers) right-aligned.

    Cells must already be Markdown (``escape`` any text in them).
    """
    align = [":---" if i < left else "---:" for i in range(len(header))]
    return [f"| {' | '.join(cells)} |" for cells in (header, align, *rows)]


def _ms(value_ns: float | None) -> str:
    """Milliseconds as Markdown shows them: grouped, 1,234.567 (the terminal: 1234.567)."""
    return ms_from_ns(value_ns, grouped=True)


def _emit(console: Console, blocks: list[list[str]]) -> None:
    """Blocks separated by blank lines, written as they are (rich must not wrap them), but
    for a control character, escaped (``text.printable``) should any text have kept one."""
    text = "\n\n".join("\n".join(block) for block in blocks if block)
    console.file.write(printable(text, keep="\n") + "\n")
    console.file.flush()


def _length(bench: BenchmarkSummary) -> str:
    if bench.iterations:
        return f"{bench.iterations:,} operations{bench.repeated}"
    if bench.duration_s is not None:
        return f"{bench.duration_s:g} s{bench.repeated}"
    return MISSING  # a file that recorded neither


def _server(result: RunResult) -> str:
    database = result.settings.database
    version = result.environment.server_version or "unknown server"
    return f"server {escape(database.login(MISSING))}, {escape(version)}"


def _footer(result: RunResult) -> list[str]:
    env = result.environment
    versions = (
        ("dbbench", env.dbbench),
        ("Python", env.python),
        ("SQLAlchemy", env.sqlalchemy),
        ("PyMySQL", env.pymysql),
    )
    parts = [f"{name} {version}" for name, version in versions if version]
    parts += [
        description
        for name, description in (env.drivers or {}).items()
        if name != "pymysql"  # PyMySQL's version is shown already
    ]
    machine = " ".join(str(value) for value in (env.os, env.machine) if value)
    if machine:
        parts.append(machine + (f", {env.cpu_count} CPUs" if env.cpu_count else ""))
    if result.started_at:
        parts.append(result.started_at)
    return [f"<sub>{escape(' · '.join(parts))}</sub>"]


# --- run, compare ------------------------------------------------------------

_RUN_COLUMNS = shown_in(RUNNER_COLUMNS, MARKDOWN)
_POOL_COLUMNS = shown_in(POOL_COLUMNS, MARKDOWN)
RUN_HEADER = ("runner", *(c.header for c in _RUN_COLUMNS), "vs raw")


def _cell(column: Column, row: Any) -> str:
    return cell_text(column, row, ms=_ms, number=count, loud=lambda text: f"**{text}**")


def _run_cells(r: RunnerResult, vs_raw: str) -> list[str]:
    return [f"**{escape(r.runner)}**", *(_cell(c, r) for c in _RUN_COLUMNS), vs_raw]


def _pool_table(result: RunResult) -> list[str]:
    pooled = [r for r in result.runners if r.pool is not None]
    if not pooled:
        return []
    header = ("runner", *(c.header for c in _POOL_COLUMNS))
    rows = [[f"**{escape(r.runner)}**", *(_cell(c, r) for c in _POOL_COLUMNS)] for r in pooled]
    title = "**What the pool did** (cold start and warm-up included; checkout in milliseconds)"
    return [title, "", *table(header, rows)]


def _statement_table(result: RunResult) -> list[str]:
    """A run of scripts: each statement's figures, as the terminal's table under the
    runner table (``table.statement_rows``)."""
    rows = [
        [
            f"**{escape(r.runner)}**",
            escape(script.script),
            str(statement.line),
            code_span(shortened(statement.sql), in_table=True),
            percent(share),
            count(statement.n),
            count(statement.errors),
            _ms(statement.summary.mean_ns) if statement.summary else MISSING,
            _ms(statement.summary.p99_ns) if statement.summary else MISSING,
        ]
        for r, script, share, statement in statement_lines(result.runners)
    ]
    if not rows:
        return []
    header = ("runner", "script", "line", "statement", "share", "n", "errors", "mean", "p99")
    title = "**Per statement** (measured operations; milliseconds)"
    return [title, "", *table(header, rows, left=4)]


def _worker_table(result: RunResult) -> list[str]:
    """A run on a Dask cluster: each process's worker and figures (``table.worker_lines``)."""
    title = cluster_title(result)
    if title is None:
        return []
    rows = [[escape(cell) for cell in row] for row in worker_lines(result)]
    return [f"**{escape(title)}**", "", *table(WORKER_HEADER, rows, left=5)]


def _failures(result: RunResult) -> list[str]:
    lines = []
    dialect = result.settings.database.dialect
    for r in result.runners:
        if r.errors:
            kinds = error_kinds(r.errors_by_kind, grouped=True)
            lines.append(
                f"- **{escape(r.runner)}**: {r.errors:,} failed operations: {escape(kinds)}"
            )
            lines += [
                f"  - {escape(line)}"
                for line in describe_timeline(r.runner, r.error_timeline, dialect)
            ]
        if r.warmup_errors:
            lines.append(f"- **{escape(r.runner)}**: {r.warmup_errors:,} failed warm-up operations")
    return lines


def run_lines(result: RunResult) -> list[list[str]]:
    """The blocks of ``write_run``, for callers that assemble a larger comment."""
    bench = result.settings.benchmark
    workers = 1 if bench.concurrency is None else bench.concurrency
    load = f"{workers} worker{'s' if workers != 1 else ''}"
    if (bench.processes or 1) > 1:
        load += f" in {bench.processes} processes"
    if bench.rate_per_s:
        load += f", open loop at {bench.rate_per_s:,g}/s"
    context = [
        _operation(bench),
        f"{_length(bench)} per runner (+{_warmup(bench):,} warm-up), {load}",
        _server(result),
    ]
    if result.pool_description:
        context.append(f"pool: {escape(result.pool_description)}")
    context += [
        f"{v.kind} {escape(v.describe(result.target_server(v)))}"
        for v in result.settings.variants or ()
    ]
    rows = [_run_cells(r, vs_raw(result, r)) for r in result.runners]
    server = server_line(result)
    notes = [f"- {escape(note)}" for note in result.notes]
    return [
        [f"### dbbench {escape(result.command)}"],
        [" · ".join(context)],
        table(RUN_HEADER, rows),
        [
            "Times in milliseconds; ops/s: successful operations per second, all workers; "
            "first op: opening the runner plus its first operation (cold start), "
            "not in the other columns."
        ],
        [f"- {escape(line)}" for line in speedup_lines(result, describe_speedup)],
        _statement_table(result),
        _pool_table(result),
        _worker_table(result),
        *([escape(line[0].upper() + line[1:])] for line in (server, memory_line(result)) if line),
        [f"- {escape(line)}" for line in pooler_lines(result)],
        [f"- finding: {escape(line)}" for line in target_findings(result)],
        _failures(result),
        ["**Notes**", "", *notes] if notes else [],
        []
        if result.complete
        else ["**Incomplete**: a Dask worker was lost (see the notes)."]
        if result.cluster is not None and result.cluster.lost
        else ["**Interrupted**: these results cover only the turns completed."],
        _footer(result),
    ]


def write_run(result: RunResult, console: Console) -> None:
    _emit(console, run_lines(result))


# --- sweep -------------------------------------------------------------------


def sweep_cell_text(
    cell: SweepCell | None, *, best: bool = False, chosen: bool = False, near: bool = False
) -> str:
    """e.g. "★ ▲ **8,200/s · 1.700 ms**" or "3,100/s · 41.000 ms · ⏱ 17 timeouts"."""
    if cell is None:
        return "not run"
    words = cell_words(cell, lambda rate: ops_per_s(rate, unit=True))
    measured = words.throughput
    if cell.p99_us is not None:
        measured += f" · {_ms(cell.p99_us * 1000)} ms"
    parts = [f"**{measured}**" if best else measured]
    parts += [text for text in (words.timeouts, words.errors) if text]
    return marks(best=best, chosen=chosen, near=near) + " · ".join(parts)


def matrix_table(
    cells: Sequence[SweepCell], recommendations: Sequence[Recommendation]
) -> list[str]:
    """Rows (pool_size, max_overflow), columns concurrency, as ``output.matrix`` draws it."""
    concurrencies, grid = sweep_grid(cells, recommendations)
    header = ["pool_size", "max_overflow", *(f"concurrency {c}" for c in concurrencies)]
    rows = [
        [
            str(row.pool_size),
            overflow(row.max_overflow),
            *(
                sweep_cell_text(c.cell, best=c.best, chosen=c.chosen, near=c.near)
                for c in row.cells
            ),
        ]
        for row in grid
    ]
    return table([escape(h) for h in header], rows, left=0)


def _warmup(bench: BenchmarkSummary) -> int:
    return 0 if bench.warmup is None else bench.warmup


def _operation(bench: BenchmarkSummary) -> str:
    """The query as code; a write workload named, with its commit; the scripts by file."""
    if bench.scripts:
        workload = bench.workload or READ_WORKLOAD
        return escape(describe_workload("", workload, bench.scripts, bench.data_rows))
    query = code_span("" if bench.query is None else bench.query)
    workload = READ_WORKLOAD if bench.workload is None else bench.workload
    return query if workload == READ_WORKLOAD else f"{escape(workload)} workload: {query} + COMMIT"


def sweep_lines(sweep: SweepResult) -> list[list[str]]:
    """The sweep's matrix and recommendations; of a sweep of several variants, each
    variant's under the line that says what it is."""
    heading = ["### dbbench sweep: pool settings against concurrency"]
    if not sweep.cells:
        return [heading, ["No cell was measured."]]
    first = sweep.cells[0][1]
    bench = first.settings.benchmark
    context = [
        _operation(bench),
        f"{_length(bench)} per runner and cell (+{_warmup(bench):,} warm-up)",
        _server(first),
    ]
    lines = [heading, [" · ".join(context)]]
    for name, part in sweep.parts():
        cells = [cell for cell, _ in part.cells]
        if name is not None:
            lines.append([f"#### {escape(sweep.describe_variant(name))}"])
        lines += [
            ["Successful operations/s of the pool runner (all threads) · its p99 latency"],
            matrix_table(cells, part.recommendations),
            [escape(" · ".join(LEGEND))],
            [f"- {escape(describe_recommendation(r, cells))}" for r in part.recommendations],
        ]
    grid = target_grid(sweep)
    if grid is not None:
        lines += [
            ["#### Each runner on each target: mean latency (ms)"],
            table(
                ["runner", "target", *(escape(column) for column in grid.columns)],
                [[escape(r), escape(target), *figures] for r, target, figures in grid.rows],
                left=2,
            ),
            [escape(GRID_CAPTION)],
        ]
    for point, seen, said in sweep_findings(sweep):
        lines += [
            [f"#### {escape(point)}"],
            [f"- {escape(line)}" for line in seen]
            + [f"- finding: {escape(line)}" for line in said],
        ]
    return [
        *lines,
        [] if sweep.complete else ["**Interrupted**: the matrix shows the cells completed."],
        _footer(first),
    ]


def write_sweep(sweep: SweepResult, console: Console) -> None:
    _emit(console, sweep_lines(sweep))


# --- stale -------------------------------------------------------------------

_STALE_COLUMNS = shown_in(STALE_CASE_COLUMNS, MARKDOWN)
STALE_HEADER = ("protection", *(c.header for c in _STALE_COLUMNS))


def stale_lines(
    cases: list[StaleCase], wait_timeout_s: int, idle_s: float, setting: str = "wait_timeout"
) -> list[list[str]]:
    rows = [
        [f"**{escape(describe_protection(case))}**", *(_cell(c, case) for c in _STALE_COLUMNS)]
        for case in cases
    ]
    failures = [
        f"- **{escape(describe_protection(case))}**: "
        + escape(error_kinds(case.errors_by_kind, grouped=True))
        for case in cases
        if case.errors
    ]
    comparisons = [f"- {escape(describe_after_idle(case))}" for case in cases]
    return [
        [f"### dbbench stale: connections left idle past the server's {setting}"],
        [
            f"Server {setting} {wait_timeout_s:,} s, pool idle {idle_s:g} s, "
            "then operations one at a time."
        ],
        table(STALE_HEADER, rows),
        [
            "Times in milliseconds; first op: the first request after the idle period, what "
            "its user waits for; baseline: the same pool before it sat idle; connects: "
            "physical connections opened in the whole case (filling the pool included)."
        ],
        failures,
        comparisons,
        [escape(NOISE_NOTE)],
    ]


def write_stale(
    cases: list[StaleCase], wait_timeout_s: int, idle_s: float, console: Console
) -> None:
    _emit(console, stale_lines(cases, wait_timeout_s, idle_s))


def write_runs(listing: RunsListing, console: Console) -> None:
    """``dbbench runs --format markdown``."""
    rows = [
        [
            str(run.number),
            escape(run.name or ""),
            escape(str(run.started_at or "")),
            escape(str(run.command or "")),
            escape(run.error or run.runners or ""),
            "yes" if run.complete else "no",
            code_span(run.path, in_table=True),
        ]
        for run in listing.runs
    ]
    header = ["#", "name", "started", "command", "runners", "complete", "file"]
    _emit(console, [["### dbbench runs"], table(header, rows)])


def calibrate_lines(result: CalibrationResult) -> list[list[str]]:
    """``dbbench calibrate``: the trials' table and the limits' table, with the same words
    as the terminal's (``calibrate_table``)."""
    blocks = [[f"### {escape(calibrate_table.title(result))}"]]
    if result.trials:
        trials = [[escape(cell) for cell in row] for row in calibrate_table.trial_rows(result)]
        blocks.append(table(["trial", "runner", *METRICS], trials, left=2))
        limits = [
            [escape(cell) for cell in calibrate_table.calibration_row(row)]
            for row in result.calibrations
        ]
        blocks.append(table(list(calibrate_table.HEADER), limits, left=2))
    else:
        blocks.append(["no trial was completed: nothing to calibrate on"])
    suggestion = calibrate_table.suggestion_line(result)
    if suggestion:
        blocks.append([f"**{escape(suggestion)}**"])
    blocks.append([f"- {escape(line)}" for line in calibrate_table.notes(result)])
    blocks.append([f"<sub>{escape(diff_table.LEGEND)}</sub>"])
    if not result.complete:
        blocks.append(["interrupted: the trials done are above"])
    return blocks


class MarkdownFormat(Format):
    name = "markdown"

    def run(self, result: RunResult, console: Console, extras: RunExtras = NO_EXTRAS) -> None:
        write_run(result, console)
        if result.projection is not None:
            projection_line(result.projection, console)

    def sweep(self, sweep: SweepResult, console: Console) -> None:
        write_sweep(sweep, console)

    def stale(self, result: StaleResult, console: Console) -> None:
        cases = list(result.cases)
        setting = timeout_setting(result)
        _emit(console, stale_lines(cases, result.wait_timeout_s, result.idle_s, setting))

    def diff(self, result: DiffResult, console: Console) -> None:
        diff_table.write_result(result, console, markdown=True)

    def runs(self, listing: RunsListing, console: Console) -> None:
        write_runs(listing, console)

    def calibrate(self, result: CalibrationResult, console: Console) -> None:
        _emit(console, calibrate_lines(result))


FORMAT = MarkdownFormat()
