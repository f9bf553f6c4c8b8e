"""``[benchmark] prepared`` and ``--prepared``: the two variants it makes, what it refuses
(a driver without server-side prepared statements, a runner on SQLAlchemy, variants of
one's own, a pool per transaction), the cursors each driver's operations get, the
result's record, the table's line and the diff; no server
(tests/integration/test_prepared.py counts the prepares on real servers)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from click.testing import CliRunner

from dbbench.cli import cli
from dbbench.config.settings import (
    PREPARED_VARIANTS,
    DatabaseSettings,
    Settings,
    load_settings,
)
from dbbench.diffing import caveats
from dbbench.drivers import get_driver
from dbbench.drivers.prepared import PreparedStatements, PreparingCursor
from dbbench.errors import ConfigError, mention
from dbbench.results.model import BenchmarkSummary, DatabaseSummary, load_result
from dbbench.scenarios import variants
from dbbench.scenarios.benchmark import plan_run
from dbbench.workload import Workload
from dbbench.workload_script import ScriptWorkload
from tests.unit.test_cli import consoles
from tests.unit.test_diffing import DATA
from tests.unit.test_variant_runs import NO_SERVER_VARIABLES as NO_SERVER
from tests.unit.test_variant_runs import Fakes

POSTGRESQL = {"dialect": "postgresql", "driver": "psycopg"}


def _prepared(**database: Any) -> Settings:
    return load_settings(
        None, env={}, flags={"benchmark": {"prepared": True}, "database": database}
    )


def test_it_makes_the_variants_plain_and_prepared_of_the_run_s_own_settings():
    settings = _prepared(driver="mysql-connector")
    assert [v.name for v in settings.variants] == list(PREPARED_VARIANTS) == ["plain", "prepared"]
    assert [v.database.prepared for v in settings.variants] == [False, True]
    assert all(v.database.driver == "mysql-connector" for v in settings.variants)
    assert settings.database.prepared is None  # the run's own: the driver's default
    document = settings.public_dict()
    assert document["benchmark"]["prepared"] is True
    assert [(v["name"], v["database"]) for v in document["variants"]] == [
        ("plain", {"prepared": False}),
        ("prepared", {"prepared": True}),
    ]
    assert "path" not in document["variants"][0]
    assert variants.given_as(settings) == mention("[benchmark] prepared")


def test_the_setting_comes_from_the_file_and_the_environment(tmp_path):
    path = tmp_path / "dbbench.toml"
    path.write_text('[benchmark]\nprepared = true\n[database]\ndriver = "mysql-connector"\n')
    assert len(load_settings(path, env={}).variants) == 2
    assert load_settings(None, env={"DBBENCH_PREPARED": "on"}).benchmark.prepared is True
    assert load_settings(None, env={}).variants == ()


def test_variants_of_one_s_own_beside_it_are_refused(tmp_path):
    (tmp_path / "a.toml").write_text("[pool]\npool_size = 2\n")
    (tmp_path / "b.toml").write_text("[pool]\npool_size = 3\n")
    with pytest.raises(ConfigError) as raised:
        load_settings(
            None, env={}, flags={"benchmark": {"prepared": True}},
            variants=[("a", tmp_path / "a.toml"), ("b", tmp_path / "b.toml")],
        )  # fmt: skip
    assert str(raised.value) == (
        "[benchmark] prepared measures its own variants (plain and prepared): give it no "
        "--variant or --target"
    )


@pytest.mark.parametrize(
    ("database", "driver_names", "named"),
    [
        ({}, (), "driver pymysql has no server-side prepared statements; on MySQL, give "
         "--driver mysql-connector (the drivers that have them: mysql-connector, psycopg)"),
        ({"driver": "mysqlclient"}, (), "driver mysqlclient has no"),
        (POSTGRESQL, ("psycopg", "psycopg2"), "driver psycopg2 has no server-side prepared "
         "statements; on PostgreSQL, give --driver psycopg"),
    ],
)  # fmt: skip
def test_a_driver_without_prepared_statements_is_refused_naming_those_with(
    database, driver_names, named
):
    settings = _prepared(**database)
    with pytest.raises(ConfigError) as raised:
        plan_run(settings, ["raw", "pool"], driver_names)
    assert str(raised.value).startswith("[benchmark] prepared: ")
    assert named in str(raised.value)


def test_a_runner_on_sqlalchemy_or_asyncio_is_refused():
    with pytest.raises(ConfigError) as raised:
        plan_run(_prepared(driver="mysql-connector"), ["raw", "core", "async-pool"])
    assert str(raised.value).startswith(
        "[benchmark] prepared sends the statements itself, on the DB-API connection, which "
        "runner core, async-pool does not give"
    )


def test_a_pool_per_transaction_is_refused():
    settings = _prepared(**POSTGRESQL, transaction_pooling=True)
    with pytest.raises(ConfigError, match="transaction_pooling says the endpoint does not keep"):
        plan_run(settings, ["raw"])


def test_the_runners_run_once_per_variant():
    plan = plan_run(_prepared(driver="mysql-connector"), ["raw", "pool", "persistent"])
    assert plan.runners == (
        "raw@plain", "raw@prepared", "pool@plain", "pool@prepared",
        "persistent@plain", "persistent@prepared",
    )  # fmt: skip


def _invoke(fakes: Fakes, *args: str) -> tuple[int, str, str]:
    """The command's exit status, stdout and stderr (its consoles')."""
    env, out, err = consoles()
    result = CliRunner().invoke(
        cli, list(args), obj=dataclasses.replace(env, backend=fakes.backend), env=NO_SERVER
    )
    return result.exit_code, out.getvalue(), err.getvalue() + result.output


def test_the_command_line_refuses_a_driver_without_them_in_one_line():
    fakes = Fakes()
    status, _, stderr = _invoke(fakes, "run", "-n", "5", "--prepared")
    assert status == 2
    assert stderr.strip() == (
        "dbbench: error: --prepared: driver pymysql has no server-side prepared statements; "
        "on MySQL, give --driver mysql-connector (the drivers that have them: "
        "mysql-connector, psycopg)"
    )
    assert fakes.settings == {} and fakes.checked == []  # refused before anything ran


def test_the_pooler_is_refused_with_it():
    from dbbench.scenarios import pooler

    with pytest.raises(ConfigError, match="pooler does not run with .*prepared yet"):
        pooler.check(_prepared(**POSTGRESQL), "pgbouncer")


@pytest.mark.parametrize("command", ["run", "compare"])
def test_run_and_compare_measure_both_variants_side_by_side(command):
    fakes = Fakes()
    args = [command, "-n", "5", "--prepared", "--driver", "mysql-connector"]
    status, stdout, stderr = _invoke(fakes, *args, "--json")
    assert status == 0, stderr
    document = json.loads(stdout)
    assert [r["runner"] for r in document["results"]] == [
        "raw@plain", "raw@prepared", "pool@plain", "pool@prepared",
        "persistent@plain", "persistent@prepared",
    ]  # fmt: skip
    assert document["settings"]["benchmark"]["prepared"] is True
    assert fakes.settings["pool@prepared"].database.prepared is True
    assert fakes.settings["pool@plain"].database.prepared is False
    lines = [line.strip() for line in _invoke(Fakes(), *args)[1].splitlines()]
    assert "variant plain: prepared false" in lines
    assert "variant prepared: prepared true" in lines


# --- what an operation's cursor is ------------------------------------------------------


class FakeCursor:
    def __init__(self, log: list, prepared: bool) -> None:
        self.log, self.prepared, self.closed = log, prepared, False
        self.description = None

    def execute(self, sql, params=None, **kwargs):
        self.log.append((id(self), sql, params, kwargs))
        self.description = ("column",)

    def fetchall(self):
        return [(1,)]

    def close(self):
        self.closed = True


class FakeConnection:
    def __init__(self) -> None:
        self.log: list = []
        self.cursors: list[FakeCursor] = []

    def cursor(self, prepared: bool = False) -> FakeCursor:
        self.cursors.append(FakeCursor(self.log, prepared))
        return self.cursors[-1]


class PoolWrapper:
    """A pool's checkout: a new wrapper each time around the same driver connection."""

    def __init__(self, connection: FakeConnection) -> None:
        self.dbapi_connection = connection

    def cursor(self, **kwargs):
        return self.dbapi_connection.cursor(**kwargs)


