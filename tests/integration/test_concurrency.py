"""Concurrency against a real server: counts add up, a starved pool times out, the server agrees."""

from __future__ import annotations

import dataclasses
import json

import pytest

from tests.integration.conftest import TestServer, run_dbbench


def run_json(server, *args: str) -> dict:
    result = run_dbbench(*args, "--json", "--quiet", env=server.env(), timeout_s=300)
    assert result.returncode in (0, 3), result.stderr
    return json.loads(result.stdout)


def by_runner(doc: dict) -> dict[str, dict]:
    return {r["runner"]: r for r in doc["results"]}


#: PyMySQL builds an SSL context in every connect unless told not to (16 ms of CPU here,
#: and the session's server offers no TLS to use it): of no bearing on what is counted
NO_TLS = ("--ssl-mode", "disabled")


def test_threads_account_for_every_operation(server):
    doc = run_json(
        server, "run", "-n", "600", "--concurrency", "6",
        "--runner", "raw,pool,persistent,nullpool", *NO_TLS,
    )  # fmt: skip
    assert doc["complete"]
    for r in doc["results"]:
        assert r["n"] + r["errors"] == 600, r["runner"]
        assert r["errors"] == 0
    pool = by_runner(doc)["pool"]
    assert 1 <= pool["pool"]["peak_checked_out"] <= 6
    assert pool["checkout"]["p50_us"] is not None
    assert by_runner(doc)["persistent"]["connections_opened"] == 6  # one per worker


def test_processes_account_for_every_operation_and_merge_exactly(server):
    doc = run_json(
        server,
        "run",
        "-n",
        "500",
        "--concurrency",
        "4",
        "--processes",
        "2",
        "--runner",
        "pool,persistent",
    )
    assert doc["complete"]
    for r in doc["results"]:
        assert r["n"] + r["errors"] == 500, r["runner"]
    pool = by_runner(doc)["pool"]["pool"]
    # two processes, two pools: each checked out its share (plus cold start and warm-up)
    assert pool["checkouts"] >= 500 and pool["checkouts"] == pool["checkins"]
    assert by_runner(doc)["persistent"]["connections_opened"] == 4


@pytest.fixture
def private_server(server, local_server):
    """A server no other client connects to: the session's own, or a new one (not a shared
    DBBENCH_TEST_URL server, whose health checks also count as connections)."""
    if server.local is not None:
        yield server
        return
    with local_server() as local:
        yield TestServer(**dataclasses.asdict(local.address), local=local)


def test_server_connections_match_what_dbbench_opened(private_server):
    server = private_server
    doc = run_json(
        server, "run", "-n", "300", "--concurrency", "4",
        "--runner", "raw,pool,persistent,nullpool", *NO_TLS,
    )  # fmt: skip
    check = doc["server"]["cross_check"]
    assert check["matches"], check
    assert check["by_runner"]["pool"] == by_runner(doc)["pool"]["pool"]["connects"]
    assert doc["server"]["threads_connected_peak"] >= 4


@pytest.mark.parametrize("runner", ["pool", "async-pool"])
def test_a_starved_pool_times_out_and_still_finishes(server, runner):
    doc = run_json(
        server,
        "compare",
        "-n",
        "40",
        "--concurrency",
        "4",
        "--pool-size",
        "1",
        "--max-overflow",
        "0",
        "--pool-timeout",
        "0.1",
        "--runner",
        runner,
        "--query",
        "SELECT SLEEP(0.05)",
    )
    pool = by_runner(doc)[runner]
    assert doc["complete"]
    assert pool["errors_by_kind"].get("TimeoutError", 0) > 0
    assert set(pool["errors_by_kind"]) == {"TimeoutError"}
    assert pool["n"] + pool["errors"] == 40
    assert pool["pool"]["peak_checked_out"] == 1
    assert pool["pool"]["connects"] == 1
    # the note says which settings stop them, as the settings file names them
    note = next(note for note in doc["notes"] if "for a free connection and gave up" in note)
    assert note.startswith(f"{runner}: {pool['errors_by_kind']['TimeoutError']:,} checkouts")
    assert "4 workers shared at most 1 connection" in note
    assert "raise [pool] pool_size or [pool] max_overflow, or give [pool] pool_timeout" in note


