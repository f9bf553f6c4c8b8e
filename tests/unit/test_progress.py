"""The live progress display shows what the result will: the runner being run, its own
throughput and its recent p99 (on a fake clock, so the figures are exact), in one
process or put together from several processes' reports."""

from __future__ import annotations

import array
import collections
import dataclasses
import io
import itertools
import re
from collections.abc import Iterator

import pytest
from rich.console import Console

from dbbench.engine.harness import Plan, Progress, RunnerProgress, RunOutcome, run_interleaved
from dbbench.engine.processes import (
    LiveProgress,
    Message,
    ProgressReport,
    ProgressSender,
    process_plans,
)
from dbbench.output.progress import ProgressBar, describe
from dbbench.scenarios.summary import runner_result
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


def measured_runners(clock: FakeClock) -> list[FakeRunner]:
    return [
        FakeRunner("fast", [], clock, cost_ns=1 * MS),
        FakeRunner("slow", [], clock, cost_ns=4 * MS),
        # 3% of its operations take 9 ms: its p99 is 9 ms over any stretch of them
        Cycling("mixed", clock, [9 * MS] * 3 + [3 * MS] * 97),
    ]


def in_bursts(sent: list[list[Message]]) -> Iterator[Message]:
    """Each process's messages in order, but process i's next i + 1 at a time: the later
    processes' reports run ahead of the earlier ones', as a busy queue may deliver them."""
    queues = [collections.deque(messages) for messages in sent]
    while any(queues):
        for index, queue in enumerate(queues):
            for _ in range(index + 1):
                if queue:
                    yield queue.popleft()


def run_in_fake_processes(
    plan: Plan, processes: int, show: ProgressBar
) -> tuple[RunOutcome, list[Progress]]:
    """``plan`` split over ``processes`` processes run one after the other on fake clocks,
    each sending its reports as a worker process does; the parent's display fed them."""
    outcomes, sent = [], []
    for index, share in enumerate(process_plans(plan, processes)):
        clock = FakeClock()
        messages: list[Message] = []
        sender = ProgressSender(index, messages.append, clock=lambda c=clock: c.now_ns / 1e9)
        outcome = run_interleaved(measured_runners(clock), share, on_progress=sender, clock=clock)
        # what the queue carries to the parent
        outcomes.append(RunOutcome.from_dict(outcome.to_dict()))
        sent.append(messages)
    live, seen = LiveProgress(processes), []
    for message in in_bursts(sent):
        assert message.kind == "progress"
        # the latencies travel beside the figures, once for each change
        assert all(not r.recent_ns for r in message.payload.progress.runners)
        seen.append(live.add(message.process, message.payload))
        show(seen[-1])
    return RunOutcome.merge(outcomes, plan), seen


@pytest.mark.parametrize("processes", [None, 1, 3], ids=["alone", "1-process", "3-processes"])
@pytest.mark.parametrize(
    "plan",
    [
        Plan(iterations=1000, warmup=0),  # turns of one operation
        Plan(iterations=None, duration_s=3.0, warmup=0, slice_s=0.3),  # turns of 0.3 s
    ],
    ids=["operations", "duration"],
)
def test_each_runner_shows_its_own_throughput_and_p99_as_its_result_has_them(plan, processes):
    console = Console(file=io.StringIO(), force_terminal=True, width=200)
    times = itertools.chain([0.0], itertools.repeat(10.0))  # shown from the first report
    bar = ProgressBar(console, "dbbench run", clock=lambda: next(times))
    if processes is None:
        clock = FakeClock()
        seen: list[Progress] = []

        def on_progress(progress: Progress) -> None:
            seen.append(progress)
            bar(progress)

        outcome = run_interleaved(
            measured_runners(clock), plan, on_progress=on_progress, clock=clock
        )
    else:
        plan = dataclasses.replace(
            plan,
            concurrency=processes,
            iterations=plan.iterations * processes if plan.iterations else None,
        )
        outcome, seen = run_in_fake_processes(plan, processes, bar)
        # whatever order the reports came in, the display never went back to an earlier turn
        assert [p.turn for p in seen] == sorted(p.turn for p in seen)
    bar.close()
    final = {r.runner: runner_result(r, None) for r in outcome.records}
    count = processes or 1

    for name in ("fast", "slow"):  # constant latencies: the same throughput at every report
        reports = shown(seen, name)
        assert reports, f"no progress shown for {name}"
        expected = final[name].ops_per_s
        assert expected == pytest.approx(count * (1000 if name == "fast" else 250))
        shown_rates = [p.ops_per_s for p in reports if p.ops_per_s is not None]
        # shown once every process has measured it, not as the part some have measured
        assert len(shown_rates) >= len(reports) / 2
        for progress in reports:
            if progress.ops_per_s is not None:
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
    assert "measuring slow" in rendered and f"{count * 250:,} ops/s" in rendered


