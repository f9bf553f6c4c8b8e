"""Statistics against numbers computed by hand."""

import math

import pytest

from dbbench.stats import quantile_ranks, sample_quantile_interval, speedup, summarize_samples


def test_percentiles_are_nearest_rank():
    s = summarize_samples(range(1, 11))  # 1..10
    assert s.p50_ns == 5  # rank ceil(0.5 * 10) = 5
    assert s.p90_ns == 9  # rank 9
    assert s.p95_ns == 10  # rank ceil(9.5) = 10
    assert s.p99_ns == 10
    assert s.p999_ns == 10


def test_percentile_of_one_value_is_that_value():
    assert summarize_samples([7]).p99_ns == 7


def test_summarize_by_hand():
    # mean 25; deviations -15,-5,5,15 -> squares 225,25,25,225 = 500; / 3 -> sd = sqrt(166.67)
    s = summarize_samples([40, 10, 30, 20])
    assert (s.n, s.min_ns, s.max_ns) == (4, 10, 40)
    assert s.mean_ns == 25
    assert s.stddev_ns == pytest.approx(math.sqrt(500 / 3))
    assert s.p50_ns == 20  # rank 2 of 10, 20, 30, 40
    assert s.p90_ns == 40  # rank ceil(3.6) = 4
    assert s.p99_ns == 40
    assert s.ops_per_s == pytest.approx(1e9 / 25)


def test_summarize_single_sample_has_zero_spread():
    s = summarize_samples([1000])
    assert s.stddev_ns == 0
    assert s.p99_ns == 1000
    assert s.ops_per_s == pytest.approx(1e6)


def test_summarize_rejects_no_samples():
    with pytest.raises(ValueError):
        summarize_samples([])


def test_speedup_ratio_and_interval_by_hand():
    raw = summarize_samples([10, 20, 30])  # mean 20, sd 10
    pool = summarize_samples([1, 2, 3])  # mean 2, sd 1
    result = speedup(raw, pool)
    assert result.ratio == pytest.approx(10)
    # relative standard errors: 10 / (sqrt(3) * 20) = 1 / (sqrt(3) * 2) = 0.288675
    # se of the log ratio: sqrt(2) * 0.288675 = 0.408248; z = 1.959964
    # exp(1.959964 * 0.408248) = exp(0.800152) = 2.225880
    assert result.ci_low == pytest.approx(10 / 2.225880, rel=1e-5)
    assert result.ci_high == pytest.approx(10 * 2.225880, rel=1e-5)
    assert result.confidence == 0.95


def test_speedup_below_one_means_slower_and_interval_contains_ratio():
    fast = summarize_samples([1, 2, 3])
    slow = summarize_samples([10, 20, 30])
    result = speedup(fast, slow)
    assert result.ratio == pytest.approx(0.1)
    assert result.ci_low < result.ratio < result.ci_high


def test_speedup_without_spread_information_has_no_interval():
    one = summarize_samples([5])
    result = speedup(summarize_samples([10, 20]), one)
    assert result.ratio == pytest.approx(3)
    assert result.ci_low is None and result.ci_high is None


def test_speedup_of_identical_constant_samples_is_exactly_one():
    result = speedup(summarize_samples([5, 5, 5]), summarize_samples([5, 5, 5]))
    assert (result.ratio, result.ci_low, result.ci_high) == (1, 1, 1)


def test_quantile_ranks_by_hand():
    # n 100, q 0.5: centre 50, sd sqrt(100 · 0.25) = 5, z(99%) = 2.575829 -> ±12.879
    # floor(37.12) = 37, ceil(62.88) = 63
    assert quantile_ranks(100, 0.5, 0.99) == (37, 63)
    # z(95%) = 1.959964 -> ±9.7998: floor(40.20) = 40, ceil(59.80) = 60
    assert quantile_ranks(100, 0.5, 0.95) == (40, 60)
    # n 100, q 0.99: centre 99, sd sqrt(0.99) = 0.994987 -> ±2.562908
    # floor(96.44) = 96, ceil(101.56) = 102 -> clamped to n = 100
    assert quantile_ranks(100, 0.99, 0.99) == (96, 100)
    # n 2000, q 0.99: centre 1980, sd sqrt(19.8) = 4.449719 -> ±11.461711
    assert quantile_ranks(2000, 0.99, 0.99) == (1968, 1992)
    # n 10, q 0.5: 5 ± 4.0727 -> floor(0.93) = 0 -> clamped to 1, ceil(9.07) = 10
    assert quantile_ranks(10, 0.5, 0.99) == (1, 10)
    # n 1: the one value, whatever the confidence
    assert quantile_ranks(1, 0.5, 0.95) == (1, 1)
    with pytest.raises(ValueError, match="no values"):
        quantile_ranks(0, 0.5, 0.95)


def test_sample_quantile_interval_reads_the_ranks_of_the_sorted_values():
    # -49, -48, ..., 50 shuffled: rank r holds r - 50; the median's 95% ranks 40 and 60
    values = [(7 * i) % 100 - 49 for i in range(100)]
    assert sorted(values) == list(range(-49, 51))
    assert sample_quantile_interval(values, 0.5, 0.95) == (-10, 10)
    # n 20, z(95%): 10 ± 1.959964 · sqrt(5) = ±4.3826 -> ranks floor(5.62) = 5, ceil(14.38) = 15
    assert sample_quantile_interval(range(100, 2100, 100), 0.5, 0.95) == (500, 1500)
