"""The report's HTML building blocks: tables of columns, escaped cells, the cell text of
every figure (``output.numbers`` with an en dash for a missing value), secrets left out."""

from __future__ import annotations

import datetime
import functools
import html
import math
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any

from dbbench import numbers

DASH = "–"


#: a table column: its header, and the cell's text for an item
Column = tuple[str, Callable[[Any], Any]]


class Html(str):
    """Cell text that is HTML already."""


def column_table(
    columns: Sequence[Column],
    items: Iterable[Any],
    *,
    caption: str = "",
    text: Collection[str] | None = None,
) -> str:
    """A table of ``items``, one row each (``text``: as in ``table``)."""
    rows = [[cell(item) for _, cell in columns] for item in items]
    return table([name for name, _ in columns], rows, caption=caption, text=text)


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    caption: str = "",
    text: Collection[str] | None = None,
) -> str:
    """An HTML table; the columns named in ``text`` (default: the first) are
    left-aligned text, the others right-aligned numbers. Cells are escaped
    unless ``Html``."""
    text = headers[:1] if text is None else text
    numeric = [name not in text for name in headers]

    def cell(tag: str, index: int, value: Any) -> str:
        css = ' class="num"' if numeric[index] else ""
        return f"<{tag}{css}>{value if isinstance(value, Html) else escape(value)}</{tag}>"

    head = "".join(cell("th", i, name) for i, name in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(cell("td", i, value) for i, value in enumerate(row)) + "</tr>"
        for row in rows
    )
    caption = f"<caption>{escape(caption)}</caption>" if caption else ""
    markup = f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return f'<div class="wide">{markup}</div>'


def is_secret(key: str) -> bool:
    """A key that could hold a secret, never shown whatever its value.

    Documents hold ``password_set`` (a flag, shown) and ``ssl_key_password``
    as ``<hidden>``; a document edited by hand might hold more.
    """
    lowered = key.lower()
    return lowered != "password_set" and any(
        word in lowered for word in ("password", "passwd", "secret", "token")
    )


def flatten(value: Any, prefix: str = "") -> list[list[str]]:
    """(dotted key, text) rows for a settings or environment dict, secrets left out."""
    if isinstance(value, dict):
        if not value:
            return [[prefix, "none"]] if prefix else []
        rows = []
        for key, item in value.items():
            if not is_secret(str(key)):
                rows += flatten(item, f"{prefix}.{key}" if prefix else str(key))
        return rows
    if isinstance(value, list):
        return [[prefix, ", ".join(_scalar(v) for v in value) or "none"]]
    return [[prefix, _scalar(value)]]


def _scalar(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return "; ".join(" = ".join(row) for row in flatten(value)) or "none"
    return str(value)


def at(item: Any, *keys: str) -> Any:
    """``item[k1][k2]...``, or None where a level is missing."""
    for key in keys:
        if not isinstance(item, dict):
            return None
        item = item.get(key)
    return item


def escape(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


#: the report writes a missing value as an en dash; the numbers as every format does
ms = functools.partial(numbers.ms_from_us, missing=DASH)
ms_value = numbers.ms_value_from_us
count = functools.partial(numbers.count, missing=DASH)
signed = functools.partial(numbers.signed_count, missing=DASH)
number = functools.partial(numbers.number, missing=DASH)
percent = functools.partial(numbers.percent, missing=DASH)
overflow = numbers.overflow
yes_no = functools.partial(numbers.yes_no, missing=DASH)


def when(iso: Any) -> str:
    """An ISO 8601 UTC time as "2026-11-24 06:05:25"; anything else as it is."""
    if not iso:
        return "not recorded"
    try:
        moment = datetime.datetime.fromisoformat(str(iso))
        if moment.tzinfo is not None:
            moment = moment.astimezone(datetime.UTC)
    except (ValueError, OverflowError):  # not ISO 8601, or beyond what UTC holds (year 1, UTC+5)
        return str(iso)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def sort_number(value: Any) -> float:
    """For ordering: numbers as they are, max_overflow -1 (no limit) and missing values last."""
    if isinstance(value, int | float) and value >= 0:
        return value
    return math.inf
