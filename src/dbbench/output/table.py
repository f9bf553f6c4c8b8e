"""The rich tables printed by default: latency per runner, pool counters, the server's view."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from dbbench.engine.timeline import describe as describe_timeline
from dbbench.numbers import (
    MISSING,
    count,
    duration_from_ns,
    error_kinds,
    ms_from_ns,
    percent,
    ratio,
    ratio_digits,
)
from dbbench.output import findings
from dbbench.output.columns import (
    POOL_COLUMNS,
    RUNNER_COLUMNS,
    TABLE,
    Column,
    cell_text,
    shown_in,
)
from dbbench.output.console import literal
from dbbench.results.model import (
    RunnerResult,
    RunProjection,
    RunResult,
    ScriptSummary,
    StatementSummary,
)
from dbbench.runners import is_baseline
from dbbench.stats import Speedup
from dbbench.text import shortened
from dbbench.workload import READ_WORKLOAD
from dbbench.workload import describe as describe_workload


def describe_speedup(runner: str, baseline: str, s: Speedup) -> str:
    """e.g. "pool is 71.3× faster than raw (95% CI 69.8–72.9 between 5 repetitions)".

    "faster" or "slower" only where the interval leaves out 1; the interval says what
    noise it covers: that between repetitions, or, with one, within that run only.
    """
    times, low, high, word = s.ratio, s.ci_low, s.ci_high, "faster"
    if times < 1 and s.beyond_noise is not False:
        word = "slower"
        times = 1 / times
        low, high = (1 / high, 1 / low) if low and high else (None, None)
    if s.repetitions > 1:
        basis = f" between {s.repetitions} repetitions"
    else:
        basis = ", noise within this one run only (--repeat covers reruns)"
    interval = (
        f" ({s.confidence:.0%} CI {low:.{ratio_digits(low)}f}–{high:.{ratio_digits(low)}f}{basis})"
        if low is not None and high is not None
        else " (too few samples for a confidence interval)"
    )
    if s.beyond_noise is False:
        return f"{runner} and {baseline} do not differ beyond noise: {ratio(s.ratio)}{interval}"
    return f"{runner} is {ratio(times)} {word} than {baseline}{interval}"


#: the runner table's columns; the first of _DROP_ORDER go first on narrow terminals
_COLUMNS = {c.header: c for c in shown_in(RUNNER_COLUMNS, TABLE)}


def rich_cell(column: Column, row: Any) -> str:
    """A column's cell in a rich table (the stale table's too)."""
    return cell_text(
        column,
        row,
        ms=ms_from_ns,
        number=lambda value: count(value, grouped=False),
        loud=lambda text: f"[red]{text}[/red]",
    )


#: dropped in this order when the terminal is too narrow for all columns
_DROP_ORDER = ("min", "p99.9", "p90", "± σ", "first op", "max")
#: the runner's label is folded onto more lines, when the table is still too wide without
#: the columns of _DROP_ORDER, down to this width at the least (its header's)
_NARROWEST_LABEL = len("runner")


def _text_width(text: str) -> int:
    """How many cells a cell's text takes on screen (its markup left out)."""
    return Text.from_markup(text).cell_len


def _table_width(widths: Iterable[int]) -> int:
    """How wide a table of columns this wide is: each with its padding (one cell either
    side) and the divider or edge after it, the first edge besides (box.SIMPLE_HEAD)."""
    return 1 + sum(width + 3 for width in widths)


def _visible_columns(width: int, needed: Mapping[str, int], fixed: int) -> list[str]:
    """The columns of _COLUMNS that fit in ``width`` beside columns ``fixed`` wide in all
    (the runner and vs raw), each as wide as ``needed`` says (its header and its widest
    value): those of _DROP_ORDER dropped first to last until the rest fit."""
    columns = list(_COLUMNS)
    for name in _DROP_ORDER:
        if fixed + _table_width(needed[c] for c in columns) - 1 <= width:
            break
        columns.remove(name)
    return columns