def test_mysql_connector_keeps_one_prepared_cursor_per_statement_and_connection():
    factory = PreparedStatements()
    first, other = FakeConnection(), FakeConnection()
    query = Workload("SELECT 1", cursor=factory)
    for _ in range(3):
        assert query.run_on(PoolWrapper(first)) == 1
    query.run_on(other)
    assert len(first.cursors) == 1 and first.cursors[0].prepared
    assert not first.cursors[0].closed  # kept for the connection's next operation
    assert len({entry[0] for entry in first.log}) == 1  # the same cursor every time
    assert len(other.cursors) == 1
    statements = factory(first)
    statements.execute("SELECT 2")
    assert len(first.cursors) == 2  # a statement of its own
    statements.execute("SELECT 1")
    assert len(first.cursors) == 2


def test_psycopg_passes_prepare_true_on_prepared_and_false_on_plain():
    for prepare in (True, False):
        connection = FakeConnection()
        Workload("SELECT 1", cursor=PreparingCursor.factory(prepare)).run_on(connection)
        ((_, sql, params, kwargs),) = connection.log
        assert (sql, params, kwargs) == ("SELECT 1", None, {"prepare": prepare})
        assert connection.cursors[0].closed


def test_each_driver_gives_its_cursor_where_asked():
    assert get_driver("pymysql").cursor_factory(None) is None
    assert get_driver("pymysql").cursor_factory(False) is None
    with pytest.raises(ConfigError):
        get_driver("pymysql").cursor_factory(True)
    assert get_driver("mysql-connector").cursor_factory(False) is None  # its default: plain
    assert isinstance(get_driver("mysql-connector").cursor_factory(True), PreparedStatements)
    assert get_driver("psycopg").cursor_factory(None) is None  # its default: prepare_threshold
    assert get_driver("mysql-connector").prepares and get_driver("psycopg").prepares
    assert not get_driver("psycopg2").prepares


