"""Check the server before measuring: can we connect, what is it, does the query run?

A wrong password or a typo in the query then fails once, with one clear
line, instead of as thousands of counted errors.
"""

from __future__ import annotations

from dataclasses import dataclass

import pymysql

from dbbench.diagnosis import connect_error, query_error
from dbbench.settings import DatabaseSettings
from dbbench.workload import Workload


@dataclass(frozen=True)
class ServerInfo:
    #: ``SELECT VERSION()``, e.g. "10.11.19-MariaDB-0+deb12u1"
    version: str


def _connect(database: DatabaseSettings, **extra) -> pymysql.connections.Connection:
    try:
        return pymysql.connect(**database.connect_kwargs(), **extra)
    except Exception as exc:
        raise connect_error(exc, database) from exc


def check_server(database: DatabaseSettings, workload: Workload) -> ServerInfo:
    """Connect, read the server version, then run the workload once.

    The first connection also bounds its reads by ``connect_timeout``:
    PyMySQL's connect timeout covers only the TCP connect, and a listener
    that accepts but never sends a greeting would otherwise hang us.  The
    workload runs on a second, ordinary connection, since a slow query is
    no fault.
    """
    timeout_s = database.connect_timeout_s
    with _connect(database, read_timeout=timeout_s, write_timeout=timeout_s) as connection:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT VERSION()")
                (version,) = cursor.fetchone()
        except Exception as exc:
            raise connect_error(exc, database) from exc
    with _connect(database) as connection:
        try:
            workload.run_on(connection)
        except Exception as exc:
            raise query_error(exc, database, workload.query) from exc
    return ServerInfo(version=str(version))
