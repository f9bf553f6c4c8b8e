"""--max-errors against a real server: the run stops with exit 3 and says why, --processes too."""

from __future__ import annotations

import json

import pytest

from tests.integration.conftest import run_dbbench

pytestmark = pytest.mark.integration

#: succeeds on its first execution on a connection (the server check, each cold start), then
#: fails on every one: a subquery of two rows where one is expected (error 1242)
FAILS_AFTER_FIRST = "SELECT IF((@n := COALESCE(@n, 0) + 1) > 1, (SELECT 1 UNION SELECT 2), 1)"


def stopped_run(server, runners: str, concurrency: str, processes: str, *more: str) -> dict:
    """``dbbench run`` of FAILS_AFTER_FIRST with ``--max-errors 5``: its JSON document, once
    its exit status (3) and its reason to stop are checked."""
    result = run_dbbench(
        "run", "--runner", runners, "-c", concurrency, "--processes", processes,
        "--max-errors", "5", "--query", FAILS_AFTER_FIRST, "--json", "--quiet", *more,
        env=server.env(), timeout_s=300,
    )  # fmt: skip
    assert result.returncode == 3, result.stderr
    document = json.loads(result.stdout)
    assert document["stopped"] == "stopped after 5 failed operations ([benchmark] max_errors = 5)"
    assert not document["complete"]
    return document


@pytest.mark.parametrize(
    ("runner", "concurrency", "processes"),
    [("pool", "2", "2"), ("pool", "4", "2"), ("async-pool", "4", "2"), ("pool", "4", "1")],
)
def test_max_errors_stops_the_run_with_exit_3(server, runner, concurrency, processes):
    document = stopped_run(server, runner, concurrency, processes, "-n", "100000", "--warmup", "0")
    (measured,) = document["results"]
    # 5 for the run, all processes together; beyond it only operations already in flight
    assert 5 <= measured["errors"] <= 5 + int(concurrency) - 1
    assert all(kind.endswith("(1242)") for kind in measured["errors_by_kind"])


@pytest.mark.parametrize(
    ("runners", "processes"),
    [("raw,pool,persistent", "2"), ("async-pool", "2"), ("persistent", "1")],
)
def test_warm_up_failures_count_toward_max_errors(server, runners, processes):
    # the default warm-up (2,000 operations per runner here) fails throughout: the run stops
    # in it, not after thousands of failed operations sent to the server
    document = stopped_run(server, runners, "4", processes, "-n", "20000")
    failed = sum(r["errors"] + r["warmup_errors"] for r in document["results"])
    # 5 for the run, all processes together; beyond it only operations already in flight
    assert 5 <= failed <= 5 + 4 - 1, document["results"]
    assert all(r["n"] == 0 for r in document["results"])  # stopped before measuring
