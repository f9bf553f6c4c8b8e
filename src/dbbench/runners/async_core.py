"""``async-core``: ``core``'s operation on ``async-pool``'s engine: SQLAlchemy Core on asyncio.

The same engine, pool, asyncio driver (aiomysql; asyncpg on PostgreSQL) and
tasks as ``async-pool`` (``AsyncPoolRunner`` builds them), and what an asyncio
application on Core awaits for one request:

    async with engine.connect() as connection:
        (await connection.execute(text(query))).fetchall()

Where ``async-pool`` runs its whole operation in one ``greenlet_spawn``, each
step here is its own: the connect (the checkout), the execute, the close
(rollback and checkin), and the commit of the insert workload.  The ``text()``
is made once per runner and its compilation found in the engine's
``compiled_cache`` (SQLAlchemy's defaults); the rows arrive buffered, as the
asyncio dialects buffer them, and are fetched from there.

The checkout a result reports is the ``async with``'s entry: ``engine.connect()``
started, the pool's checkout inside it.
"""

from __future__ import annotations

import time

from dbbench.runners.async_pool import AsyncPoolRunner


class AsyncCoreRunner(AsyncPoolRunner):
    name = "async-core"
    operation = (
        "engine.connect(), execute(text(query)), fetch, close (SQLAlchemy Core, asyncio tasks)"
    )

    async def run_once_async(self, worker: int = 0) -> int:
        clock = time.perf_counter_ns
        start = clock()
        async with self._async_engine.connect() as connection:
            checkout_ns = clock() - start
            await self.workload.run_through_async(connection, self.statement)
        return checkout_ns
