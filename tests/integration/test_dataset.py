"""``dbbench prepare`` and ``dbbench cleanup`` against the session's MariaDB and PostgreSQL,
through the real command: the rows, the mark, the index, what is left alone, what a stop
leaves behind."""

from __future__ import annotations

import dataclasses
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from dbbench.config.settings import DatabaseSettings, Settings
from dbbench.databases import read_data_set
from dbbench.databases.dataset import CHUNK_ROWS, NO_DATA_SET, DataSetSql
from dbbench.errors import DbbenchError
from dbbench.scenarios.dataset import cleanup, dbbench_version, prepare
from tests.integration.conftest import clean_environment, reaped, run_dbbench

VERSION = dbbench_version()


@dataclasses.dataclass
class Server:
    """One dialect's server as these tests use it."""

    dialect: str
    env: dict[str, str]
    connect: Callable[[], Any]
    database: DatabaseSettings
    #: SQL of the table's comment (None: no such table)
    comment_sql: str
    #: SQL of the names of the table's indexes
    indexes_sql: str

    def query(self, sql: str) -> list[tuple]:
        connection = self.connect()
        try:
            cursor = connection.cursor()
            cursor.execute(sql)
            rows = list(cursor.fetchall()) if cursor.description else []
            connection.commit()
            return rows
        finally:
            connection.close()

    def comment(self) -> str | None:
        rows = self.query(self.comment_sql)
        return rows[0][0] if rows else None

    def exists(self) -> bool:
        return bool(self.query(self.comment_sql))

    def dbbench(self, *args: str, **popen: Any) -> subprocess.CompletedProcess:
        return run_dbbench(*args, env=self.env, **popen)


@pytest.fixture(params=["mysql", "postgresql"])
def target(request) -> Iterator[Server]:
    """The session's server of each dialect, with no table dbbench_data before or after."""
    if request.param == "mysql":
        server = request.getfixturevalue("server")
        found = Server(
            "mysql",
            server.env(),
            server.connect,
            DatabaseSettings(
                host=server.host, port=server.port, user=server.user,
                password=server.password, database=server.database,
            ),
            "SELECT TABLE_COMMENT FROM information_schema.TABLES "
            "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'dbbench_data'",
            "SELECT INDEX_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = "
            "DATABASE() AND TABLE_NAME = 'dbbench_data' AND COLUMN_NAME = 'k'",
        )  # fmt: skip
    else:
        server = request.getfixturevalue("postgresql_server")
        found = Server(
            "postgresql",
            server.env(),
            lambda: server.connect(autocommit=False),
            DatabaseSettings(
                dialect="postgresql", driver="psycopg", host=server.host, port=server.port,
                user=server.user, password=server.password, database=server.database,
            ),
            "SELECT obj_description(c.oid, 'pg_class') FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = current_schema() "
            "AND c.relname = 'dbbench_data'",
            "SELECT indexname FROM pg_indexes WHERE tablename = 'dbbench_data' "
            "AND indexdef LIKE '%(k)'",
        )  # fmt: skip
    found.query("DROP TABLE IF EXISTS dbbench_data")
    yield found
    found.query("DROP TABLE IF EXISTS dbbench_data")


