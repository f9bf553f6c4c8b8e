"""The result model: every real file in tests/data goes document -> model -> document unchanged."""

import dataclasses
import json
from pathlib import Path

import jsonschema
import pytest

from dbbench.results.model import (
    RUN_COMMANDS,
    SCHEMA_VERSION,
    BenchmarkSummary,
    CrossCheck,
    DatabaseSummary,
    DiffResult,
    Environment,
    Explanation,
    PoolSummary,
    ResultFileError,
    RunResult,
    RunsListing,
    SavedRunEntry,
    ServerSummary,
    SettingsSummary,
    StaleResult,
    SweepCell,
    SweepResult,
    Threshold,
    from_document,
    load_result,
    read_document,
    upgrade,
)

DATA = Path(__file__).resolve().parents[1] / "data"
SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "schema" / "dbbench-result.schema.json").read_text()
)
#: every run, sweep, stale, explain and diff file kept in tests/data, each written by an
#: older dbbench
MODELLED = sorted(
    path
    for path in DATA.rglob("*.json")
    if json.loads(path.read_text()).get("command")
    in (*RUN_COMMANDS, "sweep", "stale", "explain", "diff")
)
#: files written whole by dbbench (the diff_*.json ones were trimmed by hand; stale.json
#: predates the envelope: no settings, environment or times, filled with nulls on load)
WHOLE = [
    path
    for path in MODELLED
    if path.parent.name == "results"
    and "settings" in json.loads(path.read_text())
    or path.name in ("explain.json", "diff.json")
]


def test_the_data_files_are_found():
    assert {p.name for p in MODELLED} >= {"run.json", "sweep.json", "diff_base.json", "diff.json"}
    assert len(WHOLE) == 5


@pytest.mark.parametrize("path", MODELLED, ids=lambda p: p.name)
def test_document_model_document_is_the_upgraded_document(path):
    upgraded = read_document(path)
    assert upgraded["schema_version"] == SCHEMA_VERSION
    model = from_document(upgraded)
    assert model.to_document() == upgraded
    # and once more: the model of the model's document is the same model
    again = from_document(json.loads(json.dumps(model.to_document())))
    assert again.to_document() == upgraded


@pytest.mark.parametrize("path", WHOLE, ids=lambda p: p.name)
def test_the_schema_accepts_what_the_model_writes(path):
    jsonschema.Draft202012Validator(SCHEMA).validate(load_result(path).to_document())


def test_a_run_file_reads_into_typed_runners():
    run = load_result(DATA / "results" / "run.json")
    assert isinstance(run, RunResult)
    raw = run.runner("raw")
    assert raw is not None and raw.summary is not None
    # 1023.82598 µs in the file; the model keeps nanoseconds, as a live run does
    assert raw.summary.mean_ns == pytest.approx(1023825.98)
    assert raw.summary.p99_ns == 2039807
    assert raw.n == raw.latency.count == 2000
    assert raw.latency.histogram.percentile(0.99) == raw.summary.p99_ns
    assert run.environment.server_version == "10.11.19-MariaDB-0+deb12u1"
    assert run.settings.benchmark.iterations == 2000
    assert run.settings.benchmark.workload is None  # not recorded by this version
    assert run.settings.pool.pool_size == 5
    assert run.upgraded_from == 2
    pool = run.runner("pool")
    assert pool is not None and pool.pool is not None and pool.checkout is not None
    assert pool.pool.checkouts > 0


def test_the_benchmark_settings_are_typed_and_go_back_as_recorded():
    section = {"iterations": None, "duration_s": 2.5, "query": "SELECT 2", "later": [1]}
    bench = BenchmarkSummary.from_document(section)
    assert (bench.iterations, bench.duration_s, bench.query) == (None, 2.5, "SELECT 2")
    # what the file lacks is None, what the model does not know is kept
    assert bench.concurrency is None and bench.workload is None
    assert bench.to_document() == section
    assert BenchmarkSummary.from_document(None).to_document() == {}


def test_the_pool_settings_are_typed_and_go_back_as_recorded():
    section = {"pool_size": 3, "max_overflow": -1, "pool_pre_ping": True}
    pool = PoolSummary.from_document(section)
    assert (pool.pool_size, pool.max_overflow, pool.pool_pre_ping) == (3, -1, True)
    assert pool.pool_timeout_s is None
    assert pool.to_document() == section


