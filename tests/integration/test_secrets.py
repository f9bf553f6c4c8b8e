"""A canary password, given every way dbbench takes one, must never come out again.

The canary is the real password of a user created for this module, so every run here
logs in with it (a run that succeeds proves the password was used).  After every command,
the test searches for it in stdout, stderr, every file under the working directory and the
temporary HOME (result files, saved runs, reports), and, while dbbench runs, in the process
arguments of dbbench, its worker processes and the throwaway server it starts, and in that
server's environment.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import run_dbbench, side_by_side, typed_at_prompt

CANARY = f"Canary-7f3a{uuid.uuid4().hex[:16]}"
#: a second canary: the wrong password of a failing login
WRONG = f"Canary-wrong-{uuid.uuid4().hex[:16]}"


@pytest.fixture(scope="module")
def login(server) -> Iterator[str]:
    user = f"dbb_canary_{uuid.uuid4().hex[:6]}"
    with server.connect() as connection, connection.cursor() as cursor:
        cursor.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", (user, CANARY))
        # the insert workload creates, fills and drops a scratch table of its own
        cursor.execute(
            f"GRANT SELECT, INSERT, CREATE, DROP ON `{server.database}`.* TO %s@'%%'", (user,)
        )
    yield user
    with server.connect() as connection, connection.cursor() as cursor:
        cursor.execute("DROP USER %s@'%%'", (user,))


@pytest.fixture
def home(tmp_path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


def base_env(server, user: str, home: Path) -> dict[str, str]:
    """The server's address and the canary user, with no password anywhere yet."""
    env = server.env() | {"DBBENCH_USER": user, "HOME": str(home), "COLUMNS": "200"}
    env.pop("DBBENCH_PASSWORD")
    return env


