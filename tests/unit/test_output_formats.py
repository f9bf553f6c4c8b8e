"""output.formats: every --format by name, each a Format that shows what it claims."""

from __future__ import annotations

import dataclasses
import io
import json

import pytest
from rich.console import Console

from dbbench.errors import ConfigError
from dbbench.output.base import Format
from dbbench.output.formats import FORMAT_NAMES, FORMATS, get_format
from dbbench.results.model import (
    SCHEMA_VERSION,
    ProjectedRunner,
    RunProjection,
    RunsListing,
    from_document,
)
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


def test_the_projection_is_part_of_the_document_and_shown_under_the_table():
    projection = RunProjection(0.001, (ProjectedRunner("raw", 350_000, 6, 6_350_000),))
    result = dataclasses.replace(fake_run(), projection=projection)
    document = json.loads(render(get_format("json").run, result))
    assert document == json.loads(json.dumps(result.to_document()))
    assert document["projection"] == {
        "rtt_s": 0.001,
        "runners": [
            {
                "runner": "raw",
                "median_ns": 350_000,
                "round_trips": 6,
                "projected_median_ns": 6_350_000,
            }
        ],
    }
    assert from_document(document) == result
    line = "projected at RTT 1 ms (median + round trips × RTT): raw 350 µs + 6 × 1 ms = 6.35 ms"
    for name in ("table", "markdown"):
        assert line in render(get_format(name).run, result)
    assert "projected" not in render(get_format("table").run, fake_run())
    assert "projection" not in fake_run().to_document()


@pytest.mark.parametrize("name", ["csv", "markdown"])
def test_a_format_that_cannot_show_a_result_says_so(name):
    with pytest.raises(ConfigError, match=f"^format {name} cannot show an explanation"):
        get_format(name).explain(None, Console(file=io.StringIO()))  # type: ignore[arg-type]


def test_no_saved_runs_in_the_table_format():
    text = render(get_format("table").runs, RunsListing(()))
    assert text.startswith("no saved runs in .dbbench/runs/")
    document = json.loads(render(get_format("json").runs, RunsListing(())))
    assert document == {"schema_version": SCHEMA_VERSION, "command": "runs", "runs": []}
