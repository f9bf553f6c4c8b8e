"""The rich tables (``--format table``, the default) for every command."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table

from dbbench.output import (
    calibrate_table,
    diff_table,
    explain_table,
    findings,
    histogram_text,
    matrix,
    stale_table,
    table,
    target_grid,
)
from dbbench.output.base import NO_EXTRAS, Format, RunExtras
from dbbench.output.console import literal
from dbbench.output.runs_table import runs_table
from dbbench.results.model import (
    CalibrationResult,
    DiffResult,
    Explanation,
    RunResult,
    RunsListing,
    StaleResult,
    SweepResult,
)


class TableFormat(Format):
    name = "table"

    def run(self, result: RunResult, console: Console, extras: RunExtras = NO_EXTRAS) -> None:
        table.write(result, console)
        if extras.histogram:
            histogram_text.write(result, console)
        if result.projection is not None:
            table.projection_line(result.projection, console)

    def sweep(self, sweep: SweepResult, console: Console) -> None:
        for name, part in sweep.parts():
            if name is not None:
                console.print(sweep.describe_variant(name), style="bold", markup=False)
            matrix.write([cell for cell, _ in part.cells], part.recommendations, console)
        grid = target_grid.target_grid(sweep)
        if grid is not None:
            console.print("each runner on each target: mean latency (ms)", markup=False)
            console.print(target_grid_table(grid))
            console.print(target_grid.GRID_CAPTION, style="dim")
        for point, seen, said in findings.sweep_findings(sweep):
            console.print(f"{point}:", style="bold", markup=False)
            for line in seen:
                console.print(f"  {literal(line)}", style="dim")
            for line in said:
                console.print(f"  finding: {literal(line)}")
        if not sweep.complete:
            console.print("[yellow]interrupted: the matrix shows the cells completed[/yellow]")

    def stale(self, result: StaleResult, console: Console) -> None:
        stale_table.write(
            list(result.cases),
            result.wait_timeout_s,
            result.idle_s,
            console,
            stale_table.timeout_setting(result),
        )
        if not result.complete:
            console.print("[yellow]interrupted: the table shows the cases completed[/yellow]")

    def diff(self, result: DiffResult, console: Console) -> None:
        diff_table.write_result(result, console)

    def explain(self, explanation: Explanation, console: Console) -> None:
        explain_table.write(explanation, console)

    def runs(self, listing: RunsListing, console: Console) -> None:
        if not listing.runs:
            console.print("no saved runs in .dbbench/runs/ (save one with --save [NAME])")
        else:
            console.print(runs_table(listing))

    def calibrate(self, result: CalibrationResult, console: Console) -> None:
        calibrate_table.write(result, console)


FORMAT = TableFormat()


def target_grid_table(grid: target_grid.TargetGrid) -> Table:
    """The grid of a sweep of targets as a rich table."""
    drawn = Table(box=box.SIMPLE_HEAD)
    drawn.add_column("runner")
    drawn.add_column("target")
    for column in grid.columns:
        drawn.add_column(column, justify="right")
    for runner, target, figures in grid.rows:
        drawn.add_row(runner, target, *figures)
    return drawn
