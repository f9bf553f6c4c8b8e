"""``--pooler pgbouncer`` for real: a throwaway PostgreSQL, a throwaway PgBouncer in front,
and the three targets measured side by side with what PgBouncer saw."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.integration.conftest import clean_environment, run_dbbench

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        shutil.which("pgbouncer") is None and shutil.which("/usr/sbin/pgbouncer") is None,
        reason="pgbouncer is not installed (scripts/ensure-pgbouncer)",
    ),
]


def test_compare_through_a_throwaway_pgbouncer(cache_home, tmp_path):
    out = tmp_path / "pooled.json"
    done = run_dbbench(
        "compare", "--server", "local", "--dialect", "postgresql", "--pooler", "pgbouncer",
        "-c", "4", "-n", "120", "--ssl-mode", "disabled", "-o", str(out),
        env={**clean_environment(), "XDG_CACHE_HOME": str(cache_home)},
        timeout_s=300,
    )
    assert done.returncode == 0, done.stderr
    assert "started a throwaway PgBouncer" in done.stderr
    document = json.loads(out.read_text())
    labels = [r["runner"] for r in document["results"]]
    targets = ["direct", "pgbouncer-session", "pgbouncer-transaction"]
    assert labels == [f"{runner}@{t}" for runner in ("raw", "pool", "persistent") for t in targets]
    for r in document["results"]:
        assert r["errors"] <= 0.01 * r["n"], (r["runner"], r["errors_by_kind"])
    pooler = document["server"]["pooler"]
    assert pooler["kind"] == "pgbouncer" and pooler["complete"] is True
    # each runner through a pool of its own of each mode
    pools = {(p["runner"], p["target"]): p for p in pooler["pools"]}
    assert set(pools) == {
        (runner, target) for runner in ("raw", "pool", "persistent")
        for target in ("pgbouncer-session", "pgbouncer-transaction")
    }
    assert {p["database"] for p in pooler["pools"]} >= {
        "test_session_raw", "test_transaction_pool", "test_session_persistent"
    }
    assert pools["pool", "pgbouncer-transaction"]["pool_mode"] == "transaction"
    for (runner, _), pool in pools.items():
        # (120 + warm-up) operations, each at least its query
        assert pool["queries"] >= 120, (runner, pool)
        # 4 workers: at most as many clients, each a server connection at most
        assert 1 <= pool["peak_clients"] <= 4 and 1 <= pool["peak_servers"] <= 4, pool
    # raw's clients one per operation; the pool's and persistent's a few all run long
    by_runner = {r["runner"]: r for r in document["results"]}
    assert by_runner["raw@pgbouncer-session"]["connections_opened"] >= 120
    assert by_runner["pool@pgbouncer-session"]["connections_opened"] <= 4
    text = " ".join(done.stdout.split())
    assert "PgBouncer 1." in text and "saw, for pool on pgbouncer-transaction" in text
    assert "the pooler's, for the" in done.stdout
    # each runner on each pooled target said beside itself on direct, in plain words
    for said in (
        "finding: raw: a new connection per operation costs",
        "finding: pool: with an application pool in front, an operation costs",
        "finding: persistent: on one connection kept open, an operation costs",
    ):
        assert said in text
    assert "on pgbouncer-transaction against" in text and "ms on direct:" in text
    notes = document["notes"]
    # the probe: a transaction pool loses a SET between transactions, a session pool keeps it
    assert any(
        n.startswith("pgbouncer-transaction (transaction pool):")
        and "session state does not survive" in n and "SET" in n
        for n in notes
    ), notes
    assert any(
        n.startswith("pgbouncer-session (session pool):") and "state survives" in n
        for n in notes
    ), notes
    # what transaction pooling needs, set there and said so
    assert any("pgbouncer-transaction: transaction pooling" in n for n in notes), notes
    settings = {v["name"]: v for v in document["settings"]["variants"]}
    assert settings["pgbouncer-transaction"]["database"].get("transaction_pooling") is True


def test_a_repeated_run_keeps_what_the_pooler_saw_in_every_repetition(cache_home, tmp_path):
    out = tmp_path / "repeated.json"
    done = run_dbbench(
        "run", "--server", "local", "--dialect", "postgresql", "--pooler", "pgbouncer",
        "--repeat", "2", "-n", "30", "--runner", "raw,persistent", "--ssl-mode", "disabled",
        # each query its own transaction: PgBouncer counts one per operation at least
        "--autocommit",
        "-o", str(out),
        env={**clean_environment(), "XDG_CACHE_HOME": str(cache_home)},
        timeout_s=300,
    )
    assert done.returncode == 0, done.stderr
    document = json.loads(out.read_text())
    pooler = document["server"]["pooler"]
    assert pooler["complete"] is True
    pools = {(p["runner"], p["target"]): p for p in pooler["pools"]}
    assert {target for _, target in pools} == {"pgbouncer-session", "pgbouncer-transaction"}
    for (runner, target), pool in pools.items():
        # every measured operation of both repetitions ran at least one transaction there
        [measured] = [r["n"] for r in document["results"] if r["runner"] == f"{runner}@{target}"]
        assert measured == 2 * 30
        assert pool["transactions"] >= measured, (target, pool)
    assert "on pgbouncer-transaction (transaction pool)" in " ".join(done.stdout.split())
    counted = [n for n in document["notes"] if n.startswith("the server counted")]
    assert len(counted) == 1, counted  # the whole run's, not one per repetition
    probes = [n for n in document["notes"] if n.startswith("pgbouncer-transaction (transaction")]
    assert len(probes) == 1, probes


def test_an_insert_workload_writes_through_each_target_into_one_scratch_table(
    cache_home, tmp_path
):
    from dbbench.config.settings import BenchmarkSettings, Settings
    from tests.integration.test_writes import successful_operations

    out = tmp_path / "inserts.json"
    done = run_dbbench(
        "run", "--server", "local", "--dialect", "postgresql", "--pooler", "pgbouncer",
        "--workload", "insert", "--allow-writes", "-n", "20", "-c", "2",
        "--ssl-mode", "disabled", "-q", "-o", str(out),
        env={**clean_environment(), "XDG_CACHE_HOME": str(cache_home)},
        timeout_s=300,
    )
    assert done.returncode == 0, done.stderr
    document = json.loads(out.read_text())
    targets = {r["runner"].split("@")[1] for r in document["results"]}
    assert targets == {"direct", "pgbouncer-session", "pgbouncer-transaction"}
    for r in document["results"]:
        assert r["n"] == 20 and r["errors"] == 0 and r["warmup_errors"] == 0, r
    # the one table the parent made on the direct server holds every target's inserts
    bench = BenchmarkSettings(workload="insert", iterations=20, concurrency=2)
    assert document["scratch"]["rows"] == successful_operations(document, Settings(benchmark=bench))
    assert document["scratch"]["dropped"] is True
    pools = document["server"]["pooler"]["pools"]
    assert len(pools) == 2 * 3  # each runner's own pool of each mode
    for pool in pools:  # each insert committed there: one transaction at least
        assert pool["transactions"] >= 20, pool


def test_connects_a_killed_pgbouncer_refused_are_no_client_connections_made(
    postgresql_server, local_pgbouncer
):
    import dataclasses
    import os
    import signal

    from dbbench.config.settings import BenchmarkSettings, Settings
    from dbbench.scenarios import pooler
    from dbbench.scenarios.benchmark import run_benchmark
    from tests.integration.conftest import database_for

    database = dataclasses.replace(
        database_for(postgresql_server), dialect="postgresql", driver="psycopg"
    )
    bench = BenchmarkSettings(duration_s=2.0, warmup=0)
    with local_pgbouncer() as bouncer:
        settings = pooler.through(Settings(database=database, benchmark=bench), bouncer)
        killed = []

        def kill_midway(progress) -> None:  # kill -9, as a crash would
            if progress.phase == "measuring" and progress.elapsed_s >= 2.0 and not killed:
                killed.append(bouncer.pid)
                os.kill(bouncer.pid, signal.SIGKILL)

        result = run_benchmark(settings, ["raw", "persistent"], on_progress=kill_midway)
    assert killed
    through = [r for r in result.runners if not r.runner.endswith("@direct")]
    for r in through:
        assert r.connections_made + r.connects_failed == r.connections_opened, r.runner
    raw = [r for r in through if r.runner.startswith("raw@")]
    assert sum(r.connects_failed for r in raw) > 0  # raw kept trying a dead pooler
    for r in raw:  # a connection made per success (the cold start's too), and per query
        # that failed once connected (lost when PgBouncer went)
        failed_queries = r.errors - r.connects_failed
        assert r.connections_made == r.n + 1 + failed_queries, r
    note = next(n for n in result.notes if str(n).startswith("the server counted"))
    made = sum(r.connections_made for r in through)
    failed = sum(r.connects_failed for r in through)
    assert f"for the {made} client connections made through it ({failed} more connects" in note
    assert result.server.pooler.complete is False


def test_the_pooler_needs_postgresql():
    done = run_dbbench("run", "--pooler", "pgbouncer", "-n", "5", env=clean_environment())
    assert done.returncode == 2
    assert "pools PostgreSQL connections" in done.stderr and "Traceback" not in done.stderr
