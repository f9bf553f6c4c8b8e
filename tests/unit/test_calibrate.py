"""``dbbench calibrate``: A/A trials with fake runners whose costs are chosen, the smallest
``--fail-on`` limit and the suggested one worked out by hand, both recipes, Ctrl-C, the
document, every format and the command line."""

from __future__ import annotations

import csv
import dataclasses
import io
import json

import jsonschema
import pytest
from click.testing import CliRunner
from rich.console import Console

from dbbench.cli import Env, cli
from dbbench.config.settings import BenchmarkSettings, Settings
from dbbench.diffing import tripped
from dbbench.errors import ConfigError, ExitStatus
from dbbench.output.formats import get_format
from dbbench.results.model import (
    CalibrationResult,
    MetricChange,
    RunnerDiff,
    Threshold,
    from_document,
    load_result,
)
from dbbench.scenarios.calibrate import calibrate, calibrate_metric, check_request
from dbbench.stats import trials_for_bound, zero_events_bound
from tests.fakes import FakeClock, FakeRunner, fake_backend
from tests.unit.test_model import SCHEMA

JITTER = [100_000, 104_000, 98_000, 101_000, 103_000]


def change(metric: str, value: float | None, beyond: bool | None) -> MetricChange:
    """A trial's change of ``metric`` (``value``: new / base - 1), as the gate gives it."""
    worse = None if value is None else (value < 0 if metric == "ops_per_s" else value > 0)
    base, new = (None, None) if value is None else (100.0, 100.0 * (1 + value))
    return MetricChange(metric, base, new, value, worse, beyond, 0.5, "mann-whitney", None, None)


# --- the arithmetic, by hand ----------------------------------------------------


def test_the_smallest_limit_is_the_largest_worsening_beyond_noise():
    trials = [
        change("mean", 0.04, True),  # worse, beyond noise: a 0% .. 4% limit trips on it
        change("mean", -0.06, True),  # better: never a false alarm, but its size counts
        change("mean", 0.09, False),  # worse but within noise: the gate passes it
        change("mean", 0.02, None),  # untestable: the limit alone decides, as in the gate
    ]
    found = calibrate_metric("pool", "mean", trials, repeat=5)
    assert found.smallest == pytest.approx(0.04)
    assert (found.trials, found.beyond_noise, found.worse_beyond_noise) == (4, 2, 2)
    assert found.largest_change == pytest.approx(0.09)
    # 1.5 × 9% = 13.5%, rounded up to a whole per cent
    assert found.suggested == pytest.approx(0.14)
    assert found.gates and found.missing == 0
    # the gate's own rule agrees: at the smallest limit no trial trips, just below it one does
    diffs = [RunnerDiff("pool", None, [c]) for c in trials]
    assert tripped(diffs, [Threshold("mean", found.smallest)]) == []
    assert len(tripped(diffs, [Threshold("mean", found.smallest - 0.001)])) == 1


def test_throughput_worsens_as_it_falls():
    trials = [change("ops_per_s", -0.05, True), change("ops_per_s", 0.07, True)]
    found = calibrate_metric("pool", "ops_per_s", trials, repeat=5)
    assert found.smallest == pytest.approx(0.05)  # the fall; the rise is no alarm
    assert found.suggested == pytest.approx(0.11)  # 1.5 × 7% = 10.5% -> 11%


def test_no_trial_beyond_noise_allows_any_limit_and_the_suggestion_is_one_per_cent_at_least():
    trials = [change("p50", 0.001, False), change("p50", -0.002, False)]
    found = calibrate_metric("pool", "p50", trials, repeat=5)
    assert found.smallest == 0.0 and found.beyond_noise == 0
    assert found.suggested == pytest.approx(0.01)


def test_a_trial_without_a_value_leaves_no_limit():
    trials = [change("mean", 0.01, False), change("mean", None, None)]
    found = calibrate_metric("pool", "mean", trials, repeat=5)
    assert found.missing == 1 and found.smallest is None and found.suggested is None


@pytest.mark.parametrize(("metric", "repeat", "gates"), [("p99", 5, False), ("p99", 10, True)])
def test_tail_percentiles_gate_only_with_ten_repetitions(metric, repeat, gates):
    found = calibrate_metric("pool", metric, [change(metric, 0.01, False)] * 2, repeat=repeat)
    assert found.gates is gates