def test_a_script_s_statements_go_through_the_cursor_too():
    from dbbench.config.settings import ScriptFile
    from dbbench.scripts.parse import parse_script

    script = parse_script("\\set id random(1, 9)\nSELECT :id;\nSELECT 2;\n", "s.sql")
    workload = ScriptWorkload([ScriptFile("s.sql", 1, script)], seed=1).for_driver(
        get_driver("mysql-connector"), True
    )
    connection = FakeConnection()
    for _ in range(2):
        workload.run_on(connection)
    assert [c.prepared for c in connection.cursors] == [True, True]  # one per statement
    assert [entry[1] for entry in connection.log] == ["SELECT %s", "SELECT 2"] * 2


# --- the result --------------------------------------------------------------------------


def test_the_result_records_it_and_older_files_load_without_it():
    public = dataclasses.replace(DatabaseSettings(), prepared=True).public_dict()
    assert DatabaseSummary.from_document(public).prepared is True
    assert DatabaseSummary.from_document({"host": "h"}).prepared is None
    assert BenchmarkSummary.from_document({"prepared": True}).prepared is True
    assert BenchmarkSummary.from_document({}).prepared is None


def test_the_diff_says_prepared_differs_and_an_older_file_reads_as_plain():
    old = load_result(DATA / "diff_base.json")  # written before the setting: has none
    assert old.settings.benchmark.prepared is None

    def with_prepared(value: bool) -> Any:
        benchmark = dataclasses.replace(old.settings.benchmark, prepared=value)
        settings = dataclasses.replace(old.settings, benchmark=benchmark)
        return dataclasses.replace(old, settings=settings)

    assert caveats(old, with_prepared(False)) == []
    assert caveats(with_prepared(False), with_prepared(True)) == [
        "settings.benchmark.prepared differs: False in BASE, True in NEW"
    ]
