"""Result files: atomic writes, upgrades, saved runs."""

import json

import pytest

from dbbench.errors import ConfigError
from dbbench.results.model import SCHEMA_VERSION
from dbbench.results.store import ResultFileError, RunStore, load, upgrade, write_atomic


def test_write_atomic_writes_everything_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "result.json"
    write_atomic(path, {"schema_version": 2, "x": 1})
    write_atomic(path, {"schema_version": 2, "x": 2})
    assert json.loads(path.read_text()) == {"schema_version": 2, "x": 2}
    assert [p.name for p in path.parent.iterdir()] == ["result.json"]


def test_write_atomic_failure_keeps_the_old_file(tmp_path):
    path = tmp_path / "result.json"
    write_atomic(path, {"ok": True})
    with pytest.raises(TypeError):
        write_atomic(path, {"bad": object()})  # cannot be serialised
    assert json.loads(path.read_text()) == {"ok": True}
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_write_atomic_where_it_cannot_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ResultFileError, match="file is not a directory"):
        write_atomic(blocker / "r.json", {})  # a file where a directory should be


V1_RUN = {
    "schema_version": 1,
    "command": "run",
    "complete": True,
    "environment": {"server_version": "10.11"},
    "results": [{"runner": "raw", "n": 5, "mean_us": 10.0}],
}


def test_version_1_is_upgraded_without_histograms():
    document = upgrade(json.loads(json.dumps(V1_RUN)), "old.json")
    assert document["schema_version"] == SCHEMA_VERSION == 4
    assert document["upgraded_from"] == 1
    assert document["results"][0]["histograms"] == {"latency": None, "checkout": None}
    assert document["results"][0]["mean_us"] == 10.0  # recorded statistics are kept
    assert document["environment"]["server_vendor"] is None


def test_version_1_sweep_cells_are_upgraded_too():
    sweep = {"schema_version": 1, "command": "sweep", "cells": [{"result": dict(V1_RUN)}]}
    document = upgrade(json.loads(json.dumps(sweep)), "s.json")
    assert document["cells"][0]["result"]["results"][0]["histograms"]["latency"] is None


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"schema_version": SCHEMA_VERSION + 1}, "written by a newer dbbench"),
        ({"command": "run"}, "not a dbbench result file"),
        ({"schema_version": 0}, "is not one dbbench wrote"),
    ],
)
def test_documents_that_cannot_be_read_say_why(document, message):
    with pytest.raises(ResultFileError, match=message):
        upgrade(document, "x.json")


def test_load_errors(tmp_path):
    with pytest.raises(ResultFileError, match="no such result file"):
        load(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"schema_version": 2, "resu')
    with pytest.raises(ResultFileError, match="not JSON"):
        load(broken)
    array = tmp_path / "array.json"
    array.write_text("[]")
    with pytest.raises(ResultFileError, match="not a JSON object"):
        load(array)


def test_saved_runs_are_numbered_in_order_and_resolved_by_name_number_or_latest(tmp_path):
    store = RunStore(tmp_path)
    assert store.runs() == []
    first = store.next_path("baseline")
    write_atomic(first, {"schema_version": 2})
    second = store.next_path(None)
    write_atomic(second, {"schema_version": 2})
    third = store.next_path("after-fix")
    write_atomic(third, {"schema_version": 2})
    assert [p.name for p in (first, second, third)] == [
        "0001-baseline.json",
        "0002.json",
        "0003-after-fix.json",
    ]
    assert [(r.number, r.name) for r in store.runs()] == [
        (1, "baseline"),
        (2, None),
        (3, "after-fix"),
    ]
    assert store.resolve("baseline") == first
    assert store.resolve("2") == second
    assert store.resolve("latest") == third
    assert store.resolve(str(first)) == first
    with pytest.raises(ResultFileError, match="no such result file or saved run"):
        store.resolve("nope")


def test_saved_run_names_are_checked(tmp_path):
    store = RunStore(tmp_path)
    with pytest.raises(ConfigError, match="a run name is letters"):
        store.next_path("../escape")
    write_atomic(store.next_path("x"), {})
    with pytest.raises(ConfigError, match="has that name already"):
        store.next_path("x")


def test_runs_saved_at_the_same_moment_get_different_numbers(tmp_path):
    store = RunStore(tmp_path)
    first, second = store.next_path(None), store.next_path(None)  # neither written yet
    assert (first.name, second.name) == ("0001.json", "0002.json")
    assert [p.name for p in (tmp_path / ".dbbench" / "runs").iterdir()] == []


@pytest.mark.parametrize("name", ["3", "latest", "before.json"])
def test_names_diff_would_read_as_something_else_are_refused(tmp_path, name):
    with pytest.raises(ConfigError, match="would be read as something else"):
        RunStore(tmp_path).next_path(name)
