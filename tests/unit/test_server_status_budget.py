"""connection_budget_warning: when the pools of all processes could exhaust max_connections."""

from __future__ import annotations

import pytest

from dbbench.server.status import connection_budget_warning


def test_the_documented_example_names_every_number():
    assert connection_budget_warning(32, processes=2, pool_size=10, max_overflow=5) == (
        "2 processes × (pool_size 10 + max_overflow 5) = 30 connections is 80% or more of "
        "the server's max_connections (32); connections may be refused: lower [pool] pool_size "
        "or [pool] max_overflow, or raise the server's max_connections"
    )


def test_well_below_the_budget_is_silent():
    assert connection_budget_warning(151, processes=2, pool_size=10, max_overflow=5) is None


def test_exactly_80_percent_warns_and_just_below_does_not():
    # 1 × (70 + 10) = 80 of 100 is exactly 80%; 79 is not.
    assert connection_budget_warning(100, processes=1, pool_size=70, max_overflow=10)
    assert connection_budget_warning(100, processes=1, pool_size=70, max_overflow=9) is None


def test_exact_threshold_is_not_lost_to_float_rounding():
    # 0.8 * 30 is 24.000000000000004 in floating point; 24 connections must still warn.
    assert connection_budget_warning(30, processes=3, pool_size=5, max_overflow=3)


def test_other_connections_count_and_are_named():
    assert connection_budget_warning(100, processes=1, pool_size=70, max_overflow=9) is None
    message = connection_budget_warning(
        100, processes=1, pool_size=70, max_overflow=9, other_connections=1
    )
    assert message is not None
    assert message.startswith(
        "1 process × (pool_size 70 + max_overflow 9) + 1 other = 80 connections is 80% or more"
    )


def test_processes_multiply_the_pool():
    # One process uses 15 of 50 (30%); four use 60, more than the server allows.
    assert connection_budget_warning(50, processes=1, pool_size=10, max_overflow=5) is None
    message = connection_budget_warning(50, processes=4, pool_size=10, max_overflow=5)
    assert message is not None
    assert "= 60 connections" in message
    assert "(50)" in message


@pytest.mark.parametrize(
    ("pool_size", "max_overflow"),
    [(5, -1), (0, 10)],
    ids=["max_overflow=-1", "pool_size=0"],
)
def test_an_unbounded_pool_always_warns(pool_size, max_overflow):
    # QueuePool has no limit with max_overflow=-1, and with pool_size=0 whatever max_overflow.
    message = connection_budget_warning(
        100_000, processes=1, pool_size=pool_size, max_overflow=max_overflow
    )
    assert message is not None
    assert "unbounded" in message
    assert "(100000)" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "arguments",
    [
        {"max_connections": 0, "processes": 1, "pool_size": 5, "max_overflow": 0},
        {"max_connections": 10, "processes": 0, "pool_size": 5, "max_overflow": 0},
        {"max_connections": 10, "processes": 1, "pool_size": -1, "max_overflow": 0},
        {"max_connections": 10, "processes": 1, "pool_size": 5, "max_overflow": -2},
        {
            "max_connections": 10,
            "processes": 1,
            "pool_size": 5,
            "max_overflow": 0,
            "other_connections": -1,
        },
    ],
)
def test_impossible_numbers_are_refused(arguments):
    with pytest.raises(ValueError):
        connection_budget_warning(**arguments)
