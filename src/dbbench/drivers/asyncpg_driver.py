"""asyncpg: the async-pool runner's connections on PostgreSQL (``postgresql+asyncpg``).

asyncpg is no DB-API driver (it is not one of ``--driver``'s): SQLAlchemy's
asyncpg dialect adapts its connection for the pool, and the async-pool runner
gives it ``asyncpg_connector(database)`` as ``async_creator=``, as it gives
aiomysql's on MySQL.  The settings mapped onto ``asyncpg.connect``'s own
arguments (checked against asyncpg 0.32):

* ``connect_timeout`` -> ``timeout`` (the whole connect, TLS and authentication
  included);
* ``read_timeout`` -> ``command_timeout``: every statement waits at most that
  long for its answer, then fails with ``TimeoutError`` (asyncpg cancels it on
  the server), so a server that stops answering does not hang the tasks;
* ``ssl_mode``: ``disabled`` -> ``ssl=False``; ``preferred`` -> ``"prefer"``
  (asyncpg's default: TLS when the server offers it, unverified); ``required``
  -> a context that encrypts and checks nothing; ``verify_ca`` -> a context that
  checks the chain against ``ssl_ca``; ``verify_identity`` -> that and the host
  name, as libpq's ``verify-full``; ``ssl_cert``/``ssl_key`` -> the context's
  client certificate.  A context made once per runner, not per connect;
* a Unix socket: ``unix_socket`` is a directory (as libpq's ``host=/dir``) or the
  socket file itself (``/dir/.s.PGSQL.5432``): asyncpg takes the directory as
  ``host`` and the port names the file.
* the password as text: asyncpg sends it as UTF-8 (SCRAM and md5 alike);
* ``DatabaseSettings.read_only`` (a run given no --allow-writes) ->
  ``server_settings={"default_transaction_read_only": "on"}``, in the startup packet.

The driver's defaults are kept otherwise: its statement cache
(``statement_cache_size=100``) and SQLAlchemy's prepared-statement cache
included, as an application has them -- except where the endpoint pools per
transaction (``[database] transaction_pooling``, and no ``--driver-defaults``):

* ``statement_cache_size=0`` (``asyncpg.connect``): asyncpg names the
  statements it caches (``__asyncpg_stmt_1__``) and keeps them prepared on the
  server connection; without its cache it prepares each statement unnamed, in
  the transaction that runs it;
* ``prepared_statement_cache_size=0``: SQLAlchemy's asyncpg dialect keeps its
  own cache of prepared statements per connection, an argument of its
  adapted ``connect`` (the URL's query or ``connect_args`` where SQLAlchemy
  connects; the async-pool runner's ``creator`` here, which gives it
  ``async_creator_fn``).  Its statement names stay asyncpg's (no
  ``prepared_statement_name_func``): unnamed, without the cache.

Through a pool per transaction a named statement is missing on the next
server connection ("prepared statement "__asyncpg_stmt_1__" does not exist"),
or there already from another client ("... already exists").

Autocommit (``[database] autocommit``): asyncpg itself has no implicit
transactions (a statement outside ``connection.transaction()`` is its own),
so it has no ``autocommit`` argument.  SQLAlchemy's adapter, which the pool
hands out, emulates DB-API's: it begins a transaction (``BEGIN``) before the
first statement after each commit or rollback, unless its isolation level is
``AUTOCOMMIT`` -- which the engine is given (``engine_kwargs``), SQLAlchemy
setting it on each new connection without a round trip.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

from dbbench.config.settings import DatabaseSettings
from dbbench.config.tls import TlsSettings

#: ``asyncpg.connect``'s arguments where the endpoint pools per transaction
TRANSACTION_POOLING_KWARGS: dict[str, Any] = {"statement_cache_size": 0}
#: SQLAlchemy's adapted connect's arguments there (its prepared-statement cache)
TRANSACTION_POOLING_ADAPTER_KWARGS: dict[str, Any] = {"prepared_statement_cache_size": 0}
#: what transaction pooling changes, in words
TRANSACTION_POOLING_WORDS = (
    "asyncpg statement_cache_size=0 and SQLAlchemy's prepared_statement_cache_size=0"
)
#: what the defaults keep per session that a pool per transaction loses
SESSION_STATE = (
    "asyncpg and SQLAlchemy prepare every statement on the server under a name and keep "
    "it (statement_cache_size=100, prepared_statement_cache_size=100)"
)


def adapter_kwargs(database: DatabaseSettings) -> dict[str, Any]:
    """The arguments of SQLAlchemy's adapted asyncpg ``connect`` for these settings."""
    return dict(TRANSACTION_POOLING_ADAPTER_KWARGS) if database.pools_per_transaction else {}


def engine_kwargs(database: DatabaseSettings) -> dict[str, Any]:
    """The async engine's arguments for these settings: SQLAlchemy's ``AUTOCOMMIT``
    isolation level where ``[database] autocommit`` is set (the module's docstring)."""
    return {"isolation_level": "AUTOCOMMIT"} if database.autocommit else {}


def asyncpg_ssl(tls: TlsSettings) -> ssl.SSLContext | str | bool:
    """``ssl_mode`` and the ``ssl_*`` files as ``asyncpg.connect``'s ``ssl``."""
    if tls.mode == "disabled":
        return False
    if tls.mode == "preferred" and not (tls.cert or tls.key):
        return "prefer"
    context = ssl.create_default_context(cafile=tls.ca) if tls.ca else ssl.create_default_context()
    if tls.mode in ("preferred", "required"):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        context.check_hostname = tls.mode == "verify_identity"
        context.verify_mode = ssl.CERT_REQUIRED
    if tls.cert:
        context.load_cert_chain(tls.cert, tls.key, password=tls.key_password)
    return context


def _socket_host(path: str, port: int) -> tuple[str, int]:
    """A socket directory (libpq's ``host=/dir``) or a socket file, as asyncpg's host and port."""
    name = os.path.basename(path)
    if name.startswith(".s.PGSQL."):
        suffix = name.removeprefix(".s.PGSQL.")
        if suffix.isdecimal():
            return os.path.dirname(path) or "/", int(suffix)
    return path, port


def asyncpg_kwargs(database: DatabaseSettings) -> dict[str, Any]:
    """Keyword arguments for ``asyncpg.connect`` for these settings (TLS included)."""
    host, port = database.host, database.port
    if database.unix_socket is not None:
        host, port = _socket_host(database.unix_socket, port)
    kwargs: dict[str, Any] = {
        "host": host,
        "port": port,
        "user": database.user,
        "password": database.password or None,
        "timeout": database.connect_timeout_s,
        "command_timeout": database.read_timeout_s,
        "ssl": asyncpg_ssl(database.tls),
    }
    if database.database is not None:
        kwargs["database"] = database.database
    if database.read_only:  # in the startup packet, as libpq's options -c
        kwargs["server_settings"] = {"default_transaction_read_only": "on"}
    if database.pools_per_transaction:
        kwargs.update(TRANSACTION_POOLING_KWARGS)
    return kwargs


def asyncpg_connector(database: DatabaseSettings) -> Callable[[], Awaitable[Any]]:
    """A coroutine function that opens one asyncpg connection with these settings."""
    import asyncpg

    kwargs = asyncpg_kwargs(database)

    async def connect() -> Any:
        return await asyncpg.connect(**kwargs)

    return connect
