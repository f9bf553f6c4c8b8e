"""The pause between operations: how long the harness leaves between one and the next,
and what a pause that long does to the operations themselves.

fidelity.py puts the harness next to a loop written out by hand, whose operations follow
each other at once.  The harness does not time its own work between operations (the
recording, the progress, and for an asyncio runner leaving its event loop and entering it
again around each operation of a turn of one operation), but the server and the machine
see the pause: an operation that follows a pause can take longer, the clock around it
none the less in the right place.  This script shows both sides:

1. the pause the harness leaves, per runner: the time from one operation's end to the
   next one's start, in turns of one operation (one worker, ``--operations``);
2. the operations of a loop by hand (the runner's ``run_once``, or on its event loop its
   ``run_once_async``, timed as the harness times them) without a pause and with a busy
   wait of ``--pause-us`` between operations, outside the clock, in alternating blocks on
   the same pool: paused / unpaused for the mean and the median.

    python benchmarks/pause.py --ssl-mode disabled
    python benchmarks/pause.py --runner pool,async-pool --pause-us 10,30,100 --blocks 400
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from dbbench.config.settings import find_config_path, load_settings
from dbbench.engine.harness import Plan, run_interleaved
from dbbench.engine.turn import Steps, run_sync, time_one
from dbbench.histogram import LatencyHistogram
from dbbench.runners import create_runner
from dbbench.runners.base import AsyncRunner, Runner

clock = time.perf_counter_ns


def harness_pauses_ns(runner: Runner, operations: int) -> list[int]:
    """Each pause between two of the runner's operations in the harness's turns of one."""
    marks: list[tuple[str, int]] = []
    if isinstance(runner, AsyncRunner):
        inner_async = runner.run_once_async

        async def marked_async(worker: int = 0) -> int | None:
            marks.append(("start", clock()))
            try:
                return await inner_async(worker)
            finally:
                marks.append(("end", clock()))

        runner.run_once_async = marked_async  # type: ignore[method-assign]
    else:
        inner = runner.run_once

        def marked(worker: int = 0) -> int | None:
            marks.append(("start", clock()))
            try:
                return inner(worker)
            finally:
                marks.append(("end", clock()))

        runner.run_once = marked  # type: ignore[method-assign]
    run_interleaved([runner], Plan(iterations=operations, warmup=10))
    measured = marks[2 * 11:]  # the cold start's and the warm-up's operations left out
    return [
        after[1] - before[1]
        for before, after in zip(measured, measured[1:], strict=False)
        if before[0] == "end" and after[0] == "start"
    ]


def by_hand(runner: Runner) -> Callable[[int, int], list[int]]:
    """``n`` operations of the open ``runner``, each timed as the harness times it, with a
    busy wait of ``pause_ns`` after each, outside the clock."""
    if isinstance(runner, AsyncRunner):
        steps = Steps.awaiting(runner)

        async def loop_async(n: int, pause_ns: int) -> list[int]:
            samples = []
            for _ in range(n):
                samples.append((await time_one(steps, 0, clock))[0])
                end = clock() + pause_ns
                while clock() < end:
                    pass
            return samples

        return lambda n, pause_ns: runner.run_on_loop(loop_async(n, pause_ns))
    called = Steps.called(runner)

    def loop(n: int, pause_ns: int) -> list[int]:
        samples = []
        for _ in range(n):
            samples.append(run_sync(time_one(called, 0, clock))[0])
            end = clock() + pause_ns
            while clock() < end:
                pass
        return samples

    return loop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", help="dbbench settings file")
    parser.add_argument("--url", help="the database's URL, as dbbench's --url")
    parser.add_argument("--ssl-mode", help="as dbbench's --ssl-mode")
    parser.add_argument("--runner", default="pool,async-pool,async-core,async-session")
    parser.add_argument("--operations", type=int, default=2000, help="harness operations")
    parser.add_argument("--blocks", type=int, default=300, help="alternating blocks per side")
    parser.add_argument("--block-size", type=int, default=10, help="operations per block")
    parser.add_argument("--pause-us", default="30,100", help="pauses to try, microseconds")
    args = parser.parse_args()
    database = {"url": args.url, "ssl_mode": args.ssl_mode}
    settings = load_settings(find_config_path(args.config), overrides={"database": database})
    names = [n.strip() for n in args.runner.split(",") if n.strip()]
    pauses_us = [float(p) for p in args.pause_us.split(",") if p.strip()]
    print(f"on {settings.database.describe()}, query {settings.benchmark.query!r}")
    print(f"{'runner':<14} {'harness pause p50 us':>21} {'mean us':>8}")
    for name in names:
        pauses = harness_pauses_ns(create_runner(name, settings), args.operations)
        print(
            f"{name:<14} {statistics.median(pauses) / 1e3:>21.1f} "
            f"{statistics.fmean(pauses) / 1e3:>8.1f}"
        )
    print(f"{'runner':<14} {'pause us':>8} {'mean paused/not':>16} {'p50 paused/not':>15}")
    for name in names:
        runner = create_runner(name, settings)
        runner.open()
        try:
            loop = by_hand(runner)
            loop(args.block_size, 0)  # warm-up: the pool's connection, the caches
            sides = [0, *(int(p * 1e3) for p in pauses_us)]
            found = {pause_ns: LatencyHistogram() for pause_ns in sides}
            for block in range(args.blocks):
                # rotate which side goes first, so that none always follows another
                shift = block % len(sides)
                for pause_ns in sides[shift:] + sides[:shift]:
                    for value in loop(args.block_size, pause_ns):
                        found[pause_ns].record(value)
        finally:
            runner.close()
        unpaused = found[0]
        for pause_ns in sides[1:]:
            paused = found[pause_ns]
            print(
                f"{name:<14} {pause_ns / 1e3:>8.0f} {paused.mean_ns / unpaused.mean_ns:>16.3f} "
                f"{paused.percentile(0.5) / unpaused.percentile(0.5):>15.3f}"
            )


if __name__ == "__main__":
    main()
