"""ssl_mode against a real TLS-enabled throwaway server, for every driver.

The module starts its own servers: one whose certificate names 127.0.0.1
(and localhost), one whose certificate names another host only, and one
without TLS; the certificates are made here, at test time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from dbbench.config.schema import DIALECT_DRIVERS
from dbbench.config.settings import DatabaseSettings, Settings
from dbbench.drivers import TlsNotUsed, get_driver
from dbbench.drivers.diagnosis import connect_error
from dbbench.runners.async_pool import aiomysql_connector
from dbbench.scenarios.explain import explain
from dbbench.server.certificates import CertificateFiles, make_certificates
from dbbench.server.local import LocalServer
from tests.integration.conftest import clean_environment, database_for, run_dbbench

#: the drivers of the MySQL server these tests run against (PostgreSQL's: test_pg_drivers.py)
DRIVER_NAMES = DIALECT_DRIVERS["mysql"]


@dataclasses.dataclass(frozen=True)
class TlsServer:
    server: LocalServer
    certificates: CertificateFiles

    def database(self, ssl_mode: str, **ssl: str) -> DatabaseSettings:
        return dataclasses.replace(database_for(self.server.address), ssl_mode=ssl_mode, ssl=ssl)


@pytest.fixture(scope="module")
def tls_server(local_server, tmp_path_factory) -> Iterator[TlsServer]:
    certificates = make_certificates(tmp_path_factory.mktemp("certs"))
    with local_server(tls=certificates) as server:
        yield TlsServer(server, certificates)


@pytest.fixture(scope="module")
def wrong_name_server(local_server, tmp_path_factory) -> Iterator[TlsServer]:
    """A server whose certificate names db.example.invalid only, never 127.0.0.1."""
    certificates = make_certificates(tmp_path_factory.mktemp("certs"), ["db.example.invalid"])
    with local_server(tls=certificates) as server:
        yield TlsServer(server, certificates)


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory) -> Path:
    """A CA that signed none of the servers' certificates."""
    return make_certificates(tmp_path_factory.mktemp("other")).ca


def _cipher(connection) -> str:
    cursor = connection.cursor()
    cursor.execute("SHOW STATUS LIKE 'Ssl_cipher'")
    ((_, cipher),) = cursor.fetchall()
    cursor.close()
    return cipher


def _open(driver_name: str, database: DatabaseSettings):
    return get_driver(driver_name).connector(database)()


@pytest.mark.parametrize("driver_name", DRIVER_NAMES)
def test_required_connects_over_tls_and_disabled_does_not(tls_server, driver_name):
    driver = get_driver(driver_name)
    connection = _open(driver_name, tls_server.database("required"))
    try:
        assert _cipher(connection)  # the server says this connection is encrypted
        assert driver.is_encrypted(connection)
    finally:
        connection.close()
    connection = _open(driver_name, tls_server.database("disabled"))
    try:
        assert _cipher(connection) == ""
        assert not driver.is_encrypted(connection)
    finally:
        connection.close()


@pytest.mark.parametrize("driver_name", DRIVER_NAMES)
@pytest.mark.parametrize("mode", ["verify_ca", "verify_identity"])
def test_verify_modes_pass_with_the_right_ca(tls_server, driver_name, mode):
    ca = str(tls_server.certificates.ca)
    connection = _open(driver_name, tls_server.database(mode, ssl_ca=ca))
    try:
        assert _cipher(connection)
    finally:
        connection.close()


@pytest.fixture(scope="module")
def x509_user(tls_server) -> str:
    """A user the server lets in only with a client certificate its CA signed."""
    admin = _open("pymysql", tls_server.database("required"))
    cursor = admin.cursor()
    cursor.execute("CREATE USER 'x509'@'127.0.0.1' REQUIRE X509")
    cursor.execute("GRANT SELECT ON test.* TO 'x509'@'127.0.0.1'")
    admin.close()
    return "x509"


@pytest.mark.parametrize("driver_name", DRIVER_NAMES)
def test_client_certificate_is_sent(tls_server, x509_user, driver_name):
    files = tls_server.certificates
    verified = tls_server.database("verify_ca", ssl_ca=str(files.ca))
    database = dataclasses.replace(verified, user=x509_user)
    with pytest.raises(Exception) as caught:  # no certificate: refused
        _open(driver_name, database)
    assert "Access denied" in str(caught.value)
    database = dataclasses.replace(
        database,
        ssl={**database.ssl, "ssl_cert": str(files.client_cert), "ssl_key": str(files.client_key)},
    )
    connection = _open(driver_name, database)
    try:
        assert _cipher(connection)
    finally:
        connection.close()