def test_the_settings_are_typed_section_by_section_and_go_back_as_recorded():
    run = load_result(DATA / "results" / "run.json")
    settings = run.settings
    assert isinstance(settings, SettingsSummary) and isinstance(settings.database, DatabaseSummary)
    assert (settings.database.user, settings.database.where) == ("root", "127.0.0.1:3306")
    assert settings.database.password_set is False and settings.config_path == "/tmp/nossl.toml"
    assert settings.database.read_timeout_s is None  # not recorded by this version
    assert settings.to_document() == read_document(DATA / "results" / "run.json")["settings"]
    # stale's own arguments are typed too; a newer dbbench's keys are kept as read
    section = {"database": {"unix_socket": "/tmp/s", "later": 1}, "stale": {"idle_s": 3}}
    read = SettingsSummary.from_document(section)
    assert read.database.where == "/tmp/s" and read.database.host is None
    assert read.stale.idle_s == 3 and read.stale.protections is None and read.grid is None
    assert read.benchmark.query is None and read.pool.pool_size is None
    assert read.to_document() == section  # no empty [benchmark] or [pool] added


def test_a_section_built_in_memory_writes_its_fields():
    settings = SettingsSummary(benchmark=BenchmarkSummary(iterations=5, query="SELECT 2"))
    assert settings.to_document() == {"benchmark": {"iterations": 5, "query": "SELECT 2"}}
    # a field changed in a section read from a file replaces the file's value, in place
    read = SettingsSummary.from_document({"benchmark": {"iterations": 1, "concurrency": 2}})
    eight = dataclasses.replace(read.benchmark, concurrency=8)
    changed = dataclasses.replace(read, benchmark=eight).to_document()
    assert changed == {"benchmark": {"iterations": 1, "concurrency": 8}}


def test_the_environment_and_the_server_are_typed():
    run = load_result(DATA / "results" / "run.json")
    environment, server = run.environment, run.server
    assert isinstance(environment, Environment) and isinstance(server, ServerSummary)
    assert environment.server_vendor == "MariaDB" and environment.cpu_count == 2
    assert isinstance(server.cross_check, CrossCheck) and server.cross_check.matches is True
    assert server.deltas["Connections"] == server.cross_check.server_connections
    document = read_document(DATA / "results" / "run.json")
    assert environment.to_document() == document["environment"]
    assert server.to_document() == document["server"]
    # a monitor that recorded no cross-check, from an older file: None, and none written
    older = ServerSummary.from_document({"deltas": {"Connections": 3}, "complete": True})
    assert older.cross_check is None and older.samples is None
    assert older.to_document() == {"deltas": {"Connections": 3}, "complete": True}
    # a live run's sections, given as documents, are typed when the result is made
    typed = dataclasses.replace(run, settings={"config_path": "a.toml"}, server={"samples": 4})
    assert typed.settings.config_path == "a.toml" and typed.server.samples == 4


def test_a_sweep_file_reads_into_cells_and_recommendations():
    sweep = load_result(DATA / "results" / "sweep.json")
    assert isinstance(sweep, SweepResult)
    cells = [cell for cell, _ in sweep.cells]
    for recommendation in sweep.recommendations:
        assert recommendation.chosen is None or recommendation.chosen in cells
    assert all(isinstance(run, RunResult) for _, run in sweep.cells)


def test_a_live_sweep_takes_its_envelope_from_its_cells():
    first, last = (
        load_result(DATA / "results" / "run.json"),
        load_result(DATA / "results" / "run2.json"),
    )
    cells = [
        (SweepCell(1, 1, 0, 100.0, 900.0, 0, 0, 10), first),
        (SweepCell(2, 1, 0, 90.0, 1000.0, 0, 0, 10), last),
    ]
    grid = {"concurrency": [1, 2], "pool_size": [1], "max_overflow": [0]}
    sweep = SweepResult(cells, [], True, grid)
    assert (sweep.started_at, sweep.finished_at) == (first.started_at, last.finished_at)
    assert sweep.environment == first.environment
    assert sweep.settings.benchmark == first.settings.benchmark and sweep.settings.grid == grid
    document = sweep.to_document()
    assert document["settings"]["grid"] == grid and document["schema_version"] == SCHEMA_VERSION
    # read back, it keeps its own envelope, whatever its cells say
    again = from_document(json.loads(json.dumps(document)))
    assert again.to_document() == document and again.grid == grid
    assert dataclasses.replace(again, started_at="then").to_document()["started_at"] == "then"


def test_statistics_a_trimmed_file_lacks_come_from_its_histogram():
    document = json.loads((DATA / "diff_base.json").read_text())
    assert "p90_us" not in document["results"][0]
    raw = load_result(DATA / "diff_base.json").runner("raw")
    assert raw.summary.p90_ns == raw.latency.histogram.percentile(0.90)
    assert raw.summary.min_ns == raw.latency.histogram.min_ns


