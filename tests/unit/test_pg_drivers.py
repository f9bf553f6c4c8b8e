"""psycopg and psycopg2: the settings as libpq's parameters, and their errors in the words
every dialect shares (``drivers.failures``); no server (tests/integration/test_pg_drivers.py)."""

from __future__ import annotations

import socket

import psycopg
import psycopg2
import pymysql
import pytest

from dbbench.config.settings import DatabaseSettings
from dbbench.drivers import Failure, error_kind, error_label, failure, get_driver, is_lost
from dbbench.drivers.diagnosis import connect_error, operation_error, query_error
from dbbench.drivers.libpq import READ_ONLY_OPTION, libpq_kwargs, tls_kwargs
from dbbench.errors import ConfigError

PG_DRIVERS = ("psycopg", "psycopg2")


def _database(**given) -> DatabaseSettings:
    return DatabaseSettings(**{"port": 5432, "driver": "psycopg", **given})


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({}, {"host": "127.0.0.1", "port": 5432, "user": "root", "sslmode": "prefer"}),
        ({"database": "test"}, {"dbname": "test"}),
        ({"password": "pässwörd€"}, {"password": "pässwörd€"}),
        ({"unix_socket": "/run/postgresql"}, {"host": "/run/postgresql", "port": 5432}),
        ({"unix_socket": "/tmp/pg/.s.PGSQL.5433"}, {"host": "/tmp/pg", "port": 5433}),
        ({"connect_timeout_s": 0.5}, {"connect_timeout": 2}),  # libpq's least
        ({"connect_timeout_s": 2.1}, {"connect_timeout": 3}),
        (
            {"read_timeout_s": 30},
            {
                "tcp_user_timeout": 30000,
                "keepalives": 1,
                "keepalives_idle": 15,
                "keepalives_interval": 5,
                "keepalives_count": 3,
                "options": "-c statement_timeout=30000",
            },
        ),
        ({"read_timeout_s": 0.25}, {"tcp_user_timeout": 250, "keepalives_idle": 1}),
    ],
)
def test_settings_become_libpq_parameters(given, expected):
    kwargs = libpq_kwargs(_database(**given), "psycopg")
    assert {key: kwargs.get(key) for key in expected} == expected


@pytest.mark.parametrize(
    ("absent", "given"),
    [
        ("dbname", {}),  # libpq then takes PGDATABASE or the user name
        ("password", {}),  # libpq then reads PGPASSWORD or ~/.pgpass
        ("init_command", {"init_command": "SET x = 1"}),  # run after connect, not a parameter
    ],
)
def test_what_is_not_passed(absent, given):
    assert absent not in libpq_kwargs(_database(**given), "psycopg")


@pytest.mark.parametrize(
    ("mode", "ssl", "expected"),
    [
        ("disabled", {}, {"sslmode": "disable"}),
        ("preferred", {}, {"sslmode": "prefer"}),
        ("required", {}, {"sslmode": "require"}),
        # no sslrootcert under require: libpq would verify against it, as verify-ca does
        ("required", {"ssl_ca": "ca.pem"}, {"sslmode": "require"}),
        (
            "required",
            {"ssl_cert": "c.pem", "ssl_key": "k.pem"},
            {"sslmode": "require", "sslcert": "c.pem", "sslkey": "k.pem"},
        ),
        ("verify_ca", {"ssl_ca": "ca.pem"}, {"sslmode": "verify-ca", "sslrootcert": "ca.pem"}),
        (
            "verify_identity",
            {"ssl_ca": "ca.pem", "ssl_cert": "c.pem", "ssl_key": "k.pem"},
            {
                "sslmode": "verify-full",
                "sslrootcert": "ca.pem",
                "sslcert": "c.pem",
                "sslkey": "k.pem",
            },
        ),
        (
            "verify_ca",
            {"ssl_ca": "ca.pem", "ssl_key_password": "s3cret"},
            {"sslmode": "verify-ca", "sslrootcert": "ca.pem", "sslpassword": "s3cret"},
        ),
    ],
)
def test_ssl_mode_becomes_sslmode(mode, ssl, expected):
    assert tls_kwargs(_database(ssl_mode=mode, ssl=ssl).tls) == expected


