"""psycopg and psycopg2 against the session's PostgreSQL (``postgresql_server``: a
throwaway one, trust, user root, database test, or DBBENCH_TEST_POSTGRESQL_URL's): they
connect, their failures read as one line in the words MySQL's do (host:port and user named,
never the password), a killed backend is a lost connection to the persistent runner, and
SQLAlchemy's pools check their connections out and in.

A password needs a server that asks for one; ``postgresql_server`` trusts everyone: those
tests start a throwaway server of their own (``local_postgresql``) with a pg_hba.conf that
asks for scram-sha-256.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import socket
import stat
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from dbbench.config.settings import DatabaseSettings, Settings
from dbbench.drivers import Failure, error_kind, failure, get_driver, is_lost
from dbbench.drivers.diagnosis import connect_error, operation_error, query_error
from dbbench.runners import create_runner
from dbbench.server.certificates import make_certificates

PG_DRIVERS = ("psycopg", "psycopg2")
#: the session's server, as ``_server`` found it: host, port, user, database (and its socket)
SHARED: dict = {}


def _database(driver_name: str, **given) -> DatabaseSettings:
    address = {key: value for key, value in SHARED.items() if key != "socket"}
    settings = {**address, "ssl_mode": "disabled", **given}
    return DatabaseSettings(dialect="postgresql", driver=driver_name, **settings)


def _admin() -> psycopg.Connection:
    """A connection of the test's own, beside the driver's."""
    return psycopg.connect(
        host=SHARED["host"], port=SHARED["port"], user=SHARED["user"], dbname=SHARED["database"],
        password=SHARED.get("password") or None, autocommit=True,
    )  # fmt: skip


@pytest.fixture(scope="module", autouse=True)
def _server(postgresql_server) -> Iterator[None]:
    SHARED.update(
        host=postgresql_server.host, port=postgresql_server.port,
        user=postgresql_server.user, database=postgresql_server.database,
    )  # fmt: skip
    if postgresql_server.password:
        SHARED["password"] = postgresql_server.password
    SHARED["socket"] = postgresql_server.unix_socket
    yield
    SHARED.clear()


def _where() -> str:
    """``user@host:port`` of the session's server, as messages name it."""
    return f"{SHARED['user']}@{SHARED['host']}:{SHARED['port']}"


def _failure_of(database: DatabaseSettings) -> BaseException:
    driver = get_driver(database.driver)
    with pytest.raises(driver.errors) as caught:
        driver.connector(database)().close()
    return caught.value


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens once it is closed


@pytest.fixture
def throwaway_role() -> Iterator[str]:
    """A role of this test's own (dropped afterwards), for what root may not show."""
    name = f"dbbench_{uuid.uuid4().hex[:10]}"
    with _admin() as admin:
        admin.execute(f"CREATE ROLE {name} LOGIN CONNECTION LIMIT 0")
        try:
            yield name
        finally:
            admin.execute(f"DROP ROLE IF EXISTS {name}")


@pytest.mark.parametrize("driver_name", PG_DRIVERS)
def test_connects_and_runs_select_1_in_plain_text(driver_name):
    driver = get_driver(driver_name)
    connection = driver.connector(_database(driver_name))()
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT 1")
        assert cursor.fetchall() == [(1,)]
        assert driver.is_encrypted(connection) is False
    finally:
        connection.close()


@pytest.mark.parametrize("driver_name", PG_DRIVERS)
def test_a_non_ascii_password_is_sent_and_never_shown(driver_name):
    # trust lets any password in: this shows it is sent without an encoding error; the
    # server that checks it is test_a_wrong_password_is_access_denied's
    password = "pässwörd€-root"
    database = _database(driver_name, password=password)
    get_driver(driver_name).connector(database)().close()
    exc = _failure_of(dataclasses.replace(database, database="no_such_db_here"))
    assert password not in str(connect_error(exc, database))


