"""``dbbench runs``: the saved runs as a table."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rich import box
from rich.markup import escape
from rich.table import Table

COLUMNS = ("number", "name", "started_at", "command", "runners", "complete", "path")


def runs_table(runs: Iterable[Mapping[str, Any]]) -> Table:
    table = Table(title="saved runs (.dbbench/runs/)", title_justify="left", box=box.SIMPLE_HEAD)
    for name in ("#", "name", "started", "command", "runners", "complete"):
        table.add_column(name)
    table.add_column("file", overflow="fold")
    for run in runs:
        if run.get("error"):
            table.add_row(
                str(run["number"]), run["name"] or "", "", "", f"[red]{escape(run['error'])}[/red]"
            )
            continue
        table.add_row(
            str(run["number"]),
            run["name"] or "",
            str(run["started_at"] or ""),
            str(run["command"]),
            run["runners"],
            "yes" if run["complete"] else "[yellow]no[/yellow]",
            run["path"],
        )
    return table
