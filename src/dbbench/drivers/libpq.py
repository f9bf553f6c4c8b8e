"""What psycopg (3) and psycopg2 share: both are libpq underneath, so the settings become
the same libpq connection parameters and the errors come from the same client library
and server.

Connection parameters (libpq's names, given as keyword arguments, never as a conninfo
string: the password then appears in no text a message could carry):

* ``host``, ``port``, ``user``, ``password`` (text, sent as UTF-8; a password of bytes
  that are not UTF-8 is refused in one line).  An empty password is not passed, and
  libpq then looks for one as ``psql`` does (``PGPASSWORD``, ``~/.pgpass``).
* ``dbname``: ``[database] database``; when none is given, none is passed, and libpq
  takes ``PGDATABASE`` or else the user name, as ``psql`` does.
* ``unix_socket``: libpq takes a socket *directory* as ``host`` (any value starting
  with ``/``) and finds ``.s.PGSQL.PORT`` in it.  dbbench takes the directory, or the
  socket file itself (``/run/postgresql/.s.PGSQL.5432``), whose name then gives the
  port; a socket file named otherwise is refused in one line (libpq cannot use it).
* ``connect_timeout``: libpq takes whole seconds, and at least 2 (it reads 1 as 2):
  rounded up to that.  It bounds each address libpq tries, not the whole connect.
* ``read_timeout`` -- libpq has none: a query waits for its answer as long as it
  takes.  dbbench bounds what can be bounded from the client and the server:

  - ``tcp_user_timeout`` (milliseconds, Linux): data sent and not acknowledged by the
    peer for that long fails the connection -- a dead host or network path noticed
    while sending;
  - ``keepalives`` with ``keepalives_idle`` = half the read timeout,
    ``keepalives_interval`` = a sixth and ``keepalives_count`` = 3: a peer that stops
    answering while the client waits for a reply is noticed after about the read
    timeout (rounded up to whole seconds);
  - ``statement_timeout`` (the server's, in the startup packet's ``options``: no extra
    round trip): a statement that runs longer is cancelled by the server
    (SQLSTATE 57014), and the connection stays usable.

  Not bounded: a server that is alive at the TCP level but does not answer (a stopped
  ``postgres`` process whose kernel still acknowledges, a server stuck before it
  reads the statement).  ``write_timeout`` has no counterpart beyond
  ``tcp_user_timeout``.
* ``init_command``: libpq has none; the statement runs after each connect and is
  committed (a ``SET`` in a transaction rolled back would be undone): one round trip
  or two, as MySQL's costs one.

TLS: ``ssl_mode`` -> ``sslmode`` (disabled -> disable, preferred -> prefer, required ->
require, verify_ca -> verify-ca, verify_identity -> verify-full); ``ssl_ca``,
``ssl_cert``, ``ssl_key``, ``ssl_key_password`` -> ``sslrootcert``, ``sslcert``,
``sslkey``, ``sslpassword``.  Under ``required`` the CA is not passed: libpq verifies
the server's certificate against a ``sslrootcert`` that exists even under
``require``, and ``required`` means "encrypted, not verified", as for MySQL (libpq
still reads ``~/.postgresql/root.crt`` when it exists).  ``preferred`` (libpq's own
default) asks the server for TLS first: a handshake when it has TLS, an extra round
trip (the refused ``SSLRequest``) when it has not.  libpq never falls back to plain
text under ``require``.

Read-only sessions: ``read_only_kwargs`` adds ``-c default_transaction_read_only=on``
to ``options``: the server reads it from the startup packet, so every transaction of
the session is read-only with no statement sent; ``SET`` can undo it, so it guards
against an accidental write, not a hostile one (docs/reference/safety.md).

Errors: a server error carries its SQLSTATE (``28P01``); a failure of libpq's own (a
refused connect, a server that closed the connection) carries none, and the server's
errors during the login reach the client as text only (``FATAL:  password
authentication failed for user "x"``).  Those are read from the text, which is the
server's English unless its ``lc_messages`` says otherwise, and numbered as pgjdbc,
PostgreSQL's JDBC driver, numbers its own failures: 08001 for a connection that
could not be made, 08006 for one that broke.
"""

from __future__ import annotations

import math
import os
import re
import stat
from typing import TYPE_CHECKING, Any, ClassVar

from dbbench.config.schema import mentioned
from dbbench.drivers.base import Connector, Driver, utf8_password, whole_seconds
from dbbench.drivers.failures import REASON_FAILURES, Failure
from dbbench.errors import ConfigError, Mentioning

if TYPE_CHECKING:
    from dbbench.config.settings import DatabaseSettings
    from dbbench.config.tls import TlsSettings

