"""psycopg (3)'s connect-per-query operation, phase by phase, and its ``BEGIN`` anywhere.

psycopg connects the way its own async connect does: libpq's non-blocking
``PQconnectStart`` and then ``PQconnectPoll`` after every socket event, in a
generator (``psycopg.generators.connect``) that ``psycopg.waiting.wait_conn``
drives.  ``TimedConnection`` is psycopg's ``Connection`` with that one generator
replaced by a copy that times each step (``_timed_connect``); everything else is
psycopg's own ``Connection.connect``: its parameters, its attempts, its wait loop,
its timeout.  Read in psycopg 3.3's ``connection.py``, ``generators.py`` and
``_conninfo_attempts.py``.

What can be told apart, and how:

* **name resolution**: psycopg resolves the host name itself, in Python
  (``conninfo_attempts``: ``getaddrinfo``; an IP address is not resolved), and
  hands libpq the address as ``hostaddr=``.  dbbench calls that same function,
  timed, and gives ``Connection.connect`` each attempt it returns, which psycopg
  then takes as already resolved: the same work in the same order, no extra
  lookup.  (Opening a socket of dbbench's own to time the TCP connect, then
  connecting libpq, would not be honest on PostgreSQL: the postmaster forks a
  backend for every connection it accepts, so the probe would cost the server a
  fork and log "incomplete startup packet", and the connect timed would not be
  libpq's.)
* every step of libpq's connect is charged to the state libpq reported while
  the client waited (``PGconn.status`` after the previous poll): the wait for the
  socket, and the poll that then handles what arrived.  ``STARTED``/``MADE``: the
  non-blocking ``connect()`` until the socket is writable (**TCP connect**, TCP's
  SYN / SYN-ACK, or a Unix socket's connect; the postmaster's ``fork`` of the
  backend starts as it accepts).  ``SSL_STARTUP``: **TLS**, the ``SSLRequest`` and
  the server's one-byte answer,
  then, when it was "S", libpq's SSL set-up (its ``SSL_CTX``, the certificates)
  and the handshake; under ``prefer`` against a server without TLS, the refused
  request alone.  ``GSS_STARTUP``: a GSSAPI encryption request (only with a
  Kerberos ticket).  Every later state (``AWAITING_RESPONSE``, ``AUTH_OK``, ...):
  **startup**, the startup message, authentication (one round trip with ``trust``,
  three with SCRAM) and the backend's start-up.  These last two stay one phase:
  the server holds its ``AuthenticationOk`` back until the backend is ready for
  queries (``sendAuthRequest`` in its ``auth.c`` flushes every request but that
  one and SCRAM's last), and sends it with ``ReadyForQuery`` in one burst, so no moment on the
  client side divides authentication from the backend's start.
* **BEGIN**: with ``autocommit`` off (psycopg's default, and SQLAlchemy's), psycopg
  sends ``BEGIN`` before the first statement of a transaction, as a statement of its
  own and a round trip of its own (``Connection._start_query``).  ``TimedConnection``
  charges it to a phase; pooled and persistent connections are made
  ``TimedConnection`` (``watch``: the class only adds timing) so that their
  ``BEGIN``, inside the query (SQLAlchemy pings in autocommit), is a phase too.

The timing state lives on the class while a connect runs (``_connecting``): explain
runs one operation at a time.
"""

from __future__ import annotations

import functools
from collections.abc import Generator
from typing import Any

import psycopg
from psycopg import pq
from psycopg._conninfo_attempts import conninfo_attempts
from psycopg._encodings import conninfo_encoding

from dbbench.config.settings import DatabaseSettings
from dbbench.drivers.psycopg_driver import PsycopgDriver
from dbbench.scenarios.phases.clock import PhaseClock
from dbbench.scenarios.phases.opaque_phases import timed_operation
from dbbench.workload import Workload

DRIVER = "psycopg"

DRIVER_SETUP = "driver set-up"
NAME_RESOLUTION = "name resolution"
TCP_CONNECT = "TCP connect"
TLS = "TLS"
GSSAPI = "GSSAPI request"
STARTUP = "startup"
SESSION_SETUP = "session set-up"
BEGIN = "BEGIN"
QUERY = "query"
CLOSE = "close"

#: the phases in the order an operation runs them (the table's order)
PHASES = (
    DRIVER_SETUP,
    NAME_RESOLUTION,
    TCP_CONNECT,
    GSSAPI,
    TLS,
    STARTUP,
    SESSION_SETUP,
    BEGIN,
    QUERY,
    CLOSE,
)
#: the phase that holds TCP's own handshake (SYN, SYN-ACK), a round trip no relay sees
TCP_PHASE = TCP_CONNECT
#: PostgreSQL sends nothing unasked: the client speaks first
GREETING_PHASE = None
#: the phases a pooled or persistent operation's statements may have besides the query
STATEMENT_PHASES = (BEGIN,)

#: what each phase is, for the table's notes and the docs
DESCRIPTIONS = {
    DRIVER_SETUP: "psycopg's connect: parameters, attempts, wait loop, Connection object",
    NAME_RESOLUTION: "psycopg's getaddrinfo(host), in Python (none for an IP address)",
    TCP_CONNECT: "libpq's non-blocking connect() to hostaddr (or the Unix socket): SYN, SYN-ACK",
    GSSAPI: "GSSENCRequest and the server's answer (with a Kerberos ticket only)",
    TLS: "SSLRequest and the server's S/N, then libpq's SSL set-up and the handshake",
    STARTUP: "inside libpq, one phase: startup message, authentication, backend start",
    SESSION_SETUP: "init_command (and its COMMIT) when set; dbbench's connect wrapper",
    BEGIN: "BEGIN psycopg sends before a transaction's first statement (autocommit off)",
    QUERY: "execute the query, fetch all rows",
    CLOSE: "Terminate and close the socket (no reply awaited)",
}

