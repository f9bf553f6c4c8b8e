"""``orm``: a mapped row of the data set by its primary key, ``session.get``, per operation.

What an application on the ORM runs for one request that loads an object by its
key, on the very same engine and pool settings as ``pool``, ``core`` and ``session``
(``PoolRunner`` builds them), under the point-get workload (``workload.PointGet``):

    Session = sessionmaker(bind=engine)
    ...
    with Session() as session:
        row = session.get(DataRow, id)

``DataRow`` is a declarative class mapped to the data set's table, ``dbbench_data``,
with its four columns (``databases.dataset``): ``session.get`` sends ``SELECT
dbbench_data.id, dbbench_data.k, dbbench_data.c, dbbench_data.pad FROM dbbench_data
WHERE dbbench_data.id = ?``, which is point-get's statement, the one every other runner
of the run sends for the same uniform draw of an id in 1 .. rows.  Each session is new,
so is its identity map: every get misses it, sends the SELECT and builds an object of
the row (its instance state, the identity map's entry), the work ``session``'s
``execute(text(...))`` does not do.  As ``session``'s, all of the session's life is
timed: its construction, the autobegin, the checkout inside the get, the rollback and
the checkin at the end of the ``with``; the ``sessionmaker``'s defaults are kept, and
SQLAlchemy's: the get's SELECT compiled once and found in the engine's
``compiled_cache`` after that.  No checkout time of its own is reported.

The runner refuses every other workload (``scenarios.benchmark.check_row_runners``),
and a run without the data set stops before anything is measured, as point-select's.
"""

from __future__ import annotations

import functools
from typing import Any

from dbbench.runners.session import SessionRunner


@functools.cache
def data_row_class() -> type:
    """The declarative class mapped to ``dbbench_data``, every column (made once: a
    mapped class belongs to its registry for good)."""
    from sqlalchemy import CHAR, Integer
    from sqlalchemy.orm import DeclarativeBase, mapped_column

    from dbbench.databases.dataset import TABLE

    class Base(DeclarativeBase):
        pass

    class DataRow(Base):
        __tablename__ = TABLE

        # no annotations: they would be strings here (__future__), in a function's scope
        id = mapped_column(Integer, primary_key=True, autoincrement=False)
        k = mapped_column(Integer, nullable=False)
        c = mapped_column(CHAR(120), nullable=False)
        pad = mapped_column(CHAR(60), nullable=False)

    return DataRow


class OrmRunner(SessionRunner):
    name = "orm"
    operation = "Session(), get(DataRow, id), close (SQLAlchemy ORM, a mapped row; point-get)"
    loads_mapped_rows = True
    explained_as = None

    def open(self) -> None:
        super().open()
        self.mapped: Any = data_row_class()

    def run_once(self, worker: int = 0) -> None:
        with self.sessions() as session:
            self.workload.get(session, self.mapped)
