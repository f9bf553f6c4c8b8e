"""Which runs make their sessions read-only in the connect (no server: the connect arguments)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from dbbench.config.settings import DatabaseSettings, PoolSettings, Settings, Variant
from dbbench.databases import read_only_sessions
from dbbench.drivers import get_driver
from dbbench.drivers.asyncpg_driver import asyncpg_kwargs

POSTGRESQL = DatabaseSettings(dialect="postgresql", port=5432, driver="psycopg")


def _with_variant(database: DatabaseSettings) -> Settings:
    variant = Variant("new", Path("new.toml"), database, PoolSettings(), frozenset())
    return Settings(database=database, variants=(variant,))


@pytest.mark.parametrize(
    ("database", "allow_writes", "read_only"),
    [
        (POSTGRESQL, False, True),
        (POSTGRESQL, True, False),
        (DatabaseSettings(), False, False),  # MySQL's handshake cannot say it
        (DatabaseSettings(), True, False),
    ],
    ids=["postgresql", "postgresql --allow-writes", "mysql", "mysql --allow-writes"],
)
def test_only_postgresql_without_allow_writes_reads_only(database, allow_writes, read_only):
    settings = read_only_sessions(_with_variant(database), allow_writes)
    assert settings.database.read_only is read_only
    assert settings.variants[0].database.read_only is read_only


@pytest.mark.parametrize("driver", ["psycopg", "psycopg2"])
def test_the_libpq_drivers_put_it_in_the_startup_packet(driver):
    database = dataclasses.replace(POSTGRESQL, driver=driver, read_only=True)
    connector = get_driver(driver)
    kwargs = connector.read_only_kwargs(connector.connect_kwargs(database))
    assert "default_transaction_read_only=on" in kwargs["options"]


def test_asyncpg_puts_it_in_the_startup_packet():
    assert "server_settings" not in asyncpg_kwargs(POSTGRESQL)
    kwargs = asyncpg_kwargs(dataclasses.replace(POSTGRESQL, read_only=True))
    assert kwargs["server_settings"] == {"default_transaction_read_only": "on"}
