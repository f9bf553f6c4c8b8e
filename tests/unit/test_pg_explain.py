"""explain's PostgreSQL parts that need no server: libpq's states as phases, the pooled
operation's phases with psycopg's BEGIN, and the findings on TLS and BEGIN by hand."""

from __future__ import annotations

import dataclasses

import pytest
from psycopg import pq

from dbbench.config.settings import DatabaseSettings, Settings
from dbbench.results.model import PhaseResult, RunnerExplanation
from dbbench.scenarios.explain import findings
from dbbench.scenarios.phases import driver_module, pool_phases, statement_watch
from dbbench.scenarios.phases import psycopg_phases as pg
from dbbench.scenarios.phases.clock import PhaseClock

PG = Settings(database=DatabaseSettings(dialect="postgresql", driver="psycopg"))
S = pq.ConnStatus


@pytest.mark.parametrize(
    ("status", "phase"),
    [
        (S.STARTED, "TCP connect"),
        (S.MADE, "TCP connect"),
        (S.NEEDED, "TCP connect"),
        (S.SSL_STARTUP, "TLS"),
        (S.GSS_STARTUP, "GSSAPI request"),
        (S.AWAITING_RESPONSE, "startup"),
        (S.AUTH_OK, "startup"),
        (S.AUTHENTICATING, "startup"),
        (S.SETENV, "startup"),
        (S.CHECK_TARGET, "startup"),
        (S.CONSUME, "startup"),
    ],
)
def test_each_state_of_libpqs_connect_is_charged_to_its_phase(status, phase):
    assert pg.phase_of(status) == phase


def test_every_phase_has_a_description_and_a_place():
    assert set(pg.DESCRIPTIONS) == set(pg.PHASES)
    assert "inside libpq" in pg.DESCRIPTIONS[pg.STARTUP]


def test_psycopgs_begin_goes_before_the_pooled_query():
    statements, watch = statement_watch(driver_module("psycopg"))
    assert statements == ("BEGIN",) and watch is pg.watch
    assert pool_phases.phases(statements) == (
        "checkout", "pre-ping", "BEGIN", "query", "reset-on-return", "checkin",
    )  # fmt: skip
    # MySQL's drivers send nothing of their own: the phases as they were
    for driver in ("pymysql", "mysqlclient", "mysql-connector"):
        statements, watch = statement_watch(driver_module(driver))
        assert (statements, watch) == ((), None)
        assert pool_phases.phases(statements) == pool_phases.PHASES


class _PGconn:
    transaction_status = pq.TransactionStatus.IDLE
    status = pq.ConnStatus.BAD  # closed, as psycopg's __del__ asks


class _Connection:
    """Stands in for psycopg's connection: ``_start_query`` sends BEGIN when idle."""

    def __init__(self, autocommit: bool = False) -> None:
        self._autocommit = autocommit
        self.pgconn = _PGconn()
        self.sent: list[str] = []

    def _start_query(self):
        self.sent.append("BEGIN")
        yield from ()


class _Timed(pg.TimedConnection):
    """``TimedConnection``'s BEGIN over the stand-in's (no libpq)."""

    def __init__(self, autocommit: bool = False) -> None:
        _Connection.__init__(self, autocommit)  # type: ignore[arg-type]


@pytest.fixture
def timed(monkeypatch):
    monkeypatch.setattr(pg.psycopg.Connection, "_start_query", _Connection._start_query)
    return _Timed


@pytest.mark.parametrize(
    ("autocommit", "status", "phases"),
    [
        (False, pq.TransactionStatus.IDLE, ["BEGIN"]),
        (True, pq.TransactionStatus.IDLE, []),  # psycopg sends nothing
        (False, pq.TransactionStatus.INTRANS, []),  # the transaction is open already
    ],
)
def test_begin_is_a_phase_only_when_psycopg_sends_one(timed, autocommit, status, phases):
    connection = timed(autocommit)
    connection.pgconn.transaction_status = status
    clock = PhaseClock()
    connection._timing = pg._Timing(clock)
    list(connection._start_query())
    assert list(clock.durations_ns) == phases