def build_table(result: RunResult, width: int = 200) -> Table:
    """The runner table, no wider than ``width`` where it can be: the least important
    columns left out first (_DROP_ORDER), then the runner's label folded; never a figure
    cut, each column as wide as its widest value."""
    bench = result.settings.benchmark
    database = result.settings.database
    server = result.environment.server_version or "unknown server"
    if bench.iterations:
        length = f"{bench.iterations} operations per runner"
    elif bench.duration_s is not None:
        length = f"{bench.duration_s:g} s per runner"
    else:  # a file that recorded neither
        length = f"{MISSING} per runner"
    length += bench.repeated
    warmup = MISSING if bench.warmup is None else bench.warmup
    load = f"{1 if bench.concurrency is None else bench.concurrency} worker(s)"
    if (bench.processes or 1) > 1:
        load += f" in {bench.processes} processes"
    load += f", open loop at {bench.rate_per_s:g}/s" if bench.rate_per_s else ""
    operation = describe_workload(
        bench.query or "", bench.workload or READ_WORKLOAD, bench.scripts, bench.data_rows
    )
    title = (
        f"{literal(operation)}: {length} (+{warmup} warm-up), {load}\n"
        f"server: {literal(database.login(MISSING))}, {literal(server)}"
    )
    if result.pool_description:
        title += f"\npool: {literal(result.pool_description)}"
    for variant in result.settings.variants or ():
        title += f"\n{variant.kind} {literal(variant.describe(result.target_server(variant)))}"
    drivers = result.environment.drivers
    if drivers:
        tls = database.ssl_mode or "preferred"
        title += f"\ndriver: {literal(', '.join(drivers.values()))}; ssl_mode {literal(tls)}"
        title += "; autocommit on" if database.autocommit else ""
    table = Table(
        title=title,
        caption="times in milliseconds; ops/s: successful operations per second, all workers",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    labels = [literal(r.runner) for r in result.runners]
    cells = {name: [rich_cell(c, r) for r in result.runners] for name, c in _COLUMNS.items()}
    speedups = [vs_raw(result, r) for r in result.runners]
    needed = {name: max(map(_text_width, [name, *texts])) for name, texts in cells.items()}
    label_width = max(map(_text_width, ["runner", *labels]))
    vs_width = max(map(_text_width, ["vs raw", *speedups]))
    columns = _visible_columns(width, needed, _table_width([label_width, vs_width]))
    rest = _table_width([*(needed[name] for name in columns), vs_width])
    if rest + label_width + 3 <= width:
        table.add_column("runner", style="bold", no_wrap=True)
    else:  # folded onto more lines, never cut; the figures keep their width
        narrowest = min(label_width, _NARROWEST_LABEL)
        table.add_column(
            "runner", style="bold", overflow="fold", min_width=narrowest,
            max_width=max(narrowest, width - rest - 3),
        )
    for name in columns:
        table.add_column(name, justify="right", no_wrap=True, min_width=needed[name])
    table.add_column("vs raw", justify="right", no_wrap=True, min_width=vs_width)
    for index, label in enumerate(labels):
        table.add_row(label, *(cells[name][index] for name in columns), speedups[index])
    return table


def vs_raw(result: RunResult, runner: RunnerResult) -> str:
    """The "vs raw" cell: the runner's speedup over the baseline ("71.3×"), "1×" for it."""
    for s in result.speedups:
        if s.runner == runner.runner:
            return ratio(s.speedup.ratio)
    return "1×" if is_baseline(runner.runner) and runner.summary else "-"


def _table_under(title: str, caption: str) -> Table:
    """A small table under the runner table: its title on the left, its caption below."""
    return Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, caption=caption)


def _pool_rows(results: list[RunnerResult]) -> Table | None:
    pooled = [r for r in results if r.pool is not None]
    if not pooled:
        return None
    table = _table_under(
        "what the pool did (cold start and warm-up included)",
        "checkout: waiting for a connection (and connecting, pinging), in milliseconds",
    )
    # on a narrow console the label and the headers fold onto more lines, never a figure
    table.add_column("runner", style="bold", overflow="fold")
    columns = shown_in(POOL_COLUMNS, TABLE)
    cells = [[rich_cell(column, r) for r in pooled] for column in columns]
    for column, texts in zip(columns, cells, strict=True):
        table.add_column(
            column.short or column.header, justify="right", overflow="fold",
            min_width=max(map(_text_width, texts)),
        )
    for index, r in enumerate(pooled):
        table.add_row(literal(r.runner), *(texts[index] for texts in cells))
    return table


#: the per-worker table's columns, the terminal's and Markdown's
WORKER_HEADER = ("process", "worker", "host", "status", "runner", "n", "errors", "ops/s")
WORKER_CAPTION = "each process's own figures; the runner table holds their exact merge"


def cluster_title(result: RunResult) -> str | None:
    """The line over the per-worker table of a run on a Dask cluster; None for another."""
    cluster = result.cluster
    if cluster is None:
        return None
    skew = (
        f"; start skew {duration_from_ns(cluster.start_skew_s * 1e9)}"
        if cluster.start_skew_s is not None
        else ""
    )
    return f"Dask workers (scheduler {cluster.scheduler}{skew})"


def worker_lines(result: RunResult) -> list[tuple[str, ...]]:
    """Each process's runners on a Dask cluster, as the terminal and Markdown show them: a
    row per worker and runner (a worker that measured nothing: one row)."""
    if result.cluster is None:
        return []
    rows = []
    for worker in result.cluster.workers:
        head = (str(worker.process), worker.worker, worker.host, worker.status)
        if not worker.runners:
            rows.append((*head, MISSING, "0", "0", MISSING))
        for r in worker.runners:
            rate = f"{r.ops_per_s:,.0f}" if r.ops_per_s is not None else MISSING
            rows.append((*head, r.runner, f"{r.n:,}", f"{r.errors:,}", rate))
    return rows


def _worker_rows(result: RunResult) -> Table | None:
    title = cluster_title(result)
    if title is None:
        return None
    table = _table_under(title, WORKER_CAPTION)
    for index, header in enumerate(WORKER_HEADER):
        table.add_column(header, justify="right" if index >= 5 else "left", overflow="fold")
    for row in worker_lines(result):
        table.add_row(*(literal(cell) for cell in row))
    return table


