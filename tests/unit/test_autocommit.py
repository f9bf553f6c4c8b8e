"""``[database] autocommit`` and ``--autocommit``: where it is read from, what a bad value
says, which commands take the flag, a variant's own, what every driver and pool is given,
the result's record, the table's line and the diff; no server
(tests/integration/test_autocommit.py asks real servers and a real PgBouncer)."""

from __future__ import annotations

import dataclasses
import json

import pytest
from click.testing import CliRunner

from dbbench.cli import cli
from dbbench.config.settings import DatabaseSettings, Settings, load_settings
from dbbench.diffing import caveats
from dbbench.drivers import asyncpg_driver, get_driver
from dbbench.errors import ConfigError
from dbbench.results.model import DatabaseSummary, load_result
from dbbench.runners.async_pool import AsyncPoolRunner, aiomysql_kwargs
from dbbench.runners.psycopg_pool import PsycopgPoolRunner
from dbbench.workload import workload_for
from tests.unit.test_cli import consoles, fake_runners, invoke  # noqa: F401 - the fixture
from tests.unit.test_diffing import DATA
from tests.unit.test_variants import _load

POSTGRESQL = DatabaseSettings(dialect="postgresql", port=5432, driver="psycopg")


def test_the_setting_comes_from_the_file_the_environment_and_the_flag(tmp_path):
    path = tmp_path / "dbbench.toml"
    path.write_text("[database]\nautocommit = true\n")
    assert load_settings(path, env={}).database.autocommit is True
    assert load_settings(None, env={}).database.autocommit is False
    assert load_settings(None, env={"DBBENCH_AUTOCOMMIT": "on"}).database.autocommit is True
    off = load_settings(path, env={}, flags={"database": {"autocommit": False}})
    assert off.database.autocommit is False
    unset = load_settings(path, env={}, flags={"database": {"autocommit": None}})
    assert unset.database.autocommit is True  # neither --autocommit nor --no-autocommit


@pytest.mark.parametrize("value", ['"yes"', "1", '"true"'])
def test_a_value_that_is_no_boolean_is_one_line_naming_file_key_and_value(tmp_path, value):
    path = tmp_path / "dbbench.toml"
    path.write_text(f"[database]\nautocommit = {value}\n")
    with pytest.raises(ConfigError) as raised:
        load_settings(path, env={})
    message = str(raised.value)
    assert message == f"{path}: [database] autocommit = {value}: must be true or false"


def test_a_bad_variable_is_named_with_its_value():
    with pytest.raises(ConfigError, match="DBBENCH_AUTOCOMMIT = 'maybe': must be true"):
        load_settings(None, env={"DBBENCH_AUTOCOMMIT": "maybe"})


def test_run_and_compare_take_the_flag_and_hand_it_to_the_runners(fake_runners):  # noqa: F811
    for command in ("run", "compare"):
        result = invoke(command, "-n", "5", "--autocommit", "--json")
        assert result.exit_code == 0, result.output
        assert fake_runners["raw"].settings.database.autocommit is True
        document = json.loads(result.stdout)
        assert document["settings"]["database"]["autocommit"] is True
    result = invoke("run", "-n", "5", "--no-autocommit", "--json")
    assert json.loads(result.stdout)["settings"]["database"]["autocommit"] is False


def _table(*args: str) -> str:
    env, out, _ = consoles()  # 140 columns: the driver's line unbroken
    result = CliRunner().invoke(cli, ["run", "-n", "5", *args], obj=env)
    assert result.exit_code == 0, result.output
    return out.getvalue()


def test_the_table_says_autocommit_on_where_it_is_set(fake_runners):  # noqa: F811
    driver_line = next(line for line in _table("--autocommit").splitlines() if "driver:" in line)
    assert driver_line.rstrip().endswith("; ssl_mode preferred; autocommit on")
    assert "autocommit" not in _table()


@pytest.mark.parametrize("command", ["stale", "explain", "calibrate"])
def test_the_other_commands_say_which_take_the_flag(command):
    result = invoke(command, "--autocommit")
    assert result.exit_code == 2
    assert result.stderr.strip().endswith(
        "dbbench run and dbbench compare take --autocommit ([database] autocommit in the "
        "settings file)."
    )
    assert "Traceback" not in result.output


