"""Output formats, one module each, behind one interface.

Every format module has ``write_run(result, console)``,
``write_sweep(sweep, console)`` and ``write_stale(cases, wait_timeout_s,
idle_s, console)``; JSON is the result document itself
(``json_format.write_document``), the same one ``--output`` writes.
"""

from __future__ import annotations

from types import ModuleType

FORMAT_NAMES = ("table", "json", "csv", "markdown")


def format_module(name: str) -> ModuleType:
    """The module that writes format ``name`` (not json: that is the document)."""
    if name == "table":
        from dbbench.output import table_format

        return table_format
    if name == "csv":
        from dbbench.output import csv_format

        return csv_format
    if name == "markdown":
        from dbbench.output import markdown

        return markdown
    raise ValueError(f"no format module for {name!r}")
