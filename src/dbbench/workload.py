"""What one benchmark operation does once it has a connection.

Two workloads, by the ``[benchmark] workload`` setting:

* ``read`` (the default): run the query, fetch every row;
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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dbbench.fetching import fetch_all

if TYPE_CHECKING:
    from dbbench.config.settings import BenchmarkSettings

READ_WORKLOAD = "read"
#: the workloads that only read: the query, and the built-in ones on the data set
#: (``scripts.builtin``), which run as scripts
READ_WORKLOADS = (READ_WORKLOAD, "point-select", "read-only")


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
    ``point-select workload on dbbench_data (100,000 rows)``.
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
