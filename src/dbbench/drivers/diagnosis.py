"""Driver exceptions -> one-line ``DbbenchError`` messages that say what to try.

Messages name ``user@host:port`` and never the password; any text that came
from the driver or the server is passed through ``redact`` as well.  Any
driver's exception (``dbbench.drivers``), MySQL's or PostgreSQL's, is read
through the same dialect-neutral failure (``failures.Failure``: refused,
access denied, unknown database, lost connection, ...), so the same failure
reads the same whichever driver met it; the code in parentheses is the
driver's own (MySQL's number, PostgreSQL's SQLSTATE).
"""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy.exc

from dbbench import drivers
from dbbench.config.schema import mentioned
from dbbench.config.settings import DatabaseSettings
from dbbench.drivers.base import password_bytes
from dbbench.drivers.failures import Failure
from dbbench.errors import ConnectError, DbbenchError, QueryError, mention

#: words of a certificate check that failed, as OpenSSL, Connector/C and libpq put them
_VERIFY_WORDS = (
    "CERTIFICATE_VERIFY_FAILED",
    "certificate verify failed",
    "Validation of SSL",
    "root certificate file",
)
#: words of a certificate that names another host, as OpenSSL and libpq put them
_MISMATCH_WORDS = ("mismatch", "doesn't match", "not valid for", "does not match host name")
#: words of a server without TLS when ssl_mode demands it: dbbench's check, libpq
_NOT_OFFERED_WORDS = ("did not offer TLS", "SSL is required", "does not support SSL")


def _written_forms(secret: str) -> list[str]:
    """``secret`` as a message may carry it: as it is, and as a driver's exception may
    write it -- Python's repr of the text or of its bytes (``p\\xe4ss``, ``p\\xc3\\xa4ss``),
    or the bytes read as latin-1, as aiomysql is given them -- longest first."""
    raw = password_bytes(secret)
    forms = {
        secret,
        repr(secret)[1:-1],
        repr(raw)[2:-1],
        raw.decode("latin-1"),
    }
    return sorted((form for form in forms if form), key=len, reverse=True)


def redact(text: str, secret: str) -> str:
    """Remove ``secret`` from ``text``, in every form a message may write it in
    (``_written_forms``); short secrets too, at the cost of some garbling."""
    if not secret:
        return text
    for form in _written_forms(secret):
        text = text.replace(form, "<hidden>")
    return text


def _unwrapped(exc: BaseException) -> BaseException:
    if isinstance(exc, sqlalchemy.exc.DBAPIError) and exc.orig is not None:
        return exc.orig  # a pool's connect: the driver's own exception inside
    return exc


def _driver_message(exc: BaseException) -> tuple[Failure | None, str | None, str]:
    """The failure, the driver's code for it and its text, on one line (whatever the
    server quoted back: a multi-line query, say)."""
    exc = _unwrapped(exc)
    return drivers.failure(exc), drivers.error_label(exc), drivers.error_message(exc)


def _tls_failure(failure: Failure | None, message: str, database: DatabaseSettings) -> str | None:
    """What to do about a failed TLS handshake or certificate check, if it was one."""
    tls = database.tls
    if any(words in message for words in _MISMATCH_WORDS):
        return (
            f"the server's certificate does not name {database.host!r} ({message}); connect "
            f"with a host name the certificate names ({mentioned('database', 'host')}), or "
            f"set {mentioned('database', 'ssl_mode')} to \"verify_ca\""
        )
    # Connector/C reports any TLS failure as 2026 with OpenSSL's reason
    verify_failed = failure is Failure.TLS and "certificate" in message
    if verify_failed or any(words in message for words in _VERIFY_WORDS):
        return (
            f"the server's certificate did not verify against ssl_ca = {tls.ca!r} ({message}); "
            f"check that {mentioned('database', 'ssl_ca')} is the CA that signed the server's "
            "certificate"
            + (", and that it names the host" if tls.mode == "verify_identity" else "")
        )
    if any(words in message for words in _NOT_OFFERED_WORDS):
        return f"{message}; enable TLS on the server or lower {mentioned('database', 'ssl_mode')}"
    return None


