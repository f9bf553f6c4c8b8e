"""Driver exceptions -> one-line ``DbbenchError`` messages that say what to try.

Messages name ``user@host:port`` and never the password; any text that came
from the driver or the server is passed through ``redact`` as well.  Any
driver's exception (``dbbench.drivers``) is read through the same error
number and reason, so the same failure reads the same whichever driver met it.
"""

from __future__ import annotations

import re

import sqlalchemy.exc

from dbbench import drivers
from dbbench.config.schema import mentioned
from dbbench.config.settings import DatabaseSettings
from dbbench.drivers.base import password_bytes
from dbbench.errors import ConnectError, DbbenchError, QueryError, mention

# MySQL / MariaDB error numbers met while connecting
ER_DBACCESS_DENIED = 1044
ER_ACCESS_DENIED = 1045
#: MariaDB: access denied, no password given, or an unknown user
ER_ACCESS_DENIED_NO_PASSWORD = 1698
ER_BAD_DB = 1049
#: the query names a table without a database, and none is selected
ER_NO_DB = 1046
#: an unknown table: in another database, perhaps
ER_NO_SUCH_TABLE = 1146
ER_CON_COUNT = 1040
ER_HOST_NOT_PRIVILEGED = 1130
CR_CONN_HOST_ERROR = 2003
CR_SERVER_LOST = 2013
CR_SSL_CONNECTION_ERROR = 2026
#: words of a certificate check that failed, as OpenSSL and Connector/C put them
_VERIFY_WORDS = ("CERTIFICATE_VERIFY_FAILED", "certificate verify failed", "Validation of SSL")


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


def _driver_message(exc: BaseException) -> tuple[int | None, str]:
    if isinstance(exc, sqlalchemy.exc.DBAPIError) and exc.orig is not None:
        exc = exc.orig  # a pool's connect: the driver's own exception inside
    # one line, whatever the server quoted back (a multi-line query, say)
    return drivers.error_code(exc), drivers.error_message(exc)


def _tls_failure(code: int | None, message: str, database: DatabaseSettings) -> str | None:
    """What to do about a failed TLS handshake or certificate check, if it was one."""
    tls = database.tls
    if "mismatch" in message or "doesn't match" in message or "not valid for" in message:
        return (
            f"the server's certificate does not name {database.host!r} ({message}); connect "
            f"with a host name the certificate names ({mentioned('database', 'host')}), or "
            f"set {mentioned('database', 'ssl_mode')} to \"verify_ca\""
        )
    # Connector/C reports any TLS failure as 2026 with OpenSSL's reason
    verify_failed = code == CR_SSL_CONNECTION_ERROR and "certificate" in message
    if verify_failed or any(words in message for words in _VERIFY_WORDS):
        return (
            f"the server's certificate did not verify against ssl_ca = {tls.ca!r} ({message}); "
            f"check that {mentioned('database', 'ssl_ca')} is the CA that signed the server's "
            "certificate"
            + (", and that it names the host" if tls.mode == "verify_identity" else "")
        )
    if "did not offer TLS" in message or "SSL is required" in message:
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


def _password_hint(database: DatabaseSettings) -> str:
    """Where the password that was refused came from, or where one can be given."""
    if database.password and database.password_source:
        return f"check the password (from {database.password_source}) and the user's grants"
    return (
        f"no password was given: use {mentioned('database', 'password')}, DBBENCH_PASSWORD or "
        "MYSQL_PWD, or ~/.my.cnf [client] password; or check the user's grants"
    )