def test_prepare_makes_n_rows_with_ids_1_to_n_and_the_mark(target):
    done = target.dbbench("prepare", "--rows", "1000", "--allow-writes")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # not a terminal: no bar
    (line,) = done.stdout.splitlines()
    assert line.startswith("dbbench: prepared the data set ") and "1,000 rows in " in line
    assert target.comment() == f"dbbench data set: 1000 rows, dbbench {VERSION}, ready"
    ((count, distinct, low, high, k_low, k_high, c_len, pad_len),) = target.query(
        "SELECT COUNT(*), COUNT(DISTINCT id), MIN(id), MAX(id), MIN(k), MAX(k), "
        "MIN(LENGTH(c)) + MAX(LENGTH(c)), MIN(LENGTH(pad)) + MAX(LENGTH(pad)) FROM dbbench_data"
    )
    assert (count, distinct, low, high) == (1000, 1000, 1, 1000)
    assert 1 <= k_low <= k_high <= 1000
    assert (c_len, pad_len) == (2 * 119, 2 * 59)  # every row as wide as sysbench's
    ((c, pad),) = target.query("SELECT c, pad FROM dbbench_data WHERE id = 1")
    groups = c.strip().split("-")
    assert len(groups) == 10 and all(len(g) == 11 and g.isdigit() for g in groups)
    assert len(pad.strip().split("-")) == 5
    assert target.query(target.indexes_sql) == [("dbbench_data_k",)]
    assert read_data_set(target.database) == 1000


def test_prepare_again_leaves_the_data_set_as_it_is(target):
    assert target.dbbench("prepare", "--rows", "1000", "--allow-writes").returncode == 0
    before = target.query("SELECT id, k, c FROM dbbench_data ORDER BY id")
    again = target.dbbench("prepare", "--rows", "1000", "--allow-writes")
    assert again.returncode == 0, again.stderr
    assert "is there already: 1,000 rows" in again.stdout and "--recreate" in again.stdout
    assert target.query("SELECT id, k, c FROM dbbench_data ORDER BY id") == before


def test_other_rows_are_refused_unless_recreated(target):
    assert target.dbbench("prepare", "--rows", "1000", "--allow-writes").returncode == 0
    other = target.dbbench("prepare", "--rows", "1500", "--allow-writes")
    assert other.returncode == 2 and other.stdout == ""
    (line,) = other.stderr.splitlines()
    assert "holds 1000 rows, not 1500: give --recreate" in line
    remade = target.dbbench("prepare", "--rows", "1500", "--allow-writes", "--recreate")
    assert remade.returncode == 0, remade.stderr
    assert target.query("SELECT COUNT(*), MAX(id) FROM dbbench_data") == [(1500, 1500)]
    assert target.comment() == f"dbbench data set: 1500 rows, dbbench {VERSION}, ready"


def test_cleanup_drops_the_data_set_and_then_has_nothing_to_do(target):
    assert target.dbbench("prepare", "--rows", "1000", "--allow-writes").returncode == 0
    dropped = target.dbbench("cleanup", "--allow-writes")
    assert dropped.returncode == 0, dropped.stderr
    assert "dropped the data set" in dropped.stdout and "(1,000 rows)" in dropped.stdout
    assert not target.exists()
    again = target.dbbench("cleanup", "--allow-writes")
    assert again.returncode == 0 and "to drop: nothing done" in again.stdout
    with pytest.raises(DbbenchError, match=f"^{NO_DATA_SET}$"):
        read_data_set(target.database)


def test_a_table_of_that_name_without_the_mark_is_left_alone(target):
    target.query("CREATE TABLE dbbench_data (id INTEGER PRIMARY KEY, note VARCHAR(10))")
    target.query("INSERT INTO dbbench_data VALUES (7, 'mine')")
    cleanup = target.dbbench("cleanup", "--allow-writes")
    assert cleanup.returncode == 2 and cleanup.stdout == ""
    (line,) = cleanup.stderr.splitlines()
    assert "dbbench_data" in line and "is not dbbench's data set" in line
    for args in (["--rows", "1000"], ["--rows", "1", "--recreate"]):
        prepare = target.dbbench("prepare", *args, "--allow-writes")
        assert prepare.returncode == 2
        (line,) = prepare.stderr.splitlines()
        assert "exists and is not dbbench's data set" in line
    assert target.query("SELECT id, note FROM dbbench_data") == [(7, "mine")]
    with pytest.raises(DbbenchError, match="is not dbbench's data set"):
        read_data_set(target.database)


