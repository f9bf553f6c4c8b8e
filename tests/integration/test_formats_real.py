"""Every output format of every command, from real runs against the server."""

from __future__ import annotations

import csv
import functools
import io
import json

import pytest

from tests.integration.conftest import run_dbbench, side_by_side

COMMANDS = {
    "run": ["run", "-n", "40", "-c", "2", "--runner", "raw,pool,persistent"],
    "sweep": ["compare", "-n", "30", "-c", "1,2", "--pool-size", "1,2"],
    "stale": [
        "stale",
        "--wait-timeout",
        "1",
        "--idle",
        "1.5s",
        "--pool-size",
        "1",
        "--operations",
        "3",
        "--protection",
        "none,recycle",
    ],
}
ROWS = {"run": 3, "sweep": 4, "stale": 2}
FORMATS = ("table", "json", "csv", "markdown")


@pytest.fixture(scope="module")
def outputs(server) -> dict[tuple[str, str], str]:
    def output(command: str, name: str) -> str:
        args = COMMANDS[command]
        result = run_dbbench(*args, "-q", "--format", name, env=server.env(), timeout_s=300)
        assert result.returncode == 0, (command, name, result.stderr)
        return result.stdout

    cases = [(command, name) for command in COMMANDS for name in FORMATS]
    found = side_by_side(*(functools.partial(output, *case) for case in cases))
    return dict(zip(cases, found, strict=True))


@pytest.mark.parametrize("command", COMMANDS)
def test_csv_has_one_row_per_runner_cell_or_case(outputs, command):
    rows = list(csv.DictReader(io.StringIO(outputs[(command, "csv")])))
    assert len(rows) == ROWS[command]
    if command == "run":
        assert [r["runner"] for r in rows] == ["raw", "pool", "persistent"]
        assert all(int(r["n"]) == 40 and float(r["mean_us"]) > 0 for r in rows)
    if command == "sweep":
        assert {(r["concurrency"], r["pool_size"]) for r in rows} == {
            ("1", "1"),
            ("1", "2"),
            ("2", "1"),
            ("2", "2"),
        }


@pytest.mark.parametrize("command", COMMANDS)
def test_markdown_tables_are_well_formed(outputs, command):
    text = outputs[(command, "markdown")]
    assert text.startswith("### dbbench")
    lines = [line for line in text.splitlines() if line.startswith("|")]
    assert lines, text
    # every table: a header, a separator of the same width, rows of the same width
    header_cells = lines[0].count("|") - lines[0].count("\\|")
    assert set(lines[1].replace("|", "").replace(" ", "")) <= set("-:")
    assert lines[1].count("|") == header_cells


@pytest.mark.parametrize("command", COMMANDS)
def test_json_and_table_carry_the_same_run(outputs, command):
    document = json.loads(outputs[(command, "json")])
    assert document["command"] in (command, "run", "compare", "sweep")
    table = outputs[(command, "table")]
    if command == "run":
        for runner in document["results"]:
            assert runner["runner"] in table
    elif command == "sweep":
        assert "concurrency 2" in table and "rule of thumb" in table
    else:
        assert "pool_recycle" in table
