"""The stale-connection scenario as a table: errors and latency with each protection."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table

from dbbench.numbers import error_kinds
from dbbench.output.columns import STALE_CASE_COLUMNS, TABLE, shown_in
from dbbench.output.table import rich_cell
from dbbench.results.model import StaleCase


def describe_protection(case: StaleCase) -> str:
    pool = case.pool_settings
    if case.protection == "recycle":
        return f"pool_recycle={pool.pool_recycle_s:g}s"
    if case.protection == "pre_ping":
        return "pool_pre_ping"
    return "none"


def build_table(cases: list[StaleCase], wait_timeout_s: int, idle_s: float) -> Table:
    table = Table(
        title=(
            f"stale connections: server wait_timeout {wait_timeout_s}s, pool idle {idle_s:g}s, "
            "then operations one at a time"
        ),
        title_justify="left",
        caption="times in milliseconds; baseline: the same pool before it sat idle",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("protection", style="bold")
    columns = shown_in(STALE_CASE_COLUMNS, TABLE)
    for column in columns:
        table.add_column(column.header, justify="right")
    for case in cases:
        table.add_row(describe_protection(case), *(rich_cell(column, case) for column in columns))
    return table


def write(cases: list[StaleCase], wait_timeout_s: int, idle_s: float, console: Console) -> None:
    console.print(build_table(cases, wait_timeout_s, idle_s))
    for case in cases:
        if case.errors:
            kinds = error_kinds(case.errors_by_kind)
            console.print(f"[red]{describe_protection(case)}: {kinds}[/red]", highlight=False)
    console.print(
        "[dim]first op: the first request after the idle period, what its user waits for; "
        "connects: physical connections opened in the whole case (filling the pool included)[/dim]"
    )
