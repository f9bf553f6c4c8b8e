"""CSV that a spreadsheet opens without running anything (CSV injection, OWASP): a text
cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a single
quote before it; its control characters are escaped; a number dbbench computed stays
the number it is, a negative one too.

Through the formats themselves (a run, a diff, the saved runs, with labels built in
code) and through the real command line (``dbbench show --format csv`` of a result file
whose labels are formulas)."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from dbbench.cli import Env, cli
from dbbench.output import csv_format
from dbbench.results.model import RunsListing, SavedRunEntry
from tests.unit.test_bounds import REFUSING
from tests.unit.test_formats import fake_run

DATA = Path(__file__).resolve().parents[1] / "data" / "results"

#: (a label as a file or a user may give it, the cell a spreadsheet must get)
FORMULAS = [
    ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
    ("+1", "'+1"),
    ("-1+1", "'-1+1"),
    ("@SUM(1)", "'@SUM(1)"),
    ("\tx", "'\\tx"),
    ("\rx", "'\\rx"),
    ("=HYPERLINK(\"http://x.example\")", "'=HYPERLINK(\"http://x.example\")"),
    ("a\x1b[2Jb", "a\\x1b[2Jb"),  # not a formula: its control character escaped
    ("a\nb", "a\\nb"),  # a row stays one line
    ("pool", "pool"),  # text that is no formula is left as it is
    ("x=1", "x=1"),  # a formula's character after the start is none
]


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _written(write, *args) -> str:
    out = io.StringIO()
    write(*args, Console(file=out))
    return out.getvalue()


@pytest.mark.parametrize(("label", "cell"), FORMULAS, ids=[repr(f[0]) for f in FORMULAS])
def test_a_runner_s_label_is_a_cell_a_spreadsheet_does_not_run(label, cell):
    result = fake_run()
    renamed = [dataclasses.replace(result.runners[0], runner=label), *result.runners[1:]]
    text = _written(csv_format.write_run, dataclasses.replace(result, runners=renamed))
    assert text.count("\n") == 1 + len(renamed)  # the header, a line per runner
    assert _rows(text)[0]["runner"] == cell


@pytest.mark.parametrize(("label", "cell"), FORMULAS[:6], ids=[repr(f[0]) for f in FORMULAS[:6]])
def test_every_text_column_is_neutralised(label, cell):
    """The saved runs' every text cell: name, started, command, runners, path."""
    entry = SavedRunEntry(1, label, label, label, label, label, True)
    text = _written(csv_format.write_runs, RunsListing((entry,)))
    (row,) = _rows(text)
    assert [row[key] for key in ("name", "path", "started_at", "command", "runners")] == [cell] * 5
    assert row["number"] == "1"


def test_numbers_dbbench_computed_stay_numbers_negative_ones_too():
    assert csv_format._cell(-0.052) == -0.052 and csv_format._cell(-3) == -3
    assert csv_format._cell("-0.05;0.1;;3", "changes") == "-0.05;0.1;;3"  # calibrate's list
    # a text in that column that is no list of numbers is text like any other
    assert csv_format._cell("-1;=cmd", "changes") == "'-1;=cmd"
    assert csv_format._cell("-0.05", "runner") == "'-0.05"  # a label is text, whatever it says
    assert csv_format._cell(True) == "true" and csv_format._cell(None) is None


def _formula_result(tmp_path: Path) -> Path:
    """run.json with formulas in its texts (a runner's own label is refused unless it is
    one dbbench writes: the baseline its speedups name is not)."""
    document = json.loads((DATA / "run.json").read_text())
    labels = {"raw": "=cmd|' /C calc'!A0", "pool": "+1", "persistent": "@SUM(1)",
              "nullpool": "\tx"}
    for runner in document["results"]:
        runner["errors_by_kind"] = {"\rx": 1, "-2+3": 2}
        runner["errors"] = 3
    for speedup in document["speedups"]:
        speedup["baseline"] = labels[speedup["baseline"]]
    path = tmp_path / "formula.json"
    path.write_text(json.dumps(document))
    return path


def test_a_result_file_s_formulas_are_neutralised_through_the_command_line(tmp_path,
                                                                            monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = _formula_result(tmp_path)
    result = CliRunner().invoke(
        cli, ["show", str(path), "--format", "csv"], env={"HOME": os.getcwd()},
        obj=Env(backend=REFUSING),
    )
    assert result.exit_code == 0, result.output
    rows = _rows(result.stdout)
    assert [row["runner"] for row in rows] == ["raw", "pool", "persistent", "nullpool"]
    assert {row["errors_by_kind"] for row in rows} == {"'\\rx=1;-2+3=2"}
    assert {row["speedup_vs"] for row in rows} - {""} == {"'=cmd|' /C calc'!A0"}
    for row in rows:  # no text cell a spreadsheet would run, no raw control character
        for value in row.values():
            assert not value.startswith(csv_format.FORMULA_STARTS) or _is_number(value), value
            assert not any(c in value for c in "\t\r\x1b")
    assert rows[1]["speedup"] == "3.3248288925248226"  # numbers as dbbench wrote them


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
