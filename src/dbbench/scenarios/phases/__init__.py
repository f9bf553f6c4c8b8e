"""Where one operation's time goes: which module splits each driver's operation into phases.

Each driver has its own module that times a connect-per-query operation
phase by phase (``pymysql_phases``, ``psycopg_phases``; ``opaque_phases`` for drivers whose
connect is one call that cannot be split from outside); the pooled operation is timed through
SQLAlchemy's dialect hooks, the same for every driver (``pool_phases``).  A driver that
sends statements of its own around the query (psycopg's ``BEGIN``) also has
``STATEMENT_PHASES`` and ``watch(connection, timing)``, which makes a pooled or
persistent connection charge them to ``timing.clock``; ``statement_watch`` finds it.
``driver_module(name)`` picks the driver's module.  They all time with
``clock.PhaseClock``, which they import from there: this file only maps
names to modules, so that loading one by name is no import cycle.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

from dbbench.config.schema import mentioned
from dbbench.parsing import bad_value

#: driver name -> the module that splits its connect into phases
DRIVER_MODULES = {
    "pymysql": "dbbench.scenarios.phases.pymysql_phases",
    "mysqlclient": "dbbench.scenarios.phases.opaque_phases",
    "mysql-connector": "dbbench.scenarios.phases.opaque_phases",
    "psycopg": "dbbench.scenarios.phases.psycopg_phases",
    "psycopg2": "dbbench.scenarios.phases.psycopg2_phases",
}


def driver_module(driver: str) -> ModuleType:
    """The phase module of ``driver``; it has ``connect_operation`` and ``PHASES``."""
    try:
        return importlib.import_module(DRIVER_MODULES[driver])
    except KeyError:
        choices = ", ".join(DRIVER_MODULES)
        raise bad_value(
            mentioned("database", "driver"),
            driver,
            f"no phase breakdown for this driver; choose from {choices}",
        ) from None


def statement_watch(
    module: ModuleType,
) -> tuple[tuple[str, ...], Callable[[Any, Any], None] | None]:
    """A driver module's phases for its own statements and its ``watch``; none for most."""
    return getattr(module, "STATEMENT_PHASES", ()), getattr(module, "watch", None)
