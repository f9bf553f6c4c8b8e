"""Sweep parsing, grid order and the recommendation rule, against answers worked out by hand."""

import pytest

from dbbench.errors import ConfigError, ExitStatus
from dbbench.parsing import integer, parse_int_list
from dbbench.results.model import SweepCell
from dbbench.scenarios.sweep import RuleOfThumb, grid, recommend


def cell(
    pool_size: int,
    max_overflow: int,
    ops_per_s: float | None,
    *,
    concurrency: int = 8,
    errors: int = 0,
    timeouts: int = 0,
) -> SweepCell:
    p99_us = None if ops_per_s is None else 1000.0
    return SweepCell(concurrency, pool_size, max_overflow, ops_per_s, p99_us, errors, timeouts, 800)


def setting(c: SweepCell | None) -> tuple[int, int] | None:
    return None if c is None else (c.pool_size, c.max_overflow)


# --- parse_int_list ----------------------------------------------------------


def test_parse_int_list_sorts_and_refuses_repeats():
    assert parse_int_list("1,5,10,20", where="--pool-size", check=integer(1)) == [1, 5, 10, 20]
    assert parse_int_list("20, 5,1", where="--pool-size", check=integer(1)) == [1, 5, 20]
    for text, first, again in (("20, 5,1 ,5", 2, 4), ("1,01", 1, 2), ("+3,3", 1, 2)):
        with pytest.raises(ConfigError, match=rf"given twice \(items {first} and {again}\)"):
            parse_int_list(text, where="--pool-size", check=integer(1))
    assert parse_int_list(" 8 ", where="--concurrency", check=integer(1)) == [8]
    assert parse_int_list("+3", where="--concurrency", check=integer(1)) == [3]


def test_parse_int_list_allows_down_to_the_minimum():
    assert parse_int_list("3,-1,0", where="--max-overflow", check=integer(-1)) == [-1, 0, 3]


@pytest.mark.parametrize(
    ("where", "text", "minimum", "message"),
    [
        ("--pool-size", "5,x", 1, "--pool-size = '5,x': 'x' must be a whole number"),
        ("--pool-size", "2.5", 1, "--pool-size = '2.5': must be a whole number"),
        ("--pool-size", "5_0", 1, "--pool-size = '5_0': must be a whole number"),
        # int() would accept these digits; a pool size is written in ASCII
        ("--pool-size", "\u0663", 1, "--pool-size = '\u0663': must be a whole number"),
        ("--concurrency", "0", 1, "--concurrency = '0': must be at least 1"),
        ("--concurrency", "1,20000", 1, "--concurrency = '1,20000': '20000' must be at most 10000"),
        ("--concurrency", "4,0", 1, "--concurrency = '4,0': '0' must be at least 1"),
        ("--max-overflow", "-2", -1, "--max-overflow = '-2': must be at least -1"),
        ("--pool-size", "1,,5", 1, "--pool-size = '1,,5': item 2 is empty"),
        ("--pool-size", "1,5,", 1, "--pool-size = '1,5,': item 3 is empty"),
        ("--pool-size", "", 1, "--pool-size = '': give at least one whole number, e.g. 1,5,10"),
        ("--pool-size", " ", 1, "--pool-size = ' ': give at least one whole number, e.g. 1,5,10"),
        (
            "--concurrency",
            "1-4",
            1,
            "--concurrency = '1-4': ranges like '1-4' are not supported; "
            "list the values, e.g. 1,2,3,4",
        ),
        (
            "--concurrency",
            "1,8-32",
            1,
            "--concurrency = '1,8-32': ranges like '8-32' are not supported; "
            "list the values, e.g. 8,9,10,11,…",
        ),
    ],
)
def test_parse_int_list_errors_name_the_option_text_and_item(where, text, minimum, message):
    high = 10_000 if where == "--concurrency" else None
    with pytest.raises(ConfigError) as caught:
        parse_int_list(text, where=where, check=integer(minimum, high))
    assert str(caught.value) == message
    assert "\n" not in str(caught.value)
    assert caught.value.exit_status == ExitStatus.USAGE


# --- grid ----------------------------------------------------------------------


def test_grid_runs_by_concurrency_then_pool_size_then_max_overflow():
    assert grid([8, 1], [5, 1], [3, 0]) == [
        (1, 1, 0),
        (1, 1, 3),
        (1, 5, 0),
        (1, 5, 3),
        (8, 1, 0),
        (8, 1, 3),
        (8, 5, 0),
        (8, 5, 3),
    ]


def test_grid_size_is_the_product_and_repeats_are_dropped():
    assert len(grid([1, 8, 32], [1, 5, 10, 20], [0, 3])) == 3 * 4 * 2
    assert grid([1, 1], [5], [0, 0]) == [(1, 5, 0)]
    assert grid([], [5], [0]) == []


# --- recommend -----------------------------------------------------------------


