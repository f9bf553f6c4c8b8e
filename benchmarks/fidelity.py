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
    python benchmarks/fidelity.py --runner pool,core,session,async-core,async-session

For ``core`` and ``session`` (and ``async-core``, ``async-session``) the loop written
out by hand is an application's SQLAlchemy calls: ``with engine.connect() as c:
c.execute(text(query)).fetchall()``, ``with Session() as s: s.execute(...).fetchall()``
(``sessionmaker``, ``async_sessionmaker``), on the runner's own engine.

``--workload point-get`` (on the data set of ``dbbench prepare``) puts ``orm`` and
``async-orm`` next to ``with Session() as s: s.get(DataRow, id)`` by hand; every other
runner's hand loop then sends point-get's SELECT with a random id bound, as its runner does.

    python benchmarks/fidelity.py --workload point-get --runner session,orm,async-orm

**PostgreSQL, next to pgbench.**  With ``--dialect postgresql`` (or a
``postgresql://`` ``--url``), the script then puts dbbench next to pgbench,
PostgreSQL's own C client (``benchmarks/pgbench.py``), in rounds that
alternate short runs of each side (``--pgbench-rounds`` x ``--pgbench-seconds``
each), the order rotating every round, so that drift on a shared machine
falls on all sides alike:

* dbbench's ``raw`` (the harness, the runner as ``dbbench run`` makes it) next to
  ``pgbench -C`` (a new connection per transaction), and between them a loop
  written out by hand with the driver's ``autocommit=True``: psycopg's default
  (autocommit off) sends ``BEGIN`` before the first statement, one round trip
  pgbench does not make, and the hand loop shows what that round trip is worth;
* dbbench's ``persistent`` next to pgbench without ``-C`` (one connection;
  psycopg's BEGIN is sent once, on the first operation, and the session stays
  in that transaction: one round trip per operation on both sides).

Both sides get the same libpq parameters (``pgbench.conninfo``: sslmode, the
startup ``options``, the keepalives) and the same query, and read-only sessions
as ``dbbench run`` gives them without ``--allow-writes``.  What neither side
can match: psycopg's libpq is the one its binary wheel bundles, pgbench's the
system's (both versions printed).  The ratios are dbbench's mean / pgbench's
``latency average``; the target for raw is at most 1.3.

    python benchmarks/fidelity.py --server local --dialect postgresql --runner raw,persistent
    python benchmarks/fidelity.py --url postgresql://root@127.0.0.1:5432/test --ssl-mode disabled
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pgbench  # benchmarks/pgbench.py, beside this script

from dbbench import databases
from dbbench.config.settings import Settings, find_config_path, load_settings
from dbbench.drivers import get_driver
from dbbench.engine.harness import Plan, run_interleaved
from dbbench.histogram import LatencyHistogram
from dbbench.runners import RUNNER_NAMES, RUNNERS, create_runner
from dbbench.runners.base import AsyncRunner, Runner
from dbbench.runners.orm import data_row_class
from dbbench.scenarios.benchmark import local_server, with_data_set
from dbbench.workload import PointGet, describe


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


