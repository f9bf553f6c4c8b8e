"""Comparisons between repetitions and within a run, against numbers worked by hand.

The critical values of Mann-Whitney's U below are those of the printed tables
(two-sided, 5%: 0 for 4 a side, 2 for 5, 13 for 8); the interval's ends are then the
(U + 1)-th smallest and largest of the pairwise ratios.  The property tests check what
must hold whatever the data: p in [0, 1], the same answer with the sides swapped or
the unit changed, an interval that holds its ratio and excludes 1 exactly when p < alpha.
"""

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dbbench.significance import (
    ALPHA,
    EXACT_LIMIT,
    Comparison,
    can_reach,
    compare_repetitions,
    repetitions_needed,
    smallest_p_value,
    speedup_between_repetitions,
    t_quantile,
    t_two_sided_p,
    welch_df,
    welch_within_run,
    within_noise_of,
)
from dbbench.stats import Summary, speedup, summarize_samples

# --- how many repetitions ------------------------------------------------------


def test_smallest_p_value_by_hand():
    # C(8, 4) = 70 orderings, the two most extreme: 2 / 70
    assert smallest_p_value(4, 4) == pytest.approx(2 / 70)
    assert smallest_p_value(3, 3) == pytest.approx(2 / 20)  # C(6, 3) = 20
    assert smallest_p_value(3, 5) == pytest.approx(2 / 56)  # C(8, 3) = 56
    assert smallest_p_value(1, 1) == 1.0  # 2 / C(2, 1) = 1
    assert smallest_p_value(2, 2, paired=True) == 0.0
    assert smallest_p_value(1, 1, paired=True) == 1.0


def test_smallest_p_value_is_what_scipy_gives_fully_separated_sides():
    from scipy.stats import mannwhitneyu

    for n_base, n_new in itertools.product(range(1, 8), repeat=2):
        base, new = range(n_base), range(100, 100 + n_new)
        p = mannwhitneyu(new, base, alternative="two-sided", method="exact").pvalue
        assert smallest_p_value(n_base, n_new) == pytest.approx(p), (n_base, n_new)


def test_can_reach_at_five_percent():
    assert not can_reach(3, 3)  # 0.1
    assert not can_reach(3, 4)  # 2 / 35 = 0.057
    assert can_reach(3, 5)  # 2 / 56 = 0.036
    assert can_reach(4, 4)  # 0.029
    assert not can_reach(4, 4, alpha=0.01)
    assert can_reach(2, 2, paired=True)
    assert not can_reach(1, 1, paired=True)


def test_repetitions_needed():
    assert repetitions_needed() == 4
    assert repetitions_needed(0.01) == 5  # 2 / C(10, 5) = 2 / 252 = 0.0079; 4 a side: 0.029
    # against one repetition: 2 / (n + 1) < 0.05 from n = 40 (2 / 41 = 0.0488)
    assert repetitions_needed(other=1) == 40
    # against two: 2 / C(n + 2, 2) < 0.05 from n = 8 (2 / 45; n = 7: 2 / 36 = 0.056)
    assert repetitions_needed(other=2) == 8
    assert repetitions_needed(other=4) == 4
    assert repetitions_needed(paired=True) == 2
    assert repetitions_needed(0.001, paired=True) == 2


def test_sizes_that_cannot_be_compared():
    with pytest.raises(ValueError, match="at least one"):
        smallest_p_value(0, 3)
    with pytest.raises(ValueError, match="as many"):
        compare_repetitions([1, 2, 3], [1, 2], paired=True)
    with pytest.raises(ValueError, match="alpha"):
        repetitions_needed(0)
    with pytest.raises(ValueError, match="other"):
        repetitions_needed(other=0)


@pytest.mark.parametrize("bad", [0.0, -1.0, math.inf, math.nan])
def test_values_must_be_positive_and_finite(bad):
    with pytest.raises(ValueError, match="new: every value must be positive"):
        compare_repetitions([1.0, 2.0], [1.0, bad])


# --- unpaired: Mann-Whitney and its interval ----------------------------------


def test_four_a_side_fully_separated():
    result = compare_repetitions([1, 2, 3, 4], [5, 6, 7, 8])
    assert (result.statistic, result.base, result.new) == ("median", 2.5, 6.5)
    assert result.ratio == pytest.approx(6.5 / 2.5)
    assert result.p_value == pytest.approx(2 / 70)
    assert result.beyond_noise is True
    assert result.method == "mann-whitney"
    # critical U 0: the interval runs from the smallest pairwise ratio to the largest
    assert result.low == pytest.approx(5 / 4)
    assert result.high == pytest.approx(8 / 1)
    assert (result.n_base, result.n_new, result.confidence) == (4, 4, 0.95)


