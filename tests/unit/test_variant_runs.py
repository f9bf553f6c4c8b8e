"""A run of several variants on fakes: the runners interleaved in the same turns, each made
with its variant's settings; what the result records; every format; one variant's view."""

from __future__ import annotations

import dataclasses
import io
import json
import os
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from rich.console import Console

from dbbench.cli import Env, cli
from dbbench.config.settings import Settings, load_settings
from dbbench.diffing import caveats, diff_results
from dbbench.errors import ConfigError, ExitStatus
from dbbench.output.base import show
from dbbench.output.formats import get_format
from dbbench.results.model import RunResult, SweepResult, from_document, upgrade
from dbbench.runners import RunnerLabel, runner_settings
from dbbench.scenarios import benchmark
from dbbench.scenarios.backend import no_server_to_measure
from dbbench.server.local import ServerAddress
from dbbench.server.preflight import ServerInfo
from tests.fakes import FakeClock, FakeRunner, fake_backend
from tests.unit.test_variants import variant_files

SCHEMA = json.loads((Path(__file__).parents[2] / "schema/dbbench-result.schema.json").read_text())
COSTS_NS = {"raw": 2_000_000, "pool": 50_000, "persistent": 20_000}
LABELS = ["raw@base", "raw@new", "pool@base", "pool@new"]
#: every variable that would name a server, unset for the commands run here
NO_SERVER_VARIABLES = {name: None for name in os.environ if name.startswith(("DBBENCH_", "MYSQL_"))}


class Fakes:
    """A backend of fake runners, each operation costing its runner's fake time (the pool
    of a variant with ``pool_pre_ping`` twice its cost); what was made with which settings,
    in which order, and the servers checked."""

    def __init__(self) -> None:
        self.clock = FakeClock()
        self.log: list[str] = []
        self.settings: dict[str, Settings] = {}
        self.checked: list[tuple[str, str]] = []

        def create(label: str, settings: Settings) -> FakeRunner:
            own = runner_settings(label, settings)
            self.settings[label] = own
            cost = COSTS_NS[RunnerLabel.parse(label).kind]
            if own.pool.pool_pre_ping and RunnerLabel.parse(label).kind == "pool":
                cost *= 2
            return FakeRunner(label, self.log, clock=self.clock, cost_ns=cost)

        def check(database, workload):
            self.checked.append((database.driver, database.host))
            return ServerInfo(f"10.11.0-Fake-{database.driver}")

        self.backend = dataclasses.replace(fake_backend(create, self.clock), check_server=check)


BASE = "[pool]\npool_pre_ping = false\n"
NEW = '[pool]\npool_pre_ping = true\npool_size = 2\n[database]\ndriver = "mysqlclient"\n'


def _settings(tmp_path: Path, repeat: int = 1) -> Settings:
    flags = {"benchmark": {"iterations": "20", "warmup": "2", "repeat": str(repeat)}}
    return load_settings(
        None, env={}, flags=flags, variants=variant_files(tmp_path, base=BASE, new=NEW)
    )


def test_every_variants_runners_take_turns_in_the_same_rounds_with_their_own_settings(tmp_path):
    fakes = Fakes()
    result = benchmark.run_benchmark(
        _settings(tmp_path, repeat=2), ["raw", "pool"], backend=fakes.backend
    )
    assert [r.runner for r in result.runners] == LABELS
    for repetition in result.repetitions:
        assert [r.runner for r in repetition.runners] == LABELS
        assert all(r.n == 20 for r in repetition.runners)
    # a turn runs every label once in order, the second repetition in the reverse order:
    # the first operations of each repetition
    opened = [entry for entry in fakes.log if entry.startswith("open ")]
    assert opened == [f"open {label}" for label in [*LABELS, *LABELS[::-1]]]
    assert fakes.settings["pool@new"].pool.pool_pre_ping is True
    assert fakes.settings["pool@new"].pool.pool_size == 2
    assert fakes.settings["raw@new"].database.driver == "mysqlclient"
    assert fakes.settings["pool@base"].pool.pool_pre_ping is False
    assert fakes.settings["raw@base"].database.driver == "pymysql"
    # new's pool costs twice base's: each variant measured with its own runner
    assert result.runner("pool@new").summary.p50_ns == 2 * result.runner("pool@base").summary.p50_ns
    # each variant's server checked before anything was measured, with its own driver
    assert fakes.checked == [("pymysql", "127.0.0.1"), ("mysqlclient", "127.0.0.1")] * 2


