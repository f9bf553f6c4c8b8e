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


def test_a_socket_directory_is_read_for_what_it_holds(tmp_path):
    import dataclasses

    from dbbench.config.settings import DatabaseSettings
    from dbbench.drivers.diagnosis import _socket_directory
    from dbbench.errors import Mentioning

    (tmp_path / ".s.PGSQL.5433").touch()
    (tmp_path / ".s.PGSQL.5433.lock").touch()
    pg = DatabaseSettings(dialect="postgresql", driver="psycopg", port=5432,
                          unix_socket=str(tmp_path))
    assert Mentioning(_socket_directory(pg)) == (
        f"no socket .s.PGSQL.5432 in the directory {str(tmp_path)!r} (its sockets are for "
        "ports: 5433); give the server's port ([database] port), which names the socket file"
    )
    mysql = dataclasses.replace(pg, dialect="mysql", driver="pymysql")
    assert "is a directory of PostgreSQL's sockets (ports 5433), and the dialect is mysql" in (
        _socket_directory(mysql)
    )
    (tmp_path / ".s.PGSQL.5433").unlink()
    assert "MySQL's socket is a file" in _socket_directory(mysql)
    assert _socket_directory(dataclasses.replace(mysql, unix_socket=str(tmp_path / "x"))) is None


def test_a_scripts_failed_statement_is_named_by_its_place_and_the_advice_names_it():
    exc = pymysql.err.ProgrammingError(1146, "Table 'test.orders' doesn't exist")
    message = str(query_error(exc, DatabaseSettings(), "tx.sql:4", script=True))
    assert message == (
        "the statement at tx.sql:4 failed on root@127.0.0.1:3306: (1146) Table 'test.orders' "
        "doesn't exist; check the statement at tx.sql:4, or give [database] database"
    )
    assert "[benchmark] query" not in message
