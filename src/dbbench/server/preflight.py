"""Check the server before measuring: can we connect, what is it, does the query run?

A wrong password or a typo in the query then fails once, with one clear
line, instead of as thousands of counted errors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pymysql
import pymysql.cursors

from dbbench.config.schema import mentioned
from dbbench.config.settings import DatabaseSettings
from dbbench.drivers import Driver, get_driver
from dbbench.drivers.diagnosis import connect_error, query_error
from dbbench.errors import ConfigError
from dbbench.workload import Workload

#: one execution's result above either limit is refused without --allow-large-results:
#: every operation fetches all of it into memory, in every worker at once
MAX_RESULT_ROWS = 100_000
MAX_RESULT_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class ServerInfo:
    #: ``SELECT VERSION()``, e.g. "10.11.19-MariaDB-0+deb12u1"
    version: str


def _connect(database: DatabaseSettings, driver: Driver, **extra: Any) -> Any:
    """One connection with ``driver``; a failure is the one-line ``ConnectError``."""
    # outside the try: a setting the driver cannot take is bad input, not a failed connect
    connect = driver.connector(database, **extra)
    try:
        return connect()
    except Exception as exc:
        raise connect_error(exc, database, in_connect=True) from exc


def _value_bytes(value: Any) -> int:
    return len(value) if isinstance(value, str | bytes | bytearray) else 8


def _abandon(cursor: pymysql.cursors.SSCursor) -> None:
    """Drop an unbuffered result half read, and its connection.

    PyMySQL would read the rest to its end on close (the protocol cannot stop
    the server sending), millions of rows perhaps; closing the socket stops it.
    PyMySQL has no public way to do that, hence its private attributes.
    """
    result = cursor._result
    if result is not None:
        result.unbuffered_active = False
    cursor._result = None
    cursor.connection._force_close()


def _check_result_size(connection: pymysql.connections.Connection, query: str) -> None:
    """Stream one execution's rows (never holding them) and refuse one above the limits.

    Reading stops at the limit: the rest is left unread, and the connection
    is closed under it, which makes the server stop sending.
    """
    cursor = connection.cursor(pymysql.cursors.SSCursor)
    cursor.execute(query)
    size_bytes = 0
    for rows, row in enumerate(cursor.fetchall_unbuffered(), start=1):
        size_bytes += row_bytes(row)
        if too_large(rows, size_bytes):
            _abandon(cursor)
            raise result_too_large(query, rows, size_bytes)
    cursor.close()


def row_bytes(row: Any) -> int:
    """A row's size as the limits count it: text and bytes by length, anything else 8."""
    return sum(_value_bytes(value) for value in row)


def too_large(rows: int, size_bytes: int) -> bool:
    """Whether a result read so far is above either limit."""
    return rows > MAX_RESULT_ROWS or size_bytes > MAX_RESULT_BYTES


def result_too_large(query: str, rows: int, size_bytes: int) -> ConfigError:
    """The refusal of a query whose one execution's result is above the limits."""
    shown = query if len(query) <= 60 else query[:57] + "..."
    return ConfigError(
        f"the query {shown!r} returns more than {MAX_RESULT_ROWS:,} rows or "
        f"{MAX_RESULT_BYTES // 2**20} MiB per execution (stopped reading at {rows:,} "
        f"rows, {size_bytes / 2**20:.1f} MiB); every operation fetches all of it into "
        "memory, in every worker: add a LIMIT, or give "
        f"{mentioned('benchmark', 'allow_large_results')} to run it anyway"
    )


def _read_version(connection: Any) -> str:
    cursor = connection.cursor()
    cursor.execute("SELECT VERSION()")
    (version,) = cursor.fetchone()
    cursor.close()
    return str(version)


def _measure_result(connection: Any, query: str) -> bool:
    """Stream ``query``'s result with PyMySQL, refusing one too large; False (not run)
    with the other drivers, whose cursors hold the whole result."""
    if not isinstance(connection, pymysql.connections.Connection):
        return False
    _check_result_size(connection, query)
    return True


#: (connection) -> the server's version, as the environment records it
ReadVersion = Callable[[Any], str]
#: (connection, query) -> True once the query ran, streamed and measured; False when the
#: connection cannot stream (the query is then only run)
MeasureResult = Callable[[Any, str], bool]


def check_server(
    database: DatabaseSettings,
    workload: Workload | None,
    driver: Driver | None = None,
    *,
    read_version: ReadVersion = _read_version,
    measure_result: MeasureResult = _measure_result,
) -> ServerInfo:
    """Connect with ``driver`` (the configured one by default), read the server
    version, then run the workload once.

    The first connection also bounds its reads by ``connect_timeout``:
    PyMySQL's connect timeout covers only the TCP connect, and a listener
    that accepts but never sends a greeting would otherwise hang us.  The
    workload runs on a second, ordinary connection, bounded by the
    configured ``read_timeout`` only, since a slow query is no fault.
    Without a workload (a write workload, whose table does not exist yet)
    only the connection is checked; each runner's first operation then
    checks the workload.  Unless the workload allows large results, the one
    run also measures the result (streaming it, with PyMySQL) and refuses one
    too large to fetch thousands of times.

    ``read_version`` and ``measure_result`` are MySQL's; another database passes its own
    (``databases.postgresql``).
    """
    driver = driver if driver is not None else get_driver(database.driver)
    timeout_s = database.connect_timeout_s
    connection = _connect(database, driver, **driver.timeout_kwargs(timeout_s))
    try:
        version = read_version(connection)
    except Exception as exc:
        raise connect_error(exc, database) from exc
    finally:
        connection.close()
    if workload is None:
        return ServerInfo(version=version)
    connection = _connect(database, driver)
    try:
        if workload.allow_large_results or not measure_result(connection, workload.query):
            workload.run_on(connection)
    except ConfigError:
        raise
    except Exception as exc:
        raise query_error(exc, database, workload.query) from exc
    finally:
        connection.close()
    return ServerInfo(version=version)
