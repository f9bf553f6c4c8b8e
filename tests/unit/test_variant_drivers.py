"""A list of drivers with targets on fakes: each target runs the drivers of the list that
speak its dialect, labelled RUNNER/DRIVER@NAME, and keeps its own where none does; the
labels go through the document, a view, a diff and every format."""

from __future__ import annotations

import json

import jsonschema
import pytest
from click.testing import CliRunner

from dbbench.cli import Env, cli
from dbbench.config.settings import load_settings
from dbbench.diffing import diff_results
from dbbench.errors import ConfigError, ExitStatus
from dbbench.results.model import from_document
from dbbench.scenarios import benchmark
from tests.unit.test_variant_runs import NO_SERVER_VARIABLES, SCHEMA, Fakes, _render

MARIA, PG = "mysql://root@h1:3306/test", "postgresql://root@h2:5432/test"
LABELS = [
    "raw/pymysql@maria",
    "raw/psycopg@pg",
    "raw/psycopg2@pg",
    "pool/pymysql@maria",
    "pool/psycopg@pg",
    "pool/psycopg2@pg",
]


def _targets(*targets: tuple[str, str]):
    flags = {"benchmark": {"iterations": "10", "warmup": "1"}}
    return load_settings(None, env={}, flags=flags, targets=list(targets))


def _run(fakes: Fakes):
    settings = _targets(("maria", MARIA), ("pg", PG))
    return benchmark.run_benchmark(
        settings, ["raw", "pool"], driver_names=["psycopg", "psycopg2"], backend=fakes.backend
    )


def test_each_target_runs_the_drivers_of_its_dialect_and_keeps_its_own_where_none_speaks_it():
    fakes = Fakes()
    result = _run(fakes)
    assert [r.runner for r in result.runners] == LABELS
    assert list(fakes.settings) == LABELS  # made in that order, taking turns
    # every driver connected to its target's server before anything was measured
    assert fakes.checked == [("pymysql", "h1"), ("psycopg", "h2"), ("psycopg2", "h2")]
    assert {s.runner: s.baseline for s in result.speedups} == {
        "pool/pymysql@maria": "raw/pymysql@maria",
        "pool/psycopg@pg": "raw/psycopg@pg",
        "pool/psycopg2@pg": "raw/psycopg2@pg",
    }
    (kept,) = [note for note in result.notes if "runs with its own" in note]
    assert kept.startswith("variant maria: no driver of ")
    assert "(psycopg, psycopg2) speaks mysql: it runs with its own, pymysql" in kept
    assert set(result.environment.drivers) == {"pymysql", "psycopg", "psycopg2"}


def test_the_labels_go_through_the_document_a_view_a_diff_and_every_format():
    result = _run(Fakes())
    document = json.loads(json.dumps(result.to_document()))
    jsonschema.validate(document, SCHEMA)
    back = from_document(document)
    assert [r.runner for r in back.runners] == LABELS
    pg = back.variant_view("pg")
    assert [r.runner for r in pg.runners] == [
        "raw/psycopg",
        "raw/psycopg2",
        "pool/psycopg",
        "pool/psycopg2",
    ]
    assert [d.runner for d in diff_results(back, back)] == LABELS
    csv_rows = _render("csv", back).splitlines()
    assert [row.split(",")[0] for row in csv_rows[1:]] == LABELS
    table = _render("table", back)
    assert all(label in table for label in LABELS)
    markdown = _render("markdown", back)
    assert all(f"**{label}**" in markdown for label in LABELS)


def test_a_driver_no_target_speaks_and_a_target_naming_its_driver_are_refused():
    settings = _targets(("a", PG), ("b", "postgresql://root@h3/test"))
    with pytest.raises(ConfigError, match="mysqlclient is a MySQL driver, and no .* speaks"):
        benchmark.plan_run(settings, ["raw"], ["psycopg", "mysqlclient"])
    named = _targets(("a", PG), ("b", "postgresql+psycopg2://root@h3/test"))
    with pytest.raises(ConfigError, match="--target b names its driver, psycopg2, and"):
        benchmark.plan_run(named, ["raw"], ["psycopg", "psycopg2"])


def test_compare_takes_a_list_of_drivers_with_targets_and_refuses_a_foreign_one_in_one_line():
    fakes = Fakes()
    targets = ["--target", f"maria={MARIA}", "--target", f"pg={PG}"]
    done = CliRunner().invoke(
        cli,
        ["compare", "-n", "10", "--runner", "raw,pool", "--driver", "psycopg,psycopg2", *targets],
        env=NO_SERVER_VARIABLES,
        obj=Env(backend=fakes.backend),
    )
    assert done.exit_code == 0, done.output
    assert list(fakes.settings) == LABELS
    assert "variant maria: no driver of --driver (psycopg, psycopg2) speaks mysql" in done.stdout
    fakes = Fakes()
    refused = CliRunner().invoke(
        cli,
        ["compare", "-n", "10", "--driver", "psycopg,mysql-connector"]
        + ["--target", f"a={PG}", "--target", "b=postgresql://root@h3/test"],
        env=NO_SERVER_VARIABLES,
        obj=Env(backend=fakes.backend),
    )
    assert refused.exit_code == ExitStatus.USAGE, refused.output
    (line,) = refused.stderr.splitlines()
    assert line == (
        "dbbench: error: --driver: mysql-connector is a MySQL driver, and no --target speaks "
        "its dialect (postgresql); list drivers of theirs"
    )
    assert fakes.log == []
