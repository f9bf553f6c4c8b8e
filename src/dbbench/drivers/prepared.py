"""Statements sent as server-side prepared statements (``[benchmark] prepared``), or plainly
never prepared, by the two drivers that can: what an operation's cursor is made of.

An operation asks for its cursor through a ``CursorFactory`` (``Driver.cursor_factory``),
given the connection (a pool's wrapper, or the driver's own), and uses it as a DB-API
cursor: ``execute(sql, params)``, ``fetchall()``, ``description``, ``close()``.

* psycopg 3 keeps the statements it prepared per connection itself (an LRU of
  ``prepared_max``, 100, keyed by the query): ``execute(..., prepare=True)`` prepares the
  query on its first execution on the connection, and executes the prepared statement
  from then on.  ``prepare=False`` prepares nothing, where psycopg's default
  (``prepare_threshold=5``) prepares a query on its fifth execution on a connection:
  plain beside prepared is then plain text every time.  ``PreparingCursor`` is a cursor
  that passes one of the two.
* mysql-connector's prepared cursor (``cursor(prepared=True)``) holds one statement, and
  closes it on the server (``COM_STMT_CLOSE``) when it is given another, or closed.  To
  keep a statement across operations on a pooled or persistent connection,
  ``PreparedStatements`` keeps one prepared cursor per statement text per driver
  connection (as long as the connection lives), and hands out a ``StatementCursors`` that
  picks the statement's own; its ``close()`` keeps them.  The cursor compares the text by
  identity (``operation is not self._executed``): each statement's text is one object for
  the whole run (the query; a script's statements, bound once), so the same cursor
  executes without preparing again.  Before each execution it sends ``COM_STMT_RESET``
  (a round trip: MariaDB's ``Com_stmt_reset`` counts one per execution), which its
  plain text does not.

PyMySQL, mysqlclient and psycopg2 have no server-side prepared statements (they send the
statement as text, with its parameters interpolated by the client); asyncpg prepares
every statement through its own cache.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any

#: what gives an operation its cursor on a connection
CursorFactory = Callable[[Any], Any]


def driver_connection(connection: Any) -> Any:
    """The driver's connection under ``connection``: a pool's checkout is a wrapper, a new
    one each time (SQLAlchemy's ``dbapi_connection``)."""
    return getattr(connection, "dbapi_connection", None) or connection


class PreparingCursor:
    """A psycopg cursor whose ``execute`` prepares, or never prepares, as asked."""

    __slots__ = ("_cursor", "_prepare")

    def __init__(self, cursor: Any, prepare: bool) -> None:
        self._cursor = cursor
        self._prepare = prepare

    @classmethod
    def factory(cls, prepare: bool) -> CursorFactory:
        return lambda connection: cls(connection.cursor(), prepare)

    def execute(self, sql: Any, params: Any = None) -> None:
        self._cursor.execute(sql, params, prepare=self._prepare)

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    @property
    def description(self) -> Any:
        return self._cursor.description

    def close(self) -> None:
        self._cursor.close()


class StatementCursors:
    """One mysql-connector connection's prepared cursors, one per statement text, used as
    one cursor: ``execute`` runs the statement on its own (preparing it on the server the
    first time), ``fetchall`` and ``description`` read the one that ran last, ``close``
    keeps them all (they live as long as the connection).  One operation at a time uses
    a connection, so one thread at a time uses this."""

    __slots__ = ("_connection", "_cursors", "_current")

    def __init__(self, connection: Any) -> None:
        # weakly, as its cursors hold it: ``PreparedStatements`` keys this by the connection
        self._connection = weakref.proxy(connection)
        self._cursors: dict[Any, Any] = {}
        self._current: Any = None

    def execute(self, sql: Any, params: Any = None) -> None:
        cursor = self._cursors.get(sql)
        if cursor is None:
            cursor = self._cursors[sql] = self._connection.cursor(prepared=True)
        self._current = cursor
        cursor.execute(sql, params)

    def fetchall(self) -> list[Any]:
        return self._current.fetchall()

    @property
    def description(self) -> Any:
        return None if self._current is None else self._current.description

    def close(self) -> None:
        """Nothing: the statements stay prepared for the connection's next operation."""


class PreparedStatements:
    """The ``CursorFactory`` of mysql-connector's prepared statements: each driver
    connection's ``StatementCursors``, made on its first operation and dropped with it."""

    def __init__(self) -> None:
        self._kept: weakref.WeakKeyDictionary[Any, StatementCursors] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()  # new connections only: a lookup takes none

    def __call__(self, connection: Any) -> StatementCursors:
        own = driver_connection(connection)
        found = self._kept.get(own)
        if found is None:
            with self._lock:
                found = self._kept[own] = StatementCursors(own)
        return found


__all__ = [
    "CursorFactory",
    "PreparedStatements",
    "PreparingCursor",
    "StatementCursors",
    "driver_connection",
]