def dbbench(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    # a new session: no controlling terminal, as under CI
    return run_dbbench(*args, env=env, timeout_s=180, cwd=cwd, start_new_session=True)


def assert_hidden(where: str, text: str | bytes, *secrets: str) -> None:
    for secret in secrets or (CANARY,):
        needle = secret.encode() if isinstance(text, bytes) else secret
        assert needle not in text, f"the password appears in {where}"


#: the files a test writes to give dbbench the password: not searched
INPUT_FILES = ("dbbench.toml", ".my.cnf")


def assert_no_file_holds_it(root: Path, secrets: tuple[str, ...] = (CANARY,)) -> int:
    """Search every file dbbench may have written under ``root``; returns how many."""
    searched = 0
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink() and path.name not in INPUT_FILES:
            assert_hidden(str(path), path.read_bytes(), *secrets)
            searched += 1
    return searched


def checked(result: subprocess.CompletedProcess, status: int = 0) -> subprocess.CompletedProcess:
    assert result.returncode == status, (result.args, result.stderr)
    assert_hidden(f"stdout of {result.args[3:]}", result.stdout)
    assert_hidden(f"stderr of {result.args[3:]}", result.stderr)
    return result


def test_every_command_keeps_the_password_to_itself(server, login, home, tmp_path):
    env = base_env(server, login, home) | {"DBBENCH_PASSWORD": CANARY}
    out = tmp_path / "out"
    out.mkdir()
    run = ("-n", "20", "--warmup", "5", "-q")

    def dbbench_checked(*args: str) -> Callable[[], object]:
        return lambda: checked(dbbench(*args, env=env, cwd=tmp_path))

    def saved_runs() -> None:
        """The runs saved, one after another: their numbers and "latest" are in this order."""
        for name in ("table", "json", "csv", "markdown"):
            dbbench_checked("run", *run, "--format", name, "-o", f"out/run-{name}.json",
                            "--save", f"run-{name}")()  # fmt: skip
        dbbench_checked("compare", *run, "-c", "2", "--processes", "2", "--pool-size", "2",
                        "--json", "--save", "compare")()  # fmt: skip

    def wrong_password(driver: str) -> Callable[[], None]:
        def check() -> None:
            wrong = env | {"DBBENCH_PASSWORD": WRONG}
            failed = dbbench("--debug", "run", *run, "--driver", driver, env=wrong, cwd=tmp_path)
            assert failed.returncode == 1 and "Traceback" in failed.stderr, failed.stderr
            for text in (failed.stdout, failed.stderr):
                assert_hidden(f"{driver}, wrong password", text, CANARY, WRONG)

        return check

    def failing_with_a_traceback() -> None:
        # failures with --debug: tracebacks, and SQLAlchemy's own log messages
        debug = checked(
            dbbench("run", "--debug", *run, "--query", "SELECT 1 FROM", env=env, cwd=tmp_path),
            status=1,
        )
        assert "Traceback" in debug.stderr

    drivers = ("--driver", "pymysql,mysqlclient,mysql-connector")
    side_by_side(
        saved_runs,
        dbbench_checked("run", *run, "--histogram", "--runner", "raw,nullpool,async-pool"),
        dbbench_checked("--debug", "run", *run, "--runner", "async-pool"),
        dbbench_checked("--debug", "run", *run, *drivers, "-o", "out/drivers.json"),
        # the wrong password, through each driver
        *(wrong_password(driver) for driver in ("mysqlclient", "mysql-connector")),
        *(
            dbbench_checked(
                "compare",
                "-q",
                "--pool-size",
                "1,2",
                "-c",
                "1,2",
                "-n",
                "10",
                "--format",
                format_name,
                "-o",
                f"out/sweep-{format_name}.json",
            )
            for format_name in ("table", "json", "csv", "markdown")
        ),  # fmt: skip
        *(
            dbbench_checked(
                "stale",
                "-q",
                "--wait-timeout",
                "1",
                "--idle",
                "1.2s",
                "--operations",
                "4",
                "--pool-size",
                "2",
                "--protection",
                "none,pre_ping",
                "--format",
                format_name,
                "-o",
                f"out/stale-{format_name}.json",
            )
            for format_name in ("table", "json", "csv", "markdown")
        ),  # fmt: skip
        *(
            dbbench_checked("explain", "-n", "10", "--warmup", "2", "-q", "--format", format_name)
            for format_name in ("table", "json")
        ),
        dbbench_checked("--debug", "explain", "-n", "5", "-q", "--server", "local"),
        *(
            dbbench_checked(
                "--debug", "explain", "-n", "5", "-q", "--driver", driver, "--format", "json"
            )
            for driver in ("mysqlclient", "mysql-connector")
        ),  # fmt: skip
        dbbench_checked(
            "--debug",
            "run",
            *run,
            "--workload",
            "insert",
            "--allow-writes",
            "-o",
            "out/insert.json",
        ),  # fmt: skip
        dbbench_checked(
            "--debug",
            "stale",
            "-q",
            "--server",
            "local",
            "--wait-timeout",
            "1",
            "--idle",
            "1.2s",
            "--operations",
            "3",
            "--json",
        ),  # fmt: skip
        failing_with_a_traceback,
        dbbench_checked("--debug", "compare", *run, "--pool-size", "2"),
    )
    # what reads the files and saved runs written above
    side_by_side(
        *(dbbench_checked("runs", "--format", n) for n in ("table", "json", "csv", "markdown")),
        *(
            dbbench_checked("diff", "run-table", "latest", "--format", name)
            for name in ("table", "json", "csv", "markdown")
        ),
        dbbench_checked(
            "report",
            "run-json",
            "compare",
            "out/sweep-json.json",
            "out/stale-json.json",
            "-o",
            "out/report.html",
        ),  # fmt: skip
    )
    dbbench_checked("run", *run, "--server", "local", "--save", "local")()

    assert (out / "report.html").stat().st_size > 0
    assert len(list((tmp_path / ".dbbench" / "runs").glob("*.json"))) == 6
    assert assert_no_file_holds_it(tmp_path) >= 20


def _my_cnf(home: Path, password: str) -> dict[str, str]:
    (home / ".my.cnf").write_text(f'[client]\npassword = "{password}"\n')
    (home / ".my.cnf").chmod(0o600)
    return {}


def _config_file(home: Path, password: str) -> dict[str, str]:
    config = home.parent / "dbbench.toml"  # the working directory's: read without --config
    config.write_text(f'[database]\npassword = "{password}"\n')
    config.chmod(0o600)
    return {}


SOURCES = {
    "settings-file": _config_file,
    "DBBENCH_PASSWORD": lambda home, password: {"DBBENCH_PASSWORD": password},
    "MYSQL_PWD": lambda home, password: {"MYSQL_PWD": password},
    "my.cnf": _my_cnf,
}


@pytest.mark.parametrize("source", SOURCES)
def test_each_source_of_the_password_logs_in_and_keeps_it_hidden(
    source, server, login, home, tmp_path
):
    env = base_env(server, login, home) | SOURCES[source](home, CANARY)
    result = checked(
        dbbench("--debug", "run", "-n", "10", "-q", "-o", "r.json", "--save", env=env,
                cwd=tmp_path)
    )  # fmt: skip
    assert f"{login}@" in result.stdout  # logged in as the canary user, with the canary
    assert "warning" not in result.stderr  # every file holding it is private
    assert_no_file_holds_it(tmp_path)

    # the wrong password from the same source: refused, and neither password echoed
    (home / ".my.cnf").unlink(missing_ok=True)
    env = base_env(server, login, home) | SOURCES[source](home, WRONG)
    for debug in ((), ("--debug",)):
        failed = dbbench(*debug, "run", "-n", "5", env=env, cwd=tmp_path)
        assert failed.returncode == 1, failed.stderr
        assert "access denied" in failed.stderr
        assert ("Traceback" in failed.stderr) == bool(debug)
        for text in (failed.stdout, failed.stderr):
            assert_hidden(f"{source}, wrong password", text, CANARY, WRONG)
    assert_no_file_holds_it(tmp_path, secrets=(CANARY, WRONG))


def test_a_readable_file_holding_the_password_is_warned_about(server, login, home, tmp_path):
    _my_cnf(home, CANARY)
    (home / ".my.cnf").chmod(0o644)
    result = checked(
        dbbench("run", "-n", "5", "-q", env=base_env(server, login, home), cwd=tmp_path)
    )
    assert "other users may read it (mode 644)" in result.stderr
    assert str(home / ".my.cnf") in result.stderr


@pytest.mark.parametrize(
    ("command", "ran"), [("run", b"persistent"), ("explain", b"raw"), ("stale", b"pre_ping")]
)
def test_the_password_prompt_on_a_terminal(command, ran, server, login, home, tmp_path):
    """--password asks on the terminal, echo off: what is typed never shows."""
    env = base_env(server, login, home)
    options = {
        "run": ["-n", "10", "--runner", "raw,persistent"],
        "explain": ["-n", "5", "--warmup", "1"],
        "stale": ["--wait-timeout", "1", "--idle", "1.2s", "--operations", "3"],
    }
    args = [sys.executable, "-m", "dbbench", command, *options[command], "--password"]
    code, output = typed_at_prompt(
        args, env=env, cwd=tmp_path, prompt=b"Password for", answer=CANARY, timeout_s=60
    )
    assert f"Password for {login}@".encode() in output, output
    assert code == 0, output
    assert ran in output  # it ran, logged in with what was typed
    assert_hidden("the terminal", output)


def _descendants(root_pid: int) -> list[int]:
    parents: dict[int, int] = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                stat = (proc / "stat").read_text()
            except OSError:
                continue
            parents[int(proc.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [], [root_pid]
    while frontier:
        pid = frontier.pop()
        children = [child for child, parent in parents.items() if parent == pid]
        found += children
        frontier += children
    return found


def _proc_bytes(pid: int, name: str) -> bytes:
    try:
        return (Path("/proc") / str(pid) / name).read_bytes()
    except OSError:  # gone already
        return b""


def test_process_arguments_of_dbbench_its_workers_and_the_throwaway_server(
    server, login, home, tmp_path
):
    env = base_env(server, login, home) | {"DBBENCH_PASSWORD": CANARY, "TMPDIR": str(tmp_path)}
    process = subprocess.Popen(
        [sys.executable, "-m", "dbbench", "run", "--server", "local", "--processes", "2",
         "-c", "2", "--duration", "60s", "--runner", "persistent", "--json", "-o", "r.json"],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        first_line = process.stderr.readline()
        assert "started a throwaway server" in first_line, first_line
        seen: dict[int, bytes] = {}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for pid in [process.pid, *_descendants(process.pid)]:
                cmdline = _proc_bytes(pid, "cmdline")
                if cmdline:
                    seen[pid] = cmdline
                    assert_hidden(f"/proc/{pid}/cmdline ({cmdline[:80]!r})", cmdline)
            servers = [pid for pid, cmd in seen.items() if b"mariadbd" in cmd or b"mysqld" in cmd]
            workers = [pid for pid, cmd in seen.items() if b"multiprocessing" in cmd]
            if servers and len(workers) >= 2:
                break
            time.sleep(0.2)
        assert servers, f"no throwaway server among {list(seen.values())}"
        assert len(workers) >= 2, f"no worker processes among {list(seen.values())}"
        for pid in servers:
            environ = _proc_bytes(pid, "environ")
            assert environ, "the server's environment could not be read"
            assert_hidden(f"/proc/{pid}/environ of the throwaway server", environ)
            assert b"DBBENCH_" not in environ and b"MYSQL_PWD" not in environ
        # stop it once it measures (the result file appears with the first operations)
        while not (tmp_path / "r.json").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        process.send_signal(signal.SIGTERM)  # as a CI timeout does; results kept, exit 130
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, stderr
    assert_hidden("stdout", stdout)
    assert_hidden("stderr", stderr)
    assert_no_file_holds_it(tmp_path)
