"""The CSV and Markdown formats and the text histogram, on results with hand-computed numbers."""

import csv
import dataclasses
import io
import re

import pytest
from rich.console import Console

from dbbench.config.settings import PoolSettings
from dbbench.engine.harness import Plan, RunnerRecord, RunOutcome, run_interleaved
from dbbench.output import csv_format, histogram_text, markdown
from dbbench.output.table import describe_speedup
from dbbench.results.model import StaleCase, SweepCell, SweepResult
from dbbench.runners.poolstats import PoolCounters
from dbbench.scenarios.summary import build_result
from dbbench.scenarios.sweep import recommend
from dbbench.stats import Speedup, summarize_samples
from tests.fakes import FakeClock, FakeRunner

QUERY = "SELECT a | b, `c` FROM t"


def settings(query: str = QUERY) -> dict:
    return {
        "database": {"host": "127.0.0.1", "port": 3306, "user": "root", "unix_socket": None},
        "benchmark": {"iterations": 20, "duration_s": None, "warmup": 2, "query": query},
    }


def fake_run(query: str = QUERY, notes: list[str] | None = None):
    """raw 2 ms, every 4th operation failing; pool 50 µs; persistent 20 µs; 20 operations each."""
    clock = FakeClock()

    def every_fourth(call: int):
        return RuntimeError("boom") if call % 4 == 0 else None

    runners = [
        FakeRunner("raw", [], clock, cost_ns=2_000_000, fail=every_fourth),
        FakeRunner("pool", [], clock, cost_ns=50_000),
        FakeRunner("persistent", [], clock, cost_ns=20_000),
    ]
    outcome = run_interleaved(runners, Plan(iterations=20, warmup=2), clock=clock)
    outcome.records[1].pool_counters = PoolCounters(3, 0, 23, 23, 0, 1)
    return build_result(
        "run",
        outcome,
        settings(query),
        {"server_version": "10.11.0-Fake", "dbbench": "0.1.0", "python": "3.11.7"},
        pool_description="pool_size=5 max_overflow=10",
        notes=notes,
    )


def as_text(write, *args, width: int = 80) -> str:
    out = io.StringIO()
    write(*args, Console(file=out, width=width))
    return out.getvalue()


def cells_of(row: str) -> list[str]:
    """The cells of a GFM table row, split on pipes that are not escaped."""
    assert row.startswith("| ") and row.endswith(" |"), row
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", row)[1:-1]]


def tables(text: str) -> list[list[list[str]]]:
    """Every table in a Markdown text, as rows of cells (header and separator included)."""
    found, current = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            current.append(cells_of(line))
        elif current:
            found.append(current)
            current = []
    return found


# --- CSV -----------------------------------------------------------------------------


def test_run_csv_parses_back_with_the_numbers():
    result = fake_run()
    text = as_text(csv_format.write_run, result, width=40)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert text.count("\n") == 1 + 3  # no wrapping at 40 columns, no rich markup
    assert list(rows[0]) == list(csv_format.RUN_COLUMNS)
    raw, pool, persistent = rows
    assert raw["runner"] == "raw" and pool["runner"] == "pool"
    # each runner did 20 measured operations: raw failed the 4th, 8th, ... call (warm-up included)
    assert int(raw["n"]) + int(raw["errors"]) == 20
    assert int(raw["errors"]) == result.runners[0].errors > 0
    assert raw["errors_by_kind"] == f"RuntimeError={raw['errors']}"
    assert float(raw["mean_us"]) == 2000.0
    assert float(raw["p99_us"]) == pytest.approx(2000.0, rel=1e-3)  # HdrHistogram: 0.1%
    assert float(pool["mean_us"]) == 50.0
    assert float(persistent["max_us"]) == 20.0
    assert float(pool["ops_per_s"]) == pytest.approx(1e6 / 50)  # one worker: 1 / mean
    assert float(pool["speedup"]) == pytest.approx(40.0)
    assert pool["speedup_vs"] == "raw"
    assert raw["speedup"] == "" and raw["speedup_vs"] == ""  # None: an empty cell
    assert (pool["pool_connects"], pool["pool_peak_checked_out"]) == ("3", "1")
    assert raw["pool_connects"] == "" and raw["checkout_p99_us"] == ""
    assert "," not in raw["ops_per_s"]  # machine-readable: no thousands separator


