"""Faults in the middle of a run, against a throwaway server of this module's own.

Each test starts ``dbbench run`` as a user would (a process, a result file),
waits until it measures, then does something to the server: kills it,
restarts it, stops it (SIGSTOP), kills dbbench's connections, or fills
``max_connections`` from another client.  dbbench must keep going, count the
errors by kind, record when they happened and whether the runner recovered,
keep what it measured, and exit 3.

dbbench logs in as a user of its own, ``bench`` (not root: root may take the
one connection MariaDB keeps for SUPER beyond ``max_connections``, and the
tests' KILLs must spare their own connection).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pymysql
import pytest

from dbbench.errors import ExitStatus
from dbbench.server.local import LocalServer
from tests.integration.conftest import clean_environment, wait_for_result

#: MariaDB's floor for max_connections is 10; low, so a client can fill it quickly
MAX_CONNECTIONS = 24
BENCH_USER, BENCH_PASSWORD = "bench", "bench-faults-pw"
HOG_USER = "hog"
SETTINGS = """\
[database]
ssl_disabled = true
connect_timeout = 2
read_timeout = {read_timeout}
write_timeout = {read_timeout}
"""


@pytest.fixture(scope="module")
def local(local_server) -> Iterator[LocalServer]:
    with local_server(extra_args=[f"--max-connections={MAX_CONNECTIONS}"]) as server:
        with admin_connection(server) as admin, admin.cursor() as cursor:
            for user, password in ((BENCH_USER, BENCH_PASSWORD), (HOG_USER, "")):
                cursor.execute(f"CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY %s", (password,))
                cursor.execute(f"GRANT ALL ON test.* TO '{user}'@'127.0.0.1'")
        yield server


@pytest.fixture
def server(local: LocalServer) -> Iterator[LocalServer]:
    """The module's server, running (a test before may have killed or stopped it)."""
    if local.pid is not None:
        os.kill(local.pid, signal.SIGCONT)
    if not local.running:
        local.restart()
    yield local
    if local.pid is not None:  # never leave it stopped for the next test
        os.kill(local.pid, signal.SIGCONT)


@contextlib.contextmanager
def admin_connection(server: LocalServer, user: str = "root") -> Iterator[Any]:
    address = server.address
    connection = pymysql.connect(
        host=address.host,
        port=address.port,
        user=user,
        password="",
        autocommit=True,
        ssl_disabled=True,
        connect_timeout=5,
        read_timeout=10,
    )
    try:
        yield connection
    finally:
        with contextlib.suppress(Exception):
            connection.close()


class Run:
    """``dbbench compare`` in a process of its own, writing a result file."""

    def __init__(self, server: LocalServer, tmp_path: Path, *args: str, read_timeout: float = 30):
        self.path = tmp_path / "result.json"
        config = tmp_path / "dbbench.toml"
        config.write_text(SETTINGS.format(read_timeout=read_timeout))
        config.chmod(0o600)
        env = clean_environment()
        env.update(server.address.environment())
        env.update(DBBENCH_USER=BENCH_USER, DBBENCH_PASSWORD=BENCH_PASSWORD)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dbbench",
                "compare",  # run with the pool's flags
                "--config",
                str(config),
                "--warmup",
                "20",
                "--output",
                str(self.path),
                "--quiet",
                *args,
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.stdout = self.stderr = ""

    def document(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.path.read_text())
        except FileNotFoundError:
            return None

    def wait_measuring(self, timeout_s: float = 60) -> dict[str, Any]:
        """The result file once every runner has measured successful operations."""
        return wait_for_result(
            self.path, lambda d: all(r["n"] > 0 for r in d["results"]), self.process, timeout_s
        )

    def wait_failing(self, timeout_s: float = 60) -> dict[str, Any]:
        """The result file once every runner has counted a failed operation."""
        return wait_for_result(
            self.path, lambda d: all(r["errors"] > 0 for r in d["results"]), self.process, timeout_s
        )

    def wait_snapshot_after(self, moment_s: float, timeout_s: float = 60) -> dict[str, Any]:
        """Each runner's result from the first checkpoint taken after ``moment_s`` (time.time()).

        Checkpoints are taken between turns, when no worker runs, and stamped
        ``finished_at`` to the second (rounded down): a stamp at or past the
        next whole second after ``moment_s`` was taken after it.
        """
        after = dt.datetime.fromtimestamp(math.ceil(moment_s), dt.UTC)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            # asked before the file is read: a run that ended in between has written its
            # final document, the last checkpoint of all, by then
            ended = self.process.poll() is not None
            document = self.document()
            if document and dt.datetime.fromisoformat(document["finished_at"]) >= after:
                return by_runner(document)
            assert not ended, self.process.communicate()
            time.sleep(0.05)
        raise AssertionError(f"no checkpoint after {after.isoformat()}")

    def finish(self, timeout_s: float = 240) -> dict[str, Any]:
        self.stdout, self.stderr = self.process.communicate(timeout=timeout_s)
        document = self.document()
        assert document is not None, self.stderr
        return document

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


