"""The stale-connection scenario as a table: errors and latency with each protection."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table

from dbbench.model import StaleCase
from dbbench.output.numbers import error_kinds, ms_from_ns, percent


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
    for name in ("operations", "errors", "error rate", "first op", "mean", "p99", "baseline mean"):
        table.add_column(name, justify="right")
    table.add_column("connects", justify="right")
    table.add_column("invalidated", justify="right")
    for case in cases:
        errors = f"[red]{case.errors}[/red]" if case.errors else "0"
        table.add_row(
            describe_protection(case),
            str(case.operations),
            errors,
            percent(case.error_rate),
            ms_from_ns(case.first_latency_ns),
            ms_from_ns(case.latency.mean_ns if case.latency else None),
            ms_from_ns(case.latency.p99_ns if case.latency else None),
            ms_from_ns(case.baseline.mean_ns if case.baseline else None),
            str(case.pool.connects) if case.pool else "-",
            str(case.pool.invalidations) if case.pool else "-",
        )
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
