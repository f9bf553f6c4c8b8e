"""The columns of the runner, pool and stale tables, and the words of a sweep cell, once.

Every format draws the same columns in its own syntax: the rich table
(``output.table``), Markdown (``output.markdown``), CSV (``output.csv_format``)
and the HTML report (``output.report``).  A column says what it shows:

- ``header``: as the tables print it ("p99"; ``short`` beside its group: "max");
- ``key``: as CSV names it, and the result document where the value sits at
  the top of a runner ("p99_us");
- ``kind``: how its value is written: ``LATENCY`` (nanoseconds in the typed
  result, microseconds in files and CSV, milliseconds on screen), ``COUNT``,
  ``RATE`` (per second), ``FRACTION`` (a share, shown as %), ``SECONDS``, ``KINDS``
  (errors by kind);
- ``get``: the value from a typed result (``model.RunnerResult`` or ``StaleCase``, live
  or read from a file, or any object with its attributes: ``summary``,
  ``checkout``, ``pool``...);
- ``where``: which formats show it.

Adding a metric is one row here; each format picks it up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from dbbench.numbers import count, ops_per_s, percent

LATENCY, COUNT, RATE, SECONDS, KINDS = "latency", "count", "rate", "seconds", "kinds"
FRACTION = "fraction"  # 0.25: 25.0% on screen
TABLE, MARKDOWN, CSV, REPORT = "table", "markdown", "csv", "report"
EVERYWHERE = frozenset({TABLE, MARKDOWN, CSV, REPORT})
_CSV_ONLY, _REPORT_ONLY = frozenset({CSV}), frozenset({REPORT})
#: min is the first column a narrow terminal drops; Markdown and the report leave it out
_NOT_IN_MARKDOWN_OR_REPORT = frozenset({TABLE, CSV})


@dataclass(frozen=True)
class Column:
    header: str
    key: str
    kind: str
    get: Callable[[Any], Any]
    where: frozenset[str] = EVERYWHERE
    #: the header beside the column before it, in a narrow table ("p99" after "checkout p50")
    short: str | None = None
    #: a non-zero value is shown loud (red, bold): errors, timeouts
    alarm: bool = False
    #: the tables show the value only with at least this many successes (σ of one is no spread)
    min_n: int = 0

    def value(self, runner: Any) -> Any:
        """The value from a typed runner result, None where a table shows nothing."""
        if self.min_n and (runner.summary.n if runner.summary else 0) < self.min_n:
            return None
        return self.get(runner)


def shown_in(columns: Iterable[Column], where: str) -> tuple[Column, ...]:
    return tuple(c for c in columns if where in c.where)


def cell_text(
    column: Column,
    runner: Any,
    *,
    ms: Callable[[Any], str],
    number: Callable[[Any], str],
    loud: Callable[[str], str],
) -> str:
    """A table's cell: ``ms`` writes nanoseconds, ``number`` a count, ``loud`` marks an alarm."""
    value = column.value(runner)
    if column.kind == LATENCY:
        return ms(value)
    if column.kind == RATE:
        return ops_per_s(value)
    if column.kind == FRACTION:
        return percent(value)
    text = number(value)
    return loud(text) if column.alarm and value else text


def _latency(name: str) -> Callable[[Any], Any]:
    return lambda r: getattr(r.summary, f"{name}_ns") if r.summary else None


def _checkout_column(name: str, short: str | None = None) -> Column:
    """Waiting for a connection from the pool: its p50, p99 or max."""
    return Column(
        f"checkout {name}",
        f"checkout_{name}_us",
        LATENCY,
        lambda r: getattr(r.checkout, f"{name}_ns") if r.checkout else None,
        short=short,
    )


def _pool(name: str) -> Callable[[Any], Any]:
    return lambda r: getattr(r.pool, name) if r.pool else None


