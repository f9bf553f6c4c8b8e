"""What went wrong, in words every dialect shares: a driver's exception -> one ``Failure``.

MySQL numbers its errors (1045 access denied, 2003 cannot connect, 2013 lost
connection); PostgreSQL names them with a five-character SQLSTATE (28P01,
3D000, 57P01), and libpq gives none at all for a failure of its own (a refused
connect, a connection the server closed).  Each driver turns its exception into
one of the names below (``Driver.failure``), so that the messages of
``diagnosis`` and the runners' tests (``persistent``: was the connection lost?)
read a failure, not a number of one dialect.

Two traits go with each name:

* ``phase``: "connect" when the failure says the connection could not be made
  or used (``diagnosis.operation_error`` then explains it as a connect failure),
  "query" when the server refused or failed the statement itself;
* ``gone``: the connection is unusable afterwards; a runner that keeps
  connections (``persistent``) opens a new one on its next operation.

``MYSQL_FAILURES`` maps MySQL's numbers onto the names, exactly as diagnosis
told them apart before the names existed; the PostgreSQL drivers map SQLSTATEs
(``postgresql_errors``).
"""

from __future__ import annotations

import enum


class Failure(enum.Enum):
    """A dialect-neutral failure; the value is how a message or a test names it."""

    #: the port is closed (ECONNREFUSED)
    REFUSED = "refused"
    #: the host name does not resolve
    UNKNOWN_HOST = "unknown host"
    #: no answer to the connect within connect_timeout
    CONNECT_TIMEOUT = "timeout"
    #: no socket file where unix_socket says
    NO_SOCKET = "no socket"
    #: the connect failed for another reason the driver does not tell apart
    CANNOT_CONNECT = "cannot connect"
    #: the server refused the login: unknown user, wrong or missing password
    ACCESS_DENIED = "access denied"
    #: the server refused the login from this client's address
    HOST_NOT_ALLOWED = "host not allowed"
    #: the user may not use the database
    DATABASE_DENIED = "database denied"
    UNKNOWN_DATABASE = "unknown database"
    TOO_MANY_CONNECTIONS = "too many connections"
    #: a TLS handshake or certificate check failed, or TLS was demanded and not offered
    TLS = "TLS failure"
    #: the connection broke in the middle of an exchange (MySQL 2013)
    LOST = "lost connection"
    #: the connection was found closed when used (MySQL 2006), or closed by the server
    #: for idleness
    GONE = "connection gone"
    #: the server ended the session on purpose (MySQL's KILL, pg_terminate_backend)
    KILLED = "connection killed"
    #: no answer within the read timeout; the driver then closes the connection
    TIMED_OUT = "timed out"
    #: the server cancelled the statement at its own time limit (PostgreSQL's
    #: statement_timeout, which dbbench sets from read_timeout); the connection lives on
    STATEMENT_TIMEOUT = "statement timeout"
    #: the query names no database and none is selected (MySQL 1046)
    NO_DATABASE_SELECTED = "no database selected"
    #: the query names a table that does not exist
    UNKNOWN_TABLE = "unknown table"
    #: a client-side error the driver numbers but nothing above names
    CLIENT = "client error"
    #: any other error the server raised for the statement: syntax, permission, ...
    QUERY = "query error"

    @property
    def phase(self) -> str:
        """ "query" for a failure of the statement, "connect" for a failure of the connection."""
        return "query" if self in _QUERY_PHASE else "connect"

    @property
    def gone(self) -> bool:
        """Whether the connection is unusable after this failure."""
        return self in _GONE


_QUERY_PHASE = frozenset(
    {
        Failure.KILLED,
        Failure.STATEMENT_TIMEOUT,
        Failure.NO_DATABASE_SELECTED,
        Failure.UNKNOWN_TABLE,
        Failure.QUERY,
    }
)
_GONE = frozenset({Failure.LOST, Failure.GONE, Failure.KILLED, Failure.TIMED_OUT})

#: the MySQL error numbers diagnosis and the runners tell apart; any other number
#: below 2000 (the server's) is a ``QUERY`` failure, any other from 2000 (the
#: client library's) a ``CLIENT`` one
MYSQL_FAILURES: dict[int, Failure] = {
    1044: Failure.DATABASE_DENIED,  # ER_DBACCESS_DENIED_ERROR
    1045: Failure.ACCESS_DENIED,  # ER_ACCESS_DENIED_ERROR
    1698: Failure.ACCESS_DENIED,  # MariaDB: no password given, or an unknown user
    1049: Failure.UNKNOWN_DATABASE,  # ER_BAD_DB_ERROR
    1040: Failure.TOO_MANY_CONNECTIONS,  # ER_CON_COUNT_ERROR
    1130: Failure.HOST_NOT_ALLOWED,  # ER_HOST_NOT_PRIVILEGED
    1046: Failure.NO_DATABASE_SELECTED,  # ER_NO_DB_ERROR
    1146: Failure.UNKNOWN_TABLE,  # ER_NO_SUCH_TABLE
    1927: Failure.KILLED,  # MariaDB ER_CONNECTION_KILLED
    2003: Failure.CANNOT_CONNECT,  # CR_CONN_HOST_ERROR: the reason says which
    2006: Failure.GONE,  # CR_SERVER_GONE_ERROR
    2013: Failure.LOST,  # CR_SERVER_LOST
    2055: Failure.GONE,  # CR_SERVER_LOST_EXTENDED
    4031: Failure.GONE,  # ER_CLIENT_INTERACTION_TIMEOUT: closed for idleness
    2026: Failure.TLS,  # CR_SSL_CONNECTION_ERROR
}

#: a connect's reason, as ``Driver.failure_reason`` says it -> its failure
REASON_FAILURES: dict[str, Failure] = {
    "refused": Failure.REFUSED,
    "unknown host": Failure.UNKNOWN_HOST,
    "timeout": Failure.CONNECT_TIMEOUT,
    "no socket": Failure.NO_SOCKET,
}


def mysql_failure(code: int | None, reason: str | None, message: str) -> Failure | None:
    """The failure of a MySQL driver's exception with this number, connect reason and text;
    None when it has no number (not the server's nor the client library's)."""
    if code is None:
        return None
    if code == 2003 and reason in REASON_FAILURES:
        return REASON_FAILURES[reason]
    if code == 2013 and "timed out" in message:
        return Failure.TIMED_OUT  # read_timeout or write_timeout
    if code in MYSQL_FAILURES:
        return MYSQL_FAILURES[code]
    return Failure.CLIENT if code >= 2000 else Failure.QUERY
