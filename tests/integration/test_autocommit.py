"""``[database] autocommit`` against real servers: every driver of both dialects, and every
runner's connection, leaves no transaction open after its query when it is set, and leaves
one open (DB-API's default) when it is not; through a throwaway PgBouncer, ``raw`` in
autocommit lets PgBouncer reuse its server connections, where without it PgBouncer drops
the one each client closed inside its transaction.

What is asked, inside the operation (a pool's reset at checkin would end a transaction
anyway): MySQL, the session's ``@@autocommit``; PostgreSQL, the server's own
``pg_stat_activity.state`` of the connection's backend, read on a connection of the test's
("idle", or "idle in transaction").
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest

from dbbench.config.schema import DIALECT_DRIVERS
from dbbench.config.settings import DatabaseSettings, Settings
from dbbench.drivers import get_driver
from dbbench.runners import create_runner
from dbbench.scenarios.explain import count_round_trips
from dbbench.workload import Workload
from tests.integration.conftest import clean_environment, database_for, run_dbbench

pytestmark = pytest.mark.integration


@dataclass(frozen=True, eq=False)
class Probe(Workload):
    """The read workload, then what the connection's session says of its transaction:
    ``seen`` gets "autocommit" or "in transaction" after each operation's query."""

    #: PostgreSQL: the backend pid -> its pg_stat_activity.state (None: MySQL)
    state_of: Any = None
    seen: list[str] = field(default_factory=list)

    def run_on(self, connection: Any) -> int:
        rows = super().run_on(connection)
        cursor = connection.cursor()
        try:
            if self.state_of is None:
                cursor.execute("SELECT @@autocommit")
                on = int(cursor.fetchall()[0][0]) == 1
            else:
                cursor.execute("SELECT pg_backend_pid()")
                state = self.state_of(cursor.fetchall()[0][0])
                assert state in ("idle", "idle in transaction"), state
                on = state == "idle"
        finally:
            cursor.close()
        self.seen.append("autocommit" if on else "in transaction")
        return rows


def _pg_state(address) -> Any:
    def state_of(pid: int) -> str:
        with psycopg.connect(
            host=address.host, port=address.port, user=address.user, dbname=address.database,
            password=address.password or None, autocommit=True,
        ) as side:  # fmt: skip
            row = side.execute("SELECT state FROM pg_stat_activity WHERE pid = %s", (pid,))
            return row.fetchone()[0]

    return state_of


@pytest.fixture(scope="module")
def mysql(server) -> DatabaseSettings:
    return dataclasses.replace(database_for(server), ssl_mode="disabled")


@pytest.fixture(scope="module")
def postgresql(postgresql_server) -> DatabaseSettings:
    return dataclasses.replace(
        database_for(postgresql_server), dialect="postgresql", driver="psycopg",
        ssl_mode="disabled",
    )  # fmt: skip


def _probe(database: DatabaseSettings, request) -> Probe:
    if database.dialect == "mysql":
        return Probe("SELECT 1")
    return Probe("SELECT 1", state_of=_pg_state(request.getfixturevalue("postgresql_server")))


CASES = [
    (dialect, driver) for dialect, names in DIALECT_DRIVERS.items() for driver in names
]


@pytest.mark.parametrize("autocommit", [True, False], ids=["on", "off"])
@pytest.mark.parametrize(("dialect", "driver"), CASES)
def test_a_raw_connect_leaves_no_transaction_open_in_autocommit(
    request, dialect, driver, autocommit
):
    database = dataclasses.replace(
        request.getfixturevalue(dialect), driver=driver, autocommit=autocommit
    )
    probe = _probe(database, request)
    connection = get_driver(driver).connector(database)()
    try:
        probe.run_on(connection)
    finally:
        connection.close()
    assert probe.seen == ["autocommit" if autocommit else "in transaction"]


#: every runner of each dialect, each driver for those that take one
RUNNERS = [
    *(
        (dialect, f"{kind}/{driver}")
        for dialect, names in DIALECT_DRIVERS.items()
        for driver in names
        for kind in ("raw", "persistent", "pool", "nullpool")
    ),
    ("mysql", "async-pool"),
    ("postgresql", "async-pool"),
    ("postgresql", "psycopg-pool"),
]


@pytest.mark.parametrize("autocommit", [True, False], ids=["on", "off"])
@pytest.mark.parametrize(("dialect", "label"), RUNNERS)
def test_every_runner_connects_in_autocommit_when_set(request, dialect, label, autocommit):
    database = dataclasses.replace(request.getfixturevalue(dialect), autocommit=autocommit)
    runner = create_runner(label, Settings(database=database))
    probe = _probe(database, request)
    runner.workload = probe
    runner.open()
    try:
        for _ in range(3):  # a pool's connection again after its checkin, and a new one
            runner.run_once(0)
    finally:
        runner.close()
    assert probe.seen == ["autocommit" if autocommit else "in transaction"] * 3


