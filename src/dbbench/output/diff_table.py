"""``dbbench diff`` output: a rich table per runner, or a Markdown table for a pull request.

Both print the same things in the same order: the changes, the runners found
in one document only, the caveats, one line per tripped threshold, and a
verdict.  The numbers and the tests come from ``dbbench.diffing``.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from dbbench.diffing import ALPHA, BETWEEN_ALPHA, CONFIDENCE, TAIL_REPETITIONS
from dbbench.numbers import escape_markdown, ms_from_us, ops_per_s, p_value
from dbbench.output.console import literal, plain
from dbbench.results.model import DiffResult, MetricChange, RunnerDiff, Threshold, Trip

#: one line under the tables: what "beyond noise" means
LEGEND = (
    f"beyond noise between repetitions (--repeat): each repetition's value, by Mann-Whitney, "
    f"or paired by a t-test of the log ratios (p < {BETWEEN_ALPHA:g}) · within one run: "
    f"mean by Welch's t-test, ops_per_s by a t-test of the log ratio (p < {ALPHA:g}), "
    f"p50–p99 when their {CONFIDENCE:.0%} confidence intervals do not overlap · "
    "latencies in milliseconds"
)
#: under a gate whose tests saw the operations of one run a side only
WITHIN_RUN = (
    "verdicts within each run only: the noise between runs is not measured, and a rerun "
    "often moves a mean by more than its interval; measure with --repeat (4 or more a side "
    "for two results, 2 or more for variants of one run; docs/guide/ci.md)"
)


# --- words shared by both formats --------------------------------------------


def format_value(metric: str, value: float | None) -> str:
    """Microseconds as milliseconds (3 significant-ish digits), or operations per second."""
    if metric == "ops_per_s":
        return ops_per_s(value, unit=True)
    return ms_from_us(value, unit=True)


def format_change(change: float | None) -> str:
    """0.142 -> "+14.2%"; -0.05 -> "−5.0%" (a real minus sign)."""
    if change is None:
        return "-"
    return f"{change:+.1%}".replace("-", "−")


def _basis(change: MetricChange) -> str:
    """ "5+5 repetitions" or "within runs": what noise a test saw."""
    if change.repetitions is None:
        return "within runs"
    return f"{change.repetitions[0]}+{change.repetitions[1]} repetitions"


def describe_noise(change: MetricChange) -> str:
    """The "beyond noise?" cell: "yes, p = 0.008 (5+5 repetitions)", "no, 99% CIs overlap
    (within runs)", "untested (why)"."""
    if change.beyond_noise is None:
        return "untested" + change.method.removeprefix("n/a")
    answer = "yes" if change.beyond_noise else "no"
    if change.p_value is not None:
        return f"{answer}, {p_value(change.p_value)} ({_basis(change)})"
    overlap = "apart" if change.beyond_noise else "overlap"
    return f"{answer}, {CONFIDENCE:.0%} CIs {overlap} ({_basis(change)})"


def _why_beyond_noise(change: MetricChange) -> str:
    if change.beyond_noise is None:
        return f"noise not tested ({change.method.removeprefix('n/a (')}: the limit alone decides"
    if change.repetitions is not None:
        n_base, n_new = change.repetitions
        return (
            f"beyond noise between {n_base} and {n_new} repetitions "
            f"({change.method}, {p_value(change.p_value or 0.0)})"
        )
    if change.method == "quantile-ci":
        return f"beyond noise within each run only ({CONFIDENCE:.0%} CIs do not overlap)"
    test = "Welch's t-test" if change.method == "welch-t" else "t-test of the log ratio"
    return f"beyond noise within each run only ({test}, {p_value(change.p_value or 0.0)})"


def describe_trip(trip: Trip) -> str:
    """e.g. "p99 of pool rose 14.2% (limit 10%), beyond noise between 5 and 5 repetitions
    (mann-whitney, p = 0.008)"."""
    change, limit = trip.change, f"limit {trip.threshold.limit * 100:g}%"
    who = f"{change.metric} of {trip.diff.label}"
    if change.change is None:
        if change.worse:
            return f"{who}: no successful operations in new ({limit})"
        why = change.method.removeprefix("n/a (").rstrip(")")
        return f"{who}: {why}: a gate cannot pass on it ({limit})"
    verb = "fell" if change.change < 0 else "rose"
    return f"{who} {verb} {abs(change.change):.1%} ({limit}), {_why_beyond_noise(change)}"


