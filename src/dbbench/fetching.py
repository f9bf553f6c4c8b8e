"""A read's rows, fetched and counted: what every operation does with a result (the
query's, ``workload.Workload``; each script statement's, ``scripts.run``)."""

from __future__ import annotations

from typing import Any


def fetch_all(cursor: Any) -> int:
    """The rows of a read, counted; 0 for a statement that produced none.

    ``cursor.description`` is not asked first: psycopg builds it anew on every
    call (a Column object per column, some 7 µs of CPU a ``SELECT 1`` on this
    machine, 15% of a persistent operation), which a hand-written loop, and
    pgbench, never pay.  A read produces rows; the rare one that does not
    (psycopg and psycopg2 raise on fetching it, the MySQL drivers return none)
    pays for the question only then.
    """
    try:
        return len(cursor.fetchall())
    except Exception:
        if cursor.description is None:
            return 0
        raise
