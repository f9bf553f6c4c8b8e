"""What one benchmark operation does once it has a connection: run the query, fetch all rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Workload:
    query: str

    def run_on(self, connection: Any) -> int:
        """Execute the query on a DB-API connection and fetch every row; returns the row count.

        Every runner calls this same method, so each times the same work.
        """
        cursor = connection.cursor()
        try:
            cursor.execute(self.query)
            return len(cursor.fetchall())
        finally:
            cursor.close()
