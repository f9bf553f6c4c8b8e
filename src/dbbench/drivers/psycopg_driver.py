"""psycopg (3): the PostgreSQL driver of today, over libpq (``postgresql+psycopg`` in
SQLAlchemy); dbbench's default for PostgreSQL.  Install: ``pip install 'dbbench[postgresql]'``
(``psycopg[binary]``, which brings its own libpq).

The settings become libpq's parameters as ``libpq.py`` says, given to
``psycopg.connect`` as keyword arguments.  What psycopg does beyond libpq:

* it resolves the host name itself (``getaddrinfo`` in Python) before libpq
  connects, and enforces ``connect_timeout`` in Python too, each address in turn;
  an unknown host reads "failed to resolve host";
* ``autocommit=True`` is an argument of ``connect`` (dbbench's own connections ask
  for it);
* a server error arrives as a subclass per SQLSTATE (``psycopg.errors.InvalidPassword``),
  the SQLSTATE in ``exc.sqlstate``; a connection the server ended reads
  ``AdminShutdown`` (57P01) on the next statement, then "the connection is lost".

TLS in use: ``connection.info.pgconn.ssl_in_use``.

Transaction pooling (``[database] transaction_pooling``): ``prepare_threshold=None``.
By default psycopg prepares a statement on the server, under a name of its
own, once the connection has run it 5 times (``prepare_threshold=5``), and
from then on only names it; through a pool per transaction the next
transaction may run on another server connection, where the name means
nothing (``InvalidSqlStatementName``, 26000: "prepared statement ... does not
exist").  ``None`` never prepares.

Prepared statements (``[benchmark] prepared``): ``execute(..., prepare=True)`` on the
variant prepared, ``prepare=False`` on plain (``drivers.prepared.PreparingCursor``).

A script's integers: psycopg binds a Python int as the smallest type that holds it
(``int2`` for 200), so pgbench's ``\\set a 200``, ``\\set b 200``, ``SELECT :a * :b``
failed with "smallint out of range" where pgbench (and psycopg2) give 40000.  A
connection that runs scripts binds every int as ``int8``, pgbench's 64-bit integers
(``script_session``: int's dumpers on the connection's adapters, once per connection,
nothing per execution).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dbbench.drivers.libpq import LibpqDriver
from dbbench.drivers.prepared import CursorFactory, PreparingCursor


class PsycopgDriver(LibpqDriver):
    name = "psycopg"
    distribution = "psycopg"
    module_name = "psycopg"
    dialect_url = "postgresql+psycopg://"
    transaction_pooling_kwargs = {"prepare_threshold": None}
    session_state = (
        "psycopg prepares a statement on the server once a connection ran it 5 times "
        "(prepare_threshold=5)"
    )

    prepares = True

    def script_session(self) -> Callable[[Any], None] | None:
        return _int8_integers

    def cursor_factory(self, prepared: bool | None) -> CursorFactory | None:
        return None if prepared is None else PreparingCursor.factory(prepared)

    def is_encrypted(self, connection: Any) -> bool:
        return bool(connection.info.pgconn.ssl_in_use)

    def sqlstate(self, exc: BaseException) -> str | None:
        return getattr(exc, "sqlstate", None)

    def describe(self) -> str:
        implementation = getattr(getattr(self.module, "pq", None), "__impl__", "?")
        libpq = self.module.pq.version()
        return f"{super().describe()} ({implementation}, libpq {libpq // 10000}.{libpq % 10000})"


def _int8_integers(connection: Any) -> None:
    """Bind every Python int on ``connection`` as int8, text and binary alike (the binary
    dumper last: psycopg's own order, which ``%s`` follows)."""
    from psycopg.types.numeric import Int8BinaryDumper, Int8Dumper

    connection.adapters.register_dumper(int, Int8Dumper)
    connection.adapters.register_dumper(int, Int8BinaryDumper)
