"""dbbench as a library, without click: plan a run, execute it on fakes, read its status."""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import io

import pytest
from rich.console import Console

from dbbench.config.settings import BenchmarkSettings, DatabaseSettings, Settings
from dbbench.errors import ConfigError, ConnectError, ExitStatus
from dbbench.output.formats import get_format
from dbbench.results.model import ProjectedRunner, RunProjection, from_document
from dbbench.scenarios import benchmark
from dbbench.scenarios.backend import Backend
from dbbench.scenarios.benchmark import (
    SweepAxes,
    default_runners,
    execute_run,
    plan_run,
    run_benchmark,
    run_projected,
    run_sweep,
    server_to_measure,
    sweep_axes,
)
from dbbench.scenarios.explain import explain
from dbbench.scenarios.stale import StaleRequest, run_stale
from tests.fakes import FakeClock, FakeRunner, LeftBehind, fake_backend

COSTS_NS = {"raw": 2_000_000, "nullpool": 1_000_000, "pool": 50_000, "persistent": 20_000}


def backend_of_fakes(fail_raw: bool = False) -> tuple[Backend, dict[str, FakeRunner]]:
    clock, created = FakeClock(), {}

    def create(label: str, settings: Settings) -> FakeRunner:
        kind = label.partition("/")[0]
        fail = (lambda call: RuntimeError("boom") if call % 2 == 0 else None) if fail_raw else None
        created[label] = FakeRunner(
            label, [], clock=clock, cost_ns=COSTS_NS[kind], fail=fail if kind == "raw" else None
        )
        return created[label]

    return fake_backend(create, clock), created


SETTINGS = Settings(benchmark=BenchmarkSettings(iterations=20, warmup=2))


def test_plan_run_is_worked_out_from_the_settings_alone():
    one = plan_run(SETTINGS, ["raw", "pool"], ["mysqlclient"])
    assert one.runners == ("raw", "pool") and one.drivers == ("mysqlclient",)
    assert one.settings.database.driver == "mysqlclient"  # a single --driver is the driver
    assert one.plan.iterations == 20 and one.plan.warmup == 2
    assert one.pool_description is not None and not one.writes
    several = plan_run(SETTINGS, ["raw", "persistent"], ["pymysql", "mysqlclient"])
    assert several.runners == (
        "raw/pymysql",
        "raw/mysqlclient",
        "persistent/pymysql",
        "persistent/mysqlclient",
    )
    assert several.settings == SETTINGS and several.pool_description is None


def test_a_run_on_a_fake_clock_measures_exactly_the_fake_costs():
    backend, created = backend_of_fakes()
    result = execute_run(plan_run(SETTINGS, ["raw", "pool"]), backend=backend)
    assert result.exit_status == ExitStatus.SUCCESS
    assert {r.runner: r.summary.p50_ns for r in result.runners} == {
        "raw": 2_000_000,
        "pool": 50_000,
    }
    assert created["raw"].calls == 1 + 2 + 20  # cold start, warm-up, iterations
    (speedup,) = result.speedups
    assert (speedup.runner, speedup.baseline, round(speedup.speedup.ratio)) == ("pool", "raw", 40)


def test_a_result_knows_its_exit_status():
    backend, _ = backend_of_fakes(fail_raw=True)
    failed = run_benchmark(SETTINGS, ["raw", "pool"], backend=backend)
    assert failed.errors > 0 and failed.exit_status == ExitStatus.RUN_ERRORS
    assert dataclasses.replace(failed, stopped="--max-errors 5").exit_status == 3
    interrupted = dataclasses.replace(failed, complete=False, stopped=None)
    assert interrupted.exit_status == ExitStatus.INTERRUPTED


def test_a_sweep_runs_each_cell_on_the_backend_it_is_given():
    backend, _ = backend_of_fakes()
    sweep = run_sweep(SETTINGS, ["pool"], [1, 2], [5], [0], backend=backend)
    assert [cell.concurrency for cell, _ in sweep.cells] == [1, 2]
    assert sweep.exit_status == ExitStatus.SUCCESS
    assert dataclasses.replace(sweep, complete=False).exit_status == ExitStatus.INTERRUPTED


