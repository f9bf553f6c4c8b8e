"""``[database] transaction_pooling`` and ``--driver-defaults``: what each driver is given,
the note a run carries, the result's record; no server (tests/integration/
test_transaction_pooling.py measures the errors through a real PgBouncer)."""

from __future__ import annotations

import dataclasses

import pytest

from dbbench.config.settings import DatabaseSettings, Settings, load_settings
from dbbench.databases.session_probe import probe_session_state
from dbbench.drivers import get_driver
from dbbench.drivers.asyncpg_driver import adapter_kwargs, asyncpg_kwargs
from dbbench.errors import ConfigError
from dbbench.results.model import DatabaseSummary
from dbbench.runners.psycopg_pool import PsycopgPoolRunner
from dbbench.scenarios.benchmark import plan_run
from dbbench.scenarios.pooling import transaction_pooling_note
from dbbench.workload import workload_for


def _database(**given) -> DatabaseSettings:
    return DatabaseSettings(**{"dialect": "postgresql", "port": 5432, "driver": "psycopg", **given})


POOLED = _database(transaction_pooling=True)
KEPT = dataclasses.replace(POOLED, driver_defaults=True)


def test_psycopg_prepares_nothing_on_the_server_only_where_the_endpoint_pools_per_transaction():
    psycopg = get_driver("psycopg")
    assert psycopg.connection_kwargs(POOLED)["prepare_threshold"] is None
    assert "prepare_threshold" not in psycopg.connection_kwargs(_database())
    assert "prepare_threshold" not in psycopg.connection_kwargs(KEPT)  # psycopg's 5 kept


@pytest.mark.parametrize("name", ["psycopg2", "pymysql", "mysqlclient", "mysql-connector"])
def test_drivers_that_prepare_nothing_on_the_server_are_given_nothing(name):
    driver = get_driver(name)
    database = POOLED if name == "psycopg2" else DatabaseSettings(transaction_pooling=True)
    plain = dataclasses.replace(database, transaction_pooling=False)
    assert driver.connection_kwargs(database) == driver.connection_kwargs(plain)
    assert driver.transaction_pooling_words() == (
        f"{name} needs nothing (it prepares no statement on the server)"
    )


def test_asyncpg_drops_its_statement_cache_and_sqlalchemys():
    assert asyncpg_kwargs(POOLED)["statement_cache_size"] == 0
    assert adapter_kwargs(POOLED) == {"prepared_statement_cache_size": 0}
    for database in (_database(), KEPT):
        assert "statement_cache_size" not in asyncpg_kwargs(database)
        assert adapter_kwargs(database) == {}


def test_the_psycopg_pool_runner_connects_as_psycopg_does():
    runner = PsycopgPoolRunner(
        dataclasses.replace(POOLED, read_only=True), workload_for(Settings().benchmark),
        Settings().pool,
    )  # fmt: skip
    assert runner._connect_kwargs["prepare_threshold"] is None
    assert "default_transaction_read_only=on" in runner._connect_kwargs["options"]


def test_the_setting_comes_from_the_file_the_environment_and_the_flag(tmp_path):
    path = tmp_path / "dbbench.toml"
    path.write_text('[database]\ndialect = "postgresql"\ntransaction_pooling = true\n')
    assert load_settings(path, env={}).database.transaction_pooling
    for word, expected in (("true", True), ("1", True), ("Off", False), ("no", False)):
        env = {"DBBENCH_TRANSACTION_POOLING": word}
        assert load_settings(None, env=env).database.transaction_pooling is expected
    with pytest.raises(ConfigError, match="DBBENCH_TRANSACTION_POOLING = 'maybe': must be true"):
        load_settings(None, env={"DBBENCH_TRANSACTION_POOLING": "maybe"})
    off = load_settings(path, env={}, flags={"database": {"transaction_pooling": False}})
    assert not off.database.transaction_pooling
    assert not load_settings(None, env={}).database.transaction_pooling


def test_the_note_names_what_was_set_for_each_library_the_runners_use():
    note = transaction_pooling_note(POOLED, ["raw/psycopg", "raw/psycopg2", "async-pool"],
                                    ["psycopg", "psycopg2"])  # fmt: skip
    assert note is not None
    assert "psycopg prepare_threshold=None" in note
    assert "asyncpg statement_cache_size=0 and SQLAlchemy's prepared_statement_cache_size=0" in note
    assert "psycopg2 needs nothing" in note
    assert transaction_pooling_note(_database(), ["raw"]) is None


def test_driver_defaults_say_they_were_kept_and_what_that_means():
    note = transaction_pooling_note(KEPT, ["pool"], ["psycopg"])
    assert note is not None
    assert note.startswith("--driver-defaults: the drivers' defaults were kept")
    assert "prepare_threshold=5" in note and "errors here are what an application" in note
    nothing = transaction_pooling_note(dataclasses.replace(KEPT, driver="psycopg2"), ["pool"])
    assert nothing is not None and "lose nothing of their own" in nothing
    unset = transaction_pooling_note(_database(driver_defaults=True), ["raw"])
    assert unset is not None and "changes nothing here" in unset


def test_a_run_carries_the_note_and_records_both_in_its_settings():
    settings = Settings(database=POOLED).with_driver_defaults()
    plan = plan_run(settings, ["pool"])
    assert any(note.startswith("--driver-defaults") for note in plan.notes)
    public = plan.settings.database.public_dict()
    assert public["transaction_pooling"] is True and public["driver_defaults"] is True
    summary = DatabaseSummary.from_document(public)
    assert summary.transaction_pooling is True and summary.driver_defaults is True
    assert DatabaseSummary.from_document({"host": "h"}).transaction_pooling is None  # older files


def test_the_session_probe_refuses_mysql_in_one_line():
    with pytest.raises(ConfigError, match="the session-state probe speaks PostgreSQL"):
        probe_session_state(DatabaseSettings())
