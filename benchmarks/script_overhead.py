"""dbbench's own cost per script operation: the same statement as ``--query`` and as
``--script``, on one persistent connection, in one run.

The operations ``persistent`` times, called directly: ``Workload.run_on`` for
``--query "SELECT abs(12345)"`` and ``ScriptWorkload.run_on`` for a script of
``\\set id random(1, 100000)`` and ``SELECT abs(:id);``, on one connection in
autocommit (as with ``--autocommit``), in rounds that alternate the two (the order
switching every round, so that a busy machine weighs on both alike).  It prints each
side's median operation (µs) over all rounds and the difference, the script
machinery's cost per operation (a parameterised statement costs the driver a little
more too: psycopg sends it with the extended protocol).  ``--fake`` runs both on a
connection that does nothing: what is left is dbbench's own time alone.

    python benchmarks/script_overhead.py                       # PostgreSQL, psycopg
    python benchmarks/script_overhead.py --url mysql://root@127.0.0.1:3306/test
    python benchmarks/script_overhead.py --fake --rounds 5 --operations 100000
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from dbbench.drivers import get_driver
from dbbench.histogram import LatencyHistogram
from dbbench.scripts.parse import Script, parse_script
from dbbench.workload import Workload
from dbbench.workload_script import ScriptWorkload

QUERY = "SELECT abs(12345)"
SCRIPT = "\\set id random(1, 100000)\nSELECT abs(:id);\n"
DEFAULT_URL = "postgresql://root@127.0.0.1:5432/test"


@dataclass(frozen=True)
class File:
    """What ``ScriptWorkload`` reads of a ``ScriptFile``."""

    path: str
    weight: int
    script: Script


class _FakeCursor:
    description = (("abs",),)

    def execute(self, sql: str, parameters: Any = None) -> None:
        pass

    def fetchall(self) -> list[tuple[int]]:
        return [(12345,)]

    def close(self) -> None:
        pass


class _FakeConnection:
    autocommit = True

    def cursor(self) -> _FakeCursor:
        return _FakeCursor()


def connect(url: str) -> tuple[Any, str, str]:
    """A connection in autocommit, its driver's paramstyle, and the script's dialect."""
    parts = urlsplit(url)
    database = parts.path.lstrip("/") or "test"
    if parts.scheme.startswith("postgres"):
        import psycopg

        connection = psycopg.connect(
            host=parts.hostname, port=parts.port or 5432, user=parts.username or "root",
            dbname=database, sslmode="disable", autocommit=True,
        )
        return connection, "format", "postgresql"
    import pymysql

    connection = pymysql.connect(
        host=parts.hostname, port=parts.port or 3306, user=parts.username or "root",
        database=database, autocommit=True,
    )
    return connection, "format", "mysql"


def timed(workload: Any, connection: Any, operations: int) -> LatencyHistogram:
    histogram = LatencyHistogram()
    clock = time.perf_counter_ns
    run_on = workload.run_on
    for _ in range(operations):
        started = clock()
        run_on(connection)
        histogram.record(clock() - started)
    return histogram


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--fake", action="store_true", help="no database: dbbench alone")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--operations", type=int, default=5000, help="per side per round")
    args = parser.parse_args()
    if args.fake:
        connection, paramstyle, dialect = _FakeConnection(), "format", "postgresql"
    else:
        connection, paramstyle, dialect = connect(args.url)
    script = parse_script(SCRIPT, "overhead.sql", dialect=dialect)
    scripted = ScriptWorkload([File("overhead.sql", 1, script)], paramstyle, seed=1)
    if not args.fake:  # as the runners give it (psycopg: its ints bound as int8)
        driver = get_driver("psycopg" if dialect == "postgresql" else "pymysql")
        scripted = scripted.for_driver(driver)
    sides = {"--query": Workload(QUERY), "--script": scripted}
    for workload in sides.values():  # warm up: the driver's caches, the server's plan
        timed(workload, connection, min(args.operations, 1000))
    medians: dict[str, list[float]] = {side: [] for side in sides}
    try:
        for number in range(args.rounds):
            order = list(sides) if number % 2 == 0 else list(reversed(sides))
            for side in order:
                p50 = timed(sides[side], connection, args.operations).percentile(0.5)
                medians[side].append(p50 / 1000)
            print(
                f"round {number + 1}: "
                + "  ".join(f"{side} {medians[side][-1]:.2f} µs" for side in sides)
            )
    finally:
        if not args.fake:
            connection.close()
    query, script_ = (statistics.median(medians[side]) for side in sides)
    print(
        f"median p50: --query {query:.2f} µs, --script {script_:.2f} µs, "
        f"script - query {script_ - query:.2f} µs ({script_ / query:.2f}x)"
    )


if __name__ == "__main__":
    main()
