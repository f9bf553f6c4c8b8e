"""psycopg2: the older PostgreSQL driver, a C extension over libpq (``postgresql+psycopg2``
in SQLAlchemy, and its default for ``postgresql://``).
Install: ``pip install 'dbbench[postgresql]'`` (``psycopg2-binary``, with its own libpq).

The settings become libpq's parameters as ``libpq.py`` says; ``psycopg2.connect``
passes its keyword arguments to libpq as they are, so it takes no ``autocommit``
argument: dbbench's connector sets ``connection.autocommit`` after the connect
when asked for it.  A server error carries its SQLSTATE in ``exc.pgcode``; a
connection the server ended reads "server closed the connection unexpectedly"
(no SQLSTATE) on the next statement, then ``InterfaceError`` ("connection already
closed").

TLS in use: ``connection.info.ssl_in_use``.

Transaction pooling (``[database] transaction_pooling``): nothing to change.
psycopg2 sends every statement as text with its parameters in it (the simple
query protocol) and prepares nothing on the server, so a pool per transaction
loses nothing of its own; what the application keeps in a session (``SET``,
an advisory lock, a temporary table) it loses all the same.
"""

from __future__ import annotations

from typing import Any

from dbbench.drivers.base import Connector
from dbbench.drivers.libpq import LibpqDriver


class Psycopg2Driver(LibpqDriver):
    name = "psycopg2"
    distribution = "psycopg2-binary"
    module_name = "psycopg2"
    dialect_url = "postgresql+psycopg2://"

    def raw_connect(self, kwargs: dict[str, Any]) -> Connector:
        kwargs = dict(kwargs)
        autocommit = kwargs.pop("autocommit", False)
        connect = self.module.connect
        if not autocommit:
            return lambda: connect(**kwargs)

        def connect_autocommit() -> Any:
            connection = connect(**kwargs)
            connection.autocommit = True
            return connection

        return connect_autocommit

    def is_encrypted(self, connection: Any) -> bool:
        return bool(connection.info.ssl_in_use)

    def sqlstate(self, exc: BaseException) -> str | None:
        return getattr(exc, "pgcode", None)

    @property
    def version(self) -> str | None:
        # psycopg2-binary and psycopg2 are the same module under two distributions
        from importlib import metadata

        for distribution in ("psycopg2-binary", "psycopg2"):
            try:
                return metadata.version(distribution)
            except metadata.PackageNotFoundError:
                continue
        return None

    def describe(self) -> str:
        libpq = self.module.__libpq_version__
        return f"psycopg2 {self.version or '?'} (C, libpq {libpq // 10000}.{libpq % 10000})"
