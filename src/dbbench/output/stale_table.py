"""The stale-connection scenario as a table: errors and latency with each protection."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table

from dbbench import databases
from dbbench.numbers import error_kinds, ms_from_ns, p_value, ratio, ratio_digits
from dbbench.output.columns import STALE_CASE_COLUMNS, TABLE, shown_in
from dbbench.output.console import literal
from dbbench.output.table import rich_cell
from dbbench.results.model import StaleCase, StaleResult


def timeout_setting(result: StaleResult) -> str:
    """The server's idle timeout the cases set, as the result's dialect names it
    (``wait_timeout``, ``idle_session_timeout``; a file from before dbbench knew
    PostgreSQL measured MySQL): every format's title says it."""
    dialect = result.settings.database.dialect or "mysql"
    return databases.get_database(dialect).idle_timeout().setting


def describe_protection(case: StaleCase) -> str:
    pool = case.pool_settings
    if case.protection == "recycle":
        return f"pool_recycle={pool.pool_recycle_s:g}s"
    if case.protection == "pre_ping":
        return "pool_pre_ping"
    return "none"


#: under the comparisons: what noise they cover, and why the errors are not tested
NOISE_NOTE = (
    "Beyond noise: Welch's t-test of the means over this run's operations; stale runs "
    "once, so the noise between runs is not measured. Errors are counts of the dead "
    "connections met, not a noisy measurement."
)


def describe_after_idle(case: StaleCase) -> str:
    """e.g. "pool_pre_ping: mean 4.950 ms after the idle period against 0.411 ms before:
    12.0× slower (95% CI 11.2–12.9, noise within this one run only; Welch's t-test,
    p < 0.0001)".

    As ``table.describe_speedup``: "slower" or "faster" only where the difference is
    beyond noise (``StaleCase.after_idle``), else "does not differ beyond noise".
    """
    name, c = describe_protection(case), case.after_idle
    if c is None:
        side = "after the idle period" if case.latency is None else "before the idle period"
        return f"{name}: no operation succeeded {side}: no latencies to compare"
    means = (
        f"{name}: mean {ms_from_ns(c.new)} ms after the idle period "
        f"against {ms_from_ns(c.base)} ms before"
    )
    low, high, p = c.low, c.high, c.p_value
    if c.beyond_noise is None or low is None or high is None or p is None:
        return f"{means}: {ratio(c.ratio)}, too few operations to test against noise"
    times, word = c.ratio, "slower"
    if c.beyond_noise and times < 1:  # as many times faster, over the interval inverted
        times, low, high, word = 1 / times, 1 / high, 1 / low, "faster"
    digits = ratio_digits(low)
    basis = (
        f"({c.confidence:.0%} CI {low:.{digits}f}–{high:.{digits}f}, noise within this one run "
        f"only; Welch's t-test, {p_value(p)})"
    )
    if not c.beyond_noise:
        return f"{means}: does not differ beyond noise: {ratio(times)} the baseline {basis}"
    return f"{means}: {ratio(times)} {word} {basis}"


def build_table(
    cases: list[StaleCase], wait_timeout_s: int, idle_s: float, setting: str = "wait_timeout"
) -> Table:
    table = Table(
        title=(
            f"stale connections: server {setting} {wait_timeout_s}s, pool idle {idle_s:g}s, "
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
        cells = (rich_cell(column, case) for column in columns)
        table.add_row(literal(describe_protection(case)), *cells)
    return table


def write(
    cases: list[StaleCase],
    wait_timeout_s: int,
    idle_s: float,
    console: Console,
    setting: str = "wait_timeout",
) -> None:
    console.print(build_table(cases, wait_timeout_s, idle_s, setting))
    for case in cases:
        if case.errors:
            kinds = error_kinds(case.errors_by_kind)
            console.print(
                f"[red]{literal(describe_protection(case))}: {literal(kinds)}[/red]",
                highlight=False,
            )
    for case in cases:
        console.print(describe_after_idle(case), highlight=False, markup=False)
    console.print(
        "[dim]first op: the first request after the idle period, what its user waits for; "
        "connects: physical connections opened in the whole case (filling the pool included)[/dim]"
    )
    console.print(NOISE_NOTE, style="dim", highlight=False, markup=False)
