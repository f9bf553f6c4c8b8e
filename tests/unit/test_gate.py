"""The gate between repetitions: a rerun of the same thing passes, a real regression fails,
too few repetitions are refused, tails only warn, a missing metric never passes."""

from __future__ import annotations

import dataclasses
import math

import pytest

from dbbench.config.settings import BenchmarkSettings, Settings
from dbbench.diffing import compare, parse_fail_on
from dbbench.errors import ConfigError, ExitStatus
from dbbench.scenarios.benchmark import run_benchmark
from tests.fakes import FakeClock, FakeRunner, fake_backend

MEAN = [parse_fail_on("mean:10%")]


def repeated(costs_ns: list[int], iterations: int = 20):
    """A run of pool with ``len(costs_ns)`` repetitions, repetition i's operations each
    taking ``costs_ns[i]`` on a fake clock."""
    clock, made = FakeClock(), []

    def create(label, settings):
        made.append(label)
        return FakeRunner(label, [], clock=clock, cost_ns=costs_ns[len(made) - 1])

    settings = Settings(
        benchmark=BenchmarkSettings(iterations=iterations, warmup=1, repeat=len(costs_ns))
    )
    return run_benchmark(settings, ["pool"], backend=fake_backend(create, clock))


JITTER = [100_000, 104_000, 98_000, 101_000, 103_000]


def test_a_rerun_of_the_same_costs_passes():
    result = compare(repeated(JITTER), repeated(JITTER[::-1]), MEAN)
    assert not result.verdict.failed
    (mean,) = [c for c in result.diffs[0].changes if c.metric == "mean"]
    assert mean.repetitions == (5, 5) and mean.method.startswith("mann-whitney")
    assert mean.beyond_noise is False and mean.change == pytest.approx(0.0)


def test_a_regression_beyond_the_limit_and_the_noise_fails():
    slower = [round(c * 1.3) for c in JITTER]
    result = compare(repeated(JITTER), repeated(slower), MEAN)
    assert result.exit_status == ExitStatus.THRESHOLD
    (trip,) = result.verdict.trips
    assert trip.change.metric == "mean" and trip.change.beyond_noise
    assert trip.change.change == pytest.approx(0.3, abs=0.02)
    low, high = trip.change.change_interval
    assert low <= trip.change.change <= high


def test_a_change_beyond_noise_but_within_the_limit_passes():
    result = compare(repeated(JITTER), repeated([round(c * 1.06) for c in JITTER]), MEAN)
    assert not result.verdict.failed


@pytest.mark.parametrize(("base", "new"), [(3, 3), (1, 5), (5, 2)])
def test_too_few_repetitions_for_the_test_to_reach_significance_are_refused(base, new):
    with pytest.raises(ConfigError, match=r"only with 4 a side; rerun both with --repeat 4"):
        compare(repeated(JITTER[:base]), repeated(JITTER[:new]), MEAN)
    # without a threshold the diff is shown, untested
    shown = compare(repeated(JITTER[:base]), repeated(JITTER[:new]))
    (mean,) = [c for c in shown.diffs[0].changes if c.metric == "mean"]
    assert mean.beyond_noise is None


def test_a_tail_percentile_between_few_repetitions_warns_and_does_not_fail():
    slower = [c * 2 for c in JITTER]
    result = compare(repeated(JITTER), repeated(slower), [parse_fail_on("p99:10%")])
    assert not result.verdict.failed and result.exit_status == ExitStatus.SUCCESS
    (warning,) = result.verdict.warnings
    assert warning.change.metric == "p99" and warning.change.repetitions == (5, 5)
    document = result.to_document()
    assert document["warned"] == [{"runner": "pool", "metric": "p99", "threshold": "p99:10%"}]


def test_a_tail_percentile_gates_with_enough_repetitions():
    base = [100_000 + 1_000 * (i % 5) for i in range(10)]
    result = compare(repeated(base), repeated([c * 2 for c in base]), [parse_fail_on("p99:10%")])
    assert result.verdict.failed and [t.change.metric for t in result.verdict.trips] == ["p99"]


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_a_metric_that_is_not_finite_never_passes(bad):
    base, new = repeated(JITTER), repeated(JITTER)
    broken = dataclasses.replace(
        new.repetitions[2].runners[0],
        summary=dataclasses.replace(new.repetitions[2].runners[0].summary, mean_ns=bad),
    )
    repetitions = list(new.repetitions)
    repetitions[2] = dataclasses.replace(repetitions[2], runners=[broken])
    new = dataclasses.replace(new, repetitions=tuple(repetitions))
    result = compare(base, new, MEAN)
    assert result.verdict.failed
    (trip,) = result.verdict.trips
    assert trip.change.metric == "mean" and trip.change.missing


def test_paired_repetitions_are_tested_pair_by_pair():
    # a drift that moves both sides alike in each repetition: paired, 10% is plain
    drift = [100_000, 150_000, 80_000, 120_000, 95_000]
    result = compare(repeated(drift), repeated([round(c * 1.15) for c in drift]), MEAN, paired=True)
    (trip,) = result.verdict.trips
    assert trip.change.method.startswith("paired") and trip.change.repetitions == (5, 5)
    # unpaired, the drift hides it
    assert not compare(
        repeated(drift), repeated([round(c * 1.15) for c in drift]), MEAN
    ).verdict.failed


@pytest.mark.parametrize("bad", [math.nan, math.inf, -5_000.0, 0.0])
def test_a_value_that_is_no_measurement_never_passes_within_one_run_either(bad):
    base, new = repeated([100_000]), repeated([100_000])
    pool = new.runners[0]
    broken = dataclasses.replace(pool, summary=dataclasses.replace(pool.summary, mean_ns=bad))
    result = compare(base, dataclasses.replace(new, runners=[broken]), MEAN)
    assert result.verdict.failed and result.verdict.trips[0].change.missing


def test_a_runner_missing_from_one_repetition_never_passes():
    base, new = repeated(JITTER), repeated(JITTER)
    repetitions = list(new.repetitions)
    repetitions[2] = dataclasses.replace(repetitions[2], runners=[])
    result = compare(base, dataclasses.replace(new, repetitions=tuple(repetitions)), MEAN)
    assert result.verdict.failed and result.verdict.trips[0].change.missing
