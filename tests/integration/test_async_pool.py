"""The async-pool runner against a real server: tasks account for every operation, the pool's
counters, the server's count, Ctrl-C, processes.  (Its starved pool's timeouts and open loop
are in test_concurrency.py, its result files in test_result_files.py, beside the threaded ones.)"""

from __future__ import annotations

import json
import signal
import subprocess
import sys

from dbbench.config.settings import BenchmarkSettings, PoolSettings, Settings
from dbbench.engine.harness import Plan, run_interleaved
from dbbench.runners import create_runner
from dbbench.runners.async_pool import AsyncPoolRunner
from dbbench.scenarios.benchmark import settings_for_server
from tests.integration.conftest import reaped, run_dbbench, wait_for_result
from tests.integration.test_concurrency import by_runner, private_server, run_json  # noqa: F401
from tests.integration.test_result_files import valid


def test_tasks_account_for_every_operation_beside_the_threads(server):
    doc = run_json(server, "compare", "-n", "600", "-c", "4", "--runner", "pool,async-pool")
    assert doc["complete"]
    assert [r["runner"] for r in doc["results"]] == ["pool", "async-pool"]  # one table, one file
    for r in doc["results"]:
        assert r["n"] + r["errors"] == 600, r["runner"]
        assert r["errors"] == 0, r["errors_by_kind"]
    tasks = by_runner(doc)["async-pool"]
    counters = tasks["pool"]
    # cold start + warm-up (60, at least one per worker) + 600 measured, all given back
    assert counters["checkouts"] == counters["checkins"] == 1 + 60 + 600
    assert 1 <= counters["peak_checked_out"] <= 4
    assert 1 <= counters["connects"] <= 4 and counters["invalidations"] == 0
    assert tasks["connections_opened"] == counters["connects"]
    assert tasks["checkout"]["p50_us"] is not None
    assert tasks["first_op_us"] > 0


def test_server_connections_match_what_the_async_pool_opened(private_server):  # noqa: F811
    args = ["run", "-n", "300", "-c", "4", "--runner", "raw,async-pool,pool"]
    doc = run_json(private_server, *args)
    check = doc["server"]["cross_check"]
    assert check["matches"], check
    assert check["by_runner"]["async-pool"] == by_runner(doc)["async-pool"]["pool"]["connects"]


def test_processes_each_run_their_own_loop_and_merge(server):
    doc = run_json(
        server, "run", "-n", "400", "-c", "4", "--processes", "2", "--runner", "async-pool"
    )
    assert doc["complete"]
    (tasks,) = doc["results"]
    assert tasks["n"] + tasks["errors"] == 400
    counters = tasks["pool"]
    # two processes, two pools and loops: each checked out its share (plus its cold start)
    assert counters["checkouts"] >= 400 + 2 and counters["checkouts"] == counters["checkins"]


def test_the_table_shows_both_runners_and_their_pools(server):
    result = run_dbbench(
        "compare", "-n", "200", "-c", "2", "--runner", "pool,async-pool", env=server.env()
    )
    assert result.returncode == 0, result.stderr
    table = [line.split() for line in result.stdout.splitlines()]
    assert sum(1 for cells in table if cells[:2] == ["async-pool", "200"]) == 1
    assert "what the pool did" in result.stdout
    assert sum(1 for cells in table if cells and cells[0] == "async-pool") == 2  # both tables


def test_ctrl_c_stops_the_async_pool_and_keeps_what_it_measured(server, tmp_path):
    path = tmp_path / "partial.json"
    args = ["run", "-n", "100000000", "--warmup", "5", "--runner", "async-pool,pool", "-c", "3"]
    process = subprocess.Popen(
        [sys.executable, "-m", "dbbench", *args, "-q", "-o", str(path)],
        env=server.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    with reaped(process):
        # operations in flight when the signal comes: async-pool measures, pool waits its turn
        wait_for_result(path, lambda d: by_runner(d).get("async-pool", {}).get("n", 0) > 0,
                        process)  # fmt: skip
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    document = valid(json.loads(path.read_text()))
    assert document["complete"] is False
    tasks = by_runner(document)["async-pool"]
    assert tasks["n"] > 0
    # the operations in flight finished: every checkout was given back, none failed
    assert tasks["errors"] == 0
    assert tasks["pool"]["checkouts"] == tasks["pool"]["checkins"]


def settings_for(server, **pool) -> Settings:
    plain = Settings(benchmark=BenchmarkSettings(query="SELECT 1"), pool=PoolSettings(**pool))
    return settings_for_server(plain, server)


def test_the_runner_keeps_one_loop_and_closes_it(server):
    runner = create_runner("async-pool", settings_for(server, pool_pre_ping=True))
    assert isinstance(runner, AsyncPoolRunner)
    outcome = run_interleaved([runner], Plan(iterations=50, warmup=5, concurrency=2, slice_s=0.05))
    assert outcome.complete
    record = outcome.records[0]
    assert record.tally.latency.count == 50
    assert record.pool_counters.checkouts == record.pool_counters.checkins == 1 + 5 + 50
    assert runner._loop is None and runner.engine is None  # closed: loop and engine gone
    runner.close()  # twice is harmless
