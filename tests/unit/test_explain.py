"""explain without a database: the phase clock, the projection, findings and output."""

from __future__ import annotations

import io
import json
from pathlib import Path
from types import SimpleNamespace

import jsonschema
import pytest
from click.testing import CliRunner
from rich.console import Console

from dbbench.cli import cli
from dbbench.config.settings import DatabaseSettings, Settings
from dbbench.output import explain_table, json_format
from dbbench.results.model import describe_run_projection
from dbbench.scenarios.explain import (
    Explanation,
    PhaseResult,
    RunnerExplanation,
    _Samples,
    _set_order,
    _summaries,
    findings,
    run_projection,
)
from dbbench.scenarios.phases import clock as phase_clock
from dbbench.scenarios.phases import opaque_phases, pymysql_phases
from dbbench.scenarios.phases.clock import PhaseClock
from dbbench.workload import Workload

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "schema" / "dbbench-result.schema.json").read_text()
)


@pytest.fixture
def ticks(monkeypatch):
    """perf_counter_ns returns 0, 10, 20, ... one step per call: times are counted calls."""
    state = {"now": -10}

    def clock() -> int:
        state["now"] += 10
        return state["now"]

    monkeypatch.setattr(phase_clock.time, "perf_counter_ns", clock)


def test_nested_phases_are_charged_their_own_time(ticks):
    trips = iter([0, 0, 1, 3, 3, 3])
    clock = PhaseClock(probe=lambda: next(trips))
    # outer enters: probe 0, starts at time 0; inner enters: outer stops at 10 (10 ns),
    # probe 0, inner starts at 20; inner exits: stops at 30 (10 ns), probe 1 (1 trip),
    # outer resumes at 40; outer exits: stops at 50 (+10 ns), probe 3 (+2 trips)
    with clock.phase("outer"), clock.phase("inner"):
        pass
    with clock.phase("inner"):  # a phase entered twice adds up: 60 to 70, probe 3, 3
        pass
    assert clock.durations_ns == {"outer": 20, "inner": 20}
    assert clock.round_trips == {"outer": 2, "inner": 1}
    assert list(clock.durations_ns) == ["outer", "inner"]  # in the order first entered


def test_the_clocks_own_cost_is_taken_out(ticks):
    clock = PhaseClock()
    with clock.phase("outer"), clock.phase("inner"):  # outer 10 + 10 ns, inner 10 ns
        pass
    with clock.phase("inner"):  # inner: 10 ns more, entered twice in all
        pass
    assert clock.entries == {"outer": 1, "inner": 2}
    # outer: 20 - 1 entry x 4; inner: 20 - 2 entries x 4
    assert clock.net_durations_ns(4) == {"outer": 16, "inner": 12}
    assert clock.net_durations_ns(30) == {"outer": 0, "inner": 0}  # never below zero


def test_a_doubled_clock_measures_what_an_entry_costs(ticks):
    """Each phase timed twice over, the second inside the first: the extra entries' cost,
    in the same code path, is what the single clock's phases are net of."""
    single, doubled = PhaseClock(), PhaseClock(doubled=True)
    for clock in (single, doubled):
        with clock.phase("connect"):
            pass
        with clock.phase("query"):
            pass
    # single: each phase's two readings 10 ns apart; doubled: the shadow's 10 ns, and the
    # outer's 10 ns before the shadow starts and 10 ns after it stops
    assert single.durations_ns == {"connect": 10, "query": 10}
    assert doubled.durations_ns == {"connect": 30, "query": 30}
    assert single.entries == {"connect": 1, "query": 1}
    assert doubled.entries == {"connect": 2, "query": 2}
    assert phase_clock.entry_cost_ns(single, doubled) == 20
    # both clocks' phases, net of a cost per entry, differ by what the extra entries cost
    assert doubled.net_durations_ns(5) == {"connect": 20, "query": 20}
    assert single.net_durations_ns(5) == {"connect": 5, "query": 5}
    assert phase_clock.entry_cost_ns(single, single) == 0


