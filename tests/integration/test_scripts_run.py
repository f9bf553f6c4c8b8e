"""scripts.run on real servers (MariaDB and PostgreSQL, every DB-API driver): a script's
statements timed one by one, its transaction kept, a failure rolled back on the server,
nothing left open; pgbench's own tpcb-like script run unchanged on PostgreSQL."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from dbbench.config.settings import DatabaseSettings
from dbbench.drivers import get_driver
from dbbench.scripts.expr import parse_expression
from dbbench.scripts.parse import Script, parse_script
from dbbench.scripts.run import ScriptRunner, StatementFailed, autocommit
from tests.pgbench_scripts import TPCB_LIKE

DRIVERS = [
    ("pymysql", "mysql"),
    ("mysqlclient", "mysql"),
    ("mysql-connector", "mysql"),
    ("psycopg", "postgresql"),
    ("psycopg2", "postgresql"),
]


@dataclass
class Target:
    """A driver's connection to a session's server, a scratch table, and an admin
    connection of the test's own to look at the server from beside."""

    dialect: str
    driver: str
    connection: Any
    admin: Any
    table: str

    def runner(self, script: Script) -> ScriptRunner:
        return ScriptRunner(script, get_driver(self.driver).paramstyle)

    def admin_value(self, sql: str) -> Any:
        cursor = self.admin.cursor()
        try:
            cursor.execute(sql)
            row = cursor.fetchone()
            return None if row is None else row[0]
        finally:
            cursor.close()

    def session_id(self) -> int:
        cursor = self.connection.cursor()
        cursor.execute("SELECT pg_backend_pid()" if self.postgresql else "SELECT CONNECTION_ID()")
        (session,) = cursor.fetchone()
        cursor.close()
        return session

    @property
    def postgresql(self) -> bool:
        return self.dialect == "postgresql"

    def open_transactions(self, session: int) -> int:
        """The transactions the server holds open for ``session``, seen from the admin
        connection: pg_stat_activity's state, InnoDB's transactions."""
        if self.postgresql:
            state = self.admin_value(f"SELECT state FROM pg_stat_activity WHERE pid = {session}")
            return 0 if state == "idle" else 1
        return self.admin_value(
            "SELECT COUNT(*) FROM information_schema.innodb_trx "
            f"WHERE trx_mysql_thread_id = {session}"
        )


def _settings(address: Any, dialect: str, driver: str, **given: Any) -> DatabaseSettings:
    """Settings for ``driver`` to reach a session's server (``given`` changing some)."""
    fields = dict(
        host=address.host, port=address.port, user=address.user, password=address.password,
        database=address.database, ssl_mode="disabled",
    )  # fmt: skip
    return DatabaseSettings(dialect=dialect, driver=driver, **{**fields, **given})


@pytest.fixture(params=DRIVERS, ids=[d for d, _ in DRIVERS])
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    driver_name, dialect = request.param
    address = request.getfixturevalue("postgresql_server" if dialect == "postgresql" else "server")
    database = _settings(address, dialect, driver_name)
    admin = address.connect(autocommit=True)
    table = f"dbbench_script_{uuid.uuid4().hex[:12]}"
    cursor = admin.cursor()
    cursor.execute(f"CREATE TABLE {table} (id INT PRIMARY KEY, n INT, note VARCHAR(40))")
    connection = get_driver(driver_name).connector(database)()
    autocommit(connection)
    try:
        yield Target(dialect, driver_name, connection, admin, table)
    finally:
        connection.close()
        cursor.execute(f"DROP TABLE {table}")
        cursor.close()
        admin.close()


