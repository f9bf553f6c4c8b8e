"""The runner interface: one way of getting a connection for an operation.

The harness drives every runner through the same three steps:

1. ``open()``: prepare (create the pool, open the persistent connection).
   The harness times ``open()`` together with the first operation and reports
   it as the runner's cold start, apart from the steady state.
2. ``run_once(worker)``: one whole operation -- get a connection, run the
   workload, give the connection back -- raising on failure.  The harness
   times it.  Several worker threads call it at once, each with its own
   ``worker`` number (0, 1, ...); a runner that reports how long getting a
   connection took returns that, in nanoseconds.
3. ``close()``: release everything; called even after a failure.

``counters()`` and ``checked_out()`` report what a pool did, for runners
that have one.

What sets one runner apart from the others is said by its class attributes
(``connects_per_operation``, ``holds_pool``, ``is_baseline``, ...), read by
the connection budget, the findings, explain and the sweep; nothing tests a
runner's name.  A new runner is a subclass with its traits, and one line in
``RUNNERS`` (``runners/__init__.py``).

``AsyncRunner`` is the same interface for runners whose operations are
coroutines: the harness runs its workers as asyncio tasks, not threads.

A runner connects through a ``Driver`` (``dbbench.drivers``): the one
``[database] driver`` names, or the one given.  With several drivers in one
run each runner runs once per driver, labelled ``raw/mysqlclient`` and so on.
"""

from __future__ import annotations

import abc
import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any, ClassVar, TypeVar

from dbbench import interruption
from dbbench.config.settings import DatabaseSettings, Settings
from dbbench.drivers import Driver, get_driver
from dbbench.runners.poolstats import PoolCounters
from dbbench.workload import Workload, workload_for

T = TypeVar("T")



class CountedConnect:
    """A runner's connect (``Driver.connector``), counting its attempts and those that
    failed, from any of the runner's threads: a connect refused by a server or pooler that
    is gone is no connection made, however many times a runner tries."""

    def __init__(self, connect: Callable[[], Any]) -> None:
        self._connect = connect
        self._lock = threading.Lock()  # ~0.1 µs: nothing next to a connect
        self.attempts = 0
        self.failed = 0

    def __call__(self) -> Any:
        with self._lock:
            self.attempts += 1
        try:
            return self._connect()
        except BaseException:
            with self._lock:
                self.failed += 1
            raise


