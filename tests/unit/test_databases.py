"""The database plug-ins (``dbbench.databases``): ``Backend``'s server seams dispatch on the
settings' dialect, MySQL's to the modules that held them before."""

from __future__ import annotations

import dataclasses

import pytest

from dbbench import databases
from dbbench.config.settings import DatabaseSettings
from dbbench.databases.mysql import MySQL
from dbbench.databases.scratch import ScratchTable, insert_statement
from dbbench.errors import ConfigError
from dbbench.scenarios.backend import LIVE
from dbbench.server.status import ServerStatusMonitor


def test_mysql_is_the_default_dialect() -> None:
    assert isinstance(databases.database_for(DatabaseSettings()), MySQL)


def test_an_unknown_dialect_is_one_line() -> None:
    with pytest.raises(ConfigError, match="unknown dialect 'oracle'; choose from mysql"):
        databases.get_database("oracle")


def test_live_backend_reaches_mysql_modules_through_the_plugin() -> None:
    database = DatabaseSettings(database="test")
    assert LIVE.check_server is databases.check_server
    assert isinstance(LIVE.monitor(database), ServerStatusMonitor)
    table = LIVE.scratch_table(database, "dbbench_scratch_0123abcd")
    assert isinstance(table, ScratchTable) and table.database == database
    assert databases.insert_statement(database, "dbbench_scratch_0123abcd") == insert_statement(
        "dbbench_scratch_0123abcd"
    )


def test_every_dialect_is_a_database() -> None:
    for dialect in databases.DIALECTS:
        plugin = databases.get_database(dialect)
        assert plugin.dialect == dialect
        assert isinstance(plugin, databases.Database)


def test_the_dialect_of_the_settings_chooses(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    class Recorder(MySQL):
        def read_max_connections(self, database: DatabaseSettings) -> int:
            calls.append(database)
            return 7

    monkeypatch.setattr(databases, "get_database", lambda dialect: Recorder())
    database = dataclasses.replace(DatabaseSettings(), host="db.example")
    assert LIVE.read_max_connections(database) == 7
    assert calls == [database]
