"""``dbbench prepare`` and ``cleanup`` without a server: their refusals, each one line before
anything connects (``tests/conftest.py`` fails a unit test that connects), the data set's
mark, and the SQL that makes its rows."""

from __future__ import annotations

import io

import pytest
from click.testing import CliRunner
from rich.console import Console

from dbbench.cli import Env, cli
from dbbench.config.settings import DatabaseSettings, Settings
from dbbench.databases import data_set_sql
from dbbench.databases.dataset import (
    CHUNK_ROWS,
    MAX_ROWS,
    DataSetSql,
    Mark,
    check_rows,
)
from dbbench.databases.postgresql_dataset import PostgresDataSetSql
from dbbench.errors import ConfigError, ExitStatus
from dbbench.output.progress import CountBar
from dbbench.scenarios import dataset


@pytest.fixture(autouse=True)
def no_settings(monkeypatch, tmp_path):
    """No dbbench.toml, no DBBENCH_* variable: only what a test gives."""
    monkeypatch.chdir(tmp_path)
    for variable in ("DBBENCH_DATABASE", "DBBENCH_HOST", "DBBENCH_PORT", "DBBENCH_DIALECT"):
        monkeypatch.delenv(variable, raising=False)


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), obj=Env())


def refusal(result) -> str:
    """The one line a refused command printed (and nothing else)."""
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("dbbench: error: "), result.output
    return lines[0].removeprefix("dbbench: error: ")


@pytest.mark.parametrize("command", ["prepare", "cleanup"])
def test_no_allow_writes_is_refused(command):
    args = [command, "--database", "test"] + (["--rows", "10"] if command == "prepare" else [])
    result = invoke(*args)
    assert result.exit_code == ExitStatus.USAGE
    line = refusal(result)
    assert line.startswith(f"dbbench {command} ") and "dbbench_data" in line
    assert line.endswith("give --allow-writes")


def test_no_allow_writes_is_refused_before_the_password_is_asked_for():
    result = CliRunner().invoke(
        cli, ["prepare", "--rows", "10", "--database", "test", "--password"], obj=Env(), input=""
    )
    assert result.exit_code == ExitStatus.USAGE
    assert "Password" not in result.output
    assert refusal(result).endswith("give --allow-writes")


@pytest.mark.parametrize("command", ["prepare", "cleanup"])
def test_a_throwaway_server_is_refused(command):
    args = [command, "--allow-writes", "--server", "local"]
    result = invoke(*args, *(["--rows", "10"] if command == "prepare" else []))
    assert result.exit_code == ExitStatus.USAGE
    line = refusal(result)
    assert f"dbbench {command} --server local" in line and "removed when the command ends" in line


@pytest.mark.parametrize(
    ("rows", "problem"),
    [
        ("0", f"must be between 1 and {MAX_ROWS}"),
        (str(MAX_ROWS + 1), f"must be between 1 and {MAX_ROWS}"),
        ("1e6", "must be a whole number"),
        ("ten", "must be a whole number"),
    ],
)
def test_a_bad_row_count_is_refused(rows, problem):
    result = invoke("prepare", "--rows", rows, "--allow-writes", "--database", "test")
    assert result.exit_code == ExitStatus.USAGE
    assert refusal(result) == f"--rows = '{rows}': {problem}"


def test_rows_are_required():
    result = invoke("prepare", "--allow-writes", "--database", "test")
    assert result.exit_code == ExitStatus.USAGE
    assert "--rows" in result.output


@pytest.mark.parametrize("command", ["prepare", "cleanup"])
def test_mysql_without_a_database_is_refused(command):
    result = invoke(command, "--allow-writes", *(["--rows", "10"] if command == "prepare" else []))
    assert result.exit_code == ExitStatus.USAGE
    assert refusal(result) == (
        f"dbbench {command} needs a database for the table dbbench_data: give --database"
    )


