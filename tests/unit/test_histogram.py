"""LatencyHistogram: exact moments, bounded-error percentiles, exact merges, round trips."""

import math
import random

import pytest
from hdrh.histogram import HdrHistogram
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dbbench.histogram import HIGHEST_NS, LatencyHistogram

#: bucket boundaries: 2**k - 1, 2**k, 2**k + 1 from the exact range to the top
EDGES = sorted({2**k + d for k in range(1, 42) for d in (-1, 0, 1)})


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


@settings(deadline=None)  # two arrays of 33,792 counts compared: slow on a loaded machine
@given(st.lists(st.integers(-5, HIGHEST_NS + 5) | st.sampled_from(EDGES), max_size=60))
@example([0, 1, 2047, 2048, 4095, 4096, HIGHEST_NS, HIGHEST_NS + 1])
def test_record_counts_what_hdrh_record_value_counts(values):
    """record() finds each bucket itself: the same counts, total, min and max as hdrh's
    own record_value gives the values clamped as record() clamps them."""
    ours, theirs = LatencyHistogram(), HdrHistogram(1, HIGHEST_NS, 3)
    for v in values:
        ours.record(v)
        assert theirs.record_value(min(max(v, 1), HIGHEST_NS))
    assert list(ours._hdr.counts) == list(theirs.counts)
    assert (ours._hdr.total_count, ours._hdr.min_value, ours._hdr.max_value) == (
        theirs.total_count, theirs.min_value, theirs.max_value
    )


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


# --- the bucket table against hdrh's own iterator ---------------------------------

values_ns = st.one_of(
    st.integers(0, 2_100),  # one value per bucket (and 0, clamped up to 1)
    st.integers(2_048, 50_000_000),  # buckets of 0.1%
    st.integers(50_000_000, 2 * HIGHEST_NS),  # up to an hour, and clamped beyond it
)
#: what can happen to a histogram between two lookups: each must drop the bucket table
steps = st.lists(
    st.one_of(
        st.tuples(st.just("record"), st.lists(values_ns, max_size=50)),
        st.tuples(st.just("merge"), st.lists(values_ns, max_size=50)),
        st.tuples(st.just("reset"), st.just([])),
        st.tuples(st.just("round trip"), st.just([])),
    ),
    min_size=1,
    max_size=4,
)


def hdrh_buckets(h: LatencyHistogram) -> list[tuple[int, int]]:
    """(value, count) of the recorded buckets, as hdrh's recorded iterator walks them."""
    walked, seen = [], 0
    if not h.count:
        return walked
    for item in h._hdr.get_recorded_iterator():
        walked.append((item.value_iterated_to, item.count_at_value_iterated_to))
        seen += item.count_at_value_iterated_to
        if seen == h.count:  # the rest of the walk would visit empty buckets only
            break
    return walked


def walk_to_rank(buckets: list[tuple[int, int]], rank: int, h: LatencyHistogram) -> int:
    """The lookup as it was before the bucket table: a walk from the first bucket."""
    seen, value = 0, h.max_ns
    for value, count in buckets:  # noqa: B007 - value is used after the loop
        seen += count
        if seen >= rank:
            break
    return min(max(value, h.min_ns), h.max_ns)


def apply(h: LatencyHistogram, step: str, values: list[int]) -> LatencyHistogram:
    if step == "record":
        for v in values:
            h.record(v)
    elif step == "merge":
        h.merge(filled(values))
    elif step == "reset":
        h.reset()
    else:
        h = LatencyHistogram.from_dict(h.to_dict())
    return h


@settings(max_examples=50, deadline=None)
@given(steps)
def test_a_rank_is_the_recorded_value_at_that_rank_rounded_to_its_bucket(steps):
    h, recorded = LatencyHistogram(), []
    for step, values in steps:
        if h.count:
            h.value_at_rank(1)  # builds the table that the step must then drop
        h = apply(h, step, values)
        recorded = [] if step == "reset" else recorded + values
        # the exact values, clamped as record() does, each rounded up to its bucket's top
        clamped = sorted(min(max(v, 1), HIGHEST_NS) for v in recorded)
        top = h._hdr.get_highest_equivalent_value
        expected = [min(max(top(v), clamped[0]), clamped[-1]) for v in clamped]
        assert [h.value_at_rank(rank) for rank in range(1, h.count + 1)] == expected


# each example walks hdrh's iterator over up to 33,792 buckets: a few suffice beside the
# test above, which checks every rank of many more histograms against the exact values
@settings(max_examples=8, deadline=None)
@given(st.lists(values_ns, max_size=200))
@example([0, 1, 2_047, 2_048, 2_049, 10**6, 10**6 + 1, HIGHEST_NS - 1, HIGHEST_NS, 2 * HIGHEST_NS])
def test_ranks_and_buckets_are_those_of_a_walk_over_hdrh(values):
    h = filled(values)
    walked = hdrh_buckets(h)
    assert list(h.buckets()) == walked
    for rank in range(1, h.count + 1):
        assert h.value_at_rank(rank) == walk_to_rank(walked, rank, h)
    for fraction in (0.0, 0.001, 0.5, 0.99, 1.0):
        if h.count:
            rank = max(1, math.ceil(fraction * h.count - 1e-9))
            assert h.percentile(fraction) == walk_to_rank(walked, rank, h)