def test_the_result_records_the_variants_servers_drivers_and_speedups(tmp_path):
    fakes = Fakes()
    result = benchmark.run_benchmark(_settings(tmp_path), ["raw", "pool"], backend=fakes.backend)
    assert result.variant_names == ("base", "new")
    recorded = result.settings.variants
    assert [(v.name, v.path) for v in recorded] == [
        ("base", str(tmp_path / "base.toml")),
        ("new", str(tmp_path / "new.toml")),
    ]
    assert recorded[1].pool.to_document() == {"pool_size": 2, "pool_pre_ping": True}
    assert recorded[1].database.to_document() == {"driver": "mysqlclient"}
    variants = result.environment.variants
    assert [(v.name, v.server_version, v.driver) for v in variants] == [
        ("base", "10.11.0-Fake-pymysql", "pymysql"),
        ("new", "10.11.0-Fake-mysqlclient", "mysqlclient"),
    ]
    assert set(result.environment.drivers) == {"pymysql", "mysqlclient"}
    # each runner against raw of its own variant
    assert [(s.runner, s.baseline) for s in result.speedups] == [
        ("pool@base", "raw@base"),
        ("pool@new", "raw@new"),
    ]
    assert "base: pool_size=5" in result.pool_description
    assert "new: pool_size=2" in result.pool_description
    # a finding of one variant's driver is said as that variant's
    assert any(note.startswith("variant base: ssl_mode 'preferred'") for note in result.notes)
    document = result.to_document()
    jsonschema.validate(document, SCHEMA)
    again = from_document(upgrade(json.loads(json.dumps(document)), "the document"))
    assert again.to_document() == document


def test_a_view_of_one_variant_is_a_run_of_its_own_that_diffs_against_the_other(tmp_path):
    fakes = Fakes()
    result = benchmark.run_benchmark(
        _settings(tmp_path, repeat=2), ["raw", "pool"], backend=fakes.backend
    )
    read = from_document(upgrade(json.loads(json.dumps(result.to_document())), "the file"))
    base, new = read.variant_view("base"), read.variant_view("new")
    assert [r.runner for r in new.runners] == ["raw", "pool"]
    assert [[r.runner for r in rep.runners] for rep in new.repetitions] == [["raw", "pool"]] * 2
    assert [r.n for r in new.per_repetition("pool")] == [20, 20]
    first = read.per_repetition("pool@new")[0]
    assert new.per_repetition("pool")[0] == dataclasses.replace(first, runner="pool")
    assert new.settings.variants is None and new.settings.pool.pool_pre_ping is True
    assert base.settings.pool.pool_pre_ping is False
    assert new.environment.server_version == "10.11.0-Fake-mysqlclient"
    assert new.environment.drivers == {"mysqlclient": read.environment.drivers["mysqlclient"]}
    assert new.environment.variants is None
    assert "pool_pre_ping=on" in new.pool_description and "pool_size=2" in new.pool_description
    # base's finding (its driver's) is base's alone: said plainly in its view, not in new's
    (finding,) = [note for note in read.notes if "what PyMySQL does" in note]
    assert finding.startswith("variant base: ")
    assert finding.removeprefix("variant base: ") in base.notes
    assert not any("what PyMySQL does" in note for note in new.notes)
    # the existing diff machinery compares the two as two runs
    assert sorted(caveats(base, new))[:2] == [
        "environment.drivers.mysqlclient differs: None in BASE, "
        f"{read.environment.drivers['mysqlclient']!r} in NEW",
        "environment.drivers.pymysql differs: "
        f"{read.environment.drivers['pymysql']!r} in BASE, None in NEW",
    ]
    assert "settings.pool.pool_pre_ping differs: False in BASE, True in NEW" in caveats(base, new)
    assert [d.runner for d in diff_results(base, new)] == ["raw", "pool"]
    with pytest.raises(KeyError):
        read.variant_view("other")


def test_a_file_without_variants_reads_as_a_run_of_one():
    document = json.loads((Path(__file__).parents[1] / "data/results/run.json").read_text())
    result = from_document(upgrade(document, "run.json"))
    assert result.variant_names == () and result.settings.variants is None
    assert "variants" not in result.to_document()["settings"]
    assert result.environment.variants is None


def _render(format_name: str, result: RunResult | SweepResult) -> str:
    """``result`` as its command prints it in ``format_name``, 200 columns wide."""
    out = io.StringIO()
    show(get_format(format_name), result, Console(file=out, width=200))
    return out.getvalue()


