"""Output formats, one module each, behind one interface: ``write(result, console)``."""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console

from dbbench.output import json_format, table
from dbbench.results import RunResult

Writer = Callable[[RunResult, Console], None]

WRITERS: dict[str, Writer] = {
    "table": table.write,
    "json": json_format.write,
}
