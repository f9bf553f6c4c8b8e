"""Compare two result documents, metric by metric, and gate on regressions.

Pure: typed results in (``model.RunResult``, ``model.SweepResult``: a file read
with ``model.load_result``, or a run just measured), dataclasses out; no I/O.
``dbbench diff BASE NEW --fail-on p99:10%`` is ``compare``: ``diff_results``
(what changed, and is it beyond noise), ``parse_fail_on`` (the thresholds)
and ``gate`` (which thresholds the changes break, and whether NEW lacks what
BASE has), in a ``DiffResult`` that knows its exit status.

Noise.  Every change is tested against the sampling noise *within* the two
runs, from what each document stores, at the 1% level (``ALPHA``): a CI gate
that fails one build in twenty on noise alone (the usual 5%) teaches people to
re-run it until it passes.

- ``mean``: Welch's two-sided t-test from the exact ``n``, mean and standard
  deviation (see ``welch_t_test``); method ``"welch-t"``.
- ``ops_per_s``: a two-sided t-test of the log ratio of the two throughputs,
  with each run's relative standard error taken from its latencies (see
  ``throughput_test``); method ``"log-ratio-t"``.
- ``p50``, ``p95``, ``p99``: a distribution-free 99% confidence interval for
  the quantile in each run, from its histogram (see ``quantile_interval``);
  beyond noise when the two intervals do not overlap; method ``"quantile-ci"``.
  Without histograms (files upgraded from schema version 1) the method is
  ``"n/a (no histograms)"`` and ``beyond_noise`` is None.

What "beyond noise" does not cover: the tests treat the operations of a run as
independent draws, and they know nothing of the run-to-run variation of the
machine (other load, CPU frequency, the server's caches).  Two runs of the same
code with thousands of operations each are often "beyond noise" by a few per
cent.  That is what the percentage limit of ``--fail-on`` is for: a threshold
trips only when the change is both larger than the limit and beyond noise.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dbbench.config.schema import argument
from dbbench.errors import ConfigError, mention
from dbbench.histogram import LatencyHistogram
from dbbench.parsing import bad_value
from dbbench.results.model import (
    DiffResult,
    MetricChange,
    Result,
    RunnerDiff,
    RunnerResult,
    RunResult,
    SweepResult,
    Threshold,
    Trip,
    Verdict,
)
from dbbench.stats import quantile_ranks

METRICS = ("mean", "p50", "p95", "p99", "ops_per_s")
#: latency metrics: higher is worse; ``ops_per_s``: lower is worse
LATENCY_METRICS = ("mean", "p50", "p95", "p99")
#: two-sided significance level of the noise tests within one run (operations as samples)
ALPHA = 0.01
#: two-sided significance level of the tests between repetitions (``significance.ALPHA``):
#: with 5 repetitions a side Mann-Whitney's smallest p is 0.008, and the limit of
#: ``--fail-on`` must be broken too (``benchmarks/gate.py`` counts the false alarms)
BETWEEN_ALPHA = 0.05
#: tail percentiles gate on at least this many repetitions a side; with fewer, a
#: threshold they break is a warning (their run-to-run spread is many times the mean's)
TAIL_METRICS = ("p95", "p99")
TAIL_REPETITIONS = 10
#: confidence of the quantile intervals: 1 - ALPHA
CONFIDENCE = 1 - ALPHA
#: a change within this of the limit counts as at the limit, which passes
#: (105 / 100 - 1 is 0.050000000000000044 in floating point)
LIMIT_TOLERANCE = 1e-9

_QUANTILES = {"p50": 0.50, "p95": 0.95, "p99": 0.99}
_CELL_KEYS = ("concurrency", "pool_size", "max_overflow")


class IncomparableError(ConfigError):
    """The two documents cannot be compared: different commands, or not results at all."""


# --- --fail-on ---------------------------------------------------------------

#: names people reach for, for the did-you-mean hint (they are not accepted as such)
_METRIC_HINTS = {
    "ops": "ops_per_s",
    "ops/s": "ops_per_s",
    "throughput": "ops_per_s",
    "median": "p50",
    "avg": "mean",
    "average": "mean",
}
_FAIL_ON = re.compile(r"^\s*([^:]*?)\s*:\s*(.*?)\s*$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


def parse_fail_on(text: str) -> Threshold:
    """``"p99:10%"`` -> ``Threshold("p99", 0.10)``; ``"mean:2.5%"`` -> ``("mean", 0.025)``.

    The metric is one of ``METRICS`` (case does not matter); the limit is a
    percentage, 0 or more, and the ``%`` is required: pytest-benchmark reads
    ``mean:0.001`` as an absolute difference in seconds, so a bare ``10`` would
    mean 10%, 0.10 or 10 µs depending on the reader.  ``p99:0%`` fails on any
    worsening beyond noise.  Raises ``ConfigError`` with one line naming
    ``--fail-on``, the text and what to write instead.
    """
    where = mention("fail_on")
    example = "write METRIC:PERCENT, e.g. p99:10% or mean:5%"
    match = _FAIL_ON.match(text)
    if not match:
        raise bad_value(where, text, f"no ':'; {example}")
    metric, limit_text = match.group(1).lower(), match.group(2)
    if metric not in METRICS:
        close = [_METRIC_HINTS[metric]] if metric in _METRIC_HINTS else []
        close = close or difflib.get_close_matches(metric, METRICS, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise bad_value(
            where, text, f"unknown metric {metric!r}{hint}; choose from {', '.join(METRICS)}"
        )
    if not limit_text:
        raise bad_value(where, text, f"no limit after ':'; {example}")
    number = limit_text[:-1].rstrip() if limit_text.endswith("%") else limit_text
    if not _NUMBER.match(number):
        raise bad_value(where, text, f"{limit_text!r} is not a percentage; {example}")
    if not limit_text.endswith("%"):
        raise bad_value(
            where,
            text,
            f"the limit needs a '%' ({metric}:{number}%); only relative limits are supported",
        )
    percent = float(number)
    if percent < 0:
        raise bad_value(
            where, text, f"the limit must be 0% or more: it is how much worse {metric} may get"
        )
    try:
        percent = argument("--fail-on").check(percent)
    except ValueError as exc:
        raise bad_value(where, text, f"the limit {exc}") from None
    return Threshold(metric, percent / 100)


def parse_thresholds(texts: Sequence[str]) -> list[Threshold]:
    """Every ``--fail-on`` given (``parse_fail_on``), each metric once (``check_thresholds``)."""
    thresholds = [parse_fail_on(text) for text in texts]
    check_thresholds(thresholds)
    return thresholds


def check_thresholds(thresholds: Sequence[Threshold]) -> None:
    """A metric given two limits is refused, not merged: which one gates is a guess."""
    for index, threshold in enumerate(thresholds):
        earlier = next((t for t in thresholds[:index] if t.metric == threshold.metric), None)
        if earlier is not None:
            raise ConfigError(
                f"{mention('fail_on')}: {threshold.metric} is given twice ({earlier} and "
                f"{threshold}): give each metric one limit"
            )


# --- the noise tests ---------------------------------------------------------


@dataclass(frozen=True)
class TTest:
    """A two-sided t-test: statistic, degrees of freedom, p-value."""

    t: float
    df: float
    p_value: float


def welch_t_test(
    n_base: int, mean_base: float, sd_base: float, n_new: int, mean_new: float, sd_new: float
) -> TTest | None:
    """Welch's two-sided t-test of ``mean_new - mean_base``, from summaries.

    ``se = sqrt(sd_base² / n_base + sd_new² / n_new)``, ``t = (mean_new - mean_base) / se``,
    and Welch–Satterthwaite degrees of freedom
    ``df = se⁴ / ((sd_base² / n_base)² / (n_base - 1) + (sd_new² / n_new)² / (n_new - 1))``.
    ``p = P(|T_df| >= |t|)`` from Student's t distribution, for any df
    (``significance.t_two_sided_p``: scipy's).  ``sd`` is the sample standard deviation (n - 1).
    None when either side has fewer than 2 values (no spread to test with).
    When both spreads are 0: p is 1 if the means are equal, else 0.
    """
    if n_base < 2 or n_new < 2:
        return None
    # significance imports scipy (0.3 s): on first use, since every table's module
    # imports this one for ALPHA (output/diff_table.py)
    from dbbench.significance import t_two_sided_p, welch_df

    var_base, var_new = sd_base * sd_base / n_base, sd_new * sd_new / n_new
    difference = mean_new - mean_base
    se_squared = var_base + var_new
    if se_squared == 0:
        return _degenerate(difference)
    df = welch_df(var_base, n_base, var_new, n_new)
    t = difference / math.sqrt(se_squared)
    return TTest(t, df, t_two_sided_p(t, df))


def throughput_test(base: RunnerResult, new: RunnerResult) -> TTest | None:
    """Two-sided t-test of ``ln(ops_new / ops_base)`` for two runner results.

    Throughput is successful operations over the measured wall time, and that
    wall time is (workers aside) the sum of the operations' latencies: its
    relative noise is the relative standard error of the mean latency,
    ``s / (sqrt(n) · mean)`` (the delta method ``stats.speedup`` uses too).
    The two runs are independent, so
    ``t = ln(ops_new / ops_base) / sqrt(rse_base² + rse_new²)``, and p comes
    from Student's t with the Welch–Satterthwaite df of the latencies.

    Why not reuse the test of the mean: throughput can change while the mean
    latency does not (failed operations, which count in the wall time but not
    in the latencies; time spent between operations; an open-loop rate), and
    then it is the throughputs that must be compared.  In a closed loop without
    errors ``ops ∝ 1 / mean`` and this test agrees with Welch's to first order.
    None when either side has fewer than 2 successful operations.
    """
    welch = _welch(base, new)
    if welch is None or not base.ops_per_s or not new.ops_per_s:
        return None
    means = [r.summary.mean_ns for r in (base, new) if r.summary is not None]
    if not all(math.isfinite(m) and m > 0 for m in means):
        return None  # no spread to take from a mean that is no measurement
    rse_squared = sum(
        (r.summary.stddev_ns / (math.sqrt(r.n) * r.summary.mean_ns)) ** 2
        for r in (base, new)
        if r.summary is not None
    )
    log_ratio = math.log(new.ops_per_s / base.ops_per_s)
    if rse_squared == 0:
        return _degenerate(log_ratio)
    from dbbench.significance import t_two_sided_p  # scipy, on first use

    t = log_ratio / math.sqrt(rse_squared)
    return TTest(t, welch.df, t_two_sided_p(t, welch.df))


def _welch(base: RunnerResult, new: RunnerResult) -> TTest | None:
    """``welch_t_test`` of two runners' latencies, in microseconds."""
    if base.summary is None or new.summary is None:
        return None
    b, n = base.summary, new.summary
    return welch_t_test(
        b.n, b.mean_ns / 1000, b.stddev_ns / 1000, n.n, n.mean_ns / 1000, n.stddev_ns / 1000
    )


def _degenerate(difference: float) -> TTest:
    """No spread on either side: any difference is certain, none is none."""
    if difference == 0:
        return TTest(0.0, math.inf, 1.0)
    return TTest(math.copysign(math.inf, difference), math.inf, 0.0)


def value_at_rank(histogram: LatencyHistogram, rank: int) -> int:
    """The ``rank``-th smallest value (1-based) in nanoseconds, read from the histogram."""
    return histogram.value_at_rank(rank)


def quantile_interval(
    histogram: LatencyHistogram, q: float, confidence: float = CONFIDENCE
) -> tuple[int, int]:
    """The distribution-free confidence interval of the q-quantile, in nanoseconds.

    ``(value_at_rank(low), value_at_rank(high))`` for ``stats.quantile_ranks(n, q)``.
    """
    low, high = quantile_ranks(histogram.count, q, confidence)
    return value_at_rank(histogram, low), value_at_rank(histogram, high)


def intervals_overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """Closed intervals: sharing an end point is overlapping."""
    return a[0] <= b[1] and b[0] <= a[1]


# --- comparing two runner results --------------------------------------------


def _relative_change(base: float, new: float) -> float | None:
    return (new - base) / base if base else None


def _is_worse(metric: str, change: float) -> bool:
    return change < 0 if metric == "ops_per_s" else change > 0


def _latency_histogram(result: RunnerResult) -> LatencyHistogram | None:
    if result.latency is None or not result.latency.count:
        return None
    return result.latency.histogram


def _missing(metric: str, base: Any, new: Any, why: str, worse: bool | None) -> MetricChange:
    return MetricChange(metric, base, new, None, worse, None, None, f"n/a ({why})")


def compare_runner(
    base: RunnerResult,
    new: RunnerResult,
    base_repetitions: Sequence[RunnerResult | None] = (),
    new_repetitions: Sequence[RunnerResult | None] = (),
    *,
    paired: bool = False,
) -> list[MetricChange]:
    """Every metric of ``METRICS`` for two results of one runner.

    With two or more repetitions a side (``--repeat``: each side's runner in each of
    its repetitions), each metric is compared between repetitions
    (``compare_repetitions``); ``paired`` when repetition i of both sides ran together
    (two variants of one run).  Otherwise within the two runs, operations as samples.

    When one side had no successful operation the values are None; ``worse``
    is True when it is the new side (base had successes), False when it is the
    base, and nothing is tested.
    """
    if len(base_repetitions) >= 2 or len(new_repetitions) >= 2:
        return [
            compare_repetitions(
                metric, base_repetitions or [base], new_repetitions or [new], paired=paired
            )
            for metric in METRICS
        ]
    base_ok, new_ok = base.n > 0, new.n > 0
    if not (base_ok and new_ok):
        if not base_ok and not new_ok:
            why, worse = "no successful operations in either", None
        elif new_ok:
            why, worse = "no successful operations in base", False
        else:
            why, worse = "no successful operations in new", True
        return [_missing(m, _value(base, m), _value(new, m), why, worse) for m in METRICS]
    histograms = (_latency_histogram(base), _latency_histogram(new))
    return [_change(metric, base, new, histograms) for metric in METRICS]


def _value(result: RunnerResult, metric: str) -> float | None:
    """``ops_per_s``, or a latency statistic in microseconds, as the documents hold them."""
    if metric == "ops_per_s":
        return result.ops_per_s
    value_ns = getattr(result.summary, f"{metric}_ns", None)
    return None if value_ns is None else value_ns / 1000


def _interval_us(histogram: LatencyHistogram | None, q: float) -> tuple[float, float]:
    assert histogram is not None
    low_ns, high_ns = quantile_interval(histogram, q)
    return low_ns / 1000, high_ns / 1000


def _change(
    metric: str,
    base: RunnerResult,
    new: RunnerResult,
    histograms: tuple[LatencyHistogram | None, LatencyHistogram | None],
) -> MetricChange:
    base_value, new_value = _value(base, metric), _value(new, metric)
    if base_value is None or new_value is None:
        return _missing(metric, base_value, new_value, "not recorded", None)
    if not all(math.isfinite(v) and v > 0 for v in (base_value, new_value)):
        # a hand-edited or corrupt file: NaN, infinite, zero or negative is no measurement
        return _missing(metric, None, None, "not a positive finite number in a file", None)
    change = _relative_change(base_value, new_value)
    worse = None if change is None else _is_worse(metric, change)
    if metric in _QUANTILES:
        if histograms[0] is None or histograms[1] is None:
            return MetricChange(
                metric, base_value, new_value, change, worse, None, None, "n/a (no histograms)"
            )
        q = _QUANTILES[metric]
        base_ci, new_ci = (_interval_us(h, q) for h in histograms)
        return MetricChange(
            metric,
            base_value,
            new_value,
            change,
            worse,
            not intervals_overlap(base_ci, new_ci),
            None,
            "quantile-ci",
            base_interval=base_ci,
            new_interval=new_ci,
        )
    if metric == "mean":
        test, method = _welch(base, new), "welch-t"
    else:
        test, method = throughput_test(base, new), "log-ratio-t"
    if test is None:
        return MetricChange(metric, base_value, new_value, change, worse, None, None, "n/a (n < 2)")
    return MetricChange(
        metric, base_value, new_value, change, worse, test.p_value < ALPHA, test.p_value, method
    )


def compare_repetitions(
    metric: str,
    base: Sequence[RunnerResult | None],
    new: Sequence[RunnerResult | None],
    *,
    paired: bool = False,
) -> MetricChange:
    """``metric`` of one runner in each repetition of both sides, tested between them.

    ``significance.compare_repetitions`` on one value per repetition (its mean, p50,
    p95 or p99 in microseconds, or its ops/s): Mann-Whitney on the two sides' values,
    or with ``paired`` a t-test of the log ratios of repetition i of each.  ``base``
    and ``new`` are the central values (medians, or geometric means when paired),
    ``change`` their relative difference and ``change_interval`` its interval.  A side
    where the metric is missing or not finite in a repetition is not tested and its
    value is None: such a metric never passes a gate.  Too few repetitions for the
    test ever to reach ``BETWEEN_ALPHA``: untested (``method`` says how many it needs).
    """
    from dbbench.significance import compare_repetitions as between  # scipy, on use

    sizes = (len(base), len(new))
    values = [[None if r is None else _value(r, metric) for r in side] for side in (base, new)]
    if any(v is None or not math.isfinite(v) or v <= 0 for side in values for v in side):
        return dataclasses.replace(
            _missing(metric, None, None, "missing or not finite in a repetition", None),
            repetitions=sizes,
        )
    if paired and sizes[0] != sizes[1]:
        paired = False  # repetitions that did not all run together are compared unpaired
    comparison = between(values[0], values[1], paired=paired, alpha=BETWEEN_ALPHA)
    change = comparison.ratio - 1
    interval = None
    if comparison.low is not None and comparison.high is not None:
        interval = (comparison.low - 1, comparison.high - 1)
    return MetricChange(
        metric,
        comparison.base,
        comparison.new,
        change,
        _is_worse(metric, change),
        comparison.beyond_noise,
        comparison.p_value,
        comparison.method,
        repetitions=sizes,
        change_interval=interval,
    )


# --- comparing two results ----------------------------------------------------


def comparable(result: Result, label: str) -> RunResult | SweepResult:
    """A result read from a file (``model.load_result``) as ``diff_results`` takes it.

    A result of another command (``stale``, ``explain``...) raises
    ``IncomparableError`` naming ``label``.
    """
    if not isinstance(result, RunResult | SweepResult):
        raise IncomparableError(
            f"{label} is a {result.command!r} document: "
            "dbbench diff compares run, compare and sweep results"
        )
    return result


def _kind(result: RunResult | SweepResult) -> str:
    return "sweep" if isinstance(result, SweepResult) else "run"


def _repetitions(result: RunResult | None, name: str) -> list[RunnerResult | None]:
    """Runner ``name`` in each of ``result``'s repetitions, None where a repetition lacks
    it (a value missing from one never passes a gate)."""
    if result is None:
        return []
    return [repetition.runner(name) for repetition in result.repetitions]


def _runners(result: RunResult, label: str) -> dict[str, RunnerResult]:
    by_name: dict[str, RunnerResult] = {}
    for runner in result.runners:
        name = runner.runner
        if name in by_name:
            raise IncomparableError(f"{label}: runner {name!r} appears twice in one result")
        by_name[name] = runner
    return by_name


def _cells(sweep: SweepResult, label: str) -> dict[tuple[Any, ...], RunResult]:
    """Each cell's run by its point of the grid, ``(concurrency, pool_size, max_overflow)``;
    of a sweep of several variants, ``(concurrency, pool_size, max_overflow, variant)``."""
    by_key: dict[tuple[Any, ...], RunResult] = {}
    for cell, result in sweep.cells:
        key: tuple[Any, ...] = (cell.concurrency, cell.pool_size, cell.max_overflow)
        if cell.variant is not None:
            key = (*key, cell.variant)
        if key in by_key:
            raise IncomparableError(f"{label}: sweep cell {cell_label(key)} appears twice")
        by_key[key] = result
    return by_key


def cell_label(key: Sequence[Any]) -> str:
    """(8, 5, 0) -> "concurrency 8, pool_size 5, max_overflow 0"; (8, 5, 0, "pg") ->
    "concurrency 8, pool_size 5, max_overflow 0, variant pg"."""
    names = (*_CELL_KEYS, "variant")[: len(key)]
    return ", ".join(f"{name} {value}" for name, value in zip(names, key, strict=True))


def _diff_runners(
    base: Mapping[str, RunnerResult],
    new: Mapping[str, RunnerResult],
    cell: str | None,
    runs: tuple[RunResult | None, RunResult | None] = (None, None),
    paired: bool = False,
) -> list[RunnerDiff]:
    diffs = []
    for name, result in base.items():
        if name in new:
            changes = compare_runner(
                result,
                new[name],
                _repetitions(runs[0], name),
                _repetitions(runs[1], name),
                paired=paired,
            )
            diffs.append(RunnerDiff(name, cell, changes))
        else:
            diffs.append(RunnerDiff(name, cell, [], only_in="base"))
    diffs.extend(RunnerDiff(name, cell, [], only_in="new") for name in new if name not in base)
    return diffs


def diff_results(
    base: RunResult | SweepResult,
    new: RunResult | SweepResult,
    *,
    base_label: str = "BASE",
    new_label: str = "NEW",
    paired: bool = False,
) -> list[RunnerDiff]:
    """Every runner's changes from ``base`` to ``new``, in base's order, then new's extra ones.

    With repetitions (``--repeat``) on either side the tests are between repetitions,
    ``paired`` when the two sides' repetitions ran together (``compare_runner``).

    Runners are matched by name; sweep cells by (concurrency, pool_size,
    max_overflow), in that order, then runners within them.  A runner or cell
    in one document only is reported with ``only_in`` ``"base"`` or ``"new"``
    and no changes.  ``run`` and ``compare`` results compare with each other;
    a sweep only with a sweep; anything else raises ``IncomparableError``
    (a ``ConfigError``) naming the labels, e.g. the paths given on the command line.
    """
    kinds = _kind(base), _kind(new)
    if kinds[0] != kinds[1]:
        raise IncomparableError(
            f"{base_label} is a {kinds[0]} and {new_label} is a {kinds[1]}: "
            "dbbench diff compares a run with a run, or a sweep with a sweep"
        )
    if isinstance(base, RunResult) and isinstance(new, RunResult):
        return _diff_runners(
            _runners(base, base_label), _runners(new, new_label), None, (base, new), paired
        )
    assert isinstance(base, SweepResult) and isinstance(new, SweepResult)
    base_cells, new_cells = _cells(base, base_label), _cells(new, new_label)
    diffs: list[RunnerDiff] = []
    for key in sorted(set(base_cells) | set(new_cells), key=_cell_order):
        label = cell_label(key)
        base_runners = _runners(base_cells[key], base_label) if key in base_cells else {}
        new_runners = _runners(new_cells[key], new_label) if key in new_cells else {}
        runs = (base_cells.get(key), new_cells.get(key))
        diffs.extend(_diff_runners(base_runners, new_runners, label, runs, paired))
    return diffs


def _cell_order(key: tuple[Any, ...]) -> tuple[Any, ...]:
    # max_overflow -1 is unlimited: it sorts last; a variant's cells after each point's
    concurrency, pool_size, max_overflow, *variant = key
    return (concurrency, pool_size, math.inf if max_overflow < 0 else max_overflow, *variant)


#: settings that files of older dbbench versions lack, and what those versions did: a file
#: without one differs from a file with that value in nothing
ABSENT_MEANS: dict[str, Any] = {
    "settings.database.autocommit": False,
    "settings.benchmark.prepared": False,
}


def caveats(
    base: RunResult | SweepResult,
    new: RunResult | SweepResult,
    *,
    base_label: str = "BASE",
    new_label: str = "NEW",
) -> list[str]:
    """What makes the two results less comparable, one line each.

    An interrupted run (``complete`` false), and every setting or environment
    value that differs (``settings.benchmark.iterations: 2000 -> 1000``);
    ``settings.config_path`` is left out, since the same settings may come from
    different files.
    """
    notes = [
        f"{label} was interrupted: its results cover only the turns done"
        for label, result in ((base_label, base), (new_label, new))
        if result.complete is False
    ]
    for section in ("settings", "environment"):
        # every entry each file recorded, those the model does not name included
        flat_base = _recorded(getattr(base, section).to_document(), section)
        flat_new = _recorded(getattr(new, section).to_document(), section)
        for key in sorted(set(flat_base) | set(flat_new)):
            if key == "settings.config_path":
                continue
            before, after = flat_base.get(key), flat_new.get(key)
            if before != after:
                notes.append(f"{key} differs: {before!r} in {base_label}, {after!r} in {new_label}")
    return notes


def _recorded(document: Mapping[str, Any], section: str) -> dict[str, Any]:
    """``document``'s entries as ``settings.database.driver`` keys, a setting an older
    file lacks as what its version did (``ABSENT_MEANS``)."""
    absent = {k: v for k, v in ABSENT_MEANS.items() if k.startswith(f"{section}.")}
    return {**absent, **dict(_flatten(document, section))}


def _flatten(value: Any, prefix: str) -> Iterable[tuple[str, Any]]:
    if isinstance(value, Mapping) and value:
        for key, item in value.items():
            yield from _flatten(item, f"{prefix}.{key}")
    else:
        yield prefix, value


# --- the gate ----------------------------------------------------------------


def worsening(change: MetricChange) -> float | None:
    """How much worse, as a positive fraction: the rise of a latency, the fall of ops_per_s."""
    if change.change is None:
        return None
    return -change.change if change.metric == "ops_per_s" else change.change


def tripped(diffs: Iterable[RunnerDiff], thresholds: Iterable[Threshold]) -> list[Trip]:
    """Every (runner, change, threshold) where the threshold trips, in the order of ``diffs``.

    A threshold ``METRIC:LIMIT`` trips on a runner when its METRIC

    1. got worse by more than LIMIT (``worsening(change) > limit``; exactly at
       the limit passes, to within ``LIMIT_TOLERANCE``), and
    2. the change is not within noise (``beyond_noise`` is not False): a change
       the test cannot tell from noise never fails the gate, however large.
       Where no test is possible (``beyond_noise`` None: files without
       histograms, n < 2) the limit alone decides, as in pytest-benchmark;
       the gate does not pass for want of evidence.

    A metric missing on either side, NaN or infinite never passes: a runner with
    successful operations in base and none in new, or a file that lacks the value,
    trips every threshold on it.  Runners in only one document trip nothing: the
    caller reports them.  Tail percentiles between too few repetitions are in
    ``warned``, not here.
    """
    return [trip for trip in _broken(diffs, thresholds) if not _tail_warning(trip.change)]


def warned(diffs: Iterable[RunnerDiff], thresholds: Iterable[Threshold]) -> list[Trip]:
    """The thresholds a tail percentile (``TAIL_METRICS``) broke between fewer than
    ``TAIL_REPETITIONS`` repetitions a side: a warning, not a failure."""
    return [trip for trip in _broken(diffs, thresholds) if _tail_warning(trip.change)]


def _broken(diffs: Iterable[RunnerDiff], thresholds: Iterable[Threshold]) -> list[Trip]:
    thresholds = list(thresholds)
    trips = []
    for diff in diffs:
        for change in diff.changes:
            for threshold in thresholds:
                if threshold.metric == change.metric and _trips(change, threshold):
                    trips.append(Trip(diff, change, threshold))
    return trips


def _tail_warning(change: MetricChange) -> bool:
    """A tail percentile compared between fewer repetitions than it takes to gate on one
    (one repetition a side included: within one run a p99 is precise, and a rerun moves
    it by far more than its interval says)."""
    if change.metric not in TAIL_METRICS or change.missing:
        return False
    return change.repetitions is None or min(change.repetitions) < TAIL_REPETITIONS


def _trips(change: MetricChange, threshold: Threshold) -> bool:
    if change.missing and change.worse is not False:
        return True  # nothing to compare is never a pass; base failing entirely is no regression
    if change.worse is not True or change.beyond_noise is False:
        return False
    amount = worsening(change)
    return amount is None or amount > threshold.limit + LIMIT_TOLERANCE


def check_repetitions(
    diffs: Sequence[RunnerDiff],
    thresholds: Sequence[Threshold],
    *,
    base_label: str = "BASE",
    new_label: str = "NEW",
    paired: bool = False,
) -> None:
    """Refuse a gate whose test between repetitions could never reach significance.

    With repetitions on either side the gate tests between them; when a side has too
    few for the test ever to give p < ``BETWEEN_ALPHA`` (3 a side, or 1 against 5) a
    PASS would only say that nothing could be seen.  Raises ``ConfigError`` with one
    line naming both sides' repetitions and how many each needs.  Runs of one
    repetition on both sides are gated within each run, and say so.
    """
    if not thresholds:
        return
    from dbbench.significance import can_reach, repetitions_needed  # scipy, on use

    for diff in diffs:
        for change in diff.changes:
            if change.repetitions is None or change.metric not in {t.metric for t in thresholds}:
                continue
            n_base, n_new = change.repetitions
            pairs = paired and n_base == n_new
            if can_reach(n_base, n_new, BETWEEN_ALPHA, paired=pairs):
                continue
            needed = repetitions_needed(BETWEEN_ALPHA, paired=pairs)
            raise ConfigError(
                f"{mention('fail_on')}: {base_label} has {_times(n_base)} and {new_label} "
                f"{_times(n_new)}: a test between repetitions can reach p < {BETWEEN_ALPHA:g} "
                f"only with {needed} a side; rerun both with --repeat {needed} or more "
                "(or both with one repetition, to gate within each run)"
            )


def _times(n: int) -> str:
    return f"{n} repetition{'s' if n != 1 else ''}"


def gate(diffs: Sequence[RunnerDiff], thresholds: Sequence[Threshold]) -> Verdict:
    """The thresholds ``diffs`` trip (``tripped``), those they warn on (``warned``), and
    the runners NEW lacks."""
    return Verdict.of(diffs, thresholds, tripped(diffs, thresholds), warned(diffs, thresholds))


def compare(
    base: RunResult | SweepResult,
    new: RunResult | SweepResult,
    thresholds: Sequence[Threshold] = (),
    *,
    base_label: str = "BASE",
    new_label: str = "NEW",
    paired: bool = False,
) -> DiffResult:
    """Diff two results and gate on ``thresholds`` (``parse_fail_on``'s); a gate between
    too few repetitions is refused (``check_repetitions``)."""
    check_thresholds(thresholds)
    labels = {"base_label": base_label, "new_label": new_label}
    diffs = diff_results(base, new, paired=paired, **labels)
    check_repetitions(diffs, thresholds, paired=paired, **labels)
    return DiffResult(
        diffs=diffs,
        thresholds=tuple(thresholds),
        verdict=gate(diffs, thresholds),
        caveats=caveats(base, new, **labels),
        **labels,
    )


def compare_variants(result: RunResult, thresholds: Sequence[Threshold] = ()) -> list[DiffResult]:
    """A run of several variants (``--variant``) gated within itself: the first variant is
    the base, each other one new, each pair's runners compared between repetitions
    *paired*, since repetition i of every variant ran in the same turns (duet
    benchmarking: a drift of the machine falls on both sides of each pair).  With one
    repetition, within that run (and labelled so).  Raises ``IncomparableError`` for a
    run of one configuration."""
    names = result.variant_names
    if len(names) < 2:
        raise IncomparableError(
            "a run of one configuration has nothing to gate within it: give --variant "
            "base=FILE --variant new=FILE, or diff two results"
        )
    base = result.variant_view(names[0])
    return [
        compare(
            base,
            result.variant_view(name),
            thresholds,
            base_label=names[0],
            new_label=name,
            paired=True,
        )
        for name in names[1:]
    ]