@pytest.mark.parametrize(("dialect", "driver"), CASES)
def test_the_insert_workload_keeps_its_rows_in_autocommit(request, dialect, driver, tmp_path):
    """Its COMMIT after the INSERT has nothing to end in autocommit, and the row is kept."""
    database = dataclasses.replace(
        request.getfixturevalue(dialect), driver=driver, autocommit=True
    )
    table = f"dbbench_autocommit_{driver.replace('-', '_')}"
    admin = get_driver(driver).connector(database)()
    try:
        cursor = admin.cursor()
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(f"CREATE TABLE {table} (n INT)")
        workload = Workload(f"INSERT INTO {table} (n) VALUES (1)", commit=True)
        for _ in range(3):
            connection = get_driver(driver).connector(database)()
            try:
                workload.run_on(connection)
            finally:
                connection.close()
        cursor.execute(f"SELECT COUNT(*) FROM {table}")
        assert cursor.fetchall()[0][0] == 3
        cursor.execute(f"DROP TABLE {table}")
    finally:
        admin.close()


needs_pgbouncer = pytest.mark.skipif(
    shutil.which("pgbouncer") is None and shutil.which("/usr/sbin/pgbouncer") is None,
    reason="pgbouncer is not installed (scripts/ensure-pgbouncer)",
)

#: operations of raw per target (warm-up aside)
OPERATIONS = 60


def _through_pgbouncer(cache_home, tmp_path, *flags: str) -> dict:
    out = tmp_path / "pooled.json"
    done = run_dbbench(
        "run", "--server", "local", "--dialect", "postgresql", "--pooler", "pgbouncer",
        "--runner", "raw", "-c", "2", "-n", str(OPERATIONS), "--ssl-mode", "disabled",
        "-o", str(out), *flags,
        env={**clean_environment(), "XDG_CACHE_HOME": str(cache_home)},
        timeout_s=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(out.read_text())


def _connections(document: dict) -> tuple[int, int]:
    """The client connections made through PgBouncer, and the server connections PgBouncer
    opened for them (the server's new connections less dbbench's own)."""
    through = {target["target"] for target in document["server"]["pooler"]["pools"]}
    clients = sum(
        r["connections_opened"] for r in document["results"]
        if r["runner"].partition("@")[2] in through
    )  # fmt: skip
    check = document["server"]["cross_check"]
    return clients, check["server_connections"] - check["dbbench_connections"]


@needs_pgbouncer
def test_raw_in_autocommit_lets_pgbouncer_reuse_its_server_connections(cache_home, tmp_path):
    on = _through_pgbouncer(cache_home, tmp_path, "--autocommit")
    assert on["settings"]["database"]["autocommit"] is True
    clients, servers = _connections(on)
    assert clients >= 2 * OPERATIONS
    # each client closes outside any transaction: PgBouncer keeps the server connection
    assert servers <= clients // 10, (clients, servers)
    (tmp_path / "off").mkdir()
    off = _through_pgbouncer(cache_home, tmp_path / "off")
    assert off["settings"]["database"]["autocommit"] is False
    clients, servers = _connections(off)
    # each client closes inside psycopg's BEGIN: PgBouncer drops that server connection
    assert servers >= clients // 2, (clients, servers)


@pytest.mark.parametrize("dialect", ["mysql", "postgresql"])
def test_raw_sends_no_begin_nor_set_autocommit_on_the_wire(request, dialect):
    """Round trips counted on the wire (``count_round_trips``): PyMySQL's ``SET AUTOCOMMIT
    = 0`` and psycopg's ``BEGIN`` are gone in autocommit, nothing else changes."""
    database = request.getfixturevalue(dialect)
    off = count_round_trips(Settings(database=database), ["raw"])["raw"]
    on = dataclasses.replace(database, autocommit=True)
    counted = count_round_trips(Settings(database=on), ["raw"])["raw"]
    phase = "SET AUTOCOMMIT" if dialect == "mysql" else "BEGIN"
    assert off[phase] == 1 and counted.get(phase, 0) == 0, (off, counted)
    assert {k: n for k, n in counted.items() if k != phase} == {
        k: n for k, n in off.items() if k != phase
    }


def test_one_compare_measures_both_as_variants(server, tmp_path):
    (tmp_path / "off.toml").write_text("[database]\nautocommit = false\n")
    (tmp_path / "on.toml").write_text("[database]\nautocommit = true\n")
    out = tmp_path / "both.json"
    done = run_dbbench(
        "compare", "--runner", "raw", "-n", "20", "--ssl-mode", "disabled",
        "--variant", f"off={tmp_path / 'off.toml'}", "--variant", f"on={tmp_path / 'on.toml'}",
        "-o", str(out), env=server.env(),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    document = json.loads(out.read_text())
    assert [r["runner"] for r in document["results"]] == ["raw@off", "raw@on"]
    assert all(r["errors"] == 0 and r["n"] == 20 for r in document["results"])
    variants = {v["name"]: v["database"] for v in document["settings"]["variants"]}
    assert variants == {"off": {}, "on": {"autocommit": True}}
    text = " ".join(done.stdout.split())  # the lines wrap at the terminal's width
    assert "variant on (" in text and "): autocommit true" in text
