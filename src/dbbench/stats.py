"""Pure statistics over latency histograms and samples in nanoseconds.

No I/O, no clocks: every function here can be checked by hand, and
``tests/unit/test_stats.py`` does so.  Mean, standard deviation, minimum and
maximum are exact; percentiles are nearest-rank over the histogram's buckets
(exact below 2,048 ns, within 0.1% above: see ``histogram.py``).  A quantile's
confidence interval is distribution-free: two order statistics
(``quantile_ranks``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
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


def quantile_ranks(n: int, q: float, confidence: float) -> tuple[int, int]:
    """1-based ranks ``(low, high)`` of order statistics bracketing the q-quantile.

    The number of the n values below the true q-quantile is Binomial(n, q);
    with its normal approximation the interval ``[x_(low), x_(high)]`` covers
    the quantile with probability ``confidence``, where
    ``low = floor(n·q - z·sqrt(n·q·(1 - q)))`` and
    ``high = ceil(n·q + z·sqrt(n·q·(1 - q)))`` (rounded outwards: conservative),
    ``z`` the normal quantile of ``(1 + confidence) / 2`` (1.96 at 95%, 2.5758 at 99%),
    then clamped to ``[1, n]``: with few values the interval of a high quantile
    runs to the maximum, and its coverage is then lower than stated.
    """
    if n < 1:
        raise ValueError("no values")
    z = NormalDist().inv_cdf((1 + confidence) / 2)
    centre, spread = n * q, z * math.sqrt(n * q * (1 - q))
    low = math.floor(centre - spread + 1e-9)
    high = math.ceil(centre + spread - 1e-9)
    return max(1, min(n, low)), max(1, min(n, high))


def sample_quantile_interval(values: Sequence[int], q: float, confidence: float) -> tuple[int, int]:
    """The distribution-free confidence interval of the q-quantile of ``values``:
    the values at ``quantile_ranks``, counted from the smallest."""
    ordered = sorted(values)
    low, high = quantile_ranks(len(ordered), q, confidence)
    return ordered[low - 1], ordered[high - 1]


def zero_events_bound(trials: int, confidence: float = 0.95) -> float:
    """The ``confidence`` upper bound of an event's rate when ``trials`` trials saw none:
    the rate ``r`` at which no event in ``trials`` has probability ``1 - confidence``,
    ``(1 - r) ** trials = 1 - confidence``, so ``r = 1 - (1 - confidence) ** (1 / trials)``
    (the exact binomial bound; about 3 / trials at 95%, the "rule of three")."""
    if trials < 1:
        raise ValueError("no trials")
    return 1 - (1 - confidence) ** (1 / trials)


def trials_for_bound(rate: float, confidence: float = 0.95) -> int:
    """The fewest trials with no event that bound its rate below ``rate`` at ``confidence``
    (``zero_events_bound(n) <= rate``): 59 for 5% at 95%."""
    if not 0 < rate < 1:
        raise ValueError("the rate is a fraction between 0 and 1")
    return math.ceil(math.log(1 - confidence) / math.log(1 - rate) - 1e-9)