#: a driver that lacks the user's authentication plugin: PyMySQL ("'pynacl' package is
#: required for ed25519_password auth method", "Authentication plugin 'x' not configured"),
#: mysql-connector ("Authentication plugin 'x' is not supported"), Connector/C (2059)
_AUTH_PLUGIN_MISSING = re.compile(
    r"required for \S+ auth method|authentication plugin .* (not supported|not configured"
    r"|cannot be loaded)",
    re.IGNORECASE,
)


def _password_hint(database: DatabaseSettings, exc: BaseException) -> str:
    """Where the password that was refused came from, or where one can be given (as the
    driver that refused it reads passwords)."""
    if database.password and database.password_source:
        return f"check the password (from {database.password_source}) and the user's grants"
    driver = drivers.owner(exc)
    if driver is None:
        driver = drivers.get_driver("pymysql")
    return driver.password_hint(database)


def _server_kind(exc: BaseException) -> str:
    driver = drivers.owner(exc)
    return driver.server_kind if driver is not None else "a MySQL-compatible server"


def connect_error(
    exc: BaseException, database: DatabaseSettings, *, in_connect: bool = False
) -> DbbenchError:
    """Explain a failure to connect to ``database``.

    ``in_connect``: ``exc`` came out of the driver's connect call itself, so a
    read that timed out was the wait for the server's greeting.
    """
    failure, code, message = _driver_message(exc)
    message = redact(message, database.password)
    where = database.describe()
    exc = _unwrapped(exc)
    tls_failure = (
        _tls_failure(failure, message, database) if database.tls.mode != "disabled" else None
    )
    if tls_failure is not None:
        text = f"cannot connect to {where} over TLS (ssl_mode {database.tls.mode}): {tls_failure}"
    elif failure is Failure.UNKNOWN_HOST:
        text = (
            f"cannot connect to {where}: unknown host {database.host!r} "
            f"({database.source_of('host')}); check the host name"
        )
    elif failure in (Failure.REFUSED, Failure.NO_SOCKET) and _socket_directory(database):
        text = f"cannot connect to {where}: {_socket_directory(database)}"
    elif failure is Failure.REFUSED:
        text = (
            f"cannot connect to {where}: connection refused; is the server running and "
            f"listening on port {database.port} ({database.source_of('port')})? "
            f"Or try a throwaway server ({mention('dbbench.scenarios.benchmark.local_server')})"
        )
    elif failure is Failure.CONNECT_TIMEOUT:
        text = (
            f"cannot connect to {where}: no answer within {database.connect_timeout_s:g}s "
            "(connect_timeout); check the host, port and any firewall"
        )
    elif failure is Failure.NO_SOCKET and database.unix_socket:
        text = f"cannot connect to {where}: no socket file at {database.unix_socket!r}"
    elif failure in (Failure.NO_SOCKET, Failure.CANNOT_CONNECT):
        text = f"cannot connect to {where}: {message}"
    elif failure is Failure.ACCESS_DENIED:
        text = (
            f"cannot connect to {where}: access denied ({message}); "
            f"{_password_hint(database, exc)}"
        )
    elif failure is Failure.UNKNOWN_DATABASE:
        text = (
            f"cannot connect to {where}: {message}; create it or change the database "
            f"({database.source_of('database')})"
        )
    elif failure is Failure.DATABASE_DENIED:
        text = (
            f"cannot connect to {where}: {message}; grant the user access or pick another database"
        )
    elif failure is Failure.TOO_MANY_CONNECTIONS:
        text = (
            f"cannot connect to {where}: the server has no free connections ({message}); "
            f"lower {mentioned('benchmark', 'concurrency')} or raise the server's "
            "max_connections"
        )
    elif failure is Failure.HOST_NOT_ALLOWED:
        text = f"cannot connect to {where}: {message}; the user may not connect from this host"
    elif _AUTH_PLUGIN_MISSING.search(message):
        text = (
            f"cannot connect to {where}: the user logs in with an authentication plugin "
            f"the driver cannot speak ({message}); mysqlclient (MariaDB Connector/C) speaks "
            f"ed25519 and MariaDB's other plugins: measure with {mentioned('database', 'driver')} "
            '"mysqlclient" (async-pool connects with aiomysql, which cannot), or give the user '
            "another plugin"
        )
    elif failure is Failure.TIMED_OUT and in_connect:
        text = (
            f"cannot connect to {where}: something accepted the connection but sent no "
            f"greeting within {database.connect_timeout_s:g}s (connect_timeout); is "
            f"{_server_kind(exc)} on that port, and is it overloaded or stopped?"
        )
    elif failure in (Failure.LOST, Failure.TIMED_OUT) or "Packet sequence number wrong" in message:
        text = (
            f"cannot connect to {where}: the handshake failed ({message}); "
            f"is this {_server_kind(exc)} on that port?"
        )
    else:
        prefix = f"({code}) " if code is not None else ""
        text = f"cannot connect to {where}: {prefix}{message}"
    return ConnectError(text)