@pytest.mark.parametrize("runner", ["persistent", "async-pool"])
def test_open_loop_reports_a_rate_it_cannot_reach(server, runner):
    doc = run_json(
        server,
        "run",
        "-n",
        "30",
        "--rate",
        "1000",
        "--runner",
        runner,
        "--query",
        "SELECT SLEEP(0.01)",
    )
    persistent = by_runner(doc)[runner]
    assert persistent["n"] == 30
    assert persistent["target_rate_per_s"] == 1000
    assert persistent["achieved_rate_per_s"] < 200
    assert any("asked for" in note for note in doc["notes"])
    # queueing counts: the last operations waited behind the earlier ones
    assert persistent["max_us"] > 100_000


def test_a_sweep_runs_every_cell_and_recommends(server):
    result = run_dbbench(
        "compare",
        "-n",
        "100",
        "--concurrency",
        "1,4",
        "--pool-size",
        "1,4",
        "--max-overflow",
        "0",
        "--json",
        "--quiet",
        env=server.env(),
        timeout_s=300,
    )
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    cells = {(c["concurrency"], c["pool_size"], c["max_overflow"]) for c in doc["cells"]}
    assert cells == {(1, 1, 0), (1, 4, 0), (4, 1, 0), (4, 4, 0)}
    assert all(c["operations"] == 100 for c in doc["cells"])
    assert [r["concurrency"] for r in doc["recommendations"]] == [1, 4]
    table = run_dbbench(
        "compare",
        "-n",
        "50",
        "--concurrency",
        "1,2",
        "--pool-size",
        "1,2",
        "--quiet",
        env=server.env(),
        timeout_s=300,
    )
    assert "concurrency 1" in table.stdout and "rule of thumb" in table.stdout


def test_stale_command_fails_without_protection_and_not_with_pre_ping(server):
    result = run_dbbench(
        "stale",
        "--wait-timeout",
        "2",
        "--idle",
        "3.5s",
        "--pool-size",
        "3",
        "--operations",
        "10",
        "--json",
        "--quiet",
        env=server.env(),
        timeout_s=120,
    )
    assert result.returncode == 0, result.stderr
    cases = {c["protection"]: c for c in json.loads(result.stdout)["cases"]}
    assert 1 <= cases["none"]["errors"] <= 3
    assert cases["pre_ping"]["errors"] == 0 and cases["recycle"]["errors"] == 0


def test_a_query_failing_in_the_processes_reads_as_in_one_process(private_server):
    server = private_server

    def next_connection_id() -> int:
        with server.connect() as connection, connection.cursor() as cursor:
            cursor.execute("SELECT CONNECTION_ID()")
            return cursor.fetchone()[0]

    outputs = []
    for processes in ("1", "2"):
        before = next_connection_id()
        # dbbench's check before measuring opens the next two connections: the query
        # passes there and fails (1242, a query error) on every runner's connection after
        cut = f"{before + 2:09d}"  # the same length each run: the message shows the query's start
        query = f"SELECT IF(CONNECTION_ID() <= {cut}, 1, (SELECT 1 UNION SELECT 2))"
        result = run_dbbench(
            "run", "-n", "10", "-c", "2", "--processes", processes, "--runner", "raw",
            "--query", query, env=server.env(), timeout_s=300,
        )  # fmt: skip
        # the runners connected (the check passed): their first operation failed
        assert next_connection_id() - before > 3 + int(processes), result.stderr
        outputs.append((result.returncode, result.stderr.replace(cut, "N")))
    (one_status, one_text), (two_status, two_text) = outputs
    assert one_status == two_status == 1
    assert "Subquery returns more than 1 row; check --query" in one_text, one_text
    assert two_text == one_text