_POLL = pq.PollingStatus
_STATUS = pq.ConnStatus
#: libpq's states before the server has been asked anything
_CONNECTING = frozenset({_STATUS.STARTED, _STATUS.MADE, _STATUS.NEEDED})


def phase_of(status: int) -> str:
    """The phase a step of libpq's connect is charged to, from the state libpq was in
    while the client waited (``PGconn.status``): see the module's docstring."""
    if status in _CONNECTING:
        return TCP_CONNECT
    if status == _STATUS.SSL_STARTUP:
        return TLS
    if status == _STATUS.GSS_STARTUP:
        return GSSAPI
    return STARTUP


class _Timing:
    """The clock the phases go to, or None: untimed (a pooled connection between operations)."""

    def __init__(self, clock: PhaseClock | None = None) -> None:
        self.clock = clock


def _timed_connect(conninfo: str, clock: PhaseClock) -> Generator[Any, Any, pq.PGconn]:
    """``psycopg.generators._connect`` with each step charged to ``phase_of`` its state."""
    with clock.phase(TCP_CONNECT):
        conn = pq.PGconn.connect_start(conninfo.encode())
        status = _POLL.FAILED if conn.status == _STATUS.BAD else conn.connect_poll()
    while status in (_POLL.READING, _POLL.WRITING):
        wait = psycopg.waiting.WAIT_R if status == _POLL.READING else psycopg.waiting.WAIT_W
        with clock.phase(phase_of(conn.status)):
            while not (yield conn.socket, wait):
                pass
            status = _POLL.FAILED if conn.status == _STATUS.BAD else conn.connect_poll()
    if status != _POLL.OK:
        # as psycopg words it, so that drivers/libpq.py reads it alike
        message = conn.get_error_message(conninfo_encoding(conninfo))
        raise psycopg.OperationalError(
            f"connection failed: {message}", pgconn=psycopg.errors.finish_pgconn(conn)
        )
    conn.nonblocking = 1
    return conn


class TimedConnection(psycopg.Connection):
    """psycopg's connection, its connect timed step by step and its ``BEGIN`` as a phase."""

    #: while ``Connection.connect`` runs: the clock its steps go to
    _connecting = _Timing()
    #: the clock this connection's ``BEGIN`` goes to (``watch`` sets a pool's own)
    _timing = _Timing()

    @classmethod
    def _connect_gen(cls, conninfo: str = "") -> Generator[Any, Any, TimedConnection]:
        clock = cls._connecting.clock
        if clock is None:
            pgconn = yield from psycopg.generators.connect(conninfo)
        else:
            pgconn = yield from _timed_connect(conninfo, clock)
        return cls(pgconn)

    def _start_query(self) -> Generator[Any, Any, None]:
        clock = self._timing.clock
        idle = self.pgconn.transaction_status == pq.TransactionStatus.IDLE
        if clock is None or self._autocommit or not idle:
            yield from super()._start_query()
            return
        with clock.phase(BEGIN):
            yield from super()._start_query()


def timed_connect(kwargs: dict[str, Any], clock: PhaseClock) -> TimedConnection:
    """``psycopg.connect(**kwargs)`` with its name resolution and libpq's steps timed."""
    autocommit = kwargs.get("autocommit", False)
    with clock.phase(DRIVER_SETUP):
        params = TimedConnection._get_connection_params(
            "", **{k: v for k, v in kwargs.items() if k != "autocommit"}
        )
        if str(params.get("host", "")).startswith("/"):
            attempts = [params]
        else:
            with clock.phase(NAME_RESOLUTION):
                attempts = conninfo_attempts(params)
        TimedConnection._connecting.clock = clock
        try:
            for number, attempt in enumerate(attempts, 1):
                try:
                    connection = TimedConnection.connect(autocommit=autocommit, **attempt)
                    break
                except psycopg.OperationalError:
                    if number == len(attempts):
                        raise
        finally:
            TimedConnection._connecting.clock = None
        connection._timing = _Timing(clock)
    return connection


class _TimedDriver(PsycopgDriver):
    """dbbench's psycopg driver (its arguments, init_command, read-only sessions) connecting
    through ``timed_connect``."""

    def __init__(self, clock: PhaseClock) -> None:
        super().__init__()
        self._clock = clock

    def raw_connect(self, kwargs: dict[str, Any]) -> Any:
        return functools.partial(timed_connect, kwargs, self._clock)


def connect_operation(database: DatabaseSettings, workload: Workload, clock: PhaseClock) -> None:
    """One ``raw`` operation (connect, query, fetch, close), each phase timed on ``clock``;
    the connect's own steps are charged to their phases from inside ``SESSION_SETUP``."""
    timed_operation(_TimedDriver(clock).connector(database), SESSION_SETUP, workload, clock)


def watch(connection: Any, timing: Any) -> None:
    """Charge ``connection``'s ``BEGIN`` to ``timing.clock`` whenever it has one: the
    connection becomes a ``TimedConnection``, which only adds timing."""
    if isinstance(connection, psycopg.Connection) and not isinstance(connection, TimedConnection):
        connection.__class__ = TimedConnection
    connection._timing = timing
