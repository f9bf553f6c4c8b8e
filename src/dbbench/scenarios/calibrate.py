"""``dbbench calibrate``: A/A trials of the user's own settings, and the smallest
``--fail-on`` limit their noise allows, per runner and metric.

An A/A trial measures the same settings twice, as a CI gate would compare two builds,
and compares the two with the gate's own tests (``diffing.compare``).  Nothing changed,
so every threshold it trips is a false alarm.  Two recipes, as docs/guide/ci.md has them:

- ``saved``: two runs one after the other, each ``[benchmark] repeat`` repetitions,
  compared unpaired (``dbbench run -o A.json``, again ``-o B.json``, ``dbbench diff``);
- ``duet``: one run of two identical variants, ``base`` and ``new``, measured in the same
  turns, compared paired by repetition (``dbbench compare --variant base=...
  --variant new=... --fail-on``); the variants are made in memory (``variants.twins``).

The arithmetic (``calibrate_metric``), per runner and metric over the trials:

- a threshold ``METRIC:LIMIT`` trips on a trial whose change is worse, beyond noise (or
  not testable) and larger than LIMIT (``diffing.tripped``); so the smallest limit with
  no false alarm in these trials is the largest worsening among the trials beyond noise,
  0 when none was; none at all when a trial had no value (a gate never passes on that);
- the suggested limit is ``HEADROOM`` times the largest change of any trial, either way
  and beyond noise or not, rounded up to a whole per cent (1% at least): the two sides
  are the same settings, so a fall of 4% could as well have been a rise, and a change
  within noise this time may be beyond it next time;
- p95 and p99 with fewer than ``diffing.TAIL_REPETITIONS`` repetitions a side only
  warn in a gate, and are reported as such.

N trials bound the false-alarm rate only roughly: with none in N, its 95% upper bound
is ``1 - 0.05 ** (1 / N)`` (``stats.zero_events_bound``): 26% for 10 trials, 14% for 20;
it takes 59 to bound it below 5%.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any

from dbbench import diffing
from dbbench.config.schema import mentioned
from dbbench.config.settings import Settings
from dbbench.engine.harness import ProgressCallback
from dbbench.errors import ConfigError, mention
from dbbench.parsing import bad_value
from dbbench.results.model import (
    CalibrationResult,
    CalibrationTrial,
    MetricCalibration,
    MetricChange,
    RunnerDiff,
    RunResult,
    SettingsSummary,
)
from dbbench.scenarios import variants
from dbbench.scenarios.backend import LIVE, Backend
from dbbench.scenarios.benchmark import check_sql, plan_run, repeat_run
from dbbench.scenarios.calibrate_args import DEFAULT_TRIALS, RECIPES, check_trials
from dbbench.scenarios.summary import iso_utc
from dbbench.stats import zero_events_bound

#: the suggested limit is this many times the largest A/A change, rounded up
HEADROOM = 1.5
#: the smallest limit suggested, as a fraction
SMALLEST_SUGGESTED = 0.01
#: the confidence of the bound of the false-alarm rate
CONFIDENCE = 0.95
#: the variants of a duet trial, named as ``dbbench compare --variant`` names them
DUET = ("base", "new")


def check_request(
    settings: Settings, recipe: str, trials: int, driver_names: Sequence[str] = ()
) -> None:
    """Refuse, before anything connects, what ``calibrate`` cannot measure: an unknown
    recipe, fewer than 2 trials, several drivers in a duet, and repetitions too few for
    the gate's test between them ever to reach ``diffing.BETWEEN_ALPHA`` (one repetition
    is a gate within each run, and is calibrated as one)."""
    from dbbench.significance import can_reach, repetitions_needed  # scipy, on use

    if recipe not in RECIPES:
        raise ConfigError(
            f"{mention('recipe')}: {recipe!r} is not a recipe: choose {' or '.join(RECIPES)}"
        )
    try:
        check_trials(trials)
    except ValueError as exc:
        raise bad_value(mention("trials"), trials, str(exc)) from None
    if settings.variants:
        raise ConfigError(
            f"{mention('variants')}: calibrate measures one configuration against itself; "
            "give it the settings of one variant"
        )
    duet = recipe == "duet"
    if duet and len(driver_names) > 1:
        raise ConfigError(
            "a duet calibrates one driver: give --driver one name, or use --recipe saved"
        )
    repeat = settings.benchmark.repeat
    if repeat > 1 and not can_reach(repeat, repeat, diffing.BETWEEN_ALPHA, paired=duet):
        needed = repetitions_needed(diffing.BETWEEN_ALPHA, paired=duet)
        raise ConfigError(
            f"{mentioned('benchmark', 'repeat')} = {repeat}: a gate between {repeat} repetitions "
            f"a side can never reach p < {diffing.BETWEEN_ALPHA:g} (it needs {needed}), so "
            f"it would never alarm; calibrate with {needed} or more, or with 1 (a gate "
            "within each run)"
        )


def calibrate_metric(
    runner: str, metric: str, changes: Sequence[MetricChange], repeat: int
) -> MetricCalibration:
    """What ``changes`` (one metric of one runner, one per A/A trial) say of a gate on it:
    the smallest limit none of them trips, and one with headroom (the module says how)."""
    compared = [c for c in changes if not c.missing and c.change is not None]
    missing = len(changes) - len(compared)
    tripping = [c for c in compared if c.worse and c.beyond_noise is not False]
    largest = max((abs(c.change) for c in compared if c.change is not None), default=None)
    smallest = None
    if not missing:
        smallest = max((diffing.worsening(c) or 0.0 for c in tripping), default=0.0)
    suggested = None
    if not missing and largest is not None:
        suggested = max(SMALLEST_SUGGESTED, _whole_percent_up(HEADROOM * largest))
    return MetricCalibration(
        runner=runner,
        metric=metric,
        trials=len(changes),
        beyond_noise=sum(1 for c in compared if c.beyond_noise),
        worse_beyond_noise=len(tripping),
        missing=missing,
        largest_change=largest,
        smallest=smallest,
        suggested=suggested,
        gates=metric not in diffing.TAIL_METRICS or repeat >= diffing.TAIL_REPETITIONS,
    )


def _whole_percent_up(fraction: float) -> float:
    """0.0612 -> 0.07; 0.06 stays 0.06 (within floating point)."""
    return math.ceil(fraction * 100 - 1e-9) / 100


def calibrations(trials: Sequence[CalibrationTrial], repeat: int) -> tuple[MetricCalibration, ...]:
    """Every runner's metrics over ``trials``, in the order of the first trial's runners
    and ``diffing.METRICS``."""
    if not trials:
        return ()
    found = []
    for diff in trials[0].diffs:
        for metric in diffing.METRICS:
            changes = [
                change
                for trial in trials
                if (change := trial.change(diff.runner, metric)) is not None
            ]
            found.append(calibrate_metric(diff.runner, metric, changes, repeat))
    return tuple(found)


def calibrate(
    settings: Settings,
    runner_names: Sequence[str],
    *,
    trials: int = DEFAULT_TRIALS,
    recipe: str = "saved",
    driver_names: Sequence[str] = (),
    on_run: Callable[[str], ProgressCallback | None] | None = None,
    on_result: Callable[[CalibrationResult], None] | None = None,
    backend: Backend = LIVE,
    allow_writes: bool = False,
) -> CalibrationResult:
    """``trials`` A/A trials of ``settings`` with ``runner_names`` by ``recipe`` (the
    module says what each is), each compared as the gate compares, and what they say
    of each runner's metrics (``calibrations``).

    ``on_run`` gets "trial 2/10: A" (and ", repetition 3/5") before each run and gives
    its progress callback; ``on_result`` the result after each trial, then the final one.
    Ctrl-C, or a run stopped by ``--max-errors``, ends the calibration with the trials
    done (``complete`` False); the trial under way is left out.
    """
    check_sql(settings, allow_writes)
    check_request(settings, recipe, trials, driver_names)
    started_at = iso_utc(backend.wall_clock_s())
    done: list[CalibrationTrial] = []
    #: where the first run ran (a duet's as its base variant's)
    environment: dict[str, Any] = {}
    notes: list[str] = []

    def measure(number: int, side: str, measured: Settings) -> RunResult | None:
        """One run of trial ``number``; None when it did not finish (Ctrl-C, --max-errors)."""
        label = f"trial {number}/{trials}: {side}"
        run = plan_run(
            measured,
            runner_names,
            () if measured.variants else driver_names,
            command="compare",
            allow_writes=allow_writes,
        )
        repeated = measured.benchmark.repeat > 1  # each repetition's progress is labelled
        result = repeat_run(
            run,
            on_progress=on_run(label) if on_run and not repeated else None,
            backend=backend,
            on_repetition=(lambda text: on_run(f"{label}, {text}")) if on_run else None,
        )
        if result.stopped:
            notes.append(f"trial {number} stopped: {result.stopped}; the trials before it are kept")
        elif not result.complete:
            notes.append(f"interrupted in trial {number}: the trials before it are kept")
        return result if result.complete and not result.stopped else None

    def trial(number: int) -> CalibrationTrial | None:
        began = iso_utc(backend.wall_clock_s())
        if recipe == "saved":  # as dbbench diff A.json B.json compares them
            base = measure(number, "A", settings)
            new = measure(number, "B", settings) if base is not None else None
            if base is None or new is None:
                return None
            where = base.environment
            compared = diffing.compare(base, new, base_label="A", new_label="B")
        else:  # as dbbench compare --variant base=... --variant new=... --fail-on does
            duet = measure(number, "base and new", _duet_settings(settings, driver_names))
            if duet is None:
                return None
            where = duet.environment.variant(DUET[0])
            (compared,) = diffing.compare_variants(duet)
        environment.update(environment or where.to_document())
        return CalibrationTrial(
            number, _compared(compared.diffs), began, iso_utc(backend.wall_clock_s())
        )

    def result(complete: bool) -> CalibrationResult:
        return CalibrationResult(
            recipe=recipe,
            trials_asked=trials,
            trials=tuple(done),
            calibrations=calibrations(done, settings.benchmark.repeat),
            headroom=HEADROOM,
            confidence=CONFIDENCE,
            false_alarm_bound=zero_events_bound(len(done), CONFIDENCE) if done else None,
            settings=SettingsSummary.from_document(settings.public_dict()),
            environment=environment,
            started_at=started_at,
            finished_at=iso_utc(backend.wall_clock_s()),
            complete=complete,
            notes=tuple(notes),
        )

    try:
        for number in range(1, trials + 1):
            found = trial(number)
            if found is None:
                break
            done.append(found)
            if on_result is not None and number < trials:
                on_result(result(complete=False))
    except KeyboardInterrupt:
        notes.append(f"interrupted in trial {len(done) + 1}: the trials before it are kept")
    final = result(complete=len(done) == trials)
    if on_result is not None:
        on_result(final)
    return final


def _duet_settings(settings: Settings, driver_names: Sequence[str]) -> Settings:
    """The settings of a duet trial: the run's (with its one ``--driver``) as two
    identical variants, ``DUET``."""
    if len(driver_names) == 1:
        database = dataclasses.replace(settings.database, driver=driver_names[0])
        settings = dataclasses.replace(settings, database=database)
    return variants.twins(settings, DUET)


def _compared(diffs: Sequence[RunnerDiff]) -> list[RunnerDiff]:
    """The runners both sides measured (an A/A trial has the same on both)."""
    return [d for d in diffs if d.only_in is None]
