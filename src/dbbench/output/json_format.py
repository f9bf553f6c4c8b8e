"""JSON: the result document (``--format json``, ``--json``), printed as is."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rich.console import Console

from dbbench.output.base import NO_EXTRAS, Format, RunExtras
from dbbench.results.model import (
    CalibrationResult,
    DiffResult,
    Explanation,
    RunResult,
    RunsListing,
    StaleResult,
    SweepResult,
)


def write_document(document: Mapping[str, Any], console: Console) -> None:
    # Straight to the file: rich must not wrap, colour or reflow JSON.
    console.file.write(json.dumps(document, indent=2) + "\n")
    console.file.flush()


class JsonFormat(Format):
    name = "json"

    def run(self, result: RunResult, console: Console, extras: RunExtras = NO_EXTRAS) -> None:
        write_document(result.to_document(), console)

    def sweep(self, sweep: SweepResult, console: Console) -> None:
        write_document(sweep.to_document(), console)

    def stale(self, result: StaleResult, console: Console) -> None:
        write_document(result.to_document(), console)

    def diff(self, result: DiffResult, console: Console) -> None:
        write_document(result.to_document(), console)

    def explain(self, explanation: Explanation, console: Console) -> None:
        write_document(explanation.to_document(), console)

    def runs(self, listing: RunsListing, console: Console) -> None:
        write_document(listing.to_document(), console)

    def calibrate(self, result: CalibrationResult, console: Console) -> None:
        write_document(result.to_document(), console)


FORMAT = JsonFormat()
