"""The HTML report: one self-contained page of charts and tables from result files.

``dbbench report FILE... -o report.html`` reads result documents (run,
compare, sweep, stale; older schema versions upgraded by ``resultfile.load``)
and writes one page that opens anywhere with no network: the charts are SVG
drawn by matplotlib and inlined, the style sheet is inline, and there is no
script and no reference to anything outside the file (a Content-Security-Policy
of ``default-src 'none'`` says so to the browser too).

- run/compare: each runner's latency CDF, from the stored HdrHistograms (files
  without them, upgraded from schema 1, fall back to the stored percentiles,
  and the page says so); the runners' statistics, what the pool did, what the
  server saw; settings and environment.
- sweep: throughput and p99 against concurrency (one line per pool setting)
  and against pool size (one line per concurrency and max_overflow); the grid,
  the recommendations, each cell's pool and server counters.
- stale: the cases.
- more than one run document: one more CDF with all of them overlaid.

matplotlib is an optional dependency (``pip install 'dbbench[report]'``). It
is used without pyplot (no global figure registry, no backend switch), its
settings are changed only inside ``rc_context``, and its SVG ids come from a
fixed salt, so the same files give the same page, byte for byte. Chart text is
drawn as paths from the DejaVu Sans that matplotlib ships: the charts look the
same in every browser, whatever fonts it has.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import functools
import html
import io
import math
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

from dbbench import resultfile
from dbbench.errors import ConfigError, DbbenchError
from dbbench.histogram import LatencyHistogram
from dbbench.output import numbers
from dbbench.timeline import describe as describe_timeline

INSTALL_HINT = "pip install 'dbbench[report]'"
DASH = "–"

#: the percentiles a document keeps beside its histogram: the fallback curve
PERCENTILE_KEYS = (
    ("p50_us", 0.5),
    ("p90_us", 0.9),
    ("p95_us", 0.95),
    ("p99_us", 0.99),
    ("p999_us", 0.999),
    ("max_us", 1.0),
)
#: points a CDF keeps across the chart's width, at most: about one per point of the SVG
CDF_POINTS = 500

#: one colour per runner, the same in every chart of the page
RUNNER_COLOURS = {
    "raw": "#d62728",
    "pool": "#1f77b4",
    "persistent": "#2ca02c",
    "nullpool": "#ff7f0e",
    "async-pool": "#9467bd",
}
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
LINESTYLES = ("-", "--", "-.", ":")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")

_RC = {
    "svg.fonttype": "path",
    # a fixed salt: clip-path and marker ids stay the same from run to run
    "svg.hashsalt": "dbbench-report",
    "font.family": "DejaVu Sans",
    "font.size": 9.0,
    # file and runner names are text, never mathtext or TeX
    "text.parse_math": False,
    "text.usetex": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "legend.frameon": False,
    "legend.fontsize": 8.0,
    "lines.linewidth": 1.6,
}


class ReportError(DbbenchError):
    """The report cannot be made: matplotlib is missing, or the page cannot be written."""


def require_matplotlib() -> ModuleType:
    """matplotlib, or a one-line error saying how to install it.

    Exit status 1 (could not run), not 2 (bad input): nothing the user typed is
    wrong; the installation lacks an optional part, like a missing server.
    """
    try:
        import matplotlib
        import matplotlib.backends.backend_svg
        import matplotlib.figure
        import matplotlib.ticker  # noqa: F401
    except ImportError:
        raise ReportError(
            f"the HTML report needs matplotlib, which is not installed: {INSTALL_HINT}"
        ) from None
    return matplotlib


# --- the page ----------------------------------------------------------------


def build_report(documents: list[tuple[str, dict[str, Any]]]) -> str:
    """The HTML page for ``documents``: (label, upgraded result document) pairs."""
    if not documents:
        raise ValueError("build_report needs at least one document")
    charts = _Charts(require_matplotlib())
    body = ["<header>", "<h1>dbbench report</h1>", _files_table(documents), "</header>"]
    runs = [(label, doc) for label, doc in documents if doc.get("command") in ("run", "compare")]
    if len(runs) > 1:
        body += [
            '<section id="all-runs">',
            "<h2>All runs: latency distributions</h2>",
            "<p>Colour: the runner; line style: the file.</p>",
            charts.cdf(runs, overlay=True),
            _fallback_notice(runs),
            "</section>",
        ]
    for index, (label, doc) in enumerate(documents, start=1):
        body.append(_document_section(index, label, doc, charts))
    body.append(f"<footer>made by dbbench {_e(_own_version())}; this page fetches nothing</footer>")
    title = "dbbench report: " + ", ".join(label for label, _ in documents)
    head = [
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # the browser refuses any fetch, should a later change ever add one
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        f"<title>{_e(title)}</title>",
        f"<style>\n{_CSS}\n</style>",
    ]
    page = ["<!DOCTYPE html>", '<html lang="en">', "<head>", *head, "</head>", "<body>"]
    return "\n".join([*page, *(part for part in body if part), "</body>", "</html>", ""])


def write_report(paths: list[Path], output: Path) -> None:
    """Read the result files at ``paths`` and write their report to ``output``, atomically."""
    require_matplotlib()  # before reading anything: one line, not a traceback later
    if not paths:
        raise ConfigError("no result files given; name one or more, e.g. dbbench report run.json")
    output = Path(output)
    for path in paths:
        if Path(path).resolve() == output.resolve():
            raise ConfigError(
                f"the output {output} is also a result file to read, and would be overwritten; "
                "name another output file"
            )
    labels = _labels(paths)
    documents = [(label, resultfile.load(path)) for label, path in zip(labels, paths, strict=True)]
    resultfile.write_text_atomic(output, build_report(documents), "the report")


def _labels(paths: Sequence[Path]) -> list[str]:
    """File names, or the paths as given where two files share a name."""
    names = [Path(path).name for path in paths]
    return [n if names.count(n) == 1 else str(p) for n, p in zip(names, paths, strict=True)]


def _own_version() -> str:
    try:
        return metadata.version("dbbench")
    except metadata.PackageNotFoundError:
        return "(version unknown)"


# --- sections ----------------------------------------------------------------

KINDS = {"run": "run", "compare": "compare", "sweep": "pool sweep", "stale": "stale connections"}


def _kind(doc: dict[str, Any]) -> str:
    return KINDS.get(doc.get("command"), f"unknown kind {doc.get('command')!r}")


def _document_section(index: int, label: str, doc: dict[str, Any], charts: _Charts) -> str:
    command = doc.get("command")
    parts = [f'<section id="file-{index}">', f"<h2>{_e(label)}: {_e(_kind(doc))}</h2>"]
    if doc.get("complete") is False:
        parts.append(
            '<p class="notice">Interrupted before the end ("complete": false): '
            "the results cover what was measured until then.</p>"
        )
    if command in ("run", "compare"):
        parts += _run_parts(label, doc, charts)
    elif command == "sweep":
        parts += _sweep_parts(label, doc, charts)
    elif command == "stale":
        parts += _stale_parts(doc)
    else:
        parts.append(
            f'<p class="notice">A result of kind {_e(repr(command))}, which this report cannot '
            "show; its settings and environment follow.</p>"
        )
    parts += _settings_parts(doc)
    parts.append("</section>")
    return "\n".join(part for part in parts if part)


def _files_table(documents: Sequence[tuple[str, dict[str, Any]]]) -> str:
    def schema(doc: dict[str, Any]) -> str:
        text = str(doc.get("schema_version", "?"))
        upgraded = doc.get("upgraded_from")
        return text if upgraded is None else f"{text} (upgraded from {upgraded})"

    def complete(doc: dict[str, Any]) -> str:
        value = doc.get("complete")
        return "not recorded" if value is None else ("yes" if value else "no (interrupted)")

    items = list(enumerate(documents, start=1))
    columns: list[Column] = [
        ("file", lambda item: _Html(f'<a href="#file-{item[0]}">{_e(item[1][0])}</a>')),
        ("kind", lambda item: _kind(item[1][1])),
        ("started (UTC)", lambda item: _when(item[1][1].get("started_at"))),
        ("finished (UTC)", lambda item: _when(item[1][1].get("finished_at"))),
        ("dbbench", lambda item: _at(item[1][1], "environment", "dbbench") or "not recorded"),
        ("schema", lambda item: schema(item[1][1])),
        ("complete", lambda item: complete(item[1][1])),
    ]
    return _column_table(columns, items, text=[name for name, _ in columns])


def _run_parts(label: str, doc: dict[str, Any], charts: _Charts) -> list[str]:
    results = doc.get("results") or []
    return [
        _run_summary(doc),
        charts.cdf([(label, doc)], overlay=False),
        _fallback_notice([(label, doc)]),
        "<h3>Runners</h3>",
        _runner_table(doc),
        _errors_list(results),
        "<h3>What the pool did</h3>",
        _pool_table(results),
        "<h3>What the server saw</h3>",
        _server_tables(doc.get("server")),
        _notes(doc.get("notes")),
    ]


def _run_summary(doc: dict[str, Any]) -> str:
    benchmark = _at(doc, "settings", "benchmark") or {}
    if benchmark.get("duration_s") is not None:
        amount = f"{_number(benchmark['duration_s'])} s per runner"
    else:
        amount = f"{_count(benchmark.get('iterations'))} operations per runner"
    rate = benchmark.get("rate_per_s")
    loop = f", open loop at {_number(rate)} operations/s" if rate else ""
    server = _at(doc, "environment", "server_version") or "version not recorded"
    return (
        f"<p>Query {_e(repr(benchmark.get('query', '?')))}: {_e(amount)}, "
        f"{_e(benchmark.get('concurrency', '?'))} worker(s) in "
        f"{_e(benchmark.get('processes', '?'))} process(es){_e(loop)}; server {_e(server)}.</p>"
    )


def _runner_table(doc: dict[str, Any]) -> str:
    speedups = {s.get("runner"): s for s in doc.get("speedups") or []}
    columns: list[Column] = [
        ("runner", lambda r: r.get("runner")),
        ("n", lambda r: _count(r.get("n"))),
        ("errors", lambda r: _count(r.get("errors"))),
        ("mean", lambda r: _ms(r.get("mean_us"))),
        ("± σ", lambda r: _ms(r.get("stddev_us"))),
        ("p50", lambda r: _ms(r.get("p50_us"))),
        ("p90", lambda r: _ms(r.get("p90_us"))),
        ("p99", lambda r: _ms(r.get("p99_us"))),
        ("p99.9", lambda r: _ms(r.get("p999_us"))),
        ("max", lambda r: _ms(r.get("max_us"))),
        ("ops/s", lambda r: _count(r.get("ops_per_s"))),
        ("first op", lambda r: _ms(r.get("first_op_us"))),
        ("vs raw (95% CI)", lambda r: _speedup(speedups.get(r.get("runner")))),
    ]
    return _column_table(
        columns,
        doc.get("results") or [],
        caption="times in milliseconds; ops/s: successful operations per second, all workers; "
        "first op: opening the runner and its first operation, not in the other columns",
    )


def _speedup(speedup: dict[str, Any] | None) -> str:
    if not speedup or speedup.get("ratio") is None:
        return "–"
    text = f"{speedup['ratio']:.3g}×"
    low, high = speedup.get("ci_low"), speedup.get("ci_high")
    return text if low is None or high is None else f"{text} ({low:.3g}–{high:.3g})"


def _errors_list(results: Iterable[dict[str, Any]]) -> str:
    results = list(results)
    items = [
        f"<li>{_e(r.get('runner'))}: {_e(kind)} × {_count(count)}</li>"
        for r in results
        for kind, count in sorted((r.get("errors_by_kind") or {}).items())
    ]
    # when they happened, in seconds since the run started (files since the error timeline)
    when = [
        f"<li>{_e(line)}</li>"
        for r in results
        for line in describe_timeline(str(r.get("runner")), r.get("error_timeline"))
    ]
    if not items:
        return ""
    timeline = (
        f"<p>When (seconds since the run started):</p><ul>{''.join(when)}</ul>" if when else ""
    )
    return f"<p>Errors by kind:</p><ul>{''.join(items)}</ul>{timeline}"


def _pool_table(results: Iterable[dict[str, Any]]) -> str:
    pooled = [r for r in results if r.get("pool") is not None]
    if not pooled:
        return "<p>No pool runner in this run.</p>"
    columns: list[Column] = [
        ("runner", lambda r: r.get("runner")),
        *_checkout_columns(lambda r: r),
        ("timeouts", lambda r: _count(_at(r, "errors_by_kind", "TimeoutError") or 0)),
        ("connects", lambda r: _count(_at(r, "pool", "connects"))),
        ("closes", lambda r: _count(_at(r, "pool", "closes"))),
        ("checkouts", lambda r: _count(_at(r, "pool", "checkouts"))),
        ("checkins", lambda r: _count(_at(r, "pool", "checkins"))),
        ("invalidated", lambda r: _count(_at(r, "pool", "invalidations"))),
        ("peak out", lambda r: _count(_at(r, "pool", "peak_checked_out"))),
    ]
    return _column_table(
        columns,
        pooled,
        caption="from SQLAlchemy's pool events, cold start and warm-up included; checkout: "
        "waiting for a connection (and connecting, pinging), in milliseconds",
    )


def _checkout_columns(runner_of: Callable[[Any], dict[str, Any]]) -> list[Column]:
    return [
        (f"checkout {name}", lambda item, key=key: _ms(_at(runner_of(item), "checkout", key)))
        for name, key in (("p50", "p50_us"), ("p99", "p99_us"), ("max", "max_us"))
    ]


def _server_tables(server: dict[str, Any] | None) -> str:
    if not server:
        return "<p>Not recorded.</p>"
    rows = [
        [f"{name} (change)", _signed(value)] for name, value in (server.get("deltas") or {}).items()
    ]
    rows += [
        ["Threads_connected before", _count(server.get("threads_connected_before"))],
        ["Threads_connected peak", _count(server.get("threads_connected_peak"))],
        ["max_connections", _count(server.get("max_connections"))],
        ["samples", _count(server.get("samples"))],
        ["monitor complete", _yes_no(server.get("complete"))],
    ]
    if server.get("error"):
        rows.append(["monitor error", server["error"]])
    tables = [_table(["server status", "value"], rows, caption="SHOW GLOBAL STATUS during the run")]
    check = server.get("cross_check")
    if check:
        rows = [
            ["server's Connections", _count(check.get("server_connections"))],
            ["dbbench opened", _count(check.get("dbbench_connections"))],
            *([f"by {runner}", _count(n)] for runner, n in (check.get("by_runner") or {}).items()),
            ["matches", _yes_no(check.get("matches"))],
        ]
        caption = "the server's count of connections against dbbench's own (its monitor's included)"
        tables.append(_table(["cross-check", "connections"], rows, caption=caption))
    return '<div class="side-by-side">' + "".join(tables) + "</div>"


def _notes(notes: Sequence[str] | None) -> str:
    if not notes:
        return ""
    return "<h3>Notes</h3><ul>" + "".join(f"<li>{_e(note)}</li>" for note in notes) + "</ul>"


def _settings_parts(doc: dict[str, Any]) -> list[str]:
    """A table per group of settings ([database], [benchmark], [pool], ...) and one of
    the environment, side by side."""
    settings, environment = doc.get("settings") or {}, doc.get("environment") or {}
    groups = [("settings", {k: v for k, v in settings.items() if not isinstance(v, dict)})]
    groups += [(f"[{k}]", v) for k, v in settings.items() if isinstance(v, dict)]
    groups.append(("environment", environment))
    tables = [
        _table([name, ""], _flatten(values), text=(name, ""))
        for name, values in groups
        if values and not is_secret(name.strip("[]"))
    ]
    if not tables:
        return []
    return ["<h3>Settings and environment</h3>", '<div class="side-by-side">', *tables, "</div>"]


def _fallback_notice(runs: Sequence[tuple[str, dict[str, Any]]]) -> str:
    """Say which curves are drawn from the stored percentiles only, and why."""
    missing = []
    for label, doc in runs:
        runners = [
            str(r.get("runner"))
            for r in doc.get("results") or []
            if r.get("n") and _histogram(r) is None
        ]
        if runners:
            why = (
                f"written with schema version {doc['upgraded_from']}, which kept no histograms"
                if doc.get("upgraded_from") is not None
                else "no histogram stored"
            )
            missing.append(f"{label} ({why}): {', '.join(runners)}")
    if not missing:
        return ""
    return (
        '<p class="notice fallback">No latency histogram in ' + _e("; ".join(missing)) + ". "
        "Those curves (with dots) join the stored percentiles p50, p90, p95, p99, p99.9 "
        "and max: they show those points, not the whole distribution.</p>"
    )


def _sweep_parts(label: str, doc: dict[str, Any], charts: _Charts) -> list[str]:
    cells = sorted(doc.get("cells") or [], key=_cell_order)
    if not cells:
        return ["<p>No cell of the grid was run.</p>"]
    recommendations = doc.get("recommendations") or []
    return [
        "<p>Each cell runs the pool runner with its own pool; throughput counts successful "
        "operations, all threads together.</p>",
        "<h3>Against concurrency</h3>",
        charts.sweep(label, cells, x="concurrency", lines=("pool_size", "max_overflow")),
        "<h3>Against pool size</h3>",
        charts.sweep(label, cells, x="pool_size", lines=("concurrency", "max_overflow")),
        "<h3>The grid</h3>",
        _sweep_table(cells, recommendations),
        _recommendations_table(recommendations),
        "<h3>What the pool and the server did, per cell</h3>",
        _sweep_counters_table(cells),
    ]


def _setting_key(item: dict[str, Any] | None) -> tuple[Any, Any]:
    return (_at(item, "pool_size"), _at(item, "max_overflow"))


def _sweep_table(cells: Sequence[dict[str, Any]], recommendations: Sequence[dict]) -> str:
    chosen = {(r.get("concurrency"), _setting_key(r.get("chosen"))) for r in recommendations}
    best = {(r.get("concurrency"), _setting_key(r.get("best"))) for r in recommendations}

    def throughput(cell: dict[str, Any]) -> str:
        key = (cell.get("concurrency"), _setting_key(cell))
        marks = ("★ " if key in chosen else "") + ("▲ " if key in best else "")
        return marks + _count(cell.get("ops_per_s"))

    columns: list[Column] = [
        *_cell_columns(lambda c: c),
        ("ops/s", throughput),
        ("p99", lambda c: _ms(c.get("p99_us"))),
        ("errors", lambda c: _count(c.get("errors"))),
        ("timeouts", lambda c: _count(c.get("timeouts"))),
        ("operations", lambda c: _count(c.get("operations"))),
    ]
    caption = (
        "★ recommended: the smallest setting close to the best · ▲ highest throughput without "
        "errors · p99 in milliseconds"
    )
    return _column_table(columns, cells, caption=caption, text=())


def _cell_columns(cell_of: Callable[[Any], dict[str, Any]]) -> list[Column]:
    return [
        ("concurrency", lambda item: _count(cell_of(item).get("concurrency"))),
        ("pool_size", lambda item: _count(cell_of(item).get("pool_size"))),
        ("max_overflow", lambda item: _overflow(cell_of(item).get("max_overflow"))),
    ]


def _recommendations_table(recommendations: Sequence[dict[str, Any]]) -> str:
    if not recommendations:
        return ""

    def setting(item: dict[str, Any] | None) -> str:
        pool_size, max_overflow = _setting_key(item)
        return f"pool_size={pool_size} max_overflow={_overflow(max_overflow)}"

    columns: list[Column] = [
        ("concurrency", lambda r: _count(r.get("concurrency"))),
        ("recommended", lambda r: setting(r.get("chosen"))),
        ("best", lambda r: setting(r.get("best"))),
        ("of best", lambda r: _percent(r.get("fraction_of_best"), 0)),
        ("rule of thumb", lambda r: r.get("rule_of_thumb") or "–"),
        ("agrees", lambda r: _yes_no(r.get("agrees_with_rule"))),
    ]
    caption = (
        "recommended: the smallest setting reaching 95% of the best throughput with no "
        "timeouts and no errors"
    )
    text = ("recommended", "best", "rule of thumb", "agrees")
    return _column_table(columns, recommendations, caption=caption, text=text)


def _sweep_counters_table(cells: Sequence[dict[str, Any]]) -> str:
    items = [(cell, runner) for cell in cells for runner in _at(cell, "result", "results") or []]

    def server(item: tuple[dict[str, Any], dict[str, Any]], *keys: str) -> Any:
        return _at(item[0], "result", "server", *keys)

    columns: list[Column] = [
        *_cell_columns(lambda item: item[0]),
        ("runner", lambda item: item[1].get("runner")),
        *_checkout_columns(lambda item: item[1]),
        ("connects", lambda item: _count(_at(item[1], "pool", "connects"))),
        ("closes", lambda item: _count(_at(item[1], "pool", "closes"))),
        ("invalidated", lambda item: _count(_at(item[1], "pool", "invalidations"))),
        ("peak out", lambda item: _count(_at(item[1], "pool", "peak_checked_out"))),
        ("server Connections", lambda item: _signed(server(item, "deltas", "Connections"))),
        ("Threads_connected peak", lambda item: _count(server(item, "threads_connected_peak"))),
        ("cross-check", lambda item: _yes_no(server(item, "cross_check", "matches"))),
    ]
    caption = "checkout times in milliseconds; server Connections: its change during the cell"
    return _column_table(columns, items, caption=caption, text=("runner",))


def _cell_order(cell: dict[str, Any]) -> tuple[float, float, float]:
    return (
        _sort_number(cell.get("concurrency")),
        _sort_number(cell.get("pool_size")),
        _sort_number(cell.get("max_overflow")),
    )


def _sort_number(value: Any) -> float:
    """For ordering: numbers as they are, max_overflow -1 (no limit) and missing values last."""
    if isinstance(value, int | float) and value >= 0:
        return value
    return math.inf


def _stale_parts(doc: dict[str, Any]) -> list[str]:
    def protection(case: dict[str, Any]) -> str:
        name, recycle_s = case.get("protection"), _at(case, "pool_settings", "pool_recycle_s")
        if name == "recycle" and recycle_s is not None:
            return f"pool_recycle={_number(recycle_s)}s"
        return "pool_pre_ping" if name == "pre_ping" else str(name)

    def kinds(case: dict[str, Any]) -> str:
        counts = sorted((case.get("errors_by_kind") or {}).items())
        return ", ".join(f"{kind} × {count}" for kind, count in counts) or "–"

    columns: list[Column] = [
        ("protection", protection),
        ("errors by kind", kinds),
        ("operations", lambda c: _count(c.get("operations"))),
        ("errors", lambda c: _count(c.get("errors"))),
        ("error rate", lambda c: _percent(c.get("error_rate"), 1)),
        ("first op", lambda c: _ms(c.get("first_latency_us"))),
        ("mean", lambda c: _ms(_at(c, "latency", "mean_us"))),
        ("p99", lambda c: _ms(_at(c, "latency", "p99_us"))),
        ("baseline mean", lambda c: _ms(_at(c, "baseline", "mean_us"))),
        ("connects", lambda c: _count(_at(c, "pool_counters", "connects"))),
        ("invalidated", lambda c: _count(_at(c, "pool_counters", "invalidations"))),
    ]
    caption = (
        "times in milliseconds; first op: the first request after the idle period; baseline: "
        "the same pool before it sat idle; connects: physical connections in the whole case"
    )
    cases = doc.get("cases") or []
    return [
        f"<p>Server wait_timeout {_e(_number(doc.get('wait_timeout_s')))} s; each pool sat idle "
        f"{_e(_number(doc.get('idle_s')))} s, then ran its operations one at a time.</p>",
        _column_table(columns, cases, caption=caption, text=("protection", "errors by kind")),
    ]


# --- charts ------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Curve:
    label: str
    colour: str
    linestyle: str
    x_ms: list[float]
    fraction: list[float]
    #: False: only the stored percentiles (no histogram)
    exact: bool


def _histogram(runner: dict[str, Any]) -> LatencyHistogram | None:
    data = _at(runner, "histograms", "latency")
    if not data or not data.get("count"):
        return None
    return LatencyHistogram.from_dict(data)


def cdf_points(runner: dict[str, Any]) -> tuple[list[float], list[float], bool] | None:
    """(latency in ms, fraction of operations at or below it, exact) for one runner's result.

    From its histogram, one point per bucket; without one, the stored
    percentiles p50 to max (exact is then False); None with no successful operation.
    """
    histogram = _histogram(runner)
    if histogram is not None:
        xs, ys, seen = [], [], 0
        for value_ns, count in histogram.buckets():
            seen += count
            # a bucket's top may lie a little (0.1%) past the exact extremes
            xs.append(min(max(value_ns, histogram.min_ns), histogram.max_ns) / 1e6)
            ys.append(seen / histogram.count)
        return xs, ys, True
    points = [
        (runner[key] / 1000, fraction)
        for key, fraction in PERCENTILE_KEYS
        if isinstance(runner.get(key), int | float) and runner[key] > 0
    ]
    if not points:
        return None
    return [x for x, _ in points], [y for _, y in points], False


def thin(xs: Sequence[float], ys: Sequence[float], resolution: float) -> tuple[list, list]:
    """Drop the points of a step curve closer than ``resolution`` (log10 units) to the
    point kept before them: closer than the chart can show, and each costs SVG text.
    The first and last points stay; every kept point keeps its exact fraction."""
    kept_x, kept_y = [xs[0]], [ys[0]]
    last_log = math.log10(xs[0])
    for index in range(1, len(xs)):
        x_log = math.log10(xs[index])
        if x_log - last_log >= resolution or index == len(xs) - 1:
            kept_x.append(xs[index])
            kept_y.append(ys[index])
            last_log = x_log
    return kept_x, kept_y


class _Charts:
    """Draws the page's charts as inline SVG elements, each with ids of its own."""

    def __init__(self, matplotlib: ModuleType) -> None:
        self._mpl = matplotlib
        self._drawn = 0
        self._other_runners: list[str] = []

    @contextlib.contextmanager
    def _figure(self, width_in: float, height_in: float) -> Iterator[Any]:
        from matplotlib.figure import Figure

        with self._mpl.rc_context(_RC):
            yield Figure(figsize=(width_in, height_in), layout="constrained")

    def _svg(self, figure: Any, title: str) -> str:
        """The figure as a <figure> element; call inside ``_figure``."""
        from matplotlib.backends.backend_svg import FigureCanvasSVG

        self._drawn += 1
        FigureCanvasSVG(figure)
        buffer = io.StringIO()
        # no metadata: no date (same bytes every time), no namespace but SVG's own
        no_metadata = {"Date": None, "Creator": None, "Format": None, "Type": None}
        figure.savefig(buffer, format="svg", metadata=no_metadata)
        svg = inline_svg(buffer.getvalue(), f"chart{self._drawn}", title)
        return f"<figure>{svg}<figcaption>{_e(title)}</figcaption></figure>"

    def _colour(self, runner: str) -> str:
        if runner in RUNNER_COLOURS:
            return RUNNER_COLOURS[runner]
        if runner not in self._other_runners:
            self._other_runners.append(runner)
        unused = [c for c in PALETTE if c not in RUNNER_COLOURS.values()]
        return unused[self._other_runners.index(runner) % len(unused)]

    def cdf(self, runs: Sequence[tuple[str, dict[str, Any]]], *, overlay: bool) -> str:
        """Latency CDFs: one line per runner of each run; ``overlay``: files told apart by style."""
        curves = []
        for file_index, (label, doc) in enumerate(runs):
            for runner in doc.get("results") or []:
                points = cdf_points(runner)
                if points is None:
                    continue
                name = str(runner.get("runner"))
                style = LINESTYLES[file_index % len(LINESTYLES)] if overlay else "-"
                curve_label = f"{name} · {label}" if overlay else name
                curves.append(_Curve(curve_label, self._colour(name), style, *points))
        if not curves:
            return '<p class="notice">No runner has successful operations to draw.</p>'
        low = min(x for c in curves for x in c.x_ms)
        high = max(x for c in curves for x in c.x_ms)
        resolution = math.log10(high / low) / CDF_POINTS
        title = "Latency CDF, all runs" if overlay else f"Latency CDF per runner, {runs[0][0]}"
        with self._figure(8.0, 4.6 if overlay else 4.2) as figure:
            ax = figure.add_subplot()
            for curve in curves:
                if curve.exact:
                    xs, ys = thin(curve.x_ms, curve.fraction, resolution)
                    ax.step(
                        [xs[0], *xs],  # rising from 0 at the minimum
                        [0.0, *ys],
                        where="post",
                        color=curve.colour,
                        linestyle=curve.linestyle,
                        label=curve.label,
                    )
                else:
                    ax.plot(
                        curve.x_ms,
                        curve.fraction,
                        color=curve.colour,
                        linestyle=curve.linestyle,
                        marker="o",
                        markersize=3.5,
                        label=f"{curve.label} (percentiles only)",
                    )
            ax.set_xscale("log")
            _log_ms_ticks(ax.xaxis, low, high)
            ax.set_xlim(low / 1.15, high * 1.15)
            ax.set_ylim(0, 1.02)
            ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
            for fraction, name in ((0.5, "p50"), (0.9, "p90"), (0.99, "p99")):
                ax.axhline(fraction, color="#999999", linewidth=0.6, linestyle=":")
                ax.text(
                    1.0,
                    fraction,
                    f" {name}",
                    transform=ax.get_yaxis_transform(),
                    va="center",
                    fontsize=7,
                    color="#666666",
                )
            ax.set_xlabel("latency (ms, log scale)")
            ax.set_ylabel("fraction of operations ≤ latency")
            if overlay or len(curves) > 5:
                figure.legend(loc="outside right upper")
            else:
                ax.legend(loc="lower right")
            return self._svg(figure, title)

    def sweep(
        self, label: str, cells: Sequence[dict[str, Any]], *, x: str, lines: tuple[str, str]
    ) -> str:
        """Throughput and p99 against ``x``: a line per pair of values of ``lines``
        (colour: the first, line style and marker: the second)."""
        from matplotlib import ticker

        xs = sorted({c[x] for c in cells if isinstance(c.get(x), int) and c[x] > 0})
        if len(xs) < 2:
            only = ", ".join(str(v) for v in xs) or "none"
            return f"<p>Every cell has {_e(x)} {_e(only)}: no line to draw against it.</p>"
        colour_key, style_key = lines
        colour_values = sorted({c.get(colour_key) for c in cells}, key=_sort_number)
        style_values = sorted({c.get(style_key) for c in cells}, key=_sort_number)
        groups: dict[tuple[Any, Any], list[dict[str, Any]]] = {}
        for cell in sorted(cells, key=lambda c: _sort_number(c.get(x))):
            if cell.get(x) in xs:
                groups.setdefault((cell.get(colour_key), cell.get(style_key)), []).append(cell)
        x_name = x.replace("_", " ")
        title = f"Throughput and p99 against {x_name}, {label}"
        with self._figure(10.0, 4.0) as figure:
            throughput_ax, p99_ax = figure.subplots(1, 2)
            failure_labelled = False
            for key in sorted(groups, key=lambda k: (_sort_number(k[0]), _sort_number(k[1]))):
                group = groups[key]
                colour = PALETTE[colour_values.index(key[0]) % len(PALETTE)]
                style_index = style_values.index(key[1])
                style = LINESTYLES[style_index % len(LINESTYLES)]
                marker = MARKERS[style_index % len(MARKERS)]
                name = f"{colour_key} {_overflow(key[0])}, {style_key} {_overflow(key[1])}"
                group_x = [c[x] for c in group]
                failed = [bool(c.get("errors") or c.get("timeouts")) for c in group]
                series = (
                    (throughput_ax, [c.get("ops_per_s") for c in group]),
                    (p99_ax, [_ms_value(c.get("p99_us")) for c in group]),
                )
                for ax, values in series:
                    values = [math.nan if v is None else v for v in values]
                    ax.plot(
                        group_x,
                        values,
                        color=colour,
                        linestyle=style,
                        marker=marker,
                        markersize=4,
                        label=name if ax is throughput_ax else None,
                    )
                    bad = [(gx, v) for gx, v, f in zip(group_x, values, failed, strict=True) if f]
                    if bad:
                        show_label = ax is throughput_ax and not failure_labelled
                        ax.scatter(
                            [b[0] for b in bad],
                            [b[1] for b in bad],
                            marker="x",
                            s=60,
                            color="#d62728",
                            zorder=5,
                            label="errors or timeouts" if show_label else None,
                        )
                        failure_labelled = failure_labelled or show_label
            for ax in (throughput_ax, p99_ax):
                ax.set_xscale("log", base=2)
                ax.set_xticks(xs)
                ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _pos: f"{v:g}"))
                ax.xaxis.set_minor_locator(ticker.NullLocator())
                ax.set_xlabel(x_name)
            throughput_ax.set_ylim(bottom=0)
            throughput_ax.yaxis.set_major_formatter(ticker.StrMethodFormatter("{x:,.0f}"))
            throughput_ax.set_ylabel("successful operations/s")
            throughput_ax.set_title("throughput", loc="left")
            p99_ax.set_yscale("log")
            p99_values = [v for c in cells if (v := _ms_value(c.get("p99_us")))]
            if p99_values:
                _log_ms_ticks(p99_ax.yaxis, min(p99_values), max(p99_values))
            p99_ax.set_ylabel("p99 latency (ms, log scale)")
            p99_ax.set_title("p99 latency", loc="left")
            handles, names = throughput_ax.get_legend_handles_labels()
            order = sorted(range(len(names)), key=lambda i: names[i] == "errors or timeouts")
            figure.legend(
                [handles[i] for i in order], [names[i] for i in order], loc="outside right upper"
            )
            return self._svg(figure, title)