def test_the_bound_of_the_false_alarm_rate():
    assert zero_events_bound(10) == pytest.approx(1 - 0.05**0.1)  # 25.9%
    assert zero_events_bound(20) == pytest.approx(0.1391, abs=1e-4)
    assert trials_for_bound(0.05) == 59 and zero_events_bound(59) < 0.05 < zero_events_bound(58)


# --- the trials, with fake runners ------------------------------------------------


def saved_backend(costs_ns: list[int]):
    """Each runner made costs the next of ``costs_ns`` per operation: one repetition of one
    side of one trial (a repetition opens its runners afresh)."""
    clock, made = FakeClock(), []

    def create(label, settings):
        made.append(label)
        return FakeRunner(label, [], clock=clock, cost_ns=costs_ns[len(made) - 1])

    return fake_backend(create, clock), made


def repeated(repeat: int = 5, iterations: int = 20) -> Settings:
    return Settings(benchmark=BenchmarkSettings(iterations=iterations, warmup=1, repeat=repeat))


def test_saved_runs_trials_worked_out_by_hand():
    slower, faster = [round(c * 1.25) for c in JITTER], [round(c * 0.9) for c in JITTER]
    # trial 1: B 25% slower in every repetition; 2: the same costs, reordered; 3: B 10% faster
    costs = JITTER + slower + JITTER + JITTER[::-1] + JITTER + faster
    backend, made = saved_backend(costs)
    labels: list[str] = []
    result = calibrate(repeated(), ["pool"], trials=3, backend=backend, on_run=labels.append)
    assert made == ["pool"] * 30  # 3 trials × 2 runs × 5 repetitions, each afresh
    assert labels[:2] == ["trial 1/3: A, repetition 1/5", "trial 1/3: A, repetition 2/5"]
    assert "trial 3/3: B, repetition 5/5" in labels
    assert result.complete and result.recipe == "saved" and len(result.trials) == 3
    first = result.trials[0].change("pool", "mean")
    assert first.repetitions == (5, 5) and first.method.startswith("mann-whitney")
    assert first.change == pytest.approx(0.25, abs=1e-3) and first.beyond_noise
    by_metric = {c.metric: c for c in result.calibrations}
    mean = by_metric["mean"]
    assert (mean.beyond_noise, mean.worse_beyond_noise) == (2, 1)  # trials 1 and 3; 1 worse
    assert mean.smallest == pytest.approx(0.25, abs=1e-3)
    assert mean.suggested == pytest.approx(0.38)  # 1.5 × 25% = 37.5% -> 38%
    ops = by_metric["ops_per_s"]
    assert ops.smallest == pytest.approx(0.20, abs=1e-3)  # 1 / 1.25 = 0.8: 20% fewer
    assert ops.suggested == pytest.approx(0.30)
    assert not by_metric["p95"].gates and not by_metric["p99"].gates
    assert result.false_alarm_bound == pytest.approx(1 - 0.05 ** (1 / 3))
    assert result.gate_limit("mean") == pytest.approx(0.38)


