"""Turns of an ``AsyncRunner``: its workers are asyncio tasks on the runner's event loop.

The counterpart of the harness's worker threads.  The harness runs these
coroutines with ``AsyncRunner.run_on_loop``.  A turn runs as one visit to the
runner's loop: N tasks (one per worker, each recording into its own
tally, as the threads do) claim operations from the same ``_Turn``, so the
quota, the duration, the open-loop schedule and the coordinated-omission
accounting are the harness's own.  Between turns the loop is idle and the
other runners, threaded or not, take theirs.

Ctrl-C during a turn: ``asyncio.Runner`` cancels the turn's main task; the
turn then stops handing out operations, lets those in flight finish (as the
threads do), and the KeyboardInterrupt goes on to the harness.  A second
Ctrl-C stops at once; ``AsyncRunner.close()`` cancels what is left.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from dbbench.runners.base import AsyncRunner

if TYPE_CHECKING:
    from dbbench.harness import Tally, _Turn


async def time_one(
    runner: AsyncRunner, clock: Callable[[], int]
) -> tuple[int, int | None, Exception | None]:
    """One operation of worker 0, timed on the loop: (elapsed ns, checkout ns, the error if any).

    The counterpart of the harness's ``_time_one``, for turns of one operation.
    """
    start = clock()
    try:
        checkout_ns = await runner.run_once_async(0)
    except Exception as exc:  # counted, never fatal: the run goes on
        return clock() - start, None, exc
    return clock() - start, checkout_ns, None


async def run_turn(
    runner: AsyncRunner,
    turn: _Turn,
    tallies: Sequence[Tally],
    recent: collections.deque,
    clock: Callable[[], int],
    poll: Callable[[], None],
    poll_every_s: float,
) -> None:
    """Run ``turn`` with one task per tally; ``poll`` is called every ``poll_every_s`` meanwhile."""
    workers = [
        asyncio.create_task(_work(runner, turn, worker, tally, recent, clock))
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


async def _work(
    runner: AsyncRunner,
    turn: _Turn,
    worker: int,
    tally: Tally,
    recent: collections.deque,
    clock: Callable[[], int],
) -> None:
    """harness._work as a task: ``asyncio.sleep`` for the open loop's waits."""
    while (slot := turn.next_start(clock)) is not None:
        start, delay_ns = slot
        if delay_ns > 0:
            await asyncio.sleep(delay_ns / 1e9)
        try:
            checkout_ns = await runner.run_once_async(worker)
        except Exception as exc:  # counted, never fatal: the run goes on
            turn.failed(tally, exc)
        else:
            elapsed = clock() - start
            turn.succeeded(tally, elapsed, checkout_ns)
            recent.append(elapsed)