def server_line(result: RunResult) -> str | None:
    server = result.server
    if not server:
        return None
    deltas = server.deltas or {}
    check = server.cross_check
    parts = [f"{name} +{deltas[name]}" for name in deltas]
    gauge = server.gauge
    reserved = server.superuser_reserved_connections
    parts.append(
        f"{gauge.name} peak {_known(gauge.peak)} of max_connections "
        f"{_known(server.max_connections)}"
        + (f" ({reserved} reserved for superusers)" if reserved else "")
    )
    line = "server saw: " + ", ".join(parts)
    if check and server.pooler is not None:
        # the pooler opens server connections of its own: the note splits the count
        line += (
            f"; dbbench opened {_known(check.dbbench_connections)} of them itself (direct, "
            "its monitor's), the pooler the others (the note below)"
        )
        return line
    if check:
        verdict = {True: "matches", False: "does not match"}.get(check.matches, MISSING)  # type: ignore[arg-type]
        line += (
            f"; dbbench opened {_known(check.dbbench_connections)} connections "
            f"(its monitor's included): {verdict}"
        )
    if server.stats_settled is False:
        line += "; its statistics may lag (backends begun during the run were still there)"
    return line


def _known(value: object) -> str:
    """A value a file recorded, or MISSING when it lacks it."""
    return count(value, grouped=False)


def memory_line(result: RunResult) -> str | None:
    """The server's memory per connection at the run's peak, or why it is not available;
    None when the run did not read it (a file of an older dbbench, a fake server)."""
    return result.server.describe_memory() if result.server else None


def statement_rows(results: list[RunnerResult]) -> Table | None:
    """A run of scripts: each runner's scripts (their share of its measured operations)
    and each of their statements, with its own count, failures and latency (pgbench's
    ``-r``); None for a run of the query."""
    scripted = [r for r in results if r.scripts]
    if not scripted:
        return None
    table = _table_under(
        "per statement (measured operations)",
        "times in milliseconds; share: of the runner's operations that ran the script",
    )
    for header in ("runner", "script", "share", "line", "statement"):
        table.add_column(header, overflow="fold", style="bold" if header == "runner" else None)
    for header in ("n", "errors", "mean", "p99"):
        table.add_column(header, justify="right", no_wrap=True)
    for r, script, share, statement in statement_lines(scripted):
        first = statement is script.statements[0]
        figures = statement.summary
        table.add_row(
            literal(r.runner) if first else "",
            literal(script.script) if first else "",
            percent(share) if first else "",
            str(statement.line),
            literal(shortened(statement.sql)),
            count(statement.n),
            count(statement.errors),
            ms_from_ns(figures.mean_ns) if figures else MISSING,
            ms_from_ns(figures.p99_ns) if figures else MISSING,
        )
    return table


def statement_lines(
    results: Iterable[RunnerResult],
) -> Iterator[tuple[RunnerResult, ScriptSummary, float | None, StatementSummary]]:
    """Each statement of each script of each runner, in order, with its script's share
    of the runner's measured operations (0.125; None when it measured none)."""
    for r in results:
        total = sum(s.operations for s in r.scripts or ()) or None
        for script in r.scripts or ():
            share = script.operations / total if total else None
            for statement in script.statements:
                yield r, script, share, statement


def write(result: RunResult, console: Console) -> None:
    console.print(build_table(result, console.width))
    console.print(
        "[dim]first op: opening the runner + its first operation (cold start), "
        "not in the other columns[/dim]"
    )
    for line in findings.speedup_lines(result, describe_speedup):
        console.print(literal(line))
    for extra in (statement_rows(result.runners), _pool_rows(result.runners), _worker_rows(result)):
        if extra is not None:
            console.print(extra)
    for line in (server_line(result), memory_line(result)):
        if line:
            console.print(literal(line), style="dim")
    for line in findings.pooler_lines(result):
        console.print(literal(line), style="dim")
    for line in findings.target_findings(result):
        console.print(f"finding: {literal(line)}")
    dialect = result.settings.database.dialect
    for r in result.runners:
        if r.errors:
            kinds = error_kinds(r.errors_by_kind)
            console.print(
                f"[red]{literal(r.runner)}: {r.errors} failed operations: {literal(kinds)}[/red]"
            )
            for line in describe_timeline(r.runner, r.error_timeline, dialect):
                console.print(f"  {literal(line)}", style="dim")
        if r.warmup_errors:
            console.print(
                f"[yellow]{literal(r.runner)}: {r.warmup_errors} failed warm-up operations[/yellow]"
            )
    for note in result.notes:
        console.print(f"[yellow]note:[/yellow] {literal(note)}")
    if result.cluster is not None and result.cluster.lost:
        console.print("[yellow]incomplete: a Dask worker was lost (see the notes)[/yellow]")
    elif not result.complete and not result.stopped:
        console.print("[yellow]interrupted: these results cover only the turns completed[/yellow]")


def projection_line(projection: RunProjection, console: Console) -> None:
    """``run --rtt``'s line under the table (Markdown prints it too)."""
    console.print(literal(projection.describe()), highlight=False)
