"""``dbbench runs``: the saved runs as a table."""

from __future__ import annotations

import os

from rich import box
from rich.table import Table

from dbbench.resultfile import ResultFileError, SavedRun, load


def runs_table(saved: list[SavedRun]) -> Table:
    table = Table(title="saved runs (.dbbench/runs/)", title_justify="left", box=box.SIMPLE_HEAD)
    for name in ("#", "name", "started", "command", "runners", "complete"):
        table.add_column(name)
    table.add_column("file", overflow="fold")
    for run in saved:
        try:
            document = load(run.path)
        except ResultFileError as exc:
            table.add_row(str(run.number), run.name or "", "", "", f"[red]{exc}[/red]", "", "")
            continue
        runners = ", ".join(sorted({r["runner"] for r in _results(document)})) or (
            f"{len(document.get('cases', []))} cases" if document.get("cases") else ""
        )
        table.add_row(
            str(run.number),
            run.name or "",
            str(document.get("started_at") or ""),
            str(document.get("command")),
            runners,
            "yes" if document.get("complete") else "[yellow]no[/yellow]",
            os.path.relpath(run.path),
        )
    return table


def _results(document: dict) -> list[dict]:
    if document.get("command") == "sweep":
        return [r for cell in document.get("cells", []) for r in cell["result"]["results"]]
    return document.get("results", [])
