"""output.formats: every --format by name, each a Format that shows what it claims."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console

from dbbench.errors import ConfigError
from dbbench.output.base import Format, RunExtras
from dbbench.output.formats import FORMAT_NAMES, FORMATS, get_format
from dbbench.results.model import SCHEMA_VERSION, RunProjection, RunsListing
from tests.unit.test_formats import fake_run, sweep_sample


def render(write, *args, **kwargs) -> str:
    out = io.StringIO()
    write(*args, Console(file=out, width=200), **kwargs)
    return out.getvalue()


def test_the_cli_names_every_registered_format():
    assert FORMAT_NAMES == ("table", "json", "csv", "markdown")
    for name in FORMATS:
        output = get_format(name)
        assert Format in type(output).__mro__ and output.name == name


def test_an_unknown_name_is_refused():
    with pytest.raises(ValueError, match="no format 'yaml'"):
        get_format("yaml")


@pytest.mark.parametrize("name", FORMAT_NAMES)
def test_every_format_shows_a_run_and_a_sweep(name):
    run_text = render(get_format(name).run, fake_run())
    sweep_text = render(get_format(name).sweep, sweep_sample())
    assert "persistent" in run_text and "pool" in run_text
    assert sweep_text.strip()


def test_json_is_the_document_with_the_projection_added():
    result = fake_run()
    projection = RunProjection(0.001, ({"runner": "raw", "round_trips": 6},))
    document = json.loads(render(get_format("json").run, result))
    assert document == json.loads(json.dumps(result.to_document()))
    with_projection = json.loads(
        render(get_format("json").run, result, extras=RunExtras(projection=projection))
    )
    assert with_projection["projection"] == {"rtt_s": 0.001, "runners": [projection.runners[0]]}


@pytest.mark.parametrize("name", ["csv", "markdown"])
def test_a_format_that_cannot_show_a_result_says_so(name):
    with pytest.raises(ConfigError, match=f"^format {name} cannot show an explanation"):
        get_format(name).explain(None, Console(file=io.StringIO()))  # type: ignore[arg-type]


def test_no_saved_runs_in_the_table_format():
    text = render(get_format("table").runs, RunsListing(()))
    assert text.startswith("no saved runs in .dbbench/runs/")
    document = json.loads(render(get_format("json").runs, RunsListing(())))
    assert document == {"schema_version": SCHEMA_VERSION, "command": "runs", "runs": []}
