"""What a connection costs the server, read at the run's peak by ``dbbench run`` as a user
runs it: a throwaway PostgreSQL's backends from ``/proc/PID/smaps_rollup``, MariaDB's
connections from its ``PROCESSLIST.MEMORY_USED``, ``performance_schema``'s count (MySQL's
way) on a throwaway MariaDB that has it on, and "not available" with the reason where
they cannot be read (``performance_schema`` off; dbbench in another pid namespace than
the server, as in a container).  PostgreSQL's are throwaway servers, never the session's
(a container's would show none of this); plausible figures, never exact ones."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from dbbench.databases.mysql_memory import ThreadMemory
from dbbench.drivers import side
from dbbench.server.local import ServerAddress
from tests.integration.conftest import (
    PostgreSQLTestServer,
    TestServer,
    database_for,
)

RUN = ("run", "--runner", "raw,pool", "-c", "4", "-n", "1500", "--ssl-mode", "disabled")
#: the options that make performance_schema count memory (``databases.mysql_memory.OPTIONS``)
PERFORMANCE_SCHEMA = ["--performance-schema=ON", "--performance-schema-instrument=memory/%=ON"]


@pytest.fixture(scope="module")
def postgresql(local_postgresql) -> Iterator[PostgreSQLTestServer]:
    with local_postgresql() as local:
        yield PostgreSQLTestServer(**dataclasses.asdict(local.address), local=local)


def printed(stdout: str) -> str:
    """The table's output with its lines joined (it wraps them at its width)."""
    return " ".join(stdout.split())


def run_reading(
    env: dict[str, str], tmp_path: Path, prefix: Sequence[str] = ()
) -> tuple[dict, str]:
    """``dbbench run`` (behind ``prefix``, a command that runs it): its result file's
    ``server.connection_memory`` and its printed output, lines joined."""
    output = tmp_path / "run.json"
    command = [*prefix, sys.executable, "-m", "dbbench", *RUN, "-o", str(output)]
    result = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=120,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    memory = json.loads(output.read_text())["server"]["connection_memory"]
    return memory, printed(result.stdout)


def assert_read(memory: dict, source: str, measures: Sequence[str]) -> None:
    """Read from ``source``: the pool's 4 at least open at the peak, each measure's least,
    median and most in order.  (The connections are listed a moment after the peak was
    counted: a connection per operation opened between them is read too, so there may be
    as many as were counted, the monitor's own among those.)"""
    assert memory["unavailable"] is None
    assert memory["source"] == source
    assert memory["connections"] >= 4 and memory["backends"] >= 5
    assert set(memory["measures"]) == set(measures)
    for spread in memory["measures"].values():
        assert 0 < spread["min"] <= spread["median"] <= spread["max"]


def test_postgresql_backends_cost_their_share_of_what_they_map(
    postgresql: PostgreSQLTestServer, tmp_path: Path
) -> None:
    memory, text = run_reading(postgresql.env(), tmp_path)
    assert_read(memory, "/proc/PID/smaps_rollup", ("pss", "rss", "anonymous"))
    pss, rss, own = (memory["measures"][name] for name in ("pss", "rss", "anonymous"))
    assert rss["median"] >= pss["median"]  # shared pages whole against their share
    assert own["median"] <= pss["median"]
    assert re.search(
        r"server memory per connection at the peak: PSS median [\d.]+ [KM]iB \(max [\d.]+ "
        r"[KM]iB\), RSS [\d.]+ MiB, own \(anonymous\) [\d.]+ [KM]iB; \d+ of the run's "
        r"connections read of \d+ client backends open \(/proc/PID/smaps_rollup\)",
        text,
    ), text


def unshare() -> list[str]:
    """A command prefix that runs its command in a pid namespace of its own, with its own
    /proc: as root, or as a user namespace's root otherwise."""
    command = shutil.which("unshare")
    assert command, "unshare (util-linux) is needed to run dbbench in another pid namespace"
    as_user = [] if os.geteuid() == 0 else ["--user", "--map-root-user"]
    return [command, *as_user, "--pid", "--fork", "--mount-proc"]


def test_from_another_pid_namespace_postgresqls_memory_is_not_available(
    postgresql: PostgreSQLTestServer, tmp_path: Path
) -> None:
    # dbbench in a container of its own, the server outside: its backends' ids are not here
    memory, text = run_reading(postgresql.env(), tmp_path, unshare())
    assert memory["measures"] == {}
    assert re.fullmatch(
        r"the server's process \d+ is not this machine's \(another pid namespace: a "
        r"container\?\): its processes' memory cannot be read here",
        memory["unavailable"],
    ), memory["unavailable"]
    assert "server memory per connection at the peak: not available: the server's process" in (
        text
    )


def test_mariadb_connections_cost_what_the_server_counts_for_them(
    server: TestServer, local_server, tmp_path: Path
) -> None:
    with contextlib.ExitStack() as stack:
        if server.local is None:  # a shared server may be MySQL, which has no MEMORY_USED
            local = stack.enter_context(local_server())
            server = TestServer(**dataclasses.asdict(local.address), local=local)
        memory, text = run_reading(server.env(), tmp_path)
    assert_read(memory, "information_schema.PROCESSLIST.MEMORY_USED", ("allocated",))
    assert re.search(
        r"server memory per connection at the peak: allocated median [\d.]+ [KM]iB \(max "
        r"[\d.]+ [KM]iB\); \d+ of the run's connections read of \d+ connections open "
        r"\(information_schema\.PROCESSLIST\.MEMORY_USED\)",
        text,
    ), text


def mysql_connection(server: ServerAddress) -> Any:
    return side.connect(dataclasses.replace(database_for(server), driver="pymysql"))


def test_performance_schema_counts_each_threads_memory_when_it_is_on(local_server) -> None:
    with local_server(extra_args=PERFORMANCE_SCHEMA) as local:
        monitor = mysql_connection(local.address)
        reader = ThreadMemory("performance_schema")
        assert reader.open(monitor) is None
        clients = [mysql_connection(local.address) for _ in range(3)]
        for client in clients:
            with client.cursor() as cursor:
                cursor.execute("SELECT 1")
        sample = reader.read(monitor)
        for connection in (*clients, monitor):
            connection.close()
    assert sample.source == "performance_schema"
    assert sample.connections == 3  # the monitor's own not among them
    assert sample.measures["allocated"]["max"] > 0


def test_without_performance_schema_its_figure_is_not_available(local_server) -> None:
    with local_server() as local:  # MariaDB's default: performance_schema off
        connection = mysql_connection(local.address)
        try:
            reason = ThreadMemory("performance_schema").open(connection)
        finally:
            connection.close()
    assert reason == (
        "performance_schema is off (start the server with --performance-schema=ON "
        "--performance-schema-instrument='memory/%=ON')"
    )
