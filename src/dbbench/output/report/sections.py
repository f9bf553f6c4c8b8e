"""The report's section per result file: run/compare, sweep, stale, explain, then settings
and environment; each a list of HTML parts, drawn from the typed result (``model``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from dbbench import diffing
from dbbench.engine.timeline import describe as describe_timeline
from dbbench.numbers import error_kinds, us_from_ns
from dbbench.output import calibrate_table, columns, diff_table, findings
from dbbench.output.columns import (
    POOL_COLUMNS,
    REPORT,
    RUNNER_COLUMNS,
    STALE_CASE_COLUMNS,
    TABLE,
    cell_key,
    marked,
    marks,
    shown_in,
)
from dbbench.output.report.charts import Charts, stored_histogram
from dbbench.output.report.tables import (
    DASH,
    Column,
    column_table,
    count,
    escape,
    flatten,
    is_secret,
    ms,
    number,
    overflow,
    percent,
    signed,
    sort_number,
    table,
    yes_no,
)
from dbbench.output.stale_table import NOISE_NOTE, describe_after_idle, timeout_setting
from dbbench.output.table import (
    WORKER_CAPTION,
    WORKER_HEADER,
    cluster_title,
    statement_lines,
    worker_lines,
)
from dbbench.output.target_grid import GRID_CAPTION, target_grid
from dbbench.results.model import (
    CalibrationResult,
    DiffResult,
    Environment,
    Explanation,
    Recommendation,
    Result,
    RunnerExplanation,
    RunnerResult,
    RunResult,
    ServerSummary,
    SettingsSummary,
    SpeedupResult,
    StaleCase,
    StaleResult,
    SweepCell,
    SweepResult,
)
from dbbench.text import shortened

KINDS = {
    "run": "run",
    "compare": "compare",
    "sweep": "pool sweep",
    "stale": "stale connections",
    "explain": "explain: where the time goes",
    "diff": "diff: what changed, and the gate's verdict",
    "calibrate": "calibrate: A/A trials, and the --fail-on limits their noise allows",
}


def kind_of(doc: Result) -> str:
    return KINDS.get(doc.command, f"unknown kind {doc.command!r}")


def document_section(index: int, label: str, doc: Result, charts: Charts) -> str:
    parts = [f'<section id="file-{index}">', f"<h2>{escape(label)}: {escape(kind_of(doc))}</h2>"]
    if doc.complete is False:
        parts.append(
            '<p class="notice">Interrupted before the end ("complete": false): '
            "the results cover what was measured until then.</p>"
        )
    if isinstance(doc, RunResult):
        parts += _run_parts(label, doc, charts)
    elif isinstance(doc, SweepResult):
        parts += _sweep_parts(label, doc, charts)
    elif isinstance(doc, StaleResult):
        parts += _stale_parts(doc)
    elif isinstance(doc, DiffResult):
        parts += _diff_parts(doc)
    elif isinstance(doc, CalibrationResult):
        parts += _calibrate_parts(doc)
    else:
        parts += _explain_parts(doc)
    if not isinstance(doc, DiffResult):  # a diff has no settings of its own: its files do
        parts += _settings_parts(
            None if isinstance(doc, Explanation) else doc.settings, doc.environment
        )
    parts.append("</section>")
    return "\n".join(part for part in parts if part)


def _run_parts(label: str, run: RunResult, charts: Charts) -> list[str]:
    return [
        _run_summary(run),
        f"<p>{escape(run.projection.describe())}.</p>" if run.projection else "",
        charts.cdf([(label, run)], overlay=False),
        fallback_notice([(label, run)]),
        "<h3>Runners</h3>",
        _runner_table(run),
        _errors_list(run.runners, run.settings.database.dialect),
        _statement_table(run.runners),
        _worker_table(run),
        "<h3>What the pool did</h3>",
        _pool_table(run.runners),
        "<h3>What the server saw</h3>",
        _server_tables(run.server),
        _lines("What the pooler saw", findings.pooler_lines(run)),
        _lines("Findings", findings.target_findings(run)),
        _notes(run.notes),
    ]


def _lines(heading: str, lines: Sequence[str]) -> str:
    """A heading and a list of plain-text lines; nothing when there are none."""
    if not lines:
        return ""
    return f"<h3>{escape(heading)}</h3><ul>" + "".join(
        f"<li>{escape(line)}</li>" for line in lines
    ) + "</ul>"


def _run_summary(run: RunResult) -> str:
    benchmark = run.settings.benchmark
    if benchmark.duration_s is not None:
        amount = f"{number(benchmark.duration_s)} s per runner"
    else:
        amount = f"{count(benchmark.iterations)} operations per runner"
    amount += benchmark.repeated
    rate = benchmark.rate_per_s
    loop = f", open loop at {number(rate)} operations/s" if rate else ""
    server = run.environment.server_version or "version not recorded"
    query, workers, processes = (
        "?" if value is None else value
        for value in (benchmark.query, benchmark.concurrency, benchmark.processes)
    )
    return (
        f"<p>Query {escape(repr(query))}: {escape(amount)}, "
        f"{escape(workers)} worker(s) in "
        f"{escape(processes)} process(es){escape(loop)}; "
        f"server {escape(server)}.</p>"
    )


def _runner_table(run: RunResult) -> str:
    speedups = {s.runner: s for s in run.speedups}
    columns: list[Column] = [
        ("runner", lambda r: r.runner),
        *_spec_columns(shown_in(RUNNER_COLUMNS, REPORT)),
        ("vs raw (95% CI)", lambda r: _speedup(speedups.get(r.runner))),
    ]
    return column_table(
        columns,
        run.runners,
        caption="times in milliseconds; ops/s: successful operations per second, all workers; "
        "first op: opening the runner and its first operation, not in the other columns",
    )


def _speedup(speedup: SpeedupResult | None) -> str:
    if speedup is None:
        return "–"
    s = speedup.speedup
    text = f"{s.ratio:.3g}×"
    low, high = s.ci_low, s.ci_high
    if low is None or high is None:
        return text
    basis = f"{s.repetitions} repetitions" if s.repetitions > 1 else "within one run"
    return f"{text} ({low:.3g}–{high:.3g}, {basis})"


def _errors_list(runners: Sequence[RunnerResult], dialect: str | None = None) -> str:
    items = [
        f"<li>{escape(r.runner)}: {escape(kind)} × {count(n)}</li>"
        for r in runners
        for kind, n in sorted(r.errors_by_kind.items())
    ]
    # when they happened, in seconds since the run started (files since the error timeline)
    times = [
        f"<li>{escape(line)}</li>"
        for r in runners
        for line in describe_timeline(r.runner, r.error_timeline, dialect)
    ]
    if not items:
        return ""
    timeline = (
        f"<p>When (seconds since the run started):</p><ul>{''.join(times)}</ul>" if times else ""
    )
    return f"<p>Errors by kind:</p><ul>{''.join(items)}</ul>{timeline}"


def _statement_table(runners: Sequence[RunnerResult]) -> str:
    """A run of scripts: each statement's figures (as the terminal's table under the
    runner table); nothing for a run of one query."""
    rows = [
        [
            r.runner,
            script.script,
            percent(share, 1),
            count(statement.line),
            shortened(statement.sql),
            count(statement.n),
            count(statement.errors),
            *(ms(statement.to_document()[key]) for key in ("mean_us", "p50_us", "p99_us")),
        ]
        for r, script, share, statement in statement_lines(runners)
    ]
    if not rows:
        return ""
    headers = ("runner", "script", "share", "line", "statement", "n", "errors")
    return "<h3>Statements</h3>" + table(
        (*headers, "mean", "p50", "p99"),
        rows,
        caption="each script's statements, as each runner ran them (measured operations); "
        "share: of the runner's operations that ran the script; times in milliseconds",
        text=("runner", "script", "statement"),
    )


def _worker_table(run: RunResult) -> str:
    """A run on a Dask cluster (``--cluster``): each process's worker, host and figures
    (as the terminal's table under the runner table); nothing for another run."""
    title = cluster_title(run)
    if title is None:
        return ""
    return f"<h3>{escape(title)}</h3>" + table(
        WORKER_HEADER,
        worker_lines(run),
        caption=WORKER_CAPTION,
        text=WORKER_HEADER[:5],
    )


def _pool_table(runners: Sequence[RunnerResult]) -> str:
    pooled = [r for r in runners if r.pool is not None]
    if not pooled:
        return "<p>No pool runner in this run.</p>"
    columns: list[Column] = [
        ("runner", lambda r: r.runner),
        *_spec_columns(shown_in(POOL_COLUMNS, REPORT)),
    ]
    return column_table(
        columns,
        pooled,
        caption="from SQLAlchemy's pool events, cold start and warm-up included; checkout: "
        "waiting for a connection (and connecting, pinging), in milliseconds",
    )


def _spec_columns(
    spec: Sequence[columns.Column], runner_of: Callable[[Any], RunnerResult] = lambda r: r
) -> list[Column]:
    """``output.columns`` as the report's columns, read from each item's runner result
    (every value, whatever the number of successes: the report shows what was recorded)."""
    return [(c.header, lambda item, c=c: _text(c, c.get(runner_of(item)))) for c in spec]


def _text(column: columns.Column, value: Any) -> str:
    if column.kind == columns.LATENCY:
        return ms(us_from_ns(value))
    if column.kind == columns.FRACTION:
        return percent(value, 1)
    if column.kind == columns.KINDS:
        return error_kinds(value) or DASH
    return count(value)


def _server_tables(server: ServerSummary | None) -> str:
    if not server:
        return "<p>Not recorded.</p>"
    gauge = server.gauge
    rows = [[f"{name} (change)", signed(value)] for name, value in (server.deltas or {}).items()]
    rows += [
        [f"{gauge.name} before", count(gauge.before)],
        [f"{gauge.name} peak", count(gauge.peak)],
        ["max_connections", count(server.max_connections)],
    ]
    # PostgreSQL's (pg_stat_database); a MySQL file has none of them
    recorded: list[tuple[str, Any, Callable[[Any], str]]] = [
        ("superuser_reserved_connections", server.superuser_reserved_connections, count),
        ("numbackends before", server.numbackends_before, count),
        ("numbackends after", server.numbackends_after, count),
        ("statistics settled", server.stats_settled, yes_no),
    ]
    rows += [[name, show(value)] for name, value, show in recorded if value is not None]
    rows += [
        ["samples", count(server.samples)],
        ["monitor complete", yes_no(server.complete)],
    ]
    if server.error:
        rows.append(["monitor error", server.error])
    memory = server.describe_memory()
    if memory is not None:
        rows.append(["memory per connection", memory.partition("at the peak: ")[2]])
    caption = f"{gauge.source} during the run"
    tables = [table(["server status", "value"], rows, caption=caption)]
    check = server.cross_check
    if check:
        rows = [
            [f"server's {gauge.counter}", count(check.server_connections)],
            ["dbbench opened", count(check.dbbench_connections)],
            *([f"by {runner}", count(n)] for runner, n in (check.by_runner or {}).items()),
            ["matches", yes_no(check.matches)],
        ]
        caption = "the server's count of connections against dbbench's own (its monitor's included)"
        tables.append(table(["cross-check", "connections"], rows, caption=caption))
    return '<div class="side-by-side">' + "".join(tables) + "</div>"


def _notes(notes: Sequence[str] | None) -> str:
    if not notes:
        return ""
    return "<h3>Notes</h3><ul>" + "".join(f"<li>{escape(note)}</li>" for note in notes) + "</ul>"


def _settings_parts(settings: SettingsSummary | None, environment: Environment) -> list[str]:
    """A table per group of settings ([database], [benchmark], [pool], ...) and one of
    the environment, side by side: every entry the file recorded, those of other
    dbbench versions included, so each section is drawn from its whole document."""
    recorded = settings.to_document() if settings is not None else {}
    groups = [("settings", {k: v for k, v in recorded.items() if not isinstance(v, dict)})]
    groups += [(f"[{k}]", v) for k, v in recorded.items() if isinstance(v, dict)]
    groups.append(("environment", environment.to_document()))
    tables = [
        table([name, ""], flatten(values), text=(name, ""))
        for name, values in groups
        if values and not is_secret(name.strip("[]"))
    ]
    if not tables:
        return []
    return ["<h3>Settings and environment</h3>", '<div class="side-by-side">', *tables, "</div>"]


def fallback_notice(runs: Sequence[tuple[str, RunResult]]) -> str:
    """Say which curves are drawn from the stored percentiles only, and why."""
    missing = []
    for label, run in runs:
        runners = [r.runner for r in run.runners if r.n and stored_histogram(r) is None]
        if runners:
            why = (
                f"written with schema version {run.upgraded_from}, which kept no histograms"
                if run.upgraded_from == 1
                else "no histogram stored"
            )
            missing.append(f"{label} ({why}): {', '.join(runners)}")
    if not missing:
        return ""
    return (
        '<p class="notice fallback">No latency histogram in ' + escape("; ".join(missing)) + ". "
        "Those curves (with dots) join the stored percentiles p50, p90, p95, p99, p99.9 "
        "and max: they show those points, not the whole distribution.</p>"
    )


def _sweep_parts(label: str, sweep: SweepResult, charts: Charts) -> list[str]:
    """A sweep's charts and tables; of a sweep of several variants, each variant's in turn,
    under the line that says what it is (its cells ran in the same turns as the others'),
    then every runner on every variant at each point (``output.target_grid``)."""
    parts = []
    for name, part in sweep.parts():
        if name is None:
            return _sweep_part(label, part, charts)
        parts += [f"<h3>{escape(sweep.describe_variant(name))}</h3>"]
        parts += _sweep_part(f"{label}, {name}", part, charts, f"{name}: ")
    grid = target_grid(sweep)
    if grid is not None:
        parts += [
            "<h3>Each runner on each target: mean latency (ms)</h3>",
            table(
                ["runner", "target", *grid.columns],
                [[runner, target, *figures] for runner, target, figures in grid.rows],
                text=("runner", "target"),
            ),
            f"<p>{escape(GRID_CAPTION)}.</p>",
        ]
    return parts


def _sweep_part(label: str, sweep: SweepResult, charts: Charts, prefix: str = "") -> list[str]:
    cells = sorted(sweep.cells, key=lambda item: _cell_order(item[0]))
    if not cells:
        return ["<p>No cell of the grid was run.</p>"]
    grid = [cell for cell, _ in cells]
    recommendations = sweep.recommendations
    return [
        "<p>Each cell runs the pool runner with its own pool; throughput counts successful "
        "operations, all threads together.</p>",
        f"<h3>{escape(prefix)}Against concurrency</h3>",
        charts.sweep(label, grid, x="concurrency", lines=("pool_size", "max_overflow")),
        f"<h3>{escape(prefix)}Against pool size</h3>",
        charts.sweep(label, grid, x="pool_size", lines=("concurrency", "max_overflow")),
        f"<h3>{escape(prefix)}The grid</h3>",
        _sweep_table(grid, recommendations),
        _recommendations_table(recommendations),
        f"<h3>{escape(prefix)}What the pool and the server did, per cell</h3>",
        _sweep_counters_table(cells),
    ]


def _setting_key(item: SweepCell | None) -> tuple[Any, Any]:
    return (None, None) if item is None else (item.pool_size, item.max_overflow)


def _sweep_table(cells: Sequence[SweepCell], recommendations: Sequence[Recommendation]) -> str:
    best, chosen, near = marked(recommendations)

    def throughput(cell: SweepCell) -> str:
        key = cell_key(cell)
        return marks(best=key in best, chosen=key in chosen, near=key in near) + count(
            cell.ops_per_s
        )

    columns: list[Column] = [
        *_cell_columns(lambda c: c),
        ("ops/s", throughput),
        ("p99", lambda c: ms(c.p99_us)),
        ("errors", lambda c: count(c.errors)),
        ("timeouts", lambda c: count(c.timeouts)),
        ("operations", lambda c: count(c.operations)),
    ]
    caption = (
        "★ recommended: the smallest setting close to the best · ▲ highest throughput without "
        "errors · p99 in milliseconds"
    )
    return column_table(columns, cells, caption=caption, text=())


def _cell_columns(cell_of: Callable[[Any], SweepCell]) -> list[Column]:
    return [
        ("concurrency", lambda item: count(cell_of(item).concurrency)),
        ("pool_size", lambda item: count(cell_of(item).pool_size)),
        ("max_overflow", lambda item: overflow(cell_of(item).max_overflow)),
    ]


def _recommendations_table(recommendations: Sequence[Recommendation]) -> str:
    if not recommendations:
        return ""

    def setting(item: SweepCell | None) -> str:
        pool_size, max_overflow = _setting_key(item)
        return f"pool_size={pool_size} max_overflow={overflow(max_overflow)}"

    columns: list[Column] = [
        ("concurrency", lambda r: count(r.concurrency)),
        ("recommended", lambda r: setting(r.chosen)),
        ("best", lambda r: setting(r.best)),
        ("of best", lambda r: percent(r.fraction_of_best, 0)),
        ("rule of thumb", lambda r: r.rule_of_thumb or "–"),
        ("agrees", lambda r: yes_no(r.agrees_with_rule)),
    ]
    caption = (
        "recommended: the smallest setting reaching 95% of the best throughput with no "
        "timeouts and no errors"
    )
    text = ("recommended", "best", "rule of thumb", "agrees")
    return column_table(columns, recommendations, caption=caption, text=text)


#: a sweep cell's pool: as the terminal's pool table, without the timeouts (the grid has them)
_CELL_POOL_COLUMNS = tuple(c for c in shown_in(POOL_COLUMNS, TABLE) if c.key != "timeouts")


def _sweep_counters_table(cells: Sequence[tuple[SweepCell, RunResult]]) -> str:
    items = [(cell, run, runner) for cell, run in cells for runner in run.runners]

    def server(item: tuple[SweepCell, RunResult, RunnerResult]) -> ServerSummary:
        return item[1].server or ServerSummary()

    def new_connections(item: tuple[SweepCell, RunResult, RunnerResult]) -> int | None:
        summary = server(item)
        return (summary.deltas or {}).get(summary.gauge.counter)

    def matches(item: tuple[SweepCell, RunResult, RunnerResult]) -> bool | None:
        check = server(item).cross_check
        return check.matches if check is not None else None

    # one server watched the whole sweep: its words head the columns
    gauge = server(items[0]).gauge if items else ServerSummary().gauge

    columns: list[Column] = [
        *_cell_columns(lambda item: item[0]),
        ("runner", lambda item: item[2].runner),
        *_spec_columns(_CELL_POOL_COLUMNS, lambda item: item[2]),
        (f"server {gauge.counter}", lambda item: signed(new_connections(item))),
        (f"{gauge.name} peak", lambda item: count(server(item).gauge.peak)),
        ("cross-check", lambda item: yes_no(matches(item))),
    ]
    caption = (
        f"checkout times in milliseconds; server {gauge.counter}: its change during the cell"
    )
    return column_table(columns, items, caption=caption, text=("runner",))


def _cell_order(cell: SweepCell) -> tuple[float, float, float]:
    return (
        sort_number(cell.concurrency),
        sort_number(cell.pool_size),
        sort_number(cell.max_overflow),
    )


def _kinds_first(column: columns.Column) -> bool:
    return column.kind != columns.KINDS


def _stale_parts(stale: StaleResult) -> list[str]:
    def protection(case: StaleCase) -> str:
        name, recycle_s = case.protection, case.pool_settings.pool_recycle_s
        if name == "recycle" and recycle_s is not None:
            return f"pool_recycle={number(recycle_s)}s"
        return "pool_pre_ping" if name == "pre_ping" else str(name)

    # errors by kind beside the protection: the report has the width for it
    spec = sorted(shown_in(STALE_CASE_COLUMNS, REPORT), key=_kinds_first)
    table_columns: list[Column] = [("protection", protection), *_spec_columns(spec)]
    caption = (
        "times in milliseconds; first op: the first request after the idle period; baseline: "
        "the same pool before it sat idle; connects: physical connections in the whole case"
    )
    return [
        f"<p>Server {escape(timeout_setting(stale))} {escape(number(stale.wait_timeout_s))} s; "
        "each pool sat idle "
        f"{escape(number(stale.idle_s))} s, then ran its operations one at a time.</p>",
        column_table(
            table_columns, stale.cases, caption=caption, text=("protection", "errors by kind")
        ),
        "<ul>"
        + "".join(f"<li>{escape(describe_after_idle(case))}</li>" for case in stale.cases)
        + f"</ul><p>{escape(NOISE_NOTE)}</p>",
    ]


def _explain_parts(explanation: Explanation) -> list[str]:
    """Each runner's phases (median, p95, share, round trips), then the findings."""
    rtt_s = explanation.rtt_s
    database = explanation.database
    parts = [
        f"<p>{escape(explanation.driver)} to {escape(database.login(DASH))}, "
        f"{escape(explanation.environment.server_version or 'version not recorded')}; "
        f"query <code>{escape(explanation.query)}</code>; pool "
        f"{escape(explanation.pool)}"
        + (f"; projected at RTT {escape(number(rtt_s * 1e3))} ms" if rtt_s else "")
        + ".</p>"
    ]
    for runner in explanation.runners:
        parts += [
            f"<h3>{escape(runner.runner)}: {escape(runner.operation)} "
            f"({count(runner.iterations)} operations)</h3>",
            _phase_table(runner, rtt_s),
        ]
    if explanation.findings:
        parts.append(
            "<h3>Findings</h3><ul>"
            + "".join(f"<li>{escape(finding)}</li>" for finding in explanation.findings)
            + "</ul>"
        )
    return parts


def _phase_table(runner: RunnerExplanation, rtt_s: float | None) -> str:
    def ms_ns(value_ns: float | None) -> str:
        return ms(None if value_ns is None else value_ns / 1000)

    whole = runner.whole_median_ns
    rows = [
        [
            p.name,
            ms_ns(p.median_ns),
            ms_ns(p.p95_ns),
            percent(runner.share(p)),
            count(p.round_trips),
            p.description,
        ]
        for p in runner.phases
    ]
    rows += [
        [
            "sum of phases",
            ms_ns(runner.phases_median_ns),
            "",
            percent(runner.phases_median_ns / whole if whole else None),
            count(runner.round_trips),
            "medians added",
        ],
        [
            "whole operation",
            ms_ns(whole),
            ms_ns(runner.whole_p95_ns),
            "100%",
            "",
            "as dbbench run times it, uninstrumented",
        ],
    ]
    if rtt_s:
        rows.append(
            [
                f"at RTT {number(rtt_s * 1e3)} ms",
                ms_ns(runner.projected_ns(rtt_s * 1e9)),
                "",
                "",
                count(runner.round_trips),
                "median + round trips × RTT",
            ]
        )
    caption = (
        "times in milliseconds; share: of the whole operation's median; round trips counted "
        "on the wire"
    )
    headers = ["phase", "median", "p95", "share", "round trips", "what it is"]
    return table(headers, rows, caption=caption, text=("phase", "what it is"))


def _diff_parts(result: DiffResult) -> list[str]:
    """The comparison (a table per runner, or cell), what was not compared, the caveats,
    the thresholds tripped and the gate's verdict: what ``dbbench diff`` printed."""
    base, new = result.base_label, result.new_label
    trips = result.verdict.trips
    parts = [f"<p>base: <code>{escape(base)}</code>; new: <code>{escape(new)}</code>.</p>"]
    for diff in result.diffs:
        if not diff.changes:
            continue
        tripped = {t.change.metric for t in trips if t.diff is diff}
        rows = [
            [
                f"✗ {c.metric}" if c.metric in tripped else c.metric,
                diff_table.format_value(c.metric, c.base),
                diff_table.format_value(c.metric, c.new),
                diff_table.format_change(c.change),
                diff_table.describe_noise(c),
            ]
            for c in diff.changes
        ]
        parts += [
            f"<h3>{escape(diff.label)}</h3>",
            table(
                ["metric", base, new, "change", "beyond noise?"],
                rows,
                text=("metric", "beyond noise?"),
            ),
        ]
    parts.append(f"<p>{escape(diff_table.LEGEND)}</p>")
    lines = diff_table.only_in_lines(result.diffs, base, new)
    lines += [f"note: {caveat}" for caveat in result.caveats]
    within = diff_table.within_run_line(result.diffs, result.thresholds)
    lines += [within] if within else []
    lines += [f"⚠ {diff_table.describe_warning(trip)}" for trip in result.verdict.warnings]
    lines += [f"✗ {diff_table.describe_trip(trip)}" for trip in trips]
    if lines:
        parts.append("<ul>" + "".join(f"<li>{escape(line)}</li>" for line in lines) + "</ul>")
    verdict = [diff_table.verdict(trips, result.thresholds)]
    verdict += [line for line in [result.verdict.lacking_line(base, new)] if line]
    css = ' class="notice"' if result.verdict.failed else ""
    parts.append(f"<p{css}><strong>{'<br>'.join(escape(v) for v in verdict)}</strong></p>")
    return parts


def _calibrate_parts(result: CalibrationResult) -> list[str]:
    """What ``dbbench calibrate`` printed: each trial's changes, the limits, the suggestion
    and what the trials vouch for (``calibrate_table``'s words)."""
    parts = [f"<p>{escape(calibrate_table.title(result))}</p>"]
    if result.trials:
        head = ["trial", "runner", *diffing.METRICS]
        parts.append(table(head, calibrate_table.trial_rows(result), text=("runner",)))
        rows = [calibrate_table.calibration_row(row) for row in result.calibrations]
        parts.append(table(list(calibrate_table.HEADER), rows, text=("runner", "metric")))
    suggestion = calibrate_table.suggestion_line(result)
    if suggestion:
        parts.append(f"<p><strong>{escape(suggestion)}</strong></p>")
    lines = calibrate_table.notes(result)
    parts.append("<ul>" + "".join(f"<li>{escape(line)}</li>" for line in lines) + "</ul>")
    return parts
