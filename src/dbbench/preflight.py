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


def check_server(database: DatabaseSettings, workload: Workload) -> ServerInfo:
    """Connect once, read the server version and run the workload once."""
    try:
        connection = pymysql.connect(**database.connect_kwargs())
    except Exception as exc:
        raise connect_error(exc, database) from exc
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT VERSION()")
        (version,) = cursor.fetchone()
        cursor.close()
        try:
            workload.run_on(connection)
        except Exception as exc:
            raise query_error(exc, database, workload.query) from exc
    finally:
        connection.close()
    return ServerInfo(version=str(version))
