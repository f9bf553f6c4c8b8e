"""``dbbench prepare --rows N`` and ``dbbench cleanup``: the data set's table made and dropped.

The table, its shape, its mark and its SQL are ``databases.dataset``'s.  Both commands
write, so both need ``allow_writes`` (refused before anything connects), and both touch
only dbbench's own table: one of that name without dbbench's mark is refused, never
filled, replaced or dropped.

``prepare`` loads the rows a chunk at a time (``CHUNK_ROWS`` each, made by the server),
telling ``on_progress(done, rows)`` after each; the secondary index comes after the rows.
Whatever stops it half-way (an error, Ctrl-C, SIGTERM) drops the table it created, on a
connection of its own once the loading one is closed; when that drop fails too, the
error says which table to drop.  Creating the table and dropping it are never cut in two
by a stop signal (``interruption.held``).  A data set already there with the rows asked
for is left as it is (``Prepared.created`` False); one with other rows, or one whose load
did not finish, is replaced only with ``recreate``.

Both run on dbbench's own connections with the run's driver (``drivers.side``), with the
configured timeouts raised to ``LOAD_TIMEOUT_S`` for the load, whose index on a large
table takes more than a query's ``read_timeout``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from dbbench import interruption
from dbbench.config.schema import mentioned
from dbbench.config.settings import DatabaseSettings, Settings
from dbbench.databases import data_set_sql
from dbbench.databases.dataset import (
    CHUNK_ROWS,
    LOAD_TIMEOUT_S,
    SHAPE,
    DataSetSql,
    Found,
    Mark,
    check_rows,
    shown_columns,
)
from dbbench.databases.scratch import side_connection
from dbbench.drivers import error_message, is_driver_error, side
from dbbench.errors import ConfigError, Mentioning, QueryError, mention


@dataclass(frozen=True)
class Prepared:
    """What ``prepare`` did: the table (as messages name it), its rows, whether it made it
    (False: a data set of those rows was there), how long it took."""

    table: str
    rows: int
    created: bool
    seconds: float
    #: the dbbench that made the table
    version: str

    def said(self) -> Mentioning:
        """What the command says it did, in one line."""
        if self.created:
            return Mentioning(
                f"prepared the data set {self.table}: {row_count(self.rows)} in "
                f"{self.seconds:.1f} s"
            )
        return Mentioning(
            f"the data set {self.table} is there already: {row_count(self.rows)} (made by dbbench "
            f"{self.version}); {mention('recreate')} makes it anew"
        )


@dataclass(frozen=True)
class CleanedUp:
    """What ``cleanup`` did: the table, and the rows it held (None: there was none)."""

    table: str
    rows: int | None
    #: the rows its mark said (None: as many as it held)
    marked: int | None = None

    @property
    def dropped(self) -> bool:
        return self.rows is not None

    def said(self) -> str:
        """What the command says it did, in one line."""
        if self.rows is None:
            return f"no data set {self.table} to drop: nothing done"
        if self.marked is not None and self.marked != self.rows:
            return (
                f"dropped the data set {self.table} ({row_count(self.rows)}, of the "
                f"{row_count(self.marked)} its mark says: a load that did not finish)"
            )
        return f"dropped the data set {self.table} ({row_count(self.rows)})"


def row_count(rows: int) -> str:
    """``1 row``, ``1,000 rows``."""
    return f"{rows:,} row" if rows == 1 else f"{rows:,} rows"


def refuse_throwaway(command: str) -> ConfigError:
    """Why ``--server local`` makes no sense for ``command``: the server goes with it."""
    return ConfigError(
        f"dbbench {command} --server local: a throwaway server is removed when the command "
        "ends, and the data set with it; give the server that keeps it (--url, --host)"
    )


def dbbench_version() -> str:
    try:
        return metadata.version("dbbench")
    except metadata.PackageNotFoundError:
        return "unknown"


def require_writes(command: str, allow_writes: bool) -> None:
    """Refuse (``ConfigError``) ``dbbench prepare`` or ``cleanup`` given no ``allow_writes``:
    checked before anything else, a password prompt included."""
    if not allow_writes:
        action = "creates and fills" if command == "prepare" else "drops"
        raise ConfigError(
            f"dbbench {command} {action} the table dbbench_data: give {mention('allow_writes')}"
        )


def check_request(settings: Settings, allow_writes: bool, command: str) -> DatabaseSettings:
    """The server to put the data set in; refuses (``ConfigError``), before connecting, a
    command given no ``allow_writes``, or MySQL with no database to put the table in."""
    require_writes(command, allow_writes)
    database = settings.database
    if database.dialect != "postgresql" and not database.database:
        raise ConfigError(
            f"dbbench {command} needs a database for the table dbbench_data: give "
            f"{mentioned('database', 'database')}"
        )
    return database


@contextlib.contextmanager
def _cursor(database: DatabaseSettings) -> Iterator[Any]:
    with side_connection(database) as connection, connection.cursor() as cursor:
        yield cursor


def _run(cursor: Any, statements: list[str]) -> None:
    for statement in statements:
        cursor.execute(statement)


def _failed(exc: BaseException, what: str, database: DatabaseSettings) -> QueryError:
    return QueryError(
        f"cannot {what} on {database.describe()}: {error_message(exc)} (the data set needs "
        "the CREATE, INSERT, INDEX and DROP privileges)"
    )


def prepare(
    settings: Settings,
    rows: int,
    *,
    allow_writes: bool = False,
    recreate: bool = False,
    on_progress: Callable[[int, int], None] = lambda done, rows: None,
    say: Callable[[str], None] = lambda text: None,
    clock: Callable[[], float] = time.monotonic,
) -> Prepared:
    """Make the data set of ``rows`` rows in the settings' database (see the module's
    docstring); ``say`` is told what happened to a table a stopped load leaves."""
    try:
        check_rows(rows)
    except ValueError as exc:
        raise ConfigError(f"{mention('rows')} = {rows}: {exc}") from None
    database = check_request(settings, allow_writes, "prepare")
    started = clock()
    sql = data_set_sql(database)
    version = dbbench_version()
    try:
        with _cursor(database) as cursor:
            found = sql.find(cursor)
    except side.errors(database) as exc:
        raise _failed(exc, "look for the data set", database) from None
    if found.exists:
        there = _existing(found, rows, recreate)
        if there is not None:
            return Prepared(found.name, rows, False, clock() - started, there.version)
        _drop(sql, database)
    mark = Mark(rows, version, ready=False)
    _create(sql, database, mark, found)
    try:
        _load(sql, database, rows, mark, on_progress)
    except BaseException as exc:
        note = _drop_after(sql, database, found.name)
        if note is not None:
            raise QueryError(note) from None
        say(f"dbbench: prepare stopped; dropped the part-loaded table {found.name}")
        if isinstance(exc, Exception) and is_driver_error(exc):
            raise _failed(exc, f"fill {found.name}", database) from None
        raise
    return Prepared(found.name, rows, True, clock() - started, version)


def _existing(found: Found, rows: int, recreate: bool) -> Mark | None:
    """The mark of a data set that does (None: it is to be replaced); refuses a table that is
    not dbbench's, and one that does not do, unless ``recreate``."""
    mark = found.mark
    if mark is None:
        raise ConfigError(
            f"a table {found.name} exists and is not dbbench's data set (it has no dbbench "
            "mark): dbbench leaves it alone; drop or rename it, or give another "
            f"{mentioned('database', 'database')}"
        )
    if recreate:
        return None
    if not mark.ready:
        raise ConfigError(
            f"the data set {found.name} was not fully loaded (a load is under way, or one was "
            f"stopped): give {mention('recreate')} to replace it"
        )
    if mark.rows != rows:
        raise ConfigError(
            f"the data set {found.name} holds {mark.rows} row{'s' * (mark.rows != 1)}, not "
            f"{rows}: give "
            f"{mention('recreate')} to replace it, or run dbbench cleanup --allow-writes first"
        )
    return mark