def duet_backend(ratios: list[list[float]]):
    """A duet's runners: repetition r of trial t costs a drift shared by both variants
    (``JITTER[r]`` × 1, 1.5, 0.8...), new ``ratios[t][r]`` times base's."""
    clock, made = FakeClock(), []
    drift = [1.0, 1.5, 0.8, 1.2, 0.95]

    def create(label, settings):
        made.append(label)
        trial, repetition = divmod((len(made) - 1) // 2, 5)
        cost = JITTER[repetition] * drift[repetition]
        if label.endswith("@new"):
            cost *= ratios[trial][repetition]
        return FakeRunner(label, [], clock=clock, cost_ns=round(cost))

    return fake_backend(create, clock), made


def test_a_duet_measures_two_identical_variants_in_one_run_paired():
    ratios = [[1.05] * 5, [1.01, 0.99, 1.0, 1.01, 0.99]]
    backend, made = duet_backend(ratios)
    result = calibrate(repeated(), ["pool"], trials=2, recipe="duet", backend=backend)
    # both in each repetition's turns, every other repetition in the reverse order
    one_trial = (["pool@base", "pool@new", "pool@new", "pool@base"] * 3)[:10]
    assert made == one_trial * 2
    first = result.trials[0].change("pool", "mean")
    # the drift moves both alike: paired, 5% is plain
    assert first.method.startswith("paired") and first.beyond_noise
    assert first.change == pytest.approx(0.05, abs=1e-3)
    assert result.trials[1].change("pool", "mean").beyond_noise is False
    mean = next(c for c in result.calibrations if c.metric == "mean")
    assert mean.smallest == pytest.approx(0.05, abs=1e-3)
    assert mean.suggested == pytest.approx(0.08)  # 1.5 × 5% = 7.5% -> 8%
    assert [d.runner for d in result.trials[0].diffs] == ["pool"]  # as the variant views


def test_ctrl_c_between_runs_keeps_the_trials_done():
    clock, made = FakeClock(), []

    def create(label, settings):
        made.append(label)
        if len(made) == 21:  # trial 3's first runner
            raise KeyboardInterrupt
        return FakeRunner(label, [], clock=clock, cost_ns=JITTER[len(made) % 5])

    written: list[CalibrationResult] = []
    result = calibrate(
        repeated(),
        ["pool"],
        trials=5,
        backend=fake_backend(create, clock),
        on_result=written.append,
    )
    assert len(result.trials) == 2 and not result.complete
    assert result.exit_status == ExitStatus.INTERRUPTED
    assert result.notes == ("interrupted in trial 3: the trials before it are kept",)
    assert [len(w.trials) for w in written] == [1, 2, 2]  # after each trial, then the end


def test_ctrl_c_in_a_run_keeps_the_trials_done():
    clock, made = FakeClock(), []

    def create(label, settings):
        made.append(label)
        stop = len(made) == 13  # trial 2, run B, its third repetition
        fail = (lambda call: KeyboardInterrupt() if call == 4 else None) if stop else None
        return FakeRunner(label, [], clock=clock, cost_ns=JITTER[len(made) % 5], fail=fail)

    result = calibrate(repeated(), ["pool"], trials=3, backend=fake_backend(create, clock))
    assert len(result.trials) == 1 and not result.complete
    assert result.notes == ("interrupted in trial 2: the trials before it are kept",)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"repeat": 3}, r"\[benchmark\] repeat = 3: a gate between 3 repetitions a side can never"),
        ({"repeat": 2}, r"it needs 4\), so it would never alarm"),
        ({"trials": 1}, r"trials = 1: must be at least 2 \(a calibration needs 2 trials or more\)"),
        ({"recipe": "twice"}, r"'twice' is not a recipe: choose saved or duet"),
        ({"recipe": "duet", "drivers": ["pymysql", "mysqlclient"]}, r"a duet calibrates one"),
    ],
)
def test_what_cannot_be_calibrated_is_refused_before_anything_runs(arguments, message):
    settings = repeated(repeat=arguments.get("repeat", 5))
    with pytest.raises(ConfigError, match=message):
        check_request(
            settings,
            arguments.get("recipe", "saved"),
            arguments.get("trials", 10),
            arguments.get("drivers", ()),
        )


def test_a_duet_of_two_repetitions_can_gate_paired_and_one_repetition_gates_within_runs():
    check_request(repeated(repeat=2), "duet", 10)
    check_request(repeated(repeat=1), "saved", 10)
    backend, _ = saved_backend([100_000, 101_000, 100_000, 99_000])
    result = calibrate(repeated(repeat=1), ["pool"], trials=2, backend=backend)
    mean = result.trials[0].change("pool", "mean")
    assert mean.within_run and mean.method == "welch-t"


# --- the document and the formats ---------------------------------------------------


@pytest.fixture(scope="module")
def calibrated() -> CalibrationResult:
    costs = JITTER + [round(c * 1.25) for c in JITTER] + JITTER + JITTER[::-1]
    backend, _ = saved_backend(costs)
    return calibrate(repeated(), ["pool"], trials=2, backend=backend)


def test_the_document_goes_to_its_model_and_back_and_the_schema_accepts_it(calibrated):
    document = json.loads(json.dumps(calibrated.to_document()))
    assert document["command"] == "calibrate" and document["recipe"] == "saved"
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    again = from_document(document)
    assert isinstance(again, CalibrationResult) and again.to_document() == document
    assert again.calibrations == calibrated.calibrations
    assert again.trials[0].change("pool", "mean") == calibrated.trials[0].change("pool", "mean")


def render(result: CalibrationResult, name: str) -> str:
    console = Console(file=io.StringIO(), width=160, color_system=None)
    get_format(name).calibrate(result, console)
    return console.file.getvalue()