def test_a_transaction_of_three_statements_timed_one_by_one(target: Target):
    table = target.table
    script = parse_script(
        f"""\
-- the operation: one row written, read and changed in a transaction
\\set id random(1, 1000)
BEGIN;
INSERT INTO {table} (id, n, note) VALUES (:id, 0, 'a%;:id ''x''');
SELECT note FROM {table}
    WHERE id = :id;
UPDATE {table} SET n = n + 1 WHERE id = :id;
COMMIT;
""",
        "tx.sql",
        dialect=target.dialect,
    )
    result = target.runner(script).run(target.connection, random.Random(15))

    drawn = parse_expression("random(1, 1000)").evaluate({}, random.Random(15))
    lines = [(s.index, s.line) for s in result.statements]
    assert lines == [(0, 3), (1, 4), (2, 5), (3, 7), (4, 8)]
    assert all(s.latency_ns > 0 and s.error is None for s in result.statements)
    assert result.statements[2].rows == 1  # the SELECT's row, fetched
    assert result.database_ns == sum(s.latency_ns for s in result.statements)
    assert (result.think_ns, result.left_open, result.failed) == (0, False, False)
    # committed, with the literal's %, ; and :id as written, and the drawn id as a parameter
    assert target.admin_value(f"SELECT note FROM {table} WHERE id = {drawn} AND n = 1") == (
        "a%;:id 'x'"
    )
    assert target.open_transactions(target.session_id()) == 0


def test_a_failed_statement_rolls_the_transaction_back(target: Target):
    table = target.table
    script = parse_script(
        f"BEGIN;\nINSERT INTO {table} (id, n) VALUES (1, 0);\n"
        f"INSERT INTO {table} (id, n) VALUES (1, 0);\nCOMMIT;\n",
        "fails.sql",
        dialect=target.dialect,
    )
    session = target.session_id()
    runner = target.runner(script)
    with pytest.raises(StatementFailed) as raised:
        runner.run(target.connection, random.Random(1))

    failed = raised.value
    assert (failed.index, failed.line) == (2, 3)
    assert failed.__cause__ is failed.error
    assert isinstance(failed.error, get_driver(target.driver).errors)
    assert str(failed).startswith("fails.sql:3: statement 3 failed: ")
    assert [s.error is None for s in failed.result.statements] == [True, True, False]
    # the row inserted before the failure is not there, and the session holds nothing open
    assert target.admin_value(f"SELECT COUNT(*) FROM {table}") == 0
    assert target.open_transactions(session) == 0
    # the connection serves the next operation: the same script fails the same way again
    with pytest.raises(StatementFailed):
        runner.run(target.connection, random.Random(1))
    assert target.admin_value(f"SELECT COUNT(*) FROM {table}") == 0


def test_a_transaction_left_open_is_rolled_back_and_said(target: Target):
    table = target.table
    script = parse_script(
        f"\\set v 7\nBEGIN;\nINSERT INTO {table} (id, n) VALUES (:v, :v);\n\\sleep 20 ms\n",
        "open.sql",
        dialect=target.dialect,
    )
    session = target.session_id()
    result = target.runner(script).run(target.connection, random.Random(1))

    assert result.left_open
    assert result.think_ns >= 20_000_000  # a sleep lasts at least what it asked for
    assert len(result.statements) == 2
    assert target.admin_value(f"SELECT COUNT(*) FROM {table}") == 0
    assert target.open_transactions(session) == 0


def test_statements_outside_a_transaction_commit_one_by_one(target: Target):
    table = target.table
    script = parse_script(
        f"INSERT INTO {table} (id, n) VALUES (1, 1);\n"
        f"INSERT INTO {table} (id, n) VALUES (1, 2);\n",
        "auto.sql",
        dialect=target.dialect,
    )
    with pytest.raises(StatementFailed) as raised:
        target.runner(script).run(target.connection, random.Random(1))
    assert raised.value.index == 1
    assert target.admin_value(f"SELECT n FROM {table} WHERE id = 1") == 1  # autocommitted


