"""The driver interface: one DB-API package (PyMySQL, mysqlclient, ...) behind the same steps.

A runner never imports a driver package itself; it asks its ``Driver`` for a
``connector(database)``: a function of no arguments that opens one DB-API
connection with the driver's own keyword arguments, worked out once from the
settings (``ssl_mode`` included), so that an operation pays only for the
driver's own ``connect``.  The pool runners give the same function to
SQLAlchemy as ``creator=``, with the URL ``dialect`` that matches the driver.

Errors stay the driver's own exceptions while the run goes on (the harness
counts them); ``failure`` turns any of them into a dialect-neutral name
(``failures.Failure``: refused, access denied, lost connection, ...), so that
``diagnosis`` and the runners classify a refused connection, a wrong password
or a lost connection the same whichever driver, of whichever dialect, raised
it.  ``error_label`` is the code a message shows beside the text (MySQL's
number, PostgreSQL's SQLSTATE), ``error_kind`` the short name the harness
counts errors under (``OperationalError(2013)``, ``OperationalError(28P01)``).
"""

from __future__ import annotations

import abc
import importlib
import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from dbbench.config.schema import mentioned
from dbbench.drivers.failures import Failure, mysql_failure
from dbbench.drivers.prepared import CursorFactory
from dbbench.errors import ConfigError

if TYPE_CHECKING:
    from dbbench.config.settings import DatabaseSettings
    from dbbench.config.tls import TlsSettings

#: a function that opens one connection
Connector = Callable[[], Any]


def password_bytes(password: str) -> bytes:
    """The bytes a client sends for ``password``: its UTF-8 encoding, as the ``mariadb`` and
    ``mysql`` clients send a password typed in a UTF-8 terminal or written in a UTF-8 option
    file, and as the server hashed it when ``CREATE USER ... IDENTIFIED BY`` came from a
    utf8mb4 session.  Bytes that were not UTF-8 where the password came from (an environment
    variable or ``~/.my.cnf`` in latin-1: Python keeps them as ``surrogateescape``
    characters) are sent as they were, as the client sends them.

    Every driver is given these bytes, in the form it takes (``connect_kwargs``): left to
    themselves, PyMySQL and aiomysql encode a ``str`` password as latin-1 (``pässwörd`` is
    then sent as other bytes than the client sends, and ``€`` not at all), mysqlclient
    and mysql-connector as UTF-8."""
    return password.encode("utf-8", "surrogateescape")


#: what to do about a password that is not UTF-8, for a MySQL driver that sends UTF-8 only
MYSQL_UTF8_ADVICE = (
    'use driver "pymysql", which sends its bytes as they are, or set the '
    "password anew from a utf8mb4 session (ALTER USER ... IDENTIFIED BY)"
)


def utf8_password(database: DatabaseSettings, driver: str, advice: str = MYSQL_UTF8_ADVICE) -> str:
    """The password for a driver that takes text and sends it as UTF-8 (mysqlclient,
    mysql-connector, libpq's): refused with one line, ``advice`` its end, when it holds
    bytes that are not UTF-8."""
    try:
        database.password.encode("utf-8")
    except UnicodeEncodeError:
        source = database.password_source or "the password"
        raise ConfigError(
            f"the password ({source}) is not UTF-8 text, and {driver} sends a password only "
            f"as UTF-8: {advice}"
        ) from None
    return database.password


def common_kwargs(database: DatabaseSettings) -> dict[str, Any]:
    """The ``connect`` arguments the drivers name alike (PyMySQL's names), TLS aside; only
    what is set.  Each driver renames or adds to them in its ``connect_kwargs``."""
    kwargs: dict[str, Any] = {
        "host": database.host,
        "port": database.port,
        "user": database.user,
        "password": database.password,
        "connect_timeout": database.connect_timeout_s,
        "read_timeout": database.read_timeout_s,
        "write_timeout": database.write_timeout_s,
    }
    if database.database is not None:
        kwargs["database"] = database.database
    if database.unix_socket is not None:
        kwargs["unix_socket"] = database.unix_socket
    if database.init_command is not None:
        kwargs["init_command"] = database.init_command
    return kwargs


