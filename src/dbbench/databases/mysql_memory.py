"""What a connection costs a MySQL or MariaDB server: the memory the server counts for each
connection the run opened (``connection_memory``'s sampling).

A connection is a thread of the one server process, so its memory is not a process's to
read in ``/proc``; the server counts it itself, in one of two ways:

* MariaDB: ``information_schema.PROCESSLIST.MEMORY_USED``, always there: the memory
  allocated for the connection (its ``THD``, the network buffer, the session's and the
  statement's memory roots).  Measured here (MariaDB 10.11): an idle pooled connection
  93 KiB.
* MySQL (no such column): ``performance_schema``'s count per thread, the sum of
  ``CURRENT_NUMBER_OF_BYTES_USED`` over the thread's events
  (``memory_summary_by_thread_by_event_name``), when the server runs with
  ``performance_schema`` on and its memory instruments enabled (MySQL 8.0's default).
  MariaDB's ``performance_schema`` counts an allocation to the thread that made it, and a
  connection's ``THD`` is made by the thread that accepted it: the same idle pooled
  connection showed 528 bytes there, so MariaDB's own column is read instead.

Neither counts the thread's stack (``thread_stack``, mapped by the thread library).  Read
from the server, so it works wherever the server is.  The connections read are those
opened since the monitor's, its own excepted (a connection's id grows with each
connection): the run's, and another client's connecting meanwhile.  When neither way is
there, the sample says why and how to get it.
"""

from __future__ import annotations

from typing import Any

from dbbench.server.connection_memory import ConnectionMemory

#: the server options that make MySQL's figure available
OPTIONS = "--performance-schema=ON --performance-schema-instrument='memory/%=ON'"

_HAS_MEMORY_USED = (
    "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = "
    "'information_schema' AND TABLE_NAME = 'PROCESSLIST' AND COLUMN_NAME = 'MEMORY_USED'"
)
_PROCESSLIST = (
    "SELECT MEMORY_USED FROM information_schema.PROCESSLIST "
    "WHERE ID > %s AND ID <> CONNECTION_ID() AND COMMAND <> 'Daemon'"
)
_INSTRUMENTS = (
    "SELECT COUNT(*) FROM performance_schema.setup_instruments "
    "WHERE NAME LIKE 'memory/%' AND NAME NOT LIKE 'memory/performance_schema/%' "
    "AND ENABLED = 'YES'"
)
_THREADS = (
    "SELECT SUM(m.CURRENT_NUMBER_OF_BYTES_USED) "
    "FROM performance_schema.threads t "
    "JOIN performance_schema.memory_summary_by_thread_by_event_name m "
    "ON m.THREAD_ID = t.THREAD_ID "
    "WHERE t.TYPE = 'FOREGROUND' AND t.PROCESSLIST_ID > %s "
    "AND t.PROCESSLIST_ID <> CONNECTION_ID() "
    "GROUP BY t.THREAD_ID"
)
#: each way's source, as the sample names it, and its query
WAYS = {
    "information_schema.PROCESSLIST.MEMORY_USED": _PROCESSLIST,
    "performance_schema": _THREADS,
}


def _scalar(connection: Any, sql: str) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        (value,) = cursor.fetchone()
    return value


def performance_schema_off(connection: Any) -> str | None:
    """Why ``performance_schema`` cannot count a thread's memory, or None when it can."""
    if not int(_scalar(connection, "SELECT @@performance_schema")):
        return f"performance_schema is off (start the server with {OPTIONS})"
    if not int(_scalar(connection, _INSTRUMENTS)):
        return (
            f"performance_schema's memory instruments are off (start the server with {OPTIONS})"
        )
    return None


class ThreadMemory:
    """``connection_memory.MemoryReader`` of a MySQL or MariaDB server's connections:
    MariaDB's ``MEMORY_USED`` where the server has it, else ``performance_schema``'s
    (``source`` forces one of ``WAYS``)."""

    def __init__(self, source: str | None = None) -> None:
        self.source = source
        #: the monitor's connection id at ``open``: the run's connections' are higher
        self._since_id = 0

    def open(self, connection: Any) -> str | None:
        if self.source is None and int(_scalar(connection, _HAS_MEMORY_USED)):
            self.source = "information_schema.PROCESSLIST.MEMORY_USED"
        if self.source != "information_schema.PROCESSLIST.MEMORY_USED":
            reason = performance_schema_off(connection)
            if reason:
                return reason
            self.source = "performance_schema"
        self._since_id = int(_scalar(connection, "SELECT CONNECTION_ID()"))
        return None

    def read(self, connection: Any) -> ConnectionMemory:
        assert self.source is not None, "read before open"
        with connection.cursor() as cursor:
            cursor.execute(WAYS[self.source], (self._since_id,))
            allocated = [int(value) for (value,) in cursor.fetchall() if value is not None]
        return ConnectionMemory.of(self.source, {"allocated": allocated})
