"""The data set's SQL on PostgreSQL (``databases.dataset`` holds its shape and its reasons).

The table goes into the session's ``current_schema()`` (the first of the ``search_path``
that exists: ``public`` normally), and is looked for there only.  Its mark is a ``COMMENT
ON TABLE``, made in the transaction that creates it, so the table is never there unmarked;
the rows come from ``generate_series``, their values from ``random()``.
"""

from __future__ import annotations

from typing import Any

from dbbench.databases.dataset import COLUMNS, TABLE, DataSetSql, Found, Mark

#: pg_class's relkind of what is no plain table, in words
_KINDS = {
    "v": "a view", "m": "a materialized view", "f": "a foreign table",
    "p": "a partitioned table", "S": "a sequence", "i": "an index", "c": "a composite type",
}  # fmt: skip


class PostgresDataSetSql(DataSetSql):
    comment_query = (
        "SELECT obj_description(c.oid, 'pg_class') FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        f"WHERE n.nspname = current_schema() AND c.relname = '{TABLE}'"
    )
    columns_query = (
        "SELECT column_name, data_type, character_maximum_length FROM information_schema.columns "
        f"WHERE table_schema = current_schema() AND table_name = '{TABLE}' "
        "ORDER BY ordinal_position"
    )
    type_names = {"integer": "int", "character": "char"}
    analyze = "ANALYZE"
    group = "LPAD(FLOOR(random() * 100000000000)::bigint::text, 11, '0')"
    key = "FLOOR(1 + random() * {rows})::integer"

    #: where ``find`` found the session: its database and schema
    where: tuple[str, str] = ("", "public")

    @staticmethod
    def quoted(identifier: str) -> str:
        return '"' + identifier.replace('"', '""') + '"'

    def name(self) -> str:
        return ".".join(self.quoted(part) for part in (*self.where, TABLE))

    def find(self, cursor: Any) -> Found:
        cursor.execute("SELECT current_database(), current_schema()")
        database, schema = cursor.fetchone()
        self.where = (database, schema or "public")
        return self._found(cursor)

    def not_a_table(self, cursor: Any) -> str | None:
        cursor.execute(
            "SELECT c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            f"WHERE n.nspname = current_schema() AND c.relname = '{TABLE}'"
        )
        row = cursor.fetchone()
        kind = None if row is None else str(row[0])
        return None if kind in (None, "r") else _KINDS.get(kind, f"of the kind {kind!r}")

    def create(self, mark: Mark) -> list[str]:
        # one transaction: the table is never there without its mark
        return [
            "BEGIN",
            f"CREATE TABLE {self.quoted(TABLE)} ({COLUMNS})",
            self.marking(mark),
            "COMMIT",
        ]

    def marking(self, mark: Mark) -> str:
        return f"COMMENT ON TABLE {self.quoted(TABLE)} IS {self.literal(mark.text())}"

    def insert(self, first: int, count: int, rows: int) -> str:
        return (
            f"INSERT INTO {self.quoted(TABLE)} (id, k, c, pad) "
            f"SELECT i, {self.values(rows)} FROM generate_series({first}, {first + count - 1}) AS i"
        )
