"""``[database] transaction_pooling``, ``--driver-defaults`` and the session-state probe
against a real PgBouncer (the ``local_pgbouncer`` fixture) in front of the session's
PostgreSQL.

What it promises: through PgBouncer's transaction pool (2 server connections, 4 workers),
``dbbench run --transaction-pooling`` makes no error with psycopg or asyncpg, and
``--driver-defaults`` makes the errors an application with the defaults meets (psycopg's
prepared statements missing on the next server, SQLSTATE 26000, or another client's of the
same name there, 42P05; asyncpg's likewise), each said in a note and kept in the result;
through the session pool the defaults make none.  The probe finds SET, an advisory lock and
a temporary table lost through the transaction pool, kept through the session pool and on
PostgreSQL itself, and probes no temporary table in a read-only session.

PgBouncer 1.18 refuses a startup parameter it does not know, and libpq's ``options`` (where
dbbench puts ``statement_timeout`` and ``default_transaction_read_only``) and asyncpg's
``default_transaction_read_only`` are such: the pools here ignore them
(``ignore_startup_parameters``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dbbench.config.settings import DatabaseSettings
from dbbench.databases.session_probe import (
    LOCK_STATE,
    SET_STATE,
    TEMP_TABLE_STATE,
    probe_session_state,
)
from dbbench.server.process import ServerAddress
from tests.integration.conftest import clean_environment, run_dbbench

pytestmark = pytest.mark.integration

#: what PgBouncer 1.18 must ignore for dbbench's drivers to connect through it
IGNORED = {"ignore_startup_parameters": "extra_float_digits,options,default_transaction_read_only"}
#: fewer servers than workers: the transaction pool hands a client another server often
WORKERS, SERVERS = 4, 2
#: a statement that holds its server a while: the workers' transactions overlap, and a
#: client's next one waits for whichever server frees first (a bare SELECT 1 can finish
#: before the next worker asks, each worker then given back the server it had)
QUERY = "SELECT pg_sleep(0.002)"


@pytest.fixture(scope="module")
def transaction_pool(local_pgbouncer):
    with local_pgbouncer(pool_size=SERVERS, pool_modes=("transaction",), settings=IGNORED) as b:
        yield b.address_for("transaction")


@pytest.fixture(scope="module")
def session_pool(local_pgbouncer):
    with local_pgbouncer(pool_modes=("session",), settings=IGNORED) as bouncer:
        yield bouncer.address_for("session")


def url(address: ServerAddress) -> str:
    return f"postgresql://{address.user}@{address.host}:{address.port}/{address.database}"


def database(address: ServerAddress, **given) -> DatabaseSettings:
    return DatabaseSettings(
        dialect="postgresql", driver="psycopg", host=address.host, port=address.port,
        user=address.user, password=address.password, database=address.database,
        ssl_mode="disabled", **given,
    )  # fmt: skip


def run(address: ServerAddress, tmp_path: Path, runner: str, *extra: str) -> tuple[dict, str]:
    """``dbbench run`` of ``runner`` with transaction pooling set: its one result and stdout."""
    out = tmp_path / f"{runner}.json"
    config = tmp_path / "commit.toml"
    # psycopg forgets what it prepared at every rollback: a pool that commits at checkin
    # keeps its prepared statements from one checkout to the next, as an application's does
    config.write_text('[pool]\npool_reset_on_return = "commit"\n')
    done = run_dbbench(
        "run", "--config", str(config), "--url", url(address), "--runner", runner,
        "-c", str(WORKERS), "-n", "300", "--query", QUERY, "--ssl-mode", "disabled",
        "--transaction-pooling",
        "-o", str(out), *extra,
        env=clean_environment(), timeout_s=300,
    )  # fmt: skip
    assert done.returncode in (0, 3), done.stderr  # 3: some operations failed
    document = json.loads(out.read_text())
    (result,) = document["results"]
    recorded = document["settings"]["database"]
    assert recorded["transaction_pooling"] is True
    assert recorded["driver_defaults"] is ("--driver-defaults" in extra)
    return result, done.stdout


@pytest.mark.parametrize(
    ("runner", "said"),
    [
        ("pool", "psycopg prepare_threshold=None"),
        ("async-pool", "asyncpg statement_cache_size=0 and SQLAlchemy's prepared_statement_"),
    ],
)
def test_transaction_pooling_makes_no_error_through_a_transaction_pool(
    transaction_pool, tmp_path, runner, said
):
    result, stdout = run(transaction_pool, tmp_path, runner)
    assert (result["n"], result["errors"], result["warmup_errors"]) == (300, 0, 0)
    assert said in " ".join(stdout.split())


def test_psycopgs_defaults_meet_missing_prepared_statements(transaction_pool, tmp_path):
    """Each of the 4 connections prepares ``_pg3_0`` once, on the server it has then: only
    the first on each of the 2 servers succeeds, the others find it there already (42P05),
    so 2 operations fail at least, in the warm-up or later.  Then every server holds a
    ``_pg3_0`` of that one query and any client's runs anywhere, until a rollback's
    DEALLOCATE ALL (psycopg's, after an error) empties one: how many fail beyond those
    depends on the timing, 0 to a quarter of the run here."""
    result, stdout = run(transaction_pool, tmp_path, "pool", "--driver-defaults")
    assert result["errors"] + result["warmup_errors"] >= 2, (result, stdout)
    assert set(result["errors_by_kind"]) <= {"ProgrammingError(26000)", "ProgrammingError(42P05)"}
    assert "--driver-defaults: the drivers' defaults were kept" in " ".join(stdout.split())


def test_asyncpgs_defaults_meet_missing_prepared_statements(transaction_pool, tmp_path):
    result, stdout = run(transaction_pool, tmp_path, "async-pool", "--driver-defaults")
    assert result["errors"] + result["warmup_errors"] > 0, (result, stdout)


@pytest.mark.parametrize("runner", ["pool", "async-pool"])
def test_the_defaults_make_no_error_through_a_session_pool(session_pool, tmp_path, runner):
    result, _ = run(session_pool, tmp_path, runner, "--driver-defaults")
    assert (result["n"], result["errors"], result["warmup_errors"]) == (300, 0, 0)


def test_the_probe_finds_session_state_lost_through_a_transaction_pool(transaction_pool):
    found = probe_session_state(database(transaction_pool), allow_writes=True)
    assert not found.same_server
    assert found.lost == (SET_STATE, LOCK_STATE, TEMP_TABLE_STATE)
    assert "session state does not survive between transactions here" in found.describe()


def test_the_probe_finds_it_kept_through_a_session_pool_and_on_postgresql(
    session_pool, postgresql_server
):
    for address in (session_pool, postgresql_server):
        found = probe_session_state(database(address), allow_writes=True)
        assert found.same_server and found.lost == ()
        assert [f.outcome for f in found.findings] == ["kept", "kept", "kept"]


def test_a_read_only_session_probes_no_temporary_table(transaction_pool):
    found = probe_session_state(database(transaction_pool, read_only=True), allow_writes=True)
    assert found.lost == (SET_STATE, LOCK_STATE)  # both work in a read-only transaction
    table = found.findings[-1]
    assert (table.state, table.outcome, table.detail) == (
        TEMP_TABLE_STATE, "not probed", "read-only session",
    )  # fmt: skip
    unwritten = probe_session_state(database(transaction_pool))
    assert unwritten.findings[-1].detail == "writes not allowed"

