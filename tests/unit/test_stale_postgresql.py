"""``dbbench stale`` on PostgreSQL without a server: the session's idle timeouts after the
user's init_command, the plug-in chosen by the dialect, and a server before 14 refused in
one line before any case starts."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import pytest
from rich.console import Console

from dbbench import databases
from dbbench.config.settings import DatabaseSettings, Settings
from dbbench.databases.mysql_idle_timeout import WaitTimeout
from dbbench.databases.postgresql_idle_timeout import (
    IdleSessionTimeout,
    major_version,
    session_init_command,
)
from dbbench.errors import ExitStatus, ServerError
from dbbench.output.formats import get_format
from dbbench.output.report.sections import _stale_parts
from dbbench.results.model import load_result
from dbbench.scenarios.backend import Backend
from dbbench.scenarios.stale import StaleRequest, idle_timeout_of, run_stale
from dbbench.server.preflight import ServerInfo
from dbbench.workload import Workload

POSTGRESQL = DatabaseSettings(dialect="postgresql", driver="psycopg", port=1)
OURS_2S = "SET idle_session_timeout = 2000; SET idle_in_transaction_session_timeout = 2000"


def test_each_dialect_has_its_idle_timeout():
    assert isinstance(idle_timeout_of(DatabaseSettings()), WaitTimeout)
    assert isinstance(idle_timeout_of(POSTGRESQL), IdleSessionTimeout)
    assert databases.get_database("mysql").idle_timeout().setting == "wait_timeout"
    assert databases.get_database("postgresql").idle_timeout().setting == "idle_session_timeout"


def test_the_timeouts_in_milliseconds_without_a_user_command():
    assert session_init_command(None, 2) == OURS_2S
    assert session_init_command(" \n", 2) == OURS_2S
    assert session_init_command(None, 1).startswith("SET idle_session_timeout = 1000;")


@pytest.mark.parametrize(
    "init_command",
    [
        "SET TIME ZONE 'UTC'",
        "SET TIME ZONE 'UTC';",
        "SET search_path = x -- a comment ends the text",
        "SET a.b = 1; SET statement_timeout = 0",
    ],
)
def test_the_users_init_command_comes_first_and_ours_on_a_line_of_its_own(init_command):
    # any SQL of the user's is kept: both drivers send it as one simple query; on a new
    # line, a -- comment at its end cannot swallow ours, and ours last wins
    assert session_init_command(init_command, 2) == f"{init_command.strip()}\n;{OURS_2S}"


def test_the_session_is_the_users_with_our_init_command():
    database = DatabaseSettings(dialect="postgresql", driver="psycopg", init_command="SET x.y=1")
    session = IdleSessionTimeout().session(database, 3)
    assert session.init_command == (
        "SET x.y=1\n;SET idle_session_timeout = 3000; "
        "SET idle_in_transaction_session_timeout = 3000"
    )
    assert (session.host, session.driver, session.dialect) == (
        database.host,
        "psycopg",
        "postgresql",
    )


@pytest.mark.parametrize(
    ("version", "major"),
    [
        ("PostgreSQL 15.20 (Debian 15.20-0+deb12u1)", 15),
        ("PostgreSQL 13.4", 13),
        ("PostgreSQL 9.6.24", 9),
        ("PostgreSQL 17beta1", 17),
        ("10.11.19-MariaDB", None),
    ],
)
def test_the_major_version(version, major):
    assert major_version(version) == major


def never_sleep(seconds: float) -> None:
    raise AssertionError("a case started")


def checked_as(version: str, seen: list[str | None]):
    def check(database, workload):
        seen.append((database.init_command, workload))
        return ServerInfo(version)

    return check


def test_a_server_before_14_is_one_line_before_any_case():
    seen: list[tuple[str | None, Workload | None]] = []
    backend = Backend(check_server=checked_as("PostgreSQL 13.4", seen))
    with pytest.raises(ServerError) as caught:
        run_stale(Settings(database=POSTGRESQL), StaleRequest(), backend=backend)
    message = str(caught.value)
    assert "\n" not in message and caught.value.exit_status == ExitStatus.ERROR
    assert message == (
        "root@127.0.0.1:1 runs PostgreSQL 13.4: dbbench stale sets the session's "
        "idle_session_timeout, which PostgreSQL has from version 14 on; measure a "
        "PostgreSQL 14 or later"
    )
    # read as the user gave it, so an old server's refusal of the SET is not what is said,
    # and without the query, which may need the session's settings
    assert seen == [(None, None)]


def test_a_server_of_14_is_checked_again_in_the_session_the_cases_use():
    seen: list[tuple[str | None, Workload | None]] = []
    workload = Workload("SELECT 1")
    server = IdleSessionTimeout().check_server(
        checked_as("PostgreSQL 14.0", seen), POSTGRESQL, 2, workload
    )
    assert server.version == "PostgreSQL 14.0"
    assert seen == [(None, None), (OURS_2S, workload)]


def test_mysql_is_checked_once_in_its_session():
    seen: list[tuple[str | None, Workload | None]] = []
    workload = Workload("SELECT 1")
    check = checked_as("10.11.19-MariaDB", seen)
    WaitTimeout().check_server(check, DatabaseSettings(), 2, workload)
    assert seen == [("SET SESSION wait_timeout=2", workload)]


STALE_FILE = Path(__file__).resolve().parents[1] / "data" / "results" / "stale.json"


def shown(write, result) -> str:
    out = io.StringIO()
    write(result, Console(file=out, width=200))
    return out.getvalue()


def report_html(result) -> str:
    return "".join(_stale_parts(result))


@pytest.mark.parametrize(
    ("write", "title"),
    [
        (get_format("table").stale, "stale connections: server idle_session_timeout 2s, pool"),
        (
            get_format("markdown").stale,
            "### dbbench stale: connections left idle past the server's idle_session_timeout\n"
            "\nServer idle_session_timeout 2 s, pool idle 3.5 s",
        ),
        (lambda result, console: console.print(report_html(result), markup=False),
         "<p>Server idle_session_timeout 2 s; each pool sat idle 3.5 s"),
    ],
)
def test_every_format_names_postgresqls_setting(write, title):
    mysql = load_result(STALE_FILE)  # no dialect: written before dbbench knew PostgreSQL
    database = dataclasses.replace(mysql.settings.database, dialect="postgresql")
    postgresql = dataclasses.replace(
        mysql, settings=dataclasses.replace(mysql.settings, database=database)
    )
    text = shown(write, postgresql)
    assert title in text
    assert "wait_timeout" not in text
    assert title.replace("idle_session_timeout", "wait_timeout") in shown(write, mysql)
