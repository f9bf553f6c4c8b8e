"""MySQL and MariaDB: ``SHOW GLOBAL STATUS`` (``server.status``), ``SELECT VERSION()`` and the
query run once (``server.preflight``), ``@@max_connections``, an InnoDB scratch table
(``databases.scratch``).  The modules it delegates to hold the behaviour and its reasons;
this is only the plug-in's face (``databases.base.Database``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

from dbbench.databases import mysql_memory, scratch
from dbbench.databases.base import Database
from dbbench.databases.dataset import DataSetSql
from dbbench.server import preflight, status

if TYPE_CHECKING:
    from dbbench.config.settings import DatabaseSettings
    from dbbench.databases.idle_timeout import IdleTimeout
    from dbbench.server.preflight import ServerInfo
    from dbbench.workload import Workload


class MySQL(Database):
    dialect: ClassVar[str] = "mysql"
    title: ClassVar[str] = "MySQL/MariaDB"
    idle_limit: ClassVar[str] = "the server's wait_timeout"
    #: the server's numbers (below 2000) and the client library's (from 2000)
    error_codes: ClassVar[Mapping[str, str]] = {
        "1040": "too many connections",
        "1045": "access denied",
        "1053": "server shutting down",
        "1205": "lock wait timeout",
        "1213": "deadlock",
        "1927": "connection killed",
        "2003": "cannot connect",
        "2006": "server has gone away",
        "2013": "lost connection",
        "4031": "disconnected by the server (idle timeout)",
    }

    def check_server(self, database: DatabaseSettings, workload: Workload | None) -> ServerInfo:
        return preflight.check_server(database, workload)

    def monitor(self, database: DatabaseSettings) -> status.ServerStatusMonitor:
        return status.ServerStatusMonitor(database, memory=mysql_memory.ThreadMemory())

    def read_max_connections(self, database: DatabaseSettings) -> int:
        return status.read_max_connections(database)

    def scratch_table(self, database: DatabaseSettings, name: str) -> scratch.ScratchTable:
        return scratch.ScratchTable(database, name)

    def insert_statement(self, table: str) -> str:
        return scratch.insert_statement(table)

    def idle_timeout(self) -> IdleTimeout:
        from dbbench.databases.mysql_idle_timeout import WaitTimeout

        return WaitTimeout()

    def data_set_sql(self, database: DatabaseSettings) -> DataSetSql:
        return DataSetSql(database)
