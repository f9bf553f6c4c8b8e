"""A progress display on stderr that never runs while an operation is being timed.

rich's automatic refresh runs in a thread that could take the GIL in the
middle of a timed operation; here the display is refreshed only when the
harness reports progress (between operations with one worker, about once a
second from the main thread with several), and only once the run has lasted
a second: short runs show nothing.

Its figures are the harness's, counted as the result counts them: the
runner being run, its own throughput so far (its successful operations over
the time it was measured), its recent p99; with ``--processes``, the
processes' figures put together (``processes.LiveProgress``).  On a narrow terminal
the line is fitted, never cropped (``fit``): the runner's name, its ops/s and p99
always show in full; the time left, the bar, the checked-out count, the command's
label and the error count give way first, in that order.

``CountBar`` is a plain bar of things done out of a total, with no timing to keep out of
the way: ``dbbench prepare``'s rows as they go in.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple, Self

from rich.console import Console, RenderableType
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from dbbench.engine.harness import Progress as RunProgress

SHOW_AFTER_S = 1.0


#: the bar's width at most (rich's own), and at least: a narrower bar tells nothing
BAR_WIDTH = (10, 40)
#: the time left, as rich's column writes it ("0:01:05", "-:--:--")
TIME_WIDTH = 7
_SEPARATOR = " · "


def _runner_figures(progress: RunProgress) -> list[str]:
    """What always shows: the runner's own throughput and recent p99, once known."""
    parts = []
    ops_per_s = progress.ops_per_s
    if ops_per_s is not None:
        parts.append(f"{ops_per_s:,.0f} ops/s")
    if progress.recent_p99_ns is not None:
        parts.append(f"p99 {progress.recent_p99_ns / 1e6:.2f} ms")
    return parts


def describe(progress: RunProgress) -> str:
    """The live figures: "1,234 ops/s · p99 3.21 ms · 0 errors · 8 checked out"."""
    parts = [*_runner_figures(progress), f"{progress.errors} errors"]
    if progress.checked_out is not None:
        parts.append(f"{progress.checked_out} checked out")
    return _SEPARATOR.join(parts)


class Line(NamedTuple):
    """The display's line as ``fit`` makes it: text left and right of the bar (0: no bar),
    and whether the time left follows."""

    left: str
    right: str
    bar_width: int
    time: bool


def fit(width: int, command: str, progress: RunProgress, timed: bool) -> Line:
    """The fullest line that fits ``width`` columns: "dbbench run · measuring pool",
    the bar, the figures (``describe``), the time left (``timed``: the run has a total).
    What gives way first: the time left, the bar (down to its narrowest, then all of it),
    the checked-out count, the command's label, the error count; the runner's step and its
    ops/s and p99 never do."""
    step = f"{progress.phase} {progress.runner}"
    errors = f"{progress.errors} errors"
    checked = None if progress.checked_out is None else f"{progress.checked_out} checked out"
    essential = _runner_figures(progress)
    # (label, optional figures, bar, time): from the fullest down
    choices = [
        (True, [errors, checked], True, timed),
        (True, [errors, checked], True, False),
        (True, [errors, checked], False, False),
        (True, [errors], False, False),
        (False, [errors], False, False),
        (False, [], False, False),
    ]
    narrowest, widest = BAR_WIDTH
    for labelled, optional, bar, shows_time in choices:
        left = f"{command}{_SEPARATOR}{step}" if labelled else step
        right = _SEPARATOR.join([*essential, *(part for part in optional if part)])
        # rich puts one space between columns
        used = len(left) + (1 + len(right) if right else 0) + (TIME_WIDTH + 1) * shows_time
        if bar:
            room = width - used - 1
            if room >= narrowest:
                return Line(left, right, min(widest, room), shows_time)
        elif used <= width:
            return Line(left, right, 0, shows_time)
    return Line(left, right, 0, False)  # wider than the terminal: the end is cropped


class _LineColumn(ProgressColumn):
    """The whole line as ``fit`` laid it out: text, bar, figures, time left."""

    def __init__(self) -> None:
        super().__init__()
        self._bar = BarColumn()
        self._time = TimeRemainingColumn()

    def render(self, task: Task) -> RenderableType:
        line: Line = task.fields["line"]
        grid = Table.grid(padding=(0, 1))
        cells: list[RenderableType] = [Text(line.left)]
        if line.bar_width:
            self._bar.bar_width = line.bar_width
            cells.append(self._bar.render(task))
        if line.right:
            cells.append(Text(line.right))
        if line.time:
            cells.append(self._time.render(task))
        for _ in cells:
            grid.add_column(no_wrap=True)
        grid.add_row(*cells)
        return grid


class _Display:
    """A rich display that ``close()`` (or the end of its ``with`` block) takes away."""

    _progress: Progress | None = None

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class ProgressBar(_Display):
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
                _LineColumn(),
                console=self._console,
                auto_refresh=False,
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task(
                self._description, total=None, line=Line(self._description, "", 0, False)
            )
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
            description=f"{self._description}{_SEPARATOR}{progress.phase} {progress.runner}",
            line=fit(self._console.width, self._description, progress, total is not None),
        )
        self._progress.refresh()

    def relabel(self, description: str) -> ProgressBar:
        """Show ``description`` from now on (a sweep's next cell); returns self."""
        self._description = description
        return self



class CountBar(_Display):
    """A bar of things done out of a total (``dbbench prepare``'s rows), on a terminal only:
    refreshed when told, gone once closed (the command says what it did in a line of its
    own, terminal or not)."""

    def __init__(self, console: Console, description: str, unit: str = "rows") -> None:
        self._console = console
        self._description = description
        self._unit = unit
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __call__(self, done: int, total: int) -> None:
        if not self._console.is_terminal:
            return
        if self._progress is None:
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[count]}"),
                TimeRemainingColumn(),
                console=self._console,
                auto_refresh=False,
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task(self._description, total=total, count="")
        assert self._task is not None
        self._progress.update(
            self._task, completed=done, total=total, count=f"{done:,}/{total:,} {self._unit}"
        )
        self._progress.refresh()