def runner_progress(name: str, operations: int, measured_s: float) -> RunnerProgress:
    return RunnerProgress(
        runner=name,
        operations=operations,
        errors=0,
        measured_ns=int(measured_s * 1e9),
        ops_per_s=operations / measured_s,
        recent_p99_ns=None,  # a process sends its latencies instead (``recent`` below)
    )


def report(
    turn: int, runner: str, *runners: RunnerProgress, recent_ms=None, checked_out=None
) -> ProgressReport:
    """A process's report at ``turn``; ``recent_ms``: runner index -> its recent latencies."""
    progress = Progress(
        phase="measuring",
        runner=runner,
        done=sum(r.operations for r in runners),
        total=None,
        elapsed_s=max(r.measured_ns for r in runners) / 1e9,
        total_s=None,
        errors=0,
        checked_out=checked_out,
        runners=runners,
        turn=turn,
    )
    recent = {
        index: array.array("q", (int(ms * MS) for ms in values))
        for index, values in (recent_ms or {}).items()
    }
    return ProgressReport(progress, recent)


def test_processes_figures_add_up_per_runner_whatever_their_reports_timing():
    live = LiveProgress(processes=2)
    # process 1 reports turn 4 (pool), then process 0 turn 5 (raw): each at 70 ops/s of raw
    live.add(
        1,
        report(
            4, "pool", runner_progress("pool", 700, 1.0), runner_progress("raw", 70, 1.0),
            recent_ms={0: [3] * 100, 1: [2] * 100},
        ),
    )  # fmt: skip
    combined = live.add(
        0,
        report(
            5, "raw", runner_progress("pool", 700, 1.0), runner_progress("raw", 140, 2.0),
            recent_ms={0: [2] * 100, 1: [1] * 98 + [20] * 2},
        ),
    )  # fmt: skip
    assert combined.runner == "raw" and combined.turn == 5
    assert combined.ops_per_s == pytest.approx(140)  # two processes at 70 ops/s each
    # the p99 of their 200 latencies together: 98 of 1 ms, 100 of 2 ms, 2 of 20 ms
    assert combined.recent_p99_ns == 2 * MS  # each process's own p99: 20 ms and 2 ms
    pool = next(r for r in combined.runners if r.runner == "pool")
    assert pool.ops_per_s == pytest.approx(1400) and pool.operations == 1400
    assert pool.recent_p99_ns == 3 * MS
    assert "140 ops/s · p99 2.00 ms" in describe(combined)
    # process 1's late reports of turn 4 (a burst) do not take the display back to "pool"
    for _ in range(3):
        late = live.add(
            1,
            report(
                4, "pool", runner_progress("pool", 700, 1.0), runner_progress("raw", 70, 1.0),
                recent_ms={0: [4] * 100},
            ),
        )  # fmt: skip
        assert late.runner == "raw" and late.recent_p99_ns == 2 * MS
    assert next(r for r in late.runners if r.runner == "pool").recent_p99_ns == 4 * MS


def test_processes_throughput_is_shown_once_every_process_has_measured():
    live = LiveProgress(processes=2)
    alone = live.add(0, report(1, "raw", runner_progress("raw", 70, 1.0)))
    assert alone.ops_per_s is None and alone.total is None  # not one process's part as all
    both = live.add(1, report(1, "raw", runner_progress("raw", 70, 1.0)))
    assert both.ops_per_s == pytest.approx(140)


def test_processes_checked_out_is_the_shown_runners_own():
    live = LiveProgress(processes=2)
    figures = (runner_progress("pool", 700, 1.0), runner_progress("raw", 70, 1.0))
    # process 1's latest report is still about "pool", whose pool had 3 checked out
    live.add(1, report(4, "pool", *figures, checked_out=3))
    combined = live.add(0, report(5, "raw", *figures))
    assert combined.runner == "raw" and combined.checked_out is None
    live.add(0, report(6, "pool", *figures, checked_out=2))
    both = live.add(1, report(6, "pool", *figures, checked_out=3))
    assert both.checked_out == 5


