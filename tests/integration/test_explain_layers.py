"""``dbbench explain --runner core,session`` on real servers: SQLAlchemy's layers over the
pool, each timed, their round trips counted on the wire, and the findings they earn.

The round trips are the protocol's, exactly: the query's 1 in the DB-API execute (psycopg's
BEGIN, 1, inside it on PostgreSQL); the ROLLBACK at the close of the transaction, 1; and
for a Session on MariaDB a second ROLLBACK, 1, the pool's reset-on-return, which
``Session.close()`` leaves to run (psycopg sends nothing for a rollback outside a
transaction: 0 there).  The times are asserted for their structure only: every layer
taken, none charged twice (the sum within twice the whole operation's median).
"""

from __future__ import annotations

import json

import pytest

from tests.integration.conftest import run_dbbench

CORE = ("checkout", "statement", "DB-API execute", "result", "rollback", "checkin")
SESSION = ("Session()", "session execute", "checkout", "statement", "DB-API execute",
           "result", "rollback", "reset-on-return", "close")  # fmt: skip


def _explain(server, *args: str) -> dict:
    result = run_dbbench(
        "explain", *args, "-n", "30", "--runner", "core,session", "--format", "json",
        env=server.env(), timeout_s=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    if server.password:
        assert server.password not in result.stdout + result.stderr
    return json.loads(result.stdout)


def _check_layers(document: dict, trips: dict[str, dict[str, int]]) -> dict[str, dict]:
    runners = {r["runner"]: r for r in document["runners"]}
    assert list(runners) == ["core", "session"]
    for name, expected in (("core", CORE), ("session", SESSION)):
        runner = runners[name]
        phases = {p["name"]: p for p in runner["phases"]}
        assert [p for p in phases if p in expected] == list(expected), list(phases)
        for phase in expected:
            if phase != "reset-on-return":  # without a round trip: a µs, maybe 0 once net
                assert phases[phase]["median_ns"] > 0, (name, phase)
        total_ns = sum(p["median_ns"] for p in runner["phases"])
        assert 0 < total_ns <= 2 * runner["whole_median_ns"], (name, total_ns)
        assert {p: n["round_trips"] for p, n in phases.items() if n["round_trips"]} == trips[name]
    return runners


def _findings(document: dict) -> list[str]:
    return document["findings"]


def test_core_and_session_layers_on_mariadb(server):
    document = _explain(server, "--ssl-mode", "disabled")
    _check_layers(
        document,
        {
            "core": {"DB-API execute": 1, "rollback": 1},
            "session": {"DB-API execute": 1, "rollback": 1, "reset-on-return": 1},
        },
    )
    notes = _findings(document)
    for name in ("core", "session"):
        (handling,) = [n for n in notes if n.startswith(f"{name}: Core's statement handling")]
        # every execution of the statement but the first found its compilation cached
        assert "executions (the first compiled it)" in handling
    assert [n for n in notes if n.startswith("session: a Session per operation adds")]
    assert [n for n in notes if "rolls the transaction back" in n]


def test_core_and_session_layers_on_postgresql(postgresql_server):
    document = _explain(postgresql_server, "--dialect", "postgresql", "--ssl-mode", "disabled")
    _check_layers(
        document,
        {
            "core": {"DB-API execute": 1, "BEGIN": 1, "rollback": 1},
            "session": {"DB-API execute": 1, "BEGIN": 1, "rollback": 1},
        },
    )
    notes = _findings(document)
    assert [n for n in notes if n.startswith("core: Core's statement handling")]
    assert [n for n in notes if n.startswith("session: a Session per operation adds")]
    assert not [n for n in notes if "rolls the transaction back" in n]


@pytest.mark.parametrize("runner", ["core", "session"])
def test_the_layer_table(server, runner):
    result = run_dbbench(
        "explain", "-n", "10", "--runner", runner, "--ssl-mode", "disabled",
        env={**server.env(), "COLUMNS": "200"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for phase in CORE if runner == "core" else SESSION:
        assert f"\n  {phase} " in result.stdout, phase
    assert "sum of phases" in result.stdout and "whole operation" in result.stdout
    assert "finding: " + runner + ": Core's statement handling" in result.stdout