def test_lists_of_several_values_make_a_sweep_the_other_settings_held():
    assert sweep_axes(SETTINGS, {}) is None
    # one value is the setting's own: a run (the settings already hold it)
    assert sweep_axes(SETTINGS, {"concurrency": [8], "pool_size": [3]}) is None
    assert sweep_axes(SETTINGS, {"concurrency": [1, 8, 32], "max_overflow": [0]}) == SweepAxes(
        concurrencies=(1, 8, 32), pool_sizes=(5,), max_overflows=(0,)
    )
    assert sweep_axes(SETTINGS, {"pool_size": [5, 10]}) == ((1,), (5, 10), (10,))


def test_the_default_runners_are_all_three_but_pool_alone_in_a_sweep():
    assert default_runners() == ("raw", "pool", "persistent")
    assert default_runners(sweep=True) == ("pool",)


def _rendered(format_name: str, result) -> str:
    out = io.StringIO()
    get_format(format_name).run(result, Console(file=out, width=200))
    return out.getvalue()


def test_a_projected_run_counts_round_trips_before_it_runs():
    backend, _ = backend_of_fakes()
    made: list[str] = []

    def create(label, settings):
        made.append(label)
        return backend.create_runner(label, settings)

    written = []
    result = run_projected(
        SETTINGS,
        ["nullpool", "persistent"],
        0.001,
        on_result=written.append,
        backend=dataclasses.replace(backend, create_runner=create),
    )
    # persistent once through the round-trip counter, then both runners for the run
    assert made == ["persistent", "nullpool", "persistent"]
    assert result.runner("persistent").summary.p50_ns == 20_000
    # the fake never reaches the counting relay: no round trips, the median as it was;
    # nullpool, which explain does not split, is left out
    projection = RunProjection(0.001, (ProjectedRunner("persistent", 20_000, 0, 20_000),))
    assert result.projection == projection
    # a file written from what on_result gets keeps the projection, and shows it as live
    for name in ("table", "markdown", "json"):
        live, saved = (
            _rendered(name, run) for run in (result, from_document(result.to_document()))
        )
        assert live == saved
        assert ('"projection"' if name == "json" else "projected at RTT 1 ms") in live
    assert written[-1] == result and written[-1].to_document()["projection"] == {
        "rtt_s": 0.001,
        "runners": [
            {
                "runner": "persistent",
                "median_ns": 20_000,
                "round_trips": 0,
                "projected_median_ns": 20_000,
            }
        ],
    }


def test_a_projection_is_of_the_read_workload_only():
    backend, created = backend_of_fakes()
    writes = dataclasses.replace(
        SETTINGS, benchmark=dataclasses.replace(SETTINGS.benchmark, workload="insert")
    )
    with pytest.raises(ConfigError, match="read workload only"):
        run_projected(writes, ["raw"], 0.001, backend=backend, allow_writes=True)
    assert created == {}


def test_stale_checks_the_server_on_its_backend_in_the_cases_session():
    checked, cases = [], []

    def refuse(database, workload):
        checked.append(database.init_command)
        raise ConnectError(f"cannot connect to {database.describe()}")

    request = StaleRequest(wait_timeout_s=2, idle_s=3.5)
    with pytest.raises(ConnectError):
        run_stale(SETTINGS, request, on_case=cases.append, backend=Backend(check_server=refuse))
    assert checked == ["SET SESSION wait_timeout=2"] and cases == []