def connect_error(
    exc: BaseException, database: DatabaseSettings, *, in_connect: bool = False
) -> DbbenchError:
    """Explain a failure to connect to ``database``.

    ``in_connect``: ``exc`` came out of the driver's connect call itself, so a
    read that timed out was the wait for the server's greeting.
    """
    code, message = _driver_message(exc)
    message = redact(message, database.password)
    where = database.describe()
    if isinstance(exc, sqlalchemy.exc.DBAPIError) and exc.orig is not None:
        exc = exc.orig
    reason = drivers.failure_reason(exc)
    tls_failure = _tls_failure(code, message, database) if database.tls.mode != "disabled" else None
    if tls_failure is not None:
        text = f"cannot connect to {where} over TLS (ssl_mode {database.tls.mode}): {tls_failure}"
    elif code == CR_CONN_HOST_ERROR:
        if reason == "unknown host":
            text = (
                f"cannot connect to {where}: unknown host {database.host!r} "
                f"({database.source_of('host')}); check the host name"
            )
        elif reason == "refused":
            text = (
                f"cannot connect to {where}: connection refused; is the server running and "
                f"listening on port {database.port} ({database.source_of('port')})? "
                f"Or try a throwaway server ({mention('dbbench.scenarios.benchmark.local_server')})"
            )
        elif reason == "timeout":
            text = (
                f"cannot connect to {where}: no answer within {database.connect_timeout_s:g}s "
                "(connect_timeout); check the host, port and any firewall"
            )
        elif reason == "no socket" and database.unix_socket:
            text = f"cannot connect to {where}: no socket file at {database.unix_socket!r}"
        else:
            text = f"cannot connect to {where}: {message}"
    elif code in (ER_ACCESS_DENIED, ER_ACCESS_DENIED_NO_PASSWORD):
        text = f"cannot connect to {where}: access denied ({message}); {_password_hint(database)}"
    elif code == ER_BAD_DB:
        text = (
            f"cannot connect to {where}: {message}; create it or change the database "
            f"({database.source_of('database')})"
        )
    elif code == ER_DBACCESS_DENIED:
        text = (
            f"cannot connect to {where}: {message}; grant the user access or pick another database"
        )
    elif code == ER_CON_COUNT:
        text = (
            f"cannot connect to {where}: the server has no free connections ({message}); "
            f"lower {mentioned('benchmark', 'concurrency')} or raise the server's "
            "max_connections"
        )
    elif code == ER_HOST_NOT_PRIVILEGED:
        text = f"cannot connect to {where}: {message}; the user may not connect from this host"
    elif _AUTH_PLUGIN_MISSING.search(message):
        text = (
            f"cannot connect to {where}: the user logs in with an authentication plugin "
            f"the driver cannot speak ({message}); mysqlclient (MariaDB Connector/C) speaks "
            f"ed25519 and MariaDB's other plugins: measure with {mentioned('database', 'driver')} "
            '"mysqlclient" (async-pool connects with aiomysql, which cannot), or give the user '
            "another plugin"
        )
    elif code == CR_SERVER_LOST and in_connect and "timed out" in message:
        text = (
            f"cannot connect to {where}: something accepted the connection but sent no "
            f"greeting within {database.connect_timeout_s:g}s (connect_timeout); is a "
            "MySQL-compatible server on that port, and is it overloaded or stopped?"
        )
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
    if code == CR_SERVER_LOST and "timed out" in message:
        advice = (
            f"no answer within read_timeout ({database.read_timeout_s:g}s, "
            f"{database.source_of('read_timeout')}): raise it for a query this slow, "
            "or check that the server is answering"
        )
    elif code == ER_NO_DB:
        advice = (
            f"give {mentioned('database', 'database')} (or DBBENCH_DATABASE), "
            f"or name the table as database.table in {mentioned('benchmark', 'query')}"
        )
    elif code == ER_NO_SUCH_TABLE:
        advice = (
            f"check {mentioned('benchmark', 'query')}, or {mentioned('database', 'database')} "
            f"({database.database!r}, {database.source_of('database')})"
            if database.database
            else f"check {mentioned('benchmark', 'query')}, or give "
            + mentioned("database", "database")
        )
    else:
        advice = f"check {mentioned('benchmark', 'query')}"
    return QueryError(
        f"the query {shown!r} failed on {database.describe()}: {prefix}{message}; {advice}"
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


def is_operation_failure(exc: BaseException) -> bool:
    """Whether ``exc`` is an operation's failure that ``operation_error`` explains:
    a driver's exception, SQLAlchemy's (a pool's), or an ``OSError``."""
    setup_errors = (sqlalchemy.exc.SQLAlchemyError, OSError)
    return drivers.is_driver_error(exc) or isinstance(exc, setup_errors)


def operation_error(exc: BaseException, database: DatabaseSettings, query: str) -> DbbenchError:
    """Explain a failed operation: a connect failure or a query failure, by error number."""
    code, _ = _driver_message(exc)
    if _is_connect_failure(code):
        return connect_error(exc, database)
    return query_error(exc, database, query)
