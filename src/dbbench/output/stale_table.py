"""The stale-connection scenario as a table: errors and latency with each protection."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table

from dbbench.stale import StaleCase


def _ms(value_ns: float | None) -> str:
    return "-" if value_ns is None else f"{value_ns / 1e6:.3f}"


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
            f"{case.error_rate:.1%}",
            _ms(case.first_latency_ns),
            _ms(case.latency.mean_ns if case.latency else None),
            _ms(case.latency.p99_ns if case.latency else None),
            _ms(case.baseline.mean_ns if case.baseline else None),
            str(case.pool.connects) if case.pool else "-",
            str(case.pool.invalidations) if case.pool else "-",
        )
    return table


def write(cases: list[StaleCase], wait_timeout_s: int, idle_s: float, console: Console) -> None:
    console.print(build_table(cases, wait_timeout_s, idle_s))
    for case in cases:
        if case.errors:
            kinds = ", ".join(f"{k} × {n}" for k, n in sorted(case.errors_by_kind.items()))
            console.print(f"[red]{describe_protection(case)}: {kinds}[/red]", highlight=False)
    console.print(
        "[dim]first op: the first request after the idle period, what its user waits for; "
        "connects: physical connections opened in the whole case (filling the pool included)[/dim]"
    )