def test_a_rounds_sets_run_in_mirrored_orders():
    """Within a round of two or four sets each operation's mean place is the same:
    a drift inside the round falls on the plain and the instrumented ones alike."""
    for round_number in range(6):
        for sets in (2, 4):
            places: dict[str, int] = {}
            for index in range(sets):
                order = _set_order(round_number, index)
                for place, step in enumerate(order):
                    places[step] = places.get(step, 0) + place
            assert len(set(places.values())) == 1, (round_number, sets, places)
    assert _set_order(0, 0) == ("plain", "timed", "doubled")
    assert _set_order(0, 1) == _set_order(0, 2) == ("doubled", "timed", "plain")


def test_a_rounds_gap_is_its_fastest_phases_minus_its_fastest_whole():
    samples = _Samples()
    samples.add_round([({"connect": 10, "query": 5}, 12), ({"connect": 8}, 14)])
    samples.add_round([({"connect": 9, "query": 3}, 10)])
    # min(15, 8) - min(12, 14); 12 - 10
    assert samples.gaps == [-4, 2]
    assert samples.wholes == [12, 14, 10]
    # a phase missing from an operation took 0 ns in it
    assert samples.phases == {"connect": [10, 8, 9], "query": [5, 0, 3]}


def test_a_failing_phase_is_still_charged(ticks):
    clock = PhaseClock()
    with pytest.raises(RuntimeError), clock.phase("connect"):
        raise RuntimeError("refused")
    assert clock.durations_ns == {"connect": 10}


class _Cursor:
    description = (("1",),)  # a result, to be fetched

    def execute(self, query: str) -> None:
        pass

    def fetchall(self) -> list[tuple[int]]:
        return [(1,)]

    def close(self) -> None:
        pass


