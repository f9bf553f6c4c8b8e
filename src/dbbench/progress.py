"""A progress bar on stderr that never runs while an operation is being timed.

rich's automatic refresh runs in a thread that could take the GIL in the
middle of a timed operation; here the bar is refreshed only from the
harness's progress callback, between operations, a few times a second, and
only once the run has lasted a second (short runs show nothing).
"""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

SHOW_AFTER_S = 1.0
REFRESH_EVERY_S = 0.25


class ProgressBar:
    def __init__(self, console: Console, description: str, enabled: bool = True) -> None:
        self._console = console
        self._description = description
        self._enabled = enabled and console.is_terminal
        self._started_s = time.monotonic()
        self._last_refresh_s = 0.0
        self._progress: Progress | None = None
        self._task = None

    def __call__(self, done: int, total: int) -> None:
        if not self._enabled:
            return
        now = time.monotonic()
        if now - self._last_refresh_s < REFRESH_EVERY_S:
            return
        if self._progress is None:
            if now - self._started_s < SHOW_AFTER_S:
                return
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=self._console,
                auto_refresh=False,
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task(self._description, total=total)
        self._progress.update(self._task, completed=done, total=total)
        self._progress.refresh()
        self._last_refresh_s = now

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