@pytest.fixture
def runs() -> Iterator[list[Run]]:
    started: list[Run] = []
    yield started
    for run in started:
        run.kill()


def by_runner(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["runner"]: r for r in document["results"]}


def check_accounting(document: dict[str, Any]) -> None:
    """Every operation counted once: n in the histogram, errors by kind and in the timeline."""
    for r in document["results"]:
        assert r["histograms"]["latency"]["count"] == r["n"]
        assert sum(r["errors_by_kind"].values()) == r["errors"]
        timeline = r["error_timeline"]
        if r["errors"]:
            counts = {kind: span["count"] for kind, span in timeline["kinds"].items()}
            assert counts == r["errors_by_kind"]
            assert sum(count for _, _, count in timeline["buckets"]) == r["errors"]
        else:
            assert timeline is None


def attempted(result: dict[str, Any]) -> int:
    """Operations a runner finished, failed or not."""
    return result["n"] + result["errors"]


def connection_ids(admin: Any, user: str) -> list[int]:
    with admin.cursor() as cursor:
        cursor.execute("SELECT ID FROM information_schema.PROCESSLIST WHERE USER = %s", (user,))
        return [row[0] for row in cursor.fetchall()]


# --- the server dies -------------------------------------------------------------------


def test_server_killed_and_left_dead(server, tmp_path, runs):
    run = Run(server, tmp_path, "--duration", "2s", "-c", "2", "--runner", "raw,pool,persistent")
    runs.append(run)
    before = by_runner(run.wait_measuring())
    server.kill()
    document = run.finish()
    assert run.process.returncode == ExitStatus.RUN_ERRORS, run.stderr
    assert document["complete"] is True
    check_accounting(document)
    for name, r in by_runner(document).items():
        assert r["n"] >= before[name]["n"] > 0  # what was measured before is kept
        assert r["errors"] > 0, name
        # connection refused, for every runner once its connection is gone
        assert "OperationalError(2003)" in r["errors_by_kind"], r["errors_by_kind"]
        assert r["error_timeline"]["recovered_s"] is None
    assert "no operation succeeded after the last error" in run.stdout
    assert "cannot connect" in run.stdout


def test_server_killed_stops_after_max_errors(server, tmp_path, runs):
    run = Run(
        server,
        tmp_path,
        *("--duration", "60s", "-c", "2", "--runner", "pool,persistent", "--max-errors", "50"),
    )
    runs.append(run)
    run.wait_measuring()
    server.kill()
    document = run.finish()
    assert run.process.returncode == ExitStatus.RUN_ERRORS, run.stderr
    assert document["complete"] is False
    assert "max_errors = 50" in document["stopped"]
    assert sum(r["errors"] for r in document["results"]) >= 50
    assert all(r["n"] > 0 for r in document["results"])
    check_accounting(document)


@pytest.mark.parametrize("pre_ping", ["--pre-ping", "--no-pre-ping"])
def test_server_restarted_mid_run(server, tmp_path, runs, pre_ping):
    run = Run(
        server,
        tmp_path,
        *("--duration", "3s", "-c", "2", "--runner", "raw,pool,persistent", pre_ping),
    )
    runs.append(run)
    run.wait_measuring()
    # shut down, and start again on the same port once every runner has taken a turn
    # in the gap (turns are 0.25 s, but on a loaded machine the time between them is
    # longer: a fixed 4 s was not always enough)
    server.stop()
    run.wait_failing()
    server.restart()
    at_restart = by_runner(run.document())
    document = run.finish()
    assert run.process.returncode == ExitStatus.RUN_ERRORS, run.stderr
    assert document["complete"] is True
    check_accounting(document)
    results = by_runner(document)
    for name, r in results.items():
        timeline = r["error_timeline"]
        assert r["errors"] > 0, name
        # operations succeeded again after the restart, and the runner said when
        assert r["n"] > at_restart[name]["n"], name
        assert timeline["recovered_s"] is not None and (
            timeline["recovered_s"] >= timeline["last_error_s"]
        ), timeline
    pool = results["pool"]["pool"]
    # the pool threw its dead connections away and connected anew
    assert pool["connects"] > 2 and (pool["invalidations"] > 0 or pre_ping == "--pre-ping")
    assert "recovered: first success" in run.stdout


