"""What one benchmark operation does once it has a connection.

By the ``[benchmark] workload`` setting:

* ``read`` (the default): run the query, fetch every row;
* ``point-get``: one row of dbbench's data set (``dbbench prepare``), every column, by a
  random primary key (``PointGet``): what an ORM's ``session.get`` of a mapped row sends,
  which the ``orm`` runners run that way, and every other runner as the same SQL;
* ``insert``: insert one row into dbbench's own scratch table (``databases/scratch.py``)
  and commit it.  The commit is part of the operation, for every runner:
  PyMySQL connects with autocommit off, the pool's reset-on-return rolls
  back, and ``raw`` closes without committing, so a write left uncommitted
  would be thrown away -- by some runners and not others, which would time
  different work.  In autocommit (``[database] autocommit``) the INSERT commits
  itself and the COMMIT ends nothing (the MySQL drivers still send it, psycopg
  and psycopg2 do not); the row is kept either way.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dbbench.fetching import fetch_all

if TYPE_CHECKING:
    from dbbench.config.settings import BenchmarkSettings

READ_WORKLOAD = "read"
#: the workload of one whole row of the data set by its primary key (``PointGet``)
POINT_GET = "point-get"
#: the workloads that only read: the query, and the built-in ones on the data set
#: (point-select and read-only run as scripts, ``scripts.builtin``; point-get as ``PointGet``)
READ_WORKLOADS = (READ_WORKLOAD, "point-select", "read-only", POINT_GET)


@dataclass(frozen=True)
class Workload:
    query: str
    #: commit after the statement, inside the operation (the write workloads)
    commit: bool = False
    #: whether the preflight lets a query with a huge result through (see preflight)
    allow_large_results: bool = False
    #: what gives the operation its cursor on a connection where statements go prepared,
    #: or never prepared (``Driver.cursor_factory``: ``for_driver``); None: ``cursor()``
    cursor: Callable[[Any], Any] | None = field(default=None, compare=False, repr=False)

    def for_driver(self, driver: Any, prepared: bool | None = None) -> Workload:
        """This workload as ``driver`` runs it: its statements prepared (``prepared``
        True), never prepared (False), or as the driver does by default (None)."""
        factory = driver.cursor_factory(prepared)
        return self if factory is None else dataclasses.replace(self, cursor=factory)

    def run_on(self, connection: Any) -> int:
        """Execute the query on a DB-API connection, fetch every row, commit if a write.

        Returns the row count.  Every runner on a DB-API connection calls this same
        method, so each times the same work (those on SQLAlchemy's ``Connection`` or
        ``Session``, ``core`` and ``session``, do it through ``run_through``).  A write
        workload's statement (an INSERT: ``description`` is None) is not fetched: psycopg
        refuses to ("the last operation didn't produce records") where the MySQL drivers
        return no rows.
        """
        cursor = connection.cursor() if self.cursor is None else self.cursor(connection)
        try:
            cursor.execute(self.query)
            if self.commit:  # the write workloads' INSERT: no rows to fetch
                rows = len(cursor.fetchall()) if cursor.description is not None else 0
            else:
                rows = fetch_all(cursor)
        finally:
            cursor.close()
        if self.commit:
            connection.commit()
        return rows

    def run_through(self, executor: Any, statement: Any) -> int:
        """The same work through SQLAlchemy: ``executor.execute(statement)`` on a Core
        ``Connection`` or an ORM ``Session``, every row fetched, ``executor.commit()``
        if a write.

        ``statement`` is the query as ``text()``, made once by the runner.  Returns the
        row count, as ``run_on``: a statement that returns no rows (the INSERT) is not
        fetched.
        """
        rows = rows_of(executor.execute(statement))
        if self.commit:
            executor.commit()
        return rows

    async def run_through_async(self, executor: Any, statement: Any) -> int:
        """``run_through`` on an ``AsyncConnection`` or an ``AsyncSession``: the execute and
        the commit awaited; their results are buffered, fetched as they are."""
        rows = rows_of(await executor.execute(statement))
        if self.commit:
            await executor.commit()
        return rows


#: point-get's statement: every column of the data set's table (``databases.dataset``), one
#: row by its primary key, the id a parameter
POINT_GET_SQL = "SELECT id, k, c, pad FROM dbbench_data WHERE id = :id"


@dataclass(frozen=True)
class PointGet(Workload):
    """``point-get``: every column of one row of the data set, its id drawn at random.

    The id is uniform in 1 .. ``rows`` (the data set's, from its mark), as sysbench's and
    point-select's, drawn inside the operation, alike for every runner; it goes to the
    server as a bound parameter, never pasted into the text.  Each runner runs the same
    SQL its own way: on a DB-API connection ``cursor.execute(dbapi_query, (id,))`` in the
    driver's paramstyle (``run_on``); on SQLAlchemy's ``Connection`` or ``Session``
    ``execute(text(query), {"id": id})`` (``run_through``); the ``orm`` runners load a
    mapped row, ``session.get(DataRow, id)`` (``get``), whose SELECT names the same four
    columns of the same table with the same WHERE.  No runner commits: a read, as ``read``.
    """

    query: str = POINT_GET_SQL
    #: the data set's rows: the ids are 1 .. rows
    rows: int = 1
    #: the statement as a DB-API driver is given it: ``:id`` as its placeholder
    dbapi_query: str = POINT_GET_SQL.replace(":id", "%s")
    #: the ids' generator, this process's own (seeded from the system's entropy)
    draws: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def for_driver(self, driver: Any, prepared: bool | None = None) -> PointGet:
        """This workload with its statement bound in ``driver``'s paramstyle (and its
        cursor as ``Workload.for_driver`` gives it)."""
        workload = super().for_driver(driver, prepared)
        assert isinstance(workload, PointGet)
        return workload.for_paramstyle(driver.paramstyle)

    def for_paramstyle(self, paramstyle: str) -> PointGet:
        """``numeric`` (asyncpg's ``$1``), or ``%s`` (every other driver's)."""
        placeholder = "$1" if paramstyle == "numeric" else "%s"
        return dataclasses.replace(self, dbapi_query=self.query.replace(":id", placeholder))

    def draw(self) -> int:
        return self.draws.randint(1, self.rows)

    def run_on(self, connection: Any) -> int:
        cursor = connection.cursor() if self.cursor is None else self.cursor(connection)
        try:
            cursor.execute(self.dbapi_query, (self.draw(),))
            return fetch_all(cursor)
        finally:
            cursor.close()

    def run_through(self, executor: Any, statement: Any) -> int:
        return rows_of(executor.execute(statement, {"id": self.draw()}))

    async def run_through_async(self, executor: Any, statement: Any) -> int:
        return rows_of(await executor.execute(statement, {"id": self.draw()}))

    def get(self, session: Any, mapped: type) -> Any:
        """The ``orm`` runners' operation: the mapped row of a random id (``Session.get``)."""
        return session.get(mapped, self.draw())

    async def get_async(self, session: Any, mapped: type) -> Any:
        return await session.get(mapped, self.draw())


