"""explain on PostgreSQL with psycopg: phases that add up, round trips as the protocol has them.

The round trips are derived from PostgreSQL's protocol (its "Message Flow" chapter) and
libpq's connect, counted by the relay (``CountingRelay``) and asserted exactly:

* TCP's handshake: 1 (added for each connection the relay accepts);
* ``SSLRequest``, answered ``S`` or ``N``: 1, under any ssl_mode but disabled; a TLS 1.3
  handshake (ClientHello -> ServerHello ... Finished): 1 more, the client's Finished and
  the startup message following without a wait; and before PostgreSQL 18 1 more again:
  its ``ssl_ecdh_curve`` allows one group, prime256v1 by default, and libpq's OpenSSL
  sends an X25519 key share first, which the server answers with a HelloRetryRequest
  (seen with ``openssl s_client -starttls postgres -msg``: two ClientHellos, unless
  ``-groups P-256``);
* the startup message -> ``AuthenticationOk`` ... ``ReadyForQuery``: 1 with trust; with
  scram-sha-256, ``AuthenticationSASL``, then ``SASLInitialResponse`` ->
  ``SASLContinue``, ``SASLResponse`` -> ``SASLFinal`` + ``AuthenticationOk`` ...: 3;
* psycopg's ``BEGIN`` (autocommit off): 1, before a transaction's first statement only;
* the query (simple protocol, ``Query`` -> ``RowDescription``, ``DataRow``,
  ``CommandComplete``, ``ReadyForQuery``): 1; SQLAlchemy's ``ROLLBACK`` at checkin: 1;
  its pre-ping (SQLAlchemy 2.1's psycopg dialect sends an empty statement, ``;``, with
  autocommit on for it: no ``BEGIN``): 1;
* ``Terminate`` at close awaits no reply: 0.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterator

import psycopg
import pytest

from dbbench.config.settings import DatabaseSettings, PoolSettings, Settings
from dbbench.scenarios.explain import count_round_trips, explain
from dbbench.server.certificates import make_certificates
from tests.integration import test_pg_drivers
from tests.integration.conftest import database_for, run_dbbench
from tests.integration.test_explain import _assert_adds_up

#: a throwaway server asking for scram-sha-256 (the fixture, not the module's shared server)
password_server = test_pg_drivers.password_server

RAW_PLAIN = {"TCP connect": 1, "startup": 1, "BEGIN": 1, "query": 1}
POOL = {"BEGIN": 1, "query": 1, "reset-on-return": 1}


def _database(server, **given) -> DatabaseSettings:
    settings = {"dialect": "postgresql", "driver": "psycopg", "ssl_mode": "disabled", **given}
    return dataclasses.replace(database_for(server), **settings)


def _trips(counts: dict[str, int]) -> dict[str, int]:
    return {phase: n for phase, n in counts.items() if n}


def test_phases_add_up_to_the_whole_operation(postgresql_server):
    explanation = explain(Settings(database=_database(postgresql_server)), iterations=100)
    assert explanation.driver == "psycopg"
    assert [r.runner for r in explanation.runners] == ["raw", "pool", "persistent"]
    for runner in explanation.runners:
        _assert_adds_up(runner)
        assert all(p.median_ns <= p.p95_ns for p in runner.phases)
    raw = explanation.runner("raw")
    assert [p.name for p in raw.phases] == [
        "driver set-up",
        "name resolution",
        "TCP connect",
        "startup",
        "session set-up",
        "BEGIN",
        "query",
        "close",
    ]
    assert {p.name: p.round_trips for p in raw.phases if p.round_trips} == RAW_PLAIN
    assert "inside libpq" in raw.phase("startup").description
    pool = explanation.runner("pool")
    assert [p.name for p in pool.phases] == [
        "checkout", "BEGIN", "query", "reset-on-return", "checkin",
    ]  # fmt: skip
    # the persistent connection's one transaction began in the warm-up: no BEGIN since
    assert [p.name for p in explanation.runner("persistent").phases] == ["query"]
    findings = "\n".join(explanation.findings)
    assert "sends BEGIN before the first statement of every transaction" in findings
    assert "everything but the query and BEGIN (connecting and closing)" in findings
    assert "2 of its 4 round trips" in findings


def test_round_trips_per_phase_as_the_protocol_has_them(postgresql_server):
    counts = count_round_trips(
        Settings(database=_database(postgresql_server)), ["raw", "pool", "persistent"]
    )
    assert _trips(counts["raw"]) == RAW_PLAIN
    assert _trips(counts["pool"]) == POOL
    assert _trips(counts["persistent"]) == {"query": 1}


@pytest.mark.parametrize("form", ["directory", "socket file"])
def test_round_trips_through_a_unix_socket_directory_or_file(postgresql_server, form):
    """The relay connects(2) to the socket file: a directory (libpq's host=/dir) is
    ``/dir/.s.PGSQL.PORT`` to it, as to libpq."""
    path = postgresql_server.unix_socket
    if not path or not os.path.exists(path):
        pytest.skip(f"the session's server has no socket at {path!r}")
    unix_socket = os.path.dirname(path) if form == "directory" else path
    database = _database(postgresql_server, unix_socket=unix_socket)
    counts = count_round_trips(Settings(database=database), ["raw"])
    assert _trips(counts["raw"]) == RAW_PLAIN


@pytest.mark.parametrize(
    ("pool", "expected"),
    [
        # SQLAlchemy's ping for psycopg: ";" in autocommit, so the BEGIN stays the query's
        (PoolSettings(pool_pre_ping=True), {"pre-ping": 1, **POOL}),
        # no ROLLBACK at checkin: the transaction stays open, so no BEGIN at the next either
        (PoolSettings(pool_reset_on_return="none"), {"query": 1}),
    ],
    ids=["pre-ping", "no-reset"],
)
def test_pool_settings_change_the_round_trips(postgresql_server, pool, expected):
    settings = Settings(database=_database(postgresql_server), pool=pool)
    assert _trips(count_round_trips(settings, ["pool"])["pool"]) == expected


def test_the_pre_ping_finding_names_postgresqls_idle_limit(postgresql_server):
    pool = PoolSettings(pool_pre_ping=True)
    settings = Settings(database=_database(postgresql_server), pool=pool)
    explanation = explain(settings, ["pool"], iterations=10)
    assert explanation.runner("pool").phase("pre-ping").round_trips == 1
    (ping,) = [f for f in explanation.findings if f.startswith("pool: pre-ping takes")]
    assert "PostgreSQL's idle_session_timeout, off by default" in ping
    assert "wait_timeout" not in ping


def test_preferred_tls_on_a_server_without_it_costs_the_refused_request(postgresql_server):
    database = _database(postgresql_server, ssl_mode="preferred")
    counts = count_round_trips(Settings(database=database), ["raw"])["raw"]
    assert _trips(counts) == {**RAW_PLAIN, "TLS": 1}


def test_scram_authentication_is_three_round_trips_of_the_startup(password_server):
    password = test_pg_drivers.PASSWORD
    database = dataclasses.replace(password_server, driver="psycopg", password=password)
    counts = count_round_trips(Settings(database=database), ["raw", "pool"])
    assert _trips(counts["raw"]) == {**RAW_PLAIN, "startup": 3}
    assert _trips(counts["pool"]) == POOL  # the pool logged in once, in the warm-up


@pytest.fixture(scope="module")
def tls_server(local_postgresql, tmp_path_factory) -> Iterator[DatabaseSettings]:
    """A throwaway PostgreSQL with TLS (certificates made here)."""
    certificates = make_certificates(tmp_path_factory.mktemp("pg-explain-tls") / "server")
    with local_postgresql(tls=certificates) as server:
        yield _database(server.address, ssl_mode="required")


def _tls_round_trips(database: DatabaseSettings) -> int:
    """The SSLRequest's and the handshake's turns (the module's docstring)."""
    with psycopg.connect(
        host=database.host, port=database.port, user=database.user, dbname=database.database
    ) as connection:
        retried = connection.info.server_version < 180000  # a HelloRetryRequest
    return 2 + retried


def test_tls_adds_its_phase_and_round_trips_to_the_connect(tls_server):
    encrypted = count_round_trips(Settings(database=tls_server), ["raw", "pool"])
    plain = count_round_trips(
        Settings(database=dataclasses.replace(tls_server, ssl_mode="disabled")), ["raw", "pool"]
    )
    assert _trips(plain["raw"]) == RAW_PLAIN
    assert _trips(encrypted["raw"]) == {**RAW_PLAIN, "TLS": _tls_round_trips(tls_server)}
    assert _trips(encrypted["pool"]) == _trips(plain["pool"]) == POOL


def test_explain_says_tls_share_next_to_plain_in_one_line(tls_server):
    explanation = explain(Settings(database=tls_server), ["raw"], iterations=30)
    raw = explanation.runner("raw")
    tls = raw.phase("TLS")
    trips = _tls_round_trips(tls_server)
    assert tls is not None and tls.round_trips == trips and tls.median_ns > 0
    (line,) = [f for f in explanation.findings if f.startswith("TLS (the SSLRequest")]
    assert "\n" not in line and f"{trips} of its {raw.round_trips} round trips" in line
    assert 'a plain connect ([database] ssl_mode to "disabled") does without its round' in line
    plain = explain(
        Settings(database=dataclasses.replace(tls_server, ssl_mode="disabled")),
        ["raw"],
        iterations=10,
    )
    assert plain.runner("raw").phase("TLS") is None
    assert not [f for f in plain.findings if f.startswith("TLS")]


def test_explain_command_projects_with_the_round_trips(postgresql_server):
    result = run_dbbench(
        "explain", "--dialect", "postgresql", "--ssl-mode", "disabled", "-n", "10",
        "--rtt", "2ms", "--format", "json",
        env=postgresql_server.env(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["driver"] == "psycopg" and document["rtt_s"] == 0.002
    trips = {r["runner"]: r["round_trips"] for r in document["runners"]}
    assert trips == {"raw": 4, "pool": 3, "persistent": 1}
    for runner in document["runners"]:
        assert runner["projected_median_ns"] == (
            runner["whole_median_ns"] + runner["round_trips"] * 2_000_000
        )
        assert runner["round_trips"] == sum(p["round_trips"] for p in runner["phases"])


def test_run_rtt_projects_postgresql_runs(postgresql_server):
    result = run_dbbench(
        "run", "--dialect", "postgresql", "--ssl-mode", "disabled", "-n", "20",
        "--runner", "raw,pool,persistent", "--rtt", "1ms", "--json", "-q",
        env=postgresql_server.env(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    rows = {row["runner"]: row for row in document["projection"]["runners"]}
    assert {name: row["round_trips"] for name, row in rows.items()} == {
        "raw": 4, "pool": 3, "persistent": 1,
    }  # fmt: skip
    for row in rows.values():
        assert row["projected_median_ns"] == row["median_ns"] + row["round_trips"] * 1_000_000


def test_psycopg2s_connect_is_one_phase_that_adds_up(postgresql_server):
    """psycopg2 connects in one C call (PQconnectdb): one phase, its round trips counted."""
    database = _database(postgresql_server, driver="psycopg2")
    explanation = explain(Settings(database=database), iterations=100)
    assert explanation.driver == "psycopg2"
    for runner in explanation.runners:
        _assert_adds_up(runner)
    raw = explanation.runner("raw")
    assert [p.name for p in raw.phases] == ["connect", "query", "close"]
    # TCP and the startup inside the connect; its BEGIN (sent from C) inside the query
    assert {p.name: p.round_trips for p in raw.phases} == {"connect": 2, "query": 2, "close": 0}
    pool = explanation.runner("pool")
    assert {p.name: p.round_trips for p in pool.phases if p.round_trips} == {
        "query": 2, "reset-on-return": 1,
    }  # fmt: skip
