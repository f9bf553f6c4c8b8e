"""The rich tables (``--format table``, the default) for every command."""

from __future__ import annotations

from rich.console import Console

from dbbench.model import RunResult, StaleCase, SweepResult
from dbbench.output import matrix, stale_table, table


def write_run(result: RunResult, console: Console) -> None:
    table.write(result, console)


def write_sweep(sweep: SweepResult, console: Console) -> None:
    matrix.write([cell for cell, _ in sweep.cells], sweep.recommendations, console)
    if not sweep.complete:
        console.print("[yellow]interrupted: the matrix shows the cells completed[/yellow]")


def write_stale(
    cases: list[StaleCase], wait_timeout_s: int, idle_s: float, console: Console
) -> None:
    stale_table.write(cases, wait_timeout_s, idle_s, console)