def test_the_table_shows_each_trial_the_limits_the_suggestion_and_the_bound(calibrated):
    text = render(calibrated, "table")
    assert "dbbench calibrate: 2 A/A trials (saved runs" in text
    assert "+25.0%*" in text  # trial 1's mean, beyond noise
    assert "suggested: --fail-on mean:38% --fail-on p50:38% --fail-on ops_per_s:30%" in text
    assert "38% (warns only)" in text  # p95 and p99 below 10 repetitions
    assert "with none in 2, it may still be as high as 78% (95% upper bound" in text
    assert "59 trials without one bound it below 5%" in text


def test_markdown_has_both_tables_escaped(calibrated):
    text = render(calibrated, "markdown")
    assert text.startswith("### dbbench calibrate: 2 A/A trials")
    assert "| trial | runner | mean | p50 | p95 | p99 | ops_per_s |" in text
    assert "+25.0%\\*" in text  # the mark is not emphasis
    assert "**suggested: --fail-on mean:38%" in text


def test_csv_a_row_per_runner_and_metric_with_each_trials_change(calibrated):
    rows = list(csv.DictReader(io.StringIO(render(calibrated, "csv"))))
    assert [r["metric"] for r in rows] == ["mean", "p50", "p95", "p99", "ops_per_s"]
    mean = rows[0]
    assert float(mean["suggested"]) == pytest.approx(0.38)
    assert mean["gates"] == "true" and rows[3]["gates"] == "false"
    changes = [float(c) for c in mean["changes"].split(";")]
    assert changes[0] == pytest.approx(0.25, abs=1e-3) and len(changes) == 2
    assert mean["beyond_noise_trials"] == "1"


def test_json_is_the_document(calibrated):
    assert json.loads(render(calibrated, "json")) == calibrated.to_document()


# --- the command line -------------------------------------------------------------


@pytest.fixture
def env(monkeypatch, tmp_path) -> Env:
    """The CLI against fake runners whose every operation costs the same: an A/A of no
    noise at all."""
    monkeypatch.chdir(tmp_path)
    for variable in ("DBBENCH_HOST", "DBBENCH_PORT", "DBBENCH_PASSWORD", "MYSQL_PWD"):
        monkeypatch.delenv(variable, raising=False)
    clock = FakeClock()
    backend = fake_backend(lambda label, s: FakeRunner(label, [], clock, cost_ns=50_000), clock)
    return Env(backend=backend)


def test_calibrate_on_the_command_line_writes_its_file_and_show_reads_it(env, tmp_path):
    args = ["calibrate", "--runner", "pool", "-n", "20", "--repeat", "4", "--trials", "2"]
    result = CliRunner().invoke(cli, [*args, "-q", "-o", "c.json"], obj=env)
    assert result.exit_code == ExitStatus.SUCCESS, result.output
    assert "dbbench calibrate: 2 A/A trials" in result.output
    saved = load_result(tmp_path / "c.json")
    assert isinstance(saved, CalibrationResult) and saved.complete
    assert saved.settings.benchmark.repeat == 4 and saved.runner_names == ("pool",)
    shown = CliRunner().invoke(cli, ["show", "c.json", "--format", "markdown"], obj=env)
    assert shown.exit_code == 0 and "### dbbench calibrate" in shown.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--repeat", "3"], "can never reach p < 0.05"),
        (["--trials", "1"], "--trials = '1': must be at least 2 (a calibration needs 2 trials"),
        (["--pool-size", "1,5"], "calibrate measures one configuration"),
    ],
)
def test_calibrate_refuses_in_one_line(env, args, message):
    result = CliRunner().invoke(cli, ["calibrate", "--runner", "pool", *args], obj=env)
    assert result.exit_code == ExitStatus.USAGE or result.exit_code == ExitStatus.ERROR
    assert message in result.output and "Traceback" not in result.output


def test_a_duet_on_the_command_line(env):
    args = ["calibrate", "--runner", "pool", "-n", "20", "--repeat", "2", "--trials", "2"]
    result = CliRunner().invoke(cli, [*args, "--recipe", "duet", "--json"], obj=env)
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["recipe"] == "duet" and len(document["trials"]) == 2
    assert document["trials"][0]["diffs"][0]["changes"][0]["method"].startswith("paired")
    assert dataclasses.asdict(from_document(document).calibrations[0])["trials"] == 2


def test_the_report_draws_a_calibration(calibrated):
    from dbbench.output import report

    page = report.build_report([("calibration.json", calibrated)])
    assert "calibrate: A/A trials, and the --fail-on limits their noise allows" in page
    assert "suggested: --fail-on mean:38%" in page and "+25.0%*" in page
