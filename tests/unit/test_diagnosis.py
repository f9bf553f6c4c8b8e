"""The hints of query failures: each names the setting that fixes it (the command line shows
its flag: ``test_cli.py``)."""

from __future__ import annotations

import pymysql

from dbbench.config.settings import DatabaseSettings
from dbbench.drivers.diagnosis import query_error


def test_no_database_selected_names_database():
    exc = pymysql.err.OperationalError(1046, "No database selected")
    message = str(query_error(exc, DatabaseSettings(), "SELECT * FROM orders LIMIT 20"))
    assert message == (
        "the query 'SELECT * FROM orders LIMIT 20' failed on root@127.0.0.1:3306: (1046) No "
        "database selected; give [database] database (or DBBENCH_DATABASE), or "
        "name the table as database.table in [benchmark] query"
    )


def test_an_unknown_table_names_the_query_and_the_database_in_use():
    exc = pymysql.err.ProgrammingError(1146, "Table 'test.orders' doesn't exist")
    database = DatabaseSettings(database="test", sources={"database": "--database"})
    message = str(query_error(exc, database, "SELECT * FROM orders"))
    assert message.endswith(
        "(1146) Table 'test.orders' doesn't exist; check [benchmark] query, or "
        "[database] database ('test', from --database)"
    )
    without = str(query_error(exc, DatabaseSettings(), "SELECT * FROM orders"))
    assert without.endswith("; check [benchmark] query, or give [database] database")


def test_a_syntax_error_names_the_query():
    exc = pymysql.err.ProgrammingError(1064, "You have an error in your SQL syntax")
    message = str(query_error(exc, DatabaseSettings(), "SELECT * FORM dual"))
    assert message.endswith("; check [benchmark] query")
