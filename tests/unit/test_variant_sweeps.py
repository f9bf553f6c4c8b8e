"""A sweep of several variants or targets on fakes: each cell measures every variant's
runners in the same turns, and the sweep's cells, recommendations, formats, file, diff and
report are each variant's."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from click.testing import CliRunner

from dbbench.cli import Env, cli
from dbbench.config.settings import load_settings
from dbbench.diffing import diff_results
from dbbench.results.model import SweepResult, from_document
from dbbench.scenarios import benchmark
from tests.unit.test_variant_runs import (
    BASE,
    NEW,
    NO_SERVER_VARIABLES,
    SCHEMA,
    Fakes,
    _render,
    _settings,
)
from tests.unit.test_variants import variant_files

TARGETS = ["--target", "a=mysql://root@h1:3306/test", "--target", "b=postgresql://root@h2/test"]


def _sweep(tmp_path: Path, fakes: Fakes, concurrencies=(1, 2)) -> SweepResult:
    settings = _settings(tmp_path)
    pool = settings.pool
    return benchmark.run_sweep(
        settings,
        ["pool"],
        list(concurrencies),
        [pool.pool_size],
        [pool.max_overflow],
        backend=fakes.backend,
    )


def test_each_cell_measures_every_variant_in_the_same_turns_and_recommends_for_each(tmp_path):
    fakes = Fakes()
    sweep = _sweep(tmp_path, fakes)
    measured = [(c.variant, c.concurrency, c.pool_size, c.ops_per_s) for c, _ in sweep.cells]
    # new's pool pings before each operation: twice the fake cost, half the throughput; a
    # concurrency sweep keeps each variant's own pool_size (new's file says 2)
    assert measured == [
        ("base", 1, 5, 20_000.0),
        ("base", 2, 5, 20_000.0),
        ("new", 1, 2, 10_000.0),
        ("new", 2, 2, 10_000.0),
    ]
    # both variants' pools took turns in every cell's rounds, none ran alone
    operations = [entry for entry in fakes.log if entry.startswith("pool@")]
    assert set(operations) == {"pool@base", "pool@new"}
    assert operations.count("pool@base") == operations.count("pool@new")
    for concurrency_run in (operations[: len(operations) // 2], operations[len(operations) // 2 :]):
        assert set(concurrency_run) == {"pool@base", "pool@new"}
    # each cell's result is its variant's alone, named without @NAME
    assert {tuple(r.runner for r in result.runners) for _, result in sweep.cells} == {("pool",)}
    assert [(r.variant, r.concurrency, r.chosen.pool_size) for r in sweep.recommendations] == [
        ("base", 1, 5),
        ("base", 2, 5),
        ("new", 1, 2),
        ("new", 2, 2),
    ]
    assert sweep.variant_names == ("base", "new")
    assert [name for name, _ in sweep.parts()] == ["base", "new"]
    assert [v.name for v in sweep.settings.variants] == ["base", "new"]
    assert sweep.settings.grid["concurrency"] == [1, 2]


def test_a_swept_pool_setting_is_every_variants(tmp_path):
    variants = variant_files(tmp_path, base=BASE, new="[pool]\npool_pre_ping = true\n")
    flags = {"benchmark": {"iterations": "10", "warmup": "1"}}
    settings = load_settings(None, env={}, flags=flags, variants=variants)
    fakes = Fakes()
    sweep = benchmark.run_sweep(settings, ["pool"], [2], [1, 3], [0], backend=fakes.backend)
    assert [(c.variant, c.pool_size, c.max_overflow) for c, _ in sweep.cells] == [
        ("base", 1, 0),
        ("base", 3, 0),
        ("new", 1, 0),
        ("new", 3, 0),
    ]
    # the last cell's pools, as made
    assert fakes.settings["pool@new"].pool.pool_size == 3
    assert fakes.settings["pool@new"].pool.pool_pre_ping is True
    assert fakes.settings["pool@base"].pool.pool_size == 3


def test_the_file_keeps_each_cells_variant_and_reads_back(tmp_path):
    sweep = _sweep(tmp_path, Fakes())
    document = json.loads(json.dumps(sweep.to_document()))
    jsonschema.validate(document, SCHEMA)
    assert [c["variant"] for c in document["cells"]] == ["base", "base", "new", "new"]
    assert [r["variant"] for r in document["recommendations"]] == ["base", "base", "new", "new"]
    back = from_document(document)
    assert [(c.variant, c.concurrency) for c, _ in back.cells] == [
        (c.variant, c.concurrency) for c, _ in sweep.cells
    ]
    assert [(r.variant, r.chosen) for r in back.recommendations] == [
        (r.variant, r.chosen) for r in sweep.recommendations
    ]


def test_a_sweep_of_one_configuration_writes_no_variant(tmp_path):
    settings = load_settings(None, env={}, flags={"benchmark": {"iterations": "10"}})
    sweep = benchmark.run_sweep(settings, ["pool"], [1, 2], [5], [10], backend=Fakes().backend)
    document = sweep.to_document()
    assert all("variant" not in cell for cell in document["cells"])
    assert all("variant" not in r for r in document["recommendations"])
    assert sweep.parts() == [(None, sweep)]
    assert _render("csv", sweep).splitlines()[0].startswith("concurrency,")


def test_every_format_shows_each_variants_matrix(tmp_path):
    sweep = _sweep(tmp_path, Fakes())
    table = _render("table", sweep)
    assert table.index("variant base (") < table.index("variant new (")
    base, new = table.split("variant new (")
    assert "20,000/s" in base and "10,000/s" not in base
    assert "10,000/s" in new and "20,000/s" not in new
    assert "pool_size 2, pool_pre_ping true" in new
    markdown = _render("markdown", sweep)
    assert markdown.count("#### variant ") == 2
    csv_rows = [row.split(",") for row in _render("csv", sweep).splitlines()]
    assert csv_rows[0][:2] == ["variant", "concurrency"]
    assert [(row[0], row[1], row[4]) for row in csv_rows[1:]] == [
        ("base", "1", "20000.0"),
        ("base", "2", "20000.0"),
        ("new", "1", "10000.0"),
        ("new", "2", "10000.0"),
    ]
    document = json.loads(_render("json", sweep))
    assert [c["variant"] for c in document["cells"]] == ["base", "base", "new", "new"]


def test_a_diff_of_two_sweeps_of_variants_matches_cells_by_variant(tmp_path):
    base, new = _sweep(tmp_path, Fakes()), _sweep(tmp_path, Fakes(), concurrencies=(1,))
    diffs = diff_results(base, new)
    assert [(d.runner, d.cell, d.only_in) for d in diffs] == [
        ("pool", "concurrency 1, pool_size 2, max_overflow 10, variant new", None),
        ("pool", "concurrency 1, pool_size 5, max_overflow 10, variant base", None),
        ("pool", "concurrency 2, pool_size 2, max_overflow 10, variant new", "base"),
        ("pool", "concurrency 2, pool_size 5, max_overflow 10, variant base", "base"),
    ]


def test_compare_sweeps_the_concurrency_of_two_targets(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    fakes = Fakes()
    result = CliRunner().invoke(
        cli,
        ["compare", "-c", "1,4", "-n", "20", *TARGETS, "--output", "sweep.json"],
        env=NO_SERVER_VARIABLES,
        obj=Env(backend=fakes.backend),
    )
    assert result.exit_code == 0, result.output
    assert set(fakes.settings) == {"pool@a", "pool@b"}
    assert fakes.settings["pool@b"].database.dialect == "postgresql"
    out = result.stdout
    heads = [out.index("target a (mysql://root@h1:3306/test"), out.index("target b (postgresql")]
    assert heads == sorted(heads)
    for part in out.split("target b (postgresql"):
        assert "concurrency 1" in part and "concurrency 4" in part
    saved = json.loads((tmp_path / "sweep.json").read_text())
    assert [(c["variant"], c["concurrency"]) for c in saved["cells"]] == [
        ("a", 1),
        ("a", 4),
        ("b", 1),
        ("b", 4),
    ]
    report = CliRunner().invoke(
        cli, ["report", "sweep.json", "-o", "report.html"], env=NO_SERVER_VARIABLES
    )
    assert report.exit_code == 0, report.output
    html = (tmp_path / "report.html").read_text()
    assert "a: The grid" in html and "b: The grid" in html


def test_a_variant_setting_another_pool_setting_than_the_swept_one_keeps_it(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "base.toml").write_text(BASE)
    (tmp_path / "new.toml").write_text(NEW)
    fakes = Fakes()
    result = CliRunner().invoke(
        cli,
        ["compare", "--max-overflow", "0,2", "-n", "5"]
        + ["--variant", "base=base.toml", "--variant", "new=new.toml"],
        env=NO_SERVER_VARIABLES,
        obj=Env(backend=fakes.backend),
    )
    # new.toml sets pool_size, not max_overflow: sweeping max_overflow is every variant's
    assert result.exit_code == 0, result.output
    pools = {label: own.pool for label, own in fakes.settings.items()}  # the last cell's
    assert {label: (p.pool_size, p.max_overflow) for label, p in pools.items()} == {
        "pool@base": (5, 2),
        "pool@new": (2, 2),
    }
