"""The scratch table a write workload writes into: dbbench's own, created and dropped by it.

A write workload never touches a user's table.  dbbench makes up a name no
one uses (``dbbench_scratch_`` + 8 random hex digits), creates the table
with a plain ``CREATE TABLE`` -- which fails, rather than reuses, when a
table of that name exists -- and drops only a table it created itself.
The drop happens however the run ends (errors, Ctrl-C, SIGTERM, SIGHUP: the
caller drops it in a ``finally``); when it fails, the caller is told the table's
name so the user can drop it.  A stop signal cuts neither the creation (the
table made and known to be made) nor the drop in two (``interruption.held``).

This is a side channel outside the runners: it connects with the run's driver
(``drivers.side``), as the status monitor does.

``ScratchTable`` is MySQL's; another database's table (``databases.postgresql``) keeps its
life and fills in its SQL: ``quoted``, ``qualified_name``, ``create_statement``,
``already_exists``.
"""

from __future__ import annotations

import contextlib
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from dbbench import interruption
from dbbench.config.schema import mentioned
from dbbench.config.settings import DatabaseSettings
from dbbench.drivers import error_code, error_message, is_driver_error, side
from dbbench.drivers.diagnosis import connect_error
from dbbench.errors import ConfigError, QueryError

TABLE_PREFIX = "dbbench_scratch_"
#: what a scratch table's name looks like (used to find leftovers, and to refuse any other)
TABLE_NAME = re.compile(r"dbbench_scratch_[0-9a-f]{8}")
#: MySQL/MariaDB "table already exists"
TABLE_EXISTS = 1050

_COLUMNS = (
    "id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, "
    "connection_id BIGINT UNSIGNED NOT NULL, "
    "inserted_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)"
)


def new_table_name() -> str:
    """A fresh scratch table name: 32 random bits, so runs side by side do not collide."""
    return TABLE_PREFIX + secrets.token_hex(4)


def insert_statement(table: str) -> str:
    """The ``insert`` workload's statement: one row, recording which connection wrote it."""
    check_name(table)
    return f"INSERT INTO `{table}` (connection_id) VALUES (CONNECTION_ID())"


def check_name(table: str) -> None:
    # the name is interpolated into SQL: only ever one of ours
    if not TABLE_NAME.fullmatch(table):
        raise ValueError(f"{table!r} is not a dbbench scratch table name")


@contextlib.contextmanager
def side_connection(database: DatabaseSettings) -> Iterator[Any]:
    """An autocommit connection of dbbench's own with the run's driver, closed after."""
    try:
        connection = side.connect(database, autocommit=True)
    except side.errors(database) as exc:
        raise connect_error(exc, database) from exc
    with contextlib.closing(connection):
        yield connection


def require_database(database: DatabaseSettings, workload: str) -> str:
    """The database the scratch table goes into; refuses when none is configured."""
    if not database.database:
        raise ConfigError(
            f"the {workload} workload creates a scratch table and needs a database to put it "
            f"in: give {mentioned('database', 'database')}"
        )
    return database.database


@dataclass
class ScratchTable:
    """One scratch table's life: ``create()``, the run, ``count_rows()``, ``drop()``."""

    database: DatabaseSettings
    name: str
    #: True once this object created the table and until it dropped it
    created: bool = False

    @staticmethod
    def quoted(identifier: str) -> str:
        """``identifier`` as the server's SQL quotes a name."""
        return f"`{identifier}`"

    @property
    def qualified_name(self) -> str:
        """The table as messages name it (and ``DROP TABLE`` of a leftover can take it)."""
        return f"{self.quoted(str(self.database.database))}.{self.quoted(self.name)}"

    def create_statement(self) -> str:
        return f"CREATE TABLE {self.quoted(self.name)} ({_COLUMNS}) ENGINE=InnoDB"

    def already_exists(self, exc: BaseException) -> bool:
        """Whether ``exc``, raised by ``create_statement``, says the table exists."""
        return error_code(exc) == TABLE_EXISTS

    def create(self) -> None:
        """Create the table; refuse (``ConfigError``) when a table of that name exists."""
        check_name(self.name)
        # held back: a Ctrl-C between CREATE and ``created = True`` would leave
        # a table nobody knows to drop; acted on once it is known
        with (
            interruption.held(),
            side_connection(self.database) as connection,
            connection.cursor() as cursor,
        ):
            try:
                cursor.execute(self.create_statement())
                self.created = True
            except side.errors(self.database) as exc:
                if self.already_exists(exc):
                    raise ConfigError(
                        f"a table {self.qualified_name} already exists; dbbench writes only "
                        "into a scratch table it creates itself, so it leaves that one alone "
                        "(run again for a new name)"
                    ) from None
                raise QueryError(
                    f"cannot create the scratch table {self.qualified_name} on "
                    f"{self.database.describe()}: {error_message(exc)} "
                    "(the write workloads need the CREATE and DROP privileges)"
                ) from None

    def count_rows(self) -> int:
        """``SELECT COUNT(*)``: the rows the workload committed."""
        with side_connection(self.database) as connection, connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM {self.quoted(self.name)}")
            (count,) = cursor.fetchone()
        return int(count)

    def drop(self) -> str | None:
        """Drop the table if this object created it; returns a note when that failed.

        A stop signal during the drop is held back until it is done (the drop
        is what it asks for), and left to the caller to act on: the note, if any,
        is not lost to it (``interruption.held``).
        """
        if not self.created:
            return None
        with interruption.held(then_act=False):
            try:
                with side_connection(self.database) as connection, connection.cursor() as cursor:
                    cursor.execute(f"DROP TABLE {self.quoted(self.name)}")
            except Exception as exc:
                reason = error_message(exc) if is_driver_error(exc) else exc
                return (
                    f"could not drop the scratch table {self.qualified_name} ({reason}); "
                    f"drop it yourself: DROP TABLE {self.qualified_name}"
                )
            self.created = False
        return None