#: ssl_mode -> libpq's sslmode
SSLMODES = {
    "disabled": "disable",
    "preferred": "prefer",
    "required": "require",
    "verify_ca": "verify-ca",
    "verify_identity": "verify-full",
}
#: the startup option that makes every transaction of the session read-only
READ_ONLY_OPTION = "-c default_transaction_read_only=on"
#: libpq's shortest connect_timeout: it takes 1 as 2
MIN_CONNECT_TIMEOUT_S = 2
#: what to do about a password that is not UTF-8 (libpq sends text as it is, UTF-8 here)
UTF8_ADVICE = "give it as UTF-8 text, or set it anew (ALTER ROLE ... PASSWORD) in a UTF-8 session"
#: the name libpq gives a server's socket in its directory
_SOCKET_FILE = re.compile(r"\.s\.PGSQL\.(\d+)")

#: SQLSTATE -> failure; any other SQLSTATE of the server's is a QUERY failure
SQLSTATE_FAILURES: dict[str, Failure] = {
    "28P01": Failure.ACCESS_DENIED,  # invalid_password
    "28000": Failure.ACCESS_DENIED,  # invalid_authorization_specification
    "3D000": Failure.UNKNOWN_DATABASE,  # invalid_catalog_name
    "53300": Failure.TOO_MANY_CONNECTIONS,
    "57P01": Failure.KILLED,  # admin_shutdown: pg_terminate_backend, a fast shutdown
    "57P02": Failure.KILLED,  # crash_shutdown
    "57P03": Failure.CANNOT_CONNECT,  # cannot_connect_now: starting up, shutting down
    "57P05": Failure.GONE,  # idle_session_timeout (14+)
    "25P03": Failure.GONE,  # idle_in_transaction_session_timeout
    "08001": Failure.CANNOT_CONNECT,  # sqlclient_unable_to_establish_sqlconnection
    "08004": Failure.CANNOT_CONNECT,  # sqlserver_rejected_establishment_of_sqlconnection
    "08003": Failure.GONE,  # connection_does_not_exist
    "08006": Failure.LOST,  # connection_failure
    "08P01": Failure.LOST,  # protocol_violation
    "42P01": Failure.UNKNOWN_TABLE,  # undefined_table
}

#: words of libpq's messages (and the server's during a login, which carry no SQLSTATE)
#: -> the SQLSTATE and failure they stand for; the first that matches wins
MESSAGE_FAILURES: tuple[tuple[re.Pattern[str], str, Failure], ...] = tuple(
    (re.compile(words), sqlstate, failure)
    for words, sqlstate, failure in (
        (r"password authentication failed|authentication failed for user", "28P01",
         Failure.ACCESS_DENIED),
        (r"no password supplied", "28P01", Failure.ACCESS_DENIED),
        (r"no pg_hba\.conf entry|pg_hba\.conf rejects", "28000", Failure.HOST_NOT_ALLOWED),
        (r"role \".*\" does not exist|role .* is not permitted to log in", "28000",
         Failure.ACCESS_DENIED),
        (r"database \".*\" does not exist", "3D000", Failure.UNKNOWN_DATABASE),
        (r"permission denied for database|User does not have CONNECT privilege", "42501",
         Failure.DATABASE_DENIED),
        (r"too many clients|remaining connection slots are reserved|too many connections for",
         "53300",
         Failure.TOO_MANY_CONNECTIONS),
        (r"the database system is (starting up|shutting down|in recovery mode)", "57P03",
         Failure.CANNOT_CONNECT),
        (r"terminating connection due to administrator command", "57P01", Failure.KILLED),
        (r"terminating connection due to idle-session timeout", "57P05", Failure.GONE),
        (r"SSL SYSCALL error|SSL connection has been closed unexpectedly", "08006",
         Failure.LOST),
        (r"does not support SSL|SSL error|certificate|SSL negotiation|sslmode", "08001",
         Failure.TLS),
        (r"Connection refused", "08001", Failure.REFUSED),
        (r"could not translate host name|failed to resolve host", "08001",
         Failure.UNKNOWN_HOST),
        (r"timeout expired", "08001", Failure.CONNECT_TIMEOUT),
        (r"on socket .* failed: No such file or directory", "08001", Failure.NO_SOCKET),
        (r"Connection timed out|could not receive data from server: .*timed out", "08006",
         Failure.TIMED_OUT),
        (r"server closed the connection unexpectedly|could not receive data from server"
         r"|could not send data to server|consuming input failed|sending query failed"
         r"|server conn crashed", "08006", Failure.LOST),
        # something answered that is not a PostgreSQL server (an HTTP proxy: "received H")
        (r"expected authentication request from server|invalid response to SSL negotiation"
         r"|unexpected message from server", "08P01", Failure.LOST),
        (r"connection (is|already) (lost|closed)|the connection is closed", "08003",
         Failure.GONE),
        (r"^connection (to server|failed)|could not connect to server", "08001",
         Failure.CANNOT_CONNECT),
    )
)

