"""The formats by name (``--format NAME``): each a module with a ``FORMAT`` object that
implements ``output.base.Format``.

A format's module is imported when it is asked for, so that ``dbbench
--help`` loads none of them.  To add one: a module with a ``Format``
subclass and its ``FORMAT``, and a row here.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # base loads rich and the model: --help needs neither
    from dbbench.output.base import Format

#: --format NAME -> the module that holds its FORMAT
FORMATS: dict[str, str] = {
    "table": "dbbench.output.table_format",
    "json": "dbbench.output.json_format",
    "csv": "dbbench.output.csv_format",
    "markdown": "dbbench.output.markdown",
}
FORMAT_NAMES = tuple(FORMATS)


def get_format(name: str) -> Format:
    """The format called ``name`` (one of ``FORMAT_NAMES``)."""
    try:
        module = FORMATS[name]
    except KeyError:
        raise ValueError(f"no format {name!r}; the formats are {', '.join(FORMATS)}") from None
    format_: Format = importlib.import_module(module).FORMAT
    return format_
