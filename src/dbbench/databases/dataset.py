"""The data set the built-in read workloads read: dbbench's own table, ``dbbench_data``.

``dbbench prepare --rows N`` fills it and ``dbbench cleanup`` drops it
(``scenarios.dataset``); this module holds its shape, its mark and its SQL.  Its shape
is sysbench's ``sbtest`` table (``oltp_common.lua``), so that a point select here is one
there:

- ``id``: 1 .. N, the primary key (sysbench's point select reads ``WHERE id = ?``);
- ``k``: a random whole number in 1 .. N, with an index of its own, made once the rows are
  in (a load into an indexed table is slower, as sysbench's own ``prepare`` knows);
- ``c``: ``CHAR(120)``, ten groups of eleven random digits joined by ``-`` (119 characters);
- ``pad``: ``CHAR(60)``, five such groups (59 characters).

The values mean nothing: they are as wide as sysbench's, so that a row weighs what it
weighs there, and random, so that they compress as badly.  The server makes them itself
(``INSERT ... SELECT``: MariaDB's ``seq_1_to_N`` or a join of digits, PostgreSQL's
``generate_series``), a chunk of rows per statement, so a million rows take seconds and no
row crosses the network.

The table is marked as dbbench's by its comment (``COMMENT`` on MySQL, ``COMMENT ON
TABLE`` on PostgreSQL): "dbbench data set: 1000 rows, dbbench 0.9.0, ready" (``Mark``).
A table of that name without the mark is somebody else's: dbbench neither fills nor drops
it.  While the rows go in the mark says "loading", so that a load stopped dead (a killed
process, a lost server) leaves a table that says what it is.  ``read_data_set`` is what a
workload calls to learn the rows it may read
(``databases.read_data_set``).

``DataSetSql`` is MySQL's and MariaDB's SQL; ``databases.postgresql_dataset`` fills in
PostgreSQL's; each dialect's plug-in gives its own (``Database.data_set_sql``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from dbbench.config.settings import DatabaseSettings

#: the data set's table: a fixed name, so that every workload finds it
TABLE = "dbbench_data"
#: its secondary index, on ``k``
INDEX = "dbbench_data_k"
#: rows each statement of the load inserts: about 50 ms of the server's time each
CHUNK_ROWS = 10_000
#: the largest data set: ``id`` and ``k`` are ``INTEGER`` (sysbench's), 2^31 - 1 at most
MAX_ROWS = 2_000_000_000
#: a statement of the load (the index of a large table) may take this long
LOAD_TIMEOUT_S = 3600.0

NO_DATA_SET = "no data set: run dbbench prepare --rows N --allow-writes"

_MARK = re.compile(r"dbbench data set: (\d+) rows, dbbench (\S+), (ready|loading)")


@dataclass(frozen=True)
class Mark:
    """What the table's comment says: its rows, the dbbench that made it, whether the rows
    are all in (``ready``) or were still going in (a load under way, or one stopped dead)."""

    rows: int
    version: str
    ready: bool

    def text(self) -> str:
        state = "ready" if self.ready else "loading"
        return f"dbbench data set: {self.rows} rows, dbbench {self.version}, {state}"

    @classmethod
    def parse(cls, comment: str | None) -> Mark | None:
        """The mark a comment holds; None for any other comment (or none)."""
        match = _MARK.fullmatch((comment or "").strip())
        if match is None:
            return None
        return cls(int(match[1]), match[2], match[3] == "ready")


@dataclass(frozen=True)
class Found:
    """What ``DataSetSql.find`` found under the table's name."""

    #: a table (or view) of that name is there
    exists: bool
    #: its mark: None when there is none (not dbbench's, or nothing there)
    mark: Mark | None
    #: the table as messages name it (database, schema, table)
    name: str

    @property
    def ours(self) -> bool:
        return self.mark is not None


def check_rows(rows: int) -> int:
    """``rows`` when a data set can have that many (1 .. ``MAX_ROWS``); ValueError otherwise."""
    if not 1 <= rows <= MAX_ROWS:
        raise ValueError(f"must be between 1 and {MAX_ROWS}")
    return rows


def random_digits(groups: int, group: str) -> str:
    """SQL for ``groups`` groups of eleven random digits joined by ``-``, as sysbench's
    ``###########-###########``: each ``group`` a random number below 10^11, left-padded."""
    return "CONCAT_WS('-', " + ", ".join([group] * groups) + ")"


#: sysbench's columns, in SQL both dialects read alike
COLUMNS = (
    "id INTEGER NOT NULL PRIMARY KEY, "
    "k INTEGER NOT NULL DEFAULT 0, "
    "c CHAR(120) NOT NULL DEFAULT '', "
    "pad CHAR(60) NOT NULL DEFAULT ''"
)

#: the columns as the server's information_schema.COLUMNS describes them: name, type,
#: length (``DataSetSql.columns``); a marked table with other columns is not the data set
SHAPE = (("id", "int", None), ("k", "int", None), ("c", "char", 120), ("pad", "char", 60))


def shown_columns(columns: tuple[tuple[str, str, int | None], ...]) -> str:
    """``id int, c char(120)``: columns as a message names them."""
    return ", ".join(f"{n} {t}" + (f"({length})" if length else "") for n, t, length in columns)


