"""dbbench.server.local_postgresql.LocalPostgreSQLServer against the real initdb and postgres.

What it promises: a psycopg connection (TCP and the Unix socket) to user ``root``,
database ``test``; nothing left behind after the block, after an exception in it,
after the dbbench process that started it is SIGKILLed (the postmaster gets SIGQUIT
from the kernel); as root, the server runs as the unprivileged user; missing
binaries are one line; TLS with ``sslmode=require`` and ``verify-full``.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import psycopg
import pytest

from dbbench.config.settings import DatabaseSettings, PoolSettings, Settings, Variant
from dbbench.errors import ConfigError, ServerError
from dbbench.scenarios import benchmark
from dbbench.server import local_postgresql
from dbbench.server.certificates import make_certificates
from dbbench.server.local_postgresql import LocalPostgreSQLServer, find_postgresql_binaries
from tests.integration.conftest import (
    clean_environment,
    gone,
    process_uids,
    reaped,
    run_dbbench,
)

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="what root does differently")


def connect(server: LocalPostgreSQLServer, **kwargs) -> psycopg.Connection:
    a = server.address
    kwargs.setdefault("host", a.host)
    return psycopg.connect(
        port=a.port, user=a.user, dbname=a.database, autocommit=True, connect_timeout=10,
        **kwargs,
    )  # fmt: skip


def shared_memory_ids() -> set[str]:
    """The ids of the machine's System V shared memory segments."""
    rows = Path("/proc/sysvipc/shm").read_text().splitlines()[1:]
    return {row.split()[1] for row in rows}


def test_the_session_server_accepts_psycopg_on_tcp_and_the_socket(postgresql_server):
    with postgresql_server.connect() as connection:
        user, database = connection.execute("SELECT current_user, current_database()").fetchone()
        assert (user, database) == ("root", "test")
        assert connection.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)
    local = postgresql_server.local
    if local is not None:
        assert Path(postgresql_server.unix_socket).name == f".s.PGSQL.{postgresql_server.port}"
        with connect(local, host=str(local.socket_dir)) as connection:
            (directory,) = connection.execute("SHOW data_directory").fetchone()
            assert Path(directory) == local.base_path / "data"
        assert postgresql_server.environment()["DBBENCH_PORT"] == str(local.address.port)


def test_its_directories_are_removed_after_the_block(local_postgresql):
    # a long base dir puts the socket in a short directory of its own: removed too
    base = Path(tempfile.mkdtemp(prefix="dbbench-test-" + "x" * 70))
    base.chmod(0o755)  # as root, the server's user enters it
    try:
        with local_postgresql(base_dir=base) as server:
            root, sockets = server.base_path, server.socket_dir
            assert root.parent == base and sockets != root
            assert (root / "data").is_dir() and sockets.is_dir()
            with connect(server) as connection:
                assert connection.execute("SELECT 1").fetchone() == (1,)
            pid = server.pid
        assert not root.exists() and not sockets.exists()
        assert gone(pid) and server.pid is None
        assert list(base.iterdir()) == []
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_its_directories_are_removed_after_an_exception_in_the_block(local_postgresql):
    with pytest.raises(RuntimeError, match="inside"), local_postgresql() as server:
        root, pid = server.base_path, server.pid
        raise RuntimeError("inside the block")
    assert not root.exists() and gone(pid)


def test_kill_then_restart_on_the_same_port_and_data(local_postgresql):
    with local_postgresql() as server:
        with connect(server) as connection:
            connection.execute("CREATE TABLE kept (n int)")
            connection.execute("CHECKPOINT")  # synchronous_commit=off: a kill may lose the rest
        port = server.address.port
        server.kill()
        assert not server.running
        server.restart()
        assert server.address.port == port
        with connect(server) as connection:
            assert connection.execute("SELECT count(*) FROM kept").fetchone() == (0,)
        server.stop()
        assert not server.running


_STARTER = textwrap.dedent(
    """
    import sys, time
    from dbbench.server.local_postgresql import LocalPostgreSQLServer
    server = LocalPostgreSQLServer(datadir_template=sys.argv[1])
    server.start()
    print(server.pid, server.base_path, server.address.port, flush=True)
    time.sleep(3600)
    """
)


