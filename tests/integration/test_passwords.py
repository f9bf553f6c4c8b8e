"""Any password the server accepts works: non-ASCII ones (``pässwörd``, ``€😀``), ones with
quotes, backslashes, ``#`` and spaces, and bytes that are not UTF-8 at all, with every
driver, every runner and every command that connects, dbbench's own connections included
(the server check, the status monitor, the scratch table), from every source of a password;
and it never shows.

Each login is a user of its own on the session's server, made with the password's bytes as
the ``mariadb`` client would send them; that client logging in with them is the reference
(``test_the_mariadb_client_takes_each_password``).  ``~/.my.cnf`` is checked the same way:
each file is read by the client, then by dbbench, and both must log in alike.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pymysql
import pytest

from tests.integration.conftest import (
    reaped,
    run_dbbench,
    side_by_side,
    typed_at_prompt,
    wait_for_result,
)
from tests.integration.test_secrets import _descendants, _proc_bytes

#: name -> the password's bytes, as a client sends them
PASSWORDS = {
    "latin": "pässwörd".encode(),
    "emoji": "€😀".encode(),
    "punctuation": b' it\'s "q" \\ #x; = ',
}
#: set from a latin1 session: the server hashed its latin-1 bytes, which are not UTF-8
NOT_UTF8 = b"p\xe4ssw\xf6rd"
DRIVERS = ("pymysql", "mysqlclient", "mysql-connector")


def _forms(raw: bytes) -> list[bytes]:
    """The password as any output might carry it: its bytes, and Python's reprs of them."""
    text = raw.decode("utf-8", "surrogateescape")
    return [raw, repr(raw)[2:-1].encode(), repr(text)[1:-1].encode("utf-8", "surrogateescape")]


def assert_hidden(where: str, data: str | bytes, raw: bytes) -> None:
    blob = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data
    for form in _forms(raw):
        assert form.strip() not in blob, f"the password appears in {where}"


def _sql_literal(raw: bytes) -> bytes:
    return b"'" + raw.replace(b"\\", b"\\\\").replace(b"'", b"\\'") + b"'"


@pytest.fixture(scope="module")
def logins(server) -> Iterator[dict[str, str]]:
    """name -> a user whose password is ``PASSWORDS[name]`` (``NOT_UTF8`` for "not-utf8",
    none for "no-password")."""
    tag = uuid.uuid4().hex[:6]
    users = {name: f"dbb_pw_{name.replace('-', '_')}_{tag}" for name in
             [*PASSWORDS, "not-utf8", "no-password"]}  # fmt: skip
    grant = f"GRANT SELECT, INSERT, CREATE, DROP ON `{server.database}`.* TO '{{}}'@'%'"
    for name, user in users.items():
        raw = NOT_UTF8 if name == "not-utf8" else PASSWORDS.get(name, b"")
        charset = "latin1" if name == "not-utf8" else "utf8mb4"
        with server.connect(charset=charset) as connection, connection.cursor() as cursor:
            # the statement's bytes as they are: the server hashes the literal in the
            # session's character set, as from the mariadb client
            cursor.execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY ".encode() + _sql_literal(raw))
            cursor.execute(grant.format(user))
    yield users
    with server.connect() as connection, connection.cursor() as cursor:
        for user in users.values():
            cursor.execute(f"DROP USER '{user}'@'%'")