@pytest.mark.parametrize("name", PG_DRIVERS)
def test_each_driver_takes_the_same_parameters(name):
    database = _database(driver=name, ssl_mode="verify_ca", ssl={"ssl_ca": "ca.pem"})
    assert get_driver(name).connect_kwargs(database) == libpq_kwargs(database, name)
    assert get_driver(name).dialect_url == f"postgresql+{name}://"


def test_a_socket_file_not_named_as_libpq_names_it_is_refused(tmp_path):
    path = tmp_path / "mysql.sock"
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(path))
        with pytest.raises(ConfigError, match=r"\.s\.PGSQL\.PORT"):
            libpq_kwargs(_database(unix_socket=str(path)), "psycopg")


def test_a_password_that_is_not_utf8_is_one_line():
    database = _database(password="p\udce4ss", sources={"password": "environment variable X"})
    with pytest.raises(ConfigError, match="environment variable X.*UTF-8: give it as UTF-8"):
        libpq_kwargs(database, "psycopg")


@pytest.mark.parametrize("name", PG_DRIVERS)
def test_read_only_goes_into_the_startup_options(name):
    driver = get_driver(name)
    kwargs = driver.read_only_kwargs(driver.connect_kwargs(_database(driver=name)))
    assert kwargs["options"] == f"-c statement_timeout=30000 {READ_ONLY_OPTION}"
    assert READ_ONLY_OPTION == "-c default_transaction_read_only=on"


def test_a_mysql_driver_refuses_read_only_in_one_line():
    with pytest.raises(ConfigError, match="cannot make a session read-only"):
        get_driver("pymysql").connector(DatabaseSettings(), read_only=True)


def test_timeout_kwargs_are_keepalives_for_libpq():
    assert get_driver("psycopg2").timeout_kwargs(3)["tcp_user_timeout"] == 3000


# ----------------------------------------------------------------- errors


def _refused() -> str:
    return (
        'connection failed: connection to server at "127.0.0.1", port 1 failed: Connection '
        "refused\n\tIs the server running on that host and accepting TCP/IP connections?"
    )


#: libpq's (and a login's) text, which carries no SQLSTATE -> failure, SQLSTATE
MESSAGES = [
    (_refused(), Failure.REFUSED, "08001"),
    ("failed to resolve host 'x.invalid': [Errno -2] Name", Failure.UNKNOWN_HOST, "08001"),
    ('could not translate host name "x.invalid" to address: Name', Failure.UNKNOWN_HOST, "08001"),
    ("connection timeout expired", Failure.CONNECT_TIMEOUT, "08001"),
    (
        'connection to server on socket "/x/.s.PGSQL.5432" failed: No such file or directory',
        Failure.NO_SOCKET,
        "08001",
    ),
    (
        'connection to server at "h", port 5432 failed: FATAL:  password authentication failed '
        'for user "u"',
        Failure.ACCESS_DENIED,
        "28P01",
    ),
    ('FATAL:  role "nobody" does not exist', Failure.ACCESS_DENIED, "28000"),
    ("fe_sendauth: no password supplied", Failure.ACCESS_DENIED, "28P01"),
    ('FATAL:  no pg_hba.conf entry for host "1.2.3.4"', Failure.HOST_NOT_ALLOWED, "28000"),
    ('FATAL:  database "nosuch" does not exist', Failure.UNKNOWN_DATABASE, "3D000"),
    ('FATAL:  permission denied for database "x"', Failure.DATABASE_DENIED, "42501"),
    ("FATAL:  sorry, too many clients already", Failure.TOO_MANY_CONNECTIONS, "53300"),
    ("server does not support SSL, but SSL was required", Failure.TLS, "08001"),
    ("SSL error: certificate verify failed", Failure.TLS, "08001"),
    ("server closed the connection unexpectedly", Failure.LOST, "08006"),
    ("SSL SYSCALL error: EOF detected", Failure.LOST, "08006"),
    ("the connection is lost", Failure.GONE, "08003"),
    (
        'connection to server at "h", port 80 failed: expected authentication request from '
        "server, but received H",
        Failure.LOST,
        "08P01",
    ),
    ("terminating connection due to administrator command", Failure.KILLED, "57P01"),
    ("something else entirely", None, None),
]