class Runner(abc.ABC):
    #: the name used on the command line and in results
    name: ClassVar[str]
    #: one line for ``--help`` and the README: what one operation includes
    operation: ClassVar[str]

    # --- traits ---
    #: opens a new connection for every operation and closes it (raw, nullpool): the
    #: driver's connect costs are in its numbers, and each worker holds a connection
    #: during its turns only
    connects_per_operation: ClassVar[bool] = False
    #: of those, ends the transaction its driver opened before it closes (nullpool: the
    #: pool's reset on return); raw closes inside it, which a server-side pooler cannot
    #: reuse the server connection after (``output.findings``)
    resets_before_close: ClassVar[bool] = False
    #: keeps a pool of connections open all run long (pool, async-pool)
    holds_pool: ClassVar[bool] = False
    #: built from the [pool] settings, which its results show (the pool runners)
    uses_pool_settings: ClassVar[bool] = False
    #: holds one connection per worker all run long (persistent)
    holds_connection_per_worker: ClassVar[bool] = False
    #: runs once per driver when several are given; False for one with a driver of its own
    per_driver: ClassVar[bool] = True
    #: its operations are coroutines, run as asyncio tasks (``AsyncRunner``)
    is_async: ClassVar[bool] = False
    #: the runner every other one's speedup is computed against (raw)
    is_baseline: ClassVar[bool] = False
    #: a sweep varies this runner's pool settings, and its figures fill the cells (pool)
    swept: ClassVar[bool] = False
    #: runs a ``--script`` on the DB-API connection it gets (``ScriptWorkload.run_on``);
    #: False for those that execute through SQLAlchemy's ``Connection`` or ``Session``, or
    #: asynchronously, which a script's statements are not run through
    runs_scripts: ClassVar[bool] = True
    #: sends its statements as server-side prepared statements where asked (``[benchmark]
    #: prepared``: the workload's cursor, ``Driver.cursor_factory``), on the DB-API
    #: connection it gets; False for those that execute through SQLAlchemy, or asyncio
    runs_prepared: ClassVar[bool] = True
    #: its operation loads a mapped row of the data set by primary key (``session.get``,
    #: the orm runners): it runs under the point-get workload only
    loads_mapped_rows: ClassVar[bool] = False
    #: how ``dbbench explain`` splits its operation into phases: "connect" (a new
    #: connection), "checkout" (a pool's), "reuse" (one kept), "layers" (SQLAlchemy's
    #: Core or ORM over a pool's connection); None: explain cannot
    explained_as: ClassVar[str | None] = None

    def __init__(
        self,
        database: DatabaseSettings,
        workload: Workload,
        *,
        driver: Driver | None = None,
        label: str | None = None,
    ) -> None:
        self.driver: Driver = driver if driver is not None else get_driver(database.driver)
        # a script's statements are bound in the driver's paramstyle (``ScriptWorkload``);
        # statements prepared, or not, as the variant says (``[benchmark] prepared``)
        for_driver = getattr(workload, "for_driver", None)
        self.workload = (
            for_driver(self.driver, database.prepared) if for_driver is not None else workload
        )
        #: opens one connection: the driver's connect with its arguments worked out once
        self._connect = CountedConnect(self.driver.connector(database))
        if label is not None:
            self.name = label  # e.g. "raw/mysqlclient": the name in results

    @classmethod
    def from_settings(
        cls, settings: Settings, driver_name: str | None = None, *, label: str | None = None
    ) -> Runner:
        """This runner as ``settings`` configure it; with ``driver_name``, connecting with
        that driver and labelled ``raw/DRIVER`` (a runner that is not ``per_driver``
        ignores it); ``label``: its name in results otherwise (``pool@new``)."""
        arguments = (settings.database, workload_for(settings.benchmark), *cls._sections(settings))
        if label is None and driver_name and cls.per_driver:
            label = f"{cls.name}/{driver_name}"
        label = None if label == cls.name else label
        if not cls.per_driver:
            return cls(*arguments, label=label)
        return cls(
            *arguments,
            driver=get_driver(driver_name or settings.database.driver),
            label=label,
        )

    @classmethod
    def _sections(cls, settings: Settings) -> tuple[Any, ...]:
        """The settings the constructor takes after the database and the workload."""
        return ()

    @classmethod  # noqa: B027 - nothing to check by default
    def check_available(cls, where: str) -> None:
        """Raise a one-line ConfigError when what this runner imports is not installed
        (``where``: the flag or key that asked for it)."""

    def open(self) -> None:  # noqa: B027 - optional step, empty by default
        """Prepare before the first operation."""

    @abc.abstractmethod
    def run_once(self, worker: int = 0) -> int | None:
        """Run one whole operation; raise on failure.

        Returns the nanoseconds spent getting the connection (a pool's
        checkout), or None where that is not a separate step.
        """

    def close(self) -> None:  # noqa: B027 - optional step, empty by default
        """Release connections; must be safe to call after a failed ``open()``."""

    def connections_opened(self) -> int:
        """Physical connections this runner opened so far (to check against the server's count)."""
        return 0

    def connects_failed(self) -> int:
        """Of ``connections_opened``, the connects that failed (attempted, never made: the
        server, or the pooler in front of it, gone or refusing)."""
        return self._connect.failed

    def counters(self) -> PoolCounters | None:
        """What the pool did so far, for runners with a pool."""
        return None

    def checked_out(self) -> int | None:
        """Pool connections checked out right now, for runners with a pool."""
        return None