def sweep_sample() -> SweepResult:
    run = fake_run()
    measured = {  # (concurrency, pool_size, max_overflow): ops/s, p99 µs, errors, timeouts
        (1, 1, 0): (2_100.0, 610.0, 0, 0),
        (1, 5, 0): (2_110.0, 600.0, 0, 0),
        (8, 1, 0): (None, None, 400, 400),
        (8, 5, 0): (8_200.0, 1_700.0, 0, 0),
    }
    cells = [
        SweepCell(c, size, overflow, ops, p99, errors, timeouts, 400)
        for (c, size, overflow), (ops, p99, errors, timeouts) in measured.items()
    ]
    return SweepResult([(cell, run) for cell in cells], recommend(cells), True)


def test_sweep_csv_one_row_per_cell():
    rows = list(csv.DictReader(io.StringIO(as_text(csv_format.write_sweep, sweep_sample()))))
    assert list(rows[0]) == list(csv_format.SWEEP_COLUMNS)
    assert [(r["concurrency"], r["pool_size"], r["max_overflow"]) for r in rows] == [
        ("1", "1", "0"),
        ("1", "5", "0"),
        ("8", "1", "0"),
        ("8", "5", "0"),
    ]
    timed_out = rows[2]
    assert timed_out["ops_per_s"] == "" and timed_out["p99_us"] == ""
    assert (timed_out["errors"], timed_out["timeouts"], timed_out["operations"]) == (
        "400",
        "400",
        "400",
    )
    assert float(rows[3]["ops_per_s"]) == 8200.0 and float(rows[3]["p99_us"]) == 1700.0
    assert float(rows[3]["mean_us"]) == 50.0  # the pool runner of the cell's run
    # at concurrency 1, pool_size 1 is within 95% of the best (pool_size 5) and smaller
    assert [(r["recommended"], r["best"]) for r in rows] == [
        ("true", "false"),
        ("false", "true"),
        ("false", "false"),
        ("true", "true"),
    ]


def stale_cases() -> list[StaleCase]:
    base = PoolSettings(pool_size=2, max_overflow=0)
    return [
        StaleCase(
            "none",
            base,
            operations=10,
            errors_by_kind={"OperationalError(2006)": 2},
            latency=summarize_samples([150_000] * 8),
            first_latency_ns=600_000,
            baseline=summarize_samples([140_000] * 6),
            pool=PoolCounters(4, 2, 18, 18, 2, 2),
        ),
        StaleCase(
            "pre_ping",
            dataclasses.replace(base, pool_pre_ping=True),
            operations=10,
            errors_by_kind={},
            latency=None,
            first_latency_ns=None,
            baseline=None,
            pool=None,
        ),
    ]


def test_stale_csv_one_row_per_case():
    text = as_text(csv_format.write_stale, stale_cases(), 2, 3.5)
    none, pre_ping = csv.DictReader(io.StringIO(text))
    assert list(none) == list(csv_format.STALE_COLUMNS)
    assert (none["protection"], none["wait_timeout_s"], none["idle_s"]) == ("none", "2", "3.5")
    assert float(none["error_rate"]) == 0.2
    assert float(none["first_latency_us"]) == 600.0 and float(none["mean_us"]) == 150.0
    assert float(none["baseline_mean_us"]) == 140.0
    assert none["errors_by_kind"] == "OperationalError(2006)=2"
    assert pre_ping["pool_pre_ping"] == "true" and none["pool_pre_ping"] == "false"
    assert pre_ping["mean_us"] == "" and pre_ping["pool_connects"] == ""


# --- Markdown ------------------------------------------------------------------------


