"""Driver exceptions -> one-line ``DbbenchError`` messages that say what to try.

Messages name ``user@host:port`` and never the password; any text that came
from the driver or the server is passed through ``redact`` as well.
"""

from __future__ import annotations

import socket

import pymysql

from dbbench.errors import ConnectError, DbbenchError, QueryError
from dbbench.settings import DatabaseSettings

# MySQL / MariaDB error numbers met while connecting
ER_DBACCESS_DENIED = 1044
ER_ACCESS_DENIED = 1045
#: MariaDB: access denied, no password given, or an unknown user
ER_ACCESS_DENIED_NO_PASSWORD = 1698
ER_BAD_DB = 1049
ER_CON_COUNT = 1040
ER_HOST_NOT_PRIVILEGED = 1130
CR_CONN_HOST_ERROR = 2003
CR_SERVER_LOST = 2013


def redact(text: str, secret: str) -> str:
    """Remove ``secret`` from ``text``; short secrets too, at the cost of some garbling."""
    return text.replace(secret, "<hidden>") if secret else text


def _driver_message(exc: BaseException) -> tuple[int | None, str]:
    if isinstance(exc, pymysql.err.MySQLError) and len(exc.args) >= 2:
        code, message = exc.args[0], str(exc.args[1])
    else:
        code, message = None, str(exc) or type(exc).__name__
    # one line, whatever the server quoted back (a multi-line query, say)
    return (code if isinstance(code, int) else None), " ".join(message.split())


def connect_error(exc: BaseException, database: DatabaseSettings) -> DbbenchError:
    """Explain a failure to connect to ``database``."""
    code, message = _driver_message(exc)
    message = redact(message, database.password)
    where = database.describe()
    if code == CR_CONN_HOST_ERROR:
        cause = getattr(exc, "original_exception", None)
        if isinstance(cause, socket.gaierror):
            text = (
                f"cannot connect to {where}: unknown host {database.host!r}; "
                "check [database] host or DBBENCH_HOST"
            )
        elif isinstance(cause, ConnectionRefusedError):
            text = (
                f"cannot connect to {where}: connection refused; is the server running and "
                "listening on that port? (check [database] port, or try --server local)"
            )
        elif isinstance(cause, TimeoutError | socket.timeout):
            text = (
                f"cannot connect to {where}: no answer within {database.connect_timeout_s:g}s "
                "(connect_timeout); check the host, port and any firewall"
            )
        elif isinstance(cause, FileNotFoundError) and database.unix_socket:
            text = f"cannot connect to {where}: no socket file at {database.unix_socket!r}"
        else:
            text = f"cannot connect to {where}: {message}"
    elif code in (ER_ACCESS_DENIED, ER_ACCESS_DENIED_NO_PASSWORD):
        text = (
            f"cannot connect to {where}: access denied ({message}); check the password "
            "([database] password, DBBENCH_PASSWORD or MYSQL_PWD) and the user's grants"
        )
    elif code == ER_BAD_DB:
        text = (
            f"cannot connect to {where}: {message}; create it or change "
            "[database] database / DBBENCH_DATABASE"
        )
    elif code == ER_DBACCESS_DENIED:
        text = (
            f"cannot connect to {where}: {message}; grant the user access or pick another database"
        )
    elif code == ER_CON_COUNT:
        text = (
            f"cannot connect to {where}: the server has no free connections ({message}); "
            "lower the concurrency or raise max_connections"
        )
    elif code == ER_HOST_NOT_PRIVILEGED:
        text = f"cannot connect to {where}: {message}; the user may not connect from this host"
    elif code == CR_SERVER_LOST or "Packet sequence number wrong" in message:
        text = (
            f"cannot connect to {where}: the handshake failed ({message}); "
            "is this a MySQL-compatible server on that port?"
        )
    else:
        prefix = f"({code}) " if code is not None else ""
        text = f"cannot connect to {where}: {prefix}{message}"
    return ConnectError(text)


def query_error(exc: BaseException, database: DatabaseSettings, query: str) -> DbbenchError:
    """Explain a failure of the benchmark query itself."""
    code, message = _driver_message(exc)
    message = redact(message, database.password)
    shown = query if len(query) <= 60 else query[:57] + "..."
    prefix = f"({code}) " if code is not None else ""
    return QueryError(
        f"the query {shown!r} failed on {database.describe()}: {prefix}{message}; "
        "check --query or [benchmark] query"
    )


def _is_connect_failure(code: int | None) -> bool:
    connect_codes = {
        ER_DBACCESS_DENIED,
        ER_ACCESS_DENIED,
        ER_ACCESS_DENIED_NO_PASSWORD,
        ER_BAD_DB,
        ER_CON_COUNT,
    }
    return code is None or code >= 2000 or code in connect_codes | {ER_HOST_NOT_PRIVILEGED}


def operation_error(exc: BaseException, database: DatabaseSettings, query: str) -> DbbenchError:
    """Explain a failed operation: a connect failure or a query failure, by error number."""
    code, _ = _driver_message(exc)
    if _is_connect_failure(code):
        return connect_error(exc, database)
    return query_error(exc, database, query)