_DIGITS = " UNION ALL ".join(f"SELECT {d}" + (" AS d" if d == 0 else "") for d in range(10))
#: 0 .. 9999 with no table and no setting: four joined copies of the digits
_NUMBERS = (
    "(SELECT a.d + 10 * b.d + 100 * c.d + 1000 * e.d AS n FROM "
    + ", ".join(f"({_DIGITS}) AS {alias}" for alias in "abce")
    + ")"
)


class DataSetSql:
    """The data set's SQL on MySQL and MariaDB; a connection is given to each call that
    talks to the server (``drivers.side``, with the run's driver)."""

    def __init__(self, database: DatabaseSettings) -> None:
        self.database = database
        #: MariaDB's SEQUENCE engine (``seq_1_to_N``): known once ``find`` ran
        self.sequences = False

    @staticmethod
    def quoted(identifier: str) -> str:
        return f"`{identifier}`"

    @staticmethod
    def literal(text: str) -> str:
        """``text`` as a string literal: dbbench's own text (its mark), which has no quote
        or backslash to escape."""
        assert "'" not in text and "\\" not in text, text
        return f"'{text}'"

    def name(self) -> str:
        """The table as messages name it."""
        return f"{self.quoted(str(self.database.database))}.{self.quoted(TABLE)}"

    #: the query of the table's comment in the session's database: one row, or none
    comment_query = (
        "SELECT TABLE_COMMENT FROM information_schema.TABLES "
        f"WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '{TABLE}'"
    )
    #: what makes the server gather the table's statistics
    analyze = "ANALYZE TABLE"
    #: eleven random digits: a random number below 10^11, left-padded with zeros
    group = "LPAD(FLOOR(RAND() * 100000000000), 11, '0')"
    #: a random whole number in 1 .. rows
    key = "FLOOR(1 + RAND() * {rows})"

    def find(self, cursor: Any) -> Found:
        """What is there under the table's name, with its mark, in the session's database."""
        cursor.execute(
            "SELECT ENGINE FROM information_schema.ENGINES "
            "WHERE ENGINE = 'SEQUENCE' AND SUPPORT IN ('YES', 'DEFAULT')"
        )
        self.sequences = cursor.fetchone() is not None
        return self._found(cursor)

    def _found(self, cursor: Any) -> Found:
        cursor.execute(self.comment_query)
        row = cursor.fetchone()
        if row is None:
            return Found(False, None, self.name())
        return Found(True, Mark.parse(row[0]), self.name())

    #: the table's columns, in order: name, type, length (the session's database)
    columns_query = (
        "SELECT COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH FROM information_schema.COLUMNS "
        f"WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '{TABLE}' ORDER BY ORDINAL_POSITION"
    )
    #: what information_schema calls the types of ``SHAPE``, where it differs
    type_names: dict[str, str] = {}

    def columns(self, cursor: Any) -> tuple[tuple[str, str, int | None], ...]:
        """The columns of the table under the data set's name, as ``SHAPE`` spells them."""
        cursor.execute(self.columns_query)
        return tuple(
            (str(name).lower(), self.type_names.get(str(kind).lower(), str(kind).lower()),
             None if length is None else int(length))
            for name, kind, length in cursor.fetchall()
        )  # fmt: skip

    def not_a_table(self, cursor: Any) -> str | None:
        """What the object under the data set's name is when it is no table (a view), or
        None.  MySQL's views have no comment of their own, so no mark: never asked there."""
        return None

    def count(self, cursor: Any) -> int:
        """The rows the table holds."""
        cursor.execute(f"SELECT COUNT(*) FROM {self.quoted(TABLE)}")
        return int(cursor.fetchone()[0])

    def create(self, mark: Mark) -> list[str]:
        """The statements that create the table, marked, without its secondary index."""
        return [
            f"CREATE TABLE {self.quoted(TABLE)} ({COLUMNS}) "
            f"ENGINE=InnoDB COMMENT={self.literal(mark.text())}"
        ]

    def marking(self, mark: Mark) -> str:
        """The statement that sets the table's mark."""
        return f"ALTER TABLE {self.quoted(TABLE)} COMMENT={self.literal(mark.text())}"

    def values(self, rows: int) -> str:
        """``k, c, pad``'s values, as the server makes them."""
        return (
            f"{self.key.format(rows=rows)}, "
            f"{random_digits(10, self.group)}, {random_digits(5, self.group)}"
        )

    def insert(self, first: int, count: int, rows: int) -> str:
        """Rows ``first`` .. ``first + count - 1`` of a data set of ``rows`` (count at most
        ``CHUNK_ROWS``)."""
        columns = f"INSERT INTO {self.quoted(TABLE)} (id, k, c, pad) "
        if self.sequences:
            return (
                f"{columns}SELECT {first - 1} + seq, {self.values(rows)} FROM seq_1_to_{count}"
            )
        return (
            f"{columns}SELECT {first} + n, {self.values(rows)} FROM {_NUMBERS} AS numbers "
            f"WHERE n < {count}"
        )

    def finish(self, mark: Mark) -> list[str]:
        """Once the rows are in: the secondary index, the statistics, the mark made ready."""
        table = self.quoted(TABLE)
        return [
            f"CREATE INDEX {self.quoted(INDEX)} ON {table} (k)",
            f"{self.analyze} {table}",
            self.marking(mark),
        ]

    def drop(self) -> str:
        return f"DROP TABLE {self.quoted(TABLE)}"