@pytest.mark.parametrize("driver_name", PG_DRIVERS)
def test_read_only_sessions_refuse_writes_from_their_first_statement(driver_name):
    driver = get_driver(driver_name)
    connection = driver.connector(_database(driver_name), read_only=True)()
    try:
        cursor = connection.cursor()
        cursor.execute("SHOW default_transaction_read_only")
        assert cursor.fetchall() == [("on",)]
        with pytest.raises(driver.errors) as caught:
            cursor.execute(f"CREATE TABLE dbbench_{uuid.uuid4().hex[:10]} (a int)")
        assert error_kind(caught.value) == "InternalError(25006)"
    finally:
        connection.close()


@pytest.mark.parametrize("driver_name", PG_DRIVERS)
def test_autocommit_and_init_command(driver_name):
    database = _database(driver_name, init_command="SET application_name = 'dbbench-test'")
    connection = get_driver(driver_name).connector(database, autocommit=True)()
    try:
        assert connection.autocommit is True
        cursor = connection.cursor()
        cursor.execute("SHOW application_name")
        assert cursor.fetchall() == [("dbbench-test",)]
    finally:
        connection.close()


@pytest.mark.parametrize("driver_name", PG_DRIVERS)
@pytest.mark.parametrize("form", ["directory", "socket file"])
def test_a_unix_socket_as_directory_or_file(driver_name, form):
    path = SHARED["socket"] or ""
    try:
        is_socket = stat.S_ISSOCK(os.stat(path).st_mode)
    except OSError:
        is_socket = False
    if not is_socket:
        pytest.skip(f"the session's server has no socket at {path!r}")
    unix_socket = os.path.dirname(path) if form == "directory" else path
    database = _database(driver_name, unix_socket=unix_socket, port=1)  # the file names its port
    if form == "directory":
        database = dataclasses.replace(database, port=SHARED["port"])
    connection = get_driver(driver_name).connector(database)()
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT inet_server_addr() IS NULL")  # NULL over a Unix socket
        assert cursor.fetchall() == [(True,)]
    finally:
        connection.close()


@pytest.mark.parametrize("driver_name", PG_DRIVERS)
def test_refused_is_one_line(driver_name):
    port = _free_port()
    database = _database(driver_name, port=port)
    exc = _failure_of(database)
    assert (failure(exc), error_kind(exc)) == (Failure.REFUSED, "OperationalError(08001)")
    message = str(connect_error(exc, database))
    assert message.startswith(
        f"cannot connect to {SHARED['user']}@{SHARED['host']}:{port}: connection refused; "
    )
    assert "\n" not in message


@pytest.mark.parametrize("driver_name", PG_DRIVERS)
def test_tls_demanded_of_a_server_without_it_is_one_line(driver_name):
    with _admin() as admin:
        if admin.execute("SHOW ssl").fetchone() != ("off",):
            pytest.skip("the session's server has TLS")
    preferred = _database(driver_name, ssl_mode="preferred")
    connection = get_driver(driver_name).connector(preferred)()
    assert get_driver(driver_name).is_encrypted(connection) is False  # prefer fell back
    connection.close()
    database = _database(driver_name, ssl_mode="required")
    exc = _failure_of(database)
    assert failure(exc) is Failure.TLS
    assert str(connect_error(exc, database)) == (
        f"cannot connect to {SHARED['user']}@{SHARED['host']}:{SHARED['port']} over TLS "
        "(ssl_mode required): server does not "
        "support SSL, but SSL was required; enable TLS on the server or lower [database] ssl_mode"
    )


@pytest.mark.parametrize("driver_name", PG_DRIVERS)
def test_unknown_host_is_one_line(driver_name):
    database = _database(driver_name, host="nonexistent.invalid")
    exc = _failure_of(database)
    assert failure(exc) is Failure.UNKNOWN_HOST
    assert str(connect_error(exc, database)).startswith(
        f"cannot connect to {SHARED['user']}@nonexistent.invalid:{SHARED['port']}: unknown host "
        "'nonexistent.invalid' ("
    )