def test_a_process_sends_each_turn_its_end_and_only_the_latencies_that_changed():
    now = [0.0]
    sent: list[Message] = []
    sender = ProgressSender(1, sent.append, clock=lambda: now[0])
    window = (3 * MS, 4 * MS)

    def harness_report(turn: int, measured_s: float, recent_ns: tuple[int, ...]) -> Progress:
        raw = dataclasses.replace(runner_progress("raw", 70, measured_s), recent_ns=recent_ns)
        return report(turn, "raw", runner_progress("pool", 700, 1.0), raw).progress

    sender(harness_report(7, 1.0, window))  # inside turn 7, when its first worker finished
    sender(harness_report(7, 1.0, window))  # nothing new, within PROGRESS_EVERY_S: not sent
    later = (*window, 5 * MS)
    sender(harness_report(7, 1.25, later))  # the turn's end: its runner was measured longer
    now[0] = 0.5
    sender(harness_report(8, 1.25, later))  # a new turn
    assert [m.payload.progress.turn for m in sent] == [7, 7, 8]
    assert all(m.process == 1 for m in sent)
    first, end, new = (m.payload.recent for m in sent)
    assert set(first) == {0, 1} and not first[0]  # "pool" had no latencies yet
    assert list(first[1]) == list(window)
    assert set(end) == {1} and list(end[1]) == list(later)
    assert new == {}  # the same latencies as last sent: the parent keeps them
    now[0] = 1.5
    sender(harness_report(8, 1.25, later))  # the same again, a second later: sent
    assert len(sent) == 4


def test_a_turns_end_is_shown_whenever_it_comes():
    # two workers: a worker's report inside the turn must not swallow the turn's last one
    clock = FakeClock()
    seen: list[Progress] = []
    plan = Plan(iterations=None, duration_s=0.9, warmup=0, slice_s=0.3, concurrency=2)
    outcome = run_interleaved(measured_runners(clock), plan, on_progress=seen.append, clock=clock)
    for record in outcome.records:
        name = record.runner
        last = [r for p in shown(seen, name) for r in p.runners if r.runner == name]
        assert last, f"no progress shown for {record.runner}"
        assert last[-1].operations == record.tally.latency.count
        assert last[-1].measured_ns == record.measured_ns


def _pool_measured(runner: str, checked_out: int | None) -> Progress:
    figures = dataclasses.replace(runner_progress(runner, 9624, 1.0), recent_p99_ns=2_830_000)
    return Progress(
        "measuring", runner, done=500, total=1000, elapsed_s=1.0, total_s=None, errors=0,
        checked_out=checked_out, runners=(figures,),
    )  # fmt: skip


def _drawn(width: int, description: str, progress: Progress) -> list[str]:
    """The display's lines as a terminal ``width`` columns wide shows them."""
    console = Console(file=io.StringIO(), force_terminal=True, width=width, color_system=None)
    bar = ProgressBar(
        console, description, clock=itertools.chain([0.0], itertools.repeat(9.0)).__next__
    )
    bar(progress)
    bar.close()
    pieces = re.split(r"\x1b\[[0-9;?]*[A-Za-z]|[\r\n]", console.file.getvalue())
    return [piece for piece in pieces if "measuring" in piece]


@pytest.mark.parametrize("width", [60, 80, 120])
@pytest.mark.parametrize(
    ("description", "runner"),
    [("dbbench run", "persistent"), ("dbbench run", "pool/mysqlclient"),
     ("cell 3/12: concurrency 32, pool_size 20, max_overflow 10", "pool")],
)  # fmt: skip
def test_the_runner_and_its_own_figures_show_in_full_on_a_narrow_terminal(
    width, description, runner
):
    progress = _pool_measured(runner, checked_out=4 if runner.startswith("pool") else None)
    lines = _drawn(width, description, progress)
    assert lines, "nothing drawn"
    for line in lines:
        assert len(line) <= width and "…" not in line
        assert f"measuring {runner} " in line
        assert "9,624 ops/s · p99 2.83 ms" in line
    line = lines[-1]
    if width == 120 and len(description) < 20:  # room for everything
        assert "0 errors" in line and "━" in line
        assert progress.checked_out is None or "4 checked out" in line
    if description in line:  # the label gave way before the error count did
        assert "0 errors" in line
