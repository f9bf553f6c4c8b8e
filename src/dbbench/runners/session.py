"""``session``: an ORM ``Session`` from a ``sessionmaker`` on ``pool``'s engine, per operation.

What an application on the ORM runs for one request that executes a
statement, on the very same engine and pool settings as ``pool`` and ``core``
(``PoolRunner`` builds both):

    Session = sessionmaker(bind=engine)
    ...
    with Session() as session:
        session.execute(text(query)).fetchall()

All of the session's life is timed: its construction, the autobegin of its
transaction, the checkout when the first statement needs a connection, the
``Connection`` it executes on (Core's machinery, as ``core``'s), and at the end
of the ``with`` the rollback and the checkin (and a ``commit`` the pool's
``reset_on_return`` asks for).  The insert workload commits through the session
(``Workload.run_through``).  The ``sessionmaker``'s defaults are kept
(``expire_on_commit``, autobegin), as are SQLAlchemy's: the ``text()`` is made
once per runner and its compilation found in the engine's ``compiled_cache``.

The checkout happens inside ``execute``, as in an application, so there is no
checkout time of its own to report.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import sessionmaker

from dbbench.runners.pool import PoolRunner


class SessionRunner(PoolRunner):
    name = "session"
    runs_scripts = False
    runs_prepared = False
    operation = "Session(), execute(text(query)), fetch, close (SQLAlchemy ORM sessionmaker)"
    swept = False
    explained_as = "layers"

    def open(self) -> None:
        super().open()
        self.sessions: Any = sessionmaker(bind=self._engine)

    def run_once(self, worker: int = 0) -> None:
        with self.sessions() as session:
            self.workload.run_through(session, self.statement)