def test_code_span():
    assert markdown.code_span("SELECT 1") == "`SELECT 1`"
    assert markdown.code_span("SELECT `a`|b") == "``SELECT `a`|b``"
    assert markdown.code_span("`t`", in_table=True) == "`` `t` ``"
    assert markdown.code_span("a|b", in_table=True) == r"`a\|b`"


def test_run_markdown_tables_and_escaping():
    note = "query 'SELECT x | y' took *long*"
    text = as_text(markdown.write_run, fake_run(notes=[note]))
    assert text.startswith("### dbbench run\n")
    latency, pool = tables(text)
    header, separator, *rows = latency
    assert header == list(markdown.RUN_HEADER)
    assert separator == [":---"] + ["---:"] * (len(header) - 1)
    assert all(len(row) == len(header) for row in rows)
    assert [row[0] for row in rows] == ["**raw**", "**pool**", "**persistent**"]
    raw, pool_row, _ = rows
    assert (raw[3], raw[-1]) == ("2.000", "1×")  # mean in ms, 3 decimals
    assert (pool_row[3], pool_row[-1]) == ("0.050", "40.0×")
    assert pool_row[10] == "20,000"  # ops/s with a thousands separator
    assert all(len(row) == len(pool[0]) for row in pool)
    # the query is in a code span outside any table, where it splits nothing: kept as it is
    assert "``SELECT a | b, `c` FROM t``" in text
    assert r"- query 'SELECT x \| y' took \*long\*" in text  # notes: escaped, a bullet each
    # raw failed 5 of its 20: no speedup over it is claimed
    assert "- pool against raw: no verdict: raw failed 5 of 20 operations" in text
    assert "failed operations: RuntimeError × " in text


def test_sweep_markdown_is_a_matrix():
    text = as_text(markdown.write_sweep, sweep_sample())
    ((header, separator, *rows),) = tables(text)
    assert header == ["pool_size", "max_overflow", "concurrency 1", "concurrency 8"]
    assert separator == ["---:"] * 4
    assert rows == [
        ["1", "0", "★ 2,100/s · 0.610 ms", "no successes · ⏱ 400 timeouts"],
        ["5", "0", "▲ **2,110/s · 0.600 ms**", "★ ▲ **8,200/s · 1.700 ms**"],
    ]
    assert "- concurrency 1: pool_size=1 max_overflow=0 reaches 99% of the best" in text
    assert "- concurrency 8: pool_size=5 max_overflow=0 has the best throughput" in text


def test_stale_markdown_table():
    text = as_text(markdown.write_stale, stale_cases(), 2, 3.5)
    ((header, separator, *rows),) = tables(text)
    assert header == list(markdown.STALE_HEADER) and len(separator) == len(header)
    assert rows[0][:6] == ["**none**", "10", "**2**", "20.0%", "0.600", "0.150"]
    assert rows[1][0] == "**pool_pre_ping**"  # "_" inside a word starts no emphasis
    assert rows[1][5] == "-"
    assert "- **none**: OperationalError(2006) × 2" in text


# --- histogram -----------------------------------------------------------------------


def histogram_run(**values_ns: list[int]):
    records = []
    for name, values in values_ns.items():
        record = RunnerRecord(name, measured_ns=10**9)
        for value in values:
            record.tally.latency.record(value)
        records.append(record)
    outcome = RunOutcome(records, True, 0.0, 1.0, Plan())
    return build_result("run", outcome, settings(), {})


def bucket_line(text: str, label: str) -> str:
    (line,) = [line for line in text.splitlines() if re.match(rf"\s+{label}\b", line)]
    return line


@pytest.mark.parametrize(
    ("value_ns", "label"),
    [
        (1, "1–1.25 ns"),
        (99_999, "80–100 µs"),
        (100_000, "100–125 µs"),
        (124_999, "100–125 µs"),
        (125_000, "125–160 µs"),
        (3_150, "3.15–4 µs"),
        (999_999, "800–1000 µs"),
        (10_000_000, "10–12.5 ms"),
        (2_000_000_000, "2–2.5 s"),
    ],
)
def test_bucket_edges(value_ns, label):
    assert " ".join(histogram_text.bucket_label(histogram_text.bucket_index(value_ns)).split()) == (
        label
    )


