"""The live progress display shows what the result will: the runner being run, its own
throughput and its recent p99 (on a fake clock, so the figures are exact)."""

from __future__ import annotations

import dataclasses
import io

import pytest
from rich.console import Console

from dbbench.harness import Plan, Progress, RunnerProgress, run_interleaved
from dbbench.processes import _combine
from dbbench.progress import ProgressBar, describe
from dbbench.results import runner_result
from tests.fakes import FakeClock, FakeRunner

MS = 1_000_000


class Cycling(FakeRunner):
    """Each operation takes the next of ``costs_ns`` on the fake clock, round and round."""

    def __init__(self, name: str, clock: FakeClock, costs_ns: list[int]) -> None:
        super().__init__(name, [], clock)
        self.costs_ns = costs_ns

    def run_once(self, worker: int = 0) -> None:
        self.cost_ns = self.costs_ns[self.calls % len(self.costs_ns)]
        super().run_once(worker)


def shown(progress: list[Progress], runner: str) -> list[Progress]:
    return [p for p in progress if p.phase == "measuring" and p.runner == runner]


@pytest.mark.parametrize(
    "plan",
    [
        Plan(iterations=1000, warmup=0),  # turns of one operation
        Plan(iterations=None, duration_s=3.0, warmup=0, slice_s=0.3),  # turns of 0.3 s
    ],
    ids=["operations", "duration"],
)
def test_each_runner_shows_its_own_throughput_and_p99_as_its_result_has_them(plan):
    clock = FakeClock()
    runners = [
        FakeRunner("fast", [], clock, cost_ns=1 * MS),
        FakeRunner("slow", [], clock, cost_ns=4 * MS),
        # 3% of its operations take 9 ms: its p99 is 9 ms over any stretch of them
        Cycling("mixed", clock, [9 * MS] * 3 + [3 * MS] * 97),
    ]
    seen: list[Progress] = []
    console = Console(file=io.StringIO(), force_terminal=True, width=200)
    bar = ProgressBar(console, "dbbench run", clock=lambda: clock.now_ns / 1e9 + 10)

    def on_progress(progress: Progress) -> None:
        seen.append(progress)
        bar(progress)

    outcome = run_interleaved(runners, plan, on_progress=on_progress, clock=clock)
    bar.close()
    final = {r.runner: runner_result(r, None) for r in outcome.records}

    for name in ("fast", "slow"):  # constant latencies: the same throughput at every report
        reports = shown(seen, name)
        assert reports, f"no progress shown for {name}"
        expected = final[name].ops_per_s
        assert expected == pytest.approx(1000 if name == "fast" else 250)
        for progress in reports:
            assert progress.ops_per_s == pytest.approx(expected, rel=1e-9)
            assert f"{expected:,.0f} ops/s" in describe(progress)
    mixed = shown(seen, "mixed")
    assert mixed
    final_p99 = final["mixed"].summary.p99_ns
    for progress in mixed:
        assert progress.recent_p99_ns == 9 * MS
        assert f"p99 {final_p99 / 1e6:.2f} ms" in describe(progress)
    # its throughput so far, at its last report, within one cycle's unevenness of the final
    assert mixed[-1].ops_per_s == pytest.approx(final["mixed"].ops_per_s, rel=0.02)
    rendered = console.file.getvalue()
    assert "measuring slow" in rendered and "250 ops/s" in rendered


def runner_progress(name: str, operations: int, measured_s: float, p99_ms: float):
    return RunnerProgress(
        runner=name,
        operations=operations,
        errors=0,
        measured_ns=int(measured_s * 1e9),
        ops_per_s=operations / measured_s,
        recent_p99_ns=int(p99_ms * MS),
    )


def report(runner: str, *runners: RunnerProgress) -> Progress:
    return Progress(
        phase="measuring",
        runner=runner,
        done=sum(r.operations for r in runners),
        total=None,
        elapsed_s=max(r.measured_ns for r in runners) / 1e9,
        total_s=None,
        errors=0,
        checked_out=None,
        runners=runners,
    )


def test_processes_figures_add_up_per_runner_whatever_their_reports_timing():
    # process 0 reported after 2 s of "raw", process 1 a second earlier: each at 70 ops/s
    first = report(
        "raw", runner_progress("pool", 700, 1.0, 3), runner_progress("raw", 140, 2.0, 20)
    )
    second = report(
        "raw", runner_progress("pool", 700, 1.0, 2), runner_progress("raw", 70, 1.0, 25)
    )
    combined = _combine([first, second], newest=first)
    assert combined.runner == "raw"
    assert combined.ops_per_s == pytest.approx(140)  # two processes at 70 ops/s each
    assert combined.recent_p99_ns == 25 * MS  # the higher: all latencies' p99 is no higher
    pool = next(r for r in combined.runners if r.runner == "pool")
    assert pool.ops_per_s == pytest.approx(1400) and pool.operations == 1400
    assert "140 ops/s · p99 25.00 ms" in describe(combined)


def test_processes_checked_out_is_the_shown_runners_own():
    # process 1's latest report is still about "pool", whose pool had 3 checked out
    raw = report("raw", runner_progress("pool", 700, 1.0, 3), runner_progress("raw", 70, 1.0, 20))
    pool = dataclasses.replace(raw, runner="pool", checked_out=3)
    combined = _combine([raw, pool], newest=raw)
    assert combined.runner == "raw" and combined.checked_out is None
    both = _combine([dataclasses.replace(pool, checked_out=2), pool], newest=pool)
    assert both.checked_out == 5