@pytest.mark.parametrize(
    "runners, stopped_s",
    [
        # each runner's turn now lasts about read_timeout, so 5 s gives every runner one
        ("raw,pool,persistent", 5),
        # aiomysql has no read timeout of its own; dbbench's connection class gives it one
        ("async-pool", 3),
    ],
)
def test_server_that_stops_answering_fails_operations_instead_of_hanging(
    server, tmp_path, runs, runners, stopped_s
):
    run = Run(
        server,
        tmp_path,
        *("--duration", f"{stopped_s + 1}s", "-c", "2", "--runner", runners),
        read_timeout=1,
    )
    runs.append(run)
    run.wait_measuring()
    # the process is there, the port open, no answer
    os.kill(server.pid, signal.SIGSTOP)
    time.sleep(stopped_s)
    os.kill(server.pid, signal.SIGCONT)
    document = run.finish()
    assert run.process.returncode == ExitStatus.RUN_ERRORS, run.stderr
    check_accounting(document)
    kinds = {kind for r in document["results"] for kind in r["errors_by_kind"]}
    assert "OperationalError(2013, timed out)" in kinds, kinds
    for name, r in by_runner(document).items():
        if r["errors"] or "," not in runners:
            assert r["error_timeline"]["recovered_s"] is not None, name
        # an operation waits at most about read_timeout for each answer, never for
        # the whole stop
        assert r["max_us"] < stopped_s * 1e6, name
    assert "no answer within read_timeout" in run.stdout


# --- connections killed, connections exhausted ----------------------------------------


@pytest.mark.parametrize("pre_ping", [True, False])
def test_killed_connections(server, tmp_path, runs, pre_ping):
    run = Run(
        server,
        tmp_path,
        # each runner measures 6 s, in turns of 0.25 s: both run long after the KILL
        *("--duration", "6s", "-c", "2", "--runner", "pool,persistent"),
        *("--pool-size", "2", "--max-overflow", "0"),
        "--pre-ping" if pre_ping else "--no-pre-ping",
    )
    runs.append(run)
    run.wait_measuring()
    with admin_connection(server) as admin:
        killed = connection_ids(admin, BENCH_USER)
        with admin.cursor() as cursor:
            for connection_id in killed:
                with contextlib.suppress(pymysql.err.OperationalError):  # gone already
                    cursor.execute(f"KILL CONNECTION {connection_id}")
    after_kill = run.wait_snapshot_after(time.time())
    document = run.finish()
    assert document["complete"] is True
    # 2 pooled, 2 persistent, the monitor's: all of dbbench's connections
    assert len(killed) >= 5
    check_accounting(document)
    results = by_runner(document)
    persistent, pool = results["persistent"], results["pool"]
    # whether a runner went on after the KILL is read from a checkpoint taken after
    # it (one read before it may lag the run by a second of operations)
    if attempted(persistent) > attempted(after_kill["persistent"]):
        # each worker's next operation fails once, then it reconnects
        assert 1 <= persistent["errors"] <= 2, persistent["errors_by_kind"]
        assert persistent["error_timeline"]["recovered_s"] is not None
    if pre_ping:
        # the ping finds a dead connection before the query: only operations in
        # flight at the KILL fail (at most one per pooled connection)
        assert pool["errors"] <= 2, pool["errors_by_kind"]
    elif attempted(pool) > attempted(after_kill["pool"]):
        # a killed connection fails the operation that next uses it, or, when the
        # KILL lands after its query, the rollback of the reset on return, which is
        # no part of a failed operation: either way the pool throws it away and
        # connects anew (0 errors with both connections replaced happens)
        assert pool["errors"] <= 2, pool["errors_by_kind"]
        assert pool["pool"]["invalidations"] >= 1
        assert pool["pool"]["connects"] >= 2 + pool["pool"]["invalidations"]
    if pool["errors"]:
        assert pool["error_timeline"]["recovered_s"] is not None
    assert run.process.returncode == (
        ExitStatus.RUN_ERRORS if pool["errors"] + persistent["errors"] else ExitStatus.SUCCESS
    )


def test_max_connections_filled_by_another_client(server, tmp_path, runs):
    run = Run(
        server,
        tmp_path,
        *("--duration", "5s", "-c", "2", "--runner", "raw,pool,persistent"),
        *("--pool-size", "2", "--max-overflow", "0"),
    )
    runs.append(run)
    run.wait_measuring()
    hog: list[Any] = []
    try:
        # take every free slot, and each one raw's connections give back, for 2 s
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            try:
                hog.append(
                    pymysql.connect(
                        host=server.address.host,
                        port=server.address.port,
                        user=HOG_USER,
                        ssl_disabled=True,
                        connect_timeout=2,
                    )
                )
            except pymysql.err.OperationalError as exc:
                assert exc.args[0] == 1040, exc
                time.sleep(0.01)
        time.sleep(1)
    finally:
        for connection in hog:
            with contextlib.suppress(Exception):
                connection.close()
    document = run.finish()
    assert run.process.returncode == ExitStatus.RUN_ERRORS, run.stderr
    assert document["complete"] is True
    check_accounting(document)
    results = by_runner(document)
    raw = results["raw"]
    assert raw["errors_by_kind"].get("OperationalError(1040)", 0) > 0, raw["errors_by_kind"]
    assert raw["error_timeline"]["recovered_s"] is not None  # once the other client let go
    # the pool and the persistent connections were open already: untouched
    assert results["pool"]["errors"] == 0 and results["persistent"]["errors"] == 0
    assert "too many connections" in run.stdout
