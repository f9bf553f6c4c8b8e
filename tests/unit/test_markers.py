"""The integration marker: ``-m "not integration"`` selects no test that needs a server."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from dbbench.server.local import LocalServer

ROOT = Path(__file__).resolve().parents[2]


def test_not_integration_selects_nothing_from_the_integration_folder():
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         "-m", "not integration", "tests/integration"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    # exit status 5: no test selected, so every test there carries the marker
    assert result.returncode == 5, result.stdout + result.stderr
    deselected = re.search(r"(\d+) deselected", result.stdout)
    assert deselected is not None and int(deselected.group(1)) > 100, result.stdout


def test_a_test_without_the_marker_cannot_start_a_server():
    # the guard of tests/conftest.py: this test is unmarked, so start() refuses
    with pytest.raises(AssertionError, match="move it to tests/integration"):
        LocalServer().start()


@pytest.mark.parametrize("address", [("127.0.0.1", 3306), "/run/mysqld/mysqld.sock"])
def test_a_test_without_the_marker_cannot_reach_a_server(address):
    family = socket.AF_INET if isinstance(address, tuple) else socket.AF_UNIX
    with socket.socket(family) as sock, pytest.raises(AssertionError, match="move it to"):
        sock.connect(address)


def test_a_test_without_the_marker_can_reach_a_fake():
    with socket.create_server(("127.0.0.1", 0)) as listener:
        socket.create_connection(listener.getsockname(), timeout=5).close()
