"""``dbbench diff``: noise tests, thresholds and matching, against numbers worked by hand."""

import dataclasses
import io
import json
import math
from pathlib import Path

import pytest
from rich.console import Console

from dbbench import diffing
from dbbench.diffing import (
    ALPHA,
    METRICS,
    DiffResult,
    IncomparableError,
    MetricChange,
    RunnerDiff,
    Threshold,
    caveats,
    comparable,
    compare,
    compare_runner,
    diff_results,
    intervals_overlap,
    parse_fail_on,
    quantile_interval,
    throughput_test,
    tripped,
    value_at_rank,
    warned,
    welch_t_test,
)
from dbbench.errors import ConfigError, ExitStatus
from dbbench.histogram import LatencyHistogram
from dbbench.output import diff_table
from dbbench.results.model import (
    SCHEMA_VERSION,
    Distribution,
    RunnerResult,
    from_document,
    load_result,
    upgrade,
)
from dbbench.results.store import load
from dbbench.stats import Summary, summarize

DATA = Path(__file__).parent.parent / "data"


def histogram_of(values):
    histogram = LatencyHistogram()
    for value in values:
        histogram.record(value)
    return histogram


# --- Welch ---------------------------------------------------------------------


def test_welch_two_values_each_has_two_degrees_of_freedom():
    # base: n 2, mean 100, sd 2; new: n 2, mean 106, sd 2
    # se² = 4/2 + 4/2 = 4 -> se 2; t = 6 / 2 = 3
    # df = 4² / ((4/2)²/1 + (4/2)²/1) = 16 / 8 = 2
    # p = 1 - 3 / sqrt(2 + 9) = 1 - 0.904534 = 0.095466
    test = welch_t_test(2, 100, 2, 2, 106, 2)
    assert test.t == pytest.approx(3.0)
    assert test.df == pytest.approx(2.0)
    assert test.p_value == pytest.approx(1 - 3 / math.sqrt(11), abs=1e-12)


def test_welch_unequal_sizes_and_spreads():
    # base: n 5, mean 20, sd 4 -> sd²/n = 16/5 = 3.2
    # new:  n 10, mean 25, sd 3 -> sd²/n = 9/10 = 0.9
    # se² = 4.1 -> se 2.024846; t = 5 / 2.024846 = 2.469324
    # df = 4.1² / (3.2²/4 + 0.9²/9) = 16.81 / (2.56 + 0.09) = 6.343396
    # tables: df 6 at 5% is 2.447, df 7 at 2% is 2.998 -> 0.02 < p < 0.05;
    # midpoint integration of the t density (400,000 steps) gives p = 0.04635431
    test = welch_t_test(5, 20, 4, 10, 25, 3)
    assert test.t == pytest.approx(5 / math.sqrt(4.1))
    assert test.df == pytest.approx(16.81 / 2.65)
    assert test.p_value == pytest.approx(0.04635431, abs=1e-8)
    assert test.p_value > ALPHA  # not beyond noise at 1%


def test_welch_is_symmetric_and_signed():
    up, down = welch_t_test(5, 20, 4, 10, 25, 3), welch_t_test(10, 25, 3, 5, 20, 4)
    assert up.t == pytest.approx(-down.t)
    assert up.p_value == pytest.approx(down.p_value)


def test_welch_needs_two_values_on_each_side():
    assert welch_t_test(1, 100, 0, 50, 110, 5) is None
    assert welch_t_test(50, 100, 5, 1, 110, 0) is None


def test_welch_without_spread():
    assert welch_t_test(3, 100, 0, 3, 100, 0).p_value == 1.0
    assert welch_t_test(3, 100, 0, 3, 101, 0).p_value == 0.0