def test_five_a_side_interval_is_the_third_pairwise_ratio_from_each_end():
    base, new = [10, 11, 12, 13, 14], [9.5, 10.5, 11.5, 12.5, 13.5]
    result = compare_repetitions(base, new)
    # smallest ratios: 9.5/14, 9.5/13, 10.5/14; largest: 13.5/10, 12.5/10, 13.5/11
    assert result.low == pytest.approx(10.5 / 14)
    assert result.high == pytest.approx(13.5 / 11)
    assert result.ratio == pytest.approx(11.5 / 12)
    # new ranks 1, 3, 5, 7, 9 among the ten: U = 0 + 1 + 2 + 3 + 4 = 10 (of 25);
    # P(U <= 10) = 87 / 252, counting the orderings (exact_u_critical's way), two-sided 174 / 252
    assert result.p_value == pytest.approx(174 / 252)
    assert result.beyond_noise is False


def test_eight_a_side_interval_is_the_fourteenth_pairwise_ratio_from_each_end():
    base = [100 + 3 * i for i in range(8)]
    new = [90 + 2.9 * i for i in range(8)]
    ratios = sorted(n / b for n in new for b in base)
    result = compare_repetitions(base, new)
    assert result.low == pytest.approx(ratios[13])  # critical U 13
    assert result.high == pytest.approx(ratios[-14])


def test_too_few_to_reach_has_no_verdict_and_says_how_many():
    result = compare_repetitions([1, 2, 3], [5, 6, 7])
    assert result.p_value == pytest.approx(0.1)  # the best three a side can do
    assert result.beyond_noise is None
    assert (result.low, result.high) == (None, None)
    assert result.method == "n/a (mann-whitney needs 4 repetitions a side for p < 0.05)"
    assert within_noise_of([1, 2, 3], [5, 6, 7], paired=False)


def test_ties_use_the_normal_approximation():
    result = compare_repetitions([10, 10, 11, 12, 12], [13, 13, 14, 15, 15])
    assert result.method == "mann-whitney (normal approximation)"
    assert result.beyond_noise is True
    assert result.low <= result.ratio <= result.high


def test_many_repetitions_use_the_normal_approximation():
    base = [1000 + i for i in range(EXACT_LIMIT + 1)]
    result = compare_repetitions(base, [value * 1.01 for value in base])
    assert result.method == "mann-whitney (normal approximation)"
    assert result.low < result.ratio < result.high


# --- paired: the t-test of log ratios ---------------------------------------


def test_paired_three_by_hand():
    # log ratios 0.1, 0.2, 0.3: mean 0.2, sd 0.1, se 0.1 / sqrt(3) = 0.0577350, t = 3.464102;
    # df 2: p = 1 - t / sqrt(2 + t²) = 1 - 3.464102 / sqrt(14) = 0.0741799
    base = [10.0, 20.0, 40.0]
    new = [b * math.exp(d) for b, d in zip(base, (0.1, 0.2, 0.3), strict=True)]
    result = compare_repetitions(base, new, paired=True)
    assert result.statistic == "geometric mean"
    assert result.method == "paired-t (log)"
    assert result.ratio == pytest.approx(math.exp(0.2))
    assert result.new / result.base == pytest.approx(result.ratio)
    assert result.p_value == pytest.approx(1 - math.sqrt(12 / 14), abs=1e-9)
    assert result.beyond_noise is False
    # t(0.975, 2) = 4.302653 (tables): 0.2 ± 4.302653 · 0.0577350 = 0.2 ± 0.248414
    assert result.low == pytest.approx(math.exp(0.2 - 0.248414), rel=1e-6)
    assert result.high == pytest.approx(math.exp(0.2 + 0.248414), rel=1e-6)


def test_five_pairs_can_be_beyond_noise():
    # Wilcoxon's signed-rank test could not: its smallest two-sided p is 2 / 2^5 = 0.0625
    base = [10.0, 10.4, 9.8, 10.1, 10.3]
    new = [b * r for b, r in zip(base, (1.03, 1.05, 1.04, 1.06, 1.04), strict=True)]
    result = compare_repetitions(base, new, paired=True)
    assert result.beyond_noise is True
    assert 1 < result.low < result.ratio < result.high