def test_every_format_shows_the_labels_base_and_new_side_by_side(tmp_path):
    fakes = Fakes()
    result = benchmark.run_benchmark(_settings(tmp_path), ["raw", "pool"], backend=fakes.backend)
    table = _render("table", result)
    rows = [words[0] for words in map(str.split, table.splitlines()) if words]
    assert [row for row in rows if row in LABELS][:4] == LABELS
    assert "variant new (" in table and "driver mysqlclient" in table
    markdown = _render("markdown", result)
    assert [f"**{label}**" in markdown for label in LABELS] == [True] * 4
    assert markdown.index("**raw@base**") < markdown.index("**raw@new**")
    assert markdown.index("**raw@new**") < markdown.index("**pool@base**")
    assert "variant new (" in markdown
    csv_rows = _render("csv", result).splitlines()
    assert [row.split(",")[0] for row in csv_rows[1:]] == LABELS
    document = json.loads(_render("json", result))
    assert [r["runner"] for r in document["results"]] == LABELS
    assert [v["name"] for v in document["settings"]["variants"]] == ["base", "new"]


def test_a_variant_pointed_at_a_throwaway_server_talks_to_it_in_its_own_way(tmp_path):
    settings = _settings(tmp_path)
    address = ServerAddress("127.0.0.1", 40000, "root", "pw", "test")
    target = benchmark.settings_for_server(settings, address)
    for name in ("base", "new"):
        database = target.variant(name).database
        assert (database.port, database.password, database.database) == (40000, "pw", "test")
    assert target.variant("new").database.driver == "mysqlclient"
    assert target.variant("new").pool.pool_pre_ping is True


def test_a_variant_naming_a_server_is_a_server_configured(tmp_path):
    variants = variant_files(tmp_path, a='[database]\nhost = "db.example"\n', b=BASE)
    settings = load_settings(None, env={}, variants=variants)
    assert no_server_to_measure(settings) is False


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--pool-size", "2,4"],
            "new.toml sets [pool] pool_size, and the sweep sets it for every variant",
        ),
        (
            ["--driver", "pymysql,mysqlclient"],
            "new.toml names its driver, mysqlclient, and --driver gives it pymysql, mysqlclient",
        ),
        (["--rtt", "1ms"], "--variant does not run with --rtt yet"),
        (["--pre-ping"], "--pre-ping/--no-pre-ping both set [pool] pool_pre_ping"),
        (["--iterations", "5"], "but the run's is 5 (from --iterations)"),
    ],
)
def test_what_variants_do_not_run_with_is_refused_in_one_line(
    tmp_path, monkeypatch, extra, message
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "base.toml").write_text(BASE)
    (tmp_path / "new.toml").write_text(NEW + "[benchmark]\niterations = 20\n")
    fakes = Fakes()
    result = CliRunner().invoke(
        cli,
        ["compare", "-n", "20", "--variant", "base=base.toml", "--variant", "new=new.toml", *extra],
        env=NO_SERVER_VARIABLES,
        obj=Env(backend=fakes.backend),
    )
    assert result.exit_code == ExitStatus.USAGE, result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith("dbbench: error: ") and message in line, line
    assert fakes.log == []  # nothing ran


def test_run_and_compare_take_variants_on_the_command_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "base.toml").write_text(BASE)
    (tmp_path / "new.toml").write_text(NEW)
    for command in ("run", "compare"):
        fakes = Fakes()
        result = CliRunner().invoke(
            cli,
            [command, "-n", "10", "--variant", "base=base.toml", "--variant", "new=new.toml"],
            env=NO_SERVER_VARIABLES,
            obj=Env(backend=fakes.backend),
        )
        assert result.exit_code == 0, result.output
        made = list(fakes.settings)
        assert made == [f"{r}@{v}" for r in ("raw", "pool", "persistent") for v in ("base", "new")]
        assert fakes.settings["persistent@new"].database.driver == "mysqlclient"


def test_the_library_refuses_variants_with_their_drivers_listed_a_projection_or_a_pool_sweep(
    tmp_path,
):
    settings = _settings(tmp_path)
    with pytest.raises(ConfigError, match="sets \\[pool\\] pool_size, and the sweep sets it"):
        benchmark.run_sweep(settings, ["pool"], [1], [2, 4], [10])
    with pytest.raises(ConfigError, match="names its driver, mysqlclient, and driver_names"):
        benchmark.plan_run(settings, ["raw"], ["pymysql", "mysqlclient"])
    with pytest.raises(ConfigError, match="does not run with a projection"):
        benchmark.run_projected(settings, ["raw"], 0.001)