def test_throughput_test_sees_a_fall_the_mean_does_not():
    # same latencies (n 100, mean 1000 µs, sd 200 µs), but ops/s 1000 -> 900 (failures, say)
    # relative SE each: 200 / (sqrt(100) · 1000) = 0.02 -> sqrt(0.02² + 0.02²) = 0.0282843
    # t = ln(0.9) / 0.0282843 = -0.1053605 / 0.0282843 = -3.725057
    # df (Welch, latencies) = (400 + 400)² / (2 · 400² / 99) = 198
    latencies = Summary(100, 0, 1_000_000.0, 200_000.0, 0, 0, 0, 0, 0, 0)
    base = runner("pool", latencies, measured_s=100 / 1000.0)
    new = runner("pool", latencies, measured_s=100 / 900.0)
    assert new.ops_per_s == pytest.approx(900.0)
    test = throughput_test(base, new)
    assert test.t == pytest.approx(math.log(0.9) / math.sqrt(0.0008))
    assert test.df == pytest.approx(198.0)
    # a little above the normal 2·Φ(-3.725) = 0.000195
    assert test.p_value == pytest.approx(0.000254623, rel=1e-5)
    assert welch_t_test(100, 1000, 200, 100, 1000, 200).p_value == 1.0


# --- quantile intervals ------------------------------------------------------


def test_quantile_interval_reads_the_histogram():
    # values below 2,048 ns are exact: 10, 20, ..., 1000 ns, one each
    histogram = histogram_of(range(10, 1001, 10))
    assert quantile_interval(histogram, 0.5) == (370, 630)  # ranks 37 and 63
    assert quantile_interval(histogram, 0.99) == (960, 1000)  # ranks 96 and 100 (the max)


def test_value_at_rank_with_repeated_values():
    histogram = histogram_of([100] * 50 + [200] * 50)
    assert value_at_rank(histogram, 50) == 100
    assert value_at_rank(histogram, 51) == 200
    assert quantile_interval(histogram, 0.5) == (100, 200)
    with pytest.raises(ValueError):
        value_at_rank(histogram, 101)


def test_intervals_sharing_an_end_overlap():
    assert intervals_overlap((1, 2), (2, 3))
    assert not intervals_overlap((1, 2), (2.001, 3))
    assert intervals_overlap((1, 10), (4, 5))


def runner(name, summary, measured_s, latency=None):
    return RunnerResult(name, summary, None, {}, 0, None, measured_s, latency=latency)


def runner_result(name, values_ns):
    """A runner's result from latencies in nanoseconds, one worker: ops/s is 1 / mean."""
    h = histogram_of(values_ns)
    return runner(name, summarize(h), h.sum_ns / 1e9, Distribution.of(h))


def test_percentile_beyond_noise_when_the_intervals_part():
    base = runner_result("pool", range(1000, 1100))  # p50 ranks 37..63 -> 1036..1062 ns
    new = runner_result("pool", range(1100, 1200))  # -> 1136..1162 ns
    p50 = {c.metric: c for c in compare_runner(base, new)}["p50"]
    assert p50.method == "quantile-ci"
    assert p50.base_interval == (1.036, 1.062)
    assert p50.new_interval == (1.136, 1.162)
    assert p50.beyond_noise is True and p50.worse is True and p50.p_value is None


def test_percentile_within_noise_when_the_intervals_overlap():
    base = runner_result("pool", range(1000, 1100))
    new = runner_result("pool", range(1020, 1120))  # 1056..1082 overlaps 1036..1062
    p50 = {c.metric: c for c in compare_runner(base, new)}["p50"]
    assert p50.change == pytest.approx((1069 - 1049) / 1049)
    assert p50.beyond_noise is False


# --- --fail-on ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("p99:10%", Threshold("p99", 0.10)),
        ("mean:5%", Threshold("mean", 0.05)),
        (" MEAN : 2.5% ", Threshold("mean", 0.025)),
        ("ops_per_s:0%", Threshold("ops_per_s", 0.0)),
        ("p50:.5 %", Threshold("p50", 0.005)),
    ],
)
def test_parse_fail_on(text, expected):
    threshold = parse_fail_on(text)
    assert threshold.metric == expected.metric
    assert threshold.limit == pytest.approx(expected.limit)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("p98:10%", ["unknown metric 'p98'", "did you mean 'p99'", "ops_per_s"]),
        ("throughput:5%", ["did you mean 'ops_per_s'"]),
        ("p99:10", ["needs a '%'", "p99:10%"]),
        ("p99:-5%", ["0% or more"]),
        ("p99:ten%", ["'ten%' is not a percentage"]),
        ("p99:%", ["is not a percentage"]),
        ("p99", ["no ':'"]),
        ("p99:", ["no limit"]),
    ],
)
def test_parse_fail_on_rejects(text, words):
    with pytest.raises(ConfigError) as raised:
        parse_fail_on(text)
    message = str(raised.value)
    assert message.startswith(f"fail_on = {text!r}: ")
    assert "\n" not in message
    for word in words:
        assert word in message
    assert raised.value.exit_status == ExitStatus.USAGE