def test_paired_without_spread():
    same = compare_repetitions([10, 20], [10, 20], paired=True)
    assert (same.p_value, same.beyond_noise, same.low, same.high) == (1.0, False, 1.0, 1.0)
    doubled = compare_repetitions([10, 20], [20, 40], paired=True)
    assert (doubled.p_value, doubled.beyond_noise) == (0.0, True)
    assert doubled.low == doubled.high == pytest.approx(2.0)


def test_one_pair_has_no_test():
    result = compare_repetitions([10], [12], paired=True)
    assert result.ratio == pytest.approx(1.2)
    assert (result.p_value, result.beyond_noise, result.low) == (None, None, None)
    assert result.method == "n/a (paired-t needs 2 repetitions)"


def test_speedup_between_repetitions_by_hand():
    # latencies halved in every repetition, a little more or less: log ratios of base / new
    # ln 2.1 = 0.741937, ln 1.9 = 0.641854, ln 2 = 0.693147: mean 0.692313, sd 0.050048
    base = [10.0, 20.0, 30.0]
    new = [10 / 2.1, 20 / 1.9, 30 / 2.0]
    result = speedup_between_repetitions(base, new)
    logs = [math.log(2.1), math.log(1.9), math.log(2.0)]
    mean = sum(logs) / 3
    sd = math.sqrt(sum((x - mean) ** 2 for x in logs) / 2)
    half = 4.302653 * sd / math.sqrt(3)  # t(0.975, 2)
    assert result.ratio == pytest.approx(math.exp(mean))
    assert result.ci_low == pytest.approx(math.exp(mean - half), rel=1e-6)
    assert result.ci_high == pytest.approx(math.exp(mean + half), rel=1e-6)
    assert (result.confidence, result.repetitions, result.beyond_noise) == (0.95, 3, True)
    alone = speedup_between_repetitions([10.0], [5.0])
    assert alone.ratio == pytest.approx(2.0)
    assert (alone.ci_low, alone.ci_high) == (None, None)


def test_within_noise_of_the_best():
    best = [10.0, 10.2, 9.9, 10.1, 10.0]
    close = [b * r for b, r in zip(best, (1.01, 0.99, 1.0, 1.02, 0.98), strict=True)]
    slower = [b * r for b, r in zip(best, (1.20, 1.22, 1.19, 1.21, 1.20), strict=True)]
    assert within_noise_of(best, close)
    assert not within_noise_of(best, slower)
    assert not within_noise_of(best, slower, paired=False)  # 5 a side: all above, p = 0.008


# --- within one run ------------------------------------------------------------


def test_t_two_sided_p_closed_forms_and_tables():
    for t in (0.1, 1.0, 3.0, 10.0):
        # df 1 is Cauchy: 1 - 2·atan(t)/π; df 2: 1 - t / sqrt(2 + t²)
        assert t_two_sided_p(t, 1) == pytest.approx(1 - 2 * math.atan(t) / math.pi, abs=1e-12)
        assert t_two_sided_p(-t, 2) == pytest.approx(1 - t / math.sqrt(2 + t * t), abs=1e-12)
    assert t_two_sided_p(2.228139, 10) == pytest.approx(0.05, abs=1e-6)
    assert t_two_sided_p(3.0, math.inf) == pytest.approx(0.0026997960632601866, rel=1e-12)
    assert t_two_sided_p(math.inf, 5) == 0.0
    assert t_quantile(0.975, 10) == pytest.approx(2.228139, abs=1e-6)
    assert t_quantile(0.975, math.inf) == pytest.approx(1.959964, abs=1e-6)


def test_welch_df_by_hand():
    # (2 + 2)² / (2²/1 + 2²/1) = 16 / 8 = 2;  (3.2 + 0.9)² / (3.2²/4 + 0.9²/9) = 16.81 / 2.65
    assert welch_df(2.0, 2, 2.0, 2) == pytest.approx(2.0)
    assert welch_df(3.2, 5, 0.9, 10) == pytest.approx(16.81 / 2.65)
    assert welch_df(0.0, 5, 0.0, 5) == math.inf


