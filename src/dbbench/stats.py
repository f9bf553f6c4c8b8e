"""Pure statistics over latency histograms in nanoseconds.

No I/O, no clocks: every function here can be checked by hand, and
``tests/unit/test_stats.py`` does so.  Mean, standard deviation, minimum and
maximum are exact; percentiles are nearest-rank over the histogram's buckets
(exact below 2,048 ns, within 0.1% above: see ``histogram.py``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from statistics import NormalDist

from dbbench.histogram import LatencyHistogram


@dataclass(frozen=True)
class Summary:
    """Descriptive statistics of one runner's successful operations."""

    n: int
    min_ns: int
    mean_ns: float
    #: sample standard deviation (n - 1 in the denominator); 0 when n == 1
    stddev_ns: float
    p50_ns: int
    p90_ns: int
    p95_ns: int
    p99_ns: int
    p999_ns: int
    max_ns: int

    @property
    def ops_per_s(self) -> float:
        """Operations per second of one sequential client: 1 / mean latency."""
        return 1e9 / self.mean_ns if self.mean_ns > 0 else math.inf


def summarize(histogram: LatencyHistogram) -> Summary:
    """Summarise a histogram; raises ValueError when it is empty."""
    if not histogram.count:
        raise ValueError("no samples to summarise")
    return Summary(
        n=histogram.count,
        min_ns=histogram.min_ns,
        mean_ns=histogram.mean_ns,
        stddev_ns=histogram.stddev_ns,
        p50_ns=histogram.percentile(0.50),
        p90_ns=histogram.percentile(0.90),
        p95_ns=histogram.percentile(0.95),
        p99_ns=histogram.percentile(0.99),
        p999_ns=histogram.percentile(0.999),
        max_ns=histogram.max_ns,
    )


def summarize_samples(samples_ns: Iterable[int]) -> Summary:
    """``summarize`` over a list of values, for scripts and tests."""
    histogram = LatencyHistogram()
    for value in samples_ns:
        histogram.record(value)
    return summarize(histogram)


@dataclass(frozen=True)
class Speedup:
    """How many times faster ``candidate`` is than ``baseline``, by mean latency.

    ``ratio`` > 1 means faster.  ``ci_low``/``ci_high`` bound the ratio with
    the given confidence; they are None when either side has fewer than two
    samples (no spread, so no interval).  ``repetitions`` says what noise the
    interval covers: that between repetitions (2 or more), or within one run (1).
    """

    ratio: float
    ci_low: float | None
    ci_high: float | None
    confidence: float
    #: the repetitions whose variation the interval covers; 1: the noise inside one run
    #: only (``speedup``), which a rerun can exceed
    repetitions: int = 1

    @property
    def beyond_noise(self) -> bool | None:
        """The interval leaves out 1 (no difference); None without an interval."""
        if self.ci_low is None or self.ci_high is None:
            return None
        return self.ci_low > 1 or self.ci_high < 1


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
