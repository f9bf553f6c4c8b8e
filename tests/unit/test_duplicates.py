"""A list that names an item twice is refused, in one line naming the list, the value and
the item, exit 2, before anything connects: ``--runner raw,raw`` would otherwise run one
runner twice or silently once, and is more likely a slip for another name.  Every list
the command line takes, on every command that takes it."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from dbbench.cli import Env, cli
from tests.unit.test_bounds import REFUSING

DATA = Path(__file__).resolve().parents[1] / "data" / "results"

CASES = [
    # (id, args, the one line's start, what it says)
    ("run-runner", ["run", "--runner", "raw,raw"], "--runner = 'raw,raw'", "'raw' is given twice"),
    ("run-runner-spaced", ["run", "--runner", "raw, pool ,raw"], "--runner = 'raw, pool ,raw'",
     "(items 1 and 3)"),
    ("compare-runner", ["compare", "--runner", "pool,pool"], "--runner = 'pool,pool'", "twice"),
    ("explain-runner", ["explain", "--runner", "raw,pool,raw"], "--runner = 'raw,pool,raw'",
     "'raw' is given twice"),
    ("calibrate-runner", ["calibrate", "--runner", "pool,pool"], "--runner = 'pool,pool'",
     "twice"),
    ("run-driver", ["run", "--driver", "pymysql,pymysql"], "--driver = 'pymysql,pymysql'",
     "'pymysql' is given twice"),
    ("explain-driver", ["explain", "--driver", "pymysql,pymysql"],
     "--driver = 'pymysql,pymysql'", "twice"),
    ("run-concurrency", ["run", "-c", "1,1"], "--concurrency = '1,1'", "'1' is given twice"),
    ("run-concurrency-spelled-apart", ["run", "-c", "8,08"], "--concurrency = '8,08'",
     "'8' is given twice"),
    ("run-concurrency-signed", ["run", "-c", "+4,4"], "--concurrency = '+4,4'", "twice"),
    ("compare-pool-size", ["compare", "--pool-size", "5,10,5"], "--pool-size = '5,10,5'",
     "'5' is given twice (items 1 and 3)"),
    ("calibrate-pool-size", ["calibrate", "--pool-size", "5,5"], "--pool-size = '5,5'",
     "twice"),
    ("compare-max-overflow", ["compare", "--max-overflow", "-1,0,-1"],
     "--max-overflow = '-1,0,-1'", "'-1' is given twice"),
    ("stale-protection", ["stale", "--protection", "none,none"], "--protection = 'none,none'",
     "'none' is given twice"),
    ("stale-protection-empty-item", ["stale", "--protection", "none,,recycle"],
     "--protection = 'none,,recycle'", "item 2 is empty"),
    ("run-variant-name", ["run", "--variant", "a=x.toml", "--variant", "a=y.toml"],
     "--variant: variant 'a' is given twice", "its own name"),
    ("run-fail-on-metric", ["compare", "--fail-on", "mean:5%", "--fail-on", "mean:10%"],
     "--fail-on: mean is given twice (mean:5% and mean:10%)", "one limit"),
    ("diff-fail-on-metric", ["diff", "a.json", "b.json", "--fail-on", "p99:5%", "--fail-on",
                             "P99:5%"], "--fail-on: p99 is given twice", "one limit"),
]


def _invoke(args: list[str]):
    """In the working directory (a test's own), which is HOME too: no ~/.my.cnf."""
    environment = {"HOME": os.getcwd(), "DBBENCH_PORT": None}
    return CliRunner().invoke(cli, args, env=environment, obj=Env(backend=REFUSING))


@pytest.mark.parametrize(("args", "where", "problem"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_a_list_naming_an_item_twice_is_refused(args, where, problem, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = _invoke(args)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"dbbench: error: {where}"), lines[0]
    assert problem in lines[0]
    assert result.exit_code == 2


def test_report_refuses_a_file_named_twice(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    shutil.copy(DATA / "run.json", tmp_path / "run.json")
    for args, expected in (
        (["run.json", "run.json"], "run.json is given twice: name each result file once"),
        (["run.json", "./sub/../run.json"], "is given twice (as run.json too)"),
    ):
        (tmp_path / "sub").mkdir(exist_ok=True)
        result = _invoke(["report", *args, "-o", "page.html"])
        assert result.exit_code == 2, result.output
        assert result.stderr.count("\n") == 1 and expected in result.stderr
        assert not (tmp_path / "page.html").exists()


def test_the_same_settings_file_for_two_variants_is_an_a_a_run_not_a_repeat(tmp_path):
    """Two names for one file is calibrate's duet: allowed, each name measured."""
    from dbbench.config.settings import load_settings

    path = tmp_path / "same.toml"
    path.write_text("[pool]\npool_size = 3\n")
    settings = load_settings(None, env={}, variants=[("a", path), ("b", path)])
    assert [v.name for v in settings.variants] == ["a", "b"]


def test_a_saved_run_number_is_ascii_digits(tmp_path, monkeypatch):
    """``dbbench show ١`` (an Arabic-Indic one) is a name, not run 1."""
    monkeypatch.chdir(tmp_path)
    runs = tmp_path / ".dbbench" / "runs"
    runs.mkdir(parents=True)
    document = json.loads((DATA / "run.json").read_text())
    (runs / "0001.json").write_text(json.dumps(document))
    assert _invoke(["show", "1", "--format", "json"]).exit_code == 0
    refused = _invoke(["show", "\u0661"])
    assert refused.exit_code == 1 and "no such result file or saved run" in refused.stderr
