"""Each runner's latency distribution as text bars (``--histogram``), under the table.

The buckets are the Renard R10 preferred numbers: 10 per decade, edges 1, 1.25,
1.6, 2, 2.5, 3.15, 4, 5, 6.3, 8 (then 10, 12.5, ...) times a power of ten, in
any unit.  Why these:

* log-scaled and almost even (each bucket is 1.25–1.27 times the last), so a
  shape means the same at 50 µs as at 20 ms, and runners compare by eye;
* fine enough for one runner: a pool's p50 to p99 is often only 2×, which
  powers of 2 or 1-2-5 would put in one or two bars; here it takes three;
* edges a reader can say ("160–200 µs"), unlike 10^0.1 steps or 65.5–131 µs.

The counts come from the runner's HdrHistogram (``LatencyHistogram.buckets()``),
whose buckets are 1,000 times finer: a value sits in the bucket of its
HdrHistogram bucket's highest value, so it can move up one bucket only when it
is within 0.1% of an edge.  p50 and p99 are found on these same bucket counts
(nearest rank), so the marks always sit on the bar that holds them.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable

from rich.console import Console
from rich.text import Text

from dbbench.output.console import plain
from dbbench.results.model import RunResult

#: lower edges of the buckets of one decade, in hundredths (Renard R10)
EDGES = (100, 125, 160, 200, 250, 315, 400, 500, 630, 800)
PER_DECADE = len(EDGES)
#: a run of at least this many empty buckets inside a distribution is drawn as one line
COLLAPSE_EMPTY = 3
MARKS = ((0.50, "p50"), (0.99, "p99"))
#: the bar never gets narrower than this, whatever the width
MIN_BAR = 10
#: nor wider: past this a longer bar shows nothing more
MAX_BAR = 100
#: eighths of a character cell, for bars finer than whole characters
_EIGHTHS = " ▏▎▍▌▋▊▉"
_FULL = "█"
#: two lines, so that each fits in 80 columns
LEGEND = (
    "latency of successful operations: 10 log-scaled buckets per decade",
    "bars scaled to each runner's fullest bucket; %: cumulative",
)
_UNITS = ((1e9, "s"), (1e6, "ms"), (1e3, "µs"), (1.0, "ns"))

# index = decade * PER_DECADE + position of the edge in EDGES; bucket k holds
# [lower_ns(k), lower_ns(k + 1))


def bucket_index(value_ns: int) -> int:
    """The bucket of a (whole, positive) number of nanoseconds, with exact integer comparisons."""
    value_ns = max(1, int(value_ns))
    decade = len(str(value_ns)) - 1
    hundredths = value_ns * 100
    scale = 10**decade
    position = max(i for i, edge in enumerate(EDGES) if hundredths >= edge * scale)
    return decade * PER_DECADE + position


def lower_ns(index: int) -> float:
    decade, position = divmod(index, PER_DECADE)
    return EDGES[position] * 10.0**decade / 100


def _number(value: float) -> str:
    """3 significant digits, never in exponent form: 1.25, 31.5, 630, 1000."""
    return f"{value:.0f}" if value >= 100 else f"{value:.3g}"


def _unit(value_ns: float) -> tuple[float, str]:
    for scale, name in _UNITS:
        if value_ns >= scale:
            return scale, name
    return _UNITS[-1]


def duration(value_ns: float) -> str:
    """e.g. "176 µs", "16.6 ms", "1.23 s"."""
    scale, name = _unit(value_ns)
    return f"{_number(value_ns / scale)} {name}"


def bucket_label(index: int) -> str:
    """e.g. "125–160 µs", "800–1000 µs": both edges in the lower edge's unit, fixed width."""
    low, high = lower_ns(index), lower_ns(index + 1)
    scale, name = _unit(low)
    return f"{_number(low / scale):>5}–{_number(high / scale):<5}{name:>2}"


def span_label(first: int, last: int) -> str:
    """The range of buckets ``first`` to ``last``, e.g. "400 µs to 8 ms"."""
    return f"{duration(lower_ns(first))} to {duration(lower_ns(last + 1))}"


