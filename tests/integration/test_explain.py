"""explain against a real server: phases that add up, round trips counted on the wire."""

from __future__ import annotations

import dataclasses
import json

import pymysql
import pytest

from dbbench.config.settings import PoolSettings, Settings
from dbbench.scenarios.explain import count_round_trips, explain
from dbbench.scenarios.phases.roundtrips import CountingRelay
from tests.integration.conftest import database_for, run_dbbench

NO_TLS = {"ssl_disabled": True}


def _offers_tls(server) -> bool:
    with server.connect(ssl_disabled=True) as connection:
        return bool(connection.server_capabilities & pymysql.constants.CLIENT.SSL)


def _assert_adds_up(runner) -> None:
    """The tolerance the issue sets, 10% of the whole, held to what the rounds can tell.

    An operation's phases added, against the whole operation run beside it uninstrumented
    as dbbench run times it: the median gap's 95% interval reaches within 10% of the whole
    (with both cores busy the median alone went past it, -10.9% for raw with TLS over 100
    rounds); and the median stays within 25%, which a phase charged nowhere or twice breaks
    (the SSL context, 90% of raw's connect; freeing it, 3%, moved the median by as much).
    """
    whole_ns = runner.whole_median_ns
    figures = (runner.runner, runner.gap_low_ns, runner.gap_median_ns, runner.gap_high_ns, whole_ns)
    assert runner.gap_low_ns <= runner.gap_median_ns <= runner.gap_high_ns, figures
    assert runner.gap_low_ns <= 0.10 * whole_ns and runner.gap_high_ns >= -0.10 * whole_ns, figures
    assert abs(runner.gap_median_ns) <= 0.25 * whole_ns, figures


# fewer operations where each connect builds an SSL context (16+ ms): its noise is relatively less
@pytest.mark.parametrize(
    ("ssl", "iterations"), [({}, 100), (NO_TLS, 300)], ids=["driver-default", "ssl_disabled"]
)
def test_phases_add_up_to_the_whole_operation(server, ssl, iterations):
    settings = Settings(database=dataclasses.replace(database_for(server), ssl=ssl))
    explanation = explain(settings, iterations=iterations)
    assert [r.runner for r in explanation.runners] == ["raw", "pool", "persistent"]
    for runner in explanation.runners:
        # pool and persistent run four sets a round: cheap, and noisier; raw two when
        # its connect is slow (an SSL context in each), else four too
        sets = runner.iterations / iterations
        assert sets == 4 or (runner.runner == "raw" and sets == 2), (runner.runner, sets)
        _assert_adds_up(runner)
        assert all(p.median_ns <= p.p95_ns for p in runner.phases)
    raw = explanation.runner("raw")
    names = [p.name for p in raw.phases]
    assert names[-2:] == ["query", "close"]
    assert {"TCP connect", "server greeting", "authentication", "SET NAMES"} <= set(names)
    # PyMySQL builds an SSL context in every connect unless TLS is disabled
    assert ("SSL context" in names) == (not ssl)
    assert ("TLS handshake" in names) == (not ssl and _offers_tls(server))
    assert [p.name for p in explanation.runner("pool").phases] == [
        "checkout",
        "query",
        "reset-on-return",
        "checkin",
    ]


def test_round_trips_per_phase_as_the_protocol_has_them(server):
    settings = Settings(database=dataclasses.replace(database_for(server), ssl=NO_TLS))
    counts = count_round_trips(settings, ["raw", "pool", "persistent"])
    raw = {phase: n for phase, n in counts["raw"].items() if n}
    # TCP's SYN/SYN-ACK, the greeting, the handshake response's OK, PyMySQL's
    # SET NAMES and SET AUTOCOMMIT = 0, the query; COM_QUIT awaits no reply
    assert raw == {
        "TCP connect": 1,
        "server greeting": 1,
        "authentication": 1,
        "SET NAMES": 1,
        "SET AUTOCOMMIT": 1,
        "query": 1,
    }
    assert {p: n for p, n in counts["pool"].items() if n} == {"query": 1, "reset-on-return": 1}
    assert counts["persistent"] == {"query": 1}


@pytest.mark.parametrize(
    ("pool", "expected"),
    [
        (PoolSettings(pool_pre_ping=True), {"pre-ping": 1, "query": 1, "reset-on-return": 1}),
        (PoolSettings(pool_reset_on_return="none"), {"query": 1}),
    ],
    ids=["pre-ping", "no-reset"],
)
def test_pool_settings_change_the_round_trips(server, pool, expected):
    settings = Settings(database=database_for(server), pool=pool)
    counts = count_round_trips(settings, ["pool"])["pool"]
    assert {p: n for p, n in counts.items() if n} == expected


def test_relay_counts_turns_greetings_and_connections(server):
    with CountingRelay((server.host, server.port)) as relay:
        host, port = relay.address
        connection = pymysql.connect(
            host=host,
            port=port,
            user=server.user,
            password=server.password,
            database=server.database,
            ssl_disabled=True,
            autocommit=None,  # no SET AUTOCOMMIT: authentication, SET NAMES
        )
        assert (relay.connections, relay.greetings, relay.round_trips) == (1, 1, 2)
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchall()
        assert relay.round_trips == 3
        connection.ping()
        assert relay.round_trips == 4
        connection.close()
        assert (relay.connections, relay.greetings, relay.round_trips) == (1, 1, 4)


