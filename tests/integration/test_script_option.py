"""``dbbench run --script`` on real servers (MariaDB and PostgreSQL): a script of a
``\\set``, BEGIN, three SELECTs and COMMIT runs on raw, pool and persistent without an
error; a failing statement counts as a failed operation of its kind, named by file and
line, and its transaction is rolled back: nothing of it is committed later."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from tests.integration.conftest import run_dbbench

TX = """\\set id random(1, 1000)
BEGIN;
SELECT :id;
SELECT :id + 1 AS next;
SELECT :id * 2 AS twice;
COMMIT;
"""
RUNNERS = ("raw", "pool", "persistent")


@pytest.fixture(params=["mysql", "postgresql"])
def target(request):
    """(dialect, the session's server of it)."""
    fixture = "server" if request.param == "mysql" else "postgresql_server"
    return request.param, request.getfixturevalue(fixture)


def dbbench(target, tmp_path: Path, *args: str):
    dialect, server = target
    result = run_dbbench(
        "run", "--ssl-mode", "disabled", "-q", *args,
        env=server.env(), cwd=tmp_path, timeout_s=300,
    )  # fmt: skip
    return result


def test_a_transaction_script_runs_on_every_runner_without_an_error(target, tmp_path):
    (tmp_path / "tx.sql").write_text(TX)
    result = dbbench(
        target, tmp_path, "--script", "tx.sql", "-n", "50", "--runner", ",".join(RUNNERS),
        "-o", "out.json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    document = json.loads((tmp_path / "out.json").read_text())
    assert document["settings"]["benchmark"]["scripts"] == [{"path": "tx.sql", "weight": 1}]
    by_runner = {r["runner"]: r for r in document["results"]}
    assert sorted(by_runner) == sorted(RUNNERS)
    for runner in by_runner.values():
        assert (runner["n"], runner["errors"], runner["errors_by_kind"]) == (50, 0, {})
        ((script,),) = [runner["scripts"]]
        assert (script["script"], script["weight"], script["operations"]) == ("tx.sql", 1, 50)
        statements = script["statements"]
        assert [(s["line"], s["sql"]) for s in statements] == [
            (2, "BEGIN"), (3, "SELECT :id"), (4, "SELECT :id + 1 AS next"),
            (5, "SELECT :id * 2 AS twice"), (6, "COMMIT"),
        ]  # fmt: skip
        for statement in statements:
            assert (statement["n"], statement["errors"]) == (50, 0)
            assert statement["histogram"]["count"] == 50
            assert 0 < statement["p50_us"] <= statement["p99_us"]
    assert "script tx.sql: 50 operations per runner" in result.stdout
    assert "per statement (measured operations)" in result.stdout


def execute(server, dialect: str, *statements: str) -> list:
    connection = server.connect(autocommit=True) if dialect == "postgresql" else server.connect()
    try:
        cursor = connection.cursor()
        rows = []
        for sql in statements:
            cursor.execute(sql)
            rows = cursor.fetchall() if cursor.description is not None else []
        if dialect == "mysql":
            connection.commit()
        return rows
    finally:
        connection.close()


def test_a_failing_statement_is_a_failed_operation_rolled_back(target, tmp_path):
    """Each operation logs its id, then inserts it where it must be unique: once the five
    ids are in, every operation fails at line 4.  Had a failure left its transaction open,
    the next operation's BEGIN (MySQL: an implicit commit) or its statements (PostgreSQL:
    an aborted transaction) would show it: the log would hold more rows than the unique
    table, or the errors be of another kind."""
    dialect, server = target
    suffix = uuid.uuid4().hex[:8]
    log, unique = f"sw_log_{suffix}", f"sw_unique_{suffix}"
    execute(
        server, dialect,
        f"CREATE TABLE {log} (id INT NOT NULL)",
        f"CREATE TABLE {unique} (id INT PRIMARY KEY)",
    )  # fmt: skip
    try:
        (tmp_path / "fail.sql").write_text(
            "\\set id random(1, 5)\n"
            "BEGIN;\n"
            f"INSERT INTO {log} (id) VALUES (:id);\n"
            f"INSERT INTO {unique} (id) VALUES (:id);\n"
            "COMMIT;\n"
        )
        refused = dbbench(target, tmp_path, "--script", "fail.sql", "-n", "40")
        assert refused.returncode == 2
        assert refused.stderr.count("\n") == 1 and "fail.sql:3 = 'INSERT" in refused.stderr
        result = dbbench(
            target, tmp_path, "--script", "fail.sql", "--allow-writes", "-n", "40",
            "--warmup", "1", "--runner", "persistent", "-o", "out.json",
        )  # fmt: skip
        document = json.loads((tmp_path / "out.json").read_text())
        logged = execute(server, dialect, f"SELECT COUNT(*) FROM {log}")[0][0]
        kept = execute(server, dialect, f"SELECT COUNT(*) FROM {unique}")[0][0]
    finally:
        execute(server, dialect, f"DROP TABLE {log}", f"DROP TABLE {unique}")
    assert result.returncode == 3, result.stderr  # operations failed
    ((runner),) = document["results"]  # one connection, reused: what a failure would spoil
    kinds = runner["errors_by_kind"]
    assert len(kinds) == 1, kinds
    ((kind, count),) = kinds.items()
    assert kind.startswith("IntegrityError(") and kind.endswith(" at fail.sql:4"), kind
    assert runner["n"] + count == 40 and runner["errors"] == count
    # the cold start (the first id: it succeeds), the warm-up's one, the measured: each
    # success committed its two rows, no failure committed any
    succeeded = 1 + (1 - runner["warmup_errors"]) + runner["n"]
    assert kept == logged == succeeded <= 5
    assert count >= 40 - 5
    ((script,),) = [runner["scripts"]]
    begin, log_insert, unique_insert, commit = script["statements"]
    assert script["operations"] == 40
    assert (begin["n"], log_insert["n"]) == (40, 40)
    # a statement's n and errors count as the runner's: successes, then failures
    assert (unique_insert["n"], unique_insert["errors"]) == (runner["n"], count)
    assert unique_insert["histogram"] is None or unique_insert["histogram"]["count"] == runner["n"]
    assert (commit["n"], commit["errors"]) == (runner["n"], 0)


@pytest.mark.parametrize("driver", ["pymysql", "mysqlclient", "mysql-connector"])
def test_a_raw_operation_of_a_script_connects_in_autocommit_with_no_set_of_its_own(
    server, tmp_path, driver
):
    """Scripts run in autocommit, set by the connect itself: a raw operation of a script
    sends no ``SET`` the same operation of ``--query`` does not (PyMySQL's connect used
    to send ``SET AUTOCOMMIT = 0``, the script then ``= 1``: round trips measured as
    raw's).  Counted by the server (``Com_set_option``, every SET statement) over 40
    operations of each: the driver's own connect sends what it sends (``SET NAMES``;
    mysql-connector its autocommit, ON or OFF), the script nothing more."""
    module = {"mysqlclient": "MySQLdb", "mysql-connector": "mysql.connector"}
    pytest.importorskip(module.get(driver, "pymysql"))
    (tmp_path / "one.sql").write_text("SELECT 1;\n")

    def sets_of(*workload: str) -> int:
        status = "SHOW GLOBAL STATUS LIKE 'Com_set_option'"
        before = int(execute(server, "mysql", status)[0][1])
        result = dbbench(
            ("mysql", server), tmp_path, *workload, "--runner", "raw",
            "--driver", driver, "-n", "40", "--warmup", "0",
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        return int(execute(server, "mysql", status)[0][1]) - before

    query = sets_of("--query", "SELECT 1")
    assert query >= 40  # each connect's own (SET NAMES, ...): the count sees them
    assert sets_of("--script", "one.sql") <= query


def test_a_script_that_fails_by_its_data_is_measured_in_one_process_and_in_two(
    target, tmp_path
):
    """A script whose statement fails by the value it drew (a division by a zero drawn
    one time in four) is measured: its first operation, tried again when it fails, does
    not stop the run; its failures are counted by place, in one process and in two."""
    dialect, _ = target
    (tmp_path / "div.sql").write_text(
        "\\set x random(0, 3)\nSELECT 1 / :x AS q;\n"
        if dialect == "postgresql"
        # MySQL's 1/0 is NULL: a subquery of two rows where one is wanted fails instead
        else "\\set x random(0, 3)\nSELECT IF(:x = 0, (SELECT 1 UNION SELECT 2), 1) AS q;\n"
    )
    for processes in ("1", "2"):
        result = dbbench(
            target, tmp_path, "--script", "div.sql", "-n", "40", "-c", "2",
            "--processes", processes, "--runner", "raw,pool,persistent", "-o", "out.json",
        )  # fmt: skip
        assert result.returncode == 3, result.stderr  # some operations failed, all counted
        document = json.loads((tmp_path / "out.json").read_text())
        assert document["complete"] is True
        for runner in document["results"]:
            assert runner["n"] + runner["errors"] == 40
            assert set(runner["errors_by_kind"]) == {f"{_kind(dialect)} at div.sql:2"}


def _kind(dialect: str) -> str:
    return "DataError(22012)" if dialect == "postgresql" else "OperationalError(1242)"


def test_a_script_that_fails_every_time_is_one_line_in_two_processes_as_in_one(
    target, tmp_path
):
    (tmp_path / "bad.sql").write_text("SELECT * FROM no_such_table_here;\n")
    for processes in ("1", "2"):
        result = dbbench(
            target, tmp_path, "--script", "bad.sql", "-n", "10", "-c", "2",
            "--processes", processes,
        )  # fmt: skip
        assert result.returncode == 1
        assert "the statement at bad.sql:1 failed" in result.stderr, result.stderr
        assert "cannot connect" not in result.stderr and "Traceback" not in result.stderr


#: pgbench's integers are 64-bit: 200 * 200 is 40000 (psycopg bound 200 as int2, and
#: PostgreSQL's int2 * int2 failed with "smallint out of range"); a wrong product, or a
#: wrong type on psycopg, divides by zero
PRODUCT = """\\set a 200
\\set b 200
\\set d 1.5
SELECT :a * :b AS product;
SELECT 1 / ((:a * :b = 40000)::int) AS right_product;
"""
TYPES = """SELECT 1 / ((pg_typeof(:a) = 'bigint'::regtype)::int) AS int8;
SELECT 1 / ((pg_typeof(:d) = 'double precision'::regtype)::int) AS float8;
"""


@pytest.mark.parametrize("driver", ["psycopg", "psycopg2"])
def test_a_script_s_integers_are_64_bit_on_postgresql(postgresql_server, tmp_path, driver):
    # psycopg2 pastes its values into the text (200 is an int4 there, 1.5 a numeric)
    (tmp_path / "product.sql").write_text(PRODUCT + (TYPES if driver == "psycopg" else ""))
    runners = ("raw", "pool", "persistent", *(("psycopg-pool",) if driver == "psycopg" else ()))
    result = dbbench(
        ("postgresql", postgresql_server), tmp_path, "--script", "product.sql", "-n", "20",
        "--driver", driver, "--runner", ",".join(runners), "-o", "out.json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    document = json.loads((tmp_path / "out.json").read_text())
    assert sorted(r["runner"] for r in document["results"]) == sorted(runners)
    for runner in document["results"]:
        assert (runner["runner"], runner["n"], runner["errors_by_kind"]) == (
            runner["runner"], 20, {}
        )