def describe_warning(trip: Trip) -> str:
    """A tail percentile's broken threshold that only warns, and why."""
    sides = trip.change.repetitions
    have = "one run a side" if sides is None else f"{sides[0]} and {sides[1]} repetitions"
    return (
        f"{describe_trip(trip)}: a warning only, tail percentiles gate with "
        f"{TAIL_REPETITIONS} repetitions a side (these have {have}; --repeat {TAIL_REPETITIONS})"
    )


def within_run_line(diffs: Sequence[RunnerDiff], thresholds: Sequence[Threshold]) -> str | None:
    """``WITHIN_RUN`` when thresholds were given and some compared metric saw one run a side."""
    gated = {t.metric for t in thresholds}
    if any(c.within_run and c.metric in gated and c.tested for d in diffs for c in d.changes):
        return WITHIN_RUN
    return None


def verdict(trips: Sequence[Trip], thresholds: Sequence[Threshold]) -> str:
    """The last line: FAIL with the count, PASS with the thresholds, or nothing gated."""
    if trips:
        count = len(trips)
        return f"FAIL: {count} threshold{'s' if count != 1 else ''} tripped"
    if thresholds:
        return f"PASS: no threshold tripped ({', '.join(str(t) for t in thresholds)})"
    return "no --fail-on thresholds given: changes shown, nothing gated"


def only_in_lines(diffs: Sequence[RunnerDiff], base_label: str, new_label: str) -> list[str]:
    lines = []
    for side, label in (("base", base_label), ("new", new_label)):
        names = [d.label for d in diffs if d.only_in == side]
        if names:
            lines.append(f"only in {label}, not compared: {'; '.join(names)}")
    return lines


# --- rich --------------------------------------------------------------------


def _change_text(change: MetricChange, tripped: bool) -> Text:
    style = ""
    if change.beyond_noise is False:
        style = "dim"
    elif change.beyond_noise and change.worse is not None:
        style = "red" if change.worse else "green"
    if tripped:
        style = f"bold {style or 'red'}"
    return Text(format_change(change.change), style=style)