class AsyncRunner(Runner):
    """A runner whose operations are coroutines, run as asyncio tasks instead of threads.

    The runner owns one event loop, made on first use and kept until
    ``close()``: a pool's connections belong to the loop that opened them.
    Subclasses fill in ``open_async``, ``run_once_async`` and ``close_async``;
    the synchronous steps run those on the loop, so the runner can stand in
    wherever a ``Runner`` is expected.  The harness (``engine/tasks.py``) goes
    further and runs a whole turn on the loop: ``--concurrency N`` is N tasks
    there, and each operation is timed inside the loop, where the tasks time
    theirs, leaving out the cost of entering and leaving the loop.

    With ``--processes``, each process makes its own runner, hence its own loop.
    """

    is_async = True
    runs_scripts = False
    runs_prepared = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # cooperative: a subclass may also inherit a synchronous runner's __init__
        super().__init__(*args, **kwargs)
        self._loop: asyncio.Runner | None = None

    def run_on_loop(
        self, coroutine: Coroutine[Any, Any, T], *, cancel_on_interrupt: bool = True
    ) -> T:
        """Run ``coroutine`` to its end on this runner's event loop.

        With ``cancel_on_interrupt``, a Ctrl-C cancels the coroutine, which may
        end cleanly, then raises KeyboardInterrupt here (``asyncio.Runner``
        installs that SIGINT handler in the main thread for the call; under
        ``dbbench.interruption``'s handlers, the first stop signal of any kind,
        SIGTERM and SIGHUP too, does the same: ``interruption.diverted``).
        Without, Ctrl-C raises KeyboardInterrupt wherever the coroutine is, as
        in a synchronous runner; that is for single operations, because
        installing the handler for every call measurably slows the operation
        that follows (some 10 µs, with fidelity.py's method).
        """
        if self._loop is None:
            self._loop = asyncio.Runner()
        if not cancel_on_interrupt:
            return self._loop.get_loop().run_until_complete(coroutine)
        if not interruption.handling():  # no dbbench handler: asyncio.Runner's, for Ctrl-C
            return self._loop.run(coroutine)
        loop = self._loop.get_loop()
        task = loop.create_task(coroutine)
        cancelled = []

        def cancel() -> None:  # asyncio.Runner's way with Ctrl-C, for every stop signal
            cancelled.append(True)
            task.cancel()
            loop.call_soon_threadsafe(lambda: None)  # wakes a select() with a long timeout

        with interruption.diverted(cancel):
            try:
                return loop.run_until_complete(task)
            except asyncio.CancelledError:
                if cancelled:
                    raise KeyboardInterrupt from None
                raise

    def open(self) -> None:
        self.run_on_loop(self.open_async())

    def run_once(self, worker: int = 0) -> int | None:
        return self.run_on_loop(self.run_once_async(worker), cancel_on_interrupt=False)

    def close(self) -> None:
        if self._loop is None:
            return
        try:
            self.run_on_loop(self._close_on_loop())
        finally:
            loop, self._loop = self._loop, None
            loop.close()

    async def _close_on_loop(self) -> None:
        # An interrupted turn can leave tasks on the loop; they would go on
        # running operations inside close_async(), so they are cancelled first.
        current = asyncio.current_task()
        leftovers = [task for task in asyncio.all_tasks() if task is not current]
        for task in leftovers:
            task.cancel()
        await asyncio.gather(*leftovers, return_exceptions=True)
        await self.close_async()

    async def open_async(self) -> None:  # noqa: B027 - optional step, empty by default
        """Prepare before the first operation, on the runner's loop."""

    @abc.abstractmethod
    async def run_once_async(self, worker: int = 0) -> int | None:
        """``run_once``, as a coroutine on the runner's loop."""

    async def close_async(self) -> None:  # noqa: B027 - optional step, empty by default
        """Release connections, on the runner's loop; safe after a failed ``open_async()``."""
