"""dbbench's own connections beside the measured ones: server checks, the status monitor,
the scratch table, explain's instrumented connect.  PyMySQL whatever ``driver`` the runners
measure, with the same address, login, timeouts and TLS."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dbbench.drivers.pymysql_driver import pymysql_kwargs

if TYPE_CHECKING:
    from dbbench.config.settings import DatabaseSettings


def connect_kwargs(database: DatabaseSettings) -> dict[str, Any]:
    """Keyword arguments for ``pymysql.connect`` to ``database``, TLS included."""
    return pymysql_kwargs(database)