#: the text libpq puts before a failed connect's reason: "connection to server at "h"
#: (addr), port 5432 failed: FATAL:  " (psycopg adds "connection failed: ")
_CONNECT_PREFIX = re.compile(
    r"(connection (failed|is bad): )?connection to server (at|on socket) .*? failed: "
    r"(FATAL:  )?"
)

#: DB-API's exception classes, by the names both drivers give them
DBAPI_CLASSES = (
    "InterfaceError",
    "DataError",
    "OperationalError",
    "IntegrityError",
    "InternalError",
    "ProgrammingError",
    "NotSupportedError",
    "DatabaseError",
    "Warning",
    "Error",
)


def socket_host_port(unix_socket: str, port: int) -> tuple[str, int]:
    """``host`` and ``port`` for libpq from ``unix_socket``: a directory as it is, a socket
    file ``/dir/.s.PGSQL.N`` as ``/dir`` and port N; a socket file named otherwise is
    refused in one line (libpq finds a socket by that name only)."""
    directory, name = os.path.split(unix_socket.rstrip("/") or "/")
    found = _SOCKET_FILE.fullmatch(name)
    if found:
        return directory or ".", int(found.group(1))
    try:
        is_socket = stat.S_ISSOCK(os.stat(unix_socket).st_mode)
    except OSError:
        is_socket = False  # a directory that is not there yet: libpq says so when it connects
    if is_socket:
        raise ConfigError(
            f"{mentioned('database', 'unix_socket')} = {unix_socket!r}: libpq takes a socket "
            "directory, or a socket file named .s.PGSQL.PORT; give the directory the server's "
            "socket is in (its unix_socket_directories)"
        )
    return unix_socket, port


def tls_kwargs(tls: TlsSettings) -> dict[str, Any]:
    """libpq's ``ssl*`` parameters for ``tls`` (see the module's docstring)."""
    kwargs: dict[str, Any] = {"sslmode": SSLMODES[tls.mode]}
    if tls.mode == "disabled":
        return kwargs
    files = {
        "sslrootcert": None if tls.mode == "required" else tls.ca,
        "sslcert": tls.cert,
        "sslkey": tls.key,
        "sslpassword": tls.key_password,
    }
    kwargs.update({key: value for key, value in files.items() if value is not None})
    return kwargs


def keepalive_kwargs(read_timeout_s: float) -> dict[str, Any]:
    """The parameters that bound waiting on a dead peer by about ``read_timeout_s``."""
    return {
        "tcp_user_timeout": max(1, math.ceil(read_timeout_s * 1000)),
        "keepalives": 1,
        "keepalives_idle": whole_seconds(read_timeout_s / 2),
        "keepalives_interval": whole_seconds(read_timeout_s / 6),
        "keepalives_count": 3,
    }


def libpq_kwargs(database: DatabaseSettings, driver: str) -> dict[str, Any]:
    """libpq's connection parameters for ``database``, TLS included (the module's docstring)."""
    kwargs: dict[str, Any] = {"host": database.host, "port": database.port}
    if database.unix_socket is not None:
        kwargs["host"], kwargs["port"] = socket_host_port(database.unix_socket, database.port)
    kwargs["user"] = database.user
    if database.password:
        kwargs["password"] = utf8_password(database, driver, UTF8_ADVICE)
    if database.database is not None:
        kwargs["dbname"] = database.database
    kwargs["connect_timeout"] = max(
        MIN_CONNECT_TIMEOUT_S, whole_seconds(database.connect_timeout_s)
    )
    kwargs.update(keepalive_kwargs(database.read_timeout_s))
    if database.startup_settings:  # not through a PgBouncer, which refuses options
        statement_timeout_ms = max(1, math.ceil(database.read_timeout_s * 1000))
        kwargs["options"] = f"-c statement_timeout={statement_timeout_ms}"
    kwargs.update(tls_kwargs(database.tls))
    return kwargs


def with_option(kwargs: dict[str, Any], option: str) -> dict[str, Any]:
    """``kwargs`` with ``option`` appended to libpq's ``options``."""
    options = kwargs.get("options")
    return {**kwargs, "options": f"{options} {option}" if options else option}


def sqlstate_of_message(message: str) -> tuple[str, Failure] | None:
    """The SQLSTATE and failure libpq's (or a login's) text stands for, if it is known."""
    for words, sqlstate, failure in MESSAGE_FAILURES:
        if words.search(message):
            return sqlstate, failure
    return None


