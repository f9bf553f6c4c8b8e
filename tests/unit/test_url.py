"""Choosing the database: ``[database] dialect`` and the defaults it chooses, the driver of
each dialect, and the dialect in result files.  The refusals go through the real CLI with
fake runners (``tests.unit.test_file_paths``): no database, and none of the PostgreSQL
drivers' classes needed (they are another module's)."""

from __future__ import annotations

import json

import pytest

from dbbench.config.schema import DEFAULT_DRIVERS, DIALECT_DRIVERS, DRIVER_NAMES
from dbbench.config.settings import load_settings
from dbbench.errors import ConfigError, ExitStatus
from dbbench.results.model import DatabaseSummary
from tests.unit.test_file_paths import Fake, _error_line


@pytest.fixture
def fake(monkeypatch, tmp_path) -> Fake:
    monkeypatch.chdir(tmp_path)
    for variable in ("HOME", "DBBENCH_HOST", "DBBENCH_PORT", "DBBENCH_PASSWORD", "MYSQL_PWD"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.my.cnf of the machine's
    return Fake()


def _database(flags=None, env=None, path=None):
    return load_settings(path, env=env or {}, flags={"database": flags or {}}).database


def test_the_driver_table_names_each_driver_once_with_its_default_first():
    assert set(DRIVER_NAMES) == {n for names in DIALECT_DRIVERS.values() for n in names}
    assert len(DRIVER_NAMES) == 5
    for dialect, names in DIALECT_DRIVERS.items():
        assert names[0] == DEFAULT_DRIVERS[dialect]


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ({}, ("mysql", 3306, "pymysql")),
        ({"dialect": "mysql"}, ("mysql", 3306, "pymysql")),
        ({"dialect": "postgresql"}, ("postgresql", 5432, "psycopg")),
        ({"dialect": "postgresql", "port": "6432"}, ("postgresql", 6432, "psycopg")),
        ({"dialect": "postgresql", "driver": "psycopg2"}, ("postgresql", 5432, "psycopg2")),
        ({"driver": "mysqlclient"}, ("mysql", 3306, "mysqlclient")),
    ],
)
def test_the_dialect_chooses_the_port_and_driver_not_given(flags, expected):
    database = _database(flags)
    assert (database.dialect, database.port, database.driver) == expected


def test_a_files_dialect_chooses_too(tmp_path):
    path = tmp_path / "pg.toml"
    path.write_text('[database]\ndialect = "postgresql"\n')
    database = _database(path=path)
    assert (database.port, database.driver) == (5432, "psycopg")
    assert database.source_of("dialect") == f"from {path}: [database] dialect"


#: (arguments, the error line): every one exit 2 before anything connects
REFUSED = [
    (
        ["--dialect", "postgresql", "--driver", "pymysql"],
        "dbbench: error: --driver = 'pymysql': a MySQL driver, and [database] dialect is "
        "postgresql (from --dialect); choose psycopg or psycopg2",
    ),
    (
        ["--driver", "psycopg"],
        "dbbench: error: --driver = 'psycopg': a PostgreSQL driver, and [database] dialect is "
        "mysql (the default; set it with [database] dialect, --dialect); choose pymysql, "
        "mysqlclient or mysql-connector",
    ),
    (
        ["--dialect", "postgresql", "--driver", "psycopg,pymysql"],
        "dbbench: error: --driver = 'psycopg,pymysql': pymysql is a MySQL driver, and "
        "[database] dialect is postgresql (from --dialect); choose psycopg or psycopg2",
    ),
    (
        ["--driver", "pymysql,psycopg2"],
        "dbbench: error: --driver = 'pymysql,psycopg2': psycopg2 is a PostgreSQL driver, and "
        "[database] dialect is mysql (the default; set it with [database] dialect, --dialect); "
        "choose pymysql, mysqlclient or mysql-connector",
    ),
    (
        ["--dialect", "oracle"],
        "dbbench: error: --dialect = 'oracle': must be one of mysql, postgresql",
    ),
]


@pytest.mark.parametrize(("arguments", "line"), REFUSED, ids=lambda v: " ".join(v)[:40])
@pytest.mark.parametrize("command", ["run", "compare"])
def test_a_driver_of_the_other_dialect_is_one_line(fake, command, arguments, line):
    result = fake(command, "-n", "5", "-q", *arguments)
    assert result.exit_code == ExitStatus.USAGE, result.output
    assert _error_line(result) == line
    assert not fake.made


def test_a_files_driver_of_the_other_dialect_names_the_file(fake, tmp_path):
    path = tmp_path / "pg.toml"
    path.write_text('[database]\ndialect = "postgresql"\ndriver = "mysql-connector"\n')
    result = fake("run", "-q", "--config", str(path))
    assert result.exit_code == ExitStatus.USAGE
    assert _error_line(result) == (
        f"dbbench: error: {path}: [database] driver = \"mysql-connector\": a MySQL driver, and "
        f"[database] dialect is postgresql (from {path}: [database] dialect); choose psycopg "
        "or psycopg2"
    )


def test_the_library_refuses_alike():
    with pytest.raises(ConfigError, match=r"^\[database\] driver = 'psycopg2': a PostgreSQL"):
        load_settings(env={}, overrides={"database": {"driver": "psycopg2"}})


def test_a_result_file_records_the_dialect(fake, tmp_path):
    result = fake("run", "-n", "5", "--runner", "pool", "-q", "--output", "r.json")
    assert result.exit_code == 0, result.output
    document = json.loads((tmp_path / "r.json").read_text())
    assert document["settings"]["database"]["dialect"] == "mysql"
    postgresql = _database({"dialect": "postgresql"}).public_dict()
    assert postgresql["dialect"] == "postgresql" and postgresql["port"] == 5432
    assert DatabaseSummary.from_document(postgresql).dialect == "postgresql"
    # a file of before dialects has none: read as not recorded
    assert DatabaseSummary.from_document({"host": "h"}).dialect is None
