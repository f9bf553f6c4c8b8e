"""PyMySQL: pure Python, dbbench's default driver (``mysql+pymysql`` in SQLAlchemy).

``ssl_mode`` in PyMySQL's own arguments (checked against PyMySQL 1.2's
``Connection.__init__`` and a TLS-enabled MariaDB 10.11):

* ``disabled``: ``ssl_disabled=True``;
* ``preferred``: nothing -- PyMySQL's default, which tries TLS when the server
  offers it and builds a new SSL context (loading the system CA store) in every
  ``connect``;
* ``required``: ``ssl={"verify_mode": False, "check_hostname": False, ...}``.
  ``ssl_verify_cert=False`` alone would not do: it is falsy, and PyMySQL then
  stays in 'preferred' and falls back to plain text;
* ``verify_ca``: ``ssl_ca`` and ``ssl_verify_cert=True``;
* ``verify_identity``: ``ssl_ca`` and ``ssl_verify_identity=True`` (PyMySQL
  checks the host name only when a CA is given, so dbbench asks for one).
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Any

from dbbench.config.schema import mentioned
from dbbench.drivers.base import Driver, common_kwargs, password_bytes
from dbbench.errors import Mentioning

if TYPE_CHECKING:
    from dbbench.config.settings import DatabaseSettings
    from dbbench.config.tls import TlsSettings


def tls_arguments(tls: TlsSettings) -> dict[str, Any]:
    """PyMySQL's ``ssl*`` arguments for ``tls``."""
    given = {
        "ssl_ca": tls.ca,
        "ssl_cert": tls.cert,
        "ssl_key": tls.key,
        "ssl_key_password": tls.key_password,
    }
    files = {key: value for key, value in given.items() if value is not None}
    if tls.mode == "disabled":
        return {"ssl_disabled": True}
    if tls.mode == "preferred":
        return {}
    if tls.mode == "required":
        # the keys of the ssl dict are mysql_ssl_set()'s names
        names = {
            "ssl_ca": "ca",
            "ssl_cert": "cert",
            "ssl_key": "key",
            "ssl_key_password": "password",
        }
        ssl = {names[key]: value for key, value in files.items()}
        return {"ssl": {**ssl, "verify_mode": False, "check_hostname": False}}
    if tls.mode == "verify_ca":
        return {**files, "ssl_verify_cert": True, "ssl_verify_identity": False}
    return {**files, "ssl_verify_cert": True, "ssl_verify_identity": True}


def pymysql_kwargs(database: DatabaseSettings) -> dict[str, Any]:
    """``pymysql.connect``'s own arguments for ``database``, TLS included (``Driver.
    connection_kwargs`` adds the rest, for the runners and explain's instrumented PyMySQL
    connect alike).  The password as its UTF-8 bytes (``password_bytes``):
    PyMySQL sends bytes as they are, where it would encode text as latin-1."""
    kwargs = {**common_kwargs(database), **tls_arguments(database.tls)}
    kwargs["password"] = password_bytes(database.password)
    return kwargs


class PyMySQLDriver(Driver):
    name = "pymysql"
    distribution = "PyMySQL"
    module_name = "pymysql"
    extra = None
    dialect_url = "mysql+pymysql://"

    def connect_kwargs(self, database: DatabaseSettings) -> dict[str, Any]:
        return pymysql_kwargs(database)

    def is_encrypted(self, connection: Any) -> bool:
        return bool(getattr(connection, "_secure", False))

    @property
    def errors(self) -> tuple[type[BaseException], ...]:
        return (self.module.err.MySQLError,)

    def failure_reason(self, exc: BaseException) -> str | None:
        cause = getattr(exc, "original_exception", None)
        if isinstance(cause, socket.gaierror):
            return "unknown host"
        if isinstance(cause, ConnectionRefusedError):
            return "refused"
        if isinstance(cause, TimeoutError | socket.timeout):
            return "timeout"
        if isinstance(cause, FileNotFoundError):
            return "no socket"
        return None

    def describe(self) -> str:
        return f"{super().describe()} (pure Python)"

    def notes(self, database: DatabaseSettings) -> list[str]:
        if database.tls.mode != "preferred":
            return []
        mode, ca = mentioned("database", "ssl_mode"), mentioned("database", "ssl_ca")
        return [
            Mentioning(
                "ssl_mode 'preferred' (what PyMySQL does with no ssl_mode or ssl_* setting): it "
                "tries TLS and builds a new SSL context, loading the system's CA store, for "
                "every connect, whether or not the server offers TLS; on a nearby server that "
                f'can be most of a connect\'s time. Set {mode} to "disabled", or to "verify_ca" '
                f"with {ca}, to measure what your application configures "
                "(docs/background/tls-default.md)."
            )
        ]
