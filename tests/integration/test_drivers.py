"""Every driver through every runner, against the session's real server.

The same failure must read the same whichever driver met it: a refused
port, a wrong user, an unknown database, a killed connection.
"""

from __future__ import annotations

import dataclasses
import json
import re
import socket

import pytest

from dbbench.config.schema import DIALECT_DRIVERS
from dbbench.config.settings import Settings
from dbbench.drivers import error_code, error_kind, failure_reason, get_driver
from dbbench.drivers.diagnosis import connect_error
from dbbench.runners import create_runner
from tests.integration.conftest import database_for, run_dbbench

#: the drivers of the MySQL server these tests run against (PostgreSQL's: test_pg_drivers.py)
DRIVER_NAMES = DIALECT_DRIVERS["mysql"]


def _settings(server, driver_name: str, **database) -> Settings:
    base = dataclasses.replace(
        database_for(server), driver=driver_name, ssl_mode="disabled", **database
    )
    return Settings(database=base)


@pytest.mark.parametrize("driver_name", DRIVER_NAMES)
@pytest.mark.parametrize("runner_name", ["raw", "pool", "persistent", "nullpool"])
def test_every_runner_runs_with_every_driver(server, driver_name, runner_name):
    runner = create_runner(f"{runner_name}/{driver_name}", _settings(server, "pymysql"))
    assert runner.name == f"{runner_name}/{driver_name}"
    assert runner.driver.name == driver_name
    runner.open()
    try:
        for _ in range(3):
            runner.run_once(0)
        if runner_name in ("pool", "nullpool"):
            # the engine's dialect is the driver's, not PyMySQL's
            dialect_driver = {"pymysql": "pymysql", "mysqlclient": "mysqldb"}
            expected = dialect_driver.get(driver_name, "mysqlconnector")
            assert runner.engine.dialect.driver == expected
            assert runner.counters().connects == (1 if runner_name == "pool" else 3)
        elif runner_name == "raw":
            assert runner.connections_opened() == 3
        else:
            assert runner.connections_opened() == 1
    finally:
        runner.close()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens once it is closed


def _failure(server, driver_name: str, **database) -> BaseException:
    settings = _settings(server, driver_name, **database)
    with pytest.raises(get_driver(driver_name).errors) as caught:
        get_driver(driver_name).connector(settings.database)()
    return caught.value


def test_a_refused_port_is_classified_alike(server):
    port = _closed_port()
    seen = set()
    for name in DRIVER_NAMES:
        exc = _failure(server, name, port=port)
        database = _settings(server, name, port=port).database
        seen.add((error_code(exc), failure_reason(exc), error_kind(exc)))
        assert "connection refused" in str(connect_error(exc, database))
    assert seen == {(2003, "refused", "OperationalError(2003)")}


@pytest.mark.parametrize(
    ("database", "code"),
    [({"user": "nobody"}, 1045), ({"database": "no_such_schema"}, 1049)],
)
def test_server_refusals_are_classified_alike(server, database, code):
    kinds = {error_kind(_failure(server, name, **database)) for name in DRIVER_NAMES}
    assert kinds == {f"OperationalError({code})"}


def test_an_unknown_host_is_classified_alike(server):
    for name in DRIVER_NAMES:
        exc = _failure(server, name, host="no-such-host.invalid")
        assert (error_code(exc), failure_reason(exc)) == (2003, "unknown host"), name


@pytest.mark.parametrize("driver_name", DRIVER_NAMES)
def test_persistent_reconnects_after_its_connection_is_killed(server, driver_name):
    runner = create_runner(f"persistent/{driver_name}", _settings(server, driver_name))
    try:
        runner.run_once(0)
        cursor = runner.connection.cursor()
        cursor.execute("SELECT CONNECTION_ID()")
        (connection_id,) = cursor.fetchone()
        cursor.close()
        with server.connect() as admin, admin.cursor() as admin_cursor:
            admin_cursor.execute(f"KILL {connection_id}")
        with pytest.raises(get_driver(driver_name).errors) as caught:
            runner.run_once(0)
        assert error_kind(caught.value) in ("OperationalError(2013)", "OperationalError(2006)")
        runner.run_once(0)  # a new connection
        # the first and the reconnect, as the server counts them
        assert (runner.connections_opened(), runner.connects_failed()) == (2, 0)
    finally:
        runner.close()


def test_cli_compares_three_drivers_in_one_table(server, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # --save writes under ./.dbbench
    args = ["run", "-n", "20", "--ssl-mode", "disabled", "--quiet"]
    drivers = ["--driver", ",".join(DRIVER_NAMES)]
    result = run_dbbench(*args, *drivers, "--save", "three", env=server.env(), timeout_s=300)
    assert result.returncode == 0, result.stderr
    for runner in ("raw", "pool", "persistent"):
        for name in DRIVER_NAMES:
            assert f"{runner}/{name}" in result.stdout
    # each runner against raw of its own driver: faster, or not beyond the noise of 20 operations
    assert re.search(
        r"pool/mysqlclient (is [\d.]+× (faster|slower) than|and) raw/mysqlclient", result.stdout
    ), result.stdout
    assert "mysqlclient 2." in result.stdout  # the driver line under the title
    # the saved result diffs against itself, and markdown/csv carry the labels
    assert run_dbbench("diff", "three", "latest", env=server.env()).returncode == 0
    listed = run_dbbench("runs", "--format", "json", env=server.env())
    assert "three" in listed.stdout
    for fmt in ("csv", "markdown", "json"):
        shown = run_dbbench(*args, "--runner", "raw", *drivers, "--format", fmt, env=server.env())
        assert shown.returncode == 0, shown.stderr
        assert "raw/mysql-connector" in shown.stdout
    doc = json.loads(shown.stdout)
    assert set(doc["environment"]["drivers"]) == set(DRIVER_NAMES)
    report = run_dbbench("report", "three", "-o", str(tmp_path / "r.html"), env=server.env())
    assert report.returncode == 0, report.stderr


def test_cli_unknown_driver_is_one_line(server):
    result = run_dbbench("run", "--driver", "pymysql,psycopg", env=server.env())
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "dbbench: error: --driver = 'pymysql,psycopg': psycopg is a PostgreSQL driver, and "
        "[database] dialect is mysql (the default; set it with [database] dialect, "
        "DBBENCH_DIALECT, --dialect); choose pymysql, mysqlclient or mysql-connector"
    )
