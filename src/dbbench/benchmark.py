"""The library entry point: settings + runner names -> a ``RunResult``.

``cli.py`` is a thin shell over ``run_benchmark``; a script can call it too::

    from dbbench import load_settings, run_benchmark
    result = run_benchmark(load_settings(), ["raw", "pool"])
    print(result.to_dict()["speedups"])
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from dbbench.diagnosis import operation_error
from dbbench.harness import Plan, ProgressCallback, run_interleaved
from dbbench.preflight import check_server
from dbbench.results import RunResult, build_result, capture_environment
from dbbench.runners import create_runner
from dbbench.server import ServerAddress
from dbbench.settings import Settings
from dbbench.workload import Workload


def settings_for_server(settings: Settings, address: ServerAddress) -> Settings:
    """``settings`` pointed at a throwaway server; driver options (ssl, timeout) are kept."""
    database = dataclasses.replace(
        settings.database,
        host=address.host,
        port=address.port,
        user=address.user,
        password=address.password,
        database=address.database,
        unix_socket=None,
    )
    return dataclasses.replace(settings, database=database)


def findings(settings: Settings, runner_names: Sequence[str]) -> list[str]:
    """Plain-language notes on known costs that the settings bring into the numbers."""
    notes = []
    if "raw" in runner_names and not settings.database.ssl:
        notes.append(
            "no ssl_* setting: PyMySQL then tries TLS ('preferred') and builds a new SSL "
            "context, loading the system's CA store, for every connect, whether or not the "
            "server offers TLS; on a nearby server that can be most of raw's time. Set "
            "ssl_disabled = true, or ssl_ca for verified TLS, to measure what your "
            "application configures (README: 'The TLS default')."
        )
    return notes


def run_benchmark(
    settings: Settings,
    runner_names: Sequence[str],
    *,
    command: str = "run",
    on_progress: ProgressCallback | None = None,
) -> RunResult:
    """Check the server, run every runner interleaved, and summarise.

    Raises ``ConnectError``/``QueryError`` when the server cannot be used at
    all.  Errors of single operations during the run are counted, not raised.
    A Ctrl-C during the run returns the partial result (``complete`` False).
    """
    workload = Workload(settings.benchmark.query)
    server = check_server(settings.database, workload)
    runners = [create_runner(name, settings) for name in runner_names]
    plan = Plan(
        iterations=settings.benchmark.iterations,
        warmup=settings.benchmark.warmup_iterations,
    )
    try:
        outcome = run_interleaved(runners, plan, on_progress=on_progress)
    except Exception as exc:  # a cold start failed after the check passed
        raise operation_error(exc, settings.database, workload.query) from exc
    return build_result(
        command,
        outcome,
        settings=settings.public_dict(),
        environment=capture_environment(server.version),
        pool_description=settings.pool.describe() if "pool" in runner_names else None,
        notes=findings(settings, runner_names),
    )