@pytest.mark.parametrize(("text", "expected", "sqlstate"), MESSAGES)
@pytest.mark.parametrize("module", [psycopg, psycopg2], ids=["psycopg", "psycopg2"])
def test_libpq_text_is_read_as_a_failure(module, text, expected, sqlstate):
    get_driver(module.__name__)  # the driver of an exception is one dbbench has loaded
    exc = module.OperationalError(text)
    assert (failure(exc), error_label(exc)) == (expected, sqlstate)
    assert error_kind(exc) == (f"OperationalError({sqlstate})" if sqlstate else "OperationalError")


@pytest.mark.parametrize(
    ("sqlstate", "expected", "kind"),
    [
        ("28P01", Failure.ACCESS_DENIED, "OperationalError(28P01)"),
        ("3D000", Failure.UNKNOWN_DATABASE, "ProgrammingError(3D000)"),
        ("53300", Failure.TOO_MANY_CONNECTIONS, "OperationalError(53300)"),
        ("57P01", Failure.KILLED, "OperationalError(57P01)"),
        ("57P05", Failure.GONE, "OperationalError(57P05)"),
        ("42P01", Failure.UNKNOWN_TABLE, "ProgrammingError(42P01)"),
        ("42601", Failure.QUERY, "ProgrammingError(42601)"),
        ("25006", Failure.QUERY, "InternalError(25006)"),
    ],
)
def test_an_sqlstate_is_read_as_a_failure(sqlstate, expected, kind):
    get_driver("psycopg")
    exc = psycopg.errors.lookup(sqlstate)("text")
    assert (failure(exc), error_kind(exc)) == (expected, kind)


def test_a_statement_timeout_is_not_a_lost_connection():
    get_driver("psycopg")
    timeout = psycopg.errors.QueryCanceled("canceling statement due to statement timeout")
    cancelled = psycopg.errors.QueryCanceled("canceling statement due to user request")
    assert failure(timeout) is Failure.STATEMENT_TIMEOUT and not is_lost(timeout)
    assert failure(cancelled) is Failure.QUERY
    message = str(query_error(timeout, _database(read_timeout_s=5), "SELECT pg_sleep(9)"))
    expected = "(57014) canceling statement due to statement timeout; no answer within read_timeout"
    assert expected in message


@pytest.mark.parametrize(
    ("exc", "lost"),
    [
        (psycopg.errors.AdminShutdown("terminating connection"), True),
        (psycopg.OperationalError("the connection is lost"), True),
        (psycopg2.OperationalError("server closed the connection unexpectedly\n"), True),
        (psycopg2.InterfaceError("connection already closed"), True),
        (psycopg.errors.SyntaxError("syntax error"), False),
        # MySQL's, as before the words existed
        (pymysql.err.OperationalError(2013, "Lost connection"), True),
        (pymysql.err.OperationalError(2006, "MySQL server has gone away"), True),
        (pymysql.err.OperationalError(4031, "disconnected for inactivity"), True),
        (pymysql.err.InternalError(1927, "Connection was killed"), True),
        (pymysql.err.InterfaceError(0, ""), True),
        (pymysql.err.ProgrammingError(1064, "syntax"), False),
        (pymysql.err.OperationalError(1045, "Access denied"), False),
    ],
)
def test_lost_connections_in_both_dialects(exc, lost):
    for name in ("psycopg", "psycopg2", "pymysql"):
        get_driver(name)
    assert is_lost(exc) is lost


@pytest.mark.parametrize(
    ("exc", "failure_name"),
    [
        (pymysql.err.OperationalError(1045, "Access denied"), Failure.ACCESS_DENIED),
        (pymysql.err.OperationalError(1698, "Access denied"), Failure.ACCESS_DENIED),
        (pymysql.err.OperationalError(1049, "Unknown database 'x'"), Failure.UNKNOWN_DATABASE),
        (pymysql.err.OperationalError(1040, "Too many connections"), Failure.TOO_MANY_CONNECTIONS),
        (pymysql.err.OperationalError(1130, "Host not allowed"), Failure.HOST_NOT_ALLOWED),
        (pymysql.err.OperationalError(2003, "Can't connect"), Failure.CANNOT_CONNECT),
        (pymysql.err.OperationalError(2013, "Lost connection (timed out)"), Failure.TIMED_OUT),
        (pymysql.err.OperationalError(2026, "SSL connection error"), Failure.TLS),
        (pymysql.err.OperationalError(2059, "plugin cannot be loaded"), Failure.CLIENT),
        (pymysql.err.ProgrammingError(1146, "Table 'x' doesn't exist"), Failure.UNKNOWN_TABLE),
        (pymysql.err.ProgrammingError(1064, "syntax"), Failure.QUERY),
    ],
)
def test_mysql_numbers_have_the_same_names(exc, failure_name):
    get_driver("pymysql")
    assert failure(exc) is failure_name