#: a runner's operations: the runner table (in CSV order; the runner's name comes first)
RUNNER_COLUMNS = (
    Column("n", "n", COUNT, lambda r: r.summary.n if r.summary else 0),
    Column("errors", "errors", COUNT, lambda r: r.errors, alarm=True),
    Column("errors by kind", "errors_by_kind", KINDS, lambda r: r.errors_by_kind, where=_CSV_ONLY),
    Column("warm-up errors", "warmup_errors", COUNT, lambda r: r.warmup_errors, where=_CSV_ONLY),
    Column("mean", "mean_us", LATENCY, _latency("mean")),
    Column("± σ", "stddev_us", LATENCY, _latency("stddev"), min_n=2),
    Column("min", "min_us", LATENCY, _latency("min"), where=_NOT_IN_MARKDOWN_OR_REPORT),
    Column("p50", "p50_us", LATENCY, _latency("p50")),
    Column("p90", "p90_us", LATENCY, _latency("p90")),
    Column("p95", "p95_us", LATENCY, _latency("p95"), where=_CSV_ONLY),
    Column("p99", "p99_us", LATENCY, _latency("p99")),
    Column("p99.9", "p999_us", LATENCY, _latency("p999")),
    Column("max", "max_us", LATENCY, _latency("max")),
    Column("ops/s", "ops_per_s", RATE, lambda r: r.ops_per_s),
    Column("measured", "measured_s", SECONDS, lambda r: r.measured_s, where=_CSV_ONLY),
    Column("first op", "first_op_us", LATENCY, lambda r: r.first_op_ns),
)

#: what a runner's pool did: the pool table (pool runners only)
POOL_COLUMNS = (
    _checkout_column("p50"),
    _checkout_column("p99", short="p99"),
    _checkout_column("max", short="max"),
    Column(
        "timeouts",
        "timeouts",
        COUNT,
        lambda r: r.timeouts,
        alarm=True,
    ),
    Column("connects", "pool_connects", COUNT, _pool("connects")),
    Column("closes", "pool_closes", COUNT, _pool("closes")),
    Column(
        "checkouts",
        "pool_checkouts",
        COUNT,
        _pool("checkouts"),
        where=_REPORT_ONLY,
    ),
    Column(
        "checkins",
        "pool_checkins",
        COUNT,
        _pool("checkins"),
        where=_REPORT_ONLY,
    ),
    Column(
        "invalidated",
        "pool_invalidations",
        COUNT,
        _pool("invalidations"),
    ),
    Column(
        "peak out",
        "pool_peak_checked_out",
        COUNT,
        _pool("peak_checked_out"),
    ),
)


def _stale_latency(summary: str, name: str) -> Callable[[Any], Any]:
    return lambda case: (
        getattr(getattr(case, summary), f"{name}_ns") if getattr(case, summary) else None
    )


#: a stale-connection case (``model.StaleCase``): the stale table, after the protection
STALE_CASE_COLUMNS = (
    Column("operations", "operations", COUNT, lambda c: c.operations),
    Column("errors", "errors", COUNT, lambda c: c.errors, alarm=True),
    Column("error rate", "error_rate", FRACTION, lambda c: c.error_rate),
    Column(
        "errors by kind",
        "errors_by_kind",
        KINDS,
        lambda c: c.errors_by_kind,
        where=frozenset({CSV, REPORT}),
    ),
    Column("first op", "first_latency_us", LATENCY, lambda c: c.first_latency_ns),
    Column("mean", "mean_us", LATENCY, _stale_latency("latency", "mean")),
    Column("p50", "p50_us", LATENCY, _stale_latency("latency", "p50"), where=_CSV_ONLY),
    Column("p99", "p99_us", LATENCY, _stale_latency("latency", "p99")),
    Column("max", "max_us", LATENCY, _stale_latency("latency", "max"), where=_CSV_ONLY),
    Column("baseline mean", "baseline_mean_us", LATENCY, _stale_latency("baseline", "mean")),
    Column(
        "baseline p99",
        "baseline_p99_us",
        LATENCY,
        _stale_latency("baseline", "p99"),
        where=_CSV_ONLY,
    ),
    Column("connects", "pool_connects", COUNT, _pool("connects")),
    Column("closes", "pool_closes", COUNT, _pool("closes"), where=_CSV_ONLY),
    Column("invalidated", "pool_invalidations", COUNT, _pool("invalidations")),
)


