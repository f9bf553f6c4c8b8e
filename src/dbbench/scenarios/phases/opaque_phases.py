"""The connect-per-query operation of a driver whose connect cannot be split from outside.

mysqlclient's connect runs inside MariaDB Connector/C (one C call does name
resolution, TCP, greeting, TLS, authentication and session set-up), and
mysql-connector's is one call too; timing their steps would mean patching
their internals.  So for them the connect is one phase, timed around the
driver's own ``connect``, beside the query and the close; the round trips
inside it are still counted on the wire, and the ``pymysql`` breakdown shows
what such a connect is made of.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dbbench.config.settings import DatabaseSettings
from dbbench.drivers import get_driver
from dbbench.scenarios.phases.clock import PhaseClock
from dbbench.workload import Workload

CONNECT = "connect"
QUERY = "query"
CLOSE = "close"

PHASES = (CONNECT, QUERY, CLOSE)
#: TCP's handshake and the server's greeting both happen inside the one connect call
TCP_PHASE = CONNECT
GREETING_PHASE = CONNECT

DESCRIPTIONS = {
    CONNECT: "the driver's connect: TCP, greeting, TLS, authentication, session set-up "
    "(one call, not split)",
    QUERY: "execute the query, fetch all rows",
    CLOSE: "COM_QUIT and close the socket",
}


def connect_operation(database: DatabaseSettings, workload: Workload, clock: PhaseClock) -> None:
    """One ``raw`` operation with ``database.driver``, in three timed phases."""
    timed_operation(get_driver(database.driver).connector(database), CONNECT, workload, clock)


def timed_operation(
    connect: Callable[[], Any], connect_phase: str, workload: Workload, clock: PhaseClock
) -> None:
    """``connect()`` in phase ``connect_phase`` (phases inside it are charged their own
    time), then the query and the close in theirs."""
    with clock.phase(connect_phase):
        connection = connect()
    try:
        with clock.phase(QUERY):
            workload.run_on(connection)
    except BaseException:
        connection.close()
        raise
    with clock.phase(CLOSE):
        connection.close()
        # its last reference: freeing it (a TLS context, buffers) is part of closing, as
        # the plain operation pays it when its connection goes
        del connection
