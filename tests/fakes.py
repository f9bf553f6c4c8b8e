"""A fake runner and clock for testing the harness and the CLI without a database."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from dbbench.config.settings import DatabaseSettings
from dbbench.runners.base import AsyncRunner, Runner
from dbbench.scenarios.backend import Backend
from dbbench.server.preflight import ServerInfo
from dbbench.workload import Workload


class FakeClock:
    """A clock that advances only when told to: time passes inside fake operations."""

    def __init__(self) -> None:
        self.now_ns = 0

    def __call__(self) -> int:
        return self.now_ns


class FakeRunner(Runner):
    """Each operation "takes" ``cost_ns`` on ``clock``; ``fail(call_number)`` decides failures."""

    operation = "nothing"

    def __init__(
        self,
        name: str,
        log: list[str],
        clock: FakeClock | None = None,
        cost_ns: int = 1000,
        open_cost_ns: int = 0,
        fail: Callable[[int], BaseException | None] | None = None,
    ) -> None:
        super().__init__(DatabaseSettings(), Workload("SELECT 1"))
        self.name = name
        self.log = log
        self.clock = clock
        self.cost_ns = cost_ns
        self.open_cost_ns = open_cost_ns
        self.fail = fail
        self.calls = 0
        self.closed = False

    def open(self) -> None:
        self.log.append(f"open {self.name}")
        if self.clock is not None:
            self.clock.now_ns += self.open_cost_ns

    def run_once(self, worker: int = 0) -> None:
        self.calls += 1
        self.log.append(self.name)
        if self.clock is not None:
            self.clock.now_ns += self.cost_ns
        if self.fail is not None:
            error = self.fail(self.calls)
            if error is not None:
                raise error

    def close(self) -> None:
        self.closed = True
        self.log.append(f"close {self.name}")


class FakeAsyncRunner(AsyncRunner, FakeRunner):
    """``FakeRunner`` with coroutine operations; notes where each ran, and yields to the loop.

    ``pause_s`` is awaited inside every operation (like I/O: lets the other
    tasks run); ``seen`` holds (thread name, worker, task id, loop id).
    """

    def __init__(self, *args, pause_s: float = 0.0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.pause_s = pause_s
        self.seen: set[tuple[str, int, int, int]] = set()
        self.in_flight = 0
        self.peak_in_flight = 0
        self.cancelled = 0

    async def open_async(self) -> None:
        FakeRunner.open(self)

    async def run_once_async(self, worker: int = 0) -> int:
        task, loop = asyncio.current_task(), asyncio.get_running_loop()
        self.seen.add((threading.current_thread().name, worker, id(task), id(loop)))
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.pause_s)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.in_flight -= 1
        FakeRunner.run_once(self, worker)
        return 7  # a "checkout" time, recorded apart

    async def close_async(self) -> None:
        FakeRunner.close(self)


class FakeMonitor:
    """Stands in for ``ServerStatusMonitor``: the server saw exactly what dbbench did."""

    def __init__(self, database) -> None:
        self.database = database

    def start(self) -> None:
        pass

    def stop(self):
        from dbbench.server.status import ServerActivity

        return ServerActivity(
            deltas={"Connections": 0},
            threads_connected_before=1,
            threads_connected_peak=1,
            samples=0,
            max_connections=151,
            monitor_connections=0,
        )


class LeftBehind:
    """A scratch table (``Backend.scratch_table``) whose drop fails, as when the server
    went away mid-run."""

    def __init__(self, database, name) -> None:
        self.database, self.name, self.created = database, name, False

    def create(self) -> None:
        self.created = True

    def count_rows(self) -> int:
        return 0

    def drop(self) -> str:
        return f"could not drop the scratch table {self.name}"


def fake_backend(create_runner, clock: FakeClock) -> Backend:
    """A ``Backend`` with no server: the check passes, the monitor sees what dbbench did,
    ``create_runner(label, settings)`` makes the runners, operations are timed on ``clock``."""
    return Backend(
        check_server=lambda database, workload: ServerInfo("10.11.0-Fake"),
        create_runner=create_runner,
        monitor=FakeMonitor,
        read_max_connections=lambda database: 151,
        clock_ns=clock,
        finds_no_server=lambda settings: False,  # never a probe of 127.0.0.1:3306
    )
