"""``--target NAME=URL`` against real servers: the session's MariaDB and PostgreSQL side
by side in one run, each runner labelled by its target, each server recorded."""

from __future__ import annotations

import json

import pytest

from tests.integration.conftest import clean_environment, run_dbbench

pytestmark = pytest.mark.integration


def url(dialect: str, address) -> str:
    return f"{dialect}://{address.user}@{address.host}:{address.port}/{address.database}"


def _measure(server, postgresql_server, *args: str):
    """dbbench ``args`` against the two servers as targets, without TLS."""
    if server.password or postgresql_server.password:
        pytest.skip("the targets here take no password (the session's servers have none)")
    return run_dbbench(*args, "--ssl-mode", "disabled", env=clean_environment())


def test_a_mysql_and_a_postgresql_target_in_one_run(server, postgresql_server, tmp_path):
    out = tmp_path / "targets.json"
    done = _measure(
        server, postgresql_server, "run",
        "--target", f"pg={url('postgresql', postgresql_server)}",
        "--target", f"maria={url('mysql', server)}",
        "--runner", "raw,pool,persistent",
        "-n", "30",
        "-o", str(out),
    )
    assert done.returncode == 0, done.stderr
    document = json.loads(out.read_text())
    labels = [r["runner"] for r in document["results"]]
    assert labels == [
        "raw@pg", "raw@maria", "pool@pg", "pool@maria", "persistent@pg", "persistent@maria",
    ]
    assert all(r["n"] == 30 and r["errors"] == 0 for r in document["results"])
    variants = document["settings"]["variants"]
    assert [v["url"] for v in variants] == [
        url("postgresql", postgresql_server), url("mysql", server),
    ]
    servers = {v["name"]: v["server_version"] for v in document["environment"]["variants"]}
    assert "MariaDB" in servers["maria"] and "PostgreSQL" not in servers["maria"]
    assert servers["pg"].startswith("PostgreSQL")
    # the run's own endpoint is the first target's: its server line, its counters
    assert document["settings"]["database"]["dialect"] == "postgresql"
    assert document["settings"]["database"]["port"] == postgresql_server.port
    assert f"target pg ({url('postgresql', postgresql_server)}, PostgreSQL" in done.stdout
    assert f"target maria ({url('mysql', server)}, " in done.stdout
    # each runner's speedup against raw of its own target
    assert "pool@maria is" in done.stdout and "than raw@maria" in done.stdout


def test_a_postgresql_only_write_is_refused_though_a_target_is_mysql(server, postgresql_server):
    done = run_dbbench(
        "run",
        "--target", f"maria={url('mysql', server)}",
        "--target", f"pg={url('postgresql', postgresql_server)}",
        "--query", "SELECT pg_advisory_lock(1)",
        "-n", "5",
        env=clean_environment(),
    )
    assert done.returncode == 2, done.stdout
    assert "pg_advisory_lock" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_concurrency_sweep_of_a_mysql_and_a_postgresql_target(
    server, postgresql_server, tmp_path
):
    out = tmp_path / "sweep.json"
    done = _measure(
        server, postgresql_server, "compare",
        "--target", f"a={url('mysql', server)}",
        "--target", f"b={url('postgresql', postgresql_server)}",
        "-c", "1,2",
        "-n", "50",
        "-o", str(out),
    )
    assert done.returncode == 0, done.stderr
    # each target's matrix, under its line, with a column per concurrency
    first, second = done.stdout.split(f"target b ({url('postgresql', postgresql_server)}, ")
    assert f"target a ({url('mysql', server)}, " in first
    for matrix in (first, second):
        assert "concurrency 1" in matrix and "concurrency 2" in matrix
        assert "concurrency 1: pool_size=" in matrix and "concurrency 2: pool_size=" in matrix
    document = json.loads(out.read_text())
    assert document["command"] == "sweep"
    cells = [(c["variant"], c["concurrency"]) for c in document["cells"]]
    assert cells == [("a", 1), ("a", 2), ("b", 1), ("b", 2)]
    for cell in document["cells"]:
        assert cell["operations"] == 50 and cell["errors"] == 0, cell
        # each cell's run is its target's alone, on its own server
        (runner,) = cell["result"]["results"]
        assert runner["runner"] == "pool"
        dialect = cell["result"]["settings"]["database"]["dialect"]
        assert dialect == {"a": "mysql", "b": "postgresql"}[cell["variant"]]
    recommended = [(r["variant"], r["concurrency"]) for r in document["recommendations"]]
    assert recommended == cells
    # the file reads back for a diff with itself
    diffed = run_dbbench("diff", str(out), str(out), env=clean_environment())
    assert diffed.returncode == 0, diffed.stderr
    assert "variant b" in diffed.stdout


def test_a_list_of_drivers_runs_on_the_target_of_their_dialect(server, postgresql_server):
    done = _measure(
        server, postgresql_server, "run",
        "--target", f"pg={url('postgresql', postgresql_server)}",
        "--target", f"maria={url('mysql', server)}",
        "--driver", "psycopg,psycopg2",
        "--runner", "raw,pool",
        "-n", "20",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert [r["runner"] for r in document["results"]] == [
        "raw/psycopg@pg", "raw/psycopg2@pg", "raw/pymysql@maria",
        "pool/psycopg@pg", "pool/psycopg2@pg", "pool/pymysql@maria",
    ]
    assert all(r["n"] == 20 and r["errors"] == 0 for r in document["results"])
    assert any("speaks mysql: it runs with its own, pymysql" in n for n in document["notes"])