# --- a sweep cell ----------------------------------------------------------------

RECOMMENDED = "★"
BEST = "▲"
#: within noise of the best: the measurements cannot tell it from the best
NEAR = "≈"
TIMEOUT = "⏱"
ERROR = "✗"


@dataclass(frozen=True)
class CellWords:
    """What a sweep cell says, before a format styles it and writes its p99."""

    #: "8,200/s", or "no successes" / "nothing ran" (``measured`` is then False)
    throughput: str
    measured: bool
    #: "⏱ 17 timeouts", None without any
    timeouts: str | None
    #: "✗ 3 other errors" (other than timeouts), None without any
    errors: str | None


def cell_words(cell: Any, throughput: Callable[[float], str]) -> CellWords:
    """The words of a ``sweep.SweepCell``; ``throughput`` writes its rate."""
    if cell.ops_per_s is None:
        text, measured = ("no successes" if cell.operations else "nothing ran"), False
    else:
        text, measured = throughput(cell.ops_per_s), True
    timeouts = None
    if cell.timeouts:
        word = "timeout" if cell.timeouts == 1 else "timeouts"
        timeouts = f"{TIMEOUT} {count(cell.timeouts)} {word}"
    errors = None
    others = cell.errors - cell.timeouts
    if others > 0:
        word = "error" if others == 1 else "errors"
        errors = f"{ERROR} {count(others)} {'other ' if cell.timeouts else ''}{word}"
    return CellWords(text, measured, timeouts, errors)


def cell_key(cell: Any) -> tuple[int, int, int]:
    """(concurrency, pool_size, max_overflow): where a cell sits in the grid."""
    return (cell.concurrency, cell.pool_size, cell.max_overflow)


def marked(recommendations: Iterable[Any]) -> tuple[set[tuple[int, int, int]], ...]:
    """(best, recommended, within noise of the best): the keys of the cells the
    recommendations mark."""
    recommendations = list(recommendations)
    best = {cell_key(r.best) for r in recommendations if r.best is not None}
    chosen = {cell_key(r.chosen) for r in recommendations if r.chosen is not None}
    near = {
        (r.concurrency, pool_size, max_overflow)
        for r in recommendations
        for pool_size, max_overflow in r.within_noise
    }
    return best, chosen, near - best


def marks(*, best: bool, chosen: bool, near: bool = False) -> str:
    """What goes before a cell's figures: "★ " recommended, "▲ " the best, "≈ " within
    noise of the best."""
    return (
        (f"{RECOMMENDED} " if chosen else "")
        + (f"{BEST} " if best else "")
        + (f"{NEAR} " if near and not best else "")
    )


class GridCell(NamedTuple):
    #: None if not run
    cell: Any
    best: bool
    chosen: bool
    #: within noise of the best, and not the best itself
    near: bool


@dataclass(frozen=True)
class GridRow:
    pool_size: int
    max_overflow: int
    #: one per concurrency, in the grid's order
    cells: tuple[GridCell, ...]


def sweep_grid(
    cells: Sequence[Any], recommendations: Sequence[Any]
) -> tuple[list[int], list[GridRow]]:
    """The matrix every format draws: concurrencies across, (pool_size, max_overflow) down
    (unlimited overflow last), each cell with whether it is the best and the recommended."""
    concurrencies = sorted({c.concurrency for c in cells})
    settings = sorted(
        {(c.pool_size, c.max_overflow) for c in cells},
        key=lambda s: (s[0], float("inf") if s[1] < 0 else s[1]),
    )
    by_key = {cell_key(c): c for c in cells}
    best, chosen, near = marked(recommendations)
    rows = []
    for pool_size, max_overflow in settings:
        keys = [(concurrency, pool_size, max_overflow) for concurrency in concurrencies]
        row = tuple(
            GridCell(by_key.get(key), key in best, key in chosen, key in near) for key in keys
        )
        rows.append(GridRow(pool_size, max_overflow, row))
    return concurrencies, rows