def test_the_configured_server_is_measured_unless_none_is_configured_or_answers(monkeypatch):
    told: list[str] = []

    @contextlib.contextmanager
    def throwaway(settings):
        told.append("started")
        yield "the server", dataclasses.replace(settings, database=DatabaseSettings(port=4001))

    monkeypatch.setattr(benchmark, "local_server", throwaway)
    backend, _ = backend_of_fakes()
    with server_to_measure(SETTINGS, backend=backend, on_fallback=told.append) as target:
        assert target is SETTINGS and told == []
    nothing = dataclasses.replace(backend, finds_no_server=lambda settings: True)
    with server_to_measure(
        SETTINGS, backend=nothing, on_fallback=told.append, on_started=told.append
    ) as target:
        assert target.database.port == 4001
    # the fallback is told before the server starts (which takes seconds)
    assert told == ["127.0.0.1:3306", "started", "the server"]
    told.clear()
    with server_to_measure(SETTINGS, local=True, backend=backend, on_fallback=told.append):
        assert told == ["started"]  # asked for: no fallback to tell
    told.clear()
    with server_to_measure(
        SETTINGS, backend=nothing, on_fallback=told.append, may_fall_back=False
    ) as target:  # --server configured: that server, answering or not
        assert target is SETTINGS and told == []


@pytest.mark.parametrize("key", ["host", "port", "unix_socket", "user", "password", "database"])
def test_a_setting_naming_a_server_configures_it(monkeypatch, key):
    """No throwaway server in place of one named in any way: a user or password given
    for it would be silently dropped."""
    from dbbench.scenarios import backend

    probed = []
    monkeypatch.setattr(
        backend, "refuses_connections", lambda *address: probed.append(address) or True
    )
    given = dataclasses.replace(
        SETTINGS, database=DatabaseSettings(sources={key: "environment variable"})
    )
    assert not backend.no_server_to_measure(given) and probed == []
    assert backend.no_server_to_measure(SETTINGS) and probed == [("127.0.0.1", 3306)]


@pytest.mark.parametrize("key", ["driver", "ssl_mode", "connect_timeout_s"])
def test_how_to_talk_to_a_server_names_none(monkeypatch, key):
    from dbbench.scenarios import backend

    monkeypatch.setattr(backend, "refuses_connections", lambda *address: True)
    given = dataclasses.replace(
        SETTINGS, database=DatabaseSettings(sources={key: "environment variable"})
    )
    assert backend.no_server_to_measure(given)


def test_every_public_name_is_one_import_away():
    import dbbench

    for name in dbbench.__all__:
        assert getattr(dbbench, name) is not None, name
        # a name of the package's own modules would hide the module from "from dbbench import"
        assert importlib.util.find_spec(f"dbbench.{name}") is None, name
    assert dbbench.run_benchmark is run_benchmark and dbbench.Backend is Backend


def test_explain_runs_on_the_backend_it_is_given():
    backend, created = backend_of_fakes()
    backend = dataclasses.replace(backend, wall_clock_s=lambda: 1_700_000_000.0)
    started = []
    explanation = explain(
        SETTINGS,
        ["persistent"],
        iterations=6,
        warmup=1,
        on_start=lambda: started.append(True),
        backend=backend,
    )
    assert started == [True]
    (persistent,) = explanation.runners
    # the plain operation is timed on the backend's clock: exactly the fake's cost
    assert persistent.runner == "persistent" and persistent.whole_median_ns == 20_000
    assert explanation.environment.server_version == "10.11.0-Fake"
    assert explanation.started_at == explanation.finished_at == "2023-11-14T22:13:20+00:00"
    assert created["persistent"].closed  # the runners the backend made are closed after


def test_explain_stops_at_the_server_check_before_any_runner():
    backend, created = backend_of_fakes()

    def refuse(database, workload):
        raise ConnectError(f"cannot connect to {database.describe()}")

    started = []
    with pytest.raises(ConnectError):
        explain(
            SETTINGS,
            ["raw", "pool"],
            on_start=lambda: started.append(True),
            backend=dataclasses.replace(backend, check_server=refuse),
        )
    assert started == [] and created == {}


