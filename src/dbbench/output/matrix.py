"""The pool-sweep matrix: pool settings down, concurrency across, then one recommendation each."""

from __future__ import annotations

import math
from collections.abc import Sequence

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from dbbench.numbers import ms_from_us, ops_per_s, overflow
from dbbench.output.columns import (
    BEST,
    ERROR,
    NEAR,
    RECOMMENDED,
    TIMEOUT,
    cell_words,
    sweep_grid,
)
from dbbench.results.model import Recommendation, SweepCell

#: two lines, so that each fits in 120 columns
LEGEND = (
    f"{RECOMMENDED} recommended: the smallest setting close to the best (see below) · "
    f"{BEST} bold: highest throughput without errors · {NEAR} within noise of the best",
    f"{TIMEOUT} pool timeouts (QueuePool limit reached) · {ERROR} other failed operations · "
    "throughput counts successful operations only",
)


def describe_setting(cell: SweepCell) -> str:
    """e.g. "pool_size=5 max_overflow=3"."""
    return f"pool_size={cell.pool_size} max_overflow={overflow(cell.max_overflow)}"


def _cell_text(cell: SweepCell | None, *, best: bool, chosen: bool, near: bool) -> Text:
    if cell is None:
        return Text("not run", style="dim")
    words = cell_words(cell, lambda rate: ops_per_s(rate, unit=True))
    text = Text()
    if chosen:
        text.append(f"{RECOMMENDED} ", style="bold yellow")
    if best:
        text.append(f"{BEST} ", style="bold")
    elif near:
        text.append(f"{NEAR} ")
    text.append(words.throughput, style=("bold" if best else "") if words.measured else "red")
    if cell.p99_us is not None:
        text.append(f"\np99 {ms_from_us(cell.p99_us, unit=True)}", style="bold" if best else "")
    for failure in (words.timeouts, words.errors):
        if failure:
            text.append(f"\n{failure}", style="red")
    return text


def build_matrix(cells: Sequence[SweepCell], recommendations: Sequence[Recommendation]) -> Table:
    """Rows: (pool_size, max_overflow); columns: concurrency; best bold and ▲, chosen ★."""
    concurrencies, grid = sweep_grid(cells, recommendations)
    table = Table(
        title="pool sweep: successful operations/s (all threads) and p99 latency",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_lines=True,
    )
    table.add_column("pool_size", justify="right", no_wrap=True)
    table.add_column("max_overflow", justify="right", no_wrap=True)
    for concurrency in concurrencies:
        table.add_column(f"concurrency {concurrency}", justify="right", no_wrap=True)
    for row in grid:
        table.add_row(
            str(row.pool_size),
            overflow(row.max_overflow),
            *(_cell_text(c.cell, best=c.best, chosen=c.chosen, near=c.near) for c in row.cells),
        )
    return table


def _recommendation_parts(r: Recommendation, cells: Sequence[SweepCell]) -> tuple[str, str, str]:
    """(head, first, second): the line is the three joined by spaces; printed on two lines."""
    head = f"concurrency {r.concurrency}:"
    if r.chosen is None or r.best is None:
        here = [c for c in cells if c.concurrency == r.concurrency]
        if here and not any(c.operations for c in here):
            problem = "nothing was measured"
        elif here and not any(c.timeouts for c in here):
            problem = (
                "no setting ran without errors, and none were pool timeouts; "
                "check the server and the query rather than the pool"
            )
        else:
            problem = "no setting ran without timeouts or errors; raise pool_size or pool_timeout"
        return head, f"{problem};", r.rule_of_thumb
    best_ops = ops_per_s(r.best.ops_per_s or 0, unit=True)
    tested = not r.noise.startswith("not tested")
    noise = f"noise {r.noise}"
    if r.none_differs:
        finding = (
            f"no setting differs beyond noise ({noise}): the smallest, "
            f"{describe_setting(r.chosen)}, is recommended"
        )
    elif r.chosen == r.best:
        beaten = r.clean_cells - len(r.within_noise)
        finding = f"{describe_setting(r.chosen)} has the best throughput ({best_ops})"
        if tested and r.within_noise:
            finding += f"; {beaten} of {r.clean_cells} settings are beyond noise below it ({noise})"
    else:
        # floor, so that a setting just under a round percentage is not shown above it
        percent = math.floor((r.fraction_of_best or 0) * 100 + 1e-6)
        within = f" and is within noise of it ({noise})" if r.is_within_noise(r.chosen) else ""
        finding = (
            f"{describe_setting(r.chosen)} reaches {percent}% of the best throughput "
            f"({describe_setting(r.best)}: {best_ops}){within}"
        )
    if not tested and r.noise != "not tested":
        finding += f"; noise {r.noise}"
    verdict = "agrees" if r.agrees_with_rule else "disagrees"
    if not r.agrees_with_rule and r.disagreement:
        verdict += f" ({r.disagreement})"
    return head, finding, f"with no timeouts or errors; {r.rule_of_thumb} — {verdict}"


def describe_recommendation(recommendation: Recommendation, cells: Sequence[SweepCell] = ()) -> str:
    """One line: what to use at this concurrency, against the best and the rule of thumb.

    e.g. "concurrency 8: pool_size=5 max_overflow=3 reaches 98% of the best throughput
    (pool_size=10 max_overflow=3: 8,200/s) with no timeouts or errors; rule of thumb:
    pool_size 5–16 for concurrency 8, max_overflow 0–5 — agrees".  ``cells`` only
    refine the message when no setting qualified: timeouts call for a bigger pool,
    other errors do not.
    """
    return " ".join(_recommendation_parts(recommendation, cells))


def write(
    cells: Sequence[SweepCell], recommendations: Sequence[Recommendation], console: Console
) -> None:
    console.print(build_matrix(cells, recommendations))
    for line in LEGEND:
        console.print(Text(line, style="dim"))
    # a grid, so that a line too long for the terminal wraps under its own column
    lines = Table.grid(padding=(0, 1))
    lines.add_column(no_wrap=True)
    lines.add_column()
    for r in recommendations:
        head, first, second = _recommendation_parts(r, cells)
        style = "" if r.chosen is not None else "yellow"
        lines.add_row(Text(head, style=style), Text(first, style=style))
        lines.add_row("", Text(second, style=style))
    console.print(lines)