def _tpcb_tables(series: Callable[[int], str]) -> list[str]:
    """pgbench's tables at scale 1 (pgbench -i -s 1, blank fillers); ``series(n)`` the
    dialect's query of the rows (n, 1, 0, '') for n from 1 to ``n``."""
    return [
        "CREATE TABLE pgbench_branches (bid int PRIMARY KEY, bbalance int, filler char(88))",
        "CREATE TABLE pgbench_tellers (tid int PRIMARY KEY, bid int, tbalance int, "
        "filler char(84))",
        "CREATE TABLE pgbench_accounts (aid int PRIMARY KEY, bid int, abalance int, "
        "filler char(84))",
        "CREATE TABLE pgbench_history (tid int, bid int, aid int, delta int, "
        "mtime timestamp, filler char(22))",
        "INSERT INTO pgbench_branches VALUES (1, 0, '')",
        f"INSERT INTO pgbench_tellers {series(10)}",
        f"INSERT INTO pgbench_accounts {series(100_000)}",
    ]


def _run_tpcb(database: DatabaseSettings, text: str, one: Callable[[str], tuple]) -> None:
    """50 operations of ``text`` on a connection to ``database``; then every row of
    pgbench_history matches the balances it changed (``one`` reads a row beside)."""
    connection = get_driver(database.driver).connector(database)()
    autocommit(connection)
    try:
        script = parse_script(text, "tpcb-like", dialect=database.dialect, variables={"scale"})
        runner = ScriptRunner(script, get_driver(database.driver).paramstyle)
        rng = random.Random(15)
        results = [runner.run(connection, rng, {"scale": 1}) for _ in range(50)]
    finally:
        connection.close()
    assert all(len(r.statements) == 7 and not r.failed for r in results)
    assert all(r.statements[2].rows == 1 for r in results)  # the SELECT's balance
    count, delta = one("SELECT count(*), sum(delta) FROM pgbench_history")
    balances = one(
        "SELECT (SELECT sum(abalance) FROM pgbench_accounts),"
        " (SELECT sum(tbalance) FROM pgbench_tellers),"
        " (SELECT bbalance FROM pgbench_branches)"
    )
    assert count == 50
    assert tuple(int(b) for b in balances) == (int(delta),) * 3


@pytest.mark.parametrize("driver_name", ["psycopg", "psycopg2"])
def test_pgbench_tpcb_like_runs_unchanged(postgresql_server, driver_name):
    """pgbench's own script, in a schema of the test's own."""
    schema = f"dbbench_tpcb_{uuid.uuid4().hex[:12]}"
    admin = postgresql_server.connect()
    admin.execute(f"CREATE SCHEMA {schema}")
    try:
        admin.execute(f"SET search_path TO {schema}")
        for sql in _tpcb_tables(lambda n: f"SELECT g, 1, 0, '' FROM generate_series(1, {n}) g"):
            admin.execute(sql)
        search_path = f"SET search_path TO {schema}"
        database = _settings(postgresql_server, "postgresql", driver_name, init_command=search_path)
        _run_tpcb(database, TPCB_LIKE, lambda sql: admin.execute(sql).fetchone())
    finally:
        admin.execute(f"DROP SCHEMA {schema} CASCADE")
        admin.close()


@pytest.mark.parametrize("driver_name", ["pymysql", "mysqlclient", "mysql-connector"])
def test_pgbench_tpcb_like_runs_on_mariadb_in_its_sql(server, driver_name):
    """The same script with MySQL's SQL: its one PostgreSQL word, END, as COMMIT."""
    name = f"dbbench_tpcb_{uuid.uuid4().hex[:12]}"
    admin = server.connect(autocommit=True)
    cursor = admin.cursor()
    cursor.execute(f"CREATE DATABASE {name}")
    try:
        cursor.execute(f"USE {name}")
        # MariaDB's sequence engine: seq_1_to_N, as PostgreSQL's generate_series(1, N)
        for sql in _tpcb_tables(lambda n: f"SELECT seq, 1, 0, '' FROM seq_1_to_{n}"):
            cursor.execute(sql)
        database = _settings(server, "mysql", driver_name, database=name)

        def one(sql: str) -> tuple:
            cursor.execute(sql)
            return cursor.fetchone()

        _run_tpcb(database, TPCB_LIKE.replace("\nEND;", "\nCOMMIT;"), one)
    finally:
        cursor.execute(f"DROP DATABASE {name}")
        cursor.close()
        admin.close()