@pytest.mark.parametrize("driver_name", PG_DRIVERS)
def test_unknown_role_is_access_denied_without_the_password(driver_name):
    role = f"dbbench_none_{uuid.uuid4().hex[:8]}"
    password = f"{role}-pw"  # holds the role's name, which the message must show
    database = _database(
        driver_name, user=role, password=password, sources={"password": "--password-file"}
    )
    exc = _failure_of(database)
    assert (failure(exc), error_kind(exc)) == (Failure.ACCESS_DENIED, "OperationalError(28000)")
    message = str(operation_error(exc, database, "SELECT 1"))
    assert message == (
        f"cannot connect to {role}@{SHARED['host']}:{SHARED['port']}: access denied "
        f'(role "{role}" does not '
        "exist); check the password (from --password-file) and the user's grants"
    )
    assert password not in message


@pytest.mark.parametrize("driver_name", PG_DRIVERS)
def test_unknown_database_is_one_line(driver_name):
    sources = {"database": "--database"}
    database = _database(driver_name, database="dbbench_no_such_db", sources=sources)
    exc = _failure_of(database)
    assert (failure(exc), error_kind(exc)) == (Failure.UNKNOWN_DATABASE, "OperationalError(3D000)")
    assert str(connect_error(exc, database)) == (
        f"cannot connect to {_where()}: "
        'database "dbbench_no_such_db" does not exist; '
        "create it or change the database (from --database)"
    )


@pytest.mark.parametrize("driver_name", PG_DRIVERS)
def test_too_many_connections_is_one_line(driver_name, throwaway_role):
    database = _database(driver_name, user=throwaway_role)  # CONNECTION LIMIT 0
    exc = _failure_of(database)
    assert (failure(exc), error_kind(exc)) == (
        Failure.TOO_MANY_CONNECTIONS,
        "OperationalError(53300)",
    )
    assert str(connect_error(exc, database)).startswith(
        f"cannot connect to {throwaway_role}@{SHARED['host']}:{SHARED['port']}: the server has "
        "no free connections "
        f'(too many connections for role "{throwaway_role}"); lower [benchmark] concurrency'
    )


@pytest.mark.parametrize("driver_name", PG_DRIVERS)
def test_a_syntax_error_is_a_query_error(driver_name):
    database = _database(driver_name)
    connection = get_driver(driver_name).connector(database)()
    try:
        with pytest.raises(get_driver(driver_name).errors) as caught:
            connection.cursor().execute("SELEC 1")
    finally:
        connection.close()
    assert error_kind(caught.value) == "ProgrammingError(42601)"
    assert str(operation_error(caught.value, database, "SELEC 1")) == (
        f"the query 'SELEC 1' failed on {_where()}: (42601) syntax error at or near "
        '"SELEC"; check [benchmark] query'
    )


@pytest.mark.parametrize("driver_name", PG_DRIVERS)
def test_read_timeout_is_the_statement_timeout(driver_name):
    database = _database(driver_name, read_timeout_s=0.2)
    connection = get_driver(driver_name).connector(database)()
    try:
        with pytest.raises(get_driver(driver_name).errors) as caught:
            connection.cursor().execute("SELECT pg_sleep(5)")
        connection.rollback()
        cursor = connection.cursor()
        cursor.execute("SELECT 1")  # the connection lives on
        assert cursor.fetchall() == [(1,)]
    finally:
        connection.close()
    assert failure(caught.value) is Failure.STATEMENT_TIMEOUT
    assert "no answer within read_timeout (0.2s" in str(
        query_error(caught.value, database, "SELECT pg_sleep(5)")
    )


def _terminate_backend_of(connection) -> None:
    cursor = connection.cursor()
    cursor.execute("SELECT pg_backend_pid()")
    pid = cursor.fetchall()[0][0]
    cursor.close()
    connection.rollback()
    with _admin() as admin:
        admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))


@pytest.mark.parametrize("driver_name", PG_DRIVERS)
def test_a_killed_backend_is_a_lost_connection_to_persistent(driver_name):
    runner = create_runner(f"persistent/{driver_name}", Settings(database=_database(driver_name)))
    runner.open()
    try:
        runner.run_once(0)
        _terminate_backend_of(runner.connection)
        with pytest.raises(runner.driver.errors) as caught:
            runner.run_once(0)
        assert is_lost(caught.value), error_kind(caught.value)
        assert runner.connection is None  # dropped: the next operation reconnects
        runner.run_once(0)
        assert runner.connection is not None
        # the first and the reconnect, as the server counts them
        assert (runner.connections_opened(), runner.connects_failed()) == (2, 0)
    finally:
        runner.close()
    expected = {"psycopg": "OperationalError(57P01)", "psycopg2": "OperationalError(08006)"}
    assert error_kind(caught.value) == expected[driver_name]


