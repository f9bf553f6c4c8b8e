"""A progress display on stderr that never runs while an operation is being timed.

rich's automatic refresh runs in a thread that could take the GIL in the
middle of a timed operation; here the display is refreshed only when the
harness reports progress (between operations with one worker, about once a
second from the main thread with several), and only once the run has lasted
a second: short runs show nothing.
"""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from dbbench.harness import Progress as RunProgress

SHOW_AFTER_S = 1.0


def describe(progress: RunProgress, ops_per_s: float | None) -> str:
    """The live figures: "1,234 ops/s · p99 3.21 ms · 0 errors · 8 checked out"."""
    parts = []
    if ops_per_s is not None:
        parts.append(f"{ops_per_s:,.0f} ops/s")
    if progress.recent_p99_ns is not None:
        parts.append(f"p99 {progress.recent_p99_ns / 1e6:.2f} ms")
    parts.append(f"{progress.errors} errors")
    if progress.checked_out is not None:
        parts.append(f"{progress.checked_out} checked out")
    return " · ".join(parts)


class ProgressBar:
    def __init__(self, console: Console, description: str, enabled: bool = True) -> None:
        self._console = console
        self._description = description
        self._enabled = enabled and console.is_terminal
        self._started_s = time.monotonic()
        self._progress: Progress | None = None
        self._task = None
        self._last: tuple[float, int] | None = None  # (time, done) at the last refresh

    def __call__(self, progress: RunProgress) -> None:
        if not self._enabled:
            return
        now = time.monotonic()
        if self._progress is None:
            if now - self._started_s < SHOW_AFTER_S:
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
        ops_per_s = None
        if self._last is not None and now > self._last[0] and progress.phase == "measuring":
            ops_per_s = (progress.done - self._last[1]) / (now - self._last[0])
        self._last = (now, progress.done)
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
            figures=describe(progress, ops_per_s),
        )
        self._progress.refresh()

    def relabel(self, description: str) -> ProgressBar:
        """Show ``description`` from now on (a sweep's next cell); returns self."""
        self._description = description
        self._last = None
        return self

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
