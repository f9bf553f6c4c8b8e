"""The harness: turns runners and a plan into latency samples, honestly.

- Cold start: each runner's ``open()`` and first operation are timed together
  and reported on their own (the pool's first physical connect lives there),
  never mixed into the steady state.
- Warm-up: ``plan.warmup`` operations per runner, interleaved, not recorded.
- Measurement: ``plan.iterations`` rounds; each round runs every runner once.
  The order rotates by one each round (ABC, BCA, CAB, ...), so drift on a
  noisy machine and any after-effect of one runner on the next (a server
  still tearing down a closed connection) fall on all runners alike.
- Only ``run_once()`` is inside the clock; progress reporting and bookkeeping
  happen between operations.
- Ctrl-C stops the run; what was measured so far is returned, marked
  incomplete, and every runner is closed.
"""

from __future__ import annotations

import contextlib
import time
from array import array
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from dbbench.runners.base import Runner

#: called between operations with (operations done, operations planned)
ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class Plan:
    iterations: int
    warmup: int

    def total_operations(self, runner_count: int) -> int:
        return runner_count * (1 + self.warmup + self.iterations)


@dataclass
class RunnerSamples:
    runner: str
    #: steady-state latencies of successful operations, nanoseconds
    latencies_ns: array = field(default_factory=lambda: array("q"))
    #: ``open()`` plus the first operation, nanoseconds; None if it failed
    first_op_ns: int | None = None
    errors_by_kind: Counter[str] = field(default_factory=Counter)
    #: failed warm-up operations: not in the statistics, but not hidden either
    warmup_errors: int = 0

    @property
    def errors(self) -> int:
        return sum(self.errors_by_kind.values())


@dataclass
class RunOutcome:
    samples: list[RunnerSamples]
    #: False when the run was interrupted before all rounds finished
    complete: bool
    started_at_s: float
    finished_at_s: float


def error_kind(exc: BaseException) -> str:
    """A short, stable name for an error: class name and driver error code."""
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    name = type(exc).__name__
    return f"{name}({code})" if code is not None else name


def run_interleaved(
    runners: Sequence[Runner],
    plan: Plan,
    on_progress: ProgressCallback | None = None,
    clock: Callable[[], int] = time.perf_counter_ns,
) -> RunOutcome:
    """Run ``plan`` over ``runners``; see the module docstring for the method."""
    samples = [RunnerSamples(runner.name) for runner in runners]
    total = plan.total_operations(len(runners))
    done = 0
    started_at_s = time.time()
    complete = False

    def progress() -> None:
        if on_progress is not None:
            on_progress(done, total)

    try:
        for runner, record in zip(runners, samples, strict=True):
            start = clock()
            runner.open()
            runner.run_once()
            record.first_op_ns = clock() - start
            done += 1
            progress()

        count = len(runners)
        for round_index in range(plan.warmup + plan.iterations):
            measuring = round_index >= plan.warmup
            for offset in range(count):
                position = (round_index + offset) % count
                runner, record = runners[position], samples[position]
                try:
                    start = clock()
                    runner.run_once()
                    elapsed = clock() - start
                except Exception as exc:  # counted, never fatal: the run goes on
                    if measuring:
                        record.errors_by_kind[error_kind(exc)] += 1
                    else:
                        record.warmup_errors += 1
                else:
                    if measuring:
                        record.latencies_ns.append(elapsed)
                done += 1
                progress()
        complete = True
    except KeyboardInterrupt:
        pass
    finally:
        for runner in runners:
            with contextlib.suppress(Exception):  # best effort: the results matter more
                runner.close()
    return RunOutcome(samples, complete, started_at_s, time.time())
