"""dbbench's own connections beside the measured ones: the status monitor, ``max_connections``,
the scratch table.  They connect with the driver the run measures (``[database] driver``;
with ``--driver a,b``, the first), with the same address, login, timeouts and TLS, so that a
login the runners can use works for them too: a password sent as the same bytes
(``base.password_bytes``), and an authentication plugin only some drivers speak (MariaDB's
ed25519: mysqlclient, not PyMySQL without PyNaCl) the same.

The server check (``server/preflight.py``) connects with each measured driver itself, and
explain's instrumented connect is PyMySQL's own (``scenarios/phases/pymysql_phases.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dbbench.drivers import get_driver

if TYPE_CHECKING:
    from dbbench.config.settings import DatabaseSettings


def connect(
    database: DatabaseSettings, *, read_timeout_s: float | None = None, autocommit: bool = False
) -> Any:
    """One DB-API connection to ``database`` with its driver; ``read_timeout_s`` bounds every
    read and write on it instead of the configured timeouts.  Raises the driver's own errors
    (``drivers.is_driver_error``) or ``OSError``; a setting the driver cannot take is a
    ``ConfigError``."""
    driver = get_driver(database.driver)
    extra: dict[str, Any] = {"autocommit": True} if autocommit else {}
    if read_timeout_s is not None:
        extra.update(driver.timeout_kwargs(read_timeout_s))
    return driver.connector(database, **extra)()


def errors(database: DatabaseSettings) -> tuple[type[BaseException], ...]:
    """What ``connect`` and the connection's cursors raise when the server fails them."""
    return (*get_driver(database.driver).errors, OSError)
