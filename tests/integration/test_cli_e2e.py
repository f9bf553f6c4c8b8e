"""``python -m dbbench`` end to end against a real server, as a user runs it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from dbbench.results.model import SCHEMA_VERSION
from dbbench.server.local import ServerAddress
from tests.integration.conftest import clean_environment, reaped, run_dbbench, wait_for_selects


def test_run_json_against_the_server(server):
    result = run_dbbench("run", "--iterations", "30", "--json", env=server.env())
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["schema_version"] == SCHEMA_VERSION and doc["complete"] is True
    with server.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT VERSION()")
        assert doc["environment"]["server_version"] == cursor.fetchone()[0]
    by_name = {r["runner"]: r for r in doc["results"]}
    assert set(by_name) == {"raw", "pool", "persistent"}
    for r in by_name.values():
        assert (r["n"], r["errors"]) == (30, 0)
        assert 0 < r["min_us"] <= r["p50_us"] <= r["p99_us"] <= r["max_us"]
        assert r["first_op_us"] > 0
    # connecting per operation costs more than reusing: the ordering every run must show
    assert by_name["raw"]["mean_us"] > by_name["pool"]["mean_us"]
    assert by_name["raw"]["mean_us"] > by_name["persistent"]["mean_us"]
    assert {s["runner"] for s in doc["speedups"]} == {"pool", "persistent"}
    assert server.password == "" or server.password not in result.stdout


def test_compare_table_shows_pool_settings(server):
    result = run_dbbench(
        "compare",
        "--pool-size",
        "10",
        "--max-overflow",
        "3",
        "--iterations",
        "20",
        env=server.env(),
    )
    assert result.returncode == 0, result.stderr
    assert "pool_size=10 max_overflow=3" in result.stdout
    assert "pool is " in result.stdout and "faster than raw (95% CI" in result.stdout


def test_server_local_runs_and_leaves_nothing_behind(tmp_path):
    env = clean_environment()
    env["TMPDIR"] = str(tmp_path)
    result = run_dbbench("run", "--server", "local", "--iterations", "20", "--json", env=env)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["settings"]["database"]["port"] != 3306
    assert all(r["n"] == 20 for r in doc["results"])
    assert list(tmp_path.iterdir()) == []


def _is_zombie(proc: Path) -> bool:
    try:
        return (proc / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def _server_processes_under(path: Path) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            is_server = "mariadbd" in cmdline or "mysqld" in cmdline
            if is_server and str(path) in cmdline and not _is_zombie(proc):
                found.append(int(proc.name))
    return found


def test_server_local_ctrl_c_reports_partial_results_and_cleans_up(tmp_path):
    env = clean_environment()
    env["TMPDIR"] = str(tmp_path)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dbbench",
            "run",
            "--server",
            "local",
            "--iterations",
            "10000000",
            "--warmup",
            "5",
            "--runner",
            "persistent",
            "--json",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    with reaped(process):
        # wait until the throwaway server is up (dbbench says so on stderr), then let it measure
        first_line = process.stderr.readline()
        assert "started a throwaway server" in first_line, first_line
        assert _server_processes_under(tmp_path), "the throwaway server is not running"
        port = int(first_line.rsplit(":", 1)[1].split()[0].rstrip(")"))
        throwaway = ServerAddress("127.0.0.1", port, "root", "", "test")
        wait_for_selects(throwaway, 1000, process)  # measuring, past the warm-up
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    doc = json.loads(stdout)
    assert doc["complete"] is False
    assert doc["results"][0]["n"] > 0  # what was measured is kept
    assert _server_processes_under(tmp_path) == []
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def password_user(server):
    """A user with a password, so that a wrong one can be tried (and searched for)."""
    user, password = f"dbb_{uuid.uuid4().hex[:8]}", f"canary-{uuid.uuid4().hex}"
    with server.connect() as connection, connection.cursor() as cursor:
        cursor.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", (user, password))
        cursor.execute(f"GRANT SELECT ON `{server.database}`.* TO %s@'%%'", (user,))
    yield user, password
    with server.connect() as connection, connection.cursor() as cursor:
        cursor.execute("DROP USER %s@'%%'", (user,))


def _one_error_line(result, *expected: str) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for text in expected:
        assert text in lines[0]
    return lines[0]


def test_closed_port(server, closed_port):
    env = server.env() | {"DBBENCH_HOST": "127.0.0.1", "DBBENCH_PORT": str(closed_port)}
    line = _one_error_line(
        run_dbbench("run", env=env),
        f"127.0.0.1:{closed_port}",
        "connection refused",
        f"port {closed_port} (from environment variable DBBENCH_PORT)",
    )
    assert f"{server.user}@" in line


def test_unknown_host(server):
    env = server.env() | {"DBBENCH_HOST": "no-such-host.invalid"}
    _one_error_line(
        run_dbbench("run", env=env),
        "unknown host 'no-such-host.invalid' (from environment variable DBBENCH_HOST)",
    )
    # a flag is named as the flag
    _one_error_line(
        run_dbbench("run", "--host", "no-such-host.invalid", env=env),
        "unknown host 'no-such-host.invalid' (from --host)",
    )


def test_wrong_password_never_shows_either_password(server, password_user):
    user, password = password_user
    wrong = f"wrong-{uuid.uuid4().hex}"
    env = server.env() | {"DBBENCH_USER": user, "DBBENCH_PASSWORD": wrong}
    result = run_dbbench("run", env=env)
    _one_error_line(
        result, f"{user}@{server.host}:{server.port}", "access denied", "DBBENCH_PASSWORD"
    )
    for secret in (password, wrong):
        assert secret not in result.stdout + result.stderr
    debug = run_dbbench("run", "--debug", env=env)
    assert "Traceback" in debug.stderr
    assert wrong not in debug.stdout + debug.stderr


def test_right_password_from_mysql_pwd_works(server, password_user):
    user, password = password_user
    env = server.env() | {"DBBENCH_USER": user, "MYSQL_PWD": password}
    del env["DBBENCH_PASSWORD"]
    result = run_dbbench("run", "--iterations", "5", "--runner", "persistent", "--json", env=env)
    assert result.returncode == 0, result.stderr
    assert password not in result.stdout + result.stderr


def test_database_the_user_may_not_use(server, password_user):
    user, password = password_user
    with server.connect() as connection, connection.cursor() as cursor:
        cursor.execute("CREATE DATABASE IF NOT EXISTS dbbench_private")
    env = server.env() | {
        "DBBENCH_USER": user,
        "DBBENCH_PASSWORD": password,
        "DBBENCH_DATABASE": "dbbench_private",
    }
    try:
        result = run_dbbench("run", env=env)
    finally:
        with server.connect() as connection, connection.cursor() as cursor:
            cursor.execute("DROP DATABASE dbbench_private")
    _one_error_line(result, "Access denied", "dbbench_private", "grant the user access")
    assert password not in result.stdout + result.stderr


def test_unknown_database(server):
    env = server.env() | {"DBBENCH_DATABASE": "no_such_db_dbbench"}
    _one_error_line(
        run_dbbench("run", env=env),
        "Unknown database 'no_such_db_dbbench'",
        "(from environment variable DBBENCH_DATABASE)",
    )


def test_query_error(server):
    query = "SELECT * FORM dual"  # a syntax error the guard lets through: it starts as a read
    line = _one_error_line(run_dbbench("run", "--query", query, env=server.env()), "(1064)")
    assert line.startswith(f"dbbench: error: the query '{query}' failed on ")


def test_bad_config_file_exit_2(server, tmp_path):
    config = tmp_path / "dbbench.toml"
    config.write_text("[pool]\npool_size = -1\n")
    result = run_dbbench("run", "--config", str(config), env=server.env())
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == f"dbbench: error: {config}: [pool] pool_size = -1: must be at least 1"
    )


def test_a_server_that_never_answers_times_out(server, tmp_path):
    """A listener that accepts but never sends the greeting: connect_timeout must fire."""
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        config = tmp_path / "silent.toml"
        config.write_text(f"[database]\nport = {port}\nconnect_timeout = 1\n")
        env = {k: v for k, v in server.env().items() if k not in ("DBBENCH_PORT", "DBBENCH_HOST")}
        started = time.monotonic()
        result = run_dbbench("run", "--config", str(config), env=env, timeout_s=30)
        elapsed_s = time.monotonic() - started
    _one_error_line(result, f"127.0.0.1:{port}", "MySQL-compatible server")
    assert elapsed_s < 15


def test_a_query_slower_than_read_timeout_says_so(server, tmp_path):
    config = tmp_path / "dbbench.toml"
    config.write_text("[database]\nread_timeout = 1\n")
    result = run_dbbench(
        "run", "--config", str(config), "--query", "SELECT SLEEP(3)", env=server.env()
    )
    _one_error_line(
        result,
        "(2013)",
        f"no answer within read_timeout (1s, from {config}: [database] read_timeout)",
    )
