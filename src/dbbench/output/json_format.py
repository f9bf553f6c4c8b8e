"""The JSON document (``--json``): ``RunResult.to_dict()``, printed as is."""

from __future__ import annotations

import json

from rich.console import Console

from dbbench.results import RunResult


def write(result: RunResult, console: Console) -> None:
    # Straight to the file: rich must not wrap, colour or reflow JSON.
    console.file.write(json.dumps(result.to_dict(), indent=2) + "\n")
    console.file.flush()
