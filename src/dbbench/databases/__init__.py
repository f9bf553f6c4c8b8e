"""The database servers dbbench measures, one plug-in per ``[database] dialect``
(``base.Database``): ``get_database(dialect)``, and the four seams of a run
(``check_server``, ``monitor``, ``read_max_connections``, ``scratch_table``) as functions
of the settings, which ``scenarios.backend.Backend`` takes as its defaults, so that no
caller asks which server it talks to.

Each plug-in module is imported on first use (the PostgreSQL one imports nothing of
MySQL's drivers, and the other way round).
"""

from __future__ import annotations

import functools
import importlib
from typing import TYPE_CHECKING, Any

from dbbench.databases.base import Database, Monitor, ScratchTable
from dbbench.errors import ConfigError

if TYPE_CHECKING:
    from dbbench.config.settings import DatabaseSettings, Pooler, Settings
    from dbbench.databases.dataset import DataSetSql
    from dbbench.server.preflight import ServerInfo
    from dbbench.workload import Workload

__all__ = [
    "DIALECTS",
    "Database",
    "Monitor",
    "ScratchTable",
    "check_server",
    "data_set_sql",
    "database_for",
    "get_database",
    "guarded",
    "insert_statement",
    "monitor",
    "pooler_monitor",
    "read_data_set",
    "read_max_connections",
    "read_only_sessions",
    "scratch_table",
]

#: dialect -> the plug-in, as module:class (loaded by name on first use)
DIALECTS = {
    "mysql": "dbbench.databases.mysql:MySQL",
    "postgresql": "dbbench.databases.postgresql:PostgreSQL",
}


@functools.cache
def get_database(dialect: str) -> Database:
    """The plug-in for ``dialect``; ``ConfigError`` for one dbbench does not know."""
    try:
        module, _, name = DIALECTS[dialect].partition(":")
    except KeyError:
        raise ConfigError(
            f"unknown dialect {dialect!r}; choose from {', '.join(DIALECTS)}"
        ) from None
    cls: type[Database] = getattr(importlib.import_module(module), name)
    return cls()


def database_for(database: DatabaseSettings) -> Database:
    """The plug-in for the server ``database`` names."""
    return get_database(database.dialect)


def check_server(database: DatabaseSettings, workload: Workload | None) -> ServerInfo:
    """``Database.check_server`` of ``database``'s dialect."""
    return database_for(database).check_server(database, workload)


def monitor(database: DatabaseSettings) -> Monitor:
    """``Database.monitor`` of ``database``'s dialect."""
    return database_for(database).monitor(database)


def read_max_connections(database: DatabaseSettings) -> int:
    """``Database.read_max_connections`` of ``database``'s dialect."""
    return database_for(database).read_max_connections(database)


def scratch_table(database: DatabaseSettings, name: str) -> Any:
    """``Database.scratch_table`` of ``database``'s dialect."""
    return database_for(database).scratch_table(database, name)


def insert_statement(database: DatabaseSettings, table: str) -> str:
    """``Database.insert_statement`` of ``database``'s dialect."""
    return database_for(database).insert_statement(table)


def data_set_sql(database: DatabaseSettings) -> DataSetSql:
    """``Database.data_set_sql`` of ``database``'s dialect."""
    return database_for(database).data_set_sql(database)


def read_data_set(database: DatabaseSettings) -> int:
    """The rows of the data set ``dbbench prepare`` made in ``database`` (its ids are 1 ..
    that number), read from its mark (``databases.dataset``); a one-line ``ConfigError``
    (exit 2: what the run asks for is not there) when there is none, when the table is not
    dbbench's, or when its load did not finish."""
    from dbbench.databases.dataset import NO_DATA_SET
    from dbbench.databases.scratch import side_connection

    sql = data_set_sql(database)
    with side_connection(database) as connection, connection.cursor() as cursor:
        found = sql.find(cursor)
    if not found.exists:
        raise ConfigError(NO_DATA_SET)
    if found.mark is None:
        raise ConfigError(
            f"{found.name} is not dbbench's data set (it has no dbbench mark); dbbench reads "
            "only the table dbbench prepare made"
        )
    if not found.mark.ready:
        raise ConfigError(
            f"the data set {found.name} was not fully loaded: run dbbench prepare --rows "
            f"{found.mark.rows} --allow-writes --recreate"
        )
    return found.mark.rows


def pooler_monitor(pooler: Pooler) -> Any:
    """A monitor of the server-side pooler in front of the server (``Settings.pooler``):
    start(), stop() -> the ``server.pooler`` section of the result."""
    from dbbench.databases.pgbouncer_monitor import PgBouncerMonitor

    if pooler.kind != "pgbouncer":
        raise ConfigError(f"dbbench cannot watch a {pooler.kind!r} pooler; it knows pgbouncer")
    return PgBouncerMonitor(pooler)


def read_only_sessions(settings: Settings, allow_writes: bool) -> Settings:
    """``settings`` with every session read-only from its start (``DatabaseSettings.read_only``)
    where no --allow-writes was given and the dialect can say so in the connect itself at no
    extra round trip (``Database.read_only_at_connect``: PostgreSQL): then the server, not
    only the guard's reading of the text, refuses a write, whatever a function called by a
    read does.  Unchanged otherwise (MySQL, or writes allowed)."""
    if allow_writes:
        return settings
    # each variant's or target's in its own dialect: a run may measure MySQL and PostgreSQL
    return settings.with_read_only_sessions(
        lambda database: get_database(database.dialect).read_only_at_connect
        and database.startup_settings
    )


def guarded(settings: Settings, allow_writes: bool) -> Settings:
    """Refuse the user's SQL that may write unless ``allow_writes`` (``guard.check_sql``, in
    the dialect's reading: the query and every init_command), and give back ``settings``
    with read-only sessions where the dialect can say so in its connect
    (``read_only_sessions``): what a command that sends the user's query does first."""
    from dbbench import guard

    guard.check_settings(settings, allow_writes)
    return read_only_sessions(settings, allow_writes)
