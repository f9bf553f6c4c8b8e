"""``dbbench calibrate`` output: the A/A trials' changes, then the smallest ``--fail-on``
limits they allow, as rich tables (Markdown's are ``markdown.calibrate_lines``, from the
same words).

Both print the same things in the same order: what was calibrated, a row per trial and
runner (each metric's change, marked where it was beyond noise), a row per runner and
metric (how many trials were beyond noise, the largest change, the smallest limit, the
suggested one), then the suggested ``--fail-on`` flags, the rule behind them and what
the number of trials can vouch for.  The arithmetic is ``scenarios.calibrate``'s.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from dbbench.diffing import METRICS, TAIL_REPETITIONS
from dbbench.output.console import literal
from dbbench.output.diff_table import LEGEND, format_change
from dbbench.results.model import CalibrationResult, CalibrationTrial, MetricCalibration
from dbbench.stats import trials_for_bound

#: the recipes in words
RECIPES = {
    "saved": "saved runs: the settings run twice, one run after the other, diffed unpaired",
    "duet": "duet: the settings as two identical variants of one run, compared paired",
}
#: the mark of a change beyond noise
BEYOND = "*"
HEADER = ("runner", "metric", "beyond noise", "largest change", "smallest limit", "suggested")


# --- words shared by both formats ---------------------------------------------


def title(result: CalibrationResult) -> str:
    """e.g. "dbbench calibrate: 10 A/A trials (saved runs: ...) · 100 operations × 5
    repetitions a side · pool"."""
    bench = result.settings.benchmark
    if bench.iterations:
        length = f"{bench.iterations:,} operations"
    elif bench.duration_s is not None:
        length = f"{bench.duration_s:g} s"
    else:
        length = "?"
    repeat = bench.repeat or 1
    sides = f"{length} × {repeat} repetitions a side" if repeat > 1 else f"{length} a side"
    done = len(result.trials)
    trials = f"{done} A/A trial{'s' if done != 1 else ''}"
    if done != result.trials_asked:
        trials += f" of {result.trials_asked}"
    runners = ", ".join(result.runner_names) or "no runner"
    return (
        f"dbbench calibrate: {trials} ({RECIPES.get(result.recipe, result.recipe)}) · "
        f"{sides} · {runners}"
    )


def change_cell(trial: CalibrationTrial, runner: str, metric: str) -> str:
    """A trial's change of one metric, ``BEYOND`` after it where beyond noise."""
    change = trial.change(runner, metric)
    if change is None:
        return "-"
    if change.missing:
        return "missing"
    return format_change(change.change) + (BEYOND if change.beyond_noise else "")


def trial_rows(result: CalibrationResult) -> list[list[str]]:
    """A row per trial and runner: trial, runner, each metric's change."""
    return [
        [str(trial.number), diff.runner, *(change_cell(trial, diff.runner, m) for m in METRICS)]
        for trial in result.trials
        for diff in trial.diffs
    ]


def limit(fraction: float | None) -> str:
    """A suggested limit, a whole per cent: 0.07 -> "7%"; None -> "none"."""
    return "none" if fraction is None else f"{fraction:.0%}"


def _fraction(value: float | None, missing: str) -> str:
    return missing if value is None else f"{value:.1%}"


def calibration_row(row: MetricCalibration) -> list[str]:
    largest = _fraction(row.largest_change, "-")
    suggested = limit(row.suggested)
    if not row.gates:
        suggested += " (warns only)"
    beyond = f"{row.beyond_noise} of {row.trials}"
    if row.missing:
        beyond += f", {row.missing} missing"
    return [row.runner, row.metric, beyond, largest, _fraction(row.smallest, "none"), suggested]


def suggestion_line(result: CalibrationResult) -> str | None:
    """e.g. "suggested: --fail-on mean:7% --fail-on p50:5% --fail-on ops_per_s:7%": the
    metrics that gate, each at the largest of its runners' suggestions."""
    flags = []
    for metric in METRICS:
        rows = [c for c in result.calibrations if c.metric == metric]
        found = result.gate_limit(metric)
        if rows and rows[0].gates and found is not None:
            flags.append(f"--fail-on {metric}:{limit(found)}")
    if not flags:
        return None
    several = len(result.runner_names) > 1
    return f"suggested: {' '.join(flags)}" + (" (the largest of the runners')" if several else "")


def notes(result: CalibrationResult) -> list[str]:
    """What the limits mean, the rule of the suggestion, and what N trials vouch for."""
    lines = [
        f"{BEYOND}: beyond noise, by the gate's own test (dbbench diff) · smallest limit: the "
        "largest worsening of a trial beyond noise, the lowest --fail-on that none of these "
        "trials trips",
        f"suggested: {result.headroom:g} × the largest change of any trial, either way and "
        "beyond noise or not (both sides are the same settings: a fall could as well have "
        "been a rise), rounded up to a whole per cent, 1% at least",
    ]
    if any(not c.gates for c in result.calibrations):
        lines.append(
            f"p95 and p99 only warn in a gate below {TAIL_REPETITIONS} repetitions a side "
            f"(--repeat {TAIL_REPETITIONS})"
        )
    if any(c.missing for c in result.calibrations):
        lines.append(
            "missing: a side had no value (no successful operation): no limit passes a gate "
            "on that metric"
        )
    done = len(result.trials)
    if result.false_alarm_bound is not None:
        confidence = f"{result.confidence:.0%}"
        lines.append(
            f"{done} trials bound the false-alarm rate only roughly: with none in {done}, "
            f"it may still be as high as {result.false_alarm_bound:.0%} ({confidence} upper "
            f"bound, 1 − {1 - result.confidence:g}^(1/{done})); "
            f"{trials_for_bound(0.05, result.confidence)} trials without one bound it "
            "below 5%"
        )
    lines += [f"note: {note}" for note in result.notes]
    return lines


# --- rich -----------------------------------------------------------------------


def write(result: CalibrationResult, console: Console) -> None:
    """The title, the trials' table, the limits' table, the suggestion and the notes."""
    console.print(f"[bold]{literal(title(result))}[/bold]", soft_wrap=True)
    if not result.trials:
        console.print("[yellow]no trial was completed: nothing to calibrate on[/yellow]")
    else:
        console.print(_trials_table(result))
        console.print(_limits_table(result.calibrations))
    suggestion = suggestion_line(result)
    if suggestion:
        console.print(f"[bold green]{literal(suggestion)}[/bold green]", soft_wrap=True)
    for line in notes(result):
        console.print(f"[dim]{literal(line)}[/dim]", soft_wrap=True)
    console.print(f"[dim]{literal(LEGEND)}[/dim]", soft_wrap=True)
    if not result.complete:
        console.print("[yellow]interrupted: the trials done are above[/yellow]")


def _trials_table(result: CalibrationResult) -> Table:
    table = Table(title="each A/A trial's change", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("trial", justify="right")
    table.add_column("runner", style="bold")
    for metric in METRICS:
        table.add_column(metric, justify="right", no_wrap=True)
    for row in trial_rows(result):
        cells = [Text(c, style="" if c.endswith(BEYOND) else "dim") for c in row[2:]]
        table.add_row(row[0], literal(row[1]), *cells)
    return table


def _limits_table(rows: Sequence[MetricCalibration]) -> Table:
    table = Table(
        title="the smallest --fail-on with no false alarm in these trials",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    for index, name in enumerate(HEADER):
        table.add_column(name, justify="left" if index < 2 else "right", no_wrap=True)
    for row in rows:
        table.add_row(*(literal(cell) for cell in calibration_row(row)))
    return table
