"""``dbbench stale`` against a real PostgreSQL (the session's, ``postgresql_server``):
sessions the server ended at their ``idle_session_timeout``, with psycopg and psycopg2.

One scenario run per driver (all three protections, about 12 s) is shared by the tests:
a 2 s timeout, 3.5 s idle, a pool of 4 filled and returned in order (FIFO), so without
protection each of the 4 dead sessions fails exactly once, at its first use, and is
invalidated when the rollback at checkin fails.  What each driver raises is pinned: the
FATAL 57P05 the server sends before it closes the socket reaches psycopg (over libpq 18)
and not psycopg2 (libpq 17), which reports the closed socket (08006).
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from dbbench.config.settings import BenchmarkSettings, DatabaseSettings, PoolSettings, Settings
from dbbench.scenarios.benchmark import settings_for_server
from dbbench.scenarios.stale import PROTECTIONS, StaleRequest, run_stale
from tests.integration.conftest import run_dbbench
from tests.integration.stale_checks import assert_accounted_for, run_every_protection

pytestmark = pytest.mark.integration

POOL_SIZE = 4
OPERATIONS = 20
#: long enough that a reconnected session does not die again on a busy machine
WAIT_TIMEOUT_S = 2
#: the user's own init_command, which must survive next to the scenario's timeouts
USER_INIT_COMMAND = "SET dbbench.marker = 'kept'"
#: succeeds only in a session that ran the user's init_command and both of the scenario's
#: SETs, and is read-only (no --allow-writes: SET is allowed there); otherwise it divides
#: by zero (22012) and the case cannot run
SESSION_CHECK = (
    "SELECT 1 / (current_setting('dbbench.marker', true) = 'kept' "
    f"AND current_setting('idle_session_timeout') = '{WAIT_TIMEOUT_S}s' "
    f"AND current_setting('idle_in_transaction_session_timeout') = '{WAIT_TIMEOUT_S}s' "
    "AND current_setting('transaction_read_only') = 'on')::int"
)
#: what the first use of a session the server ended raises, by driver
DEAD_SESSION = {"psycopg": "OperationalError(57P05)", "psycopg2": "OperationalError(08006)"}
#: what a session already found dead raises on its next use (the pool never recovers)
CLOSED = {"psycopg": "OperationalError(08003)", "psycopg2": "InterfaceError(08003)"}
#: a session idle in a transaction past its timeout, at its first use (psycopg's class for
#: SQLSTATE class 25, invalid transaction state, is InternalError)
IDLE_IN_TRANSACTION = {
    "psycopg": "InternalError(25P03)",
    "psycopg2": "OperationalError(08006)",
}


def stale_settings(postgresql_server, driver: str, **pool) -> Settings:
    return settings_for_server(
        Settings(
            database=DatabaseSettings(
                dialect="postgresql",
                driver=driver,
                ssl_mode="disabled",
                init_command=USER_INIT_COMMAND,
            ),
            benchmark=BenchmarkSettings(query=SESSION_CHECK),
            pool=PoolSettings(**pool),
        ),
        postgresql_server,
    )


REQUEST = StaleRequest(
    wait_timeout_s=WAIT_TIMEOUT_S,
    idle_s=WAIT_TIMEOUT_S + 1.5,
    pool_size=POOL_SIZE,
    operations=OPERATIONS,
)


@pytest.fixture(scope="module", params=["psycopg", "psycopg2"])
def driver(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def cases(postgresql_server, driver):
    result = run_every_protection(stale_settings(postgresql_server, driver), REQUEST)
    assert result.settings.database.dialect == "postgresql"
    assert result.environment.server_version.startswith("PostgreSQL ")
    return {case.protection: case for case in result.cases}


def test_without_protection_each_dead_session_fails_once(cases, driver):
    none = cases["none"]
    assert none.errors_by_kind == {DEAD_SESSION[driver]: POOL_SIZE}
    assert none.error_rate == POOL_SIZE / OPERATIONS
    # each failed session was invalidated when the rollback at checkin failed, and its
    # record reconnected at the next checkout: the 4 of the fill and 4 new ones
    assert none.pool.invalidations == POOL_SIZE
    assert none.pool.connects == 2 * POOL_SIZE


def test_pre_ping_replaces_the_dead_sessions_without_an_error(cases):
    case = cases["pre_ping"]
    assert case.errors_by_kind == {}
    assert case.latency.n == OPERATIONS
    # the first ping failed: that connection invalidated, and with it the pool's
    # invalidation time moved, so the other 3 are replaced at checkout without a ping
    assert case.pool.invalidations == 1
    assert case.pool.connects == 2 * POOL_SIZE


def test_recycle_below_the_timeout_replaces_them_before_use(cases):
    case = cases["recycle"]
    assert case.pool_settings.pool_recycle_s == WAIT_TIMEOUT_S / 2
    assert case.errors_by_kind == {}
    assert case.latency.n == OPERATIONS
    assert case.pool.invalidations == 0
    # at least the 4 of the fill and 4 replacing them after the idle period; more when the
    # operations after it take longer than pool_recycle (a loaded machine)
    assert case.pool.connects >= 2 * POOL_SIZE


@pytest.mark.parametrize("protection", PROTECTIONS)
def test_every_operation_is_accounted_for_in_every_session(cases, protection):
    # the check query failed nowhere: every session, reconnects included, ran the user's
    # init_command and both timeouts, and was read-only
    case = cases[protection]
    assert_accounted_for(case, REQUEST)
    assert case.pool_settings.pool_size == POOL_SIZE and case.pool_settings.max_overflow == 0
    assert case.init_command == (
        f"{USER_INIT_COMMAND}\n;SET idle_session_timeout = {WAIT_TIMEOUT_S * 1000}; "
        f"SET idle_in_transaction_session_timeout = {WAIT_TIMEOUT_S * 1000}"
    )


def test_without_reset_on_return_the_sessions_idle_in_a_transaction_fail_every_time(
    postgresql_server, driver
):
    # no rollback at checkin: each session waits "idle in transaction", which
    # idle_session_timeout leaves alone; the scenario's idle_in_transaction_session_timeout
    # ends it, and nothing at checkin finds it dead, so every later use fails
    settings = stale_settings(postgresql_server, driver, pool_reset_on_return="none")
    result = run_stale(settings, dataclasses.replace(REQUEST, protections=("none",)))
    (case,) = result.cases
    assert case.errors_by_kind == {
        IDLE_IN_TRANSACTION[driver]: POOL_SIZE,
        CLOSED[driver]: OPERATIONS - POOL_SIZE,
    }
    assert case.latency is None
    assert case.pool.invalidations == 0
    assert case.pool.connects == POOL_SIZE


def test_dbbench_stale_dialect_postgresql_on_the_command_line(postgresql_server, tmp_path):
    # the command as a user types it: psycopg by default, the table naming PostgreSQL's
    # setting, the file recording the dialect and the server's version
    out = tmp_path / "stale.json"
    done = run_dbbench(
        "stale", "--dialect", "postgresql", "--ssl-mode", "disabled", "--protection", "none",
        "--operations", "8", "-q", "-o", str(out),
        env=postgresql_server.env(),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("stale connections: server idle_session_timeout 2s")
    assert "none: OperationalError(57P05) × 4" in done.stdout
    document = json.loads(out.read_text())
    assert document["settings"]["database"]["dialect"] == "postgresql"
    assert document["settings"]["database"]["driver"] == "psycopg"
    assert document["environment"]["server_version"].startswith("PostgreSQL ")
    (case,) = document["cases"]
    assert case["errors_by_kind"] == {"OperationalError(57P05)": POOL_SIZE}
