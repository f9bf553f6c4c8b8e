"""``dbbench explain`` as rich tables: one per runner, phase by phase, then the projection."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table

from dbbench.numbers import (
    MISSING,
    ms_from_ns,
    ms_from_s,
    percent,
    signed_ms_from_ns,
    signed_percent,
)
from dbbench.output.console import literal
from dbbench.results.model import Explanation, RunnerExplanation


def phase_table(runner: RunnerExplanation, rtt_s: float | None = None) -> Table:
    table = Table(
        title=f"[bold]{literal(runner.runner)}[/bold]: {literal(runner.operation)} "
        f"({runner.iterations} operations)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("phase", no_wrap=True)
    for name in ("median", "p95", "share", "round trips"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("what it is", style="dim")
    for phase in runner.phases:
        table.add_row(
            literal(phase.name),
            ms_from_ns(phase.median_ns),
            ms_from_ns(phase.p95_ns),
            percent(runner.share(phase)),
            str(phase.round_trips),
            literal(phase.description),
        )
    total = runner.phases_median_ns
    share = total / runner.whole_median_ns if runner.whole_median_ns else 0.0
    table.add_section()
    table.add_row(
        "sum of phases",
        ms_from_ns(total),
        "",
        percent(share),
        str(runner.round_trips),
        "medians added",
    )
    interval = runner.describe_gap_interval()
    table.add_row(
        "phases − whole",
        signed_ms_from_ns(runner.gap_median_ns),
        "",
        signed_percent(runner.gap_share(runner.gap_median_ns)),
        "",
        "per round: the fastest operation's phases added, minus the fastest plain one "
        f"({f'median; {interval}' if interval else 'median'})",
    )
    table.add_row(
        "[bold]whole operation[/bold]",
        ms_from_ns(runner.whole_median_ns),
        ms_from_ns(runner.whole_p95_ns),
        "100%",
        "",
        "as dbbench run times it, uninstrumented",
    )
    if rtt_s is not None:
        table.add_row(
            f"at RTT {ms_from_s(rtt_s)}",
            ms_from_ns(runner.projected_ns(rtt_s * 1e9)),
            "",
            "",
            "",
            f"whole + {runner.round_trips} × {ms_from_s(rtt_s)}",
        )
    return table


def projection_table(explanation: Explanation) -> Table:
    """Per runner: measured median, round trips and, with --rtt, the projection."""
    rtt_s = explanation.rtt_s
    title = "per operation"
    if rtt_s is not None:
        title += f", projected onto a network with a round-trip time of {ms_from_s(rtt_s)}"
    table = Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        caption="times in milliseconds; round trips counted on the wire, TCP's handshake included",
    )
    table.add_column("runner", style="bold")
    for name in ("median", "p95", "round trips"):
        table.add_column(name, justify="right")
    if rtt_s is not None:
        table.add_column(f"+ trips × {ms_from_s(rtt_s)}", justify="right")
        table.add_column("projected median", justify="right")
    for runner in explanation.runners:
        cells = [
            ms_from_ns(runner.whole_median_ns),
            ms_from_ns(runner.whole_p95_ns),
            str(runner.round_trips),
        ]
        if rtt_s is not None:
            cells += [
                ms_from_ns(runner.round_trips * rtt_s * 1e9),
                ms_from_ns(runner.projected_ns(rtt_s * 1e9)),
            ]
        table.add_row(literal(runner.runner), *cells)
    return table


def write(explanation: Explanation, console: Console) -> None:
    database = explanation.database
    server = explanation.environment.server_version or "unknown server"
    console.print(
        f"where the time goes: {literal(repr(explanation.query))} with "
        f"{literal(explanation.driver)}, "
        f"{literal(database.login(MISSING))}, {literal(server)}\n"
        f"pool: {literal(explanation.pool)}\n"
        "times in milliseconds; share: of the whole operation's median",
        highlight=False,
    )
    for runner in explanation.runners:
        console.print(phase_table(runner, explanation.rtt_s))
    console.print(projection_table(explanation))
    for finding in explanation.findings:
        console.print(f"[yellow]finding:[/yellow] {literal(finding)}")