def test_clear_winner_is_both_best_and_chosen():
    # best 10,000; 95% of it is 9,500 and no other cell reaches that
    cells = [cell(1, 0, 1_000), cell(5, 0, 5_000), cell(10, 0, 9_000), cell(20, 0, 10_000)]
    [r] = recommend(cells)
    assert r.concurrency == 8
    assert setting(r.best) == (20, 0)
    assert setting(r.chosen) == (20, 0)
    assert r.fraction_of_best == 1.0


def test_smaller_setting_within_the_threshold_is_chosen():
    # best 9,100; 95% is 8,645; (10, 0) at 9,000 qualifies and has 10 connections, not 20
    cells = [cell(1, 0, 1_000), cell(5, 0, 5_000), cell(10, 0, 9_000), cell(20, 0, 9_100)]
    [r] = recommend(cells)
    assert setting(r.best) == (20, 0)
    assert setting(r.chosen) == (10, 0)
    assert r.fraction_of_best == pytest.approx(9_000 / 9_100)  # 0.98901


def test_exactly_the_threshold_qualifies_and_just_below_does_not():
    # 95% of 10,000 is 9,500: (5, 0) is exactly there; (1, 3), fewer connections, is 1 short
    cells = [cell(1, 3, 9_499), cell(5, 0, 9_500), cell(20, 0, 10_000)]
    [r] = recommend(cells)
    assert setting(r.chosen) == (5, 0)
    assert r.fraction_of_best == pytest.approx(0.95)


def test_exactly_the_threshold_qualifies_despite_rounding():
    # 0.95 * 4.94 is 4.6930000000000005 in floating point, above 4.693, the exact 95%
    cells = [cell(5, 0, 4.693), cell(20, 0, 4.94)]
    [r] = recommend(cells)
    assert setting(r.chosen) == (5, 0)


def test_threshold_of_one_chooses_the_best():
    cells = [cell(10, 0, 9_999), cell(20, 0, 10_000)]
    [r] = recommend(cells, threshold=1.0)
    assert setting(r.chosen) == (20, 0)


def test_equal_connections_prefer_the_smaller_pool_size():
    # both may open 8 connections; pool_size 5 keeps fewer open when idle
    cells = [cell(8, 0, 10_000), cell(5, 3, 10_000)]
    [r] = recommend(cells)
    assert setting(r.chosen) == (5, 3)
    assert setting(r.best) == (5, 3)


def test_fewer_connections_beat_a_smaller_pool_size():
    # (1, 10) may open 11 connections, (10, 0) only 10
    cells = [cell(1, 10, 10_000), cell(10, 0, 10_000)]
    [r] = recommend(cells)
    assert setting(r.chosen) == (10, 0)


def test_unlimited_overflow_counts_as_the_largest_setting():
    cells = [cell(1, -1, 10_000), cell(20, 5, 10_000)]
    [r] = recommend(cells)
    assert setting(r.chosen) == (20, 5)


def test_tied_best_throughput_is_the_smaller_setting():
    cells = [cell(20, 0, 9_000), cell(10, 0, 9_000), cell(5, 0, 5_000)]
    [r] = recommend(cells)
    assert setting(r.best) == (10, 0)
    assert setting(r.chosen) == (10, 0)


def test_cells_with_errors_can_be_neither_best_nor_chosen():
    cells = [
        cell(1, 0, 50_000, errors=3),  # faster, but 3 failed operations
        cell(5, 0, 9_000, errors=2, timeouts=2),
        cell(10, 0, 8_000),
    ]
    [r] = recommend(cells)
    assert setting(r.best) == (10, 0)
    assert setting(r.chosen) == (10, 0)


def test_a_concurrency_where_every_cell_timed_out_gets_no_recommendation():
    cells = [
        cell(1, 0, 1_000, concurrency=1),
        cell(1, 0, None, concurrency=32, errors=800, timeouts=800),
        cell(5, 0, 3_000, concurrency=32, errors=17, timeouts=17),
    ]
    one, thirty_two = recommend(cells)
    assert setting(one.chosen) == (1, 0)
    assert thirty_two.concurrency == 32
    assert (thirty_two.chosen, thirty_two.best, thirty_two.fraction_of_best) == (None, None, None)
    assert thirty_two.agrees_with_rule is False
    assert thirty_two.rule_of_thumb == (
        "rule of thumb: pool_size 5–20 for concurrency 32, max_overflow 0–5"
    )


def test_cells_without_throughput_are_skipped():
    cells = [cell(1, 0, None), cell(5, 0, 4_000), cell(1, 0, None, concurrency=16)]
    eight, sixteen = recommend(cells)
    assert setting(eight.chosen) == (5, 0)
    assert sixteen.chosen is None and sixteen.best is None


def test_recommendations_come_one_per_concurrency_ascending():
    cells = [cell(5, 0, 1.0, concurrency=c) for c in (32, 1, 8, 1)]
    assert [r.concurrency for r in recommend(cells)] == [1, 8, 32]
    assert recommend([]) == []


@pytest.mark.parametrize("threshold", [0, -0.5, 1.01])
def test_threshold_must_be_a_fraction(threshold):
    with pytest.raises(ValueError):
        recommend([cell(5, 0, 1.0)], threshold=threshold)


