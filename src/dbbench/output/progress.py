"""A progress display on stderr that never runs while an operation is being timed.

rich's automatic refresh runs in a thread that could take the GIL in the
middle of a timed operation; here the display is refreshed only when the
harness reports progress (between operations with one worker, about once a
second from the main thread with several), and only once the run has lasted
a second: short runs show nothing.

Its figures are the harness's, counted as the result counts them: the
runner being run, its own throughput so far (its successful operations over
the time it was measured), its recent p99; with ``--processes``, the
processes' figures put together (``processes.LiveProgress``).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from dbbench.engine.harness import Progress as RunProgress

SHOW_AFTER_S = 1.0


def describe(progress: RunProgress) -> str:
    """The live figures: "1,234 ops/s · p99 3.21 ms · 0 errors · 8 checked out"."""
    parts = []
    ops_per_s = progress.ops_per_s
    if ops_per_s is not None:
        parts.append(f"{ops_per_s:,.0f} ops/s")
    if progress.recent_p99_ns is not None:
        parts.append(f"p99 {progress.recent_p99_ns / 1e6:.2f} ms")
    parts.append(f"{progress.errors} errors")
    if progress.checked_out is not None:
        parts.append(f"{progress.checked_out} checked out")
    return " · ".join(parts)


class ProgressBar:
    def __init__(
        self,
        console: Console,
        description: str,
        enabled: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._console = console
        self._description = description
        self._enabled = enabled and console.is_terminal
        self._clock = clock
        self._started_s = clock()
        self._progress: Progress | None = None
        self._task = None

    def __call__(self, progress: RunProgress) -> None:
        if not self._enabled:
            return
        if self._progress is None:
            if self._clock() - self._started_s < SHOW_AFTER_S:
                return
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[figures]}"),
                TimeRemainingColumn(),
                console=self._console,
                auto_refresh=False,
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task(self._description, total=None, figures="")
        if progress.total is not None:
            completed, total = progress.done, progress.total
        elif progress.total_s is not None:
            completed, total = progress.elapsed_s, progress.total_s
        else:
            completed, total = 0, None
        self._progress.update(
            self._task,
            completed=completed,
            total=total,
            description=f"{self._description} · {progress.phase} {progress.runner}",
            figures=describe(progress),
        )
        self._progress.refresh()

    def relabel(self, description: str) -> ProgressBar:
        """Show ``description`` from now on (a sweep's next cell); returns self."""
        self._description = description
        return self

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