class _SlowToFree:
    """A connection whose release reads the clock once (takes 10 ns under ``ticks``), as
    PyMySQL's does when it frees its SSL context and CA store (~0.7 ms here)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def connect(self, sock: object = None) -> None:
        pass

    def cursor(self) -> _Cursor:
        return _Cursor()

    def close(self) -> None:
        pass

    def __del__(self) -> None:
        phase_clock.time.perf_counter_ns()


class _FakeDriver:
    def connector(self, database: DatabaseSettings) -> type[_SlowToFree]:
        return _SlowToFree


@pytest.mark.parametrize(
    ("module", "driver"),
    [(pymysql_phases, "pymysql"), (opaque_phases, "mysqlclient")],
    ids=["pymysql", "opaque"],
)
def test_freeing_the_connection_is_charged_to_close(ticks, monkeypatch, module, driver):
    """The plain operation pays for freeing its connection before its clock stops; so
    must a phase of the instrumented one, or the phases fall short of the whole (by 3%
    of a PyMySQL connect with TLS, before close had it)."""
    if module is pymysql_phases:
        monkeypatch.setattr(pymysql_phases, "TimedConnection", _SlowToFree)
    else:
        monkeypatch.setattr(opaque_phases, "get_driver", lambda name: _FakeDriver())
    clock = PhaseClock()
    # a Unix socket: PyMySQL opens it itself, no name resolution or TCP connect to fake
    database = DatabaseSettings(unix_socket="/nonexistent.sock", driver=driver)
    module.connect_operation(database, Workload("SELECT 1"), clock)
    # close: entered at t, the release's reading at t + 10, left at t + 20
    assert clock.durations_ns[module.CLOSE] == 20


def _phase(name: str, median_ns: int, trips: int = 0) -> PhaseResult:
    return PhaseResult(name, "", median_ns, median_ns * 2, trips)


RAW = RunnerExplanation(
    runner="raw",
    operation="connect, query, fetch, close",
    iterations=100,
    phases=(
        _phase("SSL context", 15_960_000),
        _phase("TCP connect", 100_000, 1),
        _phase("server greeting", 50_000, 1),
        _phase("authentication", 50_000, 1),
        _phase("SET NAMES", 50_000, 1),
        _phase("SET AUTOCOMMIT", 40_000, 1),
        _phase("query", 80_000, 1),
        _phase("close", 70_000),
    ),
    whole_median_ns=17_000_000,
    whole_p95_ns=19_000_000,
    gap_median_ns=-600_000,
    # -5.3% and -1.8% of 17 ms
    gap_low_ns=-900_000,
    gap_high_ns=-300_000,
)
POOL = RunnerExplanation(
    runner="pool",
    operation="checkout, query, fetch, checkin",
    iterations=100,
    phases=(
        _phase("checkout", 20_000),
        _phase("query", 80_000, 1),
        _phase("reset-on-return", 40_000, 1),
        _phase("checkin", 10_000),
    ),
    whole_median_ns=150_000,
    whole_p95_ns=200_000,
    gap_median_ns=1_000,
    # no interval: as read from a file written before dbbench recorded it
)


def test_round_trips_and_projection_by_hand():
    assert RAW.round_trips == 6 and POOL.round_trips == 2
    assert RAW.phases_median_ns == 16_400_000
    # 17 ms measured + 6 round trips x 1 ms
    assert RAW.projected_ns(1_000_000) == 23_000_000
    assert POOL.projected_ns(1_000_000) == 2_150_000
    assert RAW.adds_up  # 0.6 of 17 ms: 3.5% apart
    assert RAW.share(RAW.phase("SSL context")) == pytest.approx(15.96 / 17)


def _gapped(median_ns: int, low_ns: int | None, high_ns: int | None) -> RunnerExplanation:
    """RAW (17 ms) with this gap: its median and interval."""
    gaps = {"gap_median_ns": median_ns, "gap_low_ns": low_ns, "gap_high_ns": high_ns}
    return RunnerExplanation(**{**RAW.__dict__, **gaps})


def _gap_notes(runner: RunnerExplanation) -> list[str]:
    return [n for n in findings([runner], Settings(), None) if "timed beside it" in n]


def test_phases_that_do_not_add_up_beyond_the_noise_are_flagged():
    # median 2 of 17 ms (11.8%), the interval 1.8 to 2.2 ms (-12.9% to -10.6%): wholly beyond
    loose = _gapped(-2_000_000, -2_200_000, -1_800_000)
    assert not loose.adds_up and not loose.may_add_up
    (note,) = _gap_notes(loose)
    assert note == (
        "raw: an operation's phases, added up, differ from the whole operation timed beside it "
        "by 2 ms (median), more than 10% of its 17 ms (95% interval -12.9% to -10.6% of it): "
        "read the shares with care (a busy machine, or the instrumentation's own cost)"
    )


def test_a_median_gap_beyond_the_tolerance_within_its_noise_says_so_in_one_line():
    # median -11.8%, the interval -15.3% to -9.4%: reaches inside -10% (-1.7 ms)
    noisy = _gapped(-2_000_000, -2_600_000, -1_600_000)
    assert not noisy.adds_up and noisy.may_add_up
    (note,) = _gap_notes(noisy)
    assert note == (
        "raw: an operation's phases, added up, differ from the whole operation timed beside it "
        "by 2 ms (median), more than 10% of its 17 ms, but within noise (95% interval -15.3% "
        "to -9.4% of it, reaching inside 10%)"
    )
    assert "\n" not in note


def test_without_an_interval_a_median_beyond_the_tolerance_is_flagged_as_before():
    older = _gapped(-2_000_000, None, None)
    assert not older.may_add_up
    (note,) = _gap_notes(older)
    assert "by 2 ms (median), more than 10% of its 17 ms: read the shares with care" in note


@pytest.mark.parametrize(
    ("low_ns", "high_ns", "reaches"),
    [
        (-1_700_000, 3_000_000, True),  # the low end at the limit: -10% exactly
        (-3_000_000, -1_700_001, False),  # just beyond -10%
        (1_700_000, 3_000_000, True),
        (1_700_001, 3_000_000, False),  # just beyond +10%
        (-3_000_000, 3_000_000, True),  # wider than the tolerance on both sides
    ],
)
def test_the_interval_reaches_within_the_tolerance_at_either_end(low_ns, high_ns, reaches):
    assert _gapped((low_ns + high_ns) // 2, low_ns, high_ns).may_add_up is reaches


def test_the_gap_interval_is_at_the_medians_binomial_ranks():
    """20 rounds, gaps 1 to 20 µs in a shuffled order: the median's 95% ranks are 5 and 15
    (10 ± 1.96 · sqrt(5) = ±4.38, rounded outwards), so 5 µs and 15 µs; the median 10.5 µs."""
    samples = _Samples()
    for i in range(20):
        gap_ns = ((7 * i) % 20 + 1) * 1_000
        samples.add_round([({"connect": 100_000 + gap_ns}, 100_000)])
    subject = SimpleNamespace(name="raw", operation="connect", phase_order=(), descriptions={})
    runner = _summaries(subject, samples, {})
    assert sorted(samples.gaps) == [n * 1_000 for n in range(1, 21)]
    assert (runner.gap_low_ns, runner.gap_median_ns, runner.gap_high_ns) == (5_000, 10_500, 15_000)
    assert runner.describe_gap_interval() == "95% interval +5.0% to +15.0%"  # of 100 µs


def test_the_gap_interval_goes_into_the_document_and_back():
    raw = RAW.to_document(None)
    assert (raw["gap_low_ns"], raw["gap_median_ns"], raw["gap_high_ns"]) == (
        -900_000, -600_000, -300_000
    )  # fmt: skip
    assert RunnerExplanation.from_document(raw) == RAW
    # a file written before dbbench recorded the interval lacks the keys, and keeps lacking them
    pool = POOL.to_document(None)
    assert "gap_low_ns" not in pool and "gap_high_ns" not in pool
    assert RunnerExplanation.from_document(pool).gap_low_ns is None
    document = _explanation(None).to_document()
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    assert Explanation.from_document(document).to_document() == document


def test_findings_name_the_costs_and_the_settings_that_remove_them():
    notes = findings([RAW, POOL], Settings(), 0.001)
    ssl = next(note for note in notes if note.startswith("SSL context creation"))
    assert "16 ms of 17 ms per connect (94%)" in ssl
    assert '[database] ssl_mode to "disabled"' in ssl
    assert "never used" in ssl  # no TLS handshake phase
    reset = next(note for note in notes if note.startswith("pool: reset-on-return"))
    assert "40 µs of 150 µs (27%)" in reset
    assert "setting [pool] pool_reset_on_return to none removes it" in reset
    autocommit = next(note for note in notes if "SET AUTOCOMMIT" in note)
    assert "1 round trip(s), 40 µs here" in autocommit and "autocommit=True" in autocommit
    projection = notes[-1]
    assert "raw 6 × 1 ms → 23 ms" in projection and "pool 2 × 1 ms → 2.15 ms" in projection
    assert not any("timed beside it" in note for note in notes)


@pytest.mark.parametrize(
    ("mode", "ssl", "said"),
    [
        (
            "required",
            {},
            "with ssl_mode required PyMySQL builds a new context, loading the system's",
        ),
        (
            "verify_ca",
            {"ssl_ca": "ca.pem"},
            "with ssl_mode verify_ca PyMySQL builds a new context, loading ssl_ca,",
        ),
    ],
)
def test_the_ssl_context_finding_says_the_mode_in_force(mode, ssl, said):
    """Under a mode that asks for TLS, not "no ssl_* setting ... 'preferred'"."""
    settings = Settings(database=DatabaseSettings(ssl_mode=mode, ssl=ssl))
    (note,) = [n for n in findings([RAW], settings, None) if n.startswith("SSL context")]
    assert said in note and "preferred" not in note and "no ssl_* setting" not in note


def test_no_ssl_finding_when_the_context_is_cheap():
    cheap = RunnerExplanation(
        **{**RAW.__dict__, "phases": RAW.phases[1:], "whole_median_ns": 470_000}
    )
    assert not any("SSL context" in note for note in findings([cheap], Settings(), None))


def _explanation(rtt_s: float | None) -> Explanation:
    settings = Settings()
    return Explanation(
        driver="pymysql",
        database=DatabaseSettings(password="hunter2").public_dict(),
        query="SELECT 1",
        pool=settings.pool.describe(),
        rtt_s=rtt_s,
        runners=(RAW, POOL),
        findings=tuple(findings([RAW, POOL], settings, rtt_s)),
        environment={"server_version": "10.11.0-Fake"},
        started_at="2026-01-01T00:00:00+00:00",
        finished_at="2026-01-01T00:00:10+00:00",
    )


def test_table_shows_phases_shares_round_trips_and_projection():
    console = Console(width=200, file=io.StringIO())
    explain_table.write(_explanation(0.001), console)
    text = console.file.getvalue()
    rows = [" ".join(line.split()) for line in text.splitlines()]
    assert "SSL context 15.960 31.920 93.9% 0" in rows
    assert "sum of phases 16.400 96.5% 6 medians added" in rows
    assert any(row.startswith("phases − whole -0.600 -3.5% per round") for row in rows)
    # raw's gap with its interval; pool's, read from an older file, without one
    assert "plain one (median; 95% interval -5.3% to -1.8%)" in text
    assert "plain one (median)" in text
    assert "whole operation 17.000 19.000 100% as dbbench run times it, uninstrumented" in rows
    assert "at RTT 1 ms 23.000 whole + 6 × 1 ms" in rows
    assert "raw 17.000 19.000 6 6.000 23.000" in rows  # measured, trips, + trips × RTT, projected
    assert "hunter2" not in text


def test_json_document_carries_the_projection():
    console = Console(width=200, file=io.StringIO())
    json_format.write_document(_explanation(0.002).to_document(), console)
    document = json.loads(console.file.getvalue())
    raw = document["runners"][0]
    assert raw["round_trips"] == 6 and raw["projected_median_ns"] == 17_000_000 + 6 * 2_000_000
    assert raw["phases"][0] == {
        "name": "SSL context",
        "description": "",
        "median_ns": 15_960_000,
        "p95_ns": 31_920_000,
        "round_trips": 0,
        "share": 0.9388,
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rtt", "fast"], "--rtt = 'fast': must be a duration"),
        (["--rtt", "0ms"], "--rtt = '0ms': must be a duration greater than 0"),
        (
            ["--runner", "nullpool"],
            "explain splits raw, pool, persistent, core, session, not 'nullpool'",
        ),
        (["--format", "csv"], "Invalid value for '--format'"),
        (["--driver", "odbc"], "unknown driver 'odbc'; choose from pymysql, mysqlclient"),
    ],
)
def test_bad_input_is_one_line_before_any_connection(args, message):
    # port 1 would refuse: the error must come from the arguments, not the server
    result = CliRunner().invoke(cli, ["explain", "--port", "1", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_run_projection_by_hand():
    trips = {"raw": {"TCP connect": 1, "query": 1, "close": 0}, "pool": {"query": 1}}
    rows = run_projection({"raw": 400_000, "pool": 160_000, "nullpool": 500_000}, trips, 0.02)
    # 0.4 ms + 2 × 20 ms; 0.16 ms + 1 × 20 ms; nullpool's round trips are not counted
    assert [(r.runner, r.round_trips, r.projected_median_ns) for r in rows] == [
        ("raw", 2, 40_400_000),
        ("pool", 1, 20_160_000),
    ]
    assert describe_run_projection(rows, 0.02) == (
        "projected at RTT 20 ms (median + round trips × RTT): "
        "raw 400 µs + 2 × 20 ms = 40.4 ms; pool 160 µs + 1 × 20 ms = 20.2 ms"
    )


@pytest.mark.parametrize(
    "args",
    [["--rtt", "1ms", "-c", "1,2"], ["--rtt", "1ms", "--format", "csv"], ["--rtt", "soon"]],
)
def test_run_rtt_bad_combinations_fail_before_connecting(args):
    result = CliRunner().invoke(cli, ["run", "--port", "1", *args])
    assert result.exit_code == 2, result.output
    assert "--rtt" in result.output and "Traceback" not in result.output


def test_explain_help_ends_with_an_example():
    result = CliRunner().invoke(cli, ["explain", "--help"])
    assert result.exit_code == 0
    assert result.output.rstrip().splitlines()[-1].strip().startswith("dbbench explain")


def test_the_runners_explain_splits_are_those_whose_classes_say_how():
    from dbbench.runners import EXPLAIN_RUNNERS, names_with

    assert names_with("explained_as") == EXPLAIN_RUNNERS
