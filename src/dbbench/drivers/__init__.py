"""The DB-API drivers dbbench can measure, by name, and their errors in one vocabulary.

A driver is chosen with ``[database] driver`` or ``--driver`` (a list runs every
runner once per driver).  ``get_driver(name)`` imports the package on first
use, so a missing optional one fails with one line naming the extra to install.

Other modules (the async runner, ``explain``) plug in through ``Driver``
(``base.py``): ``connector(database)`` for connections, ``dialect_url`` for
SQLAlchemy, and the error helpers below for any driver's exception.
"""

from __future__ import annotations

import functools
import sys
from typing import Any

from dbbench.config.schema import DRIVER_NAMES, mentioned
from dbbench.drivers.base import Connector, Driver, TlsNotUsed
from dbbench.errors import ConfigError
from dbbench.parsing import parse_name_list

DEFAULT_DRIVER = "pymysql"

#: lost-connection errors: gone away, lost, server lost, timed out (MySQL), killed (MariaDB)
LOST_CODES = frozenset({2006, 2013, 2055, 4031, 1927})

__all__ = [
    "DEFAULT_DRIVER",
    "DRIVER_NAMES",
    "LOST_CODES",
    "Connector",
    "Driver",
    "TlsNotUsed",
    "error_code",
    "error_kind",
    "error_message",
    "failure_reason",
    "get_driver",
    "is_driver_error",
    "parse_driver_names",
]


def _driver_class(name: str) -> type[Driver]:
    # imported here: each module is cheap, but the packages they wrap are optional
    if name == "pymysql":
        from dbbench.drivers.pymysql_driver import PyMySQLDriver

        return PyMySQLDriver
    if name == "mysqlclient":
        from dbbench.drivers.mysqlclient_driver import MysqlclientDriver

        return MysqlclientDriver
    if name == "mysql-connector":
        from dbbench.drivers.mysql_connector_driver import MysqlConnectorDriver

        return MysqlConnectorDriver
    raise ConfigError(f"unknown driver {name!r}; choose from {', '.join(DRIVER_NAMES)}")


@functools.cache
def get_driver(name: str) -> Driver:
    """The driver called ``name``; ``ConfigError`` when unknown or not installed."""
    return _driver_class(name)()


def parse_driver_names(text: str, where: str = mentioned("database", "driver")) -> list[str]:
    """``"pymysql,mysqlclient"`` -> the names, validated, in order; a repeat is refused."""
    return parse_name_list(text, DRIVER_NAMES, where, "driver")


def _loaded_drivers() -> list[Driver]:
    """The drivers whose package this process has imported (an exception can come from no other)."""
    modules = {"pymysql": "pymysql", "mysqlclient": "MySQLdb", "mysql-connector": "mysql.connector"}
    return [get_driver(name) for name, module in modules.items() if module in sys.modules]


def _owner(exc: BaseException) -> Driver | None:
    for driver in _loaded_drivers():
        if isinstance(exc, driver.errors):
            return driver
    return None


def is_driver_error(exc: BaseException) -> bool:
    """Whether ``exc`` is an exception of one of the drivers (or dbbench's TLS check)."""
    return isinstance(exc, TlsNotUsed) or _owner(exc) is not None


def error_code(exc: BaseException) -> int | None:
    """The MySQL error number of any driver's exception, numbered as PyMySQL numbers it."""
    if isinstance(exc, TlsNotUsed):
        return exc.args[0]
    driver = _owner(exc)
    return driver.error_code(exc) if driver is not None else None


def error_message(exc: BaseException) -> str:
    """The text of any driver's exception, on one line, without its number."""
    driver = _owner(exc)
    if isinstance(exc, TlsNotUsed):
        message: Any = exc.args[1]
    elif driver is not None:
        message = driver.error_message(exc)
    else:
        message = str(exc) or type(exc).__name__
    return " ".join(str(message).split())


def failure_reason(exc: BaseException) -> str | None:
    """Why a connect failed ("refused", "unknown host", "timeout", "no socket"), if known."""
    driver = _owner(exc)
    return driver.failure_reason(exc) if driver is not None else None


def error_kind(exc: BaseException) -> str:
    """A short, stable name for an error: DB-API class and error number, e.g.
    ``OperationalError(2013)``, named alike for every driver.

    Drivers file the same number under different classes (mysql-connector
    raises ProgrammingError for a wrong password, PyMySQL OperationalError), so a
    driver error with a number takes the class PyMySQL gives that number.
    """
    if is_driver_error(exc):
        code = error_code(exc)
        if code is not None:
            import pymysql.err

            cls = pymysql.err.error_map.get(code)
            name = cls.__name__ if cls else ("InternalError" if code < 1000 else "OperationalError")
            # a read or write timeout (read_timeout, write_timeout) is told apart from
            # other lost connections: "the server stopped answering" is not "it went away"
            if code in (2006, 2013) and "timed out" in str(exc):
                return f"{name}({code}, timed out)"
            return f"{name}({code})"
        return type(exc).__name__
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    name = type(exc).__name__
    return f"{name}({code})" if code is not None else name