@pytest.mark.parametrize("driver_name", PG_DRIVERS)
@pytest.mark.parametrize(
    ("runner_name", "pre_ping"),
    [
        ("raw", False),
        ("persistent", False),
        ("pool", False),
        ("pool", True),  # the dialect's ping on a psycopg connection
        ("nullpool", False),
        ("nullpool", True),
    ],
)
def test_every_runner_checks_out_runs_and_checks_in(driver_name, runner_name, pre_ping):
    settings = Settings(database=_database(driver_name))
    settings = dataclasses.replace(
        settings, pool=dataclasses.replace(settings.pool, pool_pre_ping=pre_ping)
    )
    runner = create_runner(f"{runner_name}/{driver_name}", settings)
    runner.open()
    try:
        for _ in range(3):
            runner.run_once(0)
        if runner_name in ("pool", "nullpool"):
            assert runner.engine.dialect.name == "postgresql"
            assert runner.engine.dialect.driver == driver_name
            assert runner.counters().connects == (1 if runner_name == "pool" else 3)
            assert runner.checked_out() == 0
        else:
            assert runner.connections_opened() == (3 if runner_name == "raw" else 1)
    finally:
        runner.close()


#: pg_hba.conf of a server that asks every role but root for its password over TCP
PASSWORD_HBA = """\
local all all trust
host all root 127.0.0.1/32 trust
host all all 127.0.0.1/32 scram-sha-256
"""


@pytest.fixture(scope="module")
def password_server(local_postgresql) -> Iterator[DatabaseSettings]:
    """A throwaway PostgreSQL whose role ``dbbench_pw`` logs in with a non-ASCII password
    (scram-sha-256): the shared server and ``postgresql_server`` trust every login."""
    # the server may run as another user than the tests (root): a directory it can read
    directory = tempfile.mkdtemp(prefix="dbbench-hba-", dir="/tmp")
    try:
        os.chmod(directory, 0o755)
        hba = os.path.join(directory, "pg_hba.conf")
        with open(hba, "w") as file:
            file.write(PASSWORD_HBA)
        os.chmod(hba, 0o644)
        with local_postgresql(extra_args=["-c", f"hba_file={hba}"]) as server:
            address = server.address
            with psycopg.connect(
                host=address.host, port=address.port, user="root", dbname=address.database,
                autocommit=True,
            ) as admin:
                admin.execute(f"CREATE ROLE {PASSWORD_ROLE} LOGIN PASSWORD '{PASSWORD}'")
            yield DatabaseSettings(
                dialect="postgresql",
                host=address.host,
                port=address.port,
                user=PASSWORD_ROLE,
                database=address.database,
                ssl_mode="disabled",
            )
    finally:
        shutil.rmtree(directory, ignore_errors=True)


PASSWORD_ROLE = "dbbench_pw"
#: non-ASCII, and holding the role's name, which messages must keep
PASSWORD = "pässwörd€-dbbench_pw"


@pytest.mark.parametrize("driver_name", PG_DRIVERS)
def test_a_non_ascii_password_logs_in(driver_name, password_server):
    good = dataclasses.replace(password_server, driver=driver_name, password=PASSWORD)
    connection = get_driver(driver_name).connector(good)()  # the UTF-8 bytes are the role's
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT current_user")
        assert cursor.fetchall() == [(PASSWORD_ROLE,)]
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("password", "hint"),
    [
        (PASSWORD + "x", "check the password (from --password)"),
        ("", "no password was given: use [database] password or DBBENCH_PASSWORD"),
    ],
)
@pytest.mark.parametrize("driver_name", PG_DRIVERS)
def test_a_wrong_or_missing_password_is_access_denied(
    driver_name, password_server, password, hint, monkeypatch
):
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", os.devnull)
    sources = {"password": "--password"} if password else {}
    wrong = dataclasses.replace(
        password_server, driver=driver_name, password=password, sources=sources
    )
    exc = _failure_of(wrong)
    assert (failure(exc), error_kind(exc)) == (Failure.ACCESS_DENIED, "OperationalError(28P01)")
    message = str(connect_error(exc, wrong))
    where = f"{PASSWORD_ROLE}@{password_server.host}:{password_server.port}"
    assert message.startswith(f"cannot connect to {where}: access denied (")
    assert hint in message
    assert PASSWORD not in message and "\n" not in message


