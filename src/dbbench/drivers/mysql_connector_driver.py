"""mysql-connector-python (``mysql.connector``): Oracle's driver, pure Python or a C
extension (``mysql+mysqlconnector`` in SQLAlchemy).
Install: ``pip install 'dbbench[mysql-connector]'``.

Its C extension links a copy of OpenSSL that it ships; where the process
has already loaded an older system OpenSSL (Python's ``ssl`` module, which
PyMySQL imports), the extension cannot load and ``mysql.connector.connect``
uses the pure-Python implementation.  ``describe()`` says which one ran.

``ssl_mode`` maps onto ``ssl_disabled``, ``ssl_ca``/``ssl_cert``/``ssl_key``,
``ssl_verify_cert`` and ``ssl_verify_identity``.  It has no 'required' of its
own: with TLS enabled and nothing to verify, it falls back to plain text when
the server offers no TLS, so dbbench checks ``is_secure`` after connecting.

Prepared statements (``[benchmark] prepared``): its prepared cursors, one per statement
kept on each connection (``drivers.prepared.PreparedStatements``); plain is its default.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dbbench.drivers.base import Driver, common_kwargs, utf8_password
from dbbench.drivers.prepared import CursorFactory, PreparedStatements
from dbbench.errors import ConfigError

if TYPE_CHECKING:
    from dbbench.config.settings import DatabaseSettings

CR_SERVER_GONE_ERROR = 2006


class MysqlConnectorDriver(Driver):
    name = "mysql-connector"
    distribution = "mysql-connector-python"
    module_name = "mysql.connector"
    paramstyle = "format_verbatim"  # its execute replaces each %s, and leaves %% as it is
    extra = "mysql-connector"
    dialect_url = "mysql+mysqlconnector://"
    falls_back_to_plain = True
    whole_second_timeouts = True
    prepares = True

    def cursor_factory(self, prepared: bool | None) -> CursorFactory | None:
        return PreparedStatements() if prepared else None

    def connect_kwargs(self, database: DatabaseSettings) -> dict[str, Any]:
        base = common_kwargs(database)
        base["password"] = utf8_password(database, self.name)
        base["connection_timeout"] = base.pop("connect_timeout")
        base.update(self.timeout_kwargs(database.read_timeout_s, database.write_timeout_s))
        tls = database.tls
        self.refuse_encrypted_key(tls)
        if (tls.cert is None) != (tls.key is None) and tls.mode != "disabled":
            raise ConfigError("mysql-connector needs ssl_cert and ssl_key both, or neither")
        if tls.mode == "disabled":
            return {**base, "ssl_disabled": True}
        files = {"ssl_ca": tls.ca, "ssl_cert": tls.cert, "ssl_key": tls.key}
        kwargs = {**base, **{key: value for key, value in files.items() if value is not None}}
        if tls.verifies:
            kwargs["ssl_verify_cert"] = True
            kwargs["ssl_verify_identity"] = tls.mode == "verify_identity"
        return kwargs

    def is_encrypted(self, connection: Any) -> bool:
        return bool(connection.is_secure)

    def error_code(self, exc: BaseException) -> int | None:
        code = getattr(exc, "errno", None)
        if isinstance(code, int) and code > 0:
            return code
        # errno -1 "MySQL Connection not available": its word for a connection the
        # server dropped, which the other drivers number 2006 (server has gone away)
        if isinstance(exc, self.module.OperationalError) and "not available" in str(exc):
            return CR_SERVER_GONE_ERROR
        return None

    def error_message(self, exc: BaseException) -> str:
        return str(getattr(exc, "msg", None) or exc)

    def failure_reason(self, exc: BaseException) -> str | None:
        message = self.error_message(exc)
        if "Errno 111" in message or "Connection refused" in message:
            return "refused"
        if "Name or service not known" in message or "Errno -2" in message:
            return "unknown host"
        if "timed out" in message:
            return "timeout"
        if "Errno 2:" in message:
            return "no socket"
        return None

    @property
    def implementation(self) -> str:
        return "C extension" if getattr(self.module, "HAVE_CEXT", False) else "pure Python"

    def describe(self) -> str:
        return f"{super().describe()} ({self.implementation})"
