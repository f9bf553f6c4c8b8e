"""``async-session``: ``session``'s operation with an ``AsyncSession``, on ``async-pool``'s engine.

The same engine, pool, asyncio driver (aiomysql; asyncpg on PostgreSQL) and
tasks as ``async-pool`` (``AsyncPoolRunner`` builds them), and what an asyncio
application on the ORM awaits for one request that executes a statement:

    Session = async_sessionmaker(bind=engine)
    ...
    async with Session() as session:
        (await session.execute(text(query))).fetchall()

All of the session's life is timed, as for ``session``: its construction, the
autobegin, the checkout inside the first execute, the rollback and checkin
when it closes (and the insert workload's commit, through the session).  The
``async_sessionmaker``'s defaults are kept (``expire_on_commit``, autobegin), as
are SQLAlchemy's: the ``text()`` is made once per runner and its compilation
found in the engine's ``compiled_cache``.  No checkout time of its own is
reported: it happens inside ``execute``.
"""

from __future__ import annotations

from typing import Any

from dbbench.runners.async_pool import AsyncPoolRunner


class AsyncSessionRunner(AsyncPoolRunner):
    name = "async-session"
    operation = (
        "AsyncSession(), execute(text(query)), fetch, close (SQLAlchemy ORM, asyncio tasks)"
    )

    async def open_async(self) -> None:
        from sqlalchemy.ext.asyncio import async_sessionmaker

        await super().open_async()
        self.sessions: Any = async_sessionmaker(bind=self._async_engine)

    async def run_once_async(self, worker: int = 0) -> None:
        async with self.sessions() as session:
            await self.workload.run_through_async(session, self.statement)