def test_a_version_1_run_reads_with_what_it_recorded():
    v1 = {
        "schema_version": 1,
        "command": "run",
        "results": [{"runner": "raw", "n": 5, "mean_us": 10.0, "errors": 2}],
    }
    run = from_document(upgrade(v1, "old.json"))
    raw = run.runner("raw")
    assert raw.summary.mean_ns == 10_000.0 and raw.summary.p99_ns is None
    assert raw.latency is None
    assert raw.errors == 2  # kept, under a kind it did not record
    assert run.upgraded_from == 1


def test_a_stale_file_reads_into_its_cases():
    stale = load_result(DATA / "results" / "stale.json")
    assert isinstance(stale, StaleResult) and stale.upgraded_from == 2
    none = stale.cases[0]
    assert none.protection == "none" and none.errors == 2 and none.error_rate == 0.2
    assert none.pool_settings.pool_size == 2 and none.pool.invalidations == 2
    assert none.first_latency_ns == 598193


def test_a_document_of_another_command_has_no_model():
    with pytest.raises(ResultFileError, match="'other' document"):
        from_document({"schema_version": SCHEMA_VERSION, "command": "other"})


def test_a_broken_document_is_one_line():
    document = read_document(DATA / "results" / "run.json")
    del document["results"][0]["histograms"]
    with pytest.raises(ResultFileError, match="x.json: not a run document dbbench can read"):
        from_document(document, "x.json")


def test_an_explain_file_without_a_schema_version_is_read_as_version_2():
    path = DATA / "results" / "explain.json"
    assert "schema_version" not in json.loads(path.read_text())  # as dbbench wrote it then
    explanation = load_result(path)
    assert isinstance(explanation, Explanation) and explanation.upgraded_from == 2
    raw = explanation.runner("raw")
    assert raw is not None and raw.phase("TCP connect").round_trips == 1
    assert raw.round_trips == sum(p.round_trips for p in raw.phases)
    assert explanation.to_document()["schema_version"] == SCHEMA_VERSION


def test_a_document_without_a_version_of_another_command_is_refused():
    with pytest.raises(ResultFileError, match="no schema_version"):
        upgrade({"command": "run", "results": []}, "x.json")


def test_the_runs_listing_goes_both_ways():
    entries = (
        SavedRunEntry(1, "before", ".dbbench/runs/0001-before.json", "2026-11-24T06:05:25+00:00",
                      "run", "pool, raw", True),
        SavedRunEntry(2, None, ".dbbench/runs/0002.json", error="0002.json: not JSON"),
    )  # fmt: skip
    document = RunsListing(entries).to_document()
    assert document["schema_version"] == SCHEMA_VERSION
    assert document["runs"][1] == {
        "number": 2, "name": None, "path": ".dbbench/runs/0002.json", "error": "0002.json: not JSON"
    }  # fmt: skip
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    assert from_document(json.loads(json.dumps(document))).to_document() == document
    unversioned = {k: v for k, v in document.items() if k != "schema_version"}
    assert from_document(upgrade(unversioned, "runs.json")).runs == entries  # as written before


def test_a_threshold_reads_back_as_written():
    for threshold in (Threshold("p99", 0.10), Threshold("mean", 0.025), Threshold("p50", 0.0)):
        assert Threshold.from_document(str(threshold)) == threshold
    with pytest.raises(ValueError, match="not METRIC:PERCENT"):
        Threshold.from_document("p99:0.1")


def test_a_diff_file_reads_into_its_verdict():
    diff = load_result(DATA / "results" / "diff.json")
    assert isinstance(diff, DiffResult) and diff.upgraded_from == 2
    (trip,) = diff.verdict.trips
    assert (trip.diff.runner, trip.change.metric, str(trip.threshold)) == (
        "persistent",
        "p99",
        "p99:10%",
    )
    assert trip.diff is diff.diffs[2] and trip.change is diff.diffs[2].changes[3]
    assert diff.verdict.missing == ("nullpool",) and diff.verdict.lacking
    assert diff.caveats == [] and diff.exit_status == 4


def test_a_sweep_keeps_which_part_of_the_rule_its_choice_breaks():
    from dbbench.scenarios.sweep import recommend

    run = load_result(DATA / "results" / "run.json")
    cells = [SweepCell(8, 20, 0, 5_000.0, 2_000.0, 0, 0, 400)]
    grid = {"concurrency": [8], "pool_size": [20], "max_overflow": [0]}
    sweep = SweepResult([(cells[0], run)], recommend(cells), True, grid)
    document = sweep.to_document()
    assert document["recommendations"][0]["disagreement"] == "pool_size 20 is above 16"
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    again = from_document(json.loads(json.dumps(document)))
    assert again.recommendations[0].disagreement == "pool_size 20 is above 16"
    # a file that does not say (older, or agreeing) reads back without one
    del document["recommendations"][0]["disagreement"]
    assert from_document(document).recommendations[0].disagreement is None