def rebin(buckets: Iterable[tuple[int, int]]) -> dict[int, int]:
    """HdrHistogram's (value_ns, count) pairs summed into our buckets (non-empty ones only)."""
    counts: Counter[int] = Counter()
    for value_ns, count in buckets:
        if count:
            counts[bucket_index(value_ns)] += count
    return dict(counts)


def marked_buckets(counts: dict[int, int]) -> dict[int, list[str]]:
    """Which bucket holds each of p50 and p99 (nearest rank on these counts)."""
    total = sum(counts.values())
    marks: dict[int, list[str]] = {}
    for fraction, name in MARKS:
        rank = max(1, math.ceil(fraction * total - 1e-9))
        seen = 0
        for index in sorted(counts):
            seen += counts[index]
            if seen >= rank:
                marks.setdefault(index, []).append(name)
                break
    return marks


def bar(count: int, largest: int, width: int) -> str:
    """``width`` cells scaled to ``largest``, in eighths; never empty for a non-zero count."""
    eighths = round(count * width * 8 / largest) if largest else 0
    eighths = max(eighths, 1 if count else 0)
    full, part = divmod(eighths, 8)
    return (_FULL * full + _EIGHTHS[part].strip()).ljust(width)


def _cumulative(seen: int, total: int) -> str:
    # floored, so that only the last bucket says 100.0%
    return f"{math.floor(seen * 1000 / total) / 10:5.1f}%"


def _fixed_width(count_width: int) -> int:
    # "  " label "  " bar "  " count "  " cumulative "  " marks
    return 2 + len(bucket_label(0)) + 2 + 2 + count_width + 2 + len("100.0%") + 2 + len("◀ p50 p99")


def distribution_lines(counts: dict[int, int], width: int) -> list[Text]:
    """One line a bucket from the first non-empty to the last; long empty runs on one line."""
    if not counts:
        return []
    total = sum(counts.values())
    largest = max(counts.values())
    count_width = len(f"{largest:,}")
    bar_width = min(MAX_BAR, max(MIN_BAR, width - _fixed_width(count_width)))
    marks = marked_buckets(counts)
    first, last = min(counts), max(counts)
    lines: list[Text] = []
    seen = 0
    index = first
    while index <= last:
        empty_until = index
        while empty_until <= last and not counts.get(empty_until):
            empty_until += 1
        if empty_until - index >= COLLAPSE_EMPTY:
            gap = f"  {'⋮':^{len(bucket_label(0))}}  none from {span_label(index, empty_until - 1)}"
            lines.append(Text(gap, style="dim"))
            index = empty_until
            continue
        count = counts.get(index, 0)
        seen += count
        line = Text(f"  {bucket_label(index)}  ")
        line.append(bar(count, largest, bar_width), style="cyan")
        line.append(f"  {count:>{count_width},}  {_cumulative(seen, total)}")
        if index in marks:
            line.append(f"  ◀ {' '.join(marks[index])}", style="bold yellow")
        lines.append(line)
        index += 1
    return lines


def write(result: RunResult, console: Console, width: int | None = None) -> None:
    """Draw each runner's distribution of successful operations' latencies."""
    width = width or console.width
    for line in LEGEND:
        console.print(Text(line, style="dim"), width=width)
    for r in result.runners:
        head = plain(r.runner, style="bold")
        histogram = r.latency.histogram if r.latency is not None else None
        if histogram is None or not histogram.count:
            reason = "no histogram recorded" if histogram is None else "no successful operations"
            head.append(f": {reason}", style="dim")
            console.print(head, width=width)
            continue
        head.append(
            f": {histogram.count:,} operations, min {duration(histogram.min_ns)}, "
            f"mean {duration(histogram.mean_ns)}, max {duration(histogram.max_ns)}"
        )
        console.print(head, width=width)
        for line in distribution_lines(rebin(histogram.buckets()), width):
            console.print(line, no_wrap=True, overflow="ignore", crop=False)