def test_an_unwatched_moment_times_nothing(timed):
    connection = timed()
    connection._timing = pg._Timing()  # a pooled connection between operations
    list(connection._start_query())
    assert connection.sent == ["BEGIN"]


def _phase(name: str, median_ns: int, trips: int = 0) -> PhaseResult:
    return PhaseResult(
        name=name, description="", median_ns=median_ns, p95_ns=median_ns, round_trips=trips
    )


def _runner(name: str, phases: tuple[PhaseResult, ...], whole_ns: int) -> RunnerExplanation:
    return RunnerExplanation(
        runner=name,
        operation="",
        iterations=100,
        phases=phases,
        whole_median_ns=whole_ns,
        whole_p95_ns=whole_ns,
        gap_median_ns=0,
    )


RAW = _runner(
    "raw",
    (
        _phase("driver set-up", 300_000),
        _phase("TCP connect", 100_000, 1),
        _phase("TLS", 2_000_000, 3),
        _phase("startup", 1_500_000, 1),
        _phase("BEGIN", 500_000, 1),
        _phase("query", 100_000, 1),
        _phase("close", 50_000),
    ),
    5_000_000,
)
POOL = _runner(
    "pool",
    (
        _phase("checkout", 10_000),
        _phase("BEGIN", 60_000, 1),
        _phase("query", 100_000, 1),
        _phase("reset-on-return", 40_000, 1),
        _phase("checkin", 10_000),
    ),
    250_000,
)


def test_tls_is_said_next_to_the_plain_connect_in_one_line():
    (tls,) = [n for n in findings([RAW], PG, None) if n.startswith("TLS")]
    assert tls == (
        "TLS (the SSLRequest, and the handshake when the server agrees) takes 2 ms of raw's "
        "5 ms operation (40%) and 3 of its 7 round trips; a plain connect ([database] ssl_mode "
        'to "disabled") does without its round trips, leaving 4, but not all of its time: the '
        "new backend answers the SSLRequest, so its start is in this phase, and a plain "
        "connect waits for it in its startup instead (measure both to see what is saved); a "
        "pool pays it once per connection."
    )


def test_begin_is_work_a_pool_does_too_not_connecting():
    notes = findings([RAW, POOL], PG, None)
    (raw,) = [n for n in notes if n.startswith("raw: everything but")]
    # 5 ms less the query's 0.1 and BEGIN's 0.5; 7 round trips less theirs
    assert raw.startswith(
        "raw: everything but the query and BEGIN (connecting and closing) is 88% of its "
        "operation (4.4 ms of 5 ms) and 5 of its 7 round trips"
    )
    (begin,) = [n for n in notes if "sends BEGIN" in n]
    assert "(raw 500 µs; pool 60 µs here: on a new connection it is the new backend's" in begin
    assert 'isolation_level="AUTOCOMMIT"' in begin


def test_no_begin_finding_where_none_is_sent():
    persistent = _runner("persistent", (_phase("query", 40_000, 1),), 41_000)
    assert not [n for n in findings([persistent], PG, None) if "BEGIN" in n]


def _pinged(runner: RunnerExplanation) -> RunnerExplanation:
    ping = _phase("pre-ping", 80_000, 1)
    return dataclasses.replace(runner, phases=(runner.phases[0], ping, *runner.phases[1:]))


@pytest.mark.parametrize(
    ("settings", "limit"),
    [
        (PG, "below whatever closes idle connections (PostgreSQL's idle_session_timeout, off "
             "by default; a firewall's, NAT's or proxy's idle limit) also avoids stale"),
        (Settings(), "below the server's wait_timeout also avoids stale"),
    ],
    ids=["postgresql", "mysql"],
)
def test_the_pre_ping_finding_names_the_dialects_idle_limit(settings, limit):
    (ping,) = [n for n in findings([_pinged(POOL)], settings, None) if "pre-ping" in n]
    assert ping.startswith("pool: pre-ping takes 80 µs and 1 round trip(s) per checkout; ")
    assert f"[pool] pool_recycle {limit} connections, without a round trip per request" in ping
    assert ("wait_timeout" in ping) == (settings.database.dialect == "mysql")
