"""``dbbench runs``: the saved runs as a table."""

from __future__ import annotations

from rich import box
from rich.markup import escape
from rich.table import Table

from dbbench.results.model import RunsListing

COLUMNS = ("number", "name", "started_at", "command", "runners", "complete", "path")


def runs_table(listing: RunsListing) -> Table:
    table = Table(title="saved runs (.dbbench/runs/)", title_justify="left", box=box.SIMPLE_HEAD)
    for name in ("#", "name", "started", "command", "runners", "complete"):
        table.add_column(name)
    table.add_column("file", overflow="fold")
    for run in listing.runs:
        if run.error:
            error = f"[red]{escape(run.error)}[/red]"
            table.add_row(str(run.number), run.name or "", "", "", error)
            continue
        table.add_row(
            str(run.number),
            run.name or "",
            str(run.started_at or ""),
            str(run.command),
            run.runners,
            "yes" if run.complete else "[yellow]no[/yellow]",
            run.path,
        )
    return table
