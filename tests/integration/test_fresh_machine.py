"""The main job on a machine with no database: ``dbbench run`` with nothing configured and
nothing at the default address measures a throwaway server, saying so in one line; a
server that was named and does not answer stays an error (exit 1).

"Nothing at the default address" without touching the machine's own 127.0.0.1:3306: the
CLI runs in a network namespace of its own (``unshare --net``), whose loopback has
nothing listening, exactly as on a machine that never had MySQL. HOME and the working
directory are empty directories and no DBBENCH_*/MYSQL_* variable is set, so no
settings file, ``~/.my.cnf`` or environment names a server.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from dbbench.errors import ExitStatus
from tests.integration.conftest import clean_environment

FALLBACK = "no server is configured and nothing answers at 127.0.0.1:3306"


def dbbench(*args: str) -> list[str]:
    return [sys.executable, "-m", "dbbench", *args]


def in_empty_network(
    command: list[str], home: Path, timeout_s: float = 300, **env: str
) -> subprocess.CompletedProcess:
    """``command`` in a new network namespace (as root, or in a user namespace mapping us
    to root where we are not), its loopback up and nothing listening on it; HOME and the
    working directory ``home``, no DBBENCH_*/MYSQL_* variable but ``env``."""
    unshare = ["unshare", "--net"] + ([] if os.geteuid() == 0 else ["--map-root-user"])
    clean = clean_environment()
    return subprocess.run(
        [*unshare, "sh", "-c", 'ip link set lo up && exec "$@"', "sh", *command],
        env={**clean, "HOME": str(home), **env},
        cwd=home,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    directory = tmp_path / "home"
    directory.mkdir()
    return directory


def test_the_namespace_has_nothing_at_the_default_address(home):
    # the premise of the tests below: inside, 127.0.0.1:3306 refuses, whatever runs outside
    probe = "import socket; socket.create_connection(('127.0.0.1', 3306), timeout=2)"
    done = in_empty_network([sys.executable, "-c", probe], home, timeout_s=60)
    assert done.returncode != 0 and "ConnectionRefusedError" in done.stderr, done.stderr


def test_run_with_nothing_configured_measures_a_throwaway_server(home):
    done = in_empty_network(dbbench("run", "--iterations", "20", "--runner", "raw,pool"), home)
    assert done.returncode == ExitStatus.SUCCESS, done.stderr + done.stdout
    lines = [line for line in done.stderr.splitlines() if FALLBACK in line]
    assert len(lines) == 1, done.stderr
    assert "--server local" in lines[0] and "--host" in lines[0] and "--port" in lines[0]
    # measured: the throwaway server on a port of its own, both runners' operations
    server = re.search(r"^server: root@127\.0\.0\.1:(\d+), ", done.stdout, re.MULTILINE)
    assert server and int(server.group(1)) != 3306, done.stdout
    assert re.search(r"^\s+raw\s+20\s+0\s", done.stdout, re.MULTILINE), done.stdout
    assert re.search(r"^\s+pool\s+20\s+0\s", done.stdout, re.MULTILINE), done.stdout


#: each configures a server, at the default address or not: only the naming differs from
#: the test above; any [database] setting that names a server (NAMES_A_SERVER), from any
#: source, or --server configured
CONFIGURED = [
    pytest.param(["--host", "127.0.0.1"], {}, {}, id="flag"),
    pytest.param([], {"DBBENCH_PORT": "3306"}, {}, id="environment"),
    pytest.param([], {}, {"dbbench.toml": "[database]\nport = 3306\n"}, id="settings file"),
    pytest.param([], {}, {".my.cnf": "[client]\nhost = 127.0.0.1\n"}, id="my.cnf"),
    pytest.param(["--server", "configured"], {}, {}, id="--server configured"),
    pytest.param(["--user", "app"], {}, {}, id="--user"),
    pytest.param([], {"DBBENCH_PASSWORD": "secret"}, {}, id="DBBENCH_PASSWORD"),
    pytest.param([], {}, {"dbbench.toml": '[database]\nuser = "app"\n'}, id="settings user"),
    pytest.param([], {}, {".my.cnf": "[client]\nuser = app\n"}, id="my.cnf user"),
]


def write_files(home: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (home / name).write_text(text)


@pytest.mark.parametrize(("args", "env", "files"), CONFIGURED)
def test_a_configured_server_that_does_not_answer_stays_an_error(home, args, env, files):
    write_files(home, files)
    done = in_empty_network(dbbench("run", "--iterations", "20", *args), home, 120, **env)
    assert done.returncode == ExitStatus.ERROR, done.stderr + done.stdout
    assert FALLBACK not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("dbbench: error:")]
    assert len(errors) == 1 and "connection refused" in errors[0], done.stderr
    assert "Traceback" not in done.stderr
    if "--user" in args:  # the user named is the one that was refused, not replaced
        assert "app@127.0.0.1:3306" in errors[0], errors


def test_how_to_talk_to_a_server_names_none(home):
    # --ssl-mode, like --driver or a timeout, says how to talk to whichever server: a
    # fresh machine still measures a throwaway one, and with that setting
    args = ("run", "--iterations", "5", "--runner", "raw", "--ssl-mode", "disabled")
    done = in_empty_network(dbbench(*args), home)
    assert done.returncode == ExitStatus.SUCCESS, done.stderr + done.stdout
    assert FALLBACK in done.stderr
    assert "ssl_mode disabled" in done.stdout, done.stdout


ASK = [sys.executable, "-m", "dbbench.scenarios.backend"]


@pytest.mark.parametrize(
    ("env", "files"),
    [
        pytest.param({}, {}, id="nothing"),
        # those without a flag: make run gives dbbench run none
        *(pytest.param(*case.values[1:], id=case.id) for case in CONFIGURED if not case.values[0]),
    ],
)
def test_make_run_installs_a_server_by_dbbenchs_own_rule(home, env, files):
    """``scripts/ensure-mariadb --for-run`` asks ``python -m dbbench.scenarios.backend``
    whether ``dbbench run`` would need a throwaway server: 0 (install one) only where
    nothing is configured and nothing answers, 1 where a server is configured."""
    write_files(home, files)
    done = in_empty_network(ASK, home, 60, **env)
    assert done.returncode == (0 if not env and not files else 1), done.stderr
    assert done.stderr == "", done.stderr