# --- the gate ----------------------------------------------------------------


def change(metric, base, new, beyond_noise=True):
    delta = (new - base) / base
    worse = delta < 0 if metric == "ops_per_s" else delta > 0
    return MetricChange(metric, base, new, delta, worse, beyond_noise, 0.001, "welch-t")


def gate(*changes, thresholds=("mean:5%",)):
    diff = RunnerDiff("pool", None, list(changes))
    return tripped([diff], [parse_fail_on(t) for t in thresholds])


def test_a_regression_beyond_the_limit_and_noise_trips():
    trips = gate(change("mean", 100, 110))
    assert len(trips) == 1
    assert trips[0].threshold == Threshold("mean", 0.05)
    assert trips[0].change.metric == "mean"


def test_an_improvement_of_the_same_size_does_not_trip():
    assert gate(change("mean", 110, 100)) == []
    assert gate(change("mean", 100, 90)) == []


def test_a_change_within_noise_never_trips():
    assert gate(change("mean", 100, 150, beyond_noise=False)) == []


def test_exactly_at_the_limit_passes():
    # 105 / 100 - 1 is 0.050000000000000044 in floating point: still "at" 5%
    assert gate(change("mean", 100, 105)) == []
    assert len(gate(change("mean", 100, 105.01))) == 1


def test_throughput_trips_when_it_falls():
    assert len(gate(change("ops_per_s", 1000, 890), thresholds=["ops_per_s:10%"])) == 1
    assert gate(change("ops_per_s", 1000, 900), thresholds=["ops_per_s:10%"]) == []  # at limit
    assert gate(change("ops_per_s", 1000, 1200), thresholds=["ops_per_s:10%"]) == []


def test_untested_changes_fall_back_to_the_limit_alone():
    assert len(gate(change("mean", 100, 120, beyond_noise=None), thresholds=["mean:10%"])) == 1
    assert gate(change("mean", 100, 105, beyond_noise=None), thresholds=["mean:10%"]) == []


def test_zero_percent_fails_on_any_worsening_beyond_noise():
    assert len(gate(change("mean", 100, 100.5), thresholds=["mean:0%"])) == 1
    assert gate(change("mean", 100, 100.5, beyond_noise=False), thresholds=["mean:0%"]) == []


def test_thresholds_apply_to_their_own_metric_only():
    assert gate(change("p50", 100, 200), thresholds=["mean:5%"]) == []
    both = gate(
        change("mean", 100, 110), change("p50", 100, 200), thresholds=["mean:5%", "p50:50%"]
    )
    assert [(t.change.metric, t.threshold.metric) for t in both] == [
        ("mean", "mean"),
        ("p50", "p50"),
    ]


def test_losing_every_success_trips_every_threshold():
    base = runner_result("pool", range(1000, 1100))
    new = dataclasses.replace(base, summary=None, latency=None)
    changes = compare_runner(base, new)
    assert all(c.worse is True and c.change is None for c in changes)
    assert all(c.method == "n/a (no successful operations in new)" for c in changes)
    trips = tripped([RunnerDiff("pool", None, changes)], [Threshold("p99", 0.5)])
    assert len(trips) == 1
    assert "no successful operations in new" in diff_table.describe_trip(trips[0])
    # the other way round is an improvement: nothing trips
    back = compare_runner(new, base)
    assert all(c.worse is False for c in back)
    assert tripped([RunnerDiff("pool", None, back)], [Threshold("p99", 0.5)]) == []


def test_runners_in_one_document_trip_nothing():
    assert tripped([RunnerDiff("nullpool", None, [], only_in="base")], [Threshold("mean", 0)]) == []


