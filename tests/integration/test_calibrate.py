"""``dbbench calibrate`` against a real server: A/A trials of both recipes, their file, and
the limits they allow."""

from __future__ import annotations

import json

import jsonschema
import pytest

from tests.integration.conftest import run_dbbench
from tests.integration.test_result_files import SCHEMA

METRICS = ["mean", "p50", "p95", "p99", "ops_per_s"]


@pytest.mark.parametrize(
    ("recipe", "repeat", "method"), [("saved", "4", "mann-whitney"), ("duet", "2", "paired")]
)
def test_a_calibration_of_the_pool(server, tmp_path, recipe, repeat, method):
    path = tmp_path / "calibration.json"
    result = run_dbbench(
        "calibrate",
        "--runner",
        "pool",
        "-n",
        "50",
        "--repeat",
        repeat,
        "--trials",
        "2",
        "--recipe",
        recipe,
        "-q",
        "-o",
        str(path),
        env=server.env(),
        timeout_s=300,
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(path.read_text())
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    assert document["complete"] and document["recipe"] == recipe
    assert [t["number"] for t in document["trials"]] == [1, 2]
    for trial in document["trials"]:
        (pool,) = trial["diffs"]
        assert pool["runner"] == "pool"
        assert [c["metric"] for c in pool["changes"]] == METRICS
        for change in pool["changes"]:
            # each side's repetitions, tested between them as the gate tests them
            assert change["repetitions"] == [int(repeat), int(repeat)]
            assert change["method"].startswith(method) and change["change"] is not None
    assert [(c["runner"], c["metric"]) for c in document["calibrations"]] == [
        ("pool", m) for m in METRICS
    ]
    for row in document["calibrations"]:
        changes = [
            abs(c["change"])
            for t in document["trials"]
            for c in t["diffs"][0]["changes"]
            if c["metric"] == row["metric"]
        ]
        assert row["largest_change"] == pytest.approx(max(changes))
        assert 0 <= row["smallest"] <= row["largest_change"]
        assert row["suggested"] >= max(0.01, row["smallest"])
    assert document["false_alarm_bound"] == pytest.approx(1 - 0.05**0.5)
    assert "dbbench calibrate: 2 A/A trials" in result.stdout
    assert "suggested: --fail-on mean:" in result.stdout
    assert document["environment"]["server_version"]