def _client(server, user: str, *extra: str | bytes) -> subprocess.CompletedProcess:
    client = shutil.which("mariadb") or shutil.which("mysql")
    assert client, "no mariadb or mysql client (it comes with mariadb-server)"
    return subprocess.run(
        [client, *extra, "-h", server.host, "-P", str(server.port), "-u", user,
         "-e", "SELECT 1"],
        capture_output=True, timeout=60, stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip


@pytest.mark.parametrize("name", [*PASSWORDS, "not-utf8"])
def test_the_mariadb_client_takes_each_password(name, server, logins):
    raw = NOT_UTF8 if name == "not-utf8" else PASSWORDS[name]
    result = _client(server, logins[name], "--no-defaults", b"--password=" + raw)
    assert result.returncode == 0, result.stderr
    wrong = _client(server, logins[name], "--no-defaults", b"--password=" + raw + b"x")
    assert wrong.returncode == 1 and b"Access denied" in wrong.stderr


# ------------------------------------------------------------------ the sources


def option_file_line(raw: bytes) -> bytes:
    """``password = "..."`` that reads back as ``raw`` (quoted, \\ and " escaped)."""
    return b'password = "' + raw.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"\n'


def _toml_string(raw: bytes) -> str:
    return json.dumps(raw.decode(), ensure_ascii=False)  # a TOML basic string too


SOURCES: dict[str, Callable[[Path, bytes], dict[str, str]]] = {
    "DBBENCH_PASSWORD": lambda cwd, raw: {"DBBENCH_PASSWORD": os.fsdecode(raw)},
    "MYSQL_PWD": lambda cwd, raw: {"MYSQL_PWD": os.fsdecode(raw)},
    "settings file": lambda cwd, raw: _write(
        cwd / "dbbench.toml", f"[database]\npassword = {_toml_string(raw)}\n".encode()
    ),
    "~/.my.cnf": lambda cwd, raw: _write(
        cwd / "home" / ".my.cnf", b"[client]\n" + option_file_line(raw)
    ),
}


def _write(path: Path, data: bytes) -> dict[str, str]:
    path.write_bytes(data)
    path.chmod(0o600)
    return {}


@pytest.fixture
def place(tmp_path) -> Path:
    (tmp_path / "home").mkdir()
    return tmp_path


def environment(server, user: str, place: Path) -> dict[str, str]:
    env = server.env() | {"DBBENCH_USER": user, "HOME": str(place / "home"), "COLUMNS": "200"}
    env.pop("DBBENCH_PASSWORD")
    return env


def dbbench(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return run_dbbench(*args, env=env, timeout_s=300, cwd=cwd, start_new_session=True)


def checked(
    result: subprocess.CompletedProcess, raw: bytes, cwd: Path, status: int = 0
) -> subprocess.CompletedProcess:
    assert result.returncode == status, (result.args[3:], result.stderr)
    assert_hidden(f"stdout of {result.args[3:]}", result.stdout, raw)
    assert_hidden(f"stderr of {result.args[3:]}", result.stderr, raw)
    for path in cwd.rglob("*"):
        if path.is_file() and path.name not in ("dbbench.toml", ".my.cnf"):
            assert_hidden(str(path), path.read_bytes(), raw)
    return result


RUN = ("-n", "5", "--warmup", "1")

#: (password, source, driver): every password with every driver, the sources in turn
LOGINS = [
    (name, list(SOURCES)[(index + turn) % len(SOURCES)], driver)
    for index, name in enumerate(PASSWORDS)
    for turn, driver in enumerate(DRIVERS)
]


@pytest.mark.parametrize(("name", "source", "driver"), LOGINS)
def test_every_driver_logs_in_with_the_password(name, source, driver, server, logins, place):
    raw = PASSWORDS[name]
    env = environment(server, logins[name], place) | SOURCES[source](place, raw)
    runners = "raw,pool,persistent,nullpool" + (",async-pool" if driver == "pymysql" else "")
    result = checked(
        dbbench(env, place, "run", *RUN, "--driver", driver, "--runner", runners, "-o", "r.json"),
        raw, place,
    )  # fmt: skip
    document = json.loads((place / "r.json").read_text())
    # the server check and the status monitor logged in too: the server's view is complete
    assert document["server"]["complete"], document["server"]
    assert document["server"]["monitor_connections"] >= 1
    assert f"{logins[name]}@" in result.stdout


@pytest.mark.parametrize("driver", DRIVERS)
def test_every_command_connects_with_the_password(driver, server, logins, place):
    """compare, stale, explain, calibrate and a write workload (dbbench's own scratch
    table), with each driver, the password from ~/.my.cnf."""
    raw = PASSWORDS["emoji"]
    env = environment(server, logins["emoji"], place) | SOURCES["~/.my.cnf"](place, raw)

    def command(*args: str) -> Callable[[], object]:
        return lambda: checked(dbbench(env, place, *args, "--driver", driver, "-q"), raw, place)

    side_by_side(
        command("compare", *RUN, "--pool-size", "1,2", "--json"),
        command("stale", "--wait-timeout", "1", "--idle", "1.2s", "--operations", "3",
                "--pool-size", "2", "--protection", "none,pre_ping"),
        command("explain", *RUN),
        command("calibrate", "--runner", "pool", "-n", "20", "--repeat", "2", "--trials", "2",
                "--recipe", "duet"),
        command("run", *RUN, "--workload", "insert", "--allow-writes", "--runner", "raw,pool"),
    )  # fmt: skip


def test_the_async_pool_with_each_password(server, logins, place):
    def run(name: str) -> Callable[[], object]:
        raw = PASSWORDS[name]
        cwd = place / name
        (cwd / "home").mkdir(parents=True)
        env = environment(server, logins[name], cwd) | SOURCES["~/.my.cnf"](cwd, raw)
        return lambda: checked(dbbench(env, cwd, "run", *RUN, "--runner", "async-pool"), raw, cwd)

    side_by_side(*(run(name) for name in PASSWORDS))


# ------------------------------------------------------------------ typed at a prompt


@pytest.mark.parametrize("asked_by", ["--password", "~/.my.cnf password, no value"])
def test_a_password_typed_at_the_prompt(asked_by, server, logins, place):
    raw = PASSWORDS["emoji"]
    env = environment(server, logins["emoji"], place)
    args = [sys.executable, "-m", "dbbench", "run", *RUN, "--runner", "raw,persistent"]
    if asked_by == "--password":
        args.append("--password")
    else:
        _write(place / "home" / ".my.cnf", b"[client]\npassword = wrong\npassword\n")
    code, output = typed_at_prompt(
        args, env=env, cwd=place, prompt=b"Password for", answer=raw.decode(), timeout_s=120
    )
    assert code == 0, output
    assert b"persistent" in output
    assert_hidden("the terminal", output, raw)


def test_a_bare_password_in_the_option_file_without_a_terminal(server, logins, place):
    env = environment(server, logins["emoji"], place)
    _write(place / "home" / ".my.cnf", b"[client]\npassword\n")
    result = dbbench(env, place, "run", *RUN)
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.splitlines()
    assert "line 2: [client] password, with no value, asks for the password on a terminal" in line


# ------------------------------------------------------------------ bytes that are not UTF-8


@pytest.mark.parametrize("source", ["DBBENCH_PASSWORD", "~/.my.cnf"])
def test_a_password_that_is_not_utf8(source, server, logins, place):
    """Sent as its bytes by PyMySQL (and aiomysql: async-pool); mysqlclient and
    mysql-connector send only UTF-8, and say so in one line."""
    env = environment(server, logins["not-utf8"], place) | SOURCES[source](place, NOT_UTF8)
    checked(dbbench(env, place, "run", *RUN, "--runner", "raw,pool,async-pool"), NOT_UTF8, place)
    for driver in ("mysqlclient", "mysql-connector"):
        refused = checked(
            dbbench(env, place, "run", *RUN, "--driver", driver), NOT_UTF8, place, status=2
        )
        (line,) = refused.stderr.splitlines()
        assert f"is not UTF-8 text, and {driver} sends a password only as UTF-8" in line


# ------------------------------------------------------------------ a plugin PyMySQL lacks


@pytest.fixture(scope="module")
def ed25519_login(server) -> Iterator[str]:
    user = f"dbb_ed_{uuid.uuid4().hex[:6]}"
    with server.connect() as connection, connection.cursor() as cursor:
        try:
            cursor.execute("INSTALL SONAME 'auth_ed25519'")
        except pymysql.err.MySQLError as exc:
            if exc.args[0] != 1968:  # already installed
                pytest.skip(f"the server has no ed25519 plugin (MariaDB's): {exc.args[-1]}")
        cursor.execute(
            f"CREATE USER '{user}'@'%' IDENTIFIED VIA ed25519 USING PASSWORD('pässwörd')"
        )
        cursor.execute(f"GRANT SELECT ON `{server.database}`.* TO '{user}'@'%'")
    yield user
    with server.connect() as connection, connection.cursor() as cursor:
        cursor.execute(f"DROP USER '{user}'@'%'")


def test_dbbench_own_connections_use_the_driver_measured(server, ed25519_login, place):
    """An ed25519 login works with mysqlclient: so do the status monitor's and the server
    check's connections (they were PyMySQL's, which cannot, whatever the driver)."""
    raw = "pässwörd".encode()
    env = environment(server, ed25519_login, place) | {"DBBENCH_PASSWORD": raw.decode()}
    checked(
        dbbench(env, place, "run", *RUN, "--driver", "mysqlclient", "--runner", "raw,pool",
                "-o", "r.json"), raw, place,
    )  # fmt: skip
    assert json.loads((place / "r.json").read_text())["server"]["complete"]
    refused = checked(dbbench(env, place, "run", *RUN, "--driver", "pymysql"), raw, place, 1)
    assert "authentication plugin the driver cannot speak" in refused.stderr


# ------------------------------------------------------------------ ~/.my.cnf, as the client


#: (id, ~/.my.cnf, whose login it is): the mariadb client and dbbench must agree
OPTION_FILES = [
    ("quoted", b"[client]\n" + option_file_line(PASSWORDS["punctuation"]), "punctuation"),
    ("single quotes", "[client]\npassword = '€😀'\n".encode(), "emoji"),
    ("bare", "[client]\npassword = pässwörd\n".encode(), "latin"),
    ("bare, a comment", "[client]\npassword = pässwörd # mine\n".encode(), "latin"),
    ("last wins", "[client]\npassword = wrong\n[client-mariadb]\npassword = €😀\n".encode(),
     "emoji"),
    ("a prefix", "[client]\npas = €😀\n".encode(), "emoji"),
    ("loose-", "[client]\nLoose_Password = €😀\n".encode(), "emoji"),
    ("escapes", b"[client]\npassword = \\sit's \"q\"\\s\\\\\\s#x;\\s=\\s\n", "punctuation"),
    ("skip-password", b"[client]\npassword = wrong\nskip-password\n", "no-password"),
    ("latin-1 bytes", b"[client]\npassword = " + NOT_UTF8 + b"\n", "not-utf8"),
    ("another group", "[mysqld]\npassword = €😀\n".encode(), "no-password"),
    ("0xA0 trimmed, as the client trims it", "[client]\npassword = €😀".encode() + b"\xa0\n",
     "emoji"),
]  # fmt: skip


@pytest.mark.parametrize(("data", "owner"), [case[1:] for case in OPTION_FILES],
                         ids=[case[0] for case in OPTION_FILES])  # fmt: skip
def test_the_option_file_logs_in_as_the_mariadb_client_does(data, owner, server, logins, place):
    _write(place / "home" / ".my.cnf", data)
    other = "latin" if owner != "latin" else "emoji"
    for name in (owner, other):  # the owner's login works, another's is refused, alike
        client = _client(server, logins[name], f"--defaults-file={place / 'home' / '.my.cnf'}")
        env = environment(server, logins[name], place)
        ours = dbbench(env, place, "run", "-n", "2", "--warmup", "0", "--runner", "raw", "-q")
        assert (client.returncode == 0) == (name == owner), (name, client.stderr)
        assert ours.returncode == (0 if name == owner else 1), (name, ours.stderr)


# ------------------------------------------------------------------ process arguments


def test_the_worker_processes_arguments(server, logins, place):
    raw = PASSWORDS["emoji"]
    env = environment(server, logins["emoji"], place) | SOURCES["~/.my.cnf"](place, raw)
    process = subprocess.Popen(
        [sys.executable, "-m", "dbbench", "run", "--processes", "2", "-c", "2", "--duration",
         "60s", "--runner", "persistent", "--driver", "mysqlclient", "--json", "-o", "r.json"],
        env=env, cwd=place, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    with reaped(process):
        workers: set[int] = set()
        deadline = time.monotonic() + 120
        while len(workers) < 2 and time.monotonic() < deadline:
            for pid in [process.pid, *_descendants(process.pid)]:
                cmdline = _proc_bytes(pid, "cmdline")
                assert_hidden(f"/proc/{pid}/cmdline", cmdline, raw)
                assert_hidden(f"/proc/{pid}/environ", _proc_bytes(pid, "environ"), raw)
                if b"multiprocessing" in cmdline:
                    workers.add(pid)
            assert process.poll() is None, process.communicate()
            time.sleep(0.2)
        assert len(workers) >= 2, "no worker processes seen"
        wait_for_result(place / "r.json", lambda document: True, process)
        process.send_signal(signal.SIGTERM)  # measured so far: kept, exit 130
        outputs = process.communicate(timeout=60)
    assert process.returncode == 130, outputs
    for where, data in zip(("stdout", "stderr"), outputs, strict=True):
        assert_hidden(where, data, raw)
