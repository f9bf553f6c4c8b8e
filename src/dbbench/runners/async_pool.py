"""``async-pool``: SQLAlchemy's asyncio engine, its pool of aiomysql (or asyncpg) connections.

On PostgreSQL the pool's connections are asyncpg's (``drivers/asyncpg_driver.py``,
``postgresql+asyncpg``); everything below about aiomysql is MySQL's.

The asyncio counterpart of ``pool``, to be reported beside it.  The engine is
a real ``create_async_engine("mysql+aiomysql://")`` with an
``AsyncAdaptedQueuePool`` taking the same pool settings, and one operation is
the very same work: ``checkout_run_checkin`` -- ``raw_connection()``, the
workload's cursor/execute/fetch-all, ``close()`` (checkin with its reset) --
with no SQLAlchemy Core statement machinery on either side.

What differs, and cannot be avoided, is what asyncio costs:

* the workers are asyncio tasks on one event loop (per process), not
  threads: waiting on the server lets another task run, where the threads
  rely on the GIL being released;
* SQLAlchemy's pool is synchronous code; its asyncio engine runs it inside a
  greenlet (``greenlet_spawn``), and the DBAPI adapter turns each driver call
  (execute, the reset's rollback, a ping) into an ``await`` from there.  Each
  operation here is one ``greenlet_spawn`` of the operation, as an
  application's ``AsyncSession.execute`` is;
* aiomysql speaks the protocol with PyMySQL's own packet code, but over an
  asyncio stream, not a blocking socket;
* a checkout that finds the pool exhausted waits on an asyncio queue, and
  gives up after ``pool_timeout`` with the same ``TimeoutError``.

TLS follows PyMySQL's rules for the same ``ssl_*`` settings (see
``ssl_context``), with one difference: the SSL context is built once, in
``open()``, where PyMySQL builds one for every connect.

Two things aiomysql lacks are added by a subclass of its ``Connection``
(``bounded_connection_class``), as the threaded drivers have them: every read
waits at most ``read_timeout`` (aiomysql has no read or write timeout, so a
server that stops answering would hang the tasks for ever), and a connection
that ``ssl_mode`` says must be encrypted is refused before the credentials are
sent when the server does not offer TLS (aiomysql would go on in plain text).
"""

from __future__ import annotations

import asyncio
import importlib.util
import ssl
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dbbench.config.settings import DatabaseSettings, PoolSettings
from dbbench.drivers import TlsNotUsed, asyncpg_driver
from dbbench.drivers.base import common_kwargs, password_bytes
from dbbench.errors import ConfigError, mention
from dbbench.runners.base import AsyncRunner
from dbbench.runners.pool import PoolRunner, checkout_run_checkin
from dbbench.workload import Workload

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

#: what the runner imports on MySQL, and the extra that installs them
REQUIRED_MODULES = ("aiomysql", "greenlet")
EXTRA = "async"


@dataclass(frozen=True)
class AsyncDriver:
    """The asyncio driver the runner's pool connects with on one dialect."""

    #: SQLAlchemy's URL of the asyncio dialect
    url: str
    #: database -> a coroutine function that opens one connection
    connector: Callable[[DatabaseSettings], Callable[[], Awaitable[Any]]]
    #: what it imports, and the extra that installs them
    modules: tuple[str, ...]
    extra: str
    #: for the runner's operation line
    name: str
    #: database -> the arguments of SQLAlchemy's adapted ``connect`` (asyncpg's
    #: prepared-statement cache, where the endpoint pools per transaction)
    adapter_kwargs: Callable[[DatabaseSettings], dict[str, Any]] = lambda database: {}
    #: database -> the engine's arguments for these settings (asyncpg's AUTOCOMMIT
    #: isolation level where ``[database] autocommit`` is set)
    engine_kwargs: Callable[[DatabaseSettings], dict[str, Any]] = lambda database: {}
    #: what transaction pooling changes in its connect, in words
    transaction_pooling_words: str = ""
    #: what its defaults keep per session that a pool per transaction loses; None: nothing
    session_state: str | None = None
    #: the placeholders SQLAlchemy's adapted cursor passes to it (``scripts.bind``'s
    #: names): asyncpg's own ``$1``
    paramstyle: str = "format"


