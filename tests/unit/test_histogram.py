"""LatencyHistogram: exact moments, bounded-error percentiles, exact merges, round trips."""

import math
import random

import pytest

from dbbench.histogram import HIGHEST_NS, LatencyHistogram


def filled(values) -> LatencyHistogram:
    h = LatencyHistogram()
    for v in values:
        h.record(v)
    return h


def test_small_values_are_exact():
    h = filled([3, 1, 2, 2047])
    assert (h.count, h.min_ns, h.max_ns, h.sum_ns) == (4, 1, 2047, 2053)
    assert list(h.buckets()) == [(1, 1), (2, 1), (3, 1), (2047, 1)]
    assert h.percentile(0.5) == 2 and h.percentile(1.0) == 2047 and h.percentile(0.0) == 1


def test_large_values_within_a_thousandth():
    rng = random.Random(7)
    values = sorted(rng.randint(10_000, 50_000_000) for _ in range(20_000))
    h = filled(values)
    for fraction in (0.5, 0.9, 0.99, 0.999):
        exact = values[math.ceil(fraction * len(values)) - 1]
        assert h.percentile(fraction) == pytest.approx(exact, rel=1e-3)
    assert h.mean_ns == sum(values) / len(values)  # exact
    mean = sum(values) / len(values)
    stddev = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
    assert h.stddev_ns == pytest.approx(stddev, rel=1e-12)


def test_merge_equals_recording_everything_in_one():
    rng = random.Random(1)
    parts = [[rng.randint(1, 10**9) for _ in range(1000)] for _ in range(4)]
    merged = LatencyHistogram()
    for part in parts:
        merged.merge(filled(part))
    whole = filled([v for part in parts for v in part])
    assert list(merged.buckets()) == list(whole.buckets())
    assert (merged.count, merged.sum_ns, merged.sum_sq_ns, merged.min_ns, merged.max_ns) == (
        whole.count,
        whole.sum_ns,
        whole.sum_sq_ns,
        whole.min_ns,
        whole.max_ns,
    )


def test_merge_of_empty_changes_nothing():
    h = filled([5])
    h.merge(LatencyHistogram())
    assert (h.count, h.min_ns) == (1, 5)
    empty = LatencyHistogram()
    empty.merge(h)
    assert (empty.count, empty.min_ns, empty.max_ns) == (1, 5, 5)


def test_round_trip_through_dict():
    h = filled([10, 2_000_000, 3_000_000_000])
    back = LatencyHistogram.from_dict(h.to_dict())
    assert list(back.buckets()) == list(h.buckets())
    assert (back.count, back.sum_ns, back.sum_sq_ns, back.min_ns, back.max_ns) == (
        h.count,
        h.sum_ns,
        h.sum_sq_ns,
        h.min_ns,
        h.max_ns,
    )
    assert LatencyHistogram.from_dict(LatencyHistogram().to_dict()).count == 0


def test_out_of_range_values_are_clamped():
    h = filled([0, HIGHEST_NS * 2])
    assert (h.min_ns, h.max_ns) == (1, HIGHEST_NS)


def test_empty_histogram_has_no_percentile():
    with pytest.raises(ValueError):
        LatencyHistogram().percentile(0.5)


def test_reset_empties_in_place_and_records_afresh():
    h = filled([5, 10**9, 123_456])
    h.reset()
    assert (h.count, h.sum_ns, h.sum_sq_ns, h.min_ns, h.max_ns) == (0, 0, 0, None, None)
    assert list(h.buckets()) == []
    h.record(7)
    assert list(h.buckets()) == [(7, 1)] and h.percentile(0.5) == 7
