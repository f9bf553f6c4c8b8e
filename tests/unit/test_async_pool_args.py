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


# --- PostgreSQL: asyncpg -----------------------------------------------------------


def _postgresql(**keys):
    return DatabaseSettings(dialect="postgresql", port=5432, driver="psycopg", **keys)


def test_asyncpg_takes_the_settings_as_its_own_arguments():
    from dbbench.drivers.asyncpg_driver import asyncpg_kwargs

    kwargs = asyncpg_kwargs(
        _postgresql(host="db.local", user="app", password="pässwörd€😀", database="shop",
                    connect_timeout_s=2.5, read_timeout_s=7.0, ssl_mode="disabled")
    )  # fmt: skip
    assert kwargs == {
        "host": "db.local", "port": 5432, "user": "app", "password": "pässwörd€😀",
        "database": "shop", "timeout": 2.5, "command_timeout": 7.0, "ssl": False,
    }  # fmt: skip
    assert "database" not in asyncpg_kwargs(_postgresql())  # libpq's default: the user's name
    assert asyncpg_kwargs(_postgresql())["password"] is None  # none given: none sent


@pytest.mark.parametrize(
    ("socket", "host", "port"),
    [
        ("/var/run/postgresql", "/var/run/postgresql", 5432),
        ("/tmp/pg/.s.PGSQL.6543", "/tmp/pg", 6543),
        ("/tmp/pg/.s.PGSQL.x", "/tmp/pg/.s.PGSQL.x", 5432),
    ],
    ids=["directory", "socket file", "not a socket file's name"],
)
def test_asyncpg_takes_a_socket_directory_or_file(socket, host, port):
    from dbbench.drivers.asyncpg_driver import asyncpg_kwargs

    kwargs = asyncpg_kwargs(_postgresql(unix_socket=socket))
    assert (kwargs["host"], kwargs["port"]) == (host, port)


def test_asyncpg_tls_follows_ssl_mode(tmp_path):
    from dbbench.config.tls import TlsSettings
    from dbbench.drivers.asyncpg_driver import asyncpg_ssl

    assert asyncpg_ssl(TlsSettings("disabled")) is False
    assert asyncpg_ssl(TlsSettings("preferred")) == "prefer"
    required = asyncpg_ssl(TlsSettings("required"))
    assert required.verify_mode == ssl.CERT_NONE and not required.check_hostname
    verify_ca = asyncpg_ssl(TlsSettings("verify_ca"))
    assert verify_ca.verify_mode == ssl.CERT_REQUIRED and not verify_ca.check_hostname
    full = asyncpg_ssl(TlsSettings("verify_identity"))
    assert full.verify_mode == ssl.CERT_REQUIRED and full.check_hostname


def test_async_pool_on_postgresql_names_the_extra_when_asyncpg_is_missing(monkeypatch):
    from dbbench.runners import async_pool

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "asyncpg" else real(name, *a)
    )
    with pytest.raises(ConfigError, match=r"needs asyncpg, not installed: .*dbbench\[postgresql\]"):
        async_pool.require_packages("--runner", dialect="postgresql")


@pytest.mark.parametrize("runner", ["async-core", "async-session"])
def test_the_runners_on_the_async_engine_name_themselves_when_a_package_is_missing(
    monkeypatch, runner
):
    from dbbench.runners import RUNNERS

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "aiomysql" else real(name, *a)
    )
    with pytest.raises(ConfigError, match=rf"^--runner: the {runner} runner needs aiomysql, "):
        RUNNERS[runner].check_available("--runner")