def minimal_async_loop(
    name: str, runner: AsyncRunner, settings: Settings
) -> Callable[[int], list[int]]:
    """``minimal_loop`` for the asyncio runners, timed around the await, on the runner's loop:
    async-pool's operation by hand in the greenlet that SQLAlchemy's asyncio engine needs;
    async-core's and async-session's as an asyncio application awaits them."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import async_sessionmaker
    from sqlalchemy.util import greenlet_spawn

    engine = runner.engine  # the async engine's synchronous face, whose pool it is
    async_engine = runner._async_engine
    query, dbapi_query, bound, draw = statements(runner)
    statement = text(query)
    clock = time.perf_counter_ns

    def by_hand() -> None:
        connection = engine.raw_connection()
        cursor = connection.cursor()
        cursor.execute(dbapi_query, *bound(draw()))
        cursor.fetchall()
        cursor.close()
        connection.close()

    if name == "async-core":

        async def operation() -> None:
            async with async_engine.connect() as connection:
                (await connection.execute(statement, *named(bound(draw())))).fetchall()

    elif name == "async-session":
        session_maker = async_sessionmaker(bind=async_engine)

        async def operation() -> None:
            async with session_maker() as session:
                (await session.execute(statement, *named(bound(draw())))).fetchall()

    elif name == "async-orm":
        session_maker = async_sessionmaker(bind=async_engine)
        mapped = data_row_class()

        async def operation() -> None:
            async with session_maker() as session:
                await session.get(mapped, draw())

    else:

        async def operation() -> None:
            await greenlet_spawn(by_hand)

    async def loop(n: int) -> list[int]:
        samples = []
        for _ in range(n):
            start = clock()
            await operation()
            samples.append(clock() - start)
        return samples

    return lambda n: runner.run_on_loop(loop(n))


def statements(runner: Runner) -> tuple[str, str, Callable[[int], tuple], Callable[[], int]]:
    """The runner's statement by hand: its text for SQLAlchemy, the DB-API driver's, how an
    id is passed to ``execute`` (no argument for a query without one), and the id drawn as
    point-get draws it (uniform in 1 .. the data set's rows; 0, unused, for a query)."""
    workload = runner.workload
    if not isinstance(workload, PointGet):
        return workload.query, workload.query, lambda id_: (), lambda: 0
    draws, rows = random.Random(), workload.rows
    return (
        workload.query,
        workload.dbapi_query,
        lambda id_: ((id_,),),
        lambda: draws.randint(1, rows),
    )


def named(arguments: tuple) -> tuple:
    """A DB-API ``execute``'s id as SQLAlchemy's ``execute`` takes it: ``{"id": id}``."""
    return tuple({"id": values[0]} for values in arguments)


def layered_loop(name: str, runner: Runner) -> Callable[[int], list[int]] | None:
    """``minimal_loop`` for core, session and orm: an application's SQLAlchemy calls,
    written out, on the runner's engine (None for the other runners)."""
    from sqlalchemy import text
    from sqlalchemy.orm import sessionmaker

    engine = runner.engine
    query, _, bound, draw = statements(runner)
    statement = text(query)
    clock = time.perf_counter_ns

    if name == "core":

        def loop(n: int) -> list[int]:
            samples = []
            for _ in range(n):
                start = clock()
                with engine.connect() as connection:
                    connection.execute(statement, *named(bound(draw()))).fetchall()
                samples.append(clock() - start)
            return samples

    elif name == "session":
        session_maker = sessionmaker(bind=engine)

        def loop(n: int) -> list[int]:
            samples = []
            for _ in range(n):
                start = clock()
                with session_maker() as session:
                    session.execute(statement, *named(bound(draw()))).fetchall()
                samples.append(clock() - start)
            return samples

    elif name == "orm":
        session_maker = sessionmaker(bind=engine)
        mapped = data_row_class()

        def loop(n: int) -> list[int]:
            samples = []
            for _ in range(n):
                start = clock()
                with session_maker() as session:
                    session.get(mapped, draw())
                samples.append(clock() - start)
            return samples

    else:
        return None
    return loop


def minimal_loop(name: str, runner: Runner, settings: Settings) -> Callable[[int], list[int]]:
    """``n`` operations written out by hand, on the runner's own connection or pool."""
    layered = layered_loop(name, runner)
    if layered is not None:
        return layered
    _, query, bound, draw = statements(runner)
    connect = get_driver(settings.database.driver).connector(settings.database)
    clock = time.perf_counter_ns

    if name == "raw":

        def get():
            return connect()

        def give_back(connection):
            connection.close()

    elif name == "persistent":
        connection = runner.connection

        def get():
            return connection

        def give_back(connection):
            pass

    elif name == "psycopg-pool":
        pool = runner._pool  # psycopg_pool.ConnectionPool, opened by the runner
        reset = runner.pool_settings.pool_reset_on_return

        def get():
            return pool.getconn()

        def give_back(connection):
            if reset == "rollback":
                connection.rollback()
            elif reset == "commit":
                connection.commit()
            pool.putconn(connection)

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
            cursor.execute(query, *bound(draw()))
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
        loop = minimal_async_loop(name, inner, settings)
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


def timed_for(seconds: float, operation: Callable[[], None]) -> LatencyHistogram:
    """``operation`` again and again for ``seconds``, each timed alone, as the harness times."""
    clock = time.perf_counter_ns
    latencies = LatencyHistogram()
    end = clock() + int(seconds * 1e9)
    while True:
        start = clock()
        operation()
        now = clock()
        latencies.record(now - start)
        if now >= end:
            return latencies


def harness_for(seconds: float, runner: Runner) -> LatencyHistogram:
    """``runner``'s operations through dbbench's harness for ``seconds``, one worker."""
    plan = Plan(iterations=None, duration_s=seconds, warmup=0)
    return run_interleaved([runner], plan).records[0].tally.latency


def system_libpq_version() -> str:
    """The system's libpq (the one pgbench is linked with on Debian), as ``15.20``."""
    name = ctypes.util.find_library("pq")
    if name is None:
        return "?"
    number = ctypes.CDLL(name).PQlibVersion()
    return f"{number // 10000}.{number % 10000}"


def psycopg_libpq() -> str | None:
    """The libpq psycopg's binary wheel bundles (psycopg_binary.libs/libpq-*.so.*), if any."""
    try:
        import psycopg_binary
    except ImportError:
        return None
    libs = Path(psycopg_binary.__file__).parent.parent / "psycopg_binary.libs"
    found = sorted(libs.glob("libpq-*.so*"))
    return str(found[0]) if found else None


def versus_pgbench(settings: Settings, args: argparse.Namespace) -> None:
    """dbbench's raw and persistent next to pgbench -C and pgbench (see the docstring)."""
    database = settings.database
    driver = get_driver(database.driver)
    parameters = pgbench.libpq_parameters(database)
    binary = pgbench.find(args.pgbench)
    version = subprocess.run(
        [binary, "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    query = settings.benchmark.query
    seconds = args.pgbench_seconds
    connect_autocommit = driver.connector(database, autocommit=True)
    clock = time.perf_counter_ns
    connects = LatencyHistogram()  # the hand loop's connect alone, next to pgbench's

    def by_hand() -> None:
        start = clock()
        connection = connect_autocommit()
        connects.record(clock() - start)
        cursor = connection.cursor()
        cursor.execute(query)
        cursor.fetchall()
        cursor.close()
        connection.close()

    with tempfile.TemporaryDirectory(prefix="dbbench-pgbench-") as directory:
        script = Path(directory, "query.sql")
        script.write_text(query.rstrip().rstrip(";") + ";\n")

        def run_pgbench(connect_each: bool, preload: str | None = None) -> pgbench.PgbenchResult:
            cmd, env = pgbench.command(
                binary, parameters, str(script), seconds=seconds, connect_each=connect_each
            )
            if preload is not None:
                env["LD_PRELOAD"] = preload  # its PQ* functions come first: pgbench uses them
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if proc.returncode != 0:
                sys.exit(f"fidelity.py: pgbench exited with {proc.returncode}:\n{proc.stderr}")
            return pgbench.parse_report(proc.stdout)

        raw = KeptOpen(create_runner("raw", settings))
        persistent = KeptOpen(create_runner("persistent", settings))
        ours: dict[str, LatencyHistogram] = {
            side: LatencyHistogram() for side in ("raw", "hand", "persistent")
        }
        theirs: dict[str, list[pgbench.PgbenchResult]] = {"-C": [], "": [], "same libpq": []}
        sides: list[tuple[str, Callable[[], None]]] = [
            ("raw", lambda: ours["raw"].merge(harness_for(seconds, raw))),
            ("hand", lambda: ours["hand"].merge(timed_for(seconds, by_hand))),
            ("pgbench -C", lambda: theirs["-C"].append(run_pgbench(True))),
            ("persistent", lambda: ours["persistent"].merge(harness_for(seconds, persistent))),
            ("pgbench", lambda: theirs[""].append(run_pgbench(False))),
        ]
        same_libpq = psycopg_libpq() if args.same_libpq else None
        if same_libpq is not None:
            sides.append(
                ("same libpq", lambda: theirs["same libpq"].append(run_pgbench(True, same_libpq)))
            )
        try:
            timed_for(0.2, by_hand)  # warm-up: the driver's imports, the server's caches
            for round_number in range(args.pgbench_rounds):
                # rotate which side goes first, so that none always follows another
                shift = round_number % len(sides)
                for _, run in sides[shift:] + sides[:shift]:
                    run()
        finally:
            raw.inner.close()
            persistent.inner.close()

    libpq = driver.describe()
    ssl = parameters.get("sslmode")
    print(
        f"\n{args.pgbench_rounds} rounds x {seconds} s per side, alternating, on "
        f"{database.describe()}; query {query!r}"
    )
    print(f"both sides: sslmode={ssl}, options={parameters.get('options')!r}")
    print(f"dbbench: {libpq}; pgbench: {version}, system libpq {system_libpq_version()}")
    connect_ms = pgbench.mean_connection_ms(theirs["-C"])
    rows = [
        ("dbbench raw", ours["raw"].mean_ns,
         f"connect, BEGIN, {query}, fetch, close ({driver.name}: autocommit off)"),
        ("by hand, autocommit", ours["hand"].mean_ns,
         f"connect(autocommit=True), {query}, fetch, close "
         f"(connect alone {connects.mean_ns / 1e6:.3f} ms)"),
        ("pgbench -C", pgbench.mean_latency_ns(theirs["-C"]),
         f"PQconnectdb, {query}, PQfinish (connect alone {connect_ms:.3f} ms)"),
        ("dbbench persistent", ours["persistent"].mean_ns,
         f"{query}, fetch, on one connection (in the one transaction BEGIN opened)"),
        ("pgbench", pgbench.mean_latency_ns(theirs[""]),
         f"{query} on one connection (each its own transaction)"),
    ]
    if theirs["same libpq"]:
        same_ms = pgbench.mean_connection_ms(theirs["same libpq"])
        rows.append((
            "pgbench -C, psycopg's libpq", pgbench.mean_latency_ns(theirs["same libpq"]),
            f"the same, {Path(same_libpq or '').name} preloaded "
            f"(connect alone {same_ms:.3f} ms)",
        ))
    print(f"{'side':<27} {'mean ms':>9}  per operation")
    for name, mean_ns, what in rows:
        print(f"{name:<27} {mean_ns / 1e6:>9.3f}  {what}")
    ms = {name: mean_ns / 1e6 for name, mean_ns, _ in rows}
    ratio = ms["dbbench raw"] / ms["pgbench -C"]
    verdict = "within" if ratio <= 1.3 else "OUTSIDE"
    print(f"dbbench raw / pgbench -C = {ratio:.3f} ({verdict} the 1.3 target); made of:")
    print(
        f"  raw - by hand       {ms['dbbench raw'] - ms['by hand, autocommit']:+.3f} ms: "
        f"psycopg's BEGIN (one round trip; a query on one connection here: "
        f"{ms['dbbench persistent']:.3f} ms) and the harness"
    )
    print(
        f"  by hand - pgbench -C {ms['by hand, autocommit'] - ms['pgbench -C']:+.3f} ms: psycopg's "
        "connect (the address resolved in Python, libpq's non-blocking connect polled from "
        "Python), cursor and fetch in Python, and the two libpq versions"
    )
    print(
        f"dbbench persistent / pgbench = {ms['dbbench persistent'] / ms['pgbench']:.3f} "
        "(Python's cost per query: cursor, execute, fetch)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", help="dbbench settings file")
    parser.add_argument("--server", choices=["configured", "local"], default="configured")
    parser.add_argument("--url", help="the database's URL, as dbbench's --url")
    parser.add_argument("--dialect", choices=["mysql", "postgresql"])
    parser.add_argument("--ssl-mode", help="as dbbench's --ssl-mode (pgbench gets the same)")
    parser.add_argument("--runner", help="runners to put next to a hand-written loop")
    parser.add_argument(
        "--workload", choices=["read", "point-get"], help="as dbbench's --workload [read]"
    )
    parser.add_argument("--database", help="as dbbench's --database (the data set's)")
    parser.add_argument("--blocks", type=int, default=1000, help="alternating blocks per side")
    parser.add_argument("--block-size", type=int, default=10, help="operations per block")
    parser.add_argument("--pgbench", help="pgbench to run [default: PATH, /usr/lib/postgresql]")
    parser.add_argument(
        "--pgbench-rounds", type=int, default=10, help="PostgreSQL: rounds beside pgbench (0: none)"
    )
    parser.add_argument(
        "--same-libpq",
        action="store_true",
        help="PostgreSQL: pgbench -C once more with psycopg's own libpq (LD_PRELOAD)",
    )
    parser.add_argument(
        "--pgbench-seconds", type=int, default=2, help="PostgreSQL: seconds per side and round"
    )
    args = parser.parse_args()

    database = {
        "url": args.url, "dialect": args.dialect, "ssl_mode": args.ssl_mode,
        "database": args.database,
    }  # fmt: skip
    overrides = {"database": database, "benchmark": {"workload": args.workload}}
    settings = load_settings(find_config_path(args.config), overrides=overrides)
    if settings.database.dialect == "postgresql":
        settings = settings.with_read_only_sessions()  # as dbbench run without --allow-writes
    if args.runner is None:
        point_get = settings.benchmark.workload == "point-get"
        names = [n for n in RUNNER_NAMES if (settings.database.dialect == "postgresql"
                 or n != "psycopg-pool") and (point_get or not RUNNERS[n].loads_mapped_rows)]
    else:
        names = [n.strip() for n in args.runner.split(",") if n.strip()]

    def run(settings: Settings) -> None:
        if settings.benchmark.workload == "point-get":
            settings = with_data_set(settings, databases.read_data_set)
        bench = settings.benchmark
        print(
            f"{args.blocks} blocks x {args.block_size} operations per side and runner, "
            f"{describe(bench.query, bench.workload, None, bench.data_rows)} on "
            f"{settings.database.describe()}"
        )
        print(
            f"{'runner':<14} {'mean dbbench/minimal':>21} {'p50 dbbench/minimal':>20}"
            f" {'dbbench mean us':>16} {'minimal mean us':>16}"
        )
        for name in names:
            ours, theirs = measure(name, settings, args.blocks, args.block_size)
            mean_ratio = ours.mean_ns / theirs.mean_ns
            p50_ratio = ours.percentile(0.5) / theirs.percentile(0.5)
            inside = all(0.95 <= r <= 1.05 for r in (mean_ratio, p50_ratio))
            print(
                f"{name:<14} {mean_ratio:>21.3f} {p50_ratio:>20.3f}"
                f" {ours.mean_ns / 1e3:>16.1f} {theirs.mean_ns / 1e3:>16.1f}"
                f"  {'ok' if inside else 'OUTSIDE 0.95-1.05'}"
            )

    def run_all(settings: Settings) -> None:
        if names:
            run(settings)
        if settings.database.dialect == "postgresql" and args.pgbench_rounds > 0:
            versus_pgbench(settings, args)

    if args.server == "local":
        with local_server(settings) as (_, local):
            run_all(local)
    else:
        run_all(settings)


if __name__ == "__main__":
    main()
