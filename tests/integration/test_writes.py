"""The insert workload against a real server: rows land, the scratch table comes and goes.

Every runner must commit its insert inside the operation (autocommit is off,
the pool rolls back on checkin, raw closes without commit), so each runner
is checked alone: the rows counted before the drop are exactly its
successful operations -- the first one, the warm-up and the measured ones.
"""

from __future__ import annotations

import dataclasses
import json
import signal
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from dbbench.config.settings import BenchmarkSettings, Settings
from dbbench.databases import scratch
from dbbench.engine.processes import process_plans
from dbbench.errors import ConfigError
from dbbench.scenarios.benchmark import plan_for, run_benchmark, settings_for_server
from tests.integration.conftest import reaped, run_dbbench, wait_for_result

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "schema" / "dbbench-result.schema.json").read_text()
)


def insert_settings(server, **benchmark) -> Settings:
    bench = BenchmarkSettings(workload="insert", **benchmark)
    return settings_for_server(Settings(benchmark=bench), server)


def scratch_tables(server) -> list[str]:
    with server.connect() as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = DATABASE() AND table_name LIKE 'dbbench\\_scratch\\_%'"
        )
        return [row[0] for row in cursor.fetchall()]


def successful_operations(document: dict, settings: Settings) -> int:
    """Rows the run should have left: per runner, its measured successes plus, in
    every process, the first operation and the warm-up's successes."""
    plans = process_plans(plan_for(settings), settings.benchmark.processes)
    unmeasured = sum(1 + plan.warmup_operations for plan in plans)
    return sum(r["n"] + unmeasured - r["warmup_errors"] for r in document["results"])


@pytest.fixture
def watched_connection_ids(monkeypatch):
    """Before the drop, the connection ids that inserted rows: which connections really wrote."""
    seen: dict[str, list[int]] = {}
    drop = scratch.ScratchTable.drop

    def drop_after_looking(self):
        with scratch.side_connection(self.database) as connection, connection.cursor() as cursor:
            cursor.execute(f"SELECT connection_id FROM `{self.name}`")
            seen[self.name] = [row[0] for row in cursor.fetchall()]
        return drop(self)

    monkeypatch.setattr(scratch.ScratchTable, "drop", drop_after_looking)
    return seen


@pytest.mark.parametrize(
    "runner",
    ["raw", "pool", "persistent", "nullpool", "async-pool", "core", "session", "async-core",
     "async-session"],
)  # fmt: skip
def test_every_runner_commits_each_insert(server, runner, watched_connection_ids):
    settings = insert_settings(server, iterations=30, warmup=4)
    result = run_benchmark(settings, [runner], allow_writes=True)
    document = result.to_document()
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    (record,) = document["results"]
    assert record["n"] == 30 and record["errors"] == 0
    table = document["scratch"]["table"]
    assert scratch.TABLE_NAME.fullmatch(table)
    assert document["scratch"]["rows"] == successful_operations(document, settings) == 35
    assert document["scratch"]["dropped"] is True
    assert document["settings"]["benchmark"]["workload"] == "insert"
    assert document["settings"]["benchmark"]["scratch_table"] == table
    assert table in document["settings"]["benchmark"]["query"]
    assert table not in scratch_tables(server)
    writers = set(watched_connection_ids[table])
    if runner in ("raw", "nullpool"):
        assert len(writers) == 35  # a new connection for every insert
    elif runner == "persistent":
        assert len(writers) == 1
    else:
        assert 1 <= len(writers) <= 2  # one worker: the pool hands it one connection


