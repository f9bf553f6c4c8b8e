"""Pool-setting sweeps: order the grid, pick the setting to recommend.

Pure: no I/O, no clocks.  The harness measures each cell of the grid (N worker
threads sharing one pool); this module only decides what to run and, from the
measured cells, what to recommend.  ``tests/unit/test_sweep.py`` checks it by hand.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from dbbench.results.model import Recommendation, SweepCell

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
    are dropped.  Empty if any of the three is empty.
    """
    return list(
        itertools.product(
            sorted(set(concurrencies)), sorted(set(pool_sizes)), sorted(set(max_overflows))
        )
    )


def _size_key(cell: SweepCell) -> tuple[float, int, int]:
    """Smaller is a smaller setting: fewest connections, then smaller pool_size."""
    return (cell.connections, cell.pool_size, cell.max_overflow)


def recommend(cells: Sequence[SweepCell], threshold: float = 0.95) -> list[Recommendation]:
    """One recommendation per concurrency, ascending.

    At each concurrency, only *clean* cells count: some operation succeeded and
    none failed (no pool timeouts, no other errors).

    * ``best`` is the clean cell with the highest ``ops_per_s``; on a tie, the
      smaller setting (below).
    * ``chosen`` is the smallest clean setting whose ``ops_per_s`` is at least
      ``threshold × best.ops_per_s`` (exactly the threshold qualifies).  Smallest
      means the fewest connections the pool may open, ``pool_size +
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
                Recommendation(concurrency, None, None, None, rule.describe(), False)
            )
            continue
        # max() keeps the first of equal values, and ``clean`` is smallest first
        best = max(clean, key=lambda c: c.ops_per_s or 0.0)
        best_ops = best.ops_per_s or 0.0
        floor = threshold * best_ops * (1 - _TOLERANCE)
        chosen = next(c for c in clean if (c.ops_per_s or 0.0) >= floor)
        fraction = (chosen.ops_per_s or 0.0) / best_ops if best_ops > 0 else 1.0
        recommendations.append(
            Recommendation(
                concurrency=concurrency,
                chosen=chosen,
                best=best,
                fraction_of_best=fraction,
                rule_of_thumb=rule.describe(),
                agrees_with_rule=rule.fits(chosen.pool_size, chosen.max_overflow),
            )
        )
    return recommendations
