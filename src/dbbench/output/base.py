"""The Format protocol: what every output format (``--format NAME``) writes, one method per
kind of result.

A format draws on a rich ``Console`` (``console.file`` where rich must not
touch the text: JSON, CSV, Markdown).  A format that cannot show a kind of
result (CSV and Markdown for ``explain``) leaves the method out: the
protocol's own says so in one line.  The formats are found by name through
``output.formats.FORMATS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from rich.console import Console

from dbbench.errors import ConfigError, mention
from dbbench.results.model import (
    CalibrationResult,
    DiffResult,
    Explanation,
    Result,
    RunResult,
    RunsListing,
    StaleResult,
    SweepResult,
)


@dataclass(frozen=True)
class RunExtras:
    """What ``run`` adds when asked: ``--histogram`` (the table only)."""

    histogram: bool = False


NO_EXTRAS = RunExtras()


def show(format_: Format, result: Result, console: Console) -> None:
    """A result read from a file, as the command that wrote it printed it in ``format_``."""
    if isinstance(result, RunResult):
        format_.run(result, console)
    elif isinstance(result, SweepResult):
        format_.sweep(result, console)
    elif isinstance(result, StaleResult):
        format_.stale(result, console)
    elif isinstance(result, Explanation):
        format_.explain(result, console)
    elif isinstance(result, DiffResult):
        format_.diff(result, console)
    elif isinstance(result, CalibrationResult):
        format_.calibrate(result, console)
    else:
        format_.runs(result, console)


class Format(Protocol):
    """One output format; subclasses fill the methods for the results they can show."""

    name: str

    def run(self, result: RunResult, console: Console, extras: RunExtras = NO_EXTRAS) -> None:
        """``run`` and ``compare``: the runner table and all that goes with it."""
        self._cannot("a run")

    def sweep(self, sweep: SweepResult, console: Console) -> None:
        """A pool sweep: the matrix and the recommendations."""
        self._cannot("a sweep")

    def stale(self, result: StaleResult, console: Console) -> None:
        """``dbbench stale``: a row per protection."""
        self._cannot("stale's cases")

    def diff(self, result: DiffResult, console: Console) -> None:
        """``dbbench diff``: the changes, what was not compared, caveats, the verdict."""
        self._cannot("a diff")

    def explain(self, explanation: Explanation, console: Console) -> None:
        """``dbbench explain``: phase by phase, then the projection."""
        self._cannot("an explanation")

    def runs(self, listing: RunsListing, console: Console) -> None:
        """``dbbench runs``: the saved runs."""
        self._cannot("the saved runs")

    def calibrate(self, result: CalibrationResult, console: Console) -> None:
        """``dbbench calibrate``: the A/A trials and the limits they allow."""
        self._cannot("a calibration")

    def _cannot(self, what: str) -> None:
        raise ConfigError(f"{mention('format')} {self.name} cannot show {what}")
