"""Every format draws what a file lacks as missing, and never crashes on it.

Files of older dbbench versions, or trimmed by hand, lack fields the model reads
as None (a v2 file with no ``settings.database``, a run with no
``settings.benchmark.iterations``): ``show`` in every format and ``report`` must
draw them all.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dbbench.cli import Env, cli
from dbbench.output import report
from dbbench.output.formats import FORMAT_NAMES
from dbbench.output.report import charts
from dbbench.results.model import from_document, upgrade
from tests.unit.test_cli import fake_runners, invoke  # noqa: F401 (a fixture)

DATA = Path(__file__).parents[1] / "data"
FILES = sorted([*DATA.glob("*.json"), *(DATA / "results").glob("*.json")])
SCHEMA = json.loads(
    (Path(__file__).parents[2] / "schema" / "dbbench-result.schema.json").read_text()
)


def show(path: Path, format_name: str):
    return CliRunner().invoke(cli, ["show", str(path), "--format", format_name], obj=Env())


@pytest.mark.parametrize("format_name", FORMAT_NAMES)
@pytest.mark.parametrize("path", FILES, ids=lambda path: path.name)
def test_every_test_file_is_shown_in_every_format(path, format_name):
    result = show(path, format_name)
    if path.name == "explain.json" and format_name in ("csv", "markdown"):
        # these formats have no explanation: said in one line, as a usage error
        assert result.exit_code == 2 and "cannot show an explanation" in result.output
        return
    assert result.exit_code == 0, result.output
    assert result.stdout.strip()


def _no_charts(monkeypatch) -> None:
    """The report's text without its charts: they draw the histograms, which every file
    has (test_report draws them); drawn for every file here they would take seconds."""
    monkeypatch.setattr(charts.Charts, "cdf", lambda self, runs, overlay: "<svg></svg>")
    monkeypatch.setattr(charts.Charts, "sweep", lambda self, *args, **kwargs: "<svg></svg>")


def test_every_test_file_is_in_a_report(tmp_path, monkeypatch):
    _no_charts(monkeypatch)
    page = tmp_path / "report.html"
    result = CliRunner().invoke(cli, ["report", *map(str, FILES), "-o", str(page)], obj=Env())
    assert result.exit_code == 0, result.output
    assert all(path.name in page.read_text() for path in FILES)


def test_a_v2_file_without_database_settings_draws_the_server_as_missing():
    result = show(DATA / "diff_base.json", "table")
    assert result.exit_code == 0, result.output
    assert "server: -@-, 10.11.19-MariaDB" in result.stdout
    assert "None" not in result.stdout


# --- a current run document, each optional field deleted in turn ------------------


def _optional_paths(document: dict) -> list[tuple[str, ...]]:
    """The fields of a run document that may be missing: those the schema does not
    require, and every entry of the settings, environment and server sections (the
    model reads each as None when a file lacks it)."""
    run = SCHEMA["$defs"]["run"]
    runner = SCHEMA["$defs"]["runner"]
    paths: list[tuple[str, ...]] = [(key,) for key in document if key not in run["required"]]
    paths += [
        ("results", 0, key)  # type: ignore[misc]
        for key in document["results"][0]
        if key not in runner["required"]
    ]
    for section in ("settings", "environment", "server"):
        for key, value in (document.get(section) or {}).items():
            paths.append((section, key))
            if isinstance(value, dict):
                paths += [(section, key, inner) for inner in value]
    return paths


def _without(document: dict, path: tuple) -> dict:
    trimmed = copy.deepcopy(document)
    parent = trimmed
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    return trimmed


@pytest.fixture
def current_run(fake_runners) -> dict:  # noqa: F811 (the fixture imported above)
    result = invoke("run", "-n", "20", "--rate", "100000", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["settings"]["database"]["user"] and document["environment"]["drivers"]
    return document


def test_a_run_document_renders_with_any_optional_field_missing(current_run, tmp_path, monkeypatch):
    _no_charts(monkeypatch)
    paths = _optional_paths(current_run)
    assert ("settings", "benchmark", "iterations") in paths
    assert ("settings", "database") in paths and ("environment", "drivers") in paths
    for path in paths:
        trimmed = _without(current_run, path)
        file = tmp_path / "run.json"
        file.write_text(json.dumps(trimmed))
        for format_name in FORMAT_NAMES:
            result = show(file, format_name)
            assert result.exit_code == 0, f"without {path}, {format_name}: {result.output}"
            assert "None" not in result.stdout, f"without {path}, {format_name}"
        html = report.build_report([("run.json", from_document(upgrade(trimmed, "run.json")))])
        assert "None" not in html.replace("NoneType", ""), f"without {path}: the report"