def test_histogram_of_a_known_distribution():
    # 90 operations at 100 µs, 10 at 10 ms: p50 is 100 µs, p99 (rank 99) is 10 ms
    text = as_text(histogram_text.write, histogram_run(pool=[100_000] * 90 + [10_000_000] * 10))
    lines = text.splitlines()
    assert all(len(line) <= 80 for line in lines)
    assert lines[2].startswith("pool: 100 operations")
    fast = bucket_line(text, r"100–125\s+µs")
    slow = bucket_line(text, r"10–12\.5\s+ms")
    assert re.search(r"█\s+90\s+90\.0%\s+◀ p50$", fast)
    assert re.search(r"\s10\s+100\.0%\s+◀ p99$", slow)
    # scaled to the fullest bucket: 90 fills the bar, 10 is a ninth of it
    full = fast.count("█")
    assert full >= 30 and slow.count("█") == full * 10 // 90
    # trimmed: nothing below 100 µs or above 12.5 ms; the empty buckets between, on one line
    assert len([line for line in lines if re.search(r"\d%", line)]) == 2
    assert "none from 125 µs to 10 ms" in text


def test_histogram_marks_on_the_buckets_of_the_summary_percentiles():
    values = [int(50_000 * 1.02**i) for i in range(300)]  # 50 µs to 18.6 ms, log-uniform
    result = histogram_run(pool=values)
    text = as_text(histogram_text.write, result, width=120)
    summary = result.runners[0].summary
    p50 = histogram_text.bucket_label(histogram_text.bucket_index(summary.p50_ns))
    p99 = histogram_text.bucket_label(histogram_text.bucket_index(summary.p99_ns))
    assert bucket_line(text, re.escape(p50.strip())).endswith("◀ p50")
    assert bucket_line(text, re.escape(p99.strip())).endswith("◀ p99")
    assert all(len(line) <= 120 for line in text.splitlines())
    wide = max(line.count("█") for line in text.splitlines())
    narrow = max(line.count("█") for line in as_text(histogram_text.write, result).splitlines())
    assert wide > narrow  # more room, longer bars


def test_histogram_one_bucket_both_marks_and_runners_without_data():
    result = histogram_run(raw=[], pool=[2_000] * 5)
    text = as_text(histogram_text.write, result)
    assert "raw: no successful operations" in text
    assert bucket_line(text, r"2–2\.5\s+µs").endswith("5  100.0%  ◀ p50 p99")


@pytest.mark.parametrize(
    ("speedup", "expected"),
    [
        (
            Speedup(4.0, 3.5, 4.5, 0.95, 5),
            "pool is 4.00× faster than raw (95% CI 3.50–4.50 between 5 repetitions)",
        ),
        (
            Speedup(0.5, 0.4, 0.625, 0.95, 3),
            "pool is 2.00× slower than raw (95% CI 1.60–2.50 between 3 repetitions)",
        ),
        (
            Speedup(1.02, 0.95, 1.1, 0.95, 5),
            "pool and raw do not differ beyond noise: 1.02× (95% CI 0.95–1.10 between "
            "5 repetitions)",
        ),
        (
            Speedup(4.0, 3.5, 4.5, 0.95),
            "pool is 4.00× faster than raw (95% CI 3.50–4.50, noise within this one run only "
            "(--repeat covers reruns))",
        ),
        (
            Speedup(0.98, 0.9, 1.05, 0.95, 5),
            "pool and raw do not differ beyond noise: 0.98× (95% CI 0.90–1.05 between "
            "5 repetitions)",
        ),
        (
            Speedup(4.0, None, None, 0.95),
            "pool is 4.00× faster than raw (too few samples for a confidence interval)",
        ),
    ],
)
def test_a_speedup_says_faster_only_beyond_noise_and_which_noise(speedup, expected):
    assert describe_speedup("pool", "raw", speedup) == expected