def test_two_drivers_are_refused():
    result = invoke(
        "prepare", "--rows", "10", "--allow-writes", "--database", "test",
        "--driver", "pymysql,mysqlclient",
    )  # fmt: skip
    assert result.exit_code == ExitStatus.USAGE
    assert refusal(result) == "prepare connects with one driver: give --driver one name"


def test_the_library_refuses_as_the_command_does():
    settings = Settings(database=DatabaseSettings(database="test"))
    with pytest.raises(ConfigError, match="give allow_writes$"):
        dataset.prepare(settings, 10)
    with pytest.raises(ConfigError, match="rows = 0: must be between 1"):
        dataset.prepare(settings, 0, allow_writes=True)
    with pytest.raises(ConfigError, match="give allow_writes$"):
        dataset.cleanup(settings)


def test_the_mark_reads_back_what_it_wrote():
    for mark in (Mark(1000, "0.1.0", True), Mark(1, "1.2.3.dev4+gabc", False)):
        assert Mark.parse(mark.text()) == mark
    assert Mark.parse("dbbench data set: 1000 rows, dbbench 0.1.0, ready") == Mark(
        1000, "0.1.0", True
    )


@pytest.mark.parametrize(
    "comment",
    [None, "", "user table", "dbbench data set: many rows, dbbench 1, ready",
     "dbbench data set: 10 rows, dbbench 1, ready; and more"],
)  # fmt: skip
def test_any_other_comment_is_no_mark(comment):
    assert Mark.parse(comment) is None


def test_check_rows():
    assert check_rows(1) == 1 and check_rows(MAX_ROWS) == MAX_ROWS
    for rows in (0, -1, MAX_ROWS + 1):
        with pytest.raises(ValueError, match="between 1 and"):
            check_rows(rows)


def test_each_dialect_has_its_sql():
    assert type(data_set_sql(DatabaseSettings(database="test"))) is DataSetSql
    postgres = data_set_sql(DatabaseSettings(dialect="postgresql", port=5432))
    assert isinstance(postgres, PostgresDataSetSql)


def test_a_chunk_covers_its_ids_and_no_other():
    """The chunk's ids as each dialect's statement numbers them: first .. first + count - 1."""
    sql = DataSetSql(DatabaseSettings(database="test"))
    joined = sql.insert(20_001, 5, 20_005)
    assert "SELECT 20001 + n," in joined and "WHERE n < 5" in joined
    sql.sequences = True
    assert "SELECT 20000 + seq," in sql.insert(20_001, 5, 20_005)
    assert sql.insert(20_001, 5, 20_005).endswith("FROM seq_1_to_5")
    postgres = PostgresDataSetSql(DatabaseSettings(dialect="postgresql"))
    assert postgres.insert(20_001, 5, 20_005).endswith("generate_series(20001, 20005) AS i")
    assert CHUNK_ROWS <= 10_000  # the join of digits counts 0 .. 9999


def test_the_mark_is_made_with_the_table_and_made_ready_last():
    mark = Mark(10, "0.1.0", False)
    ready = Mark(10, "0.1.0", True)
    for sql in (DataSetSql(DatabaseSettings()), PostgresDataSetSql(DatabaseSettings())):
        assert mark.text() in " ".join(sql.create(mark))
        finish = sql.finish(ready)
        assert "INDEX" in finish[0] and ready.text() in finish[-1]
    assert PostgresDataSetSql(DatabaseSettings()).create(mark)[0] == "BEGIN"



def test_the_bar_counts_rows_on_a_terminal_only():
    terminal = Console(file=io.StringIO(), force_terminal=True, width=100)
    with CountBar(terminal, "prepare") as bar:
        bar(0, 1_000_000)
        bar(500_000, 1_000_000)
        assert "500,000/1,000,000 rows" in terminal.file.getvalue()
    piped = Console(file=io.StringIO(), force_terminal=False)
    with CountBar(piped, "prepare") as bar:
        bar(500_000, 1_000_000)
    assert piped.file.getvalue() == ""