#: each dialect's asyncio driver: aiomysql on MySQL, asyncpg on PostgreSQL
ASYNC_DRIVERS = {
    "mysql": AsyncDriver(
        "mysql+aiomysql://",
        lambda db: aiomysql_connector(db),
        REQUIRED_MODULES,
        EXTRA,
        "aiomysql",
        transaction_pooling_words="aiomysql needs nothing (it prepares no statement on the server)",
    ),
    "postgresql": AsyncDriver(
        "postgresql+asyncpg://",
        asyncpg_driver.asyncpg_connector,
        ("asyncpg", "greenlet"),
        "postgresql",
        "asyncpg",
        asyncpg_driver.adapter_kwargs,
        asyncpg_driver.engine_kwargs,
        asyncpg_driver.TRANSACTION_POOLING_WORDS,
        asyncpg_driver.SESSION_STATE,
        "numeric",
    ),
}


def require_packages(
    where: str = mention("runner_names"), dialect: str = "mysql", runner: str = "async-pool"
) -> None:
    """Raise a one-line ConfigError when the optional packages ``runner`` needs are not
    installed."""
    driver = ASYNC_DRIVERS[dialect]
    missing = [name for name in driver.modules if importlib.util.find_spec(name) is None]
    if missing:
        raise ConfigError(
            f"{where}: the {runner} runner needs {' and '.join(missing)}, not installed: "
            f"pip install 'dbbench[{driver.extra}]'"
        )


def ssl_context(options: Mapping[str, Any]) -> ssl.SSLContext | None:
    """The ``ssl_*`` settings as the SSL context aiomysql takes (None: no TLS).

    PyMySQL's rules (``Connection.__init__`` and ``_create_ssl_ctx``):
    ``ssl_disabled`` means no TLS; a CA, certificate, key or a verify option
    means TLS required, verified as asked; nothing at all means "preferred":
    TLS when the server offers it, unverified.  aiomysql uses a context only
    when the server offers TLS; ``bounded_connection_class`` refuses a server
    that does not when TLS is demanded, as PyMySQL does.
    """
    if options.get("ssl_disabled"):
        return None
    ca = options.get("ssl_ca")
    context = ssl.create_default_context(cafile=ca)
    # as PyMySQL: servers' auto-generated certificates fail the strict checks
    context.verify_flags &= ~getattr(ssl, "VERIFY_X509_STRICT", 0)
    verify_identity = bool(options.get("ssl_verify_identity"))
    context.check_hostname = verify_identity and ca is not None
    verify = verify_identity or bool(options.get("ssl_verify_cert"))
    context.verify_mode = ssl.CERT_REQUIRED if verify else ssl.CERT_NONE
    if "ssl_cert" in options:
        context.load_cert_chain(
            options["ssl_cert"], options.get("ssl_key"), password=options.get("ssl_key_password")
        )
    return context


def aiomysql_kwargs(database: DatabaseSettings) -> dict[str, Any]:
    """Keyword arguments for ``aiomysql.connect``: those of the threaded runners, renamed.

    The read and write timeouts are not aiomysql's: ``bounded_connection_class`` takes them.
    """
    kwargs = common_kwargs(database)
    del kwargs["read_timeout"], kwargs["write_timeout"]
    # aiomysql takes text only, and encodes it as latin-1 whatever the charset: the UTF-8
    # bytes every driver sends (``password_bytes``), one latin-1 character per byte, are
    # what it then sends
    kwargs["password"] = password_bytes(database.password).decode("latin-1")
    if "database" in kwargs:
        kwargs["db"] = kwargs.pop("database")
    # ssl_mode, or the older keys, as the older keys say it
    kwargs["ssl"] = ssl_context(database.tls.as_ssl_keys())
    if database.autocommit:  # [database] autocommit, as PyMySQL's connect takes it
        kwargs["autocommit"] = True
    return kwargs


