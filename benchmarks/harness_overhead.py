"""The harness's own time inside the timed region, and its bookkeeping between operations.

A runner whose operation does nothing is measured in turns of one operation
(what fidelity.py measures, without a server): its recorded mean latency is the
harness's own cost inside the clock readings -- the call, the readings, nothing
else should be there -- and the wall time per operation adds the bookkeeping
between operations.  The minimum over runs is the figure to compare (a busy
machine only adds to it); the median shows how steady it is.

    python benchmarks/harness_overhead.py
    python benchmarks/harness_overhead.py --runs 40 --operations 20000 --concurrency 2
"""

from __future__ import annotations

import argparse
import statistics
import time

from dbbench.config.settings import DatabaseSettings
from dbbench.engine.harness import Plan, run_interleaved
from dbbench.runners.base import Runner
from dbbench.workload import Workload


class Nothing(Runner):
    """An operation that does nothing: what is timed is the harness."""

    name = "nothing"

    def __init__(self) -> None:
        super().__init__(DatabaseSettings(), Workload("SELECT 1"))

    def open(self) -> None:
        pass

    def run_once(self, worker: int = 0) -> None:
        return None

    def close(self) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--operations", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=1, help="1: turns of one operation")
    args = parser.parse_args()
    plan = Plan(iterations=args.operations, warmup=0, concurrency=args.concurrency)
    means_ns, walls_ns = [], []
    for _ in range(args.runs):
        start = time.perf_counter()
        outcome = run_interleaved([Nothing()], plan)
        walls_ns.append((time.perf_counter() - start) / args.operations * 1e9)
        means_ns.append(outcome.records[0].tally.latency.mean_ns)
    print(
        f"{args.runs} runs x {args.operations} operations, concurrency {args.concurrency}\n"
        f"inside the timed region: min {min(means_ns):,.0f} ns, "
        f"median {statistics.median(means_ns):,.0f} ns per operation\n"
        f"wall time per operation: min {min(walls_ns):,.0f} ns, "
        f"median {statistics.median(walls_ns):,.0f} ns"
    )


if __name__ == "__main__":
    main()