def _log_ms_ticks(axis: Any, low: float, high: float) -> None:
    """Label a log axis of milliseconds 0.1, 0.2, 0.5, 1, ... (1, 10, 100 over many
    decades), as plain numbers: matplotlib's own labels are mathtext, which is off."""
    from matplotlib import ticker

    decades = math.log10(high / low) if high > low else 0
    subs = (1.0,) if decades > 4 else (1.0, 2.0, 5.0)
    axis.set_major_locator(ticker.LogLocator(base=10, subs=subs))
    axis.set_major_formatter(ticker.FuncFormatter(lambda v, _pos: f"{v:g}"))
    axis.set_minor_formatter(ticker.NullFormatter())


# --- SVG and HTML ------------------------------------------------------------

_ID = re.compile(r'\bid="([^"]+)"')
_HREF = re.compile(r'\b((?:xlink:)?href)="#([^"]+)"')
_URL = re.compile(r"url\(#([^)]+)\)")


def inline_svg(svg: str, chart_id: str, title: str) -> str:
    """matplotlib's SVG document made an element of the page.

    The XML prologue goes; every id gets the chart's prefix, so that the
    glyph, clip-path and marker ids of two charts never clash (matplotlib
    names glyphs alike in every file); matplotlib's style sheet, which inline
    would apply to the whole page, is scoped to the chart.
    """
    svg = svg[svg.index("<svg") :]
    svg = _ID.sub(lambda m: f'id="{chart_id}-{m.group(1)}"', svg)
    svg = _HREF.sub(lambda m: f'{m.group(1)}="#{chart_id}-{m.group(2)}"', svg)
    svg = _URL.sub(lambda m: f"url(#{chart_id}-{m.group(1)})", svg)
    svg = svg.replace("<svg ", f'<svg id="{chart_id}" role="img" aria-label="{_e(title)}" ', 1)
    return svg.replace('<style type="text/css">*{', f'<style type="text/css">#{chart_id} *{{', 1)