# --- whole documents -----------------------------------------------------------


@pytest.fixture
def base():
    return load_result(DATA / "diff_base.json")


@pytest.fixture
def new():
    return load_result(DATA / "diff_new.json")


def by_metric(diff):
    return {c.metric: c for c in diff.changes}


def test_runs_are_matched_by_runner_name(base, new):
    diffs = diff_results(base, new)
    assert [(d.runner, d.only_in) for d in diffs] == [
        ("raw", None),
        ("pool", None),
        ("persistent", None),
        ("nullpool", "base"),  # in base only: reported, not dropped
    ]
    assert all(d.cell is None for d in diffs)
    assert all([c.metric for c in d.changes] == list(METRICS) for d in diffs[:3])
    assert diffs[3].changes == []
    swapped = diff_results(new, base)
    assert [(d.runner, d.only_in) for d in swapped][-1] == ("nullpool", "new")


def test_the_sample_runs(base, new):
    raw, pool, persistent, _ = diff_results(base, new)
    # pool: mean 307.93 -> 308.46 µs, sd 151.7 and 162.7, n 2000 each: noise
    mean = by_metric(pool)["mean"]
    assert mean.change == pytest.approx(308.456815 / 307.9334345 - 1)
    assert mean.method == "welch-t"
    assert mean.beyond_noise is False
    assert mean.p_value == pytest.approx(0.9162, abs=1e-4)
    # persistent: p99 395.3 -> 562.2 µs and the 99% intervals part
    p99 = by_metric(persistent)["p99"]
    assert p99.worse and p99.beyond_noise
    assert p99.base_interval[1] < p99.new_interval[0]
    # raw got faster: ops/s up, beyond noise, not worse
    ops = by_metric(raw)["ops_per_s"]
    assert ops.method == "log-ratio-t"
    assert ops.change > 0 and ops.worse is False and ops.beyond_noise is True
    # a tail percentile within one run a side only warns; the mean gates
    thresholds = [parse_fail_on("p99:10%"), parse_fail_on("mean:5%")]
    trips = tripped(diff_results(base, new), thresholds)
    assert [(t.diff.runner, t.change.metric) for t in trips] == [("persistent", "mean")]
    warnings = warned(diff_results(base, new), thresholds)
    assert [(t.diff.runner, t.change.metric) for t in warnings] == [("persistent", "p99")]


def test_files_without_histograms_leave_percentiles_untested(new):
    old = json.loads((DATA / "diff_base.json").read_text())
    old["schema_version"] = 1
    for result in old["results"]:
        del result["histograms"]
    old = from_document(upgrade(old, "old.json"))
    pool = diff_results(old, new)[1]
    p99 = by_metric(pool)["p99"]
    assert p99.method == "n/a (no histograms)"
    assert p99.beyond_noise is None
    assert p99.change is not None
    assert by_metric(pool)["mean"].method == "welch-t"  # n, mean and sd are in v1 files


def test_sweeps_are_matched_by_cell():
    base = load_result(DATA / "diff_sweep_base.json")
    new = load_result(DATA / "diff_sweep_new.json")  # its cells in another order
    diffs = diff_results(base, new)
    assert [(d.cell, d.only_in) for d in diffs] == [
        ("concurrency 1, pool_size 1, max_overflow 0", "base"),
        ("concurrency 1, pool_size 4, max_overflow 0", None),
        ("concurrency 4, pool_size 1, max_overflow 0", "new"),
        ("concurrency 4, pool_size 4, max_overflow 2", None),
    ]
    same, moved = by_metric(diffs[1]), by_metric(diffs[3])
    assert same["mean"].change == 0 and same["mean"].beyond_noise is False
    # mean 300 -> 360 µs, sd 60, n 100: se = sqrt(36 + 36) = 8.485, t = 7.07, df 198
    assert moved["mean"].change == pytest.approx(0.2)
    assert moved["mean"].beyond_noise is True
    # ops 13,000 -> 11,000/s: t = ln(11/13) / sqrt(0.02² + (60 / 3600)²) = -6.417
    assert moved["ops_per_s"].change == pytest.approx(11000 / 13000 - 1)
    assert moved["ops_per_s"].worse and moved["ops_per_s"].beyond_noise
    assert moved["p99"].method == "n/a (no histograms)"
    assert diffs[3].label == "pool (concurrency 4, pool_size 4, max_overflow 2)"


