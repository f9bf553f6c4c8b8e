"""Turns of a synchronous runner: its workers are threads kept for the whole run.

With one worker the turn runs in the caller's thread: no thread is started,
and Ctrl-C reaches the operation itself.  Each worker runs ``turn.work``, the
loop asyncio tasks run too, driven here by ``run_sync``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from dbbench.engine.turn import Clock, Steps, Tally, Timed, Turn, run_sync, time_one, work
from dbbench.runners.base import Runner


class Threads:
    """The ``TurnExecutor`` of synchronous runners: ``count`` worker threads (none for one)."""

    def __init__(self, count: int, poll_every_s: float) -> None:
        self.poll_every_s = poll_every_s
        self._pool = _Pool(count) if count > 1 else None
        #: each runner's Steps, made once: turns of one operation ask for them every time
        self._steps: dict[Runner, Steps] = {}

    def run(self, turn: Turn, tallies: list[Tally], poll: Callable[[], None]) -> None:
        if self._pool is None:
            _work(turn, 0, tallies[0])
        else:
            self._pool.run(turn, tallies, poll, self.poll_every_s)

    def time_one(self, runner: Runner, clock: Clock) -> Timed:
        steps = self._steps.get(runner) or self._steps.setdefault(runner, Steps.called(runner))
        return run_sync(time_one(steps, 0, clock))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()


def _work(turn: Turn, worker: int, tally: Tally) -> None:
    run_sync(work(turn, worker, tally, Steps.called(turn.runner)))


class _Pool:
    """Worker threads kept for the whole run; each turn is handed to all of them."""

    def __init__(self, count: int) -> None:
        self.count = count
        self._cv = threading.Condition()
        self._generation = 0
        self._busy = 0
        self._closing = False
        self._turn: Turn | None = None
        self._tallies: list[Tally] = []
        self._threads = [
            threading.Thread(target=self._loop, args=(i,), name=f"dbbench-worker-{i}", daemon=True)
            for i in range(count)
        ]
        for thread in self._threads:
            thread.start()

    def _loop(self, worker: int) -> None:
        seen = 0
        while True:
            with self._cv:
                while self._generation == seen and not self._closing:
                    self._cv.wait()
                if self._closing:
                    return
                seen = self._generation
                turn, tally = self._turn, self._tallies[worker]
            try:
                _work(turn, worker, tally)
            finally:
                with self._cv:
                    self._busy -= 1
                    self._cv.notify_all()

    def run(
        self, turn: Turn, tallies: list[Tally], poll: Callable[[], None], poll_every_s: float
    ) -> None:
        with self._cv:
            self._turn, self._tallies = turn, tallies
            self._busy = self.count
            self._generation += 1
            self._cv.notify_all()
        try:
            while True:
                with self._cv:
                    if self._busy == 0:
                        break
                    self._cv.wait(poll_every_s)
                    if self._busy == 0:
                        break
                poll()
        except KeyboardInterrupt:
            turn.stopped = True
            with self._cv:
                while self._busy:
                    self._cv.wait()
            raise

    def close(self) -> None:
        with self._cv:
            self._closing = True
            self._cv.notify_all()
        for thread in self._threads:
            thread.join()