def test_a_variant_sets_it_for_itself(tmp_path):
    settings = _load(tmp_path, off="[pool]\npool_size = 3\n", on="[database]\nautocommit = true\n")
    assert [v.database.autocommit for v in settings.variants] == [False, True]
    variants = settings.public_dict()["variants"]
    assert variants[0]["database"] == {}
    assert variants[1]["database"] == {"autocommit": True}


def test_a_variant_and_the_flag_both_setting_it_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="both set \\[database\\] autocommit"):
        _load(
            tmp_path, flags={"database": {"autocommit": False}},
            a="[database]\nautocommit = true\n", b="[pool]\npool_size = 2\n",
        )  # fmt: skip


@pytest.mark.parametrize("name", ["pymysql", "mysqlclient", "mysql-connector", "psycopg"])
def test_each_driver_connects_with_autocommit_only_where_it_is_set(name):
    base = POSTGRESQL if name == "psycopg" else DatabaseSettings()
    driver = get_driver(name)
    assert driver.connection_kwargs(dataclasses.replace(base, autocommit=True))["autocommit"]
    assert "autocommit" not in driver.connection_kwargs(base)


class _Psycopg2Connection:
    autocommit = False


def test_psycopg2_sets_the_attribute_after_its_connect(monkeypatch):
    driver = get_driver("psycopg2")
    given = []

    def connect(**kwargs):
        given.append(kwargs)
        return _Psycopg2Connection()

    monkeypatch.setattr(driver.module, "connect", connect)
    database = dataclasses.replace(POSTGRESQL, driver="psycopg2")
    assert driver.connector(dataclasses.replace(database, autocommit=True))().autocommit is True
    assert driver.connector(database)().autocommit is False
    assert all("autocommit" not in kwargs for kwargs in given)  # libpq has no such parameter


def test_the_psycopg_pool_connects_in_autocommit():
    settings = Settings(database=dataclasses.replace(POSTGRESQL, autocommit=True))
    runner = PsycopgPoolRunner(settings.database, workload_for(settings.benchmark), settings.pool)
    assert runner._connect_kwargs["autocommit"] is True


def test_the_async_pool_connects_in_autocommit_on_both_dialects():
    assert aiomysql_kwargs(DatabaseSettings(autocommit=True))["autocommit"] is True
    assert "autocommit" not in aiomysql_kwargs(DatabaseSettings())
    # asyncpg has no implicit transactions, SQLAlchemy's adapter does: AUTOCOMMIT on it
    on = dataclasses.replace(POSTGRESQL, autocommit=True)
    assert asyncpg_driver.engine_kwargs(on) == {"isolation_level": "AUTOCOMMIT"}
    assert asyncpg_driver.engine_kwargs(POSTGRESQL) == {}
    settings = Settings(database=on)
    runner = AsyncPoolRunner(on, workload_for(settings.benchmark), settings.pool)
    assert runner.engine_arguments()["isolation_level"] == "AUTOCOMMIT"


def test_the_result_records_it_and_older_files_load_without_it():
    public = dataclasses.replace(POSTGRESQL, autocommit=True).public_dict()
    assert DatabaseSummary.from_document(public).autocommit is True
    assert DatabaseSummary.from_document({"host": "h"}).autocommit is None


def _with_autocommit(result, value):
    database = dataclasses.replace(result.settings.database, autocommit=value)
    settings = dataclasses.replace(result.settings, database=database)
    return dataclasses.replace(result, settings=settings)


def test_the_diff_reports_a_difference_in_autocommit():
    old = load_result(DATA / "diff_base.json")  # written before the setting: has none
    assert old.settings.database.autocommit is None
    on, off = _with_autocommit(old, True), _with_autocommit(old, False)
    assert caveats(off, on, base_label="off.json", new_label="on.json") == [
        "settings.database.autocommit differs: False in off.json, True in on.json"
    ]
    # an older file's connections had autocommit off: no difference from one that says so
    assert caveats(old, off) == []
    assert caveats(old, on) == [
        "settings.database.autocommit differs: False in BASE, True in NEW"
    ]