# --- the rule of thumb ---------------------------------------------------------


@pytest.mark.parametrize(
    ("concurrency", "low", "high"),
    [
        (1, 1, 5),  # min(5, 1) = 1; min(20, max(5, 2)) = 5
        (2, 2, 5),
        (4, 4, 8),
        (8, 5, 16),
        (10, 5, 20),
        (32, 5, 20),
    ],
)
def test_rule_of_thumb_pool_size_bounds(concurrency, low, high):
    rule = RuleOfThumb.for_concurrency(concurrency)
    assert (rule.pool_size_min, rule.pool_size_max) == (low, high)


def test_rule_of_thumb_text():
    assert RuleOfThumb.for_concurrency(8).describe() == (
        "rule of thumb: pool_size 5–16 for concurrency 8, max_overflow 0–5"
    )


def test_chosen_setting_agrees_with_the_rule():
    [r] = recommend([cell(5, 3, 10_000), cell(20, 3, 10_100)])
    assert setting(r.chosen) == (5, 3)
    assert r.agrees_with_rule is True
    assert r.rule_of_thumb == "rule of thumb: pool_size 5–16 for concurrency 8, max_overflow 0–5"


@pytest.mark.parametrize(
    ("pool_size", "max_overflow", "why"),
    [
        (1, 3, "pool_size 1 is below 5"),  # for 8 threads
        (20, 0, "pool_size 20 is above 16"),  # 2 × 8
        (5, 10, "max_overflow 10 is above 5"),
        (5, -1, "max_overflow -1 (unlimited) is not bounded"),
        (1, 9, "pool_size 1 is below 5 and max_overflow 9 is above 5"),
    ],
)
def test_chosen_setting_disagrees_with_the_rule(pool_size, max_overflow, why):
    [r] = recommend([cell(pool_size, max_overflow, 10_000)])
    assert setting(r.chosen) == (pool_size, max_overflow)
    assert r.agrees_with_rule is False
    assert RuleOfThumb.for_concurrency(8).disagreement(pool_size, max_overflow) == why


def test_a_setting_that_agrees_breaks_no_part_of_the_rule():
    assert RuleOfThumb.for_concurrency(8).disagreement(5, 0) is None
    assert RuleOfThumb.for_concurrency(8).disagreement(16, 5) is None


def test_the_smallest_setting_within_noise_of_the_best_is_chosen():
    cells = [
        cell(1, 0, 4_600.0, concurrency=1),
        cell(5, 0, 12_400.0, concurrency=1),
        cell(10, 0, 9_000.0, concurrency=1),
    ]
    # the noise cannot tell any cell from the best: concurrency 1 has nothing to choose
    (r,) = recommend(cells, beyond_noise=lambda best, other: False, noise="between 5 repetitions")
    assert r.best.pool_size == 5 and r.chosen.pool_size == 1
    assert r.within_noise == ((1, 0), (5, 0), (10, 0)) and r.none_differs
    assert r.noise == "between 5 repetitions" and r.clean_cells == 3


def test_a_cell_beyond_noise_below_the_best_is_not_chosen():
    cells = [
        cell(1, 0, 4_600.0, concurrency=1),
        cell(5, 0, 12_400.0, concurrency=1),
        cell(10, 0, 9_000.0, concurrency=1),
    ]
    beyond = {(1, 0): True, (10, 0): None}  # None: cannot be told, so within noise

    (r,) = recommend(cells, beyond_noise=lambda best, other: beyond[(other.pool_size, 0)])
    assert r.chosen.pool_size == 5 and r.within_noise == ((5, 0), (10, 0))
    assert not r.none_differs


def test_without_a_noise_test_only_the_threshold_decides():
    cells = [cell(1, 0, 4_600.0, concurrency=1), cell(5, 0, 12_400.0, concurrency=1)]
    (r,) = recommend(cells)
    assert r.chosen.pool_size == 5 and r.within_noise == () and r.noise == "not tested"


def test_processes_are_checked_against_each_swept_concurrency_not_the_unset_one():
    """``compare -c 2,4 --processes 2``: the concurrency a list leaves unset (1 by default) is
    not what the processes are checked against; each cell's is (a review found it refused)."""
    from dbbench.config.settings import load_settings
    from dbbench.errors import ConfigError
    from dbbench.scenarios.benchmark import sweep_axes

    flags = {"benchmark": {"processes": 2}}
    with pytest.raises(ConfigError, match="more than the concurrency"):
        load_settings(None, env={}, flags=flags)  # no sweep: concurrency 1 is the run's
    settings = load_settings(None, env={}, flags=flags, swept=frozenset({"concurrency"}))
    assert sweep_axes(settings, {"concurrency": [2, 4]}).concurrencies == (2, 4)
    with pytest.raises(ConfigError, match="is more than .*concurrency.* 1 in the sweep"):
        sweep_axes(settings, {"concurrency": [1, 4]})
