"""Pool-setting sweeps: order the grid, pick the setting to recommend.

Pure: no I/O, no clocks.  The harness measures each cell of the grid (N worker
threads sharing one pool); this module only decides what to run and, from the
measured cells, what to recommend.  ``tests/unit/test_sweep.py`` checks it by hand.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dbbench.config.schema import MAX_SWEEP_CELLS, mentioned
from dbbench.errors import ConfigError
from dbbench.results.model import Recommendation, RunResult, SweepCell

#: relative slack when comparing a throughput with ``threshold × best``, so that a
#: cell at exactly the threshold qualifies despite floating-point rounding
_TOLERANCE = 1e-9


@dataclass(frozen=True)
class RuleOfThumb:
    """The usual advice for a pool shared by ``concurrency`` threads, as exact bounds.

    The advice: about one pooled connection per concurrent worker, but no fewer
    than SQLAlchemy's default of 5 unless there are fewer workers than that, never
    more than 20, and little overflow.  Precisely, a setting agrees when

    * ``min(5, c) <= pool_size <= min(20, max(5, 2 × c))`` for concurrency ``c``
      (twice the workers is the loosest reading of "near the concurrency"; above
      that connections are never all in use at once), and
    * ``0 <= max_overflow <= 5`` (unlimited overflow, -1, does not agree).  Zero
      agrees: with a fixed number of threads there are no bursts to absorb.

    For c = 1, 8 and 32 the pool_size bounds are 1–5, 5–16 and 5–20.
    """

    concurrency: int
    pool_size_min: int
    pool_size_max: int
    max_overflow_max: int = 5

    @classmethod
    def for_concurrency(cls, concurrency: int) -> RuleOfThumb:
        return cls(
            concurrency=concurrency,
            pool_size_min=min(5, concurrency),
            pool_size_max=min(20, max(5, 2 * concurrency)),
        )

    def fits(self, pool_size: int, max_overflow: int) -> bool:
        return (
            self.pool_size_min <= pool_size <= self.pool_size_max
            and 0 <= max_overflow <= self.max_overflow_max
        )

    def disagreement(self, pool_size: int, max_overflow: int) -> str | None:
        """Which part of the rule a setting breaks, e.g. "pool_size 2 is below 5";
        None when it agrees."""
        parts = []
        if pool_size < self.pool_size_min:
            parts.append(f"pool_size {pool_size} is below {self.pool_size_min}")
        elif pool_size > self.pool_size_max:
            parts.append(f"pool_size {pool_size} is above {self.pool_size_max}")
        if max_overflow < 0:
            parts.append("max_overflow -1 (unlimited) is not bounded")
        elif max_overflow > self.max_overflow_max:
            parts.append(f"max_overflow {max_overflow} is above {self.max_overflow_max}")
        return " and ".join(parts) or None

    def describe(self) -> str:
        """e.g. "rule of thumb: pool_size 5–16 for concurrency 8, max_overflow 0–5"."""
        return (
            f"rule of thumb: pool_size {self.pool_size_min}–{self.pool_size_max} "
            f"for concurrency {self.concurrency}, max_overflow 0–{self.max_overflow_max}"
        )


def grid(
    concurrencies: Sequence[int], pool_sizes: Sequence[int], max_overflows: Sequence[int]
) -> list[tuple[int, int, int]]:
    """Every ``(concurrency, pool_size, max_overflow)``, in the order to run them.

    Ascending by concurrency, then pool_size, then max_overflow; repeated values
    are dropped.  Empty if any of the three is empty.  More than ``MAX_SWEEP_CELLS``
    is refused (``check_size``).
    """
    check_size(concurrencies, pool_sizes, max_overflows)
    return list(
        itertools.product(
            sorted(set(concurrencies)), sorted(set(pool_sizes)), sorted(set(max_overflows))
        )
    )


def check_size(
    concurrencies: Sequence[int], pool_sizes: Sequence[int], max_overflows: Sequence[int]
) -> None:
    """A grid of more than ``MAX_SWEEP_CELLS`` cells is refused, naming its lists."""
    axes = (
        ("benchmark", "concurrency", concurrencies),
        ("pool", "pool_size", pool_sizes),
        ("pool", "max_overflow", max_overflows),
    )
    sizes = [(mentioned(section, key), len(set(values))) for section, key, values in axes]
    cells = math.prod(size for _, size in sizes)
    if cells > MAX_SWEEP_CELLS:
        given = " × ".join(f"{size} {name} values" for name, size in sizes if size > 1)
        raise ConfigError(
            f"a sweep of {given} is {cells} cells, each a run of its own: at most "
            f"{MAX_SWEEP_CELLS}; give fewer values"
        )


def _size_key(cell: SweepCell) -> tuple[float, int, int]:
    """Smaller is a smaller setting: fewest connections, then smaller pool_size."""
    return (cell.connections, cell.pool_size, cell.max_overflow)


#: (best cell, another cell) -> whether the other's throughput differs from the best's
#: beyond noise; None when it cannot be told
NoiseTest = Callable[[SweepCell, SweepCell], "bool | None"]


def recommend(
    cells: Sequence[SweepCell],
    threshold: float = 0.95,
    *,
    beyond_noise: NoiseTest | None = None,
    noise: str = "not tested",
) -> list[Recommendation]:
    """One recommendation per concurrency, ascending.

    At each concurrency, only *clean* cells count: some operation succeeded and
    none failed (no pool timeouts, no other errors).

    * ``best`` is the clean cell with the highest ``ops_per_s``; on a tie, the
      smaller setting (below).
    * A clean cell is *within noise* of the best when ``beyond_noise(best, cell)``
      is not True: the measurements cannot tell it from the best (``noise`` says
      what noise the test covers; ``noise_test`` makes one, with enough repetitions
      for it to tell).  Without a test, none is but the best.
    * ``chosen`` is the smallest clean setting that is within noise of the best or
      whose ``ops_per_s`` is at least ``threshold × best.ops_per_s`` (exactly the
      threshold qualifies: a difference that small is not worth connections).
      Smallest means the fewest connections the pool may open, ``pool_size +
      max_overflow`` (unlimited overflow counts as infinitely many), and on a tie
      the smaller ``pool_size``: connections kept open cost the server even when
      idle, overflow connections are closed when returned.
    * Since ``best`` itself qualifies, ``chosen`` is None exactly when ``best``
      is: when no cell at that concurrency is clean.

    ``threshold`` must be in (0, 1].
    """
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    by_concurrency: dict[int, list[SweepCell]] = {}
    for cell in cells:
        by_concurrency.setdefault(cell.concurrency, []).append(cell)

    recommendations = []
    for concurrency in sorted(by_concurrency):
        rule = RuleOfThumb.for_concurrency(concurrency)
        clean = sorted((c for c in by_concurrency[concurrency] if c.clean), key=_size_key)
        if not clean:
            recommendations.append(
                Recommendation(concurrency, None, None, None, rule.describe(), False, noise=noise)
            )
            continue
        # max() keeps the first of equal values, and ``clean`` is smallest first
        best = max(clean, key=lambda c: c.ops_per_s or 0.0)
        best_ops = best.ops_per_s or 0.0
        floor = threshold * best_ops * (1 - _TOLERANCE)
        within = [
            c
            for c in clean
            if c is best or (beyond_noise is not None and beyond_noise(best, c) is not True)
        ]
        chosen = next(c for c in clean if c in within or (c.ops_per_s or 0.0) >= floor)
        fraction = (chosen.ops_per_s or 0.0) / best_ops if best_ops > 0 else 1.0
        recommendations.append(
            Recommendation(
                concurrency=concurrency,
                chosen=chosen,
                best=best,
                fraction_of_best=fraction,
                rule_of_thumb=rule.describe(),
                agrees_with_rule=rule.fits(chosen.pool_size, chosen.max_overflow),
                disagreement=rule.disagreement(chosen.pool_size, chosen.max_overflow),
                within_noise=tuple((c.pool_size, c.max_overflow) for c in within)
                if beyond_noise is not None
                else (),
                noise=noise,
                clean_cells=len(clean),
            )
        )
    return recommendations


#: the fewest repetitions with which a sweep tests cells against the best between
#: repetitions: with 2, a paired t-test (1 degree of freedom) tells nothing short of a
#: many-fold difference apart, and "not shown to differ" would pass a pool with half the
#: best's throughput as "within noise"; with fewer, the 95% rule alone decides
SWEEP_REPETITIONS = 5


def noise_test(
    measured: Sequence[tuple[SweepCell, RunResult]], runner: str
) -> tuple[NoiseTest | None, str]:
    """The test ``recommend`` asks whether a cell's throughput differs from the best's,
    from the cells' results of the swept ``runner``, and the words for what it covers.

    With repetitions (``--repeat K``, K >= 2) each cell's ops/s in each repetition:
    the grid ran once per repetition, so repetition i of every cell ran at about the
    same time and the test pairs them (``significance.compare_repetitions``,
    ``paired=True``).  With one, Welch's t-test of the two cells' mean latencies within
    their runs: with a fixed number of workers, throughput is the concurrency over the
    mean latency; this covers the noise inside each run only.
    """
    # scipy: imported only once a sweep has cells to compare
    from dbbench.significance import compare_repetitions, welch_within_run

    results = {(c.concurrency, c.pool_size, c.max_overflow): r for c, r in measured}
    repetitions = min((len(r.repetitions) for r in results.values()), default=0)
    if 2 <= repetitions < SWEEP_REPETITIONS:
        return None, (
            f"not tested: {repetitions} repetitions are too few to tell cells apart "
            f"(--repeat {SWEEP_REPETITIONS})"
        )

    def key(cell: SweepCell) -> tuple[int, int, int]:
        return (cell.concurrency, cell.pool_size, cell.max_overflow)

    def beyond(best: SweepCell, cell: SweepCell) -> bool | None:
        base, other = results.get(key(best)), results.get(key(cell))
        if base is None or other is None:
            return None
        if repetitions >= 2:
            pairs = list(zip(_ops(base, runner), _ops(other, runner), strict=False))
            if len(pairs) < 2 or None in (v for pair in pairs for v in pair):
                return None
            comparison = compare_repetitions(
                [b for b, _ in pairs], [o for _, o in pairs], paired=True
            )
            return comparison.beyond_noise
        base_runner, other_runner = base.runner(runner), other.runner(runner)
        if base_runner is None or other_runner is None:
            return None
        if base_runner.summary is None or other_runner.summary is None:
            return None
        return welch_within_run(base_runner.summary, other_runner.summary).beyond_noise

    if repetitions >= 2:
        return beyond, f"between {repetitions} repetitions"
    return beyond, "within one run only"


def _ops(result: RunResult, runner: str) -> list[float | None]:
    return [r.ops_per_s for r in result.per_repetition(runner)]
