"""Turns of an ``AsyncRunner``: its workers are asyncio tasks on the runner's event loop.

The counterpart of the worker threads (``engine/threads.py``).  A turn runs as one
visit to the runner's loop (``AsyncRunner.run_on_loop``): N tasks (one per
worker, each recording into its own tally, as the threads do) run
``turn.work`` on the same ``Turn``, so the quota, the duration, the open-loop
schedule, the coordinated-omission accounting and the error limit are the
threads' own.  Between turns the loop is idle and the other runners,
threaded or not, take theirs.

Ctrl-C during a turn: ``asyncio.Runner`` cancels the turn's main task; the
turn then stops handing out operations, lets those in flight finish (as the
threads do), and the KeyboardInterrupt goes on to the harness.  A second
Ctrl-C stops at once; ``AsyncRunner.close()`` cancels what is left.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from dbbench.engine.turn import Clock, Steps, Tally, Timed, Turn, time_one, work
from dbbench.runners.base import AsyncRunner


class Tasks:
    """The ``TurnExecutor`` of async runners: one asyncio task per worker."""

    def __init__(self, poll_every_s: float) -> None:
        self.poll_every_s = poll_every_s

    def run(self, turn: Turn, tallies: list[Tally], poll: Callable[[], None]) -> None:
        runner = turn.runner
        assert isinstance(runner, AsyncRunner)
        runner.run_on_loop(run_turn(runner, turn, tallies, poll, self.poll_every_s))

    def time_one(self, runner: AsyncRunner, clock: Clock) -> Timed:  # type: ignore[override]
        # timed on its event loop, as its tasks time theirs; installing asyncio's
        # interrupt handler for every operation would slow the next (see run_on_loop)
        return runner.run_on_loop(
            time_one(Steps.awaiting(runner), 0, clock), cancel_on_interrupt=False
        )

    def close(self) -> None:
        """Nothing to stop: each runner's loop closes with the runner."""


async def run_turn(
    runner: AsyncRunner,
    turn: Turn,
    tallies: Sequence[Tally],
    poll: Callable[[], None],
    poll_every_s: float,
) -> None:
    """Run ``turn`` with one task per tally; ``poll`` is called every ``poll_every_s`` meanwhile."""
    workers = [
        asyncio.create_task(work(turn, worker, tally, Steps.awaiting(runner)))
        for worker, tally in enumerate(tallies)
    ]
    try:
        while True:
            # asyncio.wait, unlike gather, leaves the tasks alone when it is cancelled
            _, pending = await asyncio.wait(workers, timeout=poll_every_s)
            if not pending:
                break
            poll()
    except asyncio.CancelledError:  # Ctrl-C: asyncio.Runner cancelled this task
        turn.stopped = True
        await asyncio.wait(workers)
        for task in workers:
            # a KeyboardInterrupt raised inside an operation already went on its way
            # (asyncio re-raises it at once); retrieved, it is not logged again
            if not task.cancelled():
                task.exception()
        raise
    for task in workers:
        task.result()  # anything but a counted error (a bug) is raised, not lost