def test_explain_command_table_and_json(server):
    table = run_dbbench("explain", "-n", "20", "--rtt", "1ms", "-q", env=server.env())
    assert table.returncode == 0, table.stderr
    assert "SSL context" in table.stdout and "reset-on-return" in table.stdout
    assert "at RTT 1 ms" in table.stdout and "finding: SSL context creation" in table.stdout
    result = run_dbbench(
        "explain", "-n", "20", "--rtt", "2ms", "--runner", "raw,pool", "--format", "json",
        env=server.env(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["command"] == "explain" and document["rtt_s"] == 0.002
    for runner in document["runners"]:
        assert runner["projected_median_ns"] == (
            runner["whole_median_ns"] + runner["round_trips"] * 2_000_000
        )
        assert runner["round_trips"] == sum(p["round_trips"] for p in runner["phases"])
        assert runner["gap_low_ns"] <= runner["gap_median_ns"] <= runner["gap_high_ns"]
    assert [r["runner"] for r in document["runners"]] == ["raw", "pool"]
    if server.password:
        assert server.password not in table.stdout + result.stdout + result.stderr


def test_run_rtt_adds_the_projection(server):
    result = run_dbbench(
        "run", "-n", "20", "--runner", "raw,pool,nullpool", "--rtt", "1ms", "--json", "-q",
        env=server.env(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    medians = {r["runner"]: r["p50_us"] for r in document["results"]}
    projection = document["projection"]
    assert projection["rtt_s"] == 0.001
    rows = {row["runner"]: row for row in projection["runners"]}
    assert set(rows) == {"raw", "pool"}  # nullpool's round trips are not counted
    assert rows["raw"]["round_trips"] > rows["pool"]["round_trips"] >= 1
    for name, row in rows.items():
        assert row["median_ns"] / 1000 == pytest.approx(medians[name], abs=0.001)
        assert row["projected_median_ns"] == row["median_ns"] + row["round_trips"] * 1_000_000
    # counted before the run: the server's count of connections still matches dbbench's
    assert document["server"]["cross_check"]["matches"] is True


@pytest.mark.parametrize("driver", ["mysqlclient", "mysql-connector"])
def test_other_drivers_connect_as_one_phase_that_adds_up(server, driver):
    """Their connect is one call (C library / one method): one phase, round trips counted."""
    database = dataclasses.replace(database_for(server), driver=driver, ssl_mode="disabled")
    # 300 rounds, as for PyMySQL without TLS: with 100, on a machine whose load average
    # was 28, mysql-connector's pool gap was 18% and 22% of the whole in two runs; with
    # 300, 0.2% and 2.2% (and raw's, persistent's within 6%)
    explanation = explain(Settings(database=database), iterations=300)
    assert explanation.driver == driver
    raw = explanation.runner("raw")
    assert [p.name for p in raw.phases] == ["connect", "query", "close"]
    for runner in explanation.runners:
        _assert_adds_up(runner)
    trips = {p.name: p.round_trips for p in raw.phases}
    # TCP's handshake, the greeting and authentication at least, inside the one connect
    assert trips["connect"] >= 3 and trips["query"] >= 1 and trips["close"] == 0
    # the plain operation it is compared with ran on the same driver's runner
    assert explanation.runner("pool").round_trips >= 2


def test_explain_takes_one_driver(server):
    result = run_dbbench("explain", "--driver", "pymysql,mysqlclient", env=server.env())
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "dbbench: error: explain splits one driver's operations: give --driver one name"
    )


def test_run_rtt_counts_each_drivers_round_trips(server):
    """With several drivers each labelled runner is projected with its own driver's count."""
    result = run_dbbench(
        "run", "-n", "20", "--runner", "raw,persistent", "--driver", "pymysql,mysql-connector",
        "--ssl-mode", "disabled", "--rtt", "1ms", "--json", "-q",
        env=server.env(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = {row["runner"]: row for row in json.loads(result.stdout)["projection"]["runners"]}
    assert set(rows) == {
        "raw/pymysql",
        "raw/mysql-connector",
        "persistent/pymysql",
        "persistent/mysql-connector",
    }
    # the same counts as one driver at a time gives
    for driver in ("pymysql", "mysql-connector"):
        database = dataclasses.replace(database_for(server), driver=driver, ssl_mode="disabled")
        counts = count_round_trips(Settings(database=database), ["raw", "persistent"])
        for name, phases in counts.items():
            assert rows[f"{name}/{driver}"]["round_trips"] == sum(phases.values())


@pytest.mark.parametrize(
    "args, expected",
    [
        (("--database", "no_such_database_here"), "Unknown database"),
        (("--query", "SELECT 1 FROM"), "(1064)"),
    ],
)
def test_explain_failing_before_it_measures_prints_only_the_error(server, args, expected):
    """The 'explain: N rounds' notice comes once the server is checked, not before an error."""
    result = run_dbbench("explain", "-n", "5", *args, env=server.env())
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("dbbench: error: "), lines
    assert expected in lines[0]