class LibpqDriver(Driver):
    """A driver over libpq: the parameters, errors and TLS check both PostgreSQL drivers share.
    Subclasses say where the SQLSTATE and the TLS state are (``sqlstate``, ``is_encrypted``)."""

    server_kind = "a PostgreSQL server"
    extra = "postgresql"
    #: libpq fails under ``require`` rather than fall back to plain text
    falls_back_to_plain: ClassVar[bool] = False

    def connect_kwargs(self, database: DatabaseSettings) -> dict[str, Any]:
        return libpq_kwargs(database, self.name)

    def read_only_kwargs(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        return with_option(kwargs, READ_ONLY_OPTION)

    def connect_function(self, database: DatabaseSettings, kwargs: dict[str, Any]) -> Connector:
        connect = self.raw_connect(kwargs)
        init_command = database.init_command
        if init_command is None:
            return connect

        def connect_and_initialise() -> Any:
            connection = connect()
            try:
                with connection.cursor() as cursor:
                    cursor.execute(init_command)
                if not connection.autocommit:
                    connection.commit()  # a SET in a transaction rolled back would be undone
            except BaseException:
                connection.close()
                raise
            return connection

        return connect_and_initialise

    def raw_connect(self, kwargs: dict[str, Any]) -> Connector:
        """The driver's own connect with ``kwargs``, as a function of no arguments."""
        connect = self.module.connect
        return lambda: connect(**kwargs)

    def timeout_kwargs(self, read_s: float, write_s: float | None = None) -> dict[str, Any]:
        return keepalive_kwargs(read_s if write_s is None else max(read_s, write_s))

    # ----------------------------------------------------------------- errors

    def sqlstate(self, exc: BaseException) -> str | None:
        """The SQLSTATE the server sent with the error, if any."""
        return None

    def _classified(self, exc: BaseException) -> tuple[str | None, Failure | None]:
        code = self.sqlstate(exc)
        if code is not None:
            failure = SQLSTATE_FAILURES.get(code, Failure.QUERY)
            if code == "57014" and "statement timeout" in str(exc):
                failure = Failure.STATEMENT_TIMEOUT
            return code, failure
        found = sqlstate_of_message(str(exc))
        if found is not None:
            return found
        if type(exc).__name__ == "InterfaceError":  # psycopg2: "connection already closed"
            return None, Failure.GONE
        return None, None

    def failure(self, exc: BaseException) -> Failure | None:
        return self._classified(exc)[1]

    def failure_reason(self, exc: BaseException) -> str | None:
        failure = self.failure(exc)
        reasons = {value: reason for reason, value in REASON_FAILURES.items()}
        return reasons.get(failure) if failure is not None else None

    def error_code(self, exc: BaseException) -> int | None:
        return None  # no MySQL number: ``error_label`` is the SQLSTATE

    def error_label(self, exc: BaseException) -> str | None:
        return self._classified(exc)[0]

    def error_kind(self, exc: BaseException) -> str:
        """DB-API class and SQLSTATE: ``OperationalError(28P01)``; the class alone where
        neither the server nor the text says a code."""
        name = next(
            (cls.__name__ for cls in type(exc).__mro__ if cls.__name__ in DBAPI_CLASSES),
            type(exc).__name__,
        )
        code = self.error_label(exc)
        return f"{name}({code})" if code is not None else name

    def error_message(self, exc: BaseException) -> str:
        """The server's primary message (no ``LINE 1: ...`` and caret), or libpq's text
        without the "connection to server at ... failed:" it puts before the reason."""
        diag = getattr(exc, "diag", None)
        primary = getattr(diag, "message_primary", None) if diag is not None else None
        if primary:
            return str(primary)
        text = str(exc) or type(exc).__name__
        return _CONNECT_PREFIX.sub("", text).strip()

    def password_hint(self, database: DatabaseSettings) -> str:
        return (
            f"no password was given: use {mentioned('database', 'password')} or "
            "DBBENCH_PASSWORD (libpq's PGPASSWORD and ~/.pgpass are read when none is "
            "given); or check the role and its pg_hba.conf line"
        )

    def notes(self, database: DatabaseSettings) -> list[str]:
        if database.tls.mode != "preferred" or database.unix_socket is not None:
            return []
        mode = mentioned("database", "ssl_mode")
        return [
            Mentioning(
                "ssl_mode 'preferred' (libpq's sslmode=prefer, its default): every connect "
                "asks the server for TLS first, a TLS handshake where it has TLS and one more "
                f'round trip where it has not; set {mode} to "disabled" to measure plain '
                'connects, or to "verify_ca" to measure what an application that checks the '
                "server does"
            )
        ]