@pytest.mark.parametrize("module", [psycopg, psycopg2], ids=["psycopg", "psycopg2"])
def test_messages_name_where_and_who_never_the_password(module):
    get_driver(module.__name__)
    password = "rootsecret-root"  # holds the role's name, which the message must keep
    source = "environment variable DBBENCH_PASSWORD"
    database = _database(user="root", password=password, sources={"password": source})
    exc = module.OperationalError(
        'connection to server at "127.0.0.1", port 5432 failed: FATAL:  password '
        f'authentication failed for user "root" (password {password})'
    )
    message = str(connect_error(exc, database))
    assert message.startswith("cannot connect to root@127.0.0.1:5432: access denied (password ")
    assert password not in message and "<hidden>" in message
    assert "check the password (from environment variable DBBENCH_PASSWORD)" in message


@pytest.mark.parametrize("module", [psycopg, psycopg2], ids=["psycopg", "psycopg2"])
def test_operation_errors_go_to_connect_or_query_by_phase(module):
    get_driver(module.__name__)
    database = _database()
    refused = str(operation_error(module.OperationalError(_refused()), database, "SELECT 1"))
    assert refused.startswith("cannot connect to root@127.0.0.1:5432: connection refused;")
    lost = module.OperationalError("server closed the connection unexpectedly")
    assert "is this a PostgreSQL server on that port?" in str(connect_error(lost, database))
    syntax = psycopg.errors.lookup("42601")('syntax error at or near "SELEC"\nLINE 1: SELEC 1')
    assert str(operation_error(syntax, database, "SELEC 1")) == (
        "the query 'SELEC 1' failed on root@127.0.0.1:5432: (42601) syntax error at or "
        'near "SELEC" LINE 1: SELEC 1; check [benchmark] query'
    )


def test_a_server_that_is_not_postgresql_is_said_so():
    get_driver("psycopg")
    exc = psycopg.OperationalError(
        'connection failed: connection to server at "127.0.0.1", port 80 failed: expected '
        "authentication request from server, but received H"
    )
    assert str(connect_error(exc, _database(port=80))) == (
        "cannot connect to root@127.0.0.1:80: the handshake failed (expected authentication "
        "request from server, but received H); is this a PostgreSQL server on that port?"
    )


def test_preferred_is_noted_for_tcp_not_for_a_socket():
    driver = get_driver("psycopg")
    assert "asks the server for TLS first" in driver.notes(_database())[0]
    assert driver.notes(_database(ssl_mode="disabled")) == []
    assert driver.notes(_database(unix_socket="/run/postgresql")) == []


def test_mysql_error_kinds_are_as_they_were():
    get_driver("pymysql")
    assert error_kind(pymysql.err.OperationalError(2013, "Lost (timed out)")) == (
        "OperationalError(2013, timed out)"
    )
    assert error_kind(pymysql.err.OperationalError(1045, "denied")) == "OperationalError(1045)"
    assert error_kind(pymysql.err.InterfaceError(0, "")) == "InterfaceError"


def test_an_asyncpg_error_through_sqlalchemys_adapter_is_named_with_its_sqlstate():
    """async-pool on PostgreSQL fails with the adapter's exceptions (asyncpg is no DB-API
    driver of dbbench's): their kind keeps the SQLSTATE, as a psycopg error's does."""
    pytest.importorskip("asyncpg")
    from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_dbapi

    from dbbench.drivers import error_kind

    class Original(Exception):
        sqlstate = "26000"  # invalid_sql_statement_name: a prepared statement missing

    dbapi = AsyncAdapt_asyncpg_dbapi
    failed = dbapi.Error("prepared statement does not exist", Original())
    assert error_kind(failed) == "Error(26000)"
    assert error_kind(dbapi.Error("no code", Exception())) == "Error"
