"""Reads only, unless told: SQL of the user's that may change anything needs --allow-writes.

One module per database, each reading the text as that server reads it, behind the same
functions: ``guard.mysql`` (MySQL and MariaDB: executable comments, backquotes,
``sql_mode``'s readings) and ``guard.postgresql`` (nested comments, dollar quoting,
``E''`` strings, ``SELECT ... INTO``, functions such as ``nextval``,
``pg_advisory_lock`` and ``set_config``); their docstrings say what is allowed and why,
and ``guard.common`` holds what they share.  Callers import from here (``from
dbbench.guard import check_sql``), as they did when the guard was one module; the
functions that read SQL take ``dialect=`` ("mysql", the default, or "postgresql"), and
``for_dialect`` gives a database's module itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import ModuleType
from typing import Any, Protocol

from dbbench.errors import mention
from dbbench.guard import mysql, postgresql
from dbbench.guard.common import check_workload, is_transaction_control
from dbbench.guard.mysql import (
    EFFECT_CALLS,
    EFFECT_FUNCTIONS,
    READ_KEYWORDS,
    WRITE_KEYWORDS,
    WRITE_WORDS,
)


class _RunSettings(Protocol):
    """What ``check_settings`` reads of a run's ``Settings`` (``dbbench.config.settings``,
    which imports this package: named by its shape, not imported)."""

    @property
    def benchmark(self) -> Any: ...

    def dialects(self) -> tuple[str, ...]: ...

    def init_commands(self, dialect: str | None = None) -> list[tuple[str | None, str]]: ...

__all__ = [
    "EFFECT_CALLS",
    "EFFECT_FUNCTIONS",
    "READ_KEYWORDS",
    "WRITE_KEYWORDS",
    "WRITE_WORDS",
    "check_init_command",
    "check_query",
    "check_scripts",
    "check_sql",
    "check_workload",
    "for_dialect",
    "has_statement",
    "is_read_only",
]

#: each dialect's guard (``DatabaseSettings.dialect``'s values)
_MODULES = {"mysql": mysql, "postgresql": postgresql}


def for_dialect(dialect: str) -> ModuleType:
    """The guard module that reads SQL as ``dialect``'s server does (``check_query``,
    ``check_init_command``, ``is_read_only``, ``has_statement``)."""
    try:
        return _MODULES[dialect]
    except KeyError:
        raise ValueError(f"no write guard for the dialect {dialect!r}") from None


def has_statement(query: str, dialect: str = "mysql") -> bool:
    """Whether ``query`` holds anything but comments, semicolons and blanks."""
    return bool(for_dialect(dialect).has_statement(query))


def is_read_only(query: str, dialect: str = "mysql") -> bool:
    """Whether ``query`` only reads, judged on its text as ``dialect``'s server reads it."""
    return bool(for_dialect(dialect).is_read_only(query))


def check_query(
    query: str,
    allow_writes: bool,
    where: str = mention("[benchmark] query"),
    dialect: str = "mysql",
) -> None:
    """Refuse a query that may write, or is not a known read, unless ``allow_writes``."""
    for_dialect(dialect).check_query(query, allow_writes, where)


def check_init_command(
    command: str | None,
    allow_writes: bool,
    where: str = mention("[database] init_command"),
    dialect: str = "mysql",
) -> None:
    """Refuse an init_command that may change anything beyond the session, unless
    ``allow_writes``."""
    for_dialect(dialect).check_init_command(command, allow_writes, where)


def check_sql(
    query: str,
    init_commands: Iterable[tuple[str | None, str]],
    allow_writes: bool,
    query_name: str = mention("[benchmark] query"),
    dialect: str = "mysql",
) -> None:
    """Refuse the SQL of the user's that may write, unless ``allow_writes``: the query
    (``check_query``, named ``query_name``) and each init_command, with where it was set
    (``check_init_command``; ``Settings.init_commands``: the run's and every variant's),
    read as ``dialect``'s server reads them."""
    check_query(query, allow_writes, query_name, dialect)
    for command, where in init_commands:
        check_init_command(command, allow_writes, where, dialect)


def check_scripts(scripts: Iterable[Any], allow_writes: bool, dialect: str = "mysql") -> None:
    """Refuse a script statement that may write, unless ``allow_writes``: each statement of
    each script (``ScriptFile``: its ``script``, parsed), named ``file:line``, judged as the
    query is (``check_query``); a transaction's BEGIN, COMMIT and savepoints write nothing
    themselves and pass."""
    for file in scripts:
        for statement in file.script.statements:
            if not is_transaction_control(statement.sql):
                check_query(statement.sql, allow_writes, file.script.where(statement.line), dialect)


def check_settings(
    settings: _RunSettings, allow_writes: bool, query_name: str = mention("[benchmark] query")
) -> None:
    """``check_sql`` for the query and init_commands of ``settings``, in each dialect the
    run speaks: variants and targets may mix MySQL and PostgreSQL servers, and the query
    goes to each, each init_command to its own."""
    for dialect in settings.dialects():
        check_sql(
            settings.benchmark.query,
            settings.init_commands(dialect),
            allow_writes,
            query_name,
            dialect,
        )
        check_scripts(settings.benchmark.scripts or (), allow_writes, dialect)
