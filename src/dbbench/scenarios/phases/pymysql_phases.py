"""PyMySQL's connect-per-query operation, phase by phase.

PyMySQL is pure Python, so every step of its connect can be timed from
outside: ``Connection`` is subclassed to wrap the methods that do one step
each (read in PyMySQL 1.1/1.2's ``connections.py``), and the socket is
opened here, the way ``socket.create_connection`` would, so that name
resolution and the TCP connect are timed apart.  Everything else runs
PyMySQL's own code, with the settings the ``raw`` runner uses.
"""

from __future__ import annotations

import socket
from typing import Any

import pymysql

from dbbench.config.settings import DatabaseSettings
from dbbench.drivers.pymysql_driver import PyMySQLDriver
from dbbench.scenarios.phases.clock import PhaseClock
from dbbench.workload import Workload

DRIVER = "pymysql"

NAME_RESOLUTION = "name resolution"
TCP_CONNECT = "TCP connect"
DRIVER_SETUP = "driver set-up"
SSL_CONTEXT = "SSL context"
GREETING = "server greeting"
TLS_HANDSHAKE = "TLS handshake"
AUTHENTICATION = "authentication"
SET_NAMES = "SET NAMES"
SET_AUTOCOMMIT = "SET AUTOCOMMIT"
SESSION_SETUP = "session set-up"
QUERY = "query"
CLOSE = "close"

#: the phases in the order an operation runs them (the table's order)
PHASES = (
    DRIVER_SETUP,
    SSL_CONTEXT,
    NAME_RESOLUTION,
    TCP_CONNECT,
    GREETING,
    TLS_HANDSHAKE,
    AUTHENTICATION,
    SET_NAMES,
    SET_AUTOCOMMIT,
    SESSION_SETUP,
    QUERY,
    CLOSE,
)
#: the phase that holds TCP's own handshake (SYN, SYN-ACK), a round trip no relay sees
TCP_PHASE = TCP_CONNECT
#: the phase that waits for what the server sends unasked (its greeting)
GREETING_PHASE = GREETING

#: what each phase is, for the table's notes and the README
DESCRIPTIONS = {
    DRIVER_SETUP: "Connection object: options, charset, converters",
    SSL_CONTEXT: "ssl.create_default_context(): loads the system's CA store",
    NAME_RESOLUTION: "getaddrinfo(host, port)",
    TCP_CONNECT: "socket connect: TCP's SYN / SYN-ACK",
    GREETING: "read the server's handshake packet",
    TLS_HANDSHAKE: "wrap_socket: the TLS handshake, when the server offers TLS",
    AUTHENTICATION: "handshake response, password scramble, server's OK",
    SET_NAMES: "SET NAMES <charset>, sent by every PyMySQL connect",
    SET_AUTOCOMMIT: "SET AUTOCOMMIT = 0: PyMySQL's default autocommit=False",
    SESSION_SETUP: "init_command and sql_mode when set; socket bookkeeping",
    QUERY: "execute the query, fetch all rows",
    CLOSE: "COM_QUIT and close the socket (no reply awaited)",
}


class _TimedContext:
    """Stands in for the connection's ``ssl.SSLContext`` to time the TLS handshake."""

    def __init__(self, context: Any, clock: PhaseClock) -> None:
        self._context = context
        self._clock = clock

    def wrap_socket(self, *args: Any, **kwargs: Any) -> Any:
        with self._clock.phase(TLS_HANDSHAKE):
            return self._context.wrap_socket(*args, **kwargs)


class TimedConnection(pymysql.connections.Connection):
    """A PyMySQL connection that charges each step of its connect to a phase."""

    def __init__(self, *args: Any, clock: PhaseClock, **kwargs: Any) -> None:
        # set before the constructor runs: it builds the SSL context itself
        self._clock = clock
        super().__init__(*args, defer_connect=True, **kwargs)
        if getattr(self, "ctx", None) is not None:
            self.ctx = _TimedContext(self.ctx, clock)

    def _create_ssl_ctx(self, sslp: Any) -> Any:
        with self._clock.phase(SSL_CONTEXT):
            return super()._create_ssl_ctx(sslp)

    def _get_server_information(self) -> None:
        with self._clock.phase(GREETING):
            super()._get_server_information()

    def _request_authentication(self) -> None:
        with self._clock.phase(AUTHENTICATION):
            super()._request_authentication()

    def set_character_set(self, charset: str, collation: str | None = None) -> None:
        with self._clock.phase(SET_NAMES):
            super().set_character_set(charset, collation)

    def autocommit(self, value: bool) -> None:
        # a round trip only when the server's mode differs, as it does by default
        with self._clock.phase(SET_AUTOCOMMIT):
            super().autocommit(value)


def _open_socket(host: str, port: int, timeout_s: float, clock: PhaseClock) -> socket.socket:
    """``socket.create_connection`` in two timed halves, with PyMySQL's socket options."""
    with clock.phase(NAME_RESOLUTION):
        addresses = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    error: OSError | None = None
    with clock.phase(TCP_CONNECT):
        for family, kind, protocol, _, address in addresses:
            sock = socket.socket(family, kind, protocol)
            try:
                sock.settimeout(timeout_s)
                sock.connect(address)
            except OSError as exc:
                sock.close()
                error = exc
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            return sock
    raise error or OSError(f"getaddrinfo returned no address for {host}:{port}")


def connect_operation(database: DatabaseSettings, workload: Workload, clock: PhaseClock) -> None:
    """One ``raw`` operation (connect, query, fetch, close), each phase timed on ``clock``."""
    # as the raw runner's connect: [database] autocommit included
    kwargs = PyMySQLDriver().connection_kwargs(database)
    with clock.phase(DRIVER_SETUP):
        connection = TimedConnection(clock=clock, **kwargs)
    try:
        if database.unix_socket:
            # PyMySQL opens a Unix socket itself: no name resolution, no TCP
            with clock.phase(SESSION_SETUP):
                connection.connect()
        else:
            try:
                sock = _open_socket(
                    database.host, database.port, database.connect_timeout_s, clock
                )
            except OSError as exc:
                # as PyMySQL reports it, so that drivers/diagnosis.py explains it alike
                error = pymysql.err.OperationalError(
                    2003, f"Can't connect to MySQL server on {database.host!r} ({exc})"
                )
                error.original_exception = exc
                raise error from exc
            with clock.phase(SESSION_SETUP):
                # the rest of PyMySQL's connect: greeting, authentication and
                # SET NAMES are charged to their own phases from inside
                connection.connect(sock)
        with clock.phase(QUERY):
            workload.run_on(connection)
    except BaseException:
        connection._force_close()
        raise
    with clock.phase(CLOSE):
        connection.close()
        # its last reference: freeing the connection frees its SSL context, whose CA
        # store takes ~0.7 ms to free here (3% of a connect with TLS), which the plain
        # operation pays as its connection goes; left to the return, no phase had it
        del connection
