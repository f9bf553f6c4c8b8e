"""The stale-connection scenario's argument checks and set-up: no server needed.

Every bad argument is refused before anything connects: the settings point at a port where
nothing listens, and ``sleep`` fails the test if a case ever starts.
"""

from __future__ import annotations

import pytest

from dbbench.config.settings import DatabaseSettings, PoolSettings, Settings
from dbbench.databases.mysql_idle_timeout import session_init_command
from dbbench.errors import ConfigError, ExitStatus
from dbbench.scenarios.backend import Backend
from dbbench.scenarios.stale import (
    StaleRequest,
    run_stale,
    run_stale_scenario,
    stale_pool_settings,
)

NOWHERE = Settings(database=DatabaseSettings(host="127.0.0.1", port=1, connect_timeout_s=1))


def never_sleep(seconds: float) -> None:
    raise AssertionError("the scenario started although its arguments were bad")


def refused(settings: Settings = NOWHERE, **arguments) -> str:
    with pytest.raises(ConfigError) as caught:
        run_stale_scenario(settings, sleep=never_sleep, on_case=never_sleep, **arguments)
    assert caught.value.exit_status == ExitStatus.USAGE
    return str(caught.value)


def test_an_unknown_protection_is_refused_with_a_suggestion():
    message = refused(protections=("none", "preping"))
    assert "'preping'" in message
    assert "did you mean 'pre_ping'" in message
    assert "none, recycle, pre_ping" in message


def test_a_bare_string_is_not_taken_for_a_list_of_protections():
    assert "sequence" in refused(protections="none")


def test_no_protection_and_a_repeated_one_are_refused():
    assert "empty" in refused(protections=())
    assert "twice" in refused(protections=("recycle", "recycle"))


@pytest.mark.parametrize("idle_s", [2, 1.5, 0])
def test_an_idle_period_not_longer_than_the_timeout_is_refused(idle_s):
    message = refused(wait_timeout_s=2, idle_s=idle_s)
    assert f"idle_s = {idle_s:g}" in message
    assert "wait_timeout_s = 2" in message
    assert "default: 3.5" in message


@pytest.mark.parametrize("wait_timeout_s", [0, -1, 1.5, True])
def test_the_timeout_must_be_a_whole_number_of_seconds(wait_timeout_s):
    assert "wait_timeout_s" in refused(wait_timeout_s=wait_timeout_s)


@pytest.mark.parametrize(("name", "value"), [("pool_size", 0), ("operations", 0)])
def test_pool_size_and_operations_must_be_positive(name, value):
    assert f"{name} = 0" in refused(**{name: value})


def test_a_bad_user_init_command_is_refused_before_connecting():
    settings = Settings(database=DatabaseSettings(port=1, init_command="SELECT 1"))
    message = refused(settings)
    assert "init_command = 'SELECT 1'" in message
    assert "not a SET statement" in message


def test_init_command_without_a_user_command():
    assert session_init_command(None, 2) == "SET SESSION wait_timeout=2"
    assert session_init_command("  ", 2) == "SET SESSION wait_timeout=2"


def test_init_command_extends_a_users_set_statement():
    assert (
        session_init_command("SET time_zone='+00:00';", 3)
        == "SET time_zone='+00:00', SESSION wait_timeout=3"
    )
    # a GLOBAL earlier in the list must not carry over, and ours comes last so it wins
    assert (
        session_init_command("set GLOBAL x=1, wait_timeout=100", 1)
        == "set GLOBAL x=1, wait_timeout=100, SESSION wait_timeout=1"
    )


@pytest.mark.parametrize(
    ("init_command", "problem"),
    [
        ("SET NAMES utf8mb4; SET time_zone='+00:00'", "more than one statement"),
        ("DO SLEEP(0)", "not a SET statement"),
        ("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", "cannot take another"),
        ("SET TRANSACTION READ ONLY", "cannot take another"),
        ("SET ROLE admin", "cannot take another"),
    ],
)
def test_init_commands_that_cannot_be_extended_are_refused(init_command, problem):
    with pytest.raises(ConfigError) as caught:
        session_init_command(init_command, 2)
    assert problem in str(caught.value)
    assert repr(init_command) in str(caught.value)


def test_pool_settings_of_each_protection():
    base = PoolSettings(
        pool_size=9, max_overflow=5, pool_timeout_s=7, pool_use_lifo=True, pool_recycle_s=60
    )
    none = stale_pool_settings(base, "none", 4, 2)
    assert (none.pool_size, none.max_overflow, none.pool_recycle_s, none.pool_pre_ping) == (
        4,
        0,
        -1,
        False,
    )
    assert (none.pool_timeout_s, none.pool_use_lifo, none.pool_reset_on_return) == (
        7,
        True,
        "rollback",
    )
    assert stale_pool_settings(base, "recycle", 4, 6).pool_recycle_s == 3
    assert stale_pool_settings(base, "recycle", 4, 1).pool_recycle_s == 1  # not under 1 s
    pre_ping = stale_pool_settings(base, "pre_ping", 4, 2)
    assert (pre_ping.pool_pre_ping, pre_ping.pool_recycle_s) == (True, -1)


def test_run_stale_refuses_bad_arguments_before_checking_the_server():
    def no_server(database, workload):
        raise AssertionError("the server was checked although the arguments were bad")

    request = StaleRequest(wait_timeout_s=3, idle_s=2.0)
    with pytest.raises(ConfigError, match=r"--idle = 2 is not longer than --wait-timeout = 3"):
        request.check(names={"idle_s": "--idle", "wait_timeout_s": "--wait-timeout"})
    with pytest.raises(ConfigError, match=r"idle_s = 2 is not longer than wait_timeout_s = 3"):
        run_stale(NOWHERE, request, backend=Backend(check_server=no_server), on_case=never_sleep)