def rows_of(result: Any) -> int:
    """A SQLAlchemy ``Result``'s rows, fetched and counted; 0 for one without rows (the
    INSERT), which SQLAlchemy knows from the cursor already: nothing more is asked."""
    return len(result.fetchall()) if result.returns_rows else 0


def workload_for(benchmark: BenchmarkSettings) -> Workload:
    """The operation the settings ask for (a write workload's query is its INSERT); with
    ``scripts``, a ``ScriptWorkload`` (``workload_script``), which runs where this does."""
    if benchmark.scripts:
        from dbbench.workload_script import ScriptWorkload  # its scripts import fetch_all

        rows = benchmark.data_rows
        variables = None if rows is None else {"rows": rows}
        return ScriptWorkload(benchmark.scripts, variables=variables)  # type: ignore[return-value]
    if benchmark.workload == POINT_GET:
        if benchmark.data_rows is None:
            raise ValueError("point-get needs the data set's rows (databases.read_data_set)")
        return PointGet(rows=benchmark.data_rows)
    return Workload(
        benchmark.query,
        commit=benchmark.workload != READ_WORKLOAD,
        allow_large_results=benchmark.allow_large_results,
    )


def describe(
    query: str, workload: str, scripts: list[dict] | None = None, rows: int | None = None
) -> str:
    """What each operation did, for a table's title, from a result's ``settings.benchmark``.

    e.g. ``'SELECT 1'``, ``insert workload: 'INSERT INTO ...' + COMMIT``, ``script
    tx.sql`` (``scripts tx.sql, read.sql@3``: each with its weight but the default 1), or
    ``point-select workload on dbbench_data (100,000 rows)``, ``point-get workload ...``.
    """
    if workload in READ_WORKLOADS[1:]:
        shown = "" if rows is None else f" ({rows:,} rows)"
        return f"{workload} workload on dbbench_data{shown}"
    if scripts:
        named = ", ".join(
            f"{s.get('path')}" + (f"@{s['weight']}" if s.get("weight", 1) != 1 else "")
            for s in scripts
        )
        return f"script{'s' if len(scripts) > 1 else ''} {named}"
    if workload == READ_WORKLOAD:
        return repr(query)
    return f"{workload} workload: {query!r} + COMMIT"
