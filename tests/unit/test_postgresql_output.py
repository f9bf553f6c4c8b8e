"""A PostgreSQL run's "what the server saw" in every format that prints it: the table's and
markdown's line, the report's tables, the JSON file (valid against the schema, loaded back
as written), repetitions merged.  A MySQL file's words stay MySQL's."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import jsonschema

from dbbench.output import table
from dbbench.output.report import sections
from dbbench.results.model import ServerSummary, from_document, load_result
from dbbench.scenarios.repetitions import merge_servers

DATA = Path(__file__).resolve().parents[1] / "data"
SCHEMA = json.loads(
    (Path(table.__file__).parents[1] / "results" / "dbbench-result.schema.json").read_text()
)

#: what PostgresActivity.to_dict() and the cross-check give for a run of 3 runners
POSTGRES_SERVER = {
    "deltas": {
        "sessions": 114,
        "sessions_abandoned": 0,
        "sessions_fatal": 0,
        "sessions_killed": 0,
        "xact_commit": 2230,
        "xact_rollback": 0,
    },
    "backends_before": 2,
    "backends_peak": 5,
    "samples": 106,
    "max_connections": 100,
    "superuser_reserved_connections": 3,
    "monitor_connections": 1,
    "numbackends_before": 1,
    "numbackends_after": 1,
    "stats_settled": True,
    "complete": True,
    "error": None,
    "cross_check": {
        "server_connections": 114,
        "dbbench_connections": 114,
        "by_runner": {"raw": 111, "pool": 1, "persistent": 1},
        "matches": True,
    },
}


def postgres_run(**server: object):
    run = load_result(DATA / "results" / "run.json")
    summary = ServerSummary.from_document({**POSTGRES_SERVER, **server})
    return dataclasses.replace(run, server=summary)


def test_the_server_line_speaks_postgresql() -> None:
    assert table.server_line(postgres_run()) == (
        "server saw: sessions +114, sessions_abandoned +0, sessions_fatal +0, "
        "sessions_killed +0, xact_commit +2230, xact_rollback +0, backends peak 5 of "
        "max_connections 100 (3 reserved for superusers); dbbench opened 114 connections "
        "(its monitor's included): matches"
    )


def test_the_line_says_when_the_statistics_may_lag() -> None:
    line = table.server_line(postgres_run(stats_settled=False))
    assert line is not None
    assert line.endswith(
        "; its statistics may lag (backends begun during the run were still there)"
    )


def test_a_mysql_file_keeps_its_words() -> None:
    run = load_result(DATA / "results" / "run.json")
    line = table.server_line(run)
    assert line is not None and "Threads_connected peak" in line and "reserved" not in line
    assert run.server is not None and run.server.gauge.counter == "Connections"


def test_the_report_draws_pg_stat_database() -> None:
    html = sections._server_tables(postgres_run().server)
    for text in (
        "pg_stat_database and pg_stat_activity during the run",
        "backends before",
        "backends peak",
        "superuser_reserved_connections",
        "numbackends after",
        "statistics settled",
        "server&#x27;s sessions",
    ):
        assert text in html, text
    mysql = sections._server_tables(load_result(DATA / "results" / "run.json").server)
    assert "SHOW GLOBAL STATUS during the run" in mysql and "numbackends" not in mysql


def test_the_file_is_valid_and_reads_back_as_written() -> None:
    document = postgres_run().to_document()
    assert document["server"] == POSTGRES_SERVER
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    again = from_document(json.loads(json.dumps(document)))
    assert again.to_document() == document
    assert again.server.gauge == (
        "backends", 2, 5, "sessions", "pg_stat_database and pg_stat_activity"
    )


def test_repetitions_add_the_counters_and_keep_the_highest_peak() -> None:
    first = ServerSummary.from_document(POSTGRES_SERVER)
    second = ServerSummary.from_document(
        {**POSTGRES_SERVER, "backends_peak": 9, "numbackends_after": 4, "stats_settled": False}
    )
    merged = merge_servers([first, second])
    assert merged is not None
    assert merged.deltas is not None and merged.deltas["sessions"] == 228
    assert (merged.backends_before, merged.backends_peak) == (2, 9)
    assert (merged.numbackends_before, merged.numbackends_after) == (1, 4)
    assert merged.stats_settled is False
    assert merged.superuser_reserved_connections == 3
    mysql = load_result(DATA / "results" / "run.json").server
    assert merge_servers([mysql, mysql]).stats_settled is None  # type: ignore[union-attr]