def test_the_server_dies_with_the_process_that_started_it(postgresql_template):
    starter = subprocess.Popen(
        [sys.executable, "-c", _STARTER, str(postgresql_template)],
        stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    root = None
    try:
        pid_text, root, port = starter.stdout.readline().split()
        pid = int(pid_text)
        assert not gone(pid)
        # line 7 of postmaster.pid: the System V shared memory segment's key and id
        shmid = (Path(root) / "data" / "postmaster.pid").read_text().splitlines()[6].split()[1]
        assert shmid in shared_memory_ids()
        starter.send_signal(signal.SIGKILL)
        starter.wait()
        deadline = time.monotonic() + 120  # a bound on a hang, not a timing assertion
        while not gone(pid):
            assert time.monotonic() < deadline, f"postmaster {pid} outlived its SIGKILLed parent"
            time.sleep(0.1)
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(host="127.0.0.1", port=int(port), user="root", connect_timeout=5)
        # SIGQUIT, not SIGKILL, from the kernel: an immediate shutdown removes the segment
        assert shmid not in shared_memory_ids()
    finally:
        if starter.poll() is None:
            starter.kill()
            starter.wait()
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)  # left behind by SIGKILL, as documented


_STOPPED_BY_SIGNAL = textwrap.dedent(
    """
    import sys, time
    from dbbench import interruption
    from dbbench.server.local_postgresql import LocalPostgreSQLServer
    try:
        with interruption.stop_on_signals():
            with LocalPostgreSQLServer(datadir_template=sys.argv[1]) as server:
                print(server.pid, server.base_path, flush=True)
                while True:
                    time.sleep(0.05)
    except KeyboardInterrupt:
        sys.exit(130)
    """
)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_stop_signal_stops_the_server_and_removes_its_directory(postgresql_template, signum):
    starter = subprocess.Popen(
        [sys.executable, "-c", _STOPPED_BY_SIGNAL, str(postgresql_template)],
        stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        pid_text, root = starter.stdout.readline().split()
        starter.send_signal(signum)
        assert starter.wait(timeout=120) == 130
        assert gone(int(pid_text)) and not Path(root).exists()
    finally:
        if starter.poll() is None:
            starter.kill()
            starter.wait()


@as_root
def test_as_root_it_runs_as_the_unprivileged_user(postgresql_server):
    local = postgresql_server.local
    if local is None:
        pytest.skip("the session's PostgreSQL is not a throwaway one")
    expected = pwd.getpwnam(local.run_as)
    assert local.run_as in ("postgres", "nobody")
    assert process_uids(local.pid) == [expected.pw_uid] * 4
    assert (local.base_path / "data").stat().st_uid == expected.pw_uid


@as_root
def test_as_root_a_directory_its_user_cannot_enter_is_one_line(local_postgresql, tmp_path):
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    with pytest.raises(ServerError) as caught:
        local_postgresql(base_dir=closed / "inside").start()
    message = str(caught.value)
    assert "\n" not in message
    assert "cannot enter" in message and "set TMPDIR" in message, message


def test_no_password_variable_reaches_the_server(local_postgresql, monkeypatch):
    monkeypatch.setenv("PGPASSWORD", "s3cret-pg")
    monkeypatch.setenv("DBBENCH_PASSWORD", "s3cret-db")
    monkeypatch.setenv("MYSQL_PWD", "s3cret-my")
    with local_postgresql() as server:
        environ = Path(f"/proc/{server.pid}/environ").read_bytes()
        arguments = Path(f"/proc/{server.pid}/cmdline").read_bytes()
    for secret in (b"s3cret-pg", b"s3cret-db", b"s3cret-my"):
        assert secret not in environ and secret not in arguments


def test_missing_binaries_are_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(local_postgresql, "_SEARCH_GLOB", str(tmp_path / "lib" / "*" / "bin"))
    with pytest.raises(ServerError) as caught:
        LocalPostgreSQLServer().start()
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("cannot start a local PostgreSQL: initdb and postgres not found")
    assert "apt-get install postgresql" in message


def test_the_newest_installation_is_found_first(monkeypatch, tmp_path):
    for version in ("9.6", "15", "10", "not-a-version"):
        directory = tmp_path / "lib" / version / "bin"
        directory.mkdir(parents=True)
        for name in ("initdb", "postgres"):
            (directory / name).write_text("#!/bin/sh\n")
            (directory / name).chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(local_postgresql, "_SEARCH_GLOB", str(tmp_path / "lib" / "*" / "bin"))
    found = find_postgresql_binaries()
    assert Path(found.postgres) == tmp_path / "lib" / "15" / "bin" / "postgres"
    assert Path(found.initdb) == tmp_path / "lib" / "15" / "bin" / "initdb"


def test_a_failed_start_is_one_line_naming_the_cause_and_the_log(local_postgresql):
    base = Path(tempfile.mkdtemp(prefix="dbbench-test-"))
    base.chmod(0o755)  # as root, the server's user enters it
    try:
        with pytest.raises(ServerError) as caught:
            local_postgresql(base_dir=base, extra_args=["-c", "max_connections=nonsense"]).start()
        message = str(caught.value)
        assert "\n" not in message
        assert "max_connections" in message and "server.log" in message, message
        # the log is kept for the user to read, the data directory is not
        (kept,) = base.iterdir()
        assert [p.name for p in kept.iterdir()] == ["server.log"]
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_tls_accepts_require_and_verify_full_with_the_ca(local_postgresql, tmp_path):
    certificates = make_certificates(tmp_path / "certs")
    with local_postgresql(tls=certificates) as server:
        for host in ("127.0.0.1", "localhost"):
            for options in (
                {"sslmode": "require"},
                {"sslmode": "verify-full", "sslrootcert": str(certificates.ca)},
            ):
                with connect(server, host=host, **options) as connection:
                    encrypted = connection.execute(
                        "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
                    ).fetchone()
                    assert encrypted == (True,), (host, options)
        with connect(server, sslmode="disable") as connection:
            assert connection.execute("SHOW ssl").fetchone() == ("on",)


# --- --server local --dialect postgresql ----------------------------------------------


def test_server_local_with_dialect_postgresql_starts_this_server(postgresql_template):
    settings = Settings(database=DatabaseSettings(dialect="postgresql", driver="psycopg"))
    with benchmark.local_server(settings) as (server, target):
        assert isinstance(server, LocalPostgreSQLServer)
        root = server.base_path
        db = target.database
        assert (db.dialect, db.driver, db.host, db.port, db.user, db.database) == (
            "postgresql", "psycopg", "127.0.0.1", server.address.port, "root", "test"
        )
        with psycopg.connect(
            host=db.host, port=db.port, user=db.user, dbname=db.database, connect_timeout=10
        ) as connection:
            assert connection.execute("SELECT current_database()").fetchone() == ("test",)
    assert not root.exists()


def test_server_local_refuses_variants_of_two_dialects(tmp_path):
    postgresql = DatabaseSettings(dialect="postgresql", driver="psycopg")
    assert benchmark.throwaway_server_class(Settings()) is benchmark.LocalServer
    assert benchmark.throwaway_server_class(Settings(database=postgresql)) is LocalPostgreSQLServer
    mixed = Settings(
        variants=tuple(
            Variant(name, tmp_path / f"{name}.toml", database, PoolSettings())
            for name, database in (("my", DatabaseSettings()), ("pg", postgresql))
        )
    )
    with pytest.raises(ConfigError, match="the dialects mysql and postgresql"):
        benchmark.throwaway_server_class(mixed)


def reachable_tmpdir() -> Path:
    """A TMPDIR for a dbbench process whose throwaway PostgreSQL runs as another user
    (pytest's tmp_path, under a 0700 directory of root's, is not one)."""
    directory = Path(tempfile.mkdtemp(prefix="dbbench-test-"))
    directory.chmod(0o755)
    return directory


def test_dbbench_run_server_local_dialect_postgresql_measures_it_and_leaves_nothing(
    postgresql_template,
):
    tmpdir = reachable_tmpdir()
    try:
        env = {**clean_environment(), "TMPDIR": str(tmpdir)}
        result = run_dbbench(
            "run", "--server", "local", "--dialect", "postgresql", "--iterations", "20",
            "--runner", "raw,pool", "--json", env=env,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        doc = json.loads(result.stdout)
        database = doc["settings"]["database"]
        assert (database["dialect"], database["driver"]) == ("postgresql", "psycopg")
        assert database["port"] != 5432
        assert all(r["n"] == 20 for r in doc["results"])
        assert list(tmpdir.iterdir()) == []
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def test_dbbench_stopped_by_sigterm_stops_the_throwaway_postgresql(postgresql_template):
    tmpdir = reachable_tmpdir()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "dbbench", "run", "--server", "local", "--dialect",
             "postgresql", "--iterations", "10000000", "--runner", "persistent", "--json"],
            env={**clean_environment(), "TMPDIR": str(tmpdir)},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        with reaped(process):
            first_line = process.stderr.readline()
            assert "started a throwaway server" in first_line, first_line
            (root,) = tmpdir.iterdir()
            pid = int((root / "data" / "postmaster.pid").read_text().split()[0])
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=120)
            assert process.returncode == 130, stderr
        assert gone(pid)
        assert list(tmpdir.iterdir()) == []
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
