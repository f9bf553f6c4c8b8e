"""The psycopg-pool runner's settings and its statistics in the pool counters (no server:
tests/integration/test_psycopg_pool.py runs it against PostgreSQL)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from dbbench.config.settings import DatabaseSettings, PoolSettings
from dbbench.errors import ConfigError
from dbbench.results.model import PoolCounters
from dbbench.runners.psycopg_pool import _check_settings
from dbbench.scenarios.summary import pool_statistics_note

POSTGRESQL = DatabaseSettings(dialect="postgresql", port=5432, driver="psycopg")
OWN = {"waits": 3, "wait_ms": 41, "lost": 1, "connect_errors": 0}


@pytest.mark.parametrize(
    ("database", "pool", "message"),
    [
        (DatabaseSettings(), PoolSettings(), "runs on PostgreSQL only, and [database] dialect is"),
        (POSTGRESQL, PoolSettings(max_overflow=-1), "[pool] max_overflow = -1 (no limit)"),
        (POSTGRESQL, PoolSettings(pool_size=0, max_overflow=0), "room for one connection"),
        (POSTGRESQL, PoolSettings(pool_use_lifo=True), "has no LIFO order"),
    ],
    ids=["mysql", "unlimited overflow", "no room", "lifo"],
)
def test_settings_the_pool_cannot_follow_are_one_line(database, pool, message) -> None:
    with pytest.raises(ConfigError, match="^.*$") as info:
        _check_settings(database, pool)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_settings_it_can_follow_pass() -> None:
    _check_settings(POSTGRESQL, PoolSettings())
    _check_settings(POSTGRESQL, PoolSettings(pool_size=0, max_overflow=1, pool_pre_ping=True))


def test_a_sqlalchemy_pool_s_counters_are_written_as_before() -> None:
    counters = PoolCounters(3, 0, 23, 23, 0, 1)
    assert counters.to_document() == {
        "connects": 3, "closes": 0, "checkouts": 23, "checkins": 23,
        "invalidations": 0, "peak_checked_out": 1,
    }  # fmt: skip
    assert PoolCounters.from_document(counters.to_document()) == counters


def test_a_pool_s_own_statistics_round_trip_and_sum() -> None:
    counters = PoolCounters(5, 1, 100, 100, 1, 4, **OWN)
    document = json.loads(json.dumps(counters.to_document()))
    assert PoolCounters.from_document(document) == counters
    assert (counters + counters).waits == 6 and (counters + counters).wait_ms == 82
    plain = PoolCounters(1, 0, 10, 10, 0, 1)
    assert (plain + counters).lost == 1  # one pool kept statistics, the other not
    assert (plain + plain).waits is None
    assert sum([counters, counters], PoolCounters.ZERO).connect_errors == 0


@pytest.mark.parametrize("key", list(OWN))
def test_a_pool_s_own_statistic_must_be_a_whole_number(key) -> None:
    document = {**PoolCounters(5, 1, 100, 100, 1, 4, **OWN).to_document(), key: 1.5}
    with pytest.raises(ValueError, match=f"{key} = 1.5 is not a whole number"):
        PoolCounters.from_document(document)


def test_the_note_says_what_the_pool_said_of_itself() -> None:
    note = pool_statistics_note("psycopg-pool", PoolCounters(5, 1, 100, 100, 1, 4, **OWN))
    assert note == (
        "psycopg-pool's own statistics: 3 checkouts waited for a connection (41 ms in all), "
        "1 connection found broken, 0 failed connects"
    )
    quiet = dataclasses.replace(PoolCounters.ZERO, waits=0, wait_ms=0, lost=0, connect_errors=0)
    assert pool_statistics_note("psycopg-pool", quiet).startswith(
        "psycopg-pool's own statistics: 0 checkouts waited for a connection, 0 connections"
    )