def test_with_processes_the_parent_owns_the_table(server, tmp_path):
    path = tmp_path / "insert.json"
    result = run_dbbench(
        "compare",
        "--workload",
        "insert",
        "--allow-writes",
        "-n",
        "40",
        "-c",
        "4",
        "--processes",
        "2",
        "--runner",
        "raw,pool,persistent",
        "-q",
        "-o",
        str(path),
        env=server.env(),
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(path.read_text())
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    settings = insert_settings(server, iterations=40, concurrency=4, processes=2)
    assert document["scratch"]["rows"] == successful_operations(document, settings)
    assert document["scratch"]["dropped"] is True
    assert (
        "insert workload"
        in run_dbbench(
            "run", "--workload", "insert", "--allow-writes", "-n", "5", "-q", env=server.env()
        ).stdout
    )
    assert scratch_tables(server) == []


@pytest.mark.parametrize("where", ["flag", "file"])
def test_refused_without_allow_writes(server, tmp_path, where):
    args = ["--workload", "insert"]
    if where == "file":
        config = tmp_path / "dbbench.toml"
        config.write_text('[benchmark]\nworkload = "insert"\n')
        args = ["--config", str(config)]
    result = run_dbbench("run", *args, "-n", "5", "-q", env=server.env())
    assert result.returncode == 2
    named = "--workload" if where == "flag" else "[benchmark] workload"
    assert result.stderr.strip().splitlines() == [
        f"dbbench: error: {named} = 'insert' writes (into a scratch table dbbench creates "
        "and drops); give --allow-writes to run it"
    ]
    assert scratch_tables(server) == []


def test_needs_a_database(server):
    settings = insert_settings(server)
    settings = dataclasses.replace(
        settings, database=dataclasses.replace(settings.database, database=None)
    )
    with pytest.raises(ConfigError, match="needs a database"):
        run_benchmark(settings, ["pool"], allow_writes=True)


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM])
def test_the_table_is_dropped_after_an_interrupt(server, tmp_path, how):
    path = tmp_path / "partial.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "dbbench", "run", "--workload", "insert", "--allow-writes"]
        + ["--duration", "60s", "-c", "2", "--runner", "pool,persistent", "-q", "-o", str(path)],
        env=server.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    with reaped(process):
        # signalled once it has inserted rows, however long a busy machine took to start it
        wait_for_result(path, lambda d: d["results"][0]["n"] > 0, process)
        assert len(scratch_tables(server)) == 1  # mid-run: the table is there
        process.send_signal(how)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert scratch_tables(server) == []
    document = json.loads(path.read_text())
    assert document["complete"] is False
    assert document["scratch"]["dropped"] is True
    assert document["scratch"]["rows"] > 0


def test_a_users_tables_are_never_touched(server, monkeypatch):
    taken = "dbbench_scratch_deadbeef"  # a user's table that happens to look like ours
    with server.connect(autocommit=True) as connection, connection.cursor() as cursor:
        for name in ("orders", taken):
            cursor.execute(f"DROP TABLE IF EXISTS `{name}`")
            cursor.execute(f"CREATE TABLE `{name}` (id INT PRIMARY KEY, note VARCHAR(20))")
            cursor.execute(f"INSERT INTO `{name}` VALUES (1, 'mine'), (2, 'also mine')")

    def contents() -> dict[str, tuple]:
        with server.connect() as connection, connection.cursor() as cursor:
            found = {}
            for name in ("orders", taken):
                cursor.execute(f"SELECT * FROM `{name}` ORDER BY id")
                found[name] = cursor.fetchall()
            return found

    before = contents()
    try:
        result = run_benchmark(
            insert_settings(server, iterations=20), ["raw", "pool"], allow_writes=True
        )
        assert result.scratch is not None and result.scratch.table not in ("orders", taken)
        assert contents() == before
        # a run that draws a name already in use refuses, and leaves that table be
        monkeypatch.setattr("dbbench.scenarios.benchmark.new_table_name", lambda: taken)
        with pytest.raises(ConfigError, match=f"`{taken}` already exists"):
            run_benchmark(insert_settings(server, iterations=20), ["pool"], allow_writes=True)
        assert contents() == before
    finally:
        with server.connect(autocommit=True) as connection, connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS orders, `{taken}`")
    assert scratch_tables(server) == []
