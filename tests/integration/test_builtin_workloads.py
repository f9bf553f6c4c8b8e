"""``--workload point-select`` and ``--workload read-only`` against the session's MariaDB and
PostgreSQL through the real command: on a prepared data set, without --allow-writes, every
runner, no errors, each statement's figures; without one, the one line and exit 2."""

from __future__ import annotations

import json

import pytest

from dbbench.databases.dataset import NO_DATA_SET
from tests.integration.test_dataset import Server, target  # noqa: F401 (the fixture)

pytestmark = pytest.mark.integration

READ_ONLY = [
    "BEGIN",
    "SELECT c FROM dbbench_data WHERE id = :id",
    "SELECT c FROM dbbench_data WHERE id BETWEEN :start AND :stop",
    "SELECT SUM(k) FROM dbbench_data WHERE id BETWEEN :start AND :stop",
    "SELECT c FROM dbbench_data WHERE id BETWEEN :start AND :stop ORDER BY c",
    "SELECT DISTINCT c FROM dbbench_data WHERE id BETWEEN :start AND :stop ORDER BY c",
    "COMMIT",
]


def test_without_a_data_set_it_is_one_line_and_exit_2(target: Server):  # noqa: F811
    done = target.dbbench("run", "--workload", "point-select", "-n", "10")
    assert done.returncode == 2, done.stderr
    assert done.stderr == f"dbbench: error: {NO_DATA_SET}\n"
    assert done.stdout == ""


@pytest.mark.parametrize(
    ("workload", "iterations", "statements"),
    [("point-select", 100, ["SELECT c FROM dbbench_data WHERE id = :id"]),
     ("read-only", 50, READ_ONLY)],
)  # fmt: skip
def test_it_runs_on_the_data_set_without_allow_writes(
    target: Server,  # noqa: F811
    tmp_path,
    workload,
    iterations,
    statements,
):
    prepared = target.dbbench("prepare", "--rows", "2000", "--allow-writes")
    assert prepared.returncode == 0, prepared.stderr
    out = tmp_path / "out.json"
    done = target.dbbench(
        "run", "--workload", workload, "-n", str(iterations),
        "--runner", "raw,pool,persistent", "-o", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"{workload} workload on dbbench_data (2,000 rows)" in done.stdout
    document = json.loads(out.read_text())
    benchmark = document["settings"]["benchmark"]
    assert (benchmark["workload"], benchmark["data_rows"]) == (workload, 2000)
    assert [r["runner"] for r in document["results"]] == ["raw", "pool", "persistent"]
    for result in document["results"]:
        assert (result["n"], result["errors"]) == (iterations, 0), result["runner"]
        (script,) = result["scripts"]
        assert (script["script"], script["operations"]) == (workload, iterations)
        assert [s["sql"] for s in script["statements"]] == statements
        for statement in script["statements"]:
            assert statement["n"] == iterations and statement["errors"] == 0
            assert statement["mean_us"] > 0
    cleaned = target.dbbench("cleanup", "--allow-writes")
    assert cleaned.returncode == 0, cleaned.stderr
    assert not target.exists()
