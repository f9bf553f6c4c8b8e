"""Where dbbench writes, as a user runs it (a real process) against a real server: a device
node at --output stays a device for every command; a full disk is one line after the
results for the commands the unit tests cannot measure with fake runners (stale, explain),
and for run; a regular file is written."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tests.integration.conftest import run_dbbench
from tests.special_files import fill, null, tmpfs

STALE = ["stale", "--wait-timeout", "1", "--idle", "1.5s", "--pool-size", "1"]
STALE += ["--operations", "2", "--protection", "none"]
COMMANDS = {
    "run": ["run", "-n", "20", "--runner", "raw,pool"],
    "compare": ["compare", "-n", "20", "--pool-size", "2"],
    "stale": STALE,
    "explain": ["explain", "-n", "10"],
    "calibrate": ["calibrate", "-n", "20", "--runner", "pool", "--repeat", "4", "--trials", "2"],
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_output_at_a_device_node_leaves_a_character_device_behind(server, tmp_path, command):
    device = null(tmp_path)
    result = run_dbbench(*COMMANDS[command], "-q", "-o", str(device), env=server.env())
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        f"dbbench: error: --output = '{device}': is a character device, not a regular file; "
        "dbbench writes only regular files\n"
    )
    assert stat.S_ISCHR(os.lstat(device).st_mode) and os.lstat(device).st_rdev == os.makedev(1, 3)
    assert os.listdir(tmp_path) == ["null"]


@pytest.mark.parametrize("command", ["run", "stale", "explain"])
def test_a_full_disk_is_one_line_after_the_results(server, tmp_path, command):
    with tmpfs(tmp_path / "small", "size=32k") as small:
        target = small / "out.json"
        target.write_text("old\n")
        fill(small)
        result = run_dbbench(
            *COMMANDS[command], "-q", "-o", str(target), env=server.env(), timeout_s=300
        )
        assert result.returncode == 1, result.stderr
        assert result.stdout.strip()  # the table: what was measured is shown
        assert result.stderr.strip().splitlines()[-1] == (
            f"dbbench: error: --output = '{target}': cannot write the result file "
            "(No space left on device); the results are on stdout"
        )
        assert "Traceback" not in result.stderr and target.read_text() == "old\n"


@pytest.mark.parametrize("command", ["stale", "explain"])
def test_a_regular_file_is_replaced_whole(server, tmp_path, command):
    target = tmp_path / "out.json"
    target.write_text("old\n")
    result = run_dbbench(*COMMANDS[command], "-q", "-o", str(target), env=server.env())
    assert result.returncode == 0, result.stderr
    assert json.loads(Path(target).read_text())["command"] == command
    assert os.listdir(tmp_path) == ["out.json"]
