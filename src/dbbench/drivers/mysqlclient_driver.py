"""mysqlclient (``MySQLdb``): a C extension over libmysqlclient or MariaDB Connector/C
(``mysql+mysqldb`` in SQLAlchemy).  Install: ``pip install 'dbbench[mysqlclient]'``;
building it needs the client library's headers (``scripts/ensure-client-headers``).

``ssl_mode`` maps onto its own ``ssl_mode`` (upper case) and ``ssl={ca, cert, key}``.
Built on MariaDB Connector/C (Debian's ``libmariadb-dev``), which has no
``MYSQL_OPT_SSL_MODE``, mysqlclient emulates the modes, and this is what it
does against a TLS-enabled MariaDB 10.11 (tests/integration/test_tls.py):

* ``preferred`` (its default) uses no TLS at all, even when the server offers it;
* ``required`` connects in plain text when the server offers no TLS, so dbbench
  checks the connection (the ``CLIENT_SSL`` bit of ``client_flag``) and fails it;
* ``verify_ca`` checks the host name as well, as ``verify_identity`` does.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from dbbench.drivers.base import Driver, common_kwargs, utf8_password, whole_seconds

if TYPE_CHECKING:
    from dbbench.config.settings import DatabaseSettings

#: the capability bit a client sets when it switches the connection to TLS
CLIENT_SSL = 2048
#: client error numbers of MariaDB Connector/C that PyMySQL reports as 2003
CR_CONNECTION_ERROR = 2002
CR_CONN_HOST_ERROR = 2003
CR_UNKNOWN_HOST = 2005
#: the OS error number at the end of "Can't connect to server on 'h' (111)"
_ERRNO_AT_END = re.compile(r"\((-?\d+)\)\s*$")
#: ECONNREFUSED, and EINPROGRESS, which Connector/C 3.3 reports for a refused
#: non-blocking connect (seen against a closed port on this project's machines)
_REFUSED_ERRNOS = frozenset({111, 115})
_TIMEOUT_ERRNOS = frozenset({110})


class MysqlclientDriver(Driver):
    name = "mysqlclient"
    distribution = "mysqlclient"
    module_name = "MySQLdb"
    extra = "mysqlclient"
    dialect_url = "mysql+mysqldb://"
    falls_back_to_plain = True
    whole_second_timeouts = True

    def connect_kwargs(self, database: DatabaseSettings) -> dict[str, Any]:
        base = common_kwargs(database)
        base["password"] = utf8_password(database, self.name)
        # the C API takes whole seconds, the connect timeout too
        base["connect_timeout"] = whole_seconds(base["connect_timeout"])
        base.update(self.timeout_kwargs(database.read_timeout_s, database.write_timeout_s))
        tls = database.tls
        self.refuse_encrypted_key(tls)
        kwargs: dict[str, Any] = dict(base)
        if tls.mode != "preferred":  # 'preferred': the driver's default, as for every driver
            kwargs["ssl_mode"] = tls.mode.upper()
        files = {"ca": tls.ca, "cert": tls.cert, "key": tls.key}
        files = {key: value for key, value in files.items() if value is not None}
        if files and tls.mode != "disabled":
            kwargs["ssl"] = files
        return kwargs

    def is_encrypted(self, connection: Any) -> bool:
        return bool(connection.client_flag & CLIENT_SSL)

    @property
    def errors(self) -> tuple[type[BaseException], ...]:
        return (self.module.MySQLError,)

    def error_code(self, exc: BaseException) -> int | None:
        code = super().error_code(exc)
        message = self.error_message(exc)
        # the same failure, numbered as PyMySQL and mysql-connector number it
        if code == CR_UNKNOWN_HOST:
            return CR_CONN_HOST_ERROR
        if code == CR_CONNECTION_ERROR and "through socket" not in message:
            return CR_CONN_HOST_ERROR
        return code

    def failure_reason(self, exc: BaseException) -> str | None:
        code = super().error_code(exc)
        if code == CR_UNKNOWN_HOST:
            return "unknown host"
        if code not in (CR_CONNECTION_ERROR, CR_CONN_HOST_ERROR):
            return None
        message = self.error_message(exc)
        if "through socket" in message:
            return "no socket"
        found = _ERRNO_AT_END.search(message)
        errno = int(found.group(1)) if found else None
        if errno in _REFUSED_ERRNOS:
            return "refused"
        if errno in _TIMEOUT_ERRNOS:
            return "timeout"
        return None

    @property
    def client_library(self) -> str:
        """e.g. "MariaDB Connector/C 3.3.20" or "libmysqlclient 8.0.36"."""
        info = self.module._mysql.get_client_info()
        return f"MariaDB Connector/C {info}" if info.startswith("3.") else f"libmysqlclient {info}"

    def describe(self) -> str:
        return f"{super().describe()} (C, {self.client_library})"

    def notes(self, database: DatabaseSettings) -> list[str]:
        if not self.client_library.startswith("MariaDB"):
            return []
        mode = database.tls.mode
        if mode == "preferred":
            return [
                "mysqlclient on MariaDB Connector/C uses no TLS in ssl_mode 'preferred' (its "
                "default), even where the server offers it: its connects are plain text"
            ]
        if mode == "verify_ca":
            return [
                "mysqlclient on MariaDB Connector/C checks the server's host name in "
                "ssl_mode 'verify_ca' too, as in 'verify_identity'"
            ]
        return []
