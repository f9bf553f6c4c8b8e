"""The driver interface: one DB-API package (PyMySQL, mysqlclient, ...) behind the same steps.

A runner never imports a driver package itself; it asks its ``Driver`` for a
``connector(database)``: a function of no arguments that opens one DB-API
connection with the driver's own keyword arguments, worked out once from the
settings (``ssl_mode`` included), so that an operation pays only for the
driver's own ``connect``.  The pool runners give the same function to
SQLAlchemy as ``creator=``, with the URL ``dialect`` that matches the driver.

Errors stay the driver's own exceptions while the run goes on (the harness
counts them); ``error_code`` and ``failure_reason`` turn any of them into the
MySQL error number and, for a failed connect, the reason, so that
``diagnosis`` and the harness classify a refused connection, a wrong password
or a lost connection the same whichever driver raised it.
"""

from __future__ import annotations

import abc
import importlib
import importlib.metadata
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from dbbench.errors import ConfigError

if TYPE_CHECKING:
    from dbbench.settings import DatabaseSettings

#: ``ssl_mode`` values, weakest first (MySQL's own ``--ssl-mode`` names, lower case)
SSL_MODES: tuple[str, ...] = ("disabled", "preferred", "required", "verify_ca", "verify_identity")

#: a function that opens one connection
Connector = Callable[[], Any]


def whole_seconds(timeout_s: float) -> int:
    """A timeout for a driver that takes whole seconds: rounded up, never 0 (no limit)."""
    return max(1, math.ceil(timeout_s))


@dataclass(frozen=True)
class TlsSettings:
    """What TLS a connection asks for, as one ``ssl_mode`` plus the files it needs.

    ``preferred`` means "the driver's default": PyMySQL and mysql-connector then
    try TLS when the server offers it; mysqlclient built on MariaDB Connector/C
    does not use TLS at all unless asked to (it has no 'preferred' of its own).
    """

    mode: str = "preferred"
    ca: str | None = None
    cert: str | None = None
    key: str | None = None
    key_password: str | None = field(default=None, repr=False)

    def as_ssl_keys(self) -> dict[str, Any]:
        """The same, said with the older ``ssl_*`` keys (PyMySQL's names), for code that
        reads those (the async-pool runner's SSL context)."""
        keys: dict[str, Any] = {
            name: value
            for name, value in (
                ("ssl_ca", self.ca),
                ("ssl_cert", self.cert),
                ("ssl_key", self.key),
                ("ssl_key_password", self.key_password),
            )
            if value is not None
        }
        if self.mode == "disabled":
            return {"ssl_disabled": True}
        if self.mode == "verify_ca":
            keys["ssl_verify_cert"] = True
        if self.mode == "verify_identity":
            keys["ssl_verify_identity"] = True
        return keys

    @property
    def verifies(self) -> bool:
        return self.mode in ("verify_ca", "verify_identity")

    @property
    def encrypts(self) -> bool:
        """TLS is demanded: connecting without it must fail."""
        return self.mode in ("required", "verify_ca", "verify_identity")


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

    def connector(self, database: DatabaseSettings, **extra: Any) -> Connector:
        """A function that opens one connection with these settings.

        The arguments are worked out here, once; the function does nothing a
        plain ``connect(**kwargs)`` would not, except, where the driver would
        silently fall back to plain text under ``required``, a check of an
        attribute of the new connection.
        """
        kwargs = {**self.connect_kwargs(database), **extra}
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

    # ----------------------------------------------------------------- description

    @property
    def version(self) -> str | None:
        try:
            return importlib.metadata.version(self.distribution)
        except importlib.metadata.PackageNotFoundError:
            return None

    def describe(self) -> str:
        """e.g. "PyMySQL 1.2.4 (pure Python)", for the environment of a result."""
        return f"{self.distribution} {self.version or '?'}"

    def notes(self, database: DatabaseSettings) -> list[str]:
        """Plain-language notes on what this driver does with these settings."""
        return []


#: the ssl_* keys that name files
_TLS_FILE_KEYS = ("ssl_ca", "ssl_cert", "ssl_key")


def resolve_tls(ssl_mode: str | None, ssl: Mapping[str, Any]) -> TlsSettings:
    """One ``TlsSettings`` from ``ssl_mode`` and the ``ssl_*`` keys as given.

    Without ``ssl_mode`` the older keys say the mode, as PyMySQL reads them:
    ``ssl_disabled`` -> disabled, ``ssl_verify_identity`` -> verify_identity,
    ``ssl_verify_cert`` -> verify_ca, a CA/certificate/key -> required,
    nothing -> preferred.  With ``ssl_mode``, keys that say otherwise are
    refused: ``ValueError`` with one line naming both.
    """
    files = {key: ssl.get(key) for key in _TLS_FILE_KEYS}
    given_files = [key for key, value in files.items() if value is not None]
    verify_cert, verify_identity = ssl.get("ssl_verify_cert"), ssl.get("ssl_verify_identity")
    disabled = ssl.get("ssl_disabled")
    if ssl_mode is None:
        if disabled:
            mode = "disabled"
        elif verify_identity:
            mode = "verify_identity"
        elif verify_cert:
            mode = "verify_ca"
        elif given_files:
            mode = "required"
        else:
            mode = "preferred"
    else:
        mode = ssl_mode
        _check_conflicts(mode, given_files, disabled, verify_cert, verify_identity)
    if mode in ("verify_ca", "verify_identity") and files["ssl_ca"] is None and ssl_mode:
        raise ValueError(
            f"ssl_mode = {mode!r} needs ssl_ca, the CA certificate to verify the server with"
        )
    return TlsSettings(
        mode=mode,
        ca=files["ssl_ca"],
        cert=files["ssl_cert"],
        key=files["ssl_key"],
        key_password=ssl.get("ssl_key_password"),
    )


def _check_conflicts(
    mode: str,
    files: list[str],
    disabled: bool | None,
    verify_cert: bool | None,
    verify_identity: bool | None,
) -> None:
    said = f"ssl_mode = {mode!r}"
    if disabled is not None and disabled != (mode == "disabled"):
        raise ValueError(f"{said} contradicts ssl_disabled = {str(disabled).lower()}; drop one")
    if mode in ("disabled", "preferred") and files:
        use = "drop them" if mode == "disabled" else "use 'required' or 'verify_ca'"
        raise ValueError(f"{said} takes no {', '.join(files)}; {use}")
    wants_cert = mode in ("verify_ca", "verify_identity")
    if verify_cert is not None and verify_cert != wants_cert:
        raise ValueError(
            f"{said} contradicts ssl_verify_cert = {str(verify_cert).lower()}; "
            "ssl_mode alone says it (verify_ca or verify_identity verify the certificate)"
        )
    if verify_identity is not None and verify_identity != (mode == "verify_identity"):
        raise ValueError(
            f"{said} contradicts ssl_verify_identity = {str(verify_identity).lower()}; "
            "ssl_mode alone says it (verify_identity checks the host name)"
        )
