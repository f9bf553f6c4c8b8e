"""Pure statistics over latency samples in nanoseconds.

No I/O, no clocks: every function here can be checked by hand, and
``tests/unit/test_stats.py`` does so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """The ``fraction`` quantile (0..1) by linear interpolation between ranks.

    This is the "linear" method of numpy and R's type 7: the rank is
    ``(n - 1) * fraction`` and values between two ranks are interpolated.
    ``sorted_values`` must be sorted ascending and not empty.
    """
    if not sorted_values:
        raise ValueError("percentile of no values")
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be between 0 and 1, got {fraction}")
    rank = (len(sorted_values) - 1) * fraction
    low = math.floor(rank)
    high = min(low + 1, len(sorted_values) - 1)
    weight = rank - low
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * weight


@dataclass(frozen=True)
class Summary:
    """Descriptive statistics of one runner's successful operations."""

    n: int
    min_ns: int
    mean_ns: float
    #: sample standard deviation (n - 1 in the denominator); 0 when n == 1
    stddev_ns: float
    p50_ns: float
    p95_ns: float
    p99_ns: float
    max_ns: int

    @property
    def ops_per_s(self) -> float:
        """Operations per second of one sequential client: 1 / mean latency."""
        return 1e9 / self.mean_ns if self.mean_ns > 0 else math.inf


def summarize(samples_ns: Sequence[int]) -> Summary:
    """Summarise latency samples; raises ValueError when there are none."""
    if not samples_ns:
        raise ValueError("no samples to summarise")
    ordered = sorted(samples_ns)
    n = len(ordered)
    mean = math.fsum(ordered) / n
    variance = math.fsum((x - mean) ** 2 for x in ordered) / (n - 1) if n > 1 else 0.0
    return Summary(
        n=n,
        min_ns=ordered[0],
        mean_ns=mean,
        stddev_ns=math.sqrt(variance),
        p50_ns=percentile(ordered, 0.50),
        p95_ns=percentile(ordered, 0.95),
        p99_ns=percentile(ordered, 0.99),
        max_ns=ordered[-1],
    )


@dataclass(frozen=True)
class Speedup:
    """How many times faster ``candidate`` is than ``baseline``, by mean latency.

    ``ratio`` > 1 means faster.  ``ci_low``/``ci_high`` bound the ratio with
    the given confidence; they are None when either side has fewer than two
    samples (no spread, so no interval).
    """

    ratio: float
    ci_low: float | None
    ci_high: float | None
    confidence: float


def speedup(baseline: Summary, candidate: Summary, confidence: float = 0.95) -> Speedup:
    """Ratio of mean latencies with a confidence interval (delta method, log scale).

    The log of a sample mean is approximately normal with standard error
    ``s / (sqrt(n) * mean)``; the two runners are independent samples, so the
    standard error of ``ln(baseline.mean / candidate.mean)`` is the root of the
    sum of their squares.  The interval is ``ratio * exp(+-z * se)``, which
    stays positive and is symmetric for "faster" and "slower".
    """
    ratio = baseline.mean_ns / candidate.mean_ns
    if baseline.n < 2 or candidate.n < 2:
        return Speedup(ratio, None, None, confidence)
    relative_se_squared = sum(
        (s.stddev_ns / (math.sqrt(s.n) * s.mean_ns)) ** 2 for s in (baseline, candidate)
    )
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    spread = math.exp(z * math.sqrt(relative_se_squared))
    return Speedup(ratio, ratio / spread, ratio * spread, confidence)
