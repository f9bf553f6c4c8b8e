"""Statistics against numbers computed by hand."""

import math

import pytest

from dbbench.stats import Summary, percentile, speedup, summarize


def test_percentile_interpolates_between_ranks():
    values = list(range(1, 11))  # 1..10
    assert percentile(values, 0.0) == 1
    assert percentile(values, 1.0) == 10
    assert percentile(values, 0.5) == pytest.approx(5.5)  # rank 4.5: between 5 and 6
    assert percentile(values, 0.95) == pytest.approx(9.55)  # rank 8.55: 9 + 0.55
    assert percentile(values, 0.99) == pytest.approx(9.91)  # rank 8.91


def test_percentile_of_one_value_is_that_value():
    assert percentile([7], 0.99) == 7


def test_percentile_rejects_empty_and_out_of_range():
    with pytest.raises(ValueError):
        percentile([], 0.5)
    with pytest.raises(ValueError):
        percentile([1, 2], 1.5)


def test_summarize_by_hand():
    # mean 25; deviations -15,-5,5,15 -> squares 225,25,25,225 = 500; / 3 -> sd = sqrt(166.67)
    s = summarize([40, 10, 30, 20])
    assert (s.n, s.min_ns, s.max_ns) == (4, 10, 40)
    assert s.mean_ns == 25
    assert s.stddev_ns == pytest.approx(math.sqrt(500 / 3))
    assert s.p50_ns == pytest.approx(25)  # rank 1.5 of 10,20,30,40
    assert s.p95_ns == pytest.approx(38.5)  # rank 2.85: 30 + 0.85 * 10
    assert s.p99_ns == pytest.approx(39.7)  # rank 2.97
    assert s.ops_per_s == pytest.approx(1e9 / 25)


def test_summarize_single_sample_has_zero_spread():
    s = summarize([1000])
    assert s.stddev_ns == 0
    assert s.p99_ns == 1000
    assert s.ops_per_s == pytest.approx(1e6)


def test_summarize_rejects_no_samples():
    with pytest.raises(ValueError):
        summarize([])


def test_speedup_ratio_and_interval_by_hand():
    raw = summarize([10, 20, 30])  # mean 20, sd 10
    pool = summarize([1, 2, 3])  # mean 2, sd 1
    result = speedup(raw, pool)
    assert result.ratio == pytest.approx(10)
    # relative standard errors: 10 / (sqrt(3) * 20) = 1 / (sqrt(3) * 2) = 0.288675
    # se of the log ratio: sqrt(2) * 0.288675 = 0.408248; z = 1.959964
    # exp(1.959964 * 0.408248) = exp(0.800152) = 2.225880
    assert result.ci_low == pytest.approx(10 / 2.225880, rel=1e-5)
    assert result.ci_high == pytest.approx(10 * 2.225880, rel=1e-5)
    assert result.confidence == 0.95


def test_speedup_below_one_means_slower_and_interval_contains_ratio():
    fast = summarize([1, 2, 3])
    slow = summarize([10, 20, 30])
    result = speedup(fast, slow)
    assert result.ratio == pytest.approx(0.1)
    assert result.ci_low < result.ratio < result.ci_high


def test_speedup_without_spread_information_has_no_interval():
    one = Summary(n=1, min_ns=5, mean_ns=5, stddev_ns=0, p50_ns=5, p95_ns=5, p99_ns=5, max_ns=5)
    result = speedup(summarize([10, 20]), one)
    assert result.ratio == pytest.approx(3)
    assert result.ci_low is None and result.ci_high is None


def test_speedup_of_identical_constant_samples_is_exactly_one():
    result = speedup(summarize([5, 5, 5]), summarize([5, 5, 5]))
    assert (result.ratio, result.ci_low, result.ci_high) == (1, 1, 1)
