"""What one operation does: the read workload fetches, a write workload commits too."""

import asyncio

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


class Refusing(Recording):
    """As psycopg and psycopg2 do: fetching a statement that produced no result raises."""

    def fetchall(self):
        self.calls.append("fetchall")
        if self.description is None:
            raise RuntimeError("the last operation didn't produce records")
        raise ValueError("a fetch that failed for another reason")


def test_a_read_with_no_result_counts_no_rows():
    connection = Refusing()
    assert Workload("INSERT disguised as a read").run_on(connection) == 0
    assert connection.calls[-1] == "close cursor"


def test_a_fetch_that_fails_on_a_result_is_not_hidden():
    connection = Refusing()
    with pytest.raises(ValueError, match="another reason"):
        Workload("SELECT 1").run_on(connection)
    assert connection.calls[-1] == "close cursor"


class Describing(Recording):
    """Counts how often ``description`` is asked: psycopg builds it anew each time."""

    asked = 0

    def __getattribute__(self, name):
        if name == "description":
            object.__setattr__(self, "asked", object.__getattribute__(self, "asked") + 1)
        return object.__getattribute__(self, name)


def test_a_read_does_not_ask_for_the_description():
    connection = Describing()
    assert Workload("SELECT 1").run_on(connection) == 1
    assert connection.asked == 0


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


class RecordingExecutor:
    """A Core ``Connection`` or ORM ``Session`` as the layered runners use it: ``execute``
    returns a result that knows whether it has rows (no database: unit test)."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def execute(self, statement):
        self.calls.append(f"execute {statement}")
        calls, returns_rows = self.calls, not str(statement).startswith("INSERT")

        class Result:
            def __init__(self) -> None:
                self.returns_rows = returns_rows

            def fetchall(self):
                calls.append("fetchall")
                return [(1,)]

        return Result()

    def commit(self):
        self.calls.append("commit")


class AwaitedExecutor(RecordingExecutor):
    """``RecordingExecutor`` as ``AsyncConnection`` and ``AsyncSession``: execute and commit
    awaited."""

    async def execute(self, statement):
        return RecordingExecutor.execute(self, statement)

    async def commit(self):
        RecordingExecutor.commit(self)


def through(executor, workload: Workload, statement: str) -> int:
    if isinstance(executor, AwaitedExecutor):
        return asyncio.run(workload.run_through_async(executor, statement))
    return workload.run_through(executor, statement)


@pytest.mark.parametrize("executor", [RecordingExecutor, AwaitedExecutor])
def test_through_sqlalchemy_a_read_fetches_and_never_commits(executor):
    executor = executor()
    assert through(executor, Workload("SELECT 1"), "SELECT 1") == 1
    assert executor.calls == ["execute SELECT 1", "fetchall"]


@pytest.mark.parametrize("executor", [RecordingExecutor, AwaitedExecutor])
def test_through_sqlalchemy_an_insert_commits_and_fetches_nothing(executor):
    statement = insert_statement(new_table_name())
    bench = BenchmarkSettings(workload="insert", query=statement)
    executor = executor()
    assert through(executor, workload_for(bench), statement) == 0
    assert executor.calls == [f"execute {statement}", "commit"]
