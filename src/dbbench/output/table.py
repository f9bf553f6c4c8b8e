"""The rich table printed by default, and the one-line speedup summaries."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table

from dbbench.results import RunResult
from dbbench.stats import Speedup


def _ms(value_ns: float | None) -> str:
    return "-" if value_ns is None else f"{value_ns / 1e6:.3f}"


def describe_speedup(runner: str, baseline: str, s: Speedup) -> str:
    """e.g. "pool is 71.3× faster than raw (95% CI 69.8–72.9)"."""
    ratio, low, high, word = s.ratio, s.ci_low, s.ci_high, "faster"
    if ratio < 1:
        word = "slower"
        ratio = 1 / ratio
        low, high = (1 / high, 1 / low) if low and high else (None, None)
    interval = (
        f" ({s.confidence:.0%} CI {low:.{_digits(low)}f}–{high:.{_digits(low)}f})"
        if low is not None and high is not None
        else " (too few samples for a confidence interval)"
    )
    return f"{runner} is {ratio:.{_digits(ratio)}f}× {word} than {baseline}{interval}"


def _digits(value: float) -> int:
    return 2 if value < 10 else 1


def build_table(result: RunResult) -> Table:
    bench = result.settings["benchmark"]
    database = result.settings["database"]
    where = database["unix_socket"] or f"{database['host']}:{database['port']}"
    server = result.environment.get("server_version") or "unknown server"
    title = (
        f"{bench['query']!r} × {bench['iterations']} iterations (+{bench['warmup']} warm-up)\n"
        f"server: {database['user']}@{where}, {server}"
    )
    if result.pool_description:
        title += f"\npool: {result.pool_description}"
    table = Table(
        title=title, caption="times in milliseconds", title_justify="left", box=box.SIMPLE_HEAD
    )
    table.add_column("runner", style="bold", no_wrap=True)
    for name in ("n", "errors", "mean", "± σ", "min", "p50", "p95", "p99", "max", "ops/s"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("first op", justify="right", no_wrap=True)
    table.add_column("vs raw", justify="right", no_wrap=True)
    speedups = {s.runner: s.speedup for s in result.speedups}
    for r in result.runners:
        s = r.summary
        vs_raw = (
            f"{speedups[r.runner].ratio:.{_digits(speedups[r.runner].ratio)}f}×"
            if (r.runner in speedups)
            else ("1×" if r.runner == "raw" and s else "-")
        )
        table.add_row(
            r.runner,
            str(s.n if s else 0),
            str(r.errors) if not r.errors else f"[red]{r.errors}[/red]",
            _ms(s.mean_ns if s else None),
            _ms(s.stddev_ns if s else None),
            _ms(s.min_ns if s else None),
            _ms(s.p50_ns if s else None),
            _ms(s.p95_ns if s else None),
            _ms(s.p99_ns if s else None),
            _ms(s.max_ns if s else None),
            f"{s.ops_per_s:,.0f}" if s else "-",
            _ms(r.first_op_ns),
            vs_raw,
        )
    return table


def write(result: RunResult, console: Console) -> None:
    console.print(build_table(result))
    console.print(
        "[dim]first op: opening the runner + its first operation (cold start), "
        "not in the other columns; ops/s: 1 / mean, one client[/dim]"
    )
    for s in result.speedups:
        console.print(describe_speedup(s.runner, s.baseline, s.speedup))
    for r in result.runners:
        if r.errors:
            kinds = ", ".join(
                f"{kind} × {count}" for kind, count in sorted(r.errors_by_kind.items())
            )
            console.print(f"[red]{r.runner}: {r.errors} failed operations: {kinds}[/red]")
        if r.warmup_errors:
            console.print(
                f"[yellow]{r.runner}: {r.warmup_errors} failed warm-up operations[/yellow]"
            )
    for note in result.notes:
        console.print(f"[yellow]note:[/yellow] {note}")
    if not result.complete:
        console.print("[yellow]interrupted: these results cover only the rounds completed[/yellow]")