def bounded_connection_class(database: DatabaseSettings) -> type[Any]:
    """aiomysql's ``Connection``, with a read timeout and ``ssl_mode``'s demand for TLS kept.

    * Each read waits at most ``read_timeout``; then the connection is closed and
      the read fails as PyMySQL's does, ``OperationalError(2013, ... (timed out))``.
      A write only fills the transport's buffer (aiomysql never waits for it to
      drain), so a server that stops reading is caught by the read that follows.
    * Under ``required`` and the verify modes, a server that does not offer TLS is
      refused (``TlsNotUsed``) before the credentials are sent; aiomysql itself
      would use the SSL context only when the server offers TLS.
    """
    import aiomysql
    from pymysql.constants import CLIENT, CR

    read_timeout_s = database.read_timeout_s
    demands_tls, where = database.tls.encrypts, database.describe()

    class BoundedConnection(aiomysql.Connection):  # type: ignore[misc]
        async def _read_bytes(self, num_bytes: int) -> bytes:
            # most reads find their bytes buffered already (a reply arrives
            # whole): only one that must wait for the server pays for a timer
            if len(self._reader._buffer) >= num_bytes:
                return await super()._read_bytes(num_bytes)
            try:
                async with asyncio.timeout(read_timeout_s):
                    return await super()._read_bytes(num_bytes)
            except TimeoutError:
                self.close()
                raise aiomysql.OperationalError(
                    CR.CR_SERVER_LOST, "Lost connection to MySQL server during query (timed out)"
                ) from None

        async def _request_authentication(self) -> None:
            if demands_tls and not self.server_capabilities & CLIENT.SSL:
                raise TlsNotUsed(where)
            await super()._request_authentication()

    return BoundedConnection


def aiomysql_connector(database: DatabaseSettings) -> Callable[[], Awaitable[Any]]:
    """A coroutine function that opens one bounded aiomysql connection with these settings."""
    kwargs = aiomysql_kwargs(database)
    connection_class = bounded_connection_class(database)

    async def connect() -> Any:
        # what aiomysql.connect does, with the class ours
        connection = connection_class(**kwargs)
        await connection._connect()
        return connection

    return connect


class AsyncPoolRunner(AsyncRunner, PoolRunner):
    """``pool``'s settings, counters and operation; asyncio's engine, pool and tasks."""

    name = "async-pool"
    operation = "checkout, query, fetch, checkin (asyncio tasks; aiomysql, asyncpg on PostgreSQL)"
    per_driver = False  # aiomysql or asyncpg, not a DB-API driver
    swept = False
    explained_as = None

    @classmethod
    def check_available(cls, where: str) -> None:
        require_packages(where, runner=cls.name)

    def __init__(
        self,
        database: DatabaseSettings,
        workload: Workload,
        pool: PoolSettings,
        *,
        label: str | None = None,
    ) -> None:
        require_packages(dialect=database.dialect, runner=self.name)
        super().__init__(database, workload, pool, label=label)
        self._database = database
        self._async_driver = ASYNC_DRIVERS[database.dialect]
        # a statement with parameters (point-get's) in the asyncio driver's placeholders
        # (Runner.__init__ bound it for the DB-API driver of the settings)
        bound = getattr(self.workload, "for_paramstyle", None)
        if bound is not None:
            self.workload = bound(self._async_driver.paramstyle)
        self._async_engine: AsyncEngine | None = None

    def engine_arguments(self) -> dict[str, Any]:
        from sqlalchemy.pool import AsyncAdaptedQueuePool

        return {
            **super().engine_arguments(),
            "poolclass": AsyncAdaptedQueuePool,
            **self._async_driver.engine_kwargs(self._database),
        }

    async def open_async(self) -> None:
        from sqlalchemy.ext.asyncio import create_async_engine

        from dbbench.runners.poolstats import PoolInstrument

        # async_creator keeps the connection arguments ours, as creator= does
        # for the threaded pool; the URL only selects the dialect
        async_creator = self._async_driver.connector(self._database)
        adapted = self._async_driver.adapter_kwargs(self._database)
        if adapted:
            # arguments of the dialect's adapted connect (asyncpg's prepared-statement
            # cache) reach it only through creator=, in the form async_creator= takes
            def creator() -> Any:
                dbapi = engine.sync_engine.dialect.dbapi
                return dbapi.connect(async_creator_fn=async_creator, **adapted)

            arguments: dict[str, Any] = {"creator": creator}
        else:
            arguments = {"async_creator": async_creator}
        engine = create_async_engine(
            self._async_driver.url, **arguments, **self.engine_arguments()
        )
        self._async_engine = engine
        # the pool and its events are the synchronous engine's, as for ``pool``
        self._engine = self._async_engine.sync_engine
        self._instrument = PoolInstrument(self._engine)

    async def run_once_async(self, worker: int = 0) -> int:
        from sqlalchemy.util import greenlet_spawn

        return await greenlet_spawn(checkout_run_checkin, self._engine, self.workload)

    async def close_async(self) -> None:
        if self._async_engine is not None:
            engine, self._async_engine, self._engine = self._async_engine, None, None
            await engine.dispose()