def test_a_failing_run_s_left_behind_table_is_a_warning_to_the_backend():
    backend, _ = backend_of_fakes()
    warnings: list[str] = []

    def broken(label, settings):
        raise RuntimeError("the runner could not start")

    writes = dataclasses.replace(
        SETTINGS,
        database=DatabaseSettings(database="test"),
        benchmark=dataclasses.replace(SETTINGS.benchmark, workload="insert"),
    )
    backend = dataclasses.replace(
        backend, scratch_table=LeftBehind, warn=warnings.append, create_runner=broken
    )
    with pytest.raises(RuntimeError):
        run_benchmark(writes, ["raw"], backend=backend, allow_writes=True)
    # the run's own error would carry it away: the user hears of the table now
    assert len(warnings) == 1 and warnings[0].startswith("could not drop the scratch table")
    # a run that ends well keeps the note in its result instead
    backend, _ = backend_of_fakes()
    backend = dataclasses.replace(backend, scratch_table=LeftBehind, warn=warnings.append)
    result = run_benchmark(writes, ["raw"], backend=backend, allow_writes=True)
    assert len(warnings) == 1 and any("could not drop" in note for note in result.notes)
    assert result.scratch is not None


def test_the_library_names_settings_not_flags():
    """A library caller reads the settings' names; only the command line shows flags."""
    from dbbench import parse_fail_on

    backend, _ = backend_of_fakes()
    calls = [
        lambda: run_sweep(SETTINGS, ["raw"], *sweep_axes(SETTINGS, {"concurrency": [1, 2]})),
        lambda: parse_fail_on("p99:10"),
        lambda: run_benchmark(
            dataclasses.replace(
                SETTINGS, benchmark=dataclasses.replace(SETTINGS.benchmark, workload="insert")
            ),
            ["raw"],
            backend=backend,
            allow_writes=True,
        ),
    ]
    messages = []
    for call in calls:
        with pytest.raises(ConfigError) as caught:
            call()
        messages.append(str(caught.value))
    assert messages[0] == "a sweep compares pool settings: runner_names must include pool"
    assert messages[1].startswith("fail_on = 'p99:10': ")
    assert messages[2].endswith("needs a database to put it in: give [database] database")
    assert not any("--" in message or "\x02" in message for message in messages)


def _with(**benchmark: object) -> Settings:
    return dataclasses.replace(
        SETTINGS, benchmark=dataclasses.replace(SETTINGS.benchmark, **benchmark)
    )


def _refused(call) -> str:
    with pytest.raises(ConfigError) as caught:
        call()
    return str(caught.value)


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (_with(query="DO 1"), "[benchmark] query = 'DO 1' may change data"),
        (_with(query="DELETE FROM t"), "so give allow_writes if that is what you want"),
        (_with(workload="insert"), "[benchmark] workload = 'insert' writes"),
    ],
)
def test_every_entry_point_that_sends_sql_refuses_writes_unless_allow_writes(settings, expected):
    """The guard is the library's, not only the command line's: nothing is created, no
    server is checked, until ``allow_writes`` says so."""
    backend, created = backend_of_fakes()
    checked = []

    def check(database, workload):
        checked.append(database)
        raise AssertionError("the server was checked before the refusal")

    backend = dataclasses.replace(backend, check_server=check)
    calls = [
        lambda: plan_run(settings, ["raw"]),
        lambda: run_benchmark(settings, ["raw"], backend=backend),
        lambda: run_projected(settings, ["raw"], 0.001, backend=backend),
        lambda: run_sweep(settings, ["pool"], [1, 2], [1], [0], backend=backend),
    ]
    if settings.benchmark.workload == "read":  # stale and explain run the query alone
        calls += [
            lambda: run_stale(settings, StaleRequest(), backend=backend),
            lambda: explain(settings, ["raw"], backend=backend),
        ]
    for call in calls:
        message = _refused(call)
        assert expected in message and "--" not in message, message
    assert created == {} and checked == []
    if settings.benchmark.workload == "read":  # given allow_writes, it is measured
        backend, _ = backend_of_fakes()
        result = run_benchmark(settings, ["persistent"], backend=backend, allow_writes=True)
        assert result.complete and result.runners[0].attempted == 20


def test_a_query_of_ones_own_is_for_the_read_workload_only():
    backend, created = backend_of_fakes()
    settings = _with(workload="insert", query="SELECT 2")
    message = _refused(lambda: run_benchmark(settings, ["raw"], backend=backend, allow_writes=True))
    assert message == (
        "[benchmark] query is for the read workload; the insert workload runs its own statement "
        "on a scratch table (leave out [benchmark] query, or set [benchmark] workload to read)"
    )
    assert created == {}
