"""``--repeat K`` against a real server: each repetition opens its pools and processes afresh."""

from __future__ import annotations

import json

from tests.integration.conftest import run_dbbench


def test_each_repetition_has_its_own_pools_and_processes(server, tmp_path):
    path = tmp_path / "r.json"
    result = run_dbbench(
        "compare",
        "-n",
        "60",
        "-c",
        "2",
        "--processes",
        "2",
        "--pool-size",
        "1",
        "--max-overflow",
        "0",
        "--runner",
        "raw,pool",
        "--repeat",
        "3",
        "-q",
        "-o",
        str(path),
        env=server.env(),
        timeout_s=300,
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(path.read_text())
    assert document["settings"]["benchmark"]["repeat"] == 3
    repetitions = document["repetitions"]
    assert [r["number"] for r in repetitions] == [1, 2, 3]
    for repetition in repetitions:
        pool = next(r for r in repetition["results"] if r["runner"] == "pool")
        # two processes, each a pool of one connection opened in this repetition
        assert pool["pool"]["connects"] == 2 and pool["n"] == 60, pool["pool"]
        raw = next(r for r in repetition["results"] if r["runner"] == "raw")
        assert raw["n"] == 60 and raw["histograms"]["latency"]["count"] == 60
    merged = {r["runner"]: r for r in document["results"]}
    assert merged["pool"]["n"] == 180 and merged["pool"]["pool"]["connects"] == 6
    # dbbench's own count of what it opened, over every repetition, is what the server saw
    check = document["server"]["cross_check"]
    assert (
        check["dbbench_connections"]
        == sum(r["connections_opened"] for rep in repetitions for r in rep["results"])
        + document["server"]["monitor_connections"]
    )
    assert check["matches"], check
