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
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DBBENCH_", "MYSQL_"))}
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


@pytest.mark.parametrize(
    ("args", "env", "files"),
    [
        (["--host", "127.0.0.1"], {}, {}),
        ([], {"DBBENCH_PORT": "3306"}, {}),
        ([], {}, {"dbbench.toml": "[database]\nport = 3306\n"}),
        ([], {}, {".my.cnf": "[client]\nhost = 127.0.0.1\n"}),
    ],
    ids=["flag", "environment", "settings file", "my.cnf"],
)
def test_a_configured_server_that_does_not_answer_stays_an_error(home, args, env, files):
    # each names the default address itself: only the naming differs from the test above
    for name, text in files.items():
        (home / name).write_text(text)
    done = in_empty_network(dbbench("run", "--iterations", "20", *args), home, 120, **env)
    assert done.returncode == ExitStatus.ERROR, done.stderr + done.stdout
    assert FALLBACK not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("dbbench: error:")]
    assert len(errors) == 1 and "connection refused" in errors[0], done.stderr
    assert "Traceback" not in done.stderr
