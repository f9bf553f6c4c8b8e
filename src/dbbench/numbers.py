"""Every number dbbench prints, formatted in one place, and the one Markdown escape.

One input unit per function, named in it: ``ms_from_ns`` takes nanoseconds,
``ms_from_us`` microseconds (the unit of the result files), ``ms_from_s``
seconds.  Two ways of writing milliseconds, each for its place:

- ``ms_from_ns``: always three decimals (``0.352``, ``41.000``), so that a
  column of figures lines up in a table of runners;
- ``ms_from_us``: about three significant digits (``0.352``, ``6.35``,
  ``41.0``, ``1,002``), for a figure read on its own (a sweep cell, a diff).

A missing value (``None``: nothing succeeded, no pool) is ``missing``, by
default ``-``; the HTML report passes ``–``.  This module imports nothing
from dbbench but ``text`` (which imports nothing), so that every layer may use it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from dbbench.text import printable

MISSING = "-"


def us_from_ns(value_ns: float | None) -> float | None:
    """Nanoseconds as the microseconds result files and CSV hold (None stays None)."""
    return None if value_ns is None else value_ns / 1000.0


def ms_from_ns(value_ns: float | None, *, grouped: bool = False, missing: str = MISSING) -> str:
    """Nanoseconds as milliseconds with three decimals: 1_234_567 -> "1.235"."""
    if value_ns is None:
        return missing
    return f"{value_ns / 1e6:,.3f}" if grouped else f"{value_ns / 1e6:.3f}"


def ms_value_from_us(value_us: Any) -> float | None:
    """Microseconds as a number of milliseconds; None for anything that is not a number."""
    return value_us / 1000 if isinstance(value_us, int | float) else None


def ms_from_us(value_us: Any, *, unit: bool = False, missing: str = MISSING) -> str:
    """Microseconds as milliseconds, about three significant digits: 41_000 -> "41.0"
    (``unit``: "41.0 ms"); anything that is not a number is ``missing``."""
    ms = ms_value_from_us(value_us)
    if ms is None:
        return missing
    digits = 3 if ms < 1 else 2 if ms < 10 else 1 if ms < 100 else 0
    return f"{ms:,.{digits}f}" + (" ms" if unit else "")


def ms_from_s(value_s: float) -> str:
    """Seconds as milliseconds, as short as they go: 0.0125 -> "12.5 ms"."""
    milliseconds = value_s * 1e3
    return f"{milliseconds:,.0f} ms" if milliseconds >= 1e5 else f"{milliseconds:g} ms"


def duration_from_ns(value_ns: float) -> str:
    """3 significant digits in ms or µs, never an exponent: 0.35 ms, 6.35 ms, 1,002 ms, 250 µs."""
    value, unit = (value_ns / 1e6, "ms") if abs(value_ns) >= 999_500 else (value_ns / 1e3, "µs")
    return f"{value:,.0f} {unit}" if abs(value) >= 99.95 else f"{value:.3g} {unit}"


def signed_ms_from_ns(value_ns: float) -> str:
    """A difference in nanoseconds as signed milliseconds: "+0.012", "-0.250", never "-0.000"."""
    return f"{round(value_ns / 1e6, 3) + 0.0:+.3f}"  # + 0.0: no "-0.000"


def count(value: Any, *, grouped: bool = True, missing: str = MISSING) -> str:
    """A count: 12345 -> "12,345" (``grouped=False``: "12345"); a float as ``ops_per_s``;
    anything else as it is."""
    if value is None:
        return missing
    if isinstance(value, float):
        return ops_per_s(value)
    if isinstance(value, int) and grouped:
        return f"{value:,}"
    return str(value)


def signed_count(value: Any, *, missing: str = MISSING) -> str:
    """A change in a count: 3 -> "+3", -1200 -> "-1,200"."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:+,}"
    return count(value, missing=missing)


def ops_per_s(value: float | None, *, unit: bool = False, missing: str = MISSING) -> str:
    """A rate: 8212.4 -> "8,212", 3.46 -> "3.5" (``unit``: "8,212/s")."""
    if value is None:
        return missing
    text = f"{value:,.0f}" if value >= 10 else f"{value:.1f}"
    return text + ("/s" if unit else "")


def number(value: Any, *, missing: str = MISSING) -> str:
    """A setting as the user would type it: 2.0 -> "2", 0.25 -> "0.25"."""
    return f"{value:g}" if isinstance(value, int | float) else count(value, missing=missing)


def size_from_bytes(value: Any, *, missing: str = MISSING) -> str:
    """Bytes in binary units, about three significant digits: 2448896 -> "2.34 MiB",
    58064 -> "56.7 KiB", 512 -> "512 B"."""
    if not isinstance(value, int | float):
        return missing
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if abs(value) >= scale:
            scaled = value / scale
            digits = 2 if abs(scaled) < 10 else 1 if abs(scaled) < 100 else 0
            return f"{scaled:.{digits}f} {unit}"
    return f"{value:.0f} B"


def percent(fraction: Any, digits: int = 1, *, missing: str = MISSING) -> str:
    """0.1234 -> "12.3%"."""
    return f"{fraction:.{digits}%}" if isinstance(fraction, int | float) else missing


def signed_percent(fraction: float, digits: int = 1) -> str:
    """A signed share: 0.012 -> "+1.2%", -0.038 -> "-3.8%", never "-0.0%"."""
    return f"{round(fraction * 100, digits) + 0.0:+.{digits}f}%"  # + 0.0: no "-0.0%"


def ratio(value: float) -> str:
    """A speedup: 71.34 -> "71.3×", 1.234 -> "1.23×"."""
    return f"{value:.{ratio_digits(value)}f}×"


def ratio_digits(value: float) -> int:
    """Decimals for a ratio: two under 10, one from there."""
    return 2 if value < 10 else 1


def p_value(p: float) -> str:
    """A test's p-value: 0.0123 -> "p = 0.012", under 0.0001 -> "p < 0.0001"."""
    return "p < 0.0001" if p < 0.0001 else f"p = {p:.2g}"


def overflow(max_overflow: Any) -> str:
    """max_overflow as a setting: -1 (no limit) -> "unlimited"."""
    return "unlimited" if isinstance(max_overflow, int) and max_overflow < 0 else str(max_overflow)


def error_kinds(errors_by_kind: Mapping[str, int], *, grouped: bool = False) -> str:
    """Failed operations by kind, as people read them: "OperationalError(2006) × 2, ..."."""
    return ", ".join(
        f"{kind} × {count(n, grouped=grouped)}" for kind, n in sorted(errors_by_kind.items())
    )


def yes_no(value: Any, *, missing: str = MISSING) -> str:
    return missing if value is None else ("yes" if value else "no")


#: characters that mean something in GFM inline text or table rows
_SPECIAL = re.compile(r"([\\`*|<>\[\]~])")
#: "_" starts or ends emphasis only next to a non-word character: pool_size is safe as it is
_UNDERSCORE = re.compile(r"(?<!\w)_|_(?!\w)")


def escape_markdown(text: Any) -> str:
    """``text`` as literal Markdown inline text, on one line (also safe in a table cell); a
    control character that is no white space (ESC) is shown escaped (``text.printable``)."""
    text = printable(" ".join(str(text).split()))
    return _UNDERSCORE.sub(r"\\_", _SPECIAL.sub(r"\\\1", text))