#: a table column: its header, and the cell's text for an item
Column = tuple[str, Callable[[Any], Any]]


class _Html(str):
    """Cell text that is HTML already."""


def _column_table(
    columns: Sequence[Column],
    items: Iterable[Any],
    *,
    caption: str = "",
    text: Collection[str] | None = None,
) -> str:
    """A table of ``items``, one row each (``text``: as in ``_table``)."""
    rows = [[cell(item) for _, cell in columns] for item in items]
    return _table([name for name, _ in columns], rows, caption=caption, text=text)


def _table(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    caption: str = "",
    text: Collection[str] | None = None,
) -> str:
    """An HTML table; the columns named in ``text`` (default: the first) are
    left-aligned text, the others right-aligned numbers. Cells are escaped
    unless ``_Html``."""
    text = headers[:1] if text is None else text
    numeric = [name not in text for name in headers]

    def cell(tag: str, index: int, value: Any) -> str:
        css = ' class="num"' if numeric[index] else ""
        return f"<{tag}{css}>{value if isinstance(value, _Html) else _e(value)}</{tag}>"

    head = "".join(cell("th", i, name) for i, name in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(cell("td", i, value) for i, value in enumerate(row)) + "</tr>"
        for row in rows
    )
    caption = f"<caption>{_e(caption)}</caption>" if caption else ""
    table = f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return f'<div class="wide">{table}</div>'


