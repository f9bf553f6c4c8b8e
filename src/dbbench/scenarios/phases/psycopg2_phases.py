"""psycopg2's connect-per-query operation: its connect is one call into libpq.

psycopg2 connects with libpq's blocking ``PQconnectdb`` (in C, from
``psycopg2.connect``): name resolution, the TCP connect, the ``SSLRequest`` and
TLS handshake, the startup message, authentication and the backend's start all
happen inside that one call, and nothing of it can be timed from Python.  So the
connect is one phase, as for MySQL's C drivers (``opaque_phases``, whose operation
this is), with PostgreSQL's words; its round trips are still counted on the wire,
and ``psycopg_phases`` (psycopg 3, over the same libpq) shows what such a connect
is made of.  Its ``BEGIN`` (autocommit off) is sent from C inside ``execute``: it
stays in the query's phase, whose round trips count it.
"""

from __future__ import annotations

from dbbench.scenarios.phases.opaque_phases import (
    CLOSE,
    CONNECT,
    PHASES,
    QUERY,
    TCP_PHASE,
    connect_operation,
)

__all__ = ["DESCRIPTIONS", "GREETING_PHASE", "PHASES", "TCP_PHASE", "connect_operation"]

#: PostgreSQL sends nothing unasked: the client speaks first
GREETING_PHASE = None

DESCRIPTIONS = {
    CONNECT: "PQconnectdb, one call inside libpq: TCP, TLS, startup, authentication, "
    "backend start (not split)",
    QUERY: "BEGIN (autocommit off), then the query, fetch all rows",
    CLOSE: "Terminate and close the socket (no reply awaited)",
}