def build_table(
    diff: RunnerDiff, trips: Sequence[Trip], base_label: str = "base", new_label: str = "new"
) -> Table:
    """One runner (or sweep cell): metric, base, new, change, beyond noise?"""
    tripped_metrics = {t.change.metric for t in trips if t.diff is diff}
    table = Table(title=literal(diff.label), title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("metric", style="bold", no_wrap=True)
    table.add_column(literal(base_label), justify="right", no_wrap=True)
    table.add_column(literal(new_label), justify="right", no_wrap=True)
    table.add_column("change", justify="right", no_wrap=True)
    table.add_column("beyond noise?", no_wrap=True)
    for change in diff.changes:
        tripped = change.metric in tripped_metrics
        table.add_row(
            plain(
                f"✗ {change.metric}" if tripped else change.metric, style="red" if tripped else ""
            ),
            format_value(change.metric, change.base),
            format_value(change.metric, change.new),
            _change_text(change, tripped),
            Text(describe_noise(change), style="" if change.beyond_noise else "dim"),
        )
    return table


def write(
    diffs: Sequence[RunnerDiff],
    tripped: Sequence[Trip],
    console: Console,
    *,
    thresholds: Sequence[Threshold] = (),
    base_label: str = "base",
    new_label: str = "new",
    caveats: Sequence[str] = (),
    warnings: Sequence[Trip] = (),
) -> None:
    """Tables, then what was not compared, caveats, tripped thresholds and the verdict."""
    for diff in diffs:
        if diff.changes:
            console.print(build_table(diff, tripped, base_label, new_label))
    console.print(f"[dim]{literal(LEGEND)}[/dim]", soft_wrap=True)
    for line in only_in_lines(diffs, base_label, new_label):
        console.print(f"[yellow]{literal(line)}[/yellow]", soft_wrap=True)
    for line in caveats:
        console.print(f"[yellow]note: {literal(line)}[/yellow]", soft_wrap=True)
    within = within_run_line(diffs, thresholds)
    if within:
        console.print(f"[yellow]{literal(within)}[/yellow]", soft_wrap=True)
    for trip in warnings:
        console.print(f"[yellow]⚠ {literal(describe_warning(trip))}[/yellow]", soft_wrap=True)
    for trip in tripped:
        console.print(f"[red]✗ {literal(describe_trip(trip))}[/red]", soft_wrap=True)
    style = "bold red" if tripped else "bold green" if thresholds else "dim"
    console.print(f"[{style}]{literal(verdict(tripped, thresholds))}[/{style}]", soft_wrap=True)


# --- Markdown ----------------------------------------------------------------


def _md_change(change: MetricChange, tripped: bool) -> str:
    text = format_change(change.change)
    if change.beyond_noise and change.worse is not None:
        text = f"{'🔴' if change.worse else '🟢'} {text}"
    return f"**{text}**" if tripped else text


def markdown_lines(
    diffs: Sequence[RunnerDiff],
    tripped: Sequence[Trip],
    *,
    thresholds: Sequence[Threshold] = (),
    base_label: str = "base",
    new_label: str = "new",
    caveats: Sequence[str] = (),
    warnings: Sequence[Trip] = (),
) -> list[str]:
    """The Markdown document, line by line (see ``write_markdown``)."""
    sweep = any(d.cell is not None for d in diffs)
    lines = [f"### dbbench diff: {escape_markdown(base_label)} → {escape_markdown(new_label)}", ""]
    compared = [d for d in diffs if d.changes]
    if compared:
        head = ["cell"] if sweep else []
        head += [
            "runner",
            "metric",
            escape_markdown(base_label),
            escape_markdown(new_label),
            "change",
            "beyond noise?",
        ]
        align = ["---"] * (len(head) - 5) + ["---", "---:", "---:", "---:", "---"]
        lines += [f"| {' | '.join(head)} |", f"|{'|'.join(align)}|"]
        tripped_keys = {(id(t.diff), t.change.metric) for t in tripped}
        for diff in compared:
            for index, change in enumerate(diff.changes):
                is_tripped = (id(diff), change.metric) in tripped_keys
                first = index == 0
                row = [escape_markdown(diff.cell or "") if first else ""] if sweep else []
                row += [
                    f"**{escape_markdown(diff.runner)}**" if first else "",
                    f"❌ {change.metric}" if is_tripped else change.metric,
                    format_value(change.metric, change.base),
                    format_value(change.metric, change.new),
                    _md_change(change, is_tripped),
                    escape_markdown(describe_noise(change)),
                ]
                lines.append(f"| {' | '.join(row)} |")
        lines += ["", f"<sub>{escape_markdown(LEGEND)}</sub>"]
    notes = only_in_lines(diffs, base_label, new_label) + [f"note: {c}" for c in caveats]
    within = within_run_line(diffs, thresholds)
    notes += [within] if within else []
    notes += [f"⚠ {describe_warning(trip)}" for trip in warnings]
    if notes:
        lines += [""] + [f"- {escape_markdown(line)}" for line in notes]
    if tripped:
        lines += [""] + [f"- ❌ {escape_markdown(describe_trip(trip))}" for trip in tripped]
    line = verdict(tripped, thresholds)
    word, rest = line.partition(": ")[::2]
    lines += [
        "",
        f"**{word}**: {escape_markdown(rest)}"
        if word in ("FAIL", "PASS")
        else escape_markdown(line),
    ]
    return lines


def write_markdown(
    diffs: Sequence[RunnerDiff],
    tripped: Sequence[Trip],
    console: Console,
    *,
    thresholds: Sequence[Threshold] = (),
    base_label: str = "base",
    new_label: str = "new",
    caveats: Sequence[str] = (),
    warnings: Sequence[Trip] = (),
) -> None:
    """A GitHub-flavoured Markdown report, fit for a pull-request comment.

    One table, a row per metric and runner (and a cell column for sweeps),
    🔴/🟢 on changes beyond noise, tripped metrics marked ❌ and in bold, then
    bullets for what was not compared, caveats and tripped thresholds, and the
    verdict in bold.  Printed without rich markup or wrapping.
    """
    text = "\n".join(
        markdown_lines(
            diffs,
            tripped,
            thresholds=thresholds,
            base_label=base_label,
            new_label=new_label,
            caveats=caveats,
            warnings=warnings,
        )
    )
    console.print(text, markup=False, highlight=False, soft_wrap=True, emoji=False)


def write_result(result: DiffResult, console: Console, *, markdown: bool = False) -> None:
    """``dbbench diff``'s result as rich tables, or as Markdown; then the gate's failure to
    compare anything, if it failed so."""
    (write_markdown if markdown else write)(
        result.diffs,
        list(result.verdict.trips),
        console,
        thresholds=result.thresholds,
        caveats=result.caveats,
        base_label=result.base_label,
        new_label=result.new_label,
        warnings=result.verdict.warnings,
    )
    lacking_line(result, console)


def lacking_line(result: DiffResult, console: Console) -> None:
    """A gate with nothing to compare fails, and says why (Markdown prints it too)."""
    line = result.verdict.lacking_line(result.base_label, result.new_label)
    if line is not None:
        console.print(line, markup=False, highlight=False, soft_wrap=True)