def _create(sql: DataSetSql, database: DatabaseSettings, mark: Mark, found: Found) -> None:
    # held back: a Ctrl-C between CREATE and the ``try`` that drops it would leave a table
    # nobody knows to drop; acted on once the load begins
    with interruption.held():
        try:
            with _cursor(database) as cursor:
                _run(cursor, sql.create(mark))
        except side.errors(database) as exc:
            # made meanwhile by another prepare, or no privilege
            raise _failed(exc, f"create {found.name}", database) from None


def _load(
    sql: DataSetSql,
    database: DatabaseSettings,
    rows: int,
    mark: Mark,
    on_progress: Callable[[int, int], None],
) -> None:
    """The rows, a chunk a statement, then the index, the statistics and the ready mark."""
    patient = dataclasses.replace(
        database,
        read_timeout_s=max(database.read_timeout_s, LOAD_TIMEOUT_S),
        write_timeout_s=max(database.write_timeout_s, LOAD_TIMEOUT_S),
    )
    with _cursor(patient) as cursor:
        on_progress(0, rows)
        for first in range(1, rows + 1, CHUNK_ROWS):
            count = min(CHUNK_ROWS, rows - first + 1)
            cursor.execute(sql.insert(first, count, rows))
            on_progress(first + count - 1, rows)
        _run(cursor, sql.finish(dataclasses.replace(mark, ready=True)))


