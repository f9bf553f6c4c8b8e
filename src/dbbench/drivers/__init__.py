"""The DB-API drivers dbbench can measure, by name, and their errors in one vocabulary.

A driver is chosen with ``[database] driver`` or ``--driver`` (a list runs every
runner once per driver).  ``get_driver(name)`` imports the package on first
use, so a missing optional one fails with one line naming the extra to install.

Other modules (the async runner, ``explain``) plug in through ``Driver``
(``base.py``): ``connector(database)`` for connections, ``dialect_url`` for
SQLAlchemy, and the error helpers below for any driver's exception.

The MySQL drivers (``pymysql``, ``mysqlclient``, ``mysql-connector``) and the
PostgreSQL ones (``psycopg``, ``psycopg2``) say what went wrong in the same
words (``failure``: a ``failures.Failure``), whatever numbers or SQLSTATEs
their exceptions carry.
"""

from __future__ import annotations

import functools
import re
import sys
from typing import Any

from dbbench.config.schema import DRIVER_NAMES, mentioned
from dbbench.drivers.base import Connector, Driver, TlsNotUsed
from dbbench.drivers.failures import MYSQL_FAILURES, Failure
from dbbench.errors import ConfigError
from dbbench.parsing import parse_name_list

DEFAULT_DRIVER = "pymysql"

#: MySQL's lost-connection numbers: gone away, lost, server lost, timed out (MySQL), killed
#: (MariaDB); ``is_lost`` tells a lost connection of any dialect
LOST_CODES = frozenset(code for code, found in MYSQL_FAILURES.items() if found.gone)

__all__ = [
    "DEFAULT_DRIVER",
    "DRIVER_NAMES",
    "LOST_CODES",
    "Connector",
    "Driver",
    "Failure",
    "TlsNotUsed",
    "error_code",
    "error_kind",
    "error_label",
    "error_message",
    "failure",
    "failure_reason",
    "get_driver",
    "is_driver_error",
    "is_lost",
    "owner",
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
    if name == "psycopg":
        from dbbench.drivers.psycopg_driver import PsycopgDriver

        return PsycopgDriver
    if name == "psycopg2":
        from dbbench.drivers.psycopg2_driver import Psycopg2Driver

        return Psycopg2Driver
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
    modules = {
        "pymysql": "pymysql",
        "mysqlclient": "MySQLdb",
        "mysql-connector": "mysql.connector",
        "psycopg": "psycopg",
        "psycopg2": "psycopg2",
    }
    return [get_driver(name) for name, module in modules.items() if module in sys.modules]


def owner(exc: BaseException) -> Driver | None:
    """The driver whose exception ``exc`` is, if any."""
    for driver in _loaded_drivers():
        if isinstance(exc, driver.errors):
            return driver
    return None


def is_driver_error(exc: BaseException) -> bool:
    """Whether ``exc`` is an exception of one of the drivers (or dbbench's TLS check)."""
    return isinstance(exc, TlsNotUsed) or owner(exc) is not None


def error_code(exc: BaseException) -> int | None:
    """The MySQL error number of any driver's exception, numbered as PyMySQL numbers it;
    None for a PostgreSQL driver's (``error_label`` gives its SQLSTATE)."""
    if isinstance(exc, TlsNotUsed):
        return exc.args[0]
    driver = owner(exc)
    return driver.error_code(exc) if driver is not None else None


def error_label(exc: BaseException) -> str | None:
    """The code a message shows before the text: MySQL's number ("1045"), PostgreSQL's
    SQLSTATE ("28P01"), or None."""
    if isinstance(exc, TlsNotUsed):
        return str(exc.args[0])
    driver = owner(exc)
    return driver.error_label(exc) if driver is not None else None


def failure(exc: BaseException) -> Failure | None:
    """What went wrong, in the words every dialect shares (``failures.Failure``), for any
    driver's exception; None for another exception, or one the names do not cover."""
    if isinstance(exc, TlsNotUsed):
        return Failure.TLS
    driver = owner(exc)
    return driver.failure(exc) if driver is not None else None


def is_lost(exc: BaseException) -> bool:
    """Whether the connection that raised ``exc`` is unusable now (lost, gone, killed,
    timed out): a runner that keeps it must open another."""
    found = failure(exc)
    return found is not None and found.gone


def error_message(exc: BaseException) -> str:
    """The text of any driver's exception, on one line, without its number."""
    driver = owner(exc)
    if isinstance(exc, TlsNotUsed):
        message: Any = exc.args[1]
    elif driver is not None:
        message = driver.error_message(exc)
    else:
        message = str(exc) or type(exc).__name__
    return " ".join(str(message).split())


def failure_reason(exc: BaseException) -> str | None:
    """Why a connect failed ("refused", "unknown host", "timeout", "no socket"), if known."""
    driver = owner(exc)
    return driver.failure_reason(exc) if driver is not None else None


#: what a SQLSTATE looks like: five digits or capital letters ("26000", "08P01")
_SQLSTATE = re.compile(r"[0-9A-Z]{5}")


def error_kind(exc: BaseException) -> str:
    """A short, stable name for an error: DB-API class and error code, e.g.
    ``OperationalError(2013)`` (MySQL's number, named alike for every MySQL driver) or
    ``OperationalError(28P01)`` (PostgreSQL's SQLSTATE): ``Driver.error_kind``."""
    if isinstance(exc, TlsNotUsed):
        return "OperationalError(2026)"
    driver = owner(exc)
    if driver is not None:
        return driver.error_kind(exc)
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    # SQLAlchemy's asyncpg adapter (no DB-API driver of dbbench's) keeps the SQLSTATE
    sqlstate = getattr(exc, "sqlstate", None)
    if code is None and isinstance(sqlstate, str) and _SQLSTATE.fullmatch(sqlstate):
        code = sqlstate
    name = type(exc).__name__
    return f"{name}({code})" if code is not None else name