def test_welch_within_run_by_hand():
    raw = summarize_samples([10, 20, 30])  # mean 20, sd 10
    pool = summarize_samples([1, 2, 3])  # mean 2, sd 1
    result = welch_within_run(raw, pool)
    # relative squared errors (10/20)²/3 = (1/2)²/3 = 1/12 each: se = sqrt(1/6) = 0.408248,
    # df = (1/6)² / (2 · (1/12)² / 2) = 4; t(0.975, 4) = 2.776445 (tables)
    # exp(2.776445 · 0.408248) = exp(1.133470) = 3.106425
    assert (result.statistic, result.base, result.new, result.ratio) == ("mean", 20, 2, 0.1)
    assert result.method == "welch-t (log, within run)"
    assert result.low == pytest.approx(0.1 / 3.106425, rel=1e-5)
    assert result.high == pytest.approx(0.1 * 3.106425, rel=1e-5)
    # t = ln(0.1) / 0.408248 = -5.640; tables for df 4: 4.604 at 1%, 8.610 at 0.1%
    assert 0.001 < result.p_value < 0.01
    assert result.beyond_noise is True


def test_welch_within_run_agrees_with_speedup_for_long_runs():
    # thousands of operations: t is the normal, and the interval that of stats.speedup inverted
    base = Summary(20_000, 0, 1_000_000.0, 300_000.0, 0, 0, 0, 0, 0, 0)
    new = Summary(20_000, 0, 990_000.0, 310_000.0, 0, 0, 0, 0, 0, 0)
    result, delta = welch_within_run(base, new), speedup(base, new)
    assert 1 / result.ratio == pytest.approx(delta.ratio)
    assert 1 / result.high == pytest.approx(delta.ci_low, rel=1e-5)
    assert 1 / result.low == pytest.approx(delta.ci_high, rel=1e-5)


def test_welch_within_run_without_spread_or_values():
    flat = Summary(5, 0, 100.0, 0.0, 0, 0, 0, 0, 0, 0)
    faster = Summary(5, 0, 50.0, 0.0, 0, 0, 0, 0, 0, 0)
    assert welch_within_run(flat, flat).p_value == 1.0
    assert welch_within_run(flat, faster).beyond_noise is True
    one = Summary(1, 0, 100.0, 0.0, 0, 0, 0, 0, 0, 0)
    alone = welch_within_run(one, flat)
    assert (alone.p_value, alone.beyond_noise, alone.method) == (None, None, "n/a (n < 2)")


# --- properties ------------------------------------------------------------------

#: latencies in ns are whole numbers: equal ones tie, and distinct ones stay distinct in any unit
value = st.integers(min_value=1, max_value=10_000_000).map(float)
side = st.lists(value, min_size=1, max_size=9)
unique_side = st.lists(value, min_size=1, max_size=6, unique=True)
scale = st.sampled_from([1e-6, 1e-3, 0.5, 3.0, 1e3])


def pairs(min_size=1):
    return st.lists(st.tuples(value, value), min_size=min_size, max_size=9)


def assert_close(one: float | None, other: float | None) -> None:
    assert (one is None) == (other is None)
    if one is not None:
        assert other == pytest.approx(one, rel=1e-9, abs=1e-12)


def inverse(value: float | None) -> float | None:
    return None if value is None else 1 / value


def assert_mirror(forward: Comparison, backward: Comparison) -> None:
    """``backward`` is ``forward`` with the sides swapped: every ratio turned over."""
    assert_close(backward.ratio, 1 / forward.ratio)
    assert_close(backward.p_value, forward.p_value)
    assert backward.beyond_noise == forward.beyond_noise
    assert_close(backward.low, inverse(forward.high))
    assert_close(backward.high, inverse(forward.low))


def assert_scaled(result: Comparison, scaled: Comparison) -> None:
    """``scaled`` is ``result`` in another unit: nothing but ``base`` and ``new`` changes."""
    for name in ("ratio", "p_value", "low", "high"):
        assert_close(getattr(scaled, name), getattr(result, name))
    assert scaled.beyond_noise == result.beyond_noise


def check_interval(result: Comparison) -> None:
    assert result.p_value is None or 0 <= result.p_value <= 1
    if result.low is not None and result.high is not None:
        assert result.low <= result.ratio * (1 + 1e-12)
        assert result.ratio <= result.high * (1 + 1e-12)


