"""async-pool without a server: its connection arguments, TLS rules and missing packages."""

import importlib.util
import ssl

import pytest

from dbbench.config.settings import DatabaseSettings
from dbbench.errors import ConfigError, ExitStatus
from dbbench.runners import parse_runner_names
from dbbench.runners.async_pool import aiomysql_kwargs, ssl_context


def test_connection_arguments_are_the_settings_renamed_for_aiomysql():
    database = DatabaseSettings(
        host="db.local",
        port=3307,
        user="app",
        password="s3cret",
        database="shop",
        connect_timeout_s=2.5,
        init_command="SET SESSION sql_mode = ''",
        ssl={"ssl_disabled": True},
    )
    assert aiomysql_kwargs(database) == {
        "host": "db.local",
        "port": 3307,
        "user": "app",
        "password": "s3cret",
        "db": "shop",
        "connect_timeout": 2.5,
        "init_command": "SET SESSION sql_mode = ''",
        "ssl": None,
    }
    socket = aiomysql_kwargs(DatabaseSettings(unix_socket="/run/mysqld.sock"))
    assert socket["unix_socket"] == "/run/mysqld.sock" and "db" not in socket


def test_tls_follows_pymysql_rules():
    assert ssl_context({"ssl_disabled": True}) is None
    # nothing set: PyMySQL's "preferred", TLS when offered and unverified
    preferred = ssl_context({})
    assert preferred.verify_mode == ssl.CERT_NONE and not preferred.check_hostname
    verified = ssl_context({"ssl_verify_cert": True})
    assert verified.verify_mode == ssl.CERT_REQUIRED and not verified.check_hostname
    unverified = ssl_context({"ssl_verify_cert": False})
    assert unverified.verify_mode == ssl.CERT_NONE


def test_missing_packages_name_the_extra(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "aiomysql" else real(name)
    )
    with pytest.raises(ConfigError) as caught:
        parse_runner_names("pool,async-pool")
    message = str(caught.value)
    assert message == (
        "runner_names: the async-pool runner needs aiomysql, not installed: "
        "pip install 'dbbench[async]'"
    )
    assert caught.value.exit_status == ExitStatus.USAGE
    assert parse_runner_names("raw,pool") == ["raw", "pool"]  # other runners are not affected


def test_async_pool_is_a_runner_name_but_not_a_default():
    from dbbench.runners import DEFAULT_RUNNERS, RUNNER_NAMES

    assert "async-pool" in RUNNER_NAMES and "async-pool" not in DEFAULT_RUNNERS
    assert parse_runner_names("pool, async-pool") == ["pool", "async-pool"]


def test_a_server_that_never_answers_fails_the_read_after_read_timeout():
    """A listener that accepts and then says nothing: the greeting's read gives up."""
    import asyncio
    import time

    import pymysql

    from dbbench.runners.async_pool import aiomysql_connector

    async def scenario() -> tuple[BaseException, float]:
        silent = await asyncio.start_server(lambda reader, writer: None, "127.0.0.1", 0)
        port = silent.sockets[0].getsockname()[1]
        database = DatabaseSettings(
            host="127.0.0.1", port=port, read_timeout_s=0.3, ssl={"ssl_disabled": True}
        )
        started = time.monotonic()
        try:
            await aiomysql_connector(database)()
        except Exception as exc:  # noqa: BLE001 - the test looks at what it is
            return exc, time.monotonic() - started
        finally:
            silent.close()
        raise AssertionError("connected to a server that never answered")

    exc, waited_s = asyncio.run(scenario())
    assert isinstance(exc, pymysql.err.OperationalError)
    assert exc.args == (2013, "Lost connection to MySQL server during query (timed out)")
    assert 0.3 <= waited_s < 5
