"""``core``: SQLAlchemy Core on ``pool``'s pool: ``engine.connect()``, ``execute(text(...))``.

Where ``pool`` times the pool's own cost (``raw_connection()``, the DB-API
cursor, checkin), this is what an application on SQLAlchemy Core runs for
one request, on the very same engine and pool settings (``PoolRunner``
builds both):

    with engine.connect() as connection:
        connection.execute(text(query)).fetchall()

The difference from ``pool`` is Core's own machinery: the ``Connection``
with its autobegun transaction, the statement's compilation looked up in the
engine's ``compiled_cache`` (the ``text()`` is made once per runner; SQLAlchemy
compiles it on the first execute and finds it in the cache after that: its
defaults, which is what applications get, are kept), the execution context,
the ``CursorResult`` and its rows.  At the end of the ``with``, the
``Connection`` rolls its transaction back and checks the connection in; the
pool's ``reset_on_return`` skips its own rollback then (SQLAlchemy knows the
transaction was reset), but a ``commit`` reset still commits.  The insert
workload commits through the ``Connection`` (``Workload.run_through``).

The checkout a result reports is the ``with`` statement's entry:
``engine.connect()``, the pool's checkout inside it.
"""

from __future__ import annotations

import time

from dbbench.runners.pool import PoolRunner


class CoreRunner(PoolRunner):
    name = "core"
    runs_scripts = False
    runs_prepared = False
    operation = "engine.connect(), execute(text(query)), fetch, close (SQLAlchemy Core)"
    swept = False
    explained_as = "layers"

    def run_once(self, worker: int = 0) -> int:
        clock = time.perf_counter_ns
        start = clock()
        with self._engine.connect() as connection:
            checkout_ns = clock() - start
            self.workload.run_through(connection, self.statement)
        return checkout_ns
