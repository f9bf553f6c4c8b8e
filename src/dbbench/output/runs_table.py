"""``dbbench runs``: the saved runs as a table."""

from __future__ import annotations

from rich import box
from rich.table import Table

from dbbench.output.console import literal
from dbbench.results.model import RunsListing

COLUMNS = ("number", "name", "started_at", "command", "runners", "complete", "path")


def runs_table(listing: RunsListing) -> Table:
    table = Table(title="saved runs (.dbbench/runs/)", title_justify="left", box=box.SIMPLE_HEAD)
    for name in ("#", "name", "started", "command", "runners", "complete"):
        table.add_column(name)
    table.add_column("file", overflow="fold")
    for run in listing.runs:
        if run.error:
            error = f"[red]{literal(run.error)}[/red]"
            table.add_row(literal(run.number), literal(run.name or ""), "", "", error)
            continue
        table.add_row(
            literal(run.number),
            literal(run.name or ""),
            literal(run.started_at or ""),
            literal(run.command),
            literal(run.runners),
            "yes" if run.complete else "[yellow]no[/yellow]",
            literal(run.path),
        )
    return table
