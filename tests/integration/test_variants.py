"""``--variant``: base and new measured in one run against a real server, in the same turns
and in every repetition, each runner with its own variant's settings (in worker processes
too)."""

from __future__ import annotations

import json

import pytest

from tests.integration.command_counter import COM_PING, CommandCounter
from tests.integration.conftest import run_dbbench
from tests.integration.delay_proxy import DelayProxy

LABELS = ["raw@base", "raw@new", "pool@base", "pool@new"]


@pytest.mark.parametrize("processes", [1, 2])
def test_base_and_new_in_one_run_only_new_pings_at_checkout(server, tmp_path, processes):
    (tmp_path / "base.toml").write_text("[pool]\npool_pre_ping = false\n")
    (tmp_path / "new.toml").write_text("[pool]\npool_pre_ping = true\n")
    path = tmp_path / "r.json"
    # every connection through a proxy that counts the commands on the wire: a pre-ping is
    # a COM_PING, which no other part of the run sends
    counter = CommandCounter()
    with DelayProxy((server.host, server.port), 0.0, watch=counter.connection) as relay:
        env = {**server.env(), "DBBENCH_HOST": "127.0.0.1", "DBBENCH_PORT": str(relay.port)}
        result = run_dbbench(
            "compare",
            "--variant",
            f"base={tmp_path / 'base.toml'}",
            "--variant",
            f"new={tmp_path / 'new.toml'}",
            "-n",
            "40",
            "-c",
            "2",
            "--processes",
            str(processes),
            "--runner",
            "raw,pool",
            "--ssl-mode",
            "disabled",  # the relay reads plain text
            "--repeat",
            "2",
            "-q",
            "-o",
            str(path),
            env=env,
            timeout_s=300,
        )
        pings = counter.commands[COM_PING]
    assert result.returncode == 0, result.stderr
    # base and new of each runner side by side in the table
    rows = [words[0] for words in map(str.split, result.stdout.splitlines()) if words]
    assert [row for row in rows if row in LABELS][:4] == LABELS, result.stdout
    document = json.loads(path.read_text())
    assert [v["name"] for v in document["settings"]["variants"]] == ["base", "new"]
    assert document["settings"]["variants"][1]["pool"] == {"pool_pre_ping": True}
    assert [v["name"] for v in document["environment"]["variants"]] == ["base", "new"]
    repetitions = document["repetitions"]
    assert len(repetitions) == 2
    for repetition in repetitions:
        runners = {r["runner"]: r for r in repetition["results"]}
        assert list(runners) == LABELS
        assert all(r["n"] == 40 and r["errors"] == 0 for r in runners.values())
    # every checkout of a connection the pool had already used pings it first (a fresh one
    # is not pinged): new's pool, in each repetition and process; base's never pings
    new = [next(r for r in rep["results"] if r["runner"] == "pool@new") for rep in repetitions]
    base = [next(r for r in rep["results"] if r["runner"] == "pool@base") for rep in repetitions]
    expected = sum(r["pool"]["checkouts"] - r["pool"]["connects"] for r in new)
    assert expected > 0 and pings == expected, (pings, [r["pool"] for r in new])
    # each repetition's pools are opened afresh, one per process (and variant) at least
    assert all(r["pool"]["connects"] >= processes for r in new + base)
    check = document["server"]["cross_check"]
    assert check["matches"], check
