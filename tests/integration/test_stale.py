"""The stale-connection scenario against a real server: connections the server closed for idleness.

One scenario run (all three protections, about 8 s) is shared by the tests:
a 1 s ``wait_timeout``, 2.5 s idle, a pool of 4 filled and returned in
order (FIFO), so without protection each of the 4 dead connections fails
once.
"""

from __future__ import annotations

import pytest

from dbbench.config.settings import BenchmarkSettings, DatabaseSettings, Settings
from dbbench.scenarios.benchmark import settings_for_server
from dbbench.scenarios.stale import PROTECTIONS, StaleRequest
from tests.integration.stale_checks import assert_accounted_for, run_every_protection

POOL_SIZE = 4
OPERATIONS = 20
#: what a query on a connection the server closed raises (MariaDB, MySQL < 8.0.24, MySQL 8.0.24+)
DISCONNECT_KINDS = {"OperationalError(2006)", "OperationalError(2013)", "OperationalError(4031)"}

#: the user's own init_command, which must survive next to the scenario's wait_timeout
USER_INIT_COMMAND = "SET time_zone = '+03:00'"
#: succeeds only on a session that ran both parts of the init_command; otherwise the
#: pattern is '(' and the query fails (invalid regular expression: MariaDB 1139, MySQL 3692)
#: long enough that a reconnected connection does not die again on a busy machine
WAIT_TIMEOUT_S = 2
SESSION_CHECK = (
    "SELECT '1' REGEXP IF(@@SESSION.time_zone = '+03:00' "
    f"AND @@SESSION.wait_timeout = {WAIT_TIMEOUT_S}, '1', '(')"
)


REQUEST = StaleRequest(
    wait_timeout_s=WAIT_TIMEOUT_S,
    idle_s=WAIT_TIMEOUT_S + 1.5,
    pool_size=POOL_SIZE,
    operations=OPERATIONS,
)


@pytest.fixture(scope="module")
def cases(server):
    settings = settings_for_server(
        Settings(
            database=DatabaseSettings(init_command=USER_INIT_COMMAND),
            benchmark=BenchmarkSettings(query=SESSION_CHECK),
        ),
        server,
    )
    result = run_every_protection(settings, REQUEST)
    return {case.protection: case for case in result.cases}


def test_without_protection_each_dead_connection_fails_once(cases):
    none = cases["none"]
    assert 1 <= none.errors <= POOL_SIZE
    assert set(none.errors_by_kind) <= DISCONNECT_KINDS
    assert none.error_rate == none.errors / OPERATIONS
    # each failed connection was invalidated when the rollback at checkin failed
    assert none.pool.invalidations == none.errors


@pytest.mark.parametrize("protection", ["recycle", "pre_ping"])
def test_a_protected_pool_has_no_errors(cases, protection):
    case = cases[protection]
    assert case.errors_by_kind == {}
    assert case.error_rate == 0.0
    assert case.latency.n == OPERATIONS


@pytest.mark.parametrize("protection", PROTECTIONS)
def test_every_operation_is_accounted_for(cases, protection):
    assert_accounted_for(cases[protection], REQUEST)


@pytest.mark.parametrize("protection", PROTECTIONS)
def test_the_pool_reconnects_after_the_idle_period(cases, protection):
    case = cases[protection]
    assert case.pool.connects > POOL_SIZE
    assert case.pool_settings.pool_size == POOL_SIZE
    assert case.pool_settings.max_overflow == 0


def test_the_users_init_command_is_kept_on_every_connection(cases):
    # the check query failed nowhere (no regex error), before or after the idle period,
    # so every connection, reconnects included, ran both assignments
    for case in cases.values():
        assert case.init_command == f"{USER_INIT_COMMAND}, SESSION wait_timeout={WAIT_TIMEOUT_S}"
        assert set(case.errors_by_kind) <= DISCONNECT_KINDS


def test_to_document_reports_microseconds(cases):
    case = cases["pre_ping"]
    data = case.to_document()
    assert data["protection"] == "pre_ping"
    assert data["pool_settings"]["pool_pre_ping"] is True
    assert data["errors"] == 0
    assert data["first_latency_us"] == case.first_latency_ns / 1000
    assert data["latency"]["n"] == OPERATIONS
    assert data["latency"]["mean_us"] == pytest.approx(case.latency.mean_ns / 1000)
    assert data["pool_counters"]["connects"] == case.pool.connects