def is_secret(key: str) -> bool:
    """A key that could hold a secret, never shown whatever its value.

    Documents hold ``password_set`` (a flag, shown) and ``ssl_key_password``
    as ``<hidden>``; a document edited by hand might hold more.
    """
    lowered = key.lower()
    return lowered != "password_set" and any(
        word in lowered for word in ("password", "passwd", "secret", "token")
    )


def _flatten(value: Any, prefix: str = "") -> list[list[str]]:
    """(dotted key, text) rows for a settings or environment dict, secrets left out."""
    if isinstance(value, dict):
        if not value:
            return [[prefix, "none"]] if prefix else []
        rows = []
        for key, item in value.items():
            if not is_secret(str(key)):
                rows += _flatten(item, f"{prefix}.{key}" if prefix else str(key))
        return rows
    if isinstance(value, list):
        return [[prefix, ", ".join(_scalar(v) for v in value) or "none"]]
    return [[prefix, _scalar(value)]]


def _scalar(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return "; ".join(" = ".join(row) for row in _flatten(value)) or "none"
    return str(value)


def _at(item: Any, *keys: str) -> Any:
    """``item[k1][k2]...``, or None where a level is missing."""
    for key in keys:
        if not isinstance(item, dict):
            return None
        item = item.get(key)
    return item


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


#: the report writes a missing value as an en dash; the numbers as every format does
_ms = functools.partial(numbers.ms_from_us, missing=DASH)
_ms_value = numbers.ms_value_from_us
_count = functools.partial(numbers.count, missing=DASH)
_signed = functools.partial(numbers.signed_count, missing=DASH)
_number = functools.partial(numbers.number, missing=DASH)
_percent = functools.partial(numbers.percent, missing=DASH)
_overflow = numbers.overflow
_yes_no = functools.partial(numbers.yes_no, missing=DASH)


def _when(iso: Any) -> str:
    """An ISO 8601 UTC time as "2026-11-24 06:05:25"; anything else as it is."""
    if not iso:
        return "not recorded"
    try:
        moment = datetime.datetime.fromisoformat(str(iso))
    except ValueError:
        return str(iso)
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


_CSS = """
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif;
       color: #1d1d1f; background: #fff; max-width: 1150px; margin: 1.5em auto;
       padding: 0 1.2em; line-height: 1.45; font-size: 15px; }
h1 { font-size: 1.7em; margin-bottom: .3em; }
h2 { font-size: 1.3em; border-bottom: 2px solid #e5e5e5; padding-bottom: .2em; margin-top: 2.2em; }
h3 { font-size: 1.05em; margin: 1.6em 0 .5em; }
table { border-collapse: collapse; margin: .4em 0 1em; font-size: 13px;
        font-variant-numeric: tabular-nums; }
caption { caption-side: bottom; text-align: left; color: #666; font-size: 12px; padding-top: .3em; }
th, td { padding: .25em .7em; border-bottom: 1px solid #eee; text-align: left;
         vertical-align: top; }
th { border-bottom: 1px solid #bbb; font-weight: 600; }
.wide { max-width: 100%; overflow-x: auto; }
.num { text-align: right; white-space: nowrap; }
tbody tr:nth-child(even) { background: #fafafa; }
figure { margin: 1em 0; }
figure svg { max-width: 100%; height: auto; display: block; }
figcaption { color: #666; font-size: 12px; }
.notice { background: #fff8e1; border-left: 4px solid #f0b400; padding: .5em .8em; }
.side-by-side { display: flex; flex-wrap: wrap; gap: 0 2.5em; align-items: flex-start; }
footer { margin-top: 3em; color: #888; font-size: 12px; }
a { color: #0b57d0; }
""".strip()