@pytest.mark.parametrize("driver_name", DRIVER_NAMES)
def test_verify_ca_with_a_wrong_ca_fails_with_one_clear_line(tls_server, other_ca, driver_name):
    database = tls_server.database("verify_ca", ssl_ca=str(other_ca))
    with pytest.raises(Exception) as caught:
        _open(driver_name, database)
    message = str(connect_error(caught.value, database))
    assert "\n" not in message
    assert "over TLS (ssl_mode verify_ca)" in message
    assert "did not verify against ssl_ca" in message and str(other_ca) in message


@pytest.mark.parametrize("driver_name", DRIVER_NAMES)
def test_verify_identity_with_a_wrong_host_name_fails(wrong_name_server, driver_name):
    ca = str(wrong_name_server.certificates.ca)
    database = wrong_name_server.database("verify_identity", ssl_ca=ca)
    with pytest.raises(Exception) as caught:
        _open(driver_name, database)
    message = str(connect_error(caught.value, database))
    assert "\n" not in message and "over TLS (ssl_mode verify_identity)" in message
    if driver_name == "mysqlclient":
        # Connector/C says only "Validation of SSL server certificate failed"
        assert "names the host" in message
    else:
        assert "does not name '127.0.0.1'" in message


@pytest.mark.parametrize("driver_name", ["pymysql", "mysql-connector"])
def test_verify_ca_does_not_check_the_host_name(wrong_name_server, driver_name):
    ca = str(wrong_name_server.certificates.ca)
    connection = _open(driver_name, wrong_name_server.database("verify_ca", ssl_ca=ca))
    try:
        assert _cipher(connection)
    finally:
        connection.close()


def test_mysqlclient_on_connector_c_checks_the_name_under_verify_ca_too(wrong_name_server):
    """What the mysqlclient module says of itself, checked: its note is true."""
    driver = get_driver("mysqlclient")
    if not driver.client_library.startswith("MariaDB"):
        pytest.skip("libmysqlclient has a real verify_ca")  # pragma: no cover
    ca = str(wrong_name_server.certificates.ca)
    with pytest.raises(driver.module.OperationalError):
        _open("mysqlclient", wrong_name_server.database("verify_ca", ssl_ca=ca))


@pytest.fixture(scope="module")
def plain_server(local_server) -> Iterator[LocalServer]:
    with local_server() as server:
        yield server


@pytest.mark.parametrize("driver_name", DRIVER_NAMES)
def test_required_fails_where_the_server_offers_no_tls(plain_server, driver_name):
    database = dataclasses.replace(database_for(plain_server.address), ssl_mode="required")
    with pytest.raises(Exception) as caught:
        _open(driver_name, database)
    # PyMySQL refuses by itself; the others would go on in plain text, and dbbench stops them
    assert isinstance(caught.value, TlsNotUsed) or "SSL is required" in str(caught.value)
    message = str(connect_error(caught.value, database))
    assert "lower [database] ssl_mode" in message and "\n" not in message


# --- async-pool: aiomysql through dbbench's bounded connection -------------------------


def _async_cipher(database: DatabaseSettings) -> str:
    """Ssl_cipher of one connection opened as the async-pool runner opens them."""

    async def open_and_ask() -> str:
        connection = await aiomysql_connector(database)()
        try:
            cursor = await connection.cursor()
            await cursor.execute("SHOW STATUS LIKE 'Ssl_cipher'")
            ((_, cipher),) = await cursor.fetchall()
            return cipher
        finally:
            connection.close()

    return asyncio.run(open_and_ask())


@pytest.mark.parametrize("mode", ["required", "verify_ca", "verify_identity"])
def test_async_pool_connects_over_tls_when_asked(tls_server, mode):
    ca = {} if mode == "required" else {"ssl_ca": str(tls_server.certificates.ca)}
    assert _async_cipher(tls_server.database(mode, **ca))
    assert _async_cipher(tls_server.database("disabled")) == ""


def test_async_pool_required_fails_where_the_server_offers_no_tls(plain_server):
    """aiomysql alone would log in in plain text; dbbench refuses before the credentials go."""
    database = dataclasses.replace(database_for(plain_server.address), ssl_mode="required")
    with pytest.raises(TlsNotUsed) as caught:
        _async_cipher(database)
    message = str(connect_error(caught.value, database))
    assert "lower [database] ssl_mode" in message and "\n" not in message
    # and preferred still connects, in plain text
    assert _async_cipher(dataclasses.replace(database, ssl_mode="preferred")) == ""


def _env(server: LocalServer) -> dict[str, str]:

    env = clean_environment()
    return {**env, **server.address.environment()}


def test_cli_wrong_ca_is_one_line_and_exit_1(tls_server, other_ca, tmp_path):
    config = tmp_path / "tls.toml"
    config.write_text(f'[database]\nssl_mode = "verify_ca"\nssl_ca = "{other_ca}"\n')
    result = run_dbbench(
        "run", "-n", "5", "--config", str(config), "--driver", "mysqlclient",
        env=_env(tls_server.server),
    )  # fmt: skip
    assert result.returncode == 1, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dbbench: error: cannot connect to")
    assert "did not verify against ssl_ca" in lines[0]