def whole_seconds(timeout_s: float) -> int:
    """A timeout for a driver that takes whole seconds: rounded up, never 0 (no limit)."""
    return max(1, math.ceil(timeout_s))


class TlsNotUsed(Exception):
    """The server did not offer TLS though ``ssl_mode`` demands it (a driver that would fall back).

    Carries MySQL's own number for it, CR_SSL_CONNECTION_ERROR (2026), as
    ``args[0]``, like the drivers' exceptions do.
    """

    def __init__(self, where: str) -> None:
        super().__init__(
            2026, f"the server at {where} did not offer TLS, and ssl_mode demands it"
        )


class Driver(abc.ABC):
    #: the name in settings and on the command line
    name: ClassVar[str]
    #: the distribution on PyPI, for versions and messages
    distribution: ClassVar[str]
    #: the module ``connect`` comes from
    module_name: ClassVar[str]
    #: the extra of dbbench that installs it; None when it is a dependency of dbbench itself
    extra: ClassVar[str | None] = None
    #: SQLAlchemy's URL for the dialect that goes with this driver (the pool runners)
    dialect_url: ClassVar[str]
    #: how a statement's parameters are written in its text, as dbbench passes them (a
    #: sequence; ``scripts.bind``): PEP 249's ``format``, ``%s`` and a literal ``%`` as
    #: ``%%``, for all but mysql-connector (``format_verbatim``: it replaces ``%s`` and
    #: leaves ``%%`` two).  Those whose module says ``pyformat`` (PyMySQL, psycopg,
    #: psycopg2) take ``%s`` as well as ``%(name)s``
    paramstyle: ClassVar[str] = "format"

    def __init__(self) -> None:
        try:
            self.module = importlib.import_module(self.module_name)
        except ImportError as exc:
            install = f"pip install 'dbbench[{self.extra}]'" if self.extra else "reinstall dbbench"
            raise ConfigError(
                f"driver {self.name!r} needs the {self.distribution} package, which is not "
                f"installed ({exc}); {install}"
            ) from None

    # ----------------------------------------------------------------- connecting

    @abc.abstractmethod
    def connect_kwargs(self, database: DatabaseSettings) -> dict[str, Any]:
        """The driver's own ``connect`` arguments for ``database``, TLS included."""

    #: what the server is called in a message that wonders whether one is there
    server_kind: ClassVar[str] = "a MySQL-compatible server"

    def connector(
        self, database: DatabaseSettings, *, read_only: bool = False, **extra: Any
    ) -> Connector:
        """A function that opens one connection with these settings.

        The arguments are worked out here, once; the function does nothing a
        plain ``connect(**kwargs)`` would not, except, where the driver would
        silently fall back to plain text under ``required``, a check of an
        attribute of the new connection.

        ``read_only`` (or ``database.read_only``, which a run given no --allow-writes
        sets on PostgreSQL): every transaction of the session is read-only, set where the
        dialect lets the startup packet say it, at no extra round trip (PostgreSQL's
        ``default_transaction_read_only``); a driver that cannot refuses it
        (``read_only_kwargs``).
        """
        return self.connect_function(
            database, self.connection_kwargs(database, read_only=read_only, **extra)
        )

    def connection_kwargs(
        self, database: DatabaseSettings, *, read_only: bool = False, **extra: Any
    ) -> dict[str, Any]:
        """Every argument ``connect`` is given for ``database``: ``connect_kwargs``, then
        ``extra``, ``autocommit=True`` where ``[database] autocommit`` is set, what transaction
        pooling needs where the endpoint pools per transaction (``transaction_pooling_kwargs``)
        and the read-only session (``connector``).

        ``autocommit`` is an argument of every driver's ``connect`` (PyMySQL, mysqlclient and
        mysql-connector switch the session to it after the handshake where the server's
        mode differs, psycopg at once); psycopg2's connector sets the attribute after the
        connect (``Psycopg2Driver.raw_connect``)."""
        kwargs = {**self.connect_kwargs(database), **extra}
        if database.autocommit:
            kwargs["autocommit"] = True
        if database.pools_per_transaction:
            kwargs.update(self.transaction_pooling_kwargs)
        if read_only or database.read_only:
            kwargs = self.read_only_kwargs(kwargs)
        return kwargs

    #: sends a statement as a server-side prepared statement when asked (``[benchmark]
    #: prepared``, ``cursor_factory``): psycopg and mysql-connector
    #: (``schema.PREPARING_DRIVERS``)
    prepares: ClassVar[bool] = False

    def cursor_factory(self, prepared: bool | None) -> CursorFactory | None:
        """What gives an operation its cursor on a connection (``drivers.prepared``) where
        its statements go as server-side prepared statements (``prepared`` True) or as
        plain text never prepared (False); None: the connection's own ``cursor()``, the
        driver's default, which is plain for a driver that never prepares."""
        if prepared:  # refused before the run (``scenarios.variants.check_prepared``)
            raise ConfigError(f"driver {self.name!r} has no server-side prepared statements")
        return None

    def script_session(self) -> Callable[[Any], None] | None:
        """What a connection that runs scripts is given once, before its first script
        (``ScriptWorkload``): where the driver binds a script's values otherwise than
        pgbench types them (its integers are 64-bit); None: nothing."""
        return None

    #: what ``connect`` is given where the endpoint pools per transaction
    #: (``[database] transaction_pooling``): what keeps the driver from holding state per
    #: session that the next transaction, on another server connection, would miss
    transaction_pooling_kwargs: ClassVar[Mapping[str, Any]] = {}
    #: what the driver's defaults keep per session that a pool per transaction loses, in
    #: words; None: nothing (it prepares no statement on the server)
    session_state: ClassVar[str | None] = None

    def transaction_pooling_words(self) -> str:
        """What transaction pooling changes in this driver's connect, in words."""
        if not self.transaction_pooling_kwargs:
            return f"{self.name} needs nothing (it prepares no statement on the server)"
        given = " ".join(f"{k}={v!r}" for k, v in self.transaction_pooling_kwargs.items())
        return f"{self.name} {given}"

    def read_only_kwargs(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """``kwargs`` with the session made read-only from its start; one line where the
        driver has no way to say that before its first statement."""
        raise ConfigError(
            f"driver {self.name!r} cannot make a session read-only in its connect: use "
            "[database] init_command (docs/reference/safety.md), which costs a statement"
        )

    def connect_function(self, database: DatabaseSettings, kwargs: dict[str, Any]) -> Connector:
        """The function of no arguments that opens one connection with ``kwargs``."""
        connect = self.module.connect
        if not (database.tls.encrypts and self.falls_back_to_plain):
            return lambda: connect(**kwargs)
        is_encrypted, where = self.is_encrypted, database.describe()

        def connect_checked() -> Any:
            connection = connect(**kwargs)
            if not is_encrypted(connection):
                connection.close()
                raise TlsNotUsed(where)
            return connection

        return connect_checked

    #: True when the driver takes its read and write timeouts in whole seconds only
    whole_second_timeouts: ClassVar[bool] = False

    def timeout_kwargs(self, read_s: float, write_s: float | None = None) -> dict[str, Any]:
        """Arguments that bound every read by ``read_s`` and every write by ``write_s``
        (``read_s`` too unless given), as this driver takes them."""
        write_s = read_s if write_s is None else write_s
        if self.whole_second_timeouts:
            read_s, write_s = whole_seconds(read_s), whole_seconds(write_s)
        return {"read_timeout": read_s, "write_timeout": write_s}

    def refuse_encrypted_key(self, tls: TlsSettings) -> None:
        """One line when asked for a key password, for a driver that cannot read one."""
        if tls.key_password is not None:
            raise ConfigError(
                f"ssl_key_password: {self.name} cannot read an encrypted key; "
                'decrypt it, or use driver = "pymysql"'
            )

    #: True when the driver connects in plain text under ``required`` if the server has no TLS
    falls_back_to_plain: ClassVar[bool] = False

    @abc.abstractmethod
    def is_encrypted(self, connection: Any) -> bool:
        """Whether this open connection uses TLS."""

    # ----------------------------------------------------------------- errors

    @property
    def errors(self) -> tuple[type[BaseException], ...]:
        """The driver's base exception classes."""
        return (self.module.Error,)

    def error_code(self, exc: BaseException) -> int | None:
        """The MySQL error number of one of this driver's exceptions, if it has one."""
        code = exc.args[0] if exc.args else None
        return code if isinstance(code, int) and not isinstance(code, bool) and code > 0 else None

    def error_message(self, exc: BaseException) -> str:
        """The server's or the driver's text, without the number."""
        if len(exc.args) >= 2:
            return str(exc.args[1])
        return str(exc) or type(exc).__name__

    def failure_reason(self, exc: BaseException) -> str | None:
        """Why a connect failed, where the driver tells: "refused", "unknown host",
        "timeout", "no socket", or None."""
        return None

    def failure(self, exc: BaseException) -> Failure | None:
        """What went wrong, in the words every dialect shares (``failures.Failure``); None
        when the exception says nothing the names cover.  For the MySQL drivers, read
        from the error number (``failures.MYSQL_FAILURES``); an ``InterfaceError``
        without one is a connection the driver had already closed (PyMySQL's way)."""
        code = self.error_code(exc)
        if code is None and type(exc).__name__ == "InterfaceError":
            return Failure.GONE
        return mysql_failure(code, self.failure_reason(exc), str(exc))

    def error_label(self, exc: BaseException) -> str | None:
        """The code a message shows in parentheses before the text: the error number."""
        code = self.error_code(exc)
        return None if code is None else str(code)

    def error_kind(self, exc: BaseException) -> str:
        """A short, stable name for one of this driver's errors: DB-API class and error
        number, e.g. ``OperationalError(2013)``, named alike for every MySQL driver.

        Drivers file the same number under different classes (mysql-connector
        raises ProgrammingError for a wrong password, PyMySQL OperationalError), so an
        error with a number takes the class PyMySQL gives that number.
        """
        code = self.error_code(exc)
        if code is None:
            return type(exc).__name__
        import pymysql.err

        cls = pymysql.err.error_map.get(code)
        name = cls.__name__ if cls else ("InternalError" if code < 1000 else "OperationalError")
        # a read or write timeout (read_timeout, write_timeout) is told apart from
        # other lost connections: "the server stopped answering" is not "it went away"
        if code in (2006, 2013) and "timed out" in str(exc):
            return f"{name}({code}, timed out)"
        return f"{name}({code})"

    def password_hint(self, database: DatabaseSettings) -> str:
        """Where a password can be given, for a login refused without one."""
        return (
            f"no password was given: use {mentioned('database', 'password')}, DBBENCH_PASSWORD or "
            "MYSQL_PWD, or ~/.my.cnf [client] password; or check the user's grants"
        )

    # ----------------------------------------------------------------- description

    @property
    def version(self) -> str | None:
        # imported here: importlib.metadata (and the email package under it) is a
        # quarter of the command line's start-up, and only a result's environment asks
        from importlib import metadata

        try:
            return metadata.version(self.distribution)
        except metadata.PackageNotFoundError:
            return None

    def describe(self) -> str:
        """e.g. "PyMySQL 1.2.4 (pure Python)", for the environment of a result."""
        return f"{self.distribution} {self.version or '?'}"

    def notes(self, database: DatabaseSettings) -> list[str]:
        """Plain-language notes on what this driver does with these settings."""
        return []