def test_run_against_sweep_is_refused(base):
    sweep = load_result(DATA / "diff_sweep_base.json")
    with pytest.raises(IncomparableError) as raised:
        diff_results(base, sweep, base_label="run.json", new_label="sweep.json")
    assert str(raised.value) == (
        "run.json is a run and sweep.json is a sweep: "
        "dbbench diff compares a run with a run, or a sweep with a sweep"
    )
    assert isinstance(raised.value, ConfigError)


def test_stale_documents_are_refused():
    stale = load_result(DATA / "results" / "stale.json")
    with pytest.raises(IncomparableError, match="NEW is a 'stale' document"):
        comparable(stale, "NEW")
    with pytest.raises(IncomparableError, match="NEW is a 'diff' document"):
        comparable(load_result(DATA / "results" / "diff.json"), "NEW")
    base = comparable(load_result(DATA / "diff_base.json"), "BASE")
    assert isinstance(base.runners[0], RunnerResult)


def test_compare_and_run_documents_compare(base):
    other = dataclasses.replace(base, command="compare")
    assert len(diff_results(base, other)) == 4


def test_caveats_name_what_differs(base, new):
    assert caveats(base, new) == []
    eight = dataclasses.replace(new.settings.benchmark, concurrency=8)
    settings = dataclasses.replace(new.settings, benchmark=eight)
    changed = dataclasses.replace(new, complete=False, settings=settings)
    assert caveats(base, changed, base_label="a.json", new_label="b.json") == [
        "b.json was interrupted: its results cover only the turns done",
        "settings.benchmark.concurrency differs: 4 in a.json, 8 in b.json",
    ]


# --- output ------------------------------------------------------------------


def render(write, *args, **kwargs):
    buffer = io.StringIO()
    write(*args, Console(file=buffer, width=140, color_system=None), **kwargs)
    return buffer.getvalue()


def test_table_output(base, new):
    diffs = diff_results(base, new)
    thresholds = [parse_fail_on("p99:10%"), parse_fail_on("mean:5%")]
    trips = tripped(diffs, thresholds)
    text = render(
        diff_table.write,
        diffs,
        trips,
        thresholds=thresholds,
        base_label="base.json",
        warnings=warned(diffs, thresholds),
    )
    assert "only in base.json, not compared: nullpool" in text
    assert (
        "mean of persistent rose 12.2% (limit 5%), beyond noise within each run only "
        "(Welch's t-test, p < 0.0001)" in text
    )
    assert (
        "⚠ p99 of persistent rose 42.2% (limit 10%), beyond noise within each run only (99% "
        "CIs do not overlap): a warning only" in text
    )
    assert "verdicts within each run only" in text
    assert text.rstrip().endswith("FAIL: 1 threshold tripped")
    assert "no, p = 0.92 (within runs)" in text  # pool's mean


def test_table_verdicts():
    assert diff_table.verdict([], [Threshold("p99", 0.1)]) == "PASS: no threshold tripped (p99:10%)"
    assert "nothing gated" in diff_table.verdict([], [])


def test_markdown_output(base, new):
    diffs = diff_results(base, new)
    trips = tripped(diffs, [parse_fail_on("mean:5%")])
    lines = render(diff_table.write_markdown, diffs, trips).splitlines()
    assert lines[0] == "### dbbench diff: base → new"
    assert lines[2] == "| runner | metric | base | new | change | beyond noise? |"
    assert lines[3] == "|---|---|---:|---:|---:|---|"
    assert "| **persistent** | ❌ mean | 0.141 ms | 0.158 ms | **🔴 +12.2%** |" in "\n".join(lines)
    assert lines[-1] == "**FAIL**: 1 threshold tripped"