@given(base=side, new=side)
@settings(max_examples=100, deadline=None)
def test_unpaired_properties(base, new):
    result = compare_repetitions(base, new)
    check_interval(result)
    assert result.beyond_noise is None or result.beyond_noise == (result.p_value < ALPHA)
    assert (result.beyond_noise is None) == (not can_reach(len(base), len(new)))
    assert_mirror(result, compare_repetitions(new, base))


@given(base=side, new=side, factor=scale)
@settings(max_examples=100, deadline=None)
def test_unpaired_does_not_depend_on_the_unit(base, new, factor):
    result = compare_repetitions(base, new)
    scaled = compare_repetitions([b * factor for b in base], [n * factor for n in new])
    assert_scaled(result, scaled)


@given(pairs=pairs(), factor=scale)
@settings(max_examples=100, deadline=None)
def test_paired_properties(pairs, factor):
    base, new = [b for b, _ in pairs], [n for _, n in pairs]
    result = compare_repetitions(base, new, paired=True)
    check_interval(result)
    assert result.new / result.base == pytest.approx(result.ratio, rel=1e-9)
    assert_mirror(result, compare_repetitions(new, base, paired=True))
    scaled = compare_repetitions([b * factor for b in base], [n * factor for n in new], paired=True)
    assert_scaled(result, scaled)


@given(pairs=pairs(min_size=2))
@settings(max_examples=100, deadline=None)
def test_paired_interval_excludes_one_exactly_when_beyond_noise(pairs):
    base, new = [b for b, _ in pairs], [n for _, n in pairs]
    result = compare_repetitions(base, new, paired=True)
    if not math.isclose(result.p_value, ALPHA, rel_tol=1e-6):
        assert result.beyond_noise == (not result.low <= 1 <= result.high)


def exact_u_critical(n_base: int, n_new: int, alpha: float) -> int:
    """How many pairwise differences the interval leaves out at each end, by counting orderings.

    U of the new side is the number of (base, new) pairs the new value wins; over every
    one of the C(n_base + n_new, n_new) equally likely places of the new values, the
    largest k with 2 · P(U < k) < alpha.
    """
    size = n_base + n_new
    counts: dict[int, int] = {}
    for places in itertools.combinations(range(size), n_new):
        u = sum(place - rank for rank, place in enumerate(places))  # base values below each
        counts[u] = counts.get(u, 0) + 1
    total, below, k = math.comb(size, n_new), 0, 0
    for u in range(n_base * n_new + 1):
        below += counts.get(u, 0)
        if 2 * below / total >= alpha:
            break
        k = u + 1
    return k


@given(base=unique_side, new=unique_side)
@settings(max_examples=100, deadline=None)
def test_unpaired_interval_is_the_classic_one(base, new):
    if set(base) & set(new) or not can_reach(len(base), len(new)):
        return
    k = exact_u_critical(len(base), len(new), ALPHA)
    ratios = sorted(n / b for n in new for b in base)
    result = compare_repetitions(base, new)
    assert result.low == pytest.approx(ratios[k - 1], rel=1e-9)
    assert result.high == pytest.approx(ratios[-k], rel=1e-9)
    # the test inverted: 1 is outside exactly when p < alpha
    if 1 not in ratios:
        assert result.beyond_noise == (not result.low <= 1 <= result.high)


@given(base=st.lists(value, min_size=2, max_size=11), new=st.lists(value, min_size=2, max_size=11))
@settings(max_examples=100, deadline=None)
def test_unpaired_interval_holds_the_ratio_of_medians_up_to_eleven_a_side(base, new):
    check_interval(compare_repetitions(base, new))


def test_exact_u_critical_matches_the_printed_tables():
    # two-sided 5%: critical U 0 (4 a side), 2 (5), 5 (6), 8 (7), 13 (8); k = U + 1
    assert [exact_u_critical(n, n, 0.05) for n in (4, 5, 6, 7, 8)] == [1, 3, 6, 9, 14]


@pytest.mark.parametrize(("n_base", "n_new"), [(3, 5), (4, 4), (5, 3), (10, 10)])
def test_identical_repetitions_give_a_ratio_of_one_exactly(n_base, n_new):
    # every pairwise difference ties (hypothesis found 3 and 5 ones): the interval is
    # the one shift the test accepts, not open on one side
    result = compare_repetitions([1.0] * n_base, [1.0] * n_new)
    assert (result.low, result.ratio, result.high) == (1.0, 1.0, 1.0)
    assert result.beyond_noise is False
    assert_mirror(result, compare_repetitions([1.0] * n_new, [1.0] * n_base))
