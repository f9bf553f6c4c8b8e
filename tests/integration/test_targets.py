"""``--target NAME=URL`` against real servers: the session's MariaDB and PostgreSQL side
by side in one run, each runner labelled by its target, each server recorded."""

from __future__ import annotations

import json

import pytest

from tests.integration.conftest import clean_environment, run_dbbench

pytestmark = pytest.mark.integration


def url(dialect: str, address) -> str:
    return f"{dialect}://{address.user}@{address.host}:{address.port}/{address.database}"


def test_a_mysql_and_a_postgresql_target_in_one_run(server, postgresql_server, tmp_path):
    out = tmp_path / "targets.json"
    env = clean_environment()
    if server.password or postgresql_server.password:
        pytest.skip("the targets here take no password (the session's servers have none)")
    done = run_dbbench(
        "run",
        "--target", f"pg={url('postgresql', postgresql_server)}",
        "--target", f"maria={url('mysql', server)}",
        "--runner", "raw,pool,persistent",
        "-n", "30",
        "--ssl-mode", "disabled",
        "-o", str(out),
        env=env,
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
