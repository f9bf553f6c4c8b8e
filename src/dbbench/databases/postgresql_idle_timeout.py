"""PostgreSQL's idle timeout for ``dbbench stale``: the session's ``idle_session_timeout``
(PostgreSQL 14+, in milliseconds).

A session idle for longer than it, outside a transaction, is ended by the server: the
backend sends ``FATAL 57P05`` "terminating connection due to idle-session timeout" and
closes the socket.  ``SET idle_session_timeout = <ms>`` runs after the user's
``init_command`` (libpq has no ``init_command``: the driver runs it and commits after
each connect, ``drivers.libpq``), so it wins over a value of the user's; ``SET`` is
allowed in the read-only session a run without --allow-writes has.  The user's
``init_command`` may be any SQL: both drivers send a text without parameters in one
simple query, statements and all, and ours follows on a line of its own, so a ``--``
comment ending the user's text does not swallow it.

What a pool meets on the next use of a session the server ended (checked with
psycopg 3.3 over libpq 18, psycopg2 2.9 over libpq 17, PostgreSQL 15:
``tests/integration/test_stale_postgresql.py``):

* psycopg: ``IdleSessionTimeout`` (an ``OperationalError``, SQLSTATE 57P05; libpq
  reads the FATAL the server left on the socket): "connection gone"; the connection is
  then closed, and the reset-on-return rollback at checkin fails ("the connection is
  lost"), so SQLAlchemy invalidates it, as on MySQL;
* psycopg2: ``OperationalError`` "server closed the connection unexpectedly" with no
  SQLSTATE (its libpq reports the closed socket, not the FATAL before it): "lost
  connection" (08006); the rollback at checkin fails with ``InterfaceError``
  "connection already closed", and the connection is invalidated.

``pool_pre_ping`` is the SQLAlchemy dialect's ping in autocommit (SQLAlchemy 2.1:
psycopg sends an empty statement, ``;``, psycopg2 ``SELECT 1``, as ``pg_stat_activity``
shows), whose failure the dialect's ``is_disconnect`` reads as a disconnect (psycopg:
the connection is closed or broken; psycopg2: "closed the connection" in the message),
so the pool reconnects before the request sees anything.

``idle_in_transaction_session_timeout`` does not apply to the scenario's pools as
dbbench runs them: a connection checked in is rolled back (``pool_reset_on_return``
"rollback"), so it waits ``idle``, not ``idle in transaction``.  With
``pool_reset_on_return = "none"`` the transaction the query opened stays open in the
pool, ``idle_session_timeout`` never fires, and nothing goes stale; ``dbbench stale``
therefore sets ``idle_in_transaction_session_timeout`` to the same value, so that such a
session is ended too (psycopg: ``InternalError`` 25P03; psycopg2: 08006 as above), as
MySQL's ``wait_timeout`` ends a connection idle in a transaction; as there, nothing at
checkin finds it dead, and every later use fails (08003).
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, ClassVar

from dbbench.databases.idle_timeout import CheckServer, IdleTimeout
from dbbench.errors import ServerError

if TYPE_CHECKING:
    from dbbench.config.settings import DatabaseSettings
    from dbbench.workload import Workload

#: the first version with ``idle_session_timeout``
FIRST_VERSION = 14
#: the major version in ``databases.postgresql``'s reading: "PostgreSQL 15.20 (Debian ...)"
_MAJOR = re.compile(r"PostgreSQL (\d+)")


def session_init_command(init_command: str | None, timeout_s: int) -> str:
    """The ``init_command`` that sets the session's idle timeouts after the user's own."""
    timeout_ms = timeout_s * 1000
    ours = (
        f"SET idle_session_timeout = {timeout_ms}; "
        f"SET idle_in_transaction_session_timeout = {timeout_ms}"
    )
    if init_command is None or not init_command.strip():
        return ours
    return f"{init_command.strip()}\n;{ours}"


def major_version(version: str) -> int | None:
    """15 for "PostgreSQL 15.20 (Debian 15.20-0+deb12u1)"; None when it does not say."""
    found = _MAJOR.match(version)
    return int(found.group(1)) if found else None


class IdleSessionTimeout(IdleTimeout):
    """``SET idle_session_timeout = <ms>`` (and its idle-in-transaction twin) after the
    user's ``init_command``."""

    setting: ClassVar[str] = "idle_session_timeout"

    def session(self, database: DatabaseSettings, timeout_s: int) -> DatabaseSettings:
        init_command = session_init_command(database.init_command, timeout_s)
        return dataclasses.replace(database, init_command=init_command)

    def check_version(
        self, check: CheckServer, database: DatabaseSettings, workload: Workload | None
    ) -> None:
        """The server's version read on a connection as the user gave it, the query not
        run (it may need the session's settings): 14 or later, or one line saying so
        (such a server would refuse the session's ``SET`` with "unrecognized
        configuration parameter")."""
        server = check(database, None)
        major = major_version(server.version)
        if major is not None and major < FIRST_VERSION:
            raise ServerError(
                f"{database.describe()} runs {server.version}: dbbench stale sets the "
                f"session's idle_session_timeout, which PostgreSQL has from version "
                f"{FIRST_VERSION} on; measure a PostgreSQL {FIRST_VERSION} or later"
            )
