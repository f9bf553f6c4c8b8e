"""``dbbench runs``: the saved runs as a table."""

from __future__ import annotations

from rich import box
from rich.table import Table

from dbbench.output.console import literal
from dbbench.results.model import RunsListing

COLUMNS = ("number", "name", "started_at", "command", "runners", "complete", "path")


def runs_table(listing: RunsListing) -> Table:
    table = Table(title="saved runs (.dbbench/runs/)", title_justify="left", box=box.SIMPLE_HEAD)
    for name in ("#", "name", "started", "command"):
        table.add_column(name)
    table.add_column("runners", overflow="fold")  # or why the file cannot be read, whole
    table.add_column("complete")
    table.add_column("file", overflow="fold")
    for run in listing.runs:
        if run.error:
            # the line names the file, which the file column shows
            reason = run.error.removeprefix(f"{run.path}: ")
            error = f"[red]cannot be read: {literal(reason)}[/red]"
            path = literal(run.path)
            table.add_row(literal(run.number), literal(run.name or ""), "", "", error, "", path)
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
