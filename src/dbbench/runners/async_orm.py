"""``async-orm``: ``orm``'s operation with an ``AsyncSession``, on ``async-pool``'s engine.

The same engine, pool, asyncio driver (aiomysql; asyncpg on PostgreSQL) and tasks as
``async-pool`` (``AsyncPoolRunner`` builds them), and what an asyncio application on
the ORM awaits for one request that loads an object by its key, under the point-get
workload:

    Session = async_sessionmaker(bind=engine)
    ...
    async with Session() as session:
        row = await session.get(DataRow, id)

``DataRow`` is ``orm``'s mapped class (``runners.orm``): the same SELECT of the four
columns by the id, a new session and identity map each time, so every get builds an
object; all of the session's life is timed, as ``async-session``'s.
"""

from __future__ import annotations

from typing import Any

from dbbench.runners.async_session import AsyncSessionRunner
from dbbench.runners.orm import data_row_class


class AsyncOrmRunner(AsyncSessionRunner):
    name = "async-orm"
    operation = (
        "AsyncSession(), get(DataRow, id), close (SQLAlchemy ORM, asyncio tasks; point-get)"
    )
    loads_mapped_rows = True

    async def open_async(self) -> None:
        await super().open_async()
        self.mapped: Any = data_row_class()

    async def run_once_async(self, worker: int = 0) -> None:
        async with self.sessions() as session:
            await self.workload.get_async(session, self.mapped)
