"""PostgreSQL: ``pg_stat_database`` and ``pg_stat_activity`` (``postgresql_status``),
``SHOW server_version`` and the query run once, ``max_connections`` less the reserved
slots, a scratch table with an identity key.

The server check is MySQL's (``server.preflight``: connect with each measured driver,
bounded by ``connect_timeout``, then run the query once on an ordinary connection, errors
in its one-line vocabulary), with PostgreSQL's version query and its own way of measuring
a result: psycopg 3's ``cursor.stream()`` (libpq's single-row mode) reads it a row at a
time, never holding it, and stops at the limits by closing the connection; psycopg2's
cursors hold the whole result, as mysqlclient's do, so its result is only run.

The scratch table keeps MySQL's columns' meaning: an ``id`` the server numbers
(``GENERATED ALWAYS AS IDENTITY``, a ``bigint``), the ``connection_id`` that wrote the row
(``pg_backend_pid()``, PostgreSQL's id of the session, as ``CONNECTION_ID()`` is MySQL's)
and ``inserted_at`` (``clock_timestamp()``, microseconds, as ``CURRENT_TIMESTAMP(6)``).  It
goes into the first schema of the user's ``search_path`` (``public`` normally) of
``[database] database``, and is dropped as MySQL's is, also on error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from dbbench.databases import postgresql_memory, postgresql_status
from dbbench.databases.base import Database
from dbbench.databases.postgresql_dataset import PostgresDataSetSql
from dbbench.databases.scratch import ScratchTable, check_name, side_connection
from dbbench.drivers import error_label
from dbbench.server import preflight
from dbbench.server.preflight import ServerInfo, result_too_large, row_bytes, too_large

if TYPE_CHECKING:
    from dbbench.config.settings import DatabaseSettings
    from dbbench.databases.idle_timeout import IdleTimeout
    from dbbench.drivers import Driver
    from dbbench.workload import Workload

#: SQLSTATE duplicate_table: CREATE TABLE of a name that exists
DUPLICATE_TABLE = "42P07"

_COLUMNS = (
    "id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
    "connection_id bigint NOT NULL, "
    "inserted_at timestamp(6) with time zone NOT NULL DEFAULT clock_timestamp()"
)


@dataclass
class PostgresScratchTable(ScratchTable):
    """MySQL's scratch table's life (``databases.scratch``) in PostgreSQL's SQL."""

    #: the schema the table goes into (``current_schema()``, read by ``create``)
    schema: str | None = None

    @staticmethod
    def quoted(identifier: str) -> str:
        return '"' + identifier.replace('"', '""') + '"'

    @property
    def qualified_name(self) -> str:
        # database.schema.table: PostgreSQL takes it on a connection to that database
        parts = (str(self.database.database), self.schema or "public", self.name)
        return ".".join(self.quoted(part) for part in parts)

    def create(self) -> None:
        """Learn the schema the table will go into, then create it as MySQL's is."""
        with side_connection(self.database) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT current_schema()")
            (self.schema,) = cursor.fetchone()
        super().create()

    def create_statement(self) -> str:
        return f"CREATE TABLE {self.quoted(self.name)} ({_COLUMNS})"

    def already_exists(self, exc: BaseException) -> bool:
        return error_label(exc) == DUPLICATE_TABLE


def _version(connection: Any) -> str:
    """``PostgreSQL 15.20 (Debian 15.20-0+deb12u1)``: ``server_version`` named, as the
    environment's vendor is read from it (``SELECT version()`` adds the compiler)."""
    cursor = connection.cursor()
    cursor.execute("SHOW server_version")
    (version,) = cursor.fetchone()
    cursor.close()
    return f"PostgreSQL {version}"


def _measure_result(connection: Any, query: str) -> bool:
    """Stream one execution's rows (psycopg 3's single-row mode) and refuse one above the
    limits; at the limit the connection is closed under the stream, which ends the query.
    False (not run) with psycopg2, whose cursors hold the whole result."""
    cursor = connection.cursor()
    if not hasattr(cursor, "stream"):
        return False
    size_bytes = 0
    for rows, row in enumerate(cursor.stream(query), start=1):
        size_bytes += row_bytes(row)
        if too_large(rows, size_bytes):
            connection.close()
            raise result_too_large(query, rows, size_bytes)
    cursor.close()
    return True


def check_server(
    database: DatabaseSettings, workload: Workload | None, driver: Driver | None = None
) -> ServerInfo:
    """``server.preflight.check_server`` with PostgreSQL's version and its streaming."""
    return preflight.check_server(
        database, workload, driver, read_version=_version, measure_result=_measure_result
    )


class PostgreSQL(Database):
    dialect: ClassVar[str] = "postgresql"
    title: ClassVar[str] = "PostgreSQL"
    read_only_at_connect: ClassVar[bool] = True
    #: PostgreSQL ends no idle session unless idle_session_timeout (14+) is set; what
    #: closes one otherwise is on the way: a firewall's, a NAT's or a proxy's idle limit
    idle_limit: ClassVar[str] = (
        "whatever closes idle connections (PostgreSQL's idle_session_timeout, off by "
        "default; a firewall's, NAT's or proxy's idle limit)"
    )
    #: SQLSTATEs: the server's, and the 08xxx that ``drivers.libpq`` gives libpq's own
    #: failures, which carry none (as pgjdbc numbers them)
    error_codes: ClassVar[Mapping[str, str]] = {
        "53300": "too many connections",
        "28P01": "access denied (password authentication failed)",
        "28000": "access denied (no pg_hba.conf entry, or no such role)",
        "3D000": "unknown database",
        "57P01": "connection killed (pg_terminate_backend, or the server shutting down)",
        "57P02": "connection killed (the server crashed)",
        "57P03": "server starting up or shutting down",
        "57P05": "disconnected by the server (idle_session_timeout)",
        "25P03": "disconnected by the server (idle_in_transaction_session_timeout)",
        "57014": "query cancelled (statement_timeout, which dbbench sets from read_timeout)",
        "55P03": "lock wait timeout (lock_timeout)",
        "40P01": "deadlock",
        "40001": "serialization failure",
        "42501": "permission denied",
        "08001": "cannot connect",
        "08004": "the server rejected the connection",
        "08003": "connection gone (already closed)",
        "08006": "lost connection",
        "08P01": "protocol violation (is it a PostgreSQL server?)",
        "42P01": "unknown table",
    }

    def check_server(self, database: DatabaseSettings, workload: Workload | None) -> ServerInfo:
        return check_server(database, workload)

    def monitor(self, database: DatabaseSettings) -> postgresql_status.PostgresStatusMonitor:
        return postgresql_status.PostgresStatusMonitor(
            database, memory=postgresql_memory.BackendMemory(database)
        )

    def read_max_connections(self, database: DatabaseSettings) -> int:
        return postgresql_status.read_max_connections(database)

    def scratch_table(self, database: DatabaseSettings, name: str) -> PostgresScratchTable:
        return PostgresScratchTable(database, name)

    def insert_statement(self, table: str) -> str:
        check_name(table)
        return f'INSERT INTO "{table}" (connection_id) VALUES (pg_backend_pid())'

    def idle_timeout(self) -> IdleTimeout:
        from dbbench.databases.postgresql_idle_timeout import IdleSessionTimeout

        return IdleSessionTimeout()

    def data_set_sql(self, database: DatabaseSettings) -> PostgresDataSetSql:
        return PostgresDataSetSql(database)