def test_no_allow_writes_touches_nothing(target):
    refused = target.dbbench("prepare", "--rows", "1000")
    assert refused.returncode == 2
    assert refused.stderr.splitlines() == [
        "dbbench: error: dbbench prepare creates and fills the table dbbench_data: "
        "give --allow-writes"
    ]
    assert not target.exists()
    assert target.dbbench("prepare", "--rows", "10", "--allow-writes").returncode == 0
    assert target.dbbench("cleanup").returncode == 2
    assert target.exists()


def test_a_stopped_load_leaves_no_table(target):
    """SIGTERM as soon as the table is there (its mark says loading): the load stops, and
    the part-loaded table is dropped."""
    process = subprocess.Popen(
        [sys.executable, "-m", "dbbench", "prepare", "--rows", "50000000", "--allow-writes"],
        env=target.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    with reaped(process):
        deadline = time.monotonic() + 120
        while not (target.comment() or "").endswith(", loading"):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the table never appeared"
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "dropped the part-loaded table" in stderr and stdout == ""
    assert not target.exists()


def test_without_mariadb_sequences_the_rows_come_from_a_join_of_digits(server, monkeypatch):
    """MySQL has no ``seq_1_to_N``: the load's other way makes the same rows (on MariaDB,
    told there are no sequences), across chunks and a last one cut short."""
    find = DataSetSql.find

    def without_sequences(self, cursor):
        found = find(self, cursor)
        self.sequences = False
        return found

    monkeypatch.setattr(DataSetSql, "find", without_sequences)
    settings = Settings(
        database=DatabaseSettings(
            host=server.host, port=server.port, user=server.user,
            password=server.password, database=server.database,
        )
    )  # fmt: skip
    rows = 2 * CHUNK_ROWS + 7
    seen = []
    prepare(
        settings, rows, allow_writes=True, recreate=True, on_progress=lambda d, t: seen.append(d)
    )
    try:
        with server.connect() as connection, connection.cursor() as cursor:
            cursor.execute(
                "SELECT COUNT(*), COUNT(DISTINCT id), MIN(id), MAX(id) FROM dbbench_data"
            )
            assert cursor.fetchone() == (rows, rows, 1, rows)
        assert seen == [0, CHUNK_ROWS, 2 * CHUNK_ROWS, rows]
    finally:
        cleanup(settings, allow_writes=True)


def test_the_server_comes_from_the_settings_file_or_a_url(target, tmp_path):
    """No DBBENCH_* variable: ``--config``'s [database] names the server for prepare, and
    ``--url`` for cleanup."""
    database = target.database
    (tmp_path / "bench.toml").write_text(
        "[database]\n"
        f'dialect = "{database.dialect}"\nhost = "{database.host}"\nport = {database.port}\n'
        f'user = "{database.user}"\ndatabase = "{database.database}"\n'
    )
    env = clean_environment()
    if database.password:
        env["DBBENCH_PASSWORD"] = database.password
    config = str(tmp_path / "bench.toml")
    made = run_dbbench("prepare", "--rows", "100", "--allow-writes", "--config", config, env=env)
    assert made.returncode == 0, made.stderr
    assert target.comment() == f"dbbench data set: 100 rows, dbbench {VERSION}, ready"
    scheme = "mysql+pymysql" if database.dialect == "mysql" else "postgresql"
    url = f"{scheme}://{database.user}@{database.host}:{database.port}/{database.database}"
    dropped = run_dbbench("cleanup", "--allow-writes", "--url", url, env=env)
    assert dropped.returncode == 0, dropped.stderr
    assert "(100 rows)" in dropped.stdout and not target.exists()


def _mark(target: Server, text: str, kind: str = "TABLE") -> None:
    if target.dialect == "mysql":
        target.query(f"ALTER TABLE dbbench_data COMMENT='{text}'")
    else:
        target.query(f"COMMENT ON {kind} dbbench_data IS '{text}'")


def test_a_marked_table_of_other_columns_is_left_alone(target):
    # the comment alone is no proof: anybody can write it
    target.query("CREATE TABLE dbbench_data (x INT)")
    target.query("INSERT INTO dbbench_data VALUES (7)")
    _mark(target, f"dbbench data set: 1000 rows, dbbench {VERSION}, ready")
    cleanup = target.dbbench("cleanup", "--allow-writes")
    assert cleanup.returncode == 2 and cleanup.stdout == ""
    (line,) = cleanup.stderr.splitlines()
    assert "is not dbbench's data set: its columns are x int, not id int, k int, " in line
    assert "c char(120), pad char(60)" in line
    assert target.query("SELECT x FROM dbbench_data") == [(7,)]


def test_cleanup_says_the_rows_there_and_the_mark_s_when_they_differ(target):
    assert target.dbbench("prepare", "--rows", "1", "--allow-writes").returncode == 0
    dropped = target.dbbench("cleanup", "--allow-writes")
    assert dropped.returncode == 0, dropped.stderr
    assert dropped.stdout.strip().endswith(" (1 row)"), dropped.stdout
    assert target.dbbench("prepare", "--rows", "1000", "--allow-writes").returncode == 0
    target.query("DELETE FROM dbbench_data WHERE id > 400")
    _mark(target, f"dbbench data set: 1000 rows, dbbench {VERSION}, loading")
    dropped = target.dbbench("cleanup", "--allow-writes")
    assert dropped.returncode == 0, dropped.stderr
    assert "(400 rows, of the 1,000 rows its mark says: a load that did not finish)" in (
        dropped.stdout
    )
    assert not target.exists()


def test_a_marked_view_on_postgresql_is_said_to_be_no_table(postgresql_server):
    connection = postgresql_server.connect(autocommit=True)
    try:
        cursor = connection.cursor()
        cursor.execute("DROP TABLE IF EXISTS dbbench_data")
        cursor.execute("DROP VIEW IF EXISTS dbbench_data")
        cursor.execute("CREATE VIEW dbbench_data AS SELECT 1 AS id")
        cursor.execute(
            f"COMMENT ON VIEW dbbench_data IS 'dbbench data set: 1 rows, dbbench {VERSION}, ready'"
        )
        cleanup = run_dbbench("cleanup", "--allow-writes", env=postgresql_server.env())
        assert cleanup.returncode == 2 and cleanup.stdout == ""
        (line,) = cleanup.stderr.splitlines()
        assert "is not dbbench's data set: it is a view, not a table" in line
        cursor.execute("SELECT 1 FROM pg_views WHERE viewname = 'dbbench_data'")
        assert cursor.fetchall() == [(1,)]
    finally:
        connection.cursor().execute("DROP VIEW IF EXISTS dbbench_data")
        connection.close()


def test_a_script_reads_rows_from_the_data_set_and_is_refused_without_one(target, tmp_path):
    (tmp_path / "rows.sql").write_text(
        "\\set id random(1, :rows)\nSELECT c FROM dbbench_data WHERE id = :id AND :rows = 700;\n"
    )
    args = ("run", "--script", "rows.sql", "-n", "20", "--ssl-mode", "disabled", "-q")
    assert target.dbbench("prepare", "--rows", "700", "--allow-writes").returncode == 0
    ran = target.dbbench(*args, "-o", "out.json", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    document = json.loads((tmp_path / "out.json").read_text())
    for runner in document["results"]:
        ((script,),) = [runner["scripts"]]
        assert (runner["n"], runner["errors"], script["statements"][0]["n"]) == (20, 0, 20)
    assert target.dbbench("cleanup", "--allow-writes").returncode == 0
    refused = target.dbbench(*args, cwd=tmp_path)
    assert refused.returncode == 2 and refused.stderr.splitlines() == [
        f"dbbench: error: {NO_DATA_SET}"
    ], refused.stderr
