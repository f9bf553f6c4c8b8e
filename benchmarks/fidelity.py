"""Harness fidelity: does dbbench measure what a hand-written loop measures?

For each runner, in one process, blocks of operations alternate between
dbbench's harness (``run_interleaved`` with that runner) and a minimal loop
written out by hand doing exactly the same driver calls, timed the same way.
Both sides use the same connection (persistent) or the same pool (pool):
on a small machine two identical connections can differ by 2x in latency,
depending on where the scheduler puts the server thread, and that must not
pass for harness overhead.  It prints dbbench / minimal for the mean and the
median: 1.00 means the harness adds nothing; the target is 0.95-1.05.

    python benchmarks/fidelity.py                     # the configured server
    python benchmarks/fidelity.py --server local      # a throwaway server
    python benchmarks/fidelity.py --runner pool --blocks 200 --block-size 50
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import pymysql

from dbbench.config.settings import Settings, find_config_path, load_settings
from dbbench.drivers import side
from dbbench.engine.harness import Plan, run_interleaved
from dbbench.histogram import LatencyHistogram
from dbbench.runners import RUNNER_NAMES, create_runner
from dbbench.runners.base import AsyncRunner, Runner
from dbbench.scenarios.benchmark import settings_for_server
from dbbench.server.local import LocalServer


class KeptOpen(Runner):
    """A runner opened once and kept open across the harness calls of all blocks."""

    def __init__(self, inner: Runner) -> None:
        self.inner = inner
        self.name = inner.name
        self.run_once = inner.run_once  # the very bound method the harness would time
        inner.open()
        inner.run_once(0)  # the cold start: worker 0's connection, the pool's first

    def run_once(self) -> None:  # replaced per instance in __init__
        raise NotImplementedError

    def close(self) -> None:  # the harness closes after each block; see measure()
        pass


class KeptOpenAsync(AsyncRunner):
    """KeptOpen for an async runner: its coroutine and its event loop, so the harness
    times it on the loop as it would the runner itself."""

    def __init__(self, inner: AsyncRunner) -> None:
        self.inner = inner
        self.name = inner.name
        self.run_once_async = inner.run_once_async
        self.run_on_loop = inner.run_on_loop
        inner.open()
        inner.run_once(0)

    async def run_once_async(self, worker: int = 0) -> None:  # replaced per instance
        raise NotImplementedError

    def close(self) -> None:
        pass


def minimal_async_loop(runner: AsyncRunner, settings: Settings) -> Callable[[int], list[int]]:
    """``minimal_loop`` for async-pool: the operation by hand in the greenlet that
    SQLAlchemy's asyncio engine needs, timed around the await, on the runner's loop."""
    from sqlalchemy.util import greenlet_spawn

    engine = runner.engine  # the async engine's synchronous face, whose pool it is
    query = settings.benchmark.query
    clock = time.perf_counter_ns

    def operation() -> None:
        connection = engine.raw_connection()
        cursor = connection.cursor()
        cursor.execute(query)
        cursor.fetchall()
        cursor.close()
        connection.close()

    async def loop(n: int) -> list[int]:
        samples = []
        for _ in range(n):
            start = clock()
            await greenlet_spawn(operation)
            samples.append(clock() - start)
        return samples

    return lambda n: runner.run_on_loop(loop(n))


def minimal_loop(name: str, runner: Runner, settings: Settings) -> Callable[[int], list[int]]:
    """``n`` operations written out by hand, on the runner's own connection or pool."""
    kwargs = side.connect_kwargs(settings.database)
    query = settings.benchmark.query
    clock = time.perf_counter_ns

    if name == "raw":

        def get():
            return pymysql.connect(**kwargs)

        def give_back(connection):
            connection.close()

    elif name == "persistent":
        connection = runner.connection

        def get():
            return connection

        def give_back(connection):
            pass

    else:
        engine = runner.engine

        def get():
            return engine.raw_connection()

        def give_back(connection):
            connection.close()

    def loop(n: int) -> list[int]:
        samples = []
        for _ in range(n):
            start = clock()
            connection = get()
            cursor = connection.cursor()
            cursor.execute(query)
            cursor.fetchall()
            cursor.close()
            give_back(connection)
            samples.append(clock() - start)
        return samples

    return loop


def measure(
    name: str, settings: Settings, blocks: int, block_size: int
) -> tuple[LatencyHistogram, LatencyHistogram]:
    """Both sides' latencies, each in a histogram as dbbench keeps them (same quantisation)."""
    inner = create_runner(name, settings)
    if isinstance(inner, AsyncRunner):
        runner: Runner = KeptOpenAsync(inner)
        loop = minimal_async_loop(inner, settings)
    else:
        runner = KeptOpen(inner)
        loop = minimal_loop(name, inner, settings)
    dbbench_ns = LatencyHistogram()
    minimal_ns = LatencyHistogram()
    try:
        loop(block_size)  # warm-up
        for block in range(blocks):
            # alternate which side goes first, so neither always follows the other
            sides = ("dbbench", "minimal") if block % 2 == 0 else ("minimal", "dbbench")
            for side in sides:
                if side == "minimal":
                    for value in loop(block_size):
                        minimal_ns.record(value)
                else:
                    outcome = run_interleaved([runner], Plan(iterations=block_size, warmup=0))
                    dbbench_ns.merge(outcome.records[0].tally.latency)
    finally:
        runner.inner.close()
    return dbbench_ns, minimal_ns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", help="dbbench settings file")
    parser.add_argument("--server", choices=["configured", "local"], default="configured")
    parser.add_argument("--runner", default=",".join(RUNNER_NAMES))
    parser.add_argument("--blocks", type=int, default=1000, help="alternating blocks per side")
    parser.add_argument("--block-size", type=int, default=10, help="operations per block")
    args = parser.parse_args()

    settings = load_settings(find_config_path(args.config))
    names = [n.strip() for n in args.runner.split(",") if n.strip()]

    def run(settings: Settings) -> None:
        print(
            f"{args.blocks} blocks x {args.block_size} operations per side and runner, "
            f"query {settings.benchmark.query!r} on {settings.database.describe()}"
        )
        print(
            f"{'runner':<11} {'mean dbbench/minimal':>21} {'p50 dbbench/minimal':>20}"
            f" {'dbbench mean us':>16} {'minimal mean us':>16}"
        )
        for name in names:
            ours, theirs = measure(name, settings, args.blocks, args.block_size)
            mean_ratio = ours.mean_ns / theirs.mean_ns
            p50_ratio = ours.percentile(0.5) / theirs.percentile(0.5)
            inside = all(0.95 <= r <= 1.05 for r in (mean_ratio, p50_ratio))
            print(
                f"{name:<11} {mean_ratio:>21.3f} {p50_ratio:>20.3f}"
                f" {ours.mean_ns / 1e3:>16.1f} {theirs.mean_ns / 1e3:>16.1f}"
                f"  {'ok' if inside else 'OUTSIDE 0.95-1.05'}"
            )

    if args.server == "local":
        with LocalServer() as local:
            run(settings_for_server(settings, local.address))
    else:
        run(settings)


if __name__ == "__main__":
    main()