def test_cli_wrong_host_name_is_one_line(wrong_name_server, tmp_path):
    ca = wrong_name_server.certificates.ca
    config = tmp_path / "tls.toml"
    config.write_text(f'[database]\nssl_mode = "verify_identity"\nssl_ca = "{ca}"\n')
    env = _env(wrong_name_server.server)
    result = run_dbbench("run", "-n", "5", "--config", str(config), env=env)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "does not name '127.0.0.1'" in lines[0], lines


def test_cli_shows_tls_connect_cost_next_to_plain_for_every_driver(tls_server, tmp_path):
    """Both modes run for all three drivers; each table names the mode in force, and
    ``dbbench diff`` puts TLS's connect cost next to plain, runner by runner.

    A TLS connect builds an SSL context and does a handshake (about 20 ms here), a plain
    one costs about 0.5 ms: a factor of 2 between the medians holds on a busy machine.
    """
    files, medians = {}, {}
    for mode in ("disabled", "required"):
        files[mode] = tmp_path / f"{mode}.json"
        result = run_dbbench(
            "run", "-n", "20", "--runner", "raw", "--ssl-mode", mode, "--quiet",
            "--driver", ",".join(DRIVER_NAMES), "-o", str(files[mode]),
            env=_env(tls_server.server),
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert f"ssl_mode {mode}" in " ".join(result.stdout.split())  # the table's header
        doc = json.loads(files[mode].read_text())
        assert doc["settings"]["database"]["ssl_mode"] == mode
        for r in doc["results"]:
            assert (r["n"], r["errors"]) == (20, 0)
            assert r["runner"] in result.stdout
            medians[(mode, r["runner"])] = r["p50_us"]
    runners = [f"raw/{name}" for name in DRIVER_NAMES]
    assert {runner for _, runner in medians} == set(runners)
    for runner in runners:
        plain, tls = medians[("disabled", runner)], medians[("required", runner)]
        assert tls > 2 * plain, (runner, plain, tls)

    env, pair = _env(tls_server.server), (str(files["disabled"]), str(files["required"]))
    diff = run_dbbench("diff", *pair, "--format", "json", env=env)
    assert diff.returncode == 0, diff.stderr
    shown = {row["runner"]: row for row in json.loads(diff.stdout)["diffs"]}
    assert set(shown) == set(runners)
    for runner in runners:
        p50 = next(change for change in shown[runner]["changes"] if change["metric"] == "p50")
        plain, tls = medians[("disabled", runner)], medians[("required", runner)]
        assert (p50["base"], p50["new"]) == pytest.approx((plain, tls))
        assert p50["worse"]
    table = run_dbbench("diff", *pair, env=env)
    assert table.returncode == 0, table.stderr
    assert "ssl_mode differs: 'disabled'" in " ".join(table.stdout.split())


# --- explain: TLS's phases beside the plain ones ------------------------------------------


def test_explain_splits_the_tls_connect_into_its_phases(tls_server):
    """Under ssl_mode required PyMySQL's connect shows its SSL context and TLS handshake, each
    with its share, beside TCP connect and authentication; with TLS off neither is there."""
    settings = Settings(database=tls_server.database("required"))
    raw = explain(settings, iterations=20, runner_names=["raw"]).runner("raw")
    phases = {p.name: p for p in raw.phases}
    assert {"TCP connect", "server greeting", "authentication", "query", "close"} <= set(phases)
    context, handshake = phases["SSL context"], phases["TLS handshake"]
    assert handshake.round_trips >= 1  # TLS 1.3: one; 1.2: two
    plain_connect = phases["TCP connect"].median_ns + phases["authentication"].median_ns
    assert context.median_ns + handshake.median_ns > plain_connect
    assert raw.share(context) > 0 and raw.share(handshake) > 0

    plain = Settings(database=tls_server.database("disabled"))
    names = [
        p.name for p in explain(plain, iterations=20, runner_names=["raw"]).runner("raw").phases
    ]
    assert "SSL context" not in names and "TLS handshake" not in names


def test_explain_command_shows_the_tls_phases_and_their_share(tls_server):
    result = run_dbbench(
        "explain", "-n", "20", "--runner", "raw", "--ssl-mode", "required", "-q",
        env=_env(tls_server.server),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = {}
    for line in result.stdout.splitlines():
        for name in ("SSL context", "TLS handshake", "TCP connect", "authentication"):
            if line.strip().startswith(name):
                rows[name] = line
    assert set(rows) == {"SSL context", "TLS handshake", "TCP connect", "authentication"}
    for line in rows.values():
        assert "%" in line  # its share of the whole operation
    assert "with ssl_mode required PyMySQL builds a new context" in " ".join(result.stdout.split())
