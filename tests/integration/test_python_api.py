"""docs/guide/python.md's example, run as written against the session's server."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guide" / "python.md"


def example() -> str:
    """The guide's one Python block."""
    (code,) = re.findall(r"```python\n(.*?)```", GUIDE.read_text(), re.S)
    return code


def test_the_python_example_runs_as_written(server, tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", example()],
        env=server.env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("('raw', 'pool') 100")
    assert any(re.fullmatch(r"pool: \d+\.\dx faster than raw", line) for line in lines)
    assert "exit status as the command would give: 0" in lines
    assert any(line.startswith("projected at RTT ") for line in lines)
    cells = [line for line in lines if line.startswith("c=")]
    assert [line.split(":")[0] for line in cells] == [
        "c=1 pool_size=2",
        "c=1 pool_size=5",
        "c=4 pool_size=2",
        "c=4 pool_size=5",
    ]
    assert sum(line.startswith("at concurrency ") for line in lines) == 2
    assert (tmp_path / "report.html").read_text().startswith("<!DOCTYPE html>")
    assert lines[-1].startswith("gate: ")
