"""A sweep of targets at a glance: every runner on every target, down, each point of the
sweep across (concurrency, and the pool settings where those were swept too), the mean
latency in each cell.  The answer to "an application pool, PgBouncer, or both?" in one
table: ``raw@pgbouncer-transaction`` against ``raw@direct`` is what a new connection
through the pooler costs, ``pool@...`` what it adds with an application pool in front.

Made from the cells (each a target's view of a point's run), so a sweep read back from a
file draws it too.  The table and Markdown formats print it under the matrices.
"""

from __future__ import annotations

from dataclasses import dataclass

from dbbench.numbers import count, ms_from_ns, overflow
from dbbench.results.model import SweepCell, SweepResult


@dataclass(frozen=True)
class TargetGrid:
    #: what each column is: "c=4", or "c=4 pool 5+10" when pool settings were swept
    columns: tuple[str, ...]
    #: (runner, target, a cell's text per column: mean ms, "-" where it did not run,
    #: and its failed operations where there were some)
    rows: tuple[tuple[str, str, tuple[str, ...]], ...]


def target_grid(sweep: SweepResult) -> TargetGrid | None:
    """The grid of a sweep of targets (``--target``, ``--pooler``) or variants; None for
    a sweep of one configuration."""
    cells = [(cell, result) for cell, result in sweep.cells if cell.variant is not None]
    if not cells:
        return None
    points = list(dict.fromkeys(_point(cell) for cell, _ in cells))
    pools_swept = len({(c.pool_size, c.max_overflow) for c, _ in cells}) > 1
    columns = tuple(_column(point, pools_swept) for point in points)
    targets = list(dict.fromkeys(cell.variant for cell, _ in cells))
    figures: dict[tuple[str, str], dict[tuple[int, int, int], str]] = {}
    for cell, result in cells:
        for runner in result.runners:
            figures.setdefault((runner.runner, cell.variant or ""), {})[_point(cell)] = (
                _figure(runner.summary.mean_ns if runner.summary else None, runner.errors)
            )
    runners = list(dict.fromkeys(runner for runner, _ in figures))
    rows = tuple(
        (runner, target, tuple(figures[runner, target].get(point, "-") for point in points))
        for runner in runners
        for target in targets
        if (runner, target) in figures
    )
    return TargetGrid(columns, rows)


def _point(cell: SweepCell) -> tuple[int, int, int]:
    return (cell.concurrency, cell.pool_size, cell.max_overflow)


def _column(point: tuple[int, int, int], pools_swept: bool) -> str:
    concurrency, pool_size, max_overflow = point
    if not pools_swept:
        return f"c={concurrency}"
    return f"c={concurrency} pool {pool_size}+{overflow(max_overflow)}"


def _figure(mean_ns: float | None, errors: int) -> str:
    text = ms_from_ns(mean_ns)
    return f"{text} ({count(errors)} failed)" if errors else text


#: the line under the grid
GRID_CAPTION = (
    "mean latency in milliseconds of each runner on each target, at each point of the sweep; "
    "the findings under each point say which differences are beyond noise"
)
