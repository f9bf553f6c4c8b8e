"""Result files from real runs: valid against the schema, written as the run goes, kept."""

from __future__ import annotations

import functools
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest

from dbbench.results.store import load
from tests.integration.conftest import (
    com_select,
    reaped,
    run_dbbench,
    side_by_side,
    wait_for_result,
    wait_for_selects,
)

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "schema" / "dbbench-result.schema.json").read_text()
)


def valid(document: dict) -> dict:
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    return document


def test_every_command_writes_a_document_the_schema_accepts(server, tmp_path):
    commands = {
        "run": ["run", "-n", "50", "--runner", "raw,pool,persistent,nullpool"],
        "threads": ["compare", "-n", "200", "-c", "4", "--processes", "2", "--pool-size", "2"],
        "open": ["run", "-n", "20", "--rate", "500", "--runner", "pool"],
        "insert": ["run", "-n", "20", "--workload", "insert", "--allow-writes"],
        "tasks": ["compare", "-n", "100", "-c", "4", "--runner", "pool,async-pool"],
        "tasks-2p": ["run", "-n", "60", "-c", "2", "--processes", "2", "--runner", "async-pool"],
        "sweep": ["compare", "-n", "30", "-c", "1,2", "--pool-size", "1,2"],
        "repeat": ["run", "-n", "20", "--repeat", "3"],
        "repeat-2p": ["compare", "-n", "40", "-c", "2", "--processes", "2", "--repeat", "2"],
        "repeat-sweep": ["compare", "-n", "20", "-c", "1,2", "--repeat", "2"],
        "stale": [
            "stale",
            "--wait-timeout",
            "1",
            "--idle",
            "1.5s",
            "--pool-size",
            "1",
            "--operations",
            "3",
            "--protection",
            "none,pre_ping",
        ],
        "explain": ["explain", "-n", "10", "--warmup", "2"],
    }

    def written(name: str) -> None:
        path = tmp_path / f"{name}.json"
        args = commands[name]
        result = run_dbbench(*args, "-q", "--output", str(path), env=server.env(), timeout_s=300)
        assert result.returncode == 0, (name, result.stderr)
        document = valid(json.loads(path.read_text()))
        assert document["complete"] is True
        assert document["environment"]["server_vendor"] in ("MariaDB", "MySQL")
        assert load(path) == document  # current version: read back as is

    side_by_side(*(functools.partial(written, name) for name in commands))


def test_json_on_stdout_is_the_same_document(server, tmp_path):
    path = tmp_path / "r.json"
    result = run_dbbench("run", "-n", "20", "--json", "-q", "-o", str(path), env=server.env())
    assert json.loads(result.stdout) == json.loads(path.read_text())


def test_histograms_in_the_file_recompute_the_percentiles(server, tmp_path):
    from dbbench.histogram import LatencyHistogram

    path = tmp_path / "r.json"
    run_dbbench(
        "run", "-n", "300", "-q", "-o", str(path), "--runner", "persistent", env=server.env()
    )
    (runner,) = load(path)["results"]
    histogram = LatencyHistogram.from_dict(runner["histograms"]["latency"])
    assert histogram.count == runner["n"] == 300
    assert histogram.percentile(0.99) / 1000 == runner["p99_us"]
    assert histogram.mean_ns / 1000 == pytest.approx(runner["mean_us"])


def test_save_keeps_numbered_runs_and_runs_lists_them(server, tmp_path):
    env = server.env()
    for name in ("baseline", None):
        args = ["run", "-n", "10", "-q", "--save"] + ([name] if name else [])
        result = subprocess.run(
            [sys.executable, "-m", "dbbench", *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
        assert result.returncode == 0, result.stderr
    saved = sorted(p.name for p in (tmp_path / ".dbbench" / "runs").iterdir())
    assert saved == ["0001-baseline.json", "0002.json"]
    listing = subprocess.run(
        [sys.executable, "-m", "dbbench", "runs"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "baseline" in listing.stdout and "0002.json" in listing.stdout


@pytest.mark.parametrize(
    ("how", "processes"),
    [
        (signal.SIGKILL, "1"),
        (signal.SIGINT, "1"),
        (signal.SIGTERM, "1"),
        (signal.SIGTERM, "2"),
        # to the parent alone (kill -INT), not the process group as a terminal's Ctrl-C
        (signal.SIGINT, "2"),
    ],
)
def test_a_killed_run_keeps_what_it_measured(server, tmp_path, how, processes):
    path = tmp_path / "partial.json"
    selects = com_select(server) + 1000  # more than the warm-up's and the checks' few
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dbbench",
            "run",
            "-n",
            "100000000",
            "--warmup",
            "5",
            "--runner",
            "pool,persistent",
            "-c",
            "2",
            "--processes",
            processes,
            "-q",
            "-o",
            str(path),
        ],
        env=server.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    with reaped(process):
        if processes == "1":  # checkpoints between turns: wait until each runner measured
            wait_for_result(path, lambda d: [r["n"] > 0 for r in d["results"]] == [True] * 2,
                            process)  # fmt: skip
        else:  # worker processes report at the end only: wait until they measure
            wait_for_selects(server, selects, process)
            time.sleep(1)  # four turns of 0.25 s (wall clock), so each runner has had one
        process.send_signal(how)
        process.communicate(timeout=60)
    if how != signal.SIGKILL:
        assert process.returncode == 130
    document = valid(json.loads(path.read_text()))  # whole, never half-written
    assert document["complete"] is False
    assert all(r["n"] > 0 for r in document["results"])
    assert [p.name for p in tmp_path.iterdir()] == ["partial.json"]  # no temporary left