@pytest.fixture(scope="module")
def tls_server(local_postgresql, tmp_path_factory) -> Iterator[tuple[DatabaseSettings, Path]]:
    """A throwaway PostgreSQL with TLS, its certificate naming localhost, not 127.0.0.1
    (the settings hold its CA and a client certificate and key); with the path of a CA
    that did not sign it."""
    directory = tmp_path_factory.mktemp("pg-tls")
    certificates = make_certificates(directory / "server", names=("localhost",))
    other_ca = make_certificates(directory / "other").ca
    with local_postgresql(tls=certificates) as server:
        address = server.address
        database = DatabaseSettings(
            dialect="postgresql",
            host=address.host,
            port=address.port,
            user=address.user,
            database=address.database,
            ssl={
                "ssl_ca": str(certificates.ca),
                "ssl_cert": str(certificates.client_cert),
                "ssl_key": str(certificates.client_key),
            },
        )
        yield database, other_ca


@pytest.mark.parametrize("driver_name", PG_DRIVERS)
@pytest.mark.parametrize(
    ("mode", "host", "encrypted"),
    [
        ("disabled", None, False),
        ("preferred", None, True),
        ("required", None, True),
        ("verify_ca", None, True),  # 127.0.0.1 is not in the certificate: not checked
        ("verify_identity", "localhost", True),
    ],
)
def test_ssl_mode_on_a_tls_server(driver_name, tls_server, mode, host, encrypted):
    database, _ = tls_server
    # verify_* with the CA and the client's certificate and key; the others with none
    ssl = {} if mode in ("disabled", "preferred", "required") else dict(database.ssl)
    database = dataclasses.replace(
        database, driver=driver_name, ssl_mode=mode, ssl=ssl, host=host or database.host
    )
    driver = get_driver(driver_name)
    connection = driver.connector(database)()
    try:
        assert driver.is_encrypted(connection) is encrypted
        cursor = connection.cursor()
        cursor.execute(
            "SELECT ssl, client_serial IS NOT NULL FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
        )
        assert cursor.fetchall() == [(encrypted, "ssl_cert" in ssl)]  # sslcert was sent
    finally:
        connection.close()


@pytest.mark.parametrize("driver_name", PG_DRIVERS)
def test_a_certificate_for_another_host_is_one_line(driver_name, tls_server):
    database, _ = tls_server
    ssl = {"ssl_ca": database.ssl["ssl_ca"]}
    database = dataclasses.replace(
        database, driver=driver_name, ssl_mode="verify_identity", ssl=ssl
    )
    exc = _failure_of(database)
    assert failure(exc) is Failure.TLS
    message = str(connect_error(exc, database))
    assert message.startswith(
        f"cannot connect to root@127.0.0.1:{database.port} over TLS (ssl_mode verify_identity): "
        "the server's certificate does not name '127.0.0.1' ("
    ), message
    assert message.endswith('or set [database] ssl_mode to "verify_ca"')


@pytest.mark.parametrize("driver_name", PG_DRIVERS)
def test_a_certificate_another_ca_signed_is_one_line(driver_name, tls_server):
    database, other_ca = tls_server
    database = dataclasses.replace(
        database, driver=driver_name, ssl_mode="verify_ca", ssl={"ssl_ca": str(other_ca)}
    )
    exc = _failure_of(database)
    assert failure(exc) is Failure.TLS
    message = str(connect_error(exc, database))
    assert message.startswith(
        f"cannot connect to root@127.0.0.1:{database.port} over TLS (ssl_mode verify_ca): "
        f"the server's certificate did not verify against ssl_ca = {str(other_ca)!r} ("
    ), message
