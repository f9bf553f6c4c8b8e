"""--max-errors against a real server: the run stops with exit 3 and says why, --processes too."""

from __future__ import annotations

import json

import pytest

from tests.integration.conftest import run_dbbench

pytestmark = pytest.mark.integration

#: succeeds on its first execution on a connection (the server check, each cold start), then
#: fails on every one: a subquery of two rows where one is expected (error 1242)
FAILS_AFTER_FIRST = "SELECT IF((@n := COALESCE(@n, 0) + 1) > 1, (SELECT 1 UNION SELECT 2), 1)"


@pytest.mark.parametrize(
    ("runner", "concurrency", "processes"),
    [("pool", "2", "2"), ("pool", "4", "2"), ("async-pool", "4", "2"), ("pool", "4", "1")],
)
def test_max_errors_stops_the_run_with_exit_3(server, runner, concurrency, processes):
    result = run_dbbench(
        "run",
        "--runner",
        runner,
        "-n",
        "100000",
        "-c",
        concurrency,
        "--processes",
        processes,
        "--warmup",
        "0",
        "--max-errors",
        "5",
        "--query",
        FAILS_AFTER_FIRST,
        "--json",
        "--quiet",
        env=server.env(),
        timeout_s=300,
    )
    assert result.returncode == 3, result.stderr
    document = json.loads(result.stdout)
    assert document["stopped"] == "stopped after 5 failed operations ([benchmark] max_errors = 5)"
    assert not document["complete"]
    (measured,) = document["results"]
    # 5 for the run, all processes together; beyond it only operations already in flight
    assert 5 <= measured["errors"] <= 5 + int(concurrency) - 1
    assert all(kind.endswith("(1242)") for kind in measured["errors_by_kind"])
