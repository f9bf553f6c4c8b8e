"""Is a difference beyond noise: tests and intervals of ratios, between repetitions or within a run.

Pure: numbers in, a frozen ``Comparison`` out; no I/O, no clocks.  The distributions
are scipy's: Student's t and the normal from ``scipy.special`` (with numpy, 0.3 s to
import), Mann-Whitney's U from ``scipy.stats`` (0.7 s), imported by the rank test
when it first runs, so comparing single runs or paired repetitions does not pay for
it.  Nothing on the start-up path imports this module (``tests/unit/test_startup.py``),
and ``diffing`` imports it only when a test runs.

Where the noise is measured.  Operations of one run are not independent draws of
what the next run would measure: the machine's load, CPU frequency and the server's
caches move a whole run at once.  A test on per-operation samples counts thousands
of operations as evidence and calls that drift significant (Welch on per-operation
samples raised a false alarm in 59.8% of splits of one configuration's runs in two;
Mann-Whitney on per-run medians in 5.0%).  So with several repetitions of a run
(``--repeat K``) the unit is the repetition: ``compare_repetitions`` takes one value
per repetition (its mean or median latency, its ops/s) and tests the variation
between them.  ``welch_within_run`` is the fallback for one repetition: its interval
covers the noise inside that run only.

Every ratio is ``new / base`` of positive values, computed on their logarithms, so
an interval is as wide for "twice as slow" as for "twice as fast", and multiplying
both sides by a constant (ns -> ms) changes nothing.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

from dbbench.stats import Speedup, Summary

#: two-sided significance level of the comparisons between repetitions
ALPHA = 0.05
#: log ratios that spread less than this are taken as equal: floating-point rounding of
#: equal ratios (ln 40 - ln 20 against ln 20 - ln 10), far below any measurement's noise
NO_SPREAD = 1e-12
#: Mann-Whitney's exact distribution up to this many values a side (a few ms at 100);
#: the normal approximation above it, where the two agree to many digits
EXACT_LIMIT = 100


@dataclass(frozen=True)
class Comparison:
    """``new`` against ``base``: the central values, their ratio, its interval, the verdict.

    ``statistic`` names the central value of each side: ``"median"`` (of the
    repetitions, unpaired), ``"geometric mean"`` (paired repetitions), ``"mean"``
    (of one run's operations).  ``ratio`` is ``new / base``; ``low``..``high`` is its
    confidence interval at ``1 - alpha``; ``p_value`` is the test's, two-sided.
    ``beyond_noise`` is ``p_value < alpha``, or None when no test could decide: too
    few values for the test ever to reach ``alpha`` (``method`` then starts with
    ``"n/a"`` and says how many are needed; ``p_value`` is still given), or a run
    with fewer than 2 operations.  ``low`` and ``high`` are None without an interval.
    """

    statistic: str
    base: float
    new: float
    ratio: float
    low: float | None
    high: float | None
    p_value: float | None
    method: str
    beyond_noise: bool | None
    n_base: int
    n_new: int
    alpha: float = ALPHA

    @property
    def confidence(self) -> float:
        """The interval's confidence, ``1 - alpha`` (0.95 by default)."""
        return 1 - self.alpha


# --- how many repetitions a test needs ----------------------------------------


def smallest_p_value(n_base: int, n_new: int, *, paired: bool = False) -> float:
    """The smallest two-sided p-value the test can give for these sizes, with the best data.

    Unpaired (exact Mann-Whitney): every base value below every new one, or above,
    is the most extreme of the ``C(n_base + n_new, n_base)`` equally likely orderings,
    at each end: ``p = 2 / C(n_base + n_new, n_base)`` (capped at 1); 4 a side give
    ``2 / 70 = 0.029``, 3 a side ``2 / 20 = 0.1``.  Paired (a t-test of the log
    ratios): 0 from 2 pairs on (the t statistic is unbounded), 1 for one pair.
    Raises ValueError for a side without values, and for paired sides of unequal sizes.
    """
    _check_sizes(n_base, n_new, paired)
    if paired:
        return 0.0 if n_base >= 2 else 1.0
    return min(1.0, 2 / math.comb(n_base + n_new, n_base))


def can_reach(n_base: int, n_new: int, alpha: float = ALPHA, paired: bool = False) -> bool:
    """Whether the test can ever give ``p < alpha`` with these sizes (``smallest_p_value``)."""
    return smallest_p_value(n_base, n_new, paired=paired) < alpha


def repetitions_needed(
    alpha: float = ALPHA, *, paired: bool = False, other: int | None = None
) -> int:
    """The fewest repetitions a side for which the test can reach ``p < alpha``.

    Unpaired: the smallest n with ``can_reach(n, n, alpha)`` (4 at 0.05, 5 at 0.01),
    or with ``other`` given, the smallest n with ``can_reach(n, other, alpha)``: the
    size the other side needs (with ``other`` 1 that is 40 at 0.05).  Paired: 2,
    whatever ``alpha`` and ``other`` (pairs come in equal numbers).
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, not {alpha}")
    if paired:
        return 2
    if other is not None and other < 1:
        raise ValueError(f"the other side needs at least one repetition, not {other}")
    n = 1
    while not can_reach(n, n if other is None else other, alpha):
        n += 1
    return n


def _check_sizes(n_base: int, n_new: int, paired: bool) -> None:
    if n_base < 1 or n_new < 1:
        raise ValueError(f"each side needs at least one value, not {n_base} and {n_new}")
    if paired and n_base != n_new:
        raise ValueError(f"paired sides need as many values each, not {n_base} and {n_new}")


# --- between repetitions ------------------------------------------------------


def compare_repetitions(
    base: Sequence[float], new: Sequence[float], *, paired: bool = False, alpha: float = ALPHA
) -> Comparison:
    """Compare one value per repetition (a mean or median latency, ops/s) of two sides.

    Unpaired (``paired=False``: the repetitions of two separate runs, e.g. two files):
    two-sided Mann-Whitney U on the values (``scipy.stats.mannwhitneyu``: exact when
    no value is repeated and no side has more than ``EXACT_LIMIT``, else the normal
    approximation with its tie correction); ``ratio = median(new) / median(base)``,
    and its interval is the Hodges–Lehmann one (``_shift_interval``).

    Paired (``base[i]`` and ``new[i]`` measured interleaved in repetition i, as duet
    benchmarking does): a one-sample t-test of the log ratios
    ``ln(new[i] / base[i])``, ``t = mean / (sd / sqrt(K))``, p from Student's t with
    ``K - 1`` degrees of freedom (``t_two_sided_p``); ``ratio`` is the geometric
    mean ratio ``exp(mean(log ratios))`` (= geometric mean of new / that of base),
    and its interval ``exp(mean ± t(1 - alpha/2, K - 1) · sd / sqrt(K))``.  Why t and
    not Wilcoxon's signed-rank test: its smallest two-sided p with K pairs is
    ``2 / 2^K``, 0.0625 at K = 5, so five repetitions could never show anything at 5%;
    and the log ratio of two runs' mean latencies, each over thousands of operations,
    is close to normal, which is what the t-test assumes.

    With too few values for the test ever to reach ``alpha`` (``can_reach``) the
    comparison has no interval and ``beyond_noise`` None.  Values must be positive
    and finite (ValueError naming the side otherwise).
    """
    _check_sizes(len(base), len(new), paired)
    if paired:
        return _paired(_logs(base, "base"), _logs(new, "new"), alpha)
    return _mann_whitney(base, new, alpha)


def speedup_between_repetitions(
    base_means: Sequence[float], new_means: Sequence[float], confidence: float = 0.95
) -> Speedup:
    """How many times faster ``new`` is than ``base``, from paired per-repetition latencies.

    ``base_means[i]`` and ``new_means[i]`` are the mean latencies of repetition i (any
    one unit).  ``ratio`` is the geometric mean of ``base_means[i] / new_means[i]``
    (> 1: new is faster), the interval that of the paired t-test of
    ``compare_repetitions(..., paired=True)`` inverted: the same ``stats.Speedup`` that
    ``stats.speedup`` gives within one run, with the repetitions as the noise
    (``repetitions`` is their number).  Fewer than 2 repetitions: no interval.
    """
    comparison = compare_repetitions(base_means, new_means, paired=True, alpha=1 - confidence)
    low = None if comparison.high is None else 1 / comparison.high
    high = None if comparison.low is None else 1 / comparison.low
    return Speedup(1 / comparison.ratio, low, high, confidence, repetitions=comparison.n_base)


def paired_speedup(parts: Sequence[Any], base: str, other: str) -> Speedup | None:
    """``other``'s speedup over ``base`` between the repetitions ``parts`` (each with a
    ``runner(name)`` whose ``summary`` has a ``mean_ns``: a ``RunResult`` or a
    ``Repetition``), paired by repetition (``speedup_between_repetitions``); None unless
    both succeeded in every one of two or more."""
    means = [
        (b.summary.mean_ns, o.summary.mean_ns)
        for part in parts
        if (b := part.runner(base)) is not None and (o := part.runner(other)) is not None
        and b.summary and o.summary
    ]
    if len(means) != len(parts) or len(means) < 2:
        return None
    speedup = speedup_between_repetitions([b for b, _ in means], [o for _, o in means])
    return dataclasses.replace(speedup, repetitions=len(means))


def within_noise_of(
    best_values: Sequence[float],
    values: Sequence[float],
    *,
    paired: bool = True,
    alpha: float = ALPHA,
) -> bool:
    """Whether ``values`` (a sweep cell's repetitions) cannot be told apart from the best's.

    ``compare_repetitions(best_values, values)``'s verdict: True unless the
    difference is beyond noise; also True when there are too few repetitions for the
    test to decide (``beyond_noise`` None), since nothing then tells the two apart.
    """
    comparison = compare_repetitions(best_values, values, paired=paired, alpha=alpha)
    return comparison.beyond_noise is not True


def _logs(values: Sequence[float], side: str) -> np.ndarray:
    """The natural logs of ``values``; ValueError naming ``side`` for one not > 0 or not finite."""
    logs = []
    for value in values:
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{side}: every value must be positive and finite, not {value!r}")
        logs.append(math.log(value))
    return np.array(logs, dtype=float)


def _rank_test(
    base_logs: np.ndarray, new_logs: np.ndarray
) -> tuple[Callable[[float], float], bool]:
    """Mann-Whitney's two-sided p of ``new_logs - shift`` against ``base_logs``, as a function.

    Exact (the second value True) when no value repeats and neither side has more
    than ``EXACT_LIMIT``; the normal approximation with scipy's tie correction
    otherwise.  The ranks of the logs are those of the values: p is the same.
    """
    from scipy.stats import mannwhitneyu  # 0.7 s to import: only where a rank test runs

    pooled = np.concatenate([base_logs, new_logs])
    exact = (
        len(np.unique(pooled)) == len(pooled)
        and max(map(len, (base_logs, new_logs))) <= EXACT_LIMIT
    )

    def p_value(shift: float) -> float:
        result = mannwhitneyu(
            new_logs - shift,
            base_logs,
            alternative="two-sided",
            method="exact" if exact else "asymptotic",
        )
        return float(result.pvalue)

    return p_value, exact


def _mann_whitney(base: Sequence[float], new: Sequence[float], alpha: float) -> Comparison:
    """``compare_repetitions`` unpaired: the medians, Mann-Whitney's p, ``_shift_interval``."""
    base_logs, new_logs = _logs(base, "base"), _logs(new, "new")
    p_value, exact = _rank_test(base_logs, new_logs)
    base_median, new_median = float(np.median(base)), float(np.median(new))
    common = {
        "statistic": "median",
        "base": base_median,
        "new": new_median,
        "ratio": new_median / base_median,
        "p_value": p_value(0.0),
        "n_base": len(base_logs),
        "n_new": len(new_logs),
        "alpha": alpha,
    }
    if not can_reach(len(base_logs), len(new_logs), alpha):
        needed = repetitions_needed(alpha)
        why = f"n/a (mann-whitney needs {needed} repetitions a side for p < {alpha:g})"
        return Comparison(low=None, high=None, method=why, beyond_noise=None, **common)
    low_log, high_log = _shift_interval(base_logs, new_logs, alpha, p_value)
    return Comparison(
        low=math.exp(low_log) if math.isfinite(low_log) else None,
        high=math.exp(high_log) if math.isfinite(high_log) else None,
        method="mann-whitney" if exact else "mann-whitney (normal approximation)",
        beyond_noise=p_value(0.0) < alpha,
        **common,
    )


def _shift_interval(
    base_logs: np.ndarray,
    new_logs: np.ndarray,
    alpha: float,
    p_value: Callable[[float], float],
) -> tuple[float, float]:
    """The Hodges–Lehmann interval of the log ratio: the Mann-Whitney test inverted.

    The shifts ``s`` for which ``p_value(s)`` (the test of ``new_logs - s`` against
    ``base_logs``) is at least ``alpha``: an interval between two of the
    ``n_base · n_new`` pairwise differences ``new_logs[j] - base_logs[i]``, closed
    (the classic distribution-free interval of the median of those differences,
    Moses's: Hollander & Wolfe, *Nonparametric Statistical Methods*, §4.3).  Between
    two consecutive differences the test's U does not change, so the p-value is
    taken once per gap, at its midpoint, and the two ends are found by bisection:
    p rises towards the middle difference and falls after it.  ``-inf`` or ``inf``
    when the test accepts every shift that way (possible only with ties, whose
    normal approximation reaches less far).

    Why this rather than ``scipy.stats.bootstrap``: it is the test's own interval,
    so it excludes a ratio of 1 exactly when ``p < alpha`` (ties on an end aside),
    and no table can show "1.3× (95% CI 0.9–1.8)" beside "beyond noise";
    it is exact and deterministic; a bootstrap of medians from 5 values can only
    resample those 5 and its intervals are too short.  The interval is of the ratio
    of medians under the model that ``new`` is ``base`` times a constant.  The
    sample ratio of medians lies inside it up to 11 repetitions a side at 5%
    (enough of the differences lie on each side of it); beyond, it can fall outside
    only in contrived data.
    """
    differences = np.sort(np.subtract.outer(new_logs, base_logs).ravel())
    edges = np.unique(differences)
    gaps = len(edges) + 1  # gap g lies between edges[g - 1] and edges[g]

    def midpoint(g: int) -> float:
        if g == 0:
            return float(edges[0]) - 1.0
        if g == len(edges):
            return float(edges[-1]) + 1.0
        return (float(edges[g - 1]) + float(edges[g])) / 2

    # U in gap g is the number of differences above it; the test is most at ease
    # where U is closest to half of them
    above = len(differences) - np.searchsorted(differences, [midpoint(g) for g in range(gaps)])
    middle = int(np.argmin(np.abs(above - len(differences) / 2)))

    def accepted(g: int) -> bool:
        return p_value(midpoint(g)) >= alpha

    def last_accepted(g: int) -> bool:  # false, then true from the last accepted gap on
        return g + 1 == gaps or not accepted(g + 1)

    if not accepted(middle):
        # every difference ties on the middle edge (identical repetitions): the test
        # accepts no gap, only that shift itself
        shift = float(np.median(differences))
        return shift, shift
    first = _first_true(0, middle, accepted)
    last = _first_true(middle, gaps - 1, last_accepted)
    low = float(edges[first - 1]) if first > 0 else -math.inf
    high = float(edges[last]) if last < len(edges) else math.inf
    return low, high


def _first_true(lo: int, hi: int, predicate: Callable[[int], bool]) -> int:
    """The smallest g in ``[lo, hi]`` with ``predicate(g)``, for a predicate false then true.

    ``predicate(hi)`` is taken to be true (it is not evaluated).
    """
    while lo < hi:
        mid = (lo + hi) // 2
        if predicate(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def _paired(base_logs: np.ndarray, new_logs: np.ndarray, alpha: float) -> Comparison:
    """``compare_repetitions`` paired: geometric means, the t-test and interval of log ratios."""
    log_ratios = new_logs - base_logs
    mean = float(np.mean(log_ratios))
    common = {
        "statistic": "geometric mean",
        "base": math.exp(float(np.mean(base_logs))),
        "new": math.exp(float(np.mean(new_logs))),
        "ratio": math.exp(mean),
        "n_base": len(base_logs),
        "n_new": len(new_logs),
        "alpha": alpha,
    }
    if len(log_ratios) < 2:
        why = f"n/a (paired-t needs {repetitions_needed(alpha, paired=True)} repetitions)"
        return Comparison(
            low=None, high=None, p_value=None, method=why, beyond_noise=None, **common
        )
    if np.ptp(log_ratios) <= NO_SPREAD:  # no spread: any difference is certain, none is none
        p = 1.0 if abs(mean) <= NO_SPREAD else 0.0
        low_log = high_log = mean
    else:
        df = len(log_ratios) - 1
        se = float(np.std(log_ratios, ddof=1)) / math.sqrt(len(log_ratios))
        p = t_two_sided_p(mean / se, df)
        half_width = t_quantile(1 - alpha / 2, df) * se
        low_log, high_log = mean - half_width, mean + half_width
    return Comparison(
        low=math.exp(low_log),
        high=math.exp(high_log),
        p_value=p,
        method="paired-t (log)",
        beyond_noise=p < alpha,
        **common,
    )


# --- within one run -----------------------------------------------------------


def t_two_sided_p(t: float, df: float) -> float:
    """``P(|T| >= |t|)`` for Student's t with ``df`` > 0 degrees of freedom (need not be whole).

    ``2 · scipy.special.stdtr(df, -|t|)`` (what ``scipy.stats.t.sf`` computes, without
    importing scipy.stats); ``df`` infinite is the normal distribution (``ndtr``), and
    ``t`` infinite gives 0.
    """
    if math.isinf(df):
        return float(2 * special.ndtr(-abs(t)))
    return float(2 * special.stdtr(df, -abs(t)))


def t_quantile(probability: float, df: float) -> float:
    """The ``probability`` quantile of Student's t with ``df`` degrees of freedom.

    ``scipy.special.stdtrit`` (``scipy.stats.t.ppf``'s); ``df`` infinite: ``ndtri``, the normal's.
    """
    if math.isinf(df):
        return float(special.ndtri(probability))
    return float(special.stdtrit(df, probability))


def welch_df(var_base: float, n_base: int, var_new: float, n_new: int) -> float:
    """Welch–Satterthwaite degrees of freedom of ``var_base + var_new``.

    ``var_*`` is each side's squared standard error (``sd² / n``, or on the log
    scale ``(sd / mean)² / n``) and ``n_*`` its count, at least 2:
    ``df = (var_base + var_new)² / (var_base² / (n_base - 1) + var_new² / (n_new - 1))``;
    infinite when both variances are 0.
    """
    denominator = var_base**2 / (n_base - 1) + var_new**2 / (n_new - 1)
    return (var_base + var_new) ** 2 / denominator if denominator else math.inf


def welch_within_run(base: Summary, new: Summary, alpha: float = ALPHA) -> Comparison:
    """``new.mean / base.mean`` of one run's operations, tested against the noise inside it.

    The K = 1 fallback: each side's operations are treated as independent draws,
    which the run-to-run variation they leave out is not (see the module's doc).
    On the log scale, as ``stats.speedup`` (the delta method): the log of a mean has
    standard error ``sd / (sqrt(n) · mean)``, the two are independent, so
    ``se² = rse_base² + rse_new²``, ``t = ln(ratio) / se`` with Welch–Satterthwaite
    ``df`` of the two squared relative errors (``welch_df``), ``p`` two-sided from
    Student's t, and the interval ``ratio · exp(± t(1 - alpha/2, df) · se)``, which
    excludes 1 exactly when ``p < alpha``.  Either side with fewer than 2 operations:
    no test (``beyond_noise`` None); no spread on either side: p is 1 for equal means,
    else 0.
    """
    ratio = new.mean_ns / base.mean_ns
    common = {
        "statistic": "mean",
        "base": base.mean_ns,
        "new": new.mean_ns,
        "ratio": ratio,
        "n_base": base.n,
        "n_new": new.n,
        "alpha": alpha,
    }
    if base.n < 2 or new.n < 2:
        return Comparison(
            low=None, high=None, p_value=None, method="n/a (n < 2)", beyond_noise=None, **common
        )
    var_base, var_new = ((s.stddev_ns / s.mean_ns) ** 2 / s.n for s in (base, new))
    se, df = math.sqrt(var_base + var_new), welch_df(var_base, base.n, var_new, new.n)
    # no spread: any difference is certain, none is none
    p = t_two_sided_p(math.log(ratio) / se, df) if se else (1.0 if ratio == 1 else 0.0)
    spread = math.exp(t_quantile(1 - alpha / 2, df) * se)
    return Comparison(
        low=ratio / spread,
        high=ratio * spread,
        p_value=p,
        method="welch-t (log, within run)",
        beyond_noise=p < alpha,
        **common,
    )