def test_markdown_escapes_table_cells():
    diff = RunnerDiff("a|b", None, [change("mean", 100, 101, beyond_noise=False)])
    lines = diff_table.markdown_lines([diff], [])
    assert "| **a\\|b** | mean |" in "\n".join(lines)


def test_data_files_are_valid_json():
    for path in DATA.glob("diff_*.json"):
        assert json.loads(path.read_text())["schema_version"] == 2  # as written


# --- the gate, as a library call -------------------------------------------------


def _only(runner: str, only_in: str | None) -> RunnerDiff:
    return RunnerDiff(runner=runner, cell=None, changes=[], only_in=only_in)


def test_the_gate_fails_when_new_lacks_what_base_has():
    p99 = [parse_fail_on("p99:10%")]
    both, gone = _only("raw", None), _only("nullpool", "base")
    verdict = diffing.gate([both, gone], p99)
    assert verdict.missing == ("nullpool",) and verdict.lacking and verdict.failed
    assert verdict.exit_status == ExitStatus.THRESHOLD
    assert verdict.lacking_line("base.json", "new.json") == (
        "FAIL: new.json lacks what base.json has (nullpool): nothing to gate on"
    )
    # without thresholds there is no gate to pass for want of evidence
    assert not diffing.gate([both, gone], []).failed
    # runners only in NEW are not missing; nothing compared at all is lacking
    nothing = diffing.gate([_only("pool", "new")], p99)
    assert nothing.lacking and nothing.lacking_line("a", "b").endswith(
        "(nothing in common): nothing to gate on"
    )
    assert diffing.gate([both, _only("pool", "new")], p99).exit_status == ExitStatus.SUCCESS


def test_compare_the_sample_files_as_the_cli_does():
    base = comparable(load_result(DATA / "diff_base.json"), "b")
    new = comparable(load_result(DATA / "diff_new.json"), "n")
    result = compare(base, new, [parse_fail_on("mean:5%")], base_label="b", new_label="n")
    assert [str(t.threshold) for t in result.verdict.trips] == ["mean:5%"]
    assert result.verdict.missing == ("nullpool",)
    assert result.exit_status == ExitStatus.THRESHOLD
    document = result.to_document()
    assert document["failed"] is True and document["base"] == "b"
    tripped = [{"runner": "persistent", "metric": "mean", "threshold": "mean:5%"}]
    assert document["tripped"] == tripped


def test_a_diff_document_goes_both_ways():
    """tests/data/results/diff.json: written by dbbench before diff documents had a version."""
    written = load(DATA / "results" / "diff.json")  # upgraded: schema_version 3, from 2
    assert written["upgraded_from"] == 2
    result = DiffResult.from_document(written)
    assert result.verdict.failed is True and len(result.verdict.trips) == 1
    document = json.loads(json.dumps(result.to_document()))
    assert document == written and document["caveats"] == []  # the file kept none
    # and the same as comparing the two files again, labelled as they were, but for the
    # caveats a diff document keeps since version 3
    again = compare(
        load_result(DATA / "diff_base.json"),
        load_result(DATA / "diff_new.json"),
        [parse_fail_on("p99:10%")],
        base_label=written["base"],
        new_label=written["new"],
    )
    now = json.loads(json.dumps(again.to_document()))
    assert now["caveats"] == again.caveats and now["schema_version"] == SCHEMA_VERSION
    # the file's gate failed on p99 within one run a side; a gate now only warns on that
    assert [t["metric"] for t in now["warned"]] == [t["metric"] for t in document["tripped"]]
    skip = ("caveats", "upgraded_from", "tripped", "warned", "failed")
    # the file's p-values came from a t distribution written by hand, now from scipy's:
    # the same to 12 digits
    assert {k: v for k, v in now.items() if k not in skip} == approx_floats(
        {k: v for k, v in document.items() if k not in skip}
    )


def approx_floats(value):
    """``value`` with every float inside it compared to within 1e-9 of itself."""
    if isinstance(value, float):
        return pytest.approx(value, rel=1e-9, abs=1e-300)
    if isinstance(value, dict):
        return {key: approx_floats(item) for key, item in value.items()}
    if isinstance(value, list):
        return [approx_floats(item) for item in value]
    return value
