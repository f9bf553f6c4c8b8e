"""The library entry point: settings + runner names -> a ``RunResult``.

``cli.py`` is a thin shell over ``run_benchmark``; a script can call it too::

    from dbbench import load_settings, run_benchmark
    result = run_benchmark(load_settings(), ["raw", "pool"])
    print(result.to_document()["speedups"])
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from dbbench import databases, drivers, guard, interruption
from dbbench.config.schema import mentioned
from dbbench.config.settings import (
    DEFAULT_QUERY,
    DatabaseSettings,
    PoolSettings,
    Settings,
    split_label,
)
from dbbench.databases.scratch import (
    ScratchTable,
    new_table_name,
    require_database,
)
from dbbench.drivers import side
from dbbench.drivers.diagnosis import is_operation_failure, operation_error
from dbbench.engine.cluster import run_on_cluster
from dbbench.engine.harness import Plan, ProgressCallback, RunnerRecord, RunOutcome, run_interleaved
from dbbench.engine.processes import ProcessFailed, run_in_processes
from dbbench.errors import ConfigError, DbbenchError, Mentioning, mention
from dbbench.guard import check_workload
from dbbench.results.model import (
    Recommendation,
    RunResult,
    SettingsSummary,
    SweepCell,
    SweepResult,
)
from dbbench.runners import (
    DEFAULT_RUNNERS,
    names_with,
    runner_labels,
    runner_settings,
    runner_with,
)
from dbbench.scenarios import pooler, repetitions, variants
from dbbench.scenarios.backend import LIVE, Backend
from dbbench.scenarios.explain import count_run_round_trips, project_run
from dbbench.scenarios.pooling import transaction_pooling_note
from dbbench.scenarios.summary import build_result, capture_environment
from dbbench.scenarios.sweep import check_size, grid, noise_test, recommend
from dbbench.scripts.checks import reads_rows
from dbbench.scripts.run import StatementFailed
from dbbench.server.certificates import CertificateFiles, make_certificates
from dbbench.server.local import LocalServer, ServerAddress
from dbbench.server.local_postgresql import LocalPostgreSQLServer
from dbbench.server.process import ThrowawayServer
from dbbench.server.status import (
    ServerActivity,
    connection_budget_warning,
)
from dbbench.workload import POINT_GET, READ_WORKLOAD, READ_WORKLOADS, workload_for


def settings_for_server(
    settings: Settings, address: ServerAddress, certificates: CertificateFiles | None = None
) -> Settings:
    """``settings`` pointed at a throwaway server; driver options (ssl, timeout) are kept.

    With ``certificates`` (the server's own, made for it) the TLS files are
    replaced by them: no other CA signed that server's certificate.
    """

    def ssl_for(database: DatabaseSettings) -> dict[str, Any]:
        ssl = dict(database.ssl)
        if certificates is not None:
            if "ssl_ca" in ssl or database.tls.verifies:
                ssl["ssl_ca"] = str(certificates.ca)
            if "ssl_cert" in ssl or "ssl_key" in ssl:
                ssl["ssl_cert"] = str(certificates.client_cert)
                ssl["ssl_key"] = str(certificates.client_key)
                ssl.pop("ssl_key_password", None)
        return ssl

    def repoint(database: DatabaseSettings) -> DatabaseSettings:
        return dataclasses.replace(
            database,
            host=address.host,
            port=address.port,
            user=address.user,
            password=address.password,
            sources={
                key: "the throwaway server"
                for key in ("host", "port", "user", "password", "database")
            },
            database=address.database,
            unix_socket=None,
            ssl=ssl_for(database),
        )

    # every variant's too: they differ in how they talk to the one throwaway server
    return variants.pointed(settings, repoint)


#: ``--server local``'s throwaway server for each ``[database] dialect``
THROWAWAY_SERVERS: dict[str, type[ThrowawayServer]] = {
    "mysql": LocalServer,
    "postgresql": LocalPostgreSQLServer,
}


def throwaway_server_class(settings: Settings) -> type[ThrowawayServer]:
    """The throwaway server of the settings' dialect: one server for every variant, so
    variants of two dialects are refused in one line."""
    dialects = sorted({own.database.dialect for _, own in variants.each_settings(settings)})
    if len(dialects) > 1:
        raise ConfigError(
            f"--server local: the variants name the dialects {' and '.join(dialects)}, and a "
            "throwaway server is of one; give every variant the same [database] dialect"
        )
    return THROWAWAY_SERVERS[dialects[0]]


@contextlib.contextmanager
def local_server(settings: Settings) -> Iterator[tuple[ThrowawayServer, Settings]]:
    """A throwaway server for ``settings`` and the settings pointed at it: a MariaDB/MySQL
    (``LocalServer``), or a PostgreSQL (``LocalPostgreSQLServer``) with ``[database]
    dialect = "postgresql"`` (``throwaway_server_class``).

    Where ``ssl_mode`` demands TLS (any variant's) the server gets it, with certificates
    made for it (``dbbench.server.certificates``), and verify modes check against its CA.
    """
    server_class = throwaway_server_class(settings)
    if not any(own.database.tls.encrypts for _, own in variants.each_settings(settings)):
        with server_class() as server:
            yield server, settings_for_server(settings, server.address)
        return
    with tempfile.TemporaryDirectory(prefix="dbbench-tls-") as directory:
        certificates = make_certificates(Path(directory))
        with server_class(tls=certificates) as server:
            yield server, settings_for_server(settings, server.address, certificates)


@contextlib.contextmanager
def server_to_measure(
    settings: Settings,
    local: bool = False,
    *,
    backend: Backend = LIVE,
    on_fallback: Callable[[str], None] = lambda address: None,
    on_started: Callable[[ThrowawayServer], None] = lambda server: None,
    may_fall_back: bool = True,
) -> Iterator[Settings]:
    """The settings to measure with: as configured; or pointed at a throwaway server
    (``local_server``) when ``local``, or when ``may_fall_back`` (False: the configured
    server was asked for, ``--server configured``) and no server is configured and nothing
    answers at the default address (``backend.finds_no_server``).  That fallback is told to
    ``on_fallback(host:port)`` before the server starts, the started server to ``on_started``;
    a configured server that does not answer is left for the server check to report."""
    if not local:
        if not may_fall_back or not backend.finds_no_server(settings):
            yield settings
            return
        on_fallback(f"{settings.database.host}:{settings.database.port}")
    with local_server(settings) as (server, target):
        on_started(server)
        yield target


def findings(
    settings: Settings, runner_names: Sequence[str], driver_names: Sequence[str] = ()
) -> list[str]:
    """Plain-language notes on known costs that the settings bring into the numbers."""
    notes = []
    pooling = transaction_pooling_note(settings.database, runner_names, driver_names)
    if pooling is not None:
        notes.append(pooling)
    prepared = variants.prepared_note(settings, runner_names, driver_names)
    if prepared is not None:
        notes.append(prepared)
    if names_with("connects_per_operation", runner_names):
        for name in driver_names or [settings.database.driver]:
            notes += drivers.get_driver(name).notes(settings.database)
    if names_with("holds_pool", runner_names) and settings.benchmark.concurrency == 1:
        pool = [mentioned("pool", key) for key in ("pool_size", "max_overflow", "pool_timeout")]
        notes.append(
            Mentioning(
                f"one worker uses one pooled connection at a time: {pool[0]}, {pool[1]} and "
                f"{pool[2]} change nothing here; raise {mentioned('benchmark', 'concurrency')} "
                "to see them matter"
            )
        )
    return notes


def plan_for(settings: Settings) -> Plan:
    bench = settings.benchmark
    return Plan(
        iterations=None if bench.duration_s else bench.iterations,
        duration_s=bench.duration_s,
        warmup=bench.warmup_iterations,
        concurrency=bench.concurrency,
        rate_per_s=bench.rate_per_s,
        max_errors=bench.max_errors,
    )


def _connections_held(settings: Settings, runner_names: Sequence[str]) -> int:
    """Connections other than the pools' that may be open at once: workers, the monitor."""
    workers = settings.benchmark.concurrency
    # held all run long, per driver
    held = workers * len(names_with("holds_connection_per_worker", runner_names))
    # during their turns
    busy = workers if names_with("connects_per_operation", runner_names) else 0
    return held + busy + 1


def cross_check(activity: ServerActivity, records: Sequence[RunnerRecord]) -> dict[str, Any]:
    """The server's count of new connections against dbbench's own."""
    ours = sum(r.connections_opened for r in records) + activity.monitor_connections
    theirs = activity.new_connections
    return {
        "server_connections": theirs,
        "dbbench_connections": ours,
        "by_runner": {r.runner: r.connections_opened for r in records},
        "matches": theirs == ours,
    }


@dataclass(frozen=True)
class RunPlan:
    """What a run will do, worked out from the settings alone: nothing connects yet.

    ``plan_run`` makes it; ``execute_run`` carries it out.
    """

    #: the settings as given, with a single ``--driver`` made the driver for everything
    settings: Settings
    #: the runners to create: plain names with one driver, else ``raw/pymysql``, ...
    runners: tuple[str, ...]
    #: every driver in play (checked against the server, described in the environment)
    drivers: tuple[str, ...]
    #: ``run`` or ``compare``: the document's command
    command: str
    #: the harness's plan: iterations or duration, warm-up, concurrency, rate, max errors
    plan: Plan
    #: findings the settings alone bring into the numbers
    notes: tuple[str, ...]
    #: the pool's settings in words, when a runner uses them
    pool_description: str | None

    @property
    def writes(self) -> bool:
        """A write workload: it needs a scratch table, made when the run starts."""
        return self.settings.benchmark.workload not in READ_WORKLOADS


def check_sql(
    settings: Settings,
    allow_writes: bool,
    *,
    projected: bool = False,
    query_name: str = mention("[benchmark] query"),
    workload_name: str = mention("[benchmark] workload"),
) -> None:
    """Refuse what a run must not send (``ConfigError``), before anything connects: a query
    or an init_command (the run's or a variant's) that may write, or a write workload,
    unless ``allow_writes`` (``dbbench.guard``); a query of one's own with a write
    workload, which runs its own statement; a projection (``projected``: ``run_projected``)
    of a write workload.  ``query_name`` and ``workload_name``: the two settings as the
    message names them."""
    bench = settings.benchmark
    guard.check_settings(settings, allow_writes, query_name)
    if bench.scripts:
        check_scripts_alone(settings, projected, query_name, workload_name)
        return
    check_workload(bench.workload, allow_writes, workload_name)
    if bench.workload == READ_WORKLOAD:
        return
    if bench.query != DEFAULT_QUERY:
        on = "the data set" if bench.workload in READ_WORKLOADS else "a scratch table"
        raise ConfigError(
            f"{query_name} is for the read workload; the {bench.workload} workload runs its "
            f"own statement on {on} (leave out {query_name}, or set "
            f"{workload_name} to read)"
        )
    if projected:
        # its round trips are counted on the query, not on the insert and its commit
        raise ConfigError(
            f"a projection is of the read workload only, not {workload_name} = {bench.workload!r}"
        )


def check_scripts_alone(
    settings: Settings, projected: bool, query_name: str, workload_name: str
) -> None:
    """A run of scripts (``[benchmark] scripts``) says what an operation runs in them: a
    query or a write workload beside them is refused, and so is a projection (its round
    trips are counted on the query)."""
    bench = settings.benchmark
    scripts = mention("[benchmark] scripts")
    if bench.workload == POINT_GET:
        raise ConfigError(
            f"{scripts} and {workload_name} = {bench.workload!r} both say what an operation "
            "runs: give one"
        )
    if bench.workload in READ_WORKLOADS[1:]:  # a built-in workload's script, not the user's
        scripts = f"{workload_name} = {bench.workload!r}"
    if bench.query != DEFAULT_QUERY:
        raise ConfigError(f"{scripts} and {query_name} both say what an operation runs: give one")
    if bench.workload not in READ_WORKLOADS:
        raise ConfigError(
            f"{scripts} and {workload_name} = {bench.workload!r} both say what an operation "
            "runs: give one (a script's writes need --allow-writes)"
        )
    if projected:
        raise ConfigError(f"a projection is of the query, not of {scripts}")


def with_data_set(settings: Settings, read: Callable[[DatabaseSettings], int]) -> Settings:
    """``settings`` with the rows of the data set a built-in workload reads
    (``BenchmarkSettings.data_rows``, its scripts' ``:rows``), read by ``read`` from the
    run's database, or each variant's or target's: these must hold as many rows, as each
    draws its ids from the same 1 .. rows; a ``ConfigError`` when they do not."""
    found = (
        {v.name: read(v.database) for v in settings.variants}
        if settings.variants
        else {"": read(settings.database)}
    )
    if len(set(found.values())) > 1:
        counts = ", ".join(f"{name} {rows:,}" for name, rows in found.items())
        raise ConfigError(
            f"the data sets differ in rows ({counts}): run dbbench prepare with the same "
            "--rows on each"
        )
    benchmark = dataclasses.replace(settings.benchmark, data_rows=next(iter(found.values())))
    return dataclasses.replace(settings, benchmark=benchmark)


def check_script_runners(settings: Settings, runner_names: Sequence[str]) -> None:
    """The runners given, each able to run a script (``Runner.runs_scripts``) when the run
    has scripts: those on SQLAlchemy's ``Connection``/``Session`` or asyncio are not."""
    if not settings.benchmark.scripts:
        return
    refused = [name for name in runner_names if name not in names_with("runs_scripts", [name])]
    if refused:
        raise ConfigError(
            f"{mention('[benchmark] scripts')} runs on a DB-API connection, which runner "
            f"{', '.join(refused)} does not give: choose others ({', '.join(DEFAULT_RUNNERS)} do)"
        )


def check_row_runners(settings: Settings, runner_names: Sequence[str]) -> None:
    """The runners that load a mapped row (``Runner.loads_mapped_rows``: ``orm``,
    ``async-orm``) run under the point-get workload only: their operation is
    ``session.get`` of the data set's row, which no other workload's statement is."""
    if settings.benchmark.workload == POINT_GET:
        return
    refused = names_with("loads_mapped_rows", runner_names)
    if refused:
        raise ConfigError(
            f"runner {', '.join(refused)} runs the {POINT_GET} workload only (a row of the data "
            f"set by its primary key, session.get), not {mention('[benchmark] workload')} = "
            f"{settings.benchmark.workload!r}"
        )


def plan_run(
    settings: Settings,
    runner_names: Sequence[str],
    driver_names: Sequence[str] = (),
    *,
    command: str = "run",
    allow_writes: bool = False,
) -> RunPlan:
    """The run ``run_benchmark`` would make of these arguments; pure (no I/O).

    ``driver_names``: with more than one, every runner runs once per driver,
    labelled ``raw/pymysql``, ``raw/mysqlclient``, ...; with one (or none:
    ``[database] driver``) the runners keep their plain names.  With
    ``settings.variants``, every runner runs once per variant, with its settings,
    labelled ``raw@base``, ``raw@new``, ... (each variant's driver is its own: no
    ``driver_names``).  A query that may write, or a write workload, is refused unless
    ``allow_writes`` (``check_sql``).
    """
    check_sql(settings, allow_writes)
    check_script_runners(settings, runner_names)
    variants.check_prepared(settings, runner_names, driver_names)
    check_row_runners(settings, runner_names)
    settings = databases.read_only_sessions(settings, allow_writes)
    if settings.variants:
        if settings.benchmark.workload not in READ_WORKLOADS:
            variants.check_writes(settings)
        kept: list[str] = []
        if len(driver_names) > 1:  # each variant the drivers of its dialect
            lists = variants.driver_lists(settings, driver_names)
            labels = tuple(variants.labels_with_drivers(runner_names, lists))
            in_play = tuple(dict.fromkeys(d for found in lists.values() for d in found))
            kept = variants.kept_notes(settings, lists, driver_names)
        else:  # one driver is every variant's already (the flag): their own
            in_play = variants.drivers_in_play(settings)
            names = [v.name for v in settings.variants]
            labels = tuple(runner_labels(list(runner_names), (), names))
        notes = kept + variants.findings(settings, labels, findings)
        unguarded = pooler.read_only_note(settings, allow_writes)
        notes += [unguarded] if unguarded else []
        notes += list(settings.pooler.findings if settings.pooler else ())
        pool = variants.pool_description(settings)
    else:
        if len(driver_names) == 1:
            database = dataclasses.replace(settings.database, driver=driver_names[0])
            settings = dataclasses.replace(settings, database=database)
        in_play = tuple(driver_names) or (settings.database.driver,)
        labels = tuple(runner_labels(list(runner_names), in_play))
        notes = findings(settings, labels, in_play)
        pool = settings.pool.describe()
    return RunPlan(
        settings=settings,
        runners=labels,
        drivers=in_play,
        command=command,
        plan=plan_for(settings),
        notes=tuple(notes),
        pool_description=pool if names_with("uses_pool_settings", labels) else None,
    )


class SweepAxes(NamedTuple):
    """The values a sweep runs each swept setting at: ``run_sweep(settings, runners, *axes)``."""

    concurrencies: tuple[int, ...]
    pool_sizes: tuple[int, ...]
    max_overflows: tuple[int, ...]


def sweep_axes(settings: Settings, values: Mapping[str, Sequence[int]]) -> SweepAxes | None:
    """What lists of values ask for (by setting key: ``concurrency``, ``pool_size``,
    ``max_overflow``, as ``--concurrency 1,8`` gives them): a sweep when any list has
    several values, each setting without one held at its value in ``settings``; None when
    none has (one run: a list of one value is that setting's value)."""
    if not any(len(given) > 1 for given in values.values()):
        return None

    def axis(key: str, setting: int) -> tuple[int, ...]:
        return tuple(values.get(key) or (setting,))

    axes = SweepAxes(
        axis("concurrency", settings.benchmark.concurrency),
        axis("pool_size", settings.pool.pool_size),
        axis("max_overflow", settings.pool.max_overflow),
    )
    check_size(*axes)  # before a throwaway server starts
    check_processes(settings.benchmark.processes, axes.concurrencies)
    return axes


def check_processes(processes: int, concurrencies: Sequence[int]) -> None:
    """Refuse a sweep cell with fewer workers than ``--processes``: each process needs one."""
    for concurrency in concurrencies:
        if processes > concurrency:
            raise ConfigError(
                f"{mentioned('benchmark', 'processes')} = {processes} is more than "
                f"{mentioned('benchmark', 'concurrency')} {concurrency} in the sweep: each "
                "process needs at least one worker"
            )


def default_runners(sweep: bool = False) -> tuple[str, ...]:
    """The runners when none are named: raw, pool and persistent; in a sweep, the
    swept runner (pool) alone."""
    return names_with("swept") if sweep else DEFAULT_RUNNERS


def run_benchmark(
    settings: Settings,
    runner_names: Sequence[str],
    *,
    command: str = "run",
    on_progress: ProgressCallback | None = None,
    on_result: Callable[[RunResult], None] | None = None,
    driver_names: Sequence[str] = (),
    backend: Backend = LIVE,
    allow_writes: bool = False,
    on_repetition: Callable[[str], ProgressCallback | None] | None = None,
) -> RunResult:
    """Check the server, run every runner in turns, and summarise:
    ``execute_run(plan_run(settings, runner_names, driver_names))``, ``[benchmark] repeat``
    times (``repeat_run``); a query that may write, or a write workload, only with
    ``allow_writes``.  ``on_repetition`` gets "repetition 2/5" before each repetition
    and gives the progress callback for it (``on_progress`` otherwise)."""
    run = plan_run(settings, runner_names, driver_names, command=command, allow_writes=allow_writes)
    return repeat_run(
        run,
        on_progress=on_progress,
        on_result=on_result,
        backend=backend,
        on_repetition=on_repetition,
    )


def repeat_run(
    run: RunPlan,
    *,
    on_progress: ProgressCallback | None = None,
    on_result: Callable[[RunResult], None] | None = None,
    backend: Backend = LIVE,
    on_repetition: Callable[[str], ProgressCallback | None] | None = None,
) -> RunResult:
    """``execute_run(run)`` ``[benchmark] repeat`` times, each afresh, combined
    (``repetitions.combine``).  A repetition stopped by ``--max-errors`` (failures of every
    repetition count toward it) or by Ctrl-C ends the run: what was measured is kept, a
    stop signal between repetitions included."""
    repeat = run.settings.benchmark.repeat
    if repeat == 1:
        return execute_run(run, on_progress=on_progress, on_result=on_result, backend=backend)
    done: list[RunResult] = []

    def partial(result: RunResult) -> None:
        assert on_result is not None
        on_result(repetitions.combine([*done, result], repeat))

    for number in range(1, repeat + 1):
        progress = on_progress
        if on_repetition is not None:
            progress = on_repetition(f"repetition {number}/{repeat}")
        errors_before = sum(r.errors + r.warmup_errors for part in done for r in part.runners)
        this = dataclasses.replace(
            run,
            plan=dataclasses.replace(run.plan, errors_before=errors_before),
            runners=_order_for(run.runners, number),
        )
        try:
            result = execute_run(
                this,
                on_progress=progress,
                on_result=partial if on_result is not None else None,
                backend=backend,
            )
        except DbbenchError as error:
            if not done:
                raise  # nothing measured: the error is the run's
            # what the earlier repetitions measured is kept, and the run says why it ended
            stopped = Mentioning(f"repetition {number} of {repeat} could not run: {error}")
            last = dataclasses.replace(done[-1], stopped=stopped)
            done[-1] = last
            break
        except KeyboardInterrupt:
            if not done:
                raise
            break  # stopped before this repetition measured: the earlier ones are kept
        done.append(result)
        if not result.complete or result.stopped:
            break
    combined = repetitions.combine(done, repeat)
    if on_result is not None:
        on_result(combined)
    return combined


def run_projected(
    settings: Settings,
    runner_names: Sequence[str],
    rtt_s: float,
    *,
    command: str = "run",
    on_progress: ProgressCallback | None = None,
    on_result: Callable[[RunResult], None] | None = None,
    driver_names: Sequence[str] = (),
    backend: Backend = LIVE,
    allow_writes: bool = False,
    on_repetition: Callable[[str], ProgressCallback | None] | None = None,
) -> RunResult:
    """``run_benchmark``, with each runner's median projected onto a network with this
    round-trip time (``dbbench run --rtt``) as its ``projection``: in every result
    ``on_result`` gets too, so a file written from one keeps it.  Round trips are counted
    on the wire before the run, whose server counters must not see them, for the runners
    explain can split (``nullpool`` and the async pool are left out of the projection)."""
    check_sql(settings, allow_writes, projected=True)
    variants.refuse(settings, "a projection", variants.PROJECTED_ALONE)
    trips = count_run_round_trips(
        settings, runner_names, driver_names, backend=backend, allow_writes=allow_writes
    )

    def projected(result: RunResult) -> RunResult:
        return dataclasses.replace(result, projection=project_run(result, trips, rtt_s))

    result = run_benchmark(
        settings,
        runner_names,
        command=command,
        on_progress=on_progress,
        on_result=None if on_result is None else lambda result: on_result(projected(result)),
        driver_names=driver_names,
        backend=backend,
        allow_writes=allow_writes,
        on_repetition=on_repetition,
    )
    return projected(result)


def _order_for(runners: tuple[str, ...], repetition: int) -> tuple[str, ...]:
    """The runners in the order repetition ``repetition`` opens and turns them: as given,
    then reversed, in turn.  Each runner's connections are served by the server's threads
    for the whole repetition, and which runner gets which thread follows the order they
    connect in; under load one thread may share a busy core with another process all
    repetition long (here, one of two identical variants then ran 2x slower at the
    median).  Alternating the order lets that fall on every runner alike, repetition
    after repetition, instead of on the same one each time."""
    return runners if repetition % 2 else runners[::-1]


def execute_run(
    run: RunPlan,
    *,
    on_progress: ProgressCallback | None = None,
    on_result: Callable[[RunResult], None] | None = None,
    backend: Backend = LIVE,
) -> RunResult:
    """Check the server, run every runner of ``run`` in turns, and summarise.

    Raises ``ConnectError``/``QueryError`` when the server cannot be used at
    all.  Errors of single operations during the run are counted, not raised.
    A Ctrl-C (SIGTERM, SIGHUP) during the measuring returns the partial result
    (``complete`` False); during the checks before it, or once a stop was asked for,
    it raises KeyboardInterrupt; once measured, the rest is done whatever signal comes
    (``dbbench.interruption``).
    ``on_result`` gets the result so far about once a second while measuring
    (``complete`` False; with one process), then the final one: a result
    file written from it loses nothing to a crash.
    """
    settings = run.settings
    # the checks: a stop signal ends the run here, and a run asked to stop does not begin
    with interruption.interruptible():
        # the server whose counters are read: the run's, or its first variant's; dbbench's
        # own connections to it use a driver the run measures (drivers.side): a list's first
        watched = variants.monitored(settings)
        if not settings.variants:
            watched = dataclasses.replace(watched, driver=run.drivers[0])
        if run.writes:
            require_database(watched, settings.benchmark.workload)
        # a write workload's table does not exist yet: its first operations check it
        # a script's statements are checked by its first operation, as its BEGIN wants
        # point-get's ids are drawn from the data set's rows, read below
        checked = (
            None
            if run.writes or settings.benchmark.scripts or settings.benchmark.workload == POINT_GET
            else workload_for(settings.benchmark)
        )
        if settings.variants:  # each variant's server and driver, before anything is measured
            server, checked_variants = variants.check_servers(
                settings, checked, backend.check_server, run.runners
            )
        else:
            for name in run.drivers:  # each driver connects once before anything is measured
                database = dataclasses.replace(settings.database, driver=name)
                server = backend.check_server(database, checked)
        scripts = settings.benchmark.scripts or ()
        if settings.benchmark.workload in READ_WORKLOADS[1:] or any(
            reads_rows(f.script) for f in scripts
        ):  # a built-in workload, or a script that reads :rows
            settings = with_data_set(settings, backend.read_data_set)
        scratch = None
        if run.writes:
            scratch = backend.scratch_table(watched, new_table_name())
            statement = databases.insert_statement(watched, scratch.name)
            settings = _with_scratch(settings, scratch.name, statement)
        notes = list(run.notes)
        warning = _budget_warning(settings, watched, run.runners, backend)
        if warning:
            notes.append(warning)
        elsewhere = variants.on_other_servers(settings, run.runners)
        through = pooler.through_pooler(settings, run.runners)
        if elsewhere and elsewhere != through:  # the pooler's are its note's (below)
            notes.append(
                f"{', '.join(elsewhere)} measured another server than {watched.describe()}, whose "
                "counters the server line shows: their connections are not in its cross-check"
            )
        environment = capture_environment(server.version)
        environment["drivers"] = {name: drivers.get_driver(name).describe() for name in run.drivers}
        if settings.variants:
            environment.update(variants.environment(settings, checked_variants, run.drivers))
    started_at_s = backend.wall_clock_s()
    summarise = functools.partial(
        build_result,
        run.command,
        settings=settings.public_dict(),
        environment=environment,
        pool_description=run.pool_description,
    )

    def checkpoint(records: list[RunnerRecord], cluster: Any = None) -> None:
        """The result so far; on a cluster, with each worker's last checkpoint too."""
        partial = RunOutcome(records, False, started_at_s, backend.wall_clock_s(), run.plan)
        partial.cluster = cluster
        on_result(summarise(partial, notes=notes, scratch=_scratch_dict(scratch, None)))

    measure = functools.partial(
        _measure,
        settings,
        watched,
        run.runners,
        run.plan,
        on_progress,
        checkpoint if on_result else None,
        backend,
    )
    if scratch is None:
        outcome, activity, pooled = measure()
        scratch_record = None
    else:
        # the parent owns the table, with --processes too: its children only insert
        finished = False
        try:
            scratch.create()
            outcome, activity, pooled = measure()
            rows = _count_rows(scratch)
            finished = True
        finally:
            drop_note = scratch.drop()
            if drop_note and not finished:
                # the run is failing with its own error; this must not be lost with it
                backend.warn(drop_note)
        if drop_note:
            notes.append(drop_note)
        scratch_record = _scratch_dict(scratch, rows)
    watched_records = [r for r in outcome.records if r.runner not in elsewhere]
    check = cross_check(activity, watched_records)
    if through:
        clients = pooler.clients_through(outcome.records, through)
        notes.append(pooler.server_connections_note(check, clients))
    elif outcome.complete and activity.complete and not check["matches"]:
        notes.append(
            f"the server counted {check['server_connections']} new connections during the run, "
            f"dbbench opened {check['dbbench_connections']}: other clients were connecting too, "
            "or some connects failed before the server counted them"
            + (f" ({activity.lag})" if activity.lag else "")
        )
    result = summarise(
        outcome,
        notes=notes,
        server={
            **activity.to_dict(),
            "cross_check": check,
            **({"pooler": pooled} if pooled is not None else {}),
        },
        scratch=scratch_record,
    )
    if on_result is not None:
        on_result(result)
    return result


def _with_scratch(settings: Settings, table: str, statement: str) -> Settings:
    """``settings`` whose operations insert into the scratch table ``table`` with ``statement``
    (the dialect's: ``databases.insert_statement``)."""
    benchmark = dataclasses.replace(settings.benchmark, scratch_table=table, query=statement)
    return dataclasses.replace(settings, benchmark=benchmark)


def _budget_warning(
    settings: Settings, watched: DatabaseSettings, labels: Sequence[str], backend: Backend
) -> str | None:
    """A note when the pools and the workers may need more connections than the server allows.

    Only the runners whose connections reach ``watched`` count: not those through the
    pooler (``pooler.through_pooler``: it opens the server's connections, as many as its
    own pool allows), nor those of a target on another server (``variants.on_other_servers``);
    the note says which it left out."""
    through = pooler.through_pooler(settings, labels)
    elsewhere = [
        label for label in variants.on_other_servers(settings, labels) if label not in through
    ]
    labels = [label for label in labels if label not in through and label not in elsewhere]
    pools = [runner_settings(label, settings).pool for label in names_with("holds_pool", labels)]
    if not pools:
        return None
    processes = settings.benchmark.processes
    # every pool (pool per driver and per variant, async-pool) holds its connections all
    # run long
    other_pools = sum(processes * (pool.max_connections or 0) for pool in pools[1:])
    warning = connection_budget_warning(
        backend.read_max_connections(watched),
        processes,
        pools[0].pool_size,
        pools[0].max_overflow,
        other_connections=_connections_held(settings, labels) + other_pools,
    )
    if warning is None:
        return None
    left_out = [
        f"on {', '.join(dict.fromkeys(split_label(label)[1] or label for label in names))}"
        f" ({why})"
        for names, why in (
            (through, "through the pooler, which opens the server's connections itself"),
            (elsewhere, "another server"),
        )
        if names
    ]
    if not left_out:
        return warning
    return Mentioning(
        f"{warning.template} (connections to {watched.describe()} only; not counted: the "
        f"runners {'; '.join(left_out)})"
    )


def _measure(
    settings: Settings,
    watched: DatabaseSettings,
    runner_names: Sequence[str],
    plan: Plan,
    on_progress: ProgressCallback | None,
    checkpoint: Callable[[list[RunnerRecord]], None] | None,
    backend: Backend,
) -> tuple[RunOutcome, ServerActivity, dict[str, Any] | None]:
    """Run every runner (in this process or several), watching the server meanwhile, and
    the pooler in front of it where some targets go through one (``Settings.pooler``)."""
    processes = settings.benchmark.processes
    monitor = backend.monitor(watched)
    pooler = None if settings.pooler is None else backend.pooler_monitor(settings.pooler)
    with interruption.held(then_act=False):  # started whole; interruptible() acts
        monitor.start()
        if pooler is not None:
            try:
                pooler.start()
            except BaseException:
                monitor.stop()
                raise
    try:
        with interruption.interruptible():
            if settings.cluster.scheduler is not None:
                outcome = run_on_cluster(
                    settings, runner_names, plan, processes, on_progress, on_checkpoint=checkpoint
                )
            elif processes > 1:
                outcome = run_in_processes(
                    settings, runner_names, plan, processes, on_progress, on_checkpoint=checkpoint
                )
            else:
                runners = [backend.create_runner(name, settings) for name in runner_names]
                outcome = run_interleaved(
                    runners,
                    plan,
                    on_progress=on_progress,
                    on_checkpoint=checkpoint,
                    clock=backend.clock_ns,
                )
    except StatementFailed as exc:
        # a cold start's script failed: its statement, named by file and line, is the query
        raise operation_error(exc.error, watched, exc.where, script=True) from exc
    except Exception as exc:
        # a worker process's diagnosed failure is raised as its ConnectError/QueryError
        if not (is_operation_failure(exc) or isinstance(exc, ProcessFailed)):
            raise
        # a cold start failed after the check passed (the server went away?)
        raise operation_error(exc, watched, settings.benchmark.query) from exc
    finally:
        activity = monitor.stop()
        pooled = pooler.stop() if pooler is not None else None
    return outcome, activity, pooled


def _count_rows(scratch: ScratchTable) -> int | None:
    """The rows the run committed, or None when the server cannot tell us any more."""
    try:
        return scratch.count_rows()
    except (*side.errors(scratch.database), DbbenchError):  # the run's driver: drivers.side
        return None


def _scratch_dict(scratch: ScratchTable | None, rows: int | None) -> dict[str, Any] | None:
    """The scratch table in the result: its name, rows counted before the drop, dropped?"""
    if scratch is None:
        return None
    return {
        "table": scratch.name,
        "database": scratch.database.database,
        "rows": rows,
        "dropped": not scratch.created,
    }


def sweep_cell(
    concurrency: int, pool: PoolSettings, result: RunResult, variant: str | None = None
) -> SweepCell:
    """What the swept runner of ``result`` measured (of a sweep of several variants: the
    runner of ``variant``'s view, ``RunResult.variant_view``)."""
    pooled = runner_with("swept", result.runners)
    assert pooled is not None, "run_sweep refuses runner lists without it"
    return SweepCell(
        concurrency=concurrency,
        pool_size=pool.pool_size,
        max_overflow=pool.max_overflow,
        ops_per_s=pooled.ops_per_s,
        p99_us=pooled.summary.p99_ns / 1000 if pooled.summary else None,
        errors=pooled.errors,
        timeouts=pooled.timeouts,
        operations=pooled.attempted,
        variant=variant,
    )


def run_sweep(
    settings: Settings,
    runner_names: Sequence[str],
    concurrencies: Sequence[int],
    pool_sizes: Sequence[int],
    max_overflows: Sequence[int],
    *,
    on_cell: Callable[[str], ProgressCallback | None] | None = None,
    on_result: Callable[[SweepResult], None] | None = None,
    backend: Backend = LIVE,
    allow_writes: bool = False,
) -> SweepResult:
    """Run every (concurrency, pool_size, max_overflow) cell, one after another.

    Each cell is a full ``run_benchmark`` with those settings; ``runner_names``
    must include the swept runner, ``pool``.  Cells run in turn, not interleaved: every cell's
    pool holds its connections, and a grid of pools held at once could
    exceed the server's max_connections.  With ``[benchmark] repeat`` K, the grid is run
    K times over, every cell once in each pass, so that a drift of the machine falls on
    every cell alike; each cell's passes are its repetitions.  Ctrl-C keeps the cells
    done, a stop signal between cells included.  A query that may write, or a write
    workload, only with ``allow_writes``.

    With ``settings.variants`` (``--variant``, ``--target``) each cell measures every
    variant's runners in the same turns, as a run of them does; the sweep has a cell of
    each variant at each point (``SweepCell.variant``, its result the variant's view) and
    recommends for each variant apart.  A swept pool setting is every variant's; a variant
    whose file sets it is refused (``check_variant_pools``).
    """
    check_sql(settings, allow_writes)  # before the first cell
    check_variant_pools(settings, pool_sizes, max_overflows)
    if not names_with("swept", runner_names):
        raise ConfigError(
            f"a sweep compares pool settings: {mention('runner_names')} must include pool"
        )
    todo = grid(concurrencies, pool_sizes, max_overflows)
    check_processes(settings.benchmark.processes, concurrencies)
    repeat = settings.benchmark.repeat
    axes = {
        "concurrency": sorted(set(concurrencies)),
        "pool_size": sorted(set(pool_sizes)),
        "max_overflow": sorted(set(max_overflows)),
    }
    # each cell's repetitions so far, in the grid's order
    parts: list[list[RunResult]] = [[] for _ in todo]
    sweep = SweepResult([], [], False)
    errors_before = 0
    for repetition in range(1, repeat + 1):
        for number, (concurrency, pool_size, max_overflow) in enumerate(todo, start=1):
            cell_settings = _cell_settings(settings, concurrency, pool_size, max_overflow)
            label = (
                f"cell {number}/{len(todo)}: concurrency {concurrency}, "
                f"pool_size {pool_size}, max_overflow {max_overflow}"
            )
            if repeat > 1:
                label = f"repetition {repetition}/{repeat}, {label}"
            run = plan_run(
                cell_settings, runner_names, command="compare", allow_writes=allow_writes
            )
            run = dataclasses.replace(
                run, plan=dataclasses.replace(run.plan, errors_before=errors_before)
            )
            try:
                result = execute_run(
                    run, on_progress=on_cell(label) if on_cell else None, backend=backend
                )
            except KeyboardInterrupt:
                if not any(parts):
                    raise
                # stopped before this cell measured: the cells done are kept
                return _sweep_so_far(todo, parts, repeat, axes, complete=False)
            errors_before += sum(r.errors + r.warmup_errors for r in result.runners)
            parts[number - 1].append(result)
            finished = not result.complete or bool(result.stopped)
            last = repetition == repeat and number == len(todo)
            sweep = _sweep_so_far(todo, parts, repeat, axes, complete=last and not finished)
            if on_result is not None:
                on_result(sweep)  # after each cell: a crash later loses nothing done
            if finished:
                return sweep
    return sweep


def _swept_pool(
    settings: Settings, pool_sizes: Sequence[int], max_overflows: Sequence[int]
) -> dict[str, Sequence[int]]:
    """The pool settings a sweep sets in its cells, by key: those whose values are not just
    the run's own (a concurrency sweep keeps each variant's pool as it is)."""
    axes = {"pool_size": pool_sizes, "max_overflow": max_overflows}
    return {
        key: values for key, values in axes.items() if set(values) != {getattr(settings.pool, key)}
    }


def check_variant_pools(
    settings: Settings, pool_sizes: Sequence[int], max_overflows: Sequence[int]
) -> None:
    """A sweep of a pool setting sets it for every variant: one whose file sets it too is
    ambiguous, refused in one line before anything runs."""
    for key in _swept_pool(settings, pool_sizes, max_overflows):
        for variant in settings.variants:
            if f"[pool] {key}" in variant.keys:
                raise ConfigError(
                    f"{variant.origin} sets [pool] {key}, and the sweep sets it for every "
                    f"variant ({mentioned('pool', key)}): leave {key} out of {variant.origin}, "
                    "or sweep only the concurrency"
                )


def _cell_settings(
    settings: Settings, concurrency: int, pool_size: int, max_overflow: int
) -> Settings:
    """The settings of one cell of a sweep (``execute_run`` runs one repetition of it); a
    swept pool setting is every variant's (``_swept_pool``)."""
    pool = {"pool_size": pool_size, "max_overflow": max_overflow}
    swept = {key: pool[key] for key in _swept_pool(settings, (pool_size,), (max_overflow,))}
    return dataclasses.replace(
        settings,
        benchmark=dataclasses.replace(settings.benchmark, concurrency=concurrency),
        pool=dataclasses.replace(settings.pool, **pool),
        variants=tuple(
            dataclasses.replace(v, pool=dataclasses.replace(v.pool, **swept))
            for v in settings.variants
        ),
    )


def _sweep_so_far(
    todo: Sequence[tuple[int, int, int]],
    parts: Sequence[Sequence[RunResult]],
    repeat: int,
    axes: Mapping[str, list[int]],
    *,
    complete: bool,
) -> SweepResult:
    """The cells measured so far, each its repetitions combined, and what they recommend:
    of a sweep of several variants, each variant's cells (its view of each cell's run) and
    recommendations, variant after variant."""
    results = [
        (key, repetitions.combine(done, repeat))
        for key, done in zip(todo, parts, strict=True)
        if done
    ]
    names = results[0][1].variant_names if results else ()
    cells: list[tuple[SweepCell, RunResult]] = []
    recommendations: list[Recommendation] = []
    for name in names or (None,):
        measured = []
        for (concurrency, pool_size, max_overflow), result in results:
            own = result if name is None else result.variant_view(name)
            ran = own.settings.pool  # a variant's own, where the sweep left it (_swept_pool)
            pool = PoolSettings(
                pool_size=pool_size if ran.pool_size is None else ran.pool_size,
                max_overflow=max_overflow if ran.max_overflow is None else ran.max_overflow,
            )
            measured.append((sweep_cell(concurrency, pool, own, name), own))
        swept = runner_with("swept", measured[0][1].runners) if measured else None
        beyond_noise, noise = noise_test(measured, swept.runner if swept else "pool")
        found = recommend([c for c, _ in measured], beyond_noise=beyond_noise, noise=noise)
        recommendations += [dataclasses.replace(r, variant=name) for r in found]
        cells += measured
    if not names:
        return SweepResult(cells, recommendations, complete, dict(axes))
    first, last = results[0][1], results[-1][1]
    return SweepResult(
        cells,
        recommendations,
        complete,
        dict(axes),
        # the run's, with every variant's: the first variant's view has none
        settings=SettingsSummary.from_document({**first.settings.to_document(), "grid": axes}),
        environment=first.environment,
        started_at=first.started_at,
        finished_at=last.finished_at,
        points=tuple(result for _, result in results),
    )
