"""The report's charts: matplotlib figures drawn as SVG and made elements of the page.

matplotlib is used without pyplot (no global figure registry, no backend
switch), its settings are changed only inside ``rc_context``, and its SVG ids
come from a fixed salt and get a prefix per chart, so the same files give the
same page, byte for byte, and two charts' ids never clash.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import math
import re
from collections.abc import Iterator, Sequence
from types import ModuleType
from typing import Any

from dbbench import interruption
from dbbench.errors import DbbenchError
from dbbench.histogram import LatencyHistogram
from dbbench.numbers import us_from_ns
from dbbench.output.report.tables import escape, ms_value, overflow, sort_number
from dbbench.results.model import RunnerResult, RunResult, SweepCell
from dbbench.runners import RUNNER_NAMES

INSTALL_HINT = "pip install 'dbbench[report]'"

#: the percentiles a document keeps beside its histogram: the fallback curve
PERCENTILE_KEYS = (
    ("p50_ns", 0.5),
    ("p90_ns", 0.9),
    ("p95_ns", 0.95),
    ("p99_ns", 0.99),
    ("p999_ns", 0.999),
    ("max_ns", 1.0),
)
#: points a CDF keeps across the chart's width, at most: about one per point of the SVG
CDF_POINTS = 500

#: one colour per runner, the same in every chart of the page, in the registry's order
#: (a runner beyond these, or a label such as raw/mysqlclient, takes one of the palette's others)
RUNNER_COLOURS = dict(
    zip(RUNNER_NAMES, ("#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd"), strict=False)
)
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
        # no stop signal lands inside matplotlib's imports (it is noted, and acted on
        # after them): one that cut them short would leave modules half made, and
        # matplotlib swallows the error of a later import of those ("Unable to import
        # Axes3D" on stderr)
        with interruption.held():
            import matplotlib
            import matplotlib.backends.backend_svg
            import matplotlib.figure
            import matplotlib.ticker  # noqa: F401
    except ImportError:
        raise ReportError(
            f"the HTML report needs matplotlib, which is not installed: {INSTALL_HINT}"
        ) from None
    return matplotlib


@dataclasses.dataclass(frozen=True)
class _Curve:
    label: str
    colour: str
    linestyle: str
    x_ms: list[float]
    fraction: list[float]
    #: False: only the stored percentiles (no histogram)
    exact: bool


def stored_histogram(runner: RunnerResult) -> LatencyHistogram | None:
    if runner.latency is None or not runner.latency.count:
        return None
    return runner.latency.histogram


def cdf_points(runner: RunnerResult) -> tuple[list[float], list[float], bool] | None:
    """(latency in ms, fraction of operations at or below it, exact) for one runner's result.

    From its histogram, one point per bucket; without one, the stored
    percentiles p50 to max (exact is then False); None with no successful operation.
    """
    histogram = stored_histogram(runner)
    if histogram is not None:
        xs, ys, seen = [], [], 0
        for value_ns, count in histogram.buckets():
            seen += count
            # a bucket's top may lie a little (0.1%) past the exact extremes
            xs.append(min(max(value_ns, histogram.min_ns), histogram.max_ns) / 1e6)
            ys.append(seen / histogram.count)
        return xs, ys, True
    summary = runner.summary
    stored = (us_from_ns(getattr(summary, key, None)) for key, _ in PERCENTILE_KEYS)
    points = [
        (value_us / 1000, fraction)
        for value_us, (_, fraction) in zip(stored, PERCENTILE_KEYS, strict=True)
        if value_us is not None and value_us > 0
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


class Charts:
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
        return f"<figure>{svg}<figcaption>{escape(title)}</figcaption></figure>"

    def _colour(self, runner: str) -> str:
        if runner in RUNNER_COLOURS:
            return RUNNER_COLOURS[runner]
        if runner not in self._other_runners:
            self._other_runners.append(runner)
        unused = [c for c in PALETTE if c not in RUNNER_COLOURS.values()]
        return unused[self._other_runners.index(runner) % len(unused)]

    def cdf(self, runs: Sequence[tuple[str, RunResult]], *, overlay: bool) -> str:
        """Latency CDFs: one line per runner of each run; ``overlay``: files told apart by style."""
        curves = []
        for file_index, (label, run) in enumerate(runs):
            for runner in run.runners:
                points = cdf_points(runner)
                if points is None:
                    continue
                name = runner.runner
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
        self, label: str, cells: Sequence[SweepCell], *, x: str, lines: tuple[str, str]
    ) -> str:
        """Throughput and p99 against ``x``: a line per pair of values of ``lines``
        (colour: the first, line style and marker: the second)."""
        from matplotlib import ticker

        values = [getattr(c, x) for c in cells]
        xs = sorted({v for v in values if isinstance(v, int) and v > 0})
        if len(xs) < 2:
            only = ", ".join(str(v) for v in xs) or "none"
            return f"<p>Every cell has {escape(x)} {escape(only)}: no line to draw against it.</p>"
        colour_key, style_key = lines
        colour_values = sorted({getattr(c, colour_key) for c in cells}, key=sort_number)
        style_values = sorted({getattr(c, style_key) for c in cells}, key=sort_number)
        groups: dict[tuple[Any, Any], list[SweepCell]] = {}
        for cell in sorted(cells, key=lambda c: sort_number(getattr(c, x))):
            if getattr(cell, x) in xs:
                key = (getattr(cell, colour_key), getattr(cell, style_key))
                groups.setdefault(key, []).append(cell)
        x_name = x.replace("_", " ")
        title = f"Throughput and p99 against {x_name}, {label}"
        with self._figure(10.0, 4.0) as figure:
            throughput_ax, p99_ax = figure.subplots(1, 2)
            failure_labelled = False
            for key in sorted(groups, key=lambda k: (sort_number(k[0]), sort_number(k[1]))):
                group = groups[key]
                colour = PALETTE[colour_values.index(key[0]) % len(PALETTE)]
                style_index = style_values.index(key[1])
                style = LINESTYLES[style_index % len(LINESTYLES)]
                marker = MARKERS[style_index % len(MARKERS)]
                name = f"{colour_key} {overflow(key[0])}, {style_key} {overflow(key[1])}"
                group_x = [getattr(c, x) for c in group]
                failed = [bool(c.errors or c.timeouts) for c in group]
                series = (
                    (throughput_ax, [c.ops_per_s for c in group]),
                    (p99_ax, [ms_value(c.p99_us) for c in group]),
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
            p99_values = [v for c in cells if (v := ms_value(c.p99_us))]
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
    svg = svg.replace("<svg ", f'<svg id="{chart_id}" role="img" aria-label="{escape(title)}" ', 1)
    return svg.replace('<style type="text/css">*{', f'<style type="text/css">#{chart_id} *{{', 1)