def _drop(sql: DataSetSql, database: DatabaseSettings) -> None:
    """Drop the data set's table (``find`` said it is dbbench's), not cut by a stop signal."""
    with interruption.held():
        try:
            with _cursor(database) as cursor:
                cursor.execute(sql.drop())
        except side.errors(database) as exc:
            raise _failed(exc, f"drop {sql.name()}", database) from None


def _drop_after(sql: DataSetSql, database: DatabaseSettings, name: str) -> str | None:
    """Drop the table a stopped load made; a note saying which table to drop, if that fails.
    A stop signal meanwhile is only noted: the drop is what it asks for."""
    with interruption.held(then_act=False):
        try:
            with _cursor(database) as cursor:
                cursor.execute(sql.drop())
        except Exception as exc:
            reason = error_message(exc) if is_driver_error(exc) else exc
            return (
                f"dbbench prepare stopped, and could not drop the part-loaded table {name} "
                f"({reason}); drop it yourself: DROP TABLE {name}"
            )
    return None


def cleanup(settings: Settings, *, allow_writes: bool = False) -> CleanedUp:
    """Drop the data set's table, if it is there and dbbench's; a table of that name without
    dbbench's mark is refused (``ConfigError``), left as it is."""
    database = check_request(settings, allow_writes, "cleanup")
    sql = data_set_sql(database)
    leaves = "dbbench cleanup drops only the table dbbench prepare made, and leaves this one alone"
    try:
        with _cursor(database) as cursor:
            found = sql.find(cursor)
            if not found.exists:
                return CleanedUp(found.name, None)
            if found.mark is None:
                raise ConfigError(
                    f"{found.name} is not dbbench's data set (it has no dbbench mark): {leaves}"
                )
            kind = sql.not_a_table(cursor)
            if kind is not None:
                raise ConfigError(
                    f"{found.name} is not dbbench's data set: it is {kind}, not a table, "
                    f"though marked as one; {leaves}"
                )
            columns = sql.columns(cursor)
            if columns != SHAPE:
                raise ConfigError(
                    f"{found.name} is not dbbench's data set: its columns are "
                    f"{shown_columns(columns)}, not {shown_columns(SHAPE)}, though it is "
                    f"marked as one; {leaves}"
                )
            rows = sql.count(cursor)
    except side.errors(database) as exc:
        raise _failed(exc, "look for the data set", database) from None
    _drop(sql, database)
    return CleanedUp(found.name, rows, found.mark.rows)
