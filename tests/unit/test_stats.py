"""Statistics against numbers computed by hand."""

import math

import pytest

from dbbench.stats import speedup, summarize_samples


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