def query_error(
    exc: BaseException, database: DatabaseSettings, query: str, *, script: bool = False
) -> DbbenchError:
    """Explain a failure of the benchmark query itself; with ``script``, ``query`` is a
    script's statement named by its place ("tx.sql:4"), and the advice names the script."""
    failure, code, message = _driver_message(exc)
    message = redact(message, database.password)
    shown = query if len(query) <= 60 else query[:57] + "..."
    prefix = f"({code}) " if code is not None else ""
    if script:
        what, source = f"the statement at {shown}", f"the statement at {shown}"
    else:
        what, source = f"the query {shown!r}", mentioned("benchmark", "query")
    if failure in (Failure.TIMED_OUT, Failure.STATEMENT_TIMEOUT):
        advice = (
            f"no answer within read_timeout ({database.read_timeout_s:g}s, "
            f"{database.source_of('read_timeout')}): raise it for a query this slow, "
            "or check that the server is answering"
        )
    elif failure is Failure.NO_DATABASE_SELECTED:
        advice = (
            f"give {mentioned('database', 'database')} (or DBBENCH_DATABASE), "
            f"or name the table as database.table in {source}"
        )
    elif failure is Failure.UNKNOWN_TABLE:
        advice = (
            f"check {source}, or {mentioned('database', 'database')} "
            f"({database.database!r}, {database.source_of('database')})"
            if database.database
            else f"check {source}, or give " + mentioned("database", "database")
        )
    else:
        advice = f"check {source}"
    return QueryError(f"{what} failed on {database.describe()}: {prefix}{message}; {advice}")


def is_operation_failure(exc: BaseException) -> bool:
    """Whether ``exc`` is an operation's failure that ``operation_error`` explains:
    a driver's exception, SQLAlchemy's (a pool's), or an ``OSError``."""
    setup_errors = (sqlalchemy.exc.SQLAlchemyError, OSError)
    return drivers.is_driver_error(exc) or isinstance(exc, setup_errors)


def operation_error(
    exc: BaseException, database: DatabaseSettings, query: str, *, script: bool = False
) -> DbbenchError:
    """Explain a failed operation: a connect failure or a query failure, by the failure's
    phase (an exception no failure names, an ``OSError`` say, is a connect failure); with
    ``script``, ``query`` is a script statement's place (``query_error``)."""
    failure, _, _ = _driver_message(exc)
    if failure is None or failure.phase == "connect":
        return connect_error(exc, database)
    return query_error(exc, database, query, script=script)


def _socket_directory(database: DatabaseSettings) -> str | None:
    """What is wrong when ``unix_socket`` names a directory that holds no socket for this
    connection: PostgreSQL's sockets are files ``.s.PGSQL.PORT`` in it (the port names
    the file), MySQL's is the file itself; None when it is not a directory."""
    if not database.unix_socket:
        return None
    directory = Path(database.unix_socket)
    try:
        if not directory.is_dir():
            return None
        found = sorted(
            p.name for p in directory.glob(".s.PGSQL.*") if not p.name.endswith(".lock")
        )
    except OSError:
        return None
    ports = ", ".join(name.rpartition(".")[2] for name in found) or "none"
    if database.dialect == "postgresql":
        return (
            f"no socket .s.PGSQL.{database.port} in the directory {database.unix_socket!r} "
            f"(its sockets are for ports: {ports}); give the server's port "
            f"({mentioned('database', 'port')}), which names the socket file"
        )
    if found:
        return (
            f"{database.unix_socket!r} is a directory of PostgreSQL's sockets (ports {ports}), "
            f"and the dialect is {database.dialect}: give "
            f"{mentioned('database', 'dialect')} postgresql"
        )
    return (
        f"{database.unix_socket!r} is a directory; MySQL's socket is a file "
        "(for example /run/mysqld/mysqld.sock)"
    )
