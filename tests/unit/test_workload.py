"""What one operation does: the read workload fetches, a write workload commits too."""

import pytest

from dbbench.config.settings import BenchmarkSettings
from dbbench.databases.scratch import insert_statement, new_table_name
from dbbench.workload import Workload, describe, workload_for


class Recording:
    """A DB-API connection that notes what it was asked to do (no database: unit test)."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.description = None

    def cursor(self):
        return self

    def execute(self, query):
        self.calls.append(f"execute {query}")
        # DB-API: a statement with a result describes its columns, one without is None
        self.description = None if query.startswith("INSERT") else (("1",),)

    def fetchall(self):
        self.calls.append("fetchall")
        return ((1,),)

    def close(self):
        self.calls.append("close cursor")

    def commit(self):
        self.calls.append("commit")


def test_read_fetches_and_never_commits():
    connection = Recording()
    assert workload_for(BenchmarkSettings(query="SELECT 1")).run_on(connection) == 1
    assert connection.calls == ["execute SELECT 1", "fetchall", "close cursor"]


def test_insert_commits_inside_the_operation():
    table = new_table_name()
    bench = BenchmarkSettings(workload="insert", query=insert_statement(table))
    connection = Recording()
    workload_for(bench).run_on(connection)
    assert connection.calls == [
        f"execute INSERT INTO `{table}` (connection_id) VALUES (CONNECTION_ID())",
        "close cursor",  # no result to fetch (psycopg refuses to fetch one)
        "commit",
    ]


def test_only_scratch_names_reach_sql():
    assert new_table_name() != new_table_name()
    with pytest.raises(ValueError):
        insert_statement("orders; DROP TABLE users")


def test_the_title_names_a_write_workload():
    assert describe("SELECT 1", "read") == "'SELECT 1'"
    statement = insert_statement("dbbench_scratch_0123abcd")
    assert describe(statement, "insert") == (f"insert workload: {statement!r} + COMMIT")
    assert Workload("SELECT 1").commit is False
