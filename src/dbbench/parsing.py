"""Text and TOML values -> checked values: durations, rates, whole numbers, lists of names.

Generic, knowing no setting: the callers say what the value is for.  The ``check``
functions raise ``ValueError`` with the rest of a message ("must be at least 1") for
the caller to put after the value's name and origin; the list parsers, which are told
``where`` the text came from, raise ``ConfigError`` with the whole line.  Imports
nothing of dbbench but its errors, so settings, drivers, runners and the CLI can all
use it.
"""

from __future__ import annotations

import decimal as decimal_module
import difflib
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from dbbench.errors import ConfigError

#: a check: the value as given -> the value to use, or ``ValueError`` saying what is wrong
Validator = Callable[[Any], Any]


def said(value: float, unit: str | None = None, *, grouped: bool = False) -> str:
    """A bound as messages say it: ``65535``, ``0.001``, ``1 µs``, ``250 ms``, ``86400 s``,
    never in exponent form; ``grouped``, as documents do: ``31,536,000 s``."""
    if unit == "s" and 0 < abs(value) < 1:
        scaled, unit = (value * 1e6, "µs") if abs(value) < 1e-3 else (value * 1e3, "ms")
        return f"{_plain(scaled, grouped)} {unit}"
    if unit == "%":
        return f"{_plain(value, grouped)}%"
    return f"{_plain(value, grouped)} {unit}" if unit else _plain(value, grouped)


def _plain(value: float, grouped: bool = False) -> str:
    if float(value).is_integer():
        return f"{int(value):,}" if grouped else str(int(value))
    return format(decimal_module.Decimal(repr(value)), "f")


def _with(note: str | None) -> str:
    return f" ({note})" if note else ""


@dataclass(frozen=True)
class integer:  # noqa: N801 - a check, named like the others
    """A whole number from ``low`` to ``high`` (either may be open); the bounds stay
    readable, for a list of such numbers (``--pool-size 1,5,10``) to check each item and for
    the documents to say them (``words``).  ``why_low``/``why_high``: a word on a bound,
    in the message that names it."""

    low: int | None = None
    high: int | None = None
    why_low: str | None = None
    why_high: str | None = None

    def __call__(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("must be a whole number")
        if self.low is not None and value < self.low:
            raise ValueError(f"must be at least {self.low}{_with(self.why_low)}")
        if self.high is not None and value > self.high:
            raise ValueError(f"must be at most {self.high}{_with(self.why_high)}")
        return value

    @property
    def words(self) -> str | None:
        """The bounds in words: ``1 to 65,535``, ``>= 0``; None when there are none."""
        return _range_words(self.low, self.high, None)


def _range_words(low: float | None, high: float | None, unit: str | None) -> str | None:
    if low is not None and high is not None:
        return f"{said(low, unit, grouped=True)} to {said(high, unit, grouped=True)}"
    if low is not None:
        return f">= {said(low, unit, grouped=True)}"
    if high is not None:
        return f"<= {said(high, unit, grouped=True)}"
    return None


def as_float(value: Any) -> float:
    """A number given as a value (a TOML integer or float) as a float, an integer too large
    for one as an infinity; ``ValueError`` for anything that is no number (``true`` too)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a number")
    try:
        return float(value)
    except OverflowError:  # an integer beyond 1.8e308
        return math.inf if value > 0 else -math.inf


#: a number as the command line and the environment may write it: ASCII digits, a point,
#: an exponent; not ``nan``, ``inf``, ``1_000`` or digits of other scripts, which ``float``
#: would take
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def decimal(text: str) -> float:
    """``"2.5"``, ``" 1e3 "``, ``"-1"`` -> the number (``1e400``: an infinity, for the bounds
    to refuse); ``ValueError`` for any other text."""
    if not _DECIMAL.fullmatch(text.strip()):
        raise ValueError("must be a number")
    return float(text)


@dataclass(frozen=True)
class number:  # noqa: N801 - a check, named like the others
    """A finite number from ``low`` to ``high`` (either open), or one of ``allow`` (``-1``:
    never); ``unit`` says the bounds in messages and documents (``s``: ``1 µs``).  Zero and
    less, where ``low`` is above 0, is "must be greater than 0": a value, not a bound, is
    wrong; a positive value below ``low`` is too small to mean anything."""

    low: float | None = None
    high: float | None = None
    allow: tuple[float, ...] = ()
    unit: str | None = None
    why_low: str | None = None
    why_high: str | None = None

    def __call__(self, value: Any) -> float:
        return self.bounded(as_float(value))

    def bounded(self, value: float) -> float:
        """``value`` checked against the bounds (the number is read already)."""
        if math.isnan(value):
            raise ValueError("must be a number, not nan")
        if value in self.allow:
            return float(value)
        low, high = self.low, self.high
        if low is not None and low > 0 and value <= 0:
            others = f" (or {', '.join(said(a) for a in self.allow)})" if self.allow else ""
            raise ValueError(f"must be greater than 0{others}")
        if low is not None and value < low:
            raise ValueError(f"must be at least {said(low, self.unit)}{_with(self.why_low)}")
        if high is not None and value > high:
            raise ValueError(f"must be at most {said(high, self.unit)}{_with(self.why_high)}")
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        return float(value)

    @property
    def words(self) -> str | None:
        """The bounds in words: ``1 µs to 31,536,000 s`` (``allow`` is for its setting's words
        to say: what -1 means)."""
        return _range_words(self.low, self.high, self.unit)


def string(*, non_empty: bool = False) -> Validator:
    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError("must be a string")
        if non_empty and not value.strip():
            raise ValueError("must not be empty")
        return value

    return check


def optional_string(value: Any) -> str | None:
    """A string, where an empty one means "not set"."""
    if value is None or value == "":
        return None
    return string()(value)


def choice(*choices: str) -> Validator:
    def check(value: Any) -> str:
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return value

    return check


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


#: "30s", "500ms", "2m", "1h" or a number of seconds
_DURATION_UNITS_S = {
    "us": 1e-6,
    "µs": 1e-6,  # MICRO SIGN
    "μs": 1e-6,  # GREEK SMALL LETTER MU
    "ms": 0.001,
    "s": 1.0,
    "m": 60.0,
    "min": 60.0,
    "h": 3600.0,
}


def parse_duration_s(value: Any, *, unit_required: bool = False) -> float:
    """``30s``, ``500ms``, ``2m``, ``1h`` or a plain number of seconds -> seconds (> 0; an
    amount too large for a float is an infinity, for a bound to refuse).

    ``unit_required``: a plain number is refused (for ``--rtt``, where ``1`` could be meant
    as 1 ms as well as 1 s)."""
    if isinstance(value, str):
        text = value.strip().lower()
        amount, unit = text, None
        for suffix in sorted(_DURATION_UNITS_S, key=len, reverse=True):
            if text.endswith(suffix):
                amount, unit = text[: -len(suffix)].strip(), suffix
                break
        try:
            seconds = decimal(amount) * _DURATION_UNITS_S[unit or "s"]
        except ValueError:
            raise ValueError("must be a duration such as 30s, 500ms, 2m or 1h") from None
        if unit is None and unit_required:
            raise ValueError("give a unit, such as 1ms, 250us or 20ms")
    else:
        seconds = as_float(value)
    if math.isnan(seconds):
        raise ValueError("must be a duration, not nan")
    if seconds <= 0:
        raise ValueError("must be a duration greater than 0")
    return seconds


@dataclass(frozen=True)
class duration(number):  # noqa: N801 - a check, named like the others
    """A duration (``parse_duration_s``) from ``low`` to ``high`` seconds."""

    unit: str | None = "s"
    unit_required: bool = False

    def __call__(self, value: Any) -> float:
        return self.bounded(parse_duration_s(value, unit_required=self.unit_required))


def parse_rate(value: Any) -> float:
    """``1000``, ``1000/s`` or ``"1e3"`` operations per second -> a number, not checked
    against any bound (``rate`` does that)."""
    if isinstance(value, str):
        text = value.strip().lower().removesuffix("/s").strip()
        try:
            return decimal(text)
        except ValueError:
            raise ValueError("must be operations per second, such as 500 or 500/s") from None
    return as_float(value)


@dataclass(frozen=True)
class rate(number):  # noqa: N801 - a check, named like the others
    """Operations per second (``parse_rate``) from ``low`` to ``high``."""

    def __call__(self, value: Any) -> float:
        return self.bounded(parse_rate(value))


def suggest(word: str, choices: Sequence[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices``, or nothing."""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def parse_name_list(text: str, choices: Sequence[str], where: str, noun: str) -> list[str]:
    """``"a,b"`` -> ``["a", "b"]``: each one of ``choices``, in the order given; otherwise (an
    unknown name, an empty item, a name given twice, nothing at all) one line naming
    ``where``, the value and the choices.  A repeat is refused, not merged: ``raw,raw`` is
    more likely a slip for another name than a wish to run one twice."""
    listed = ", ".join(choices)
    if not text.strip():
        raise bad_value(where, text, f"name at least one of {listed}")
    names: list[str] = []
    for position, part in enumerate(text.split(","), start=1):
        name = part.strip()
        if not name:
            raise bad_value(where, text, f"item {position} is empty")
        if name not in choices:
            hint = suggest(name, choices)
            raise bad_value(where, text, f"unknown {noun} {name!r}{hint}; choose from {listed}")
        if name in names:
            raise bad_value(where, text, repeated(name, names.index(name) + 1, position))
        names.append(name)
    return names


def repeated(item: str, first: int, again: int) -> str:
    """What is wrong with a list that names ``item`` twice: at ``first`` and ``again``."""
    return f"{item!r} is given twice (items {first} and {again}): give each once"


_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")
_RANGE = re.compile(r"[0-9]+-[0-9]+")


def shown(value: Any, *, secret: bool = False) -> str:
    """A value as a message shows it: text quoted, true/false as TOML writes them, a secret
    never."""
    if secret:
        return "<hidden>"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, str) else str(value)


def toml_literal(value: Any) -> str:
    """A value read from a TOML file as the file writes it: ``"5x"``, ``0``, ``-1.0``,
    ``true``."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a TOML basic string is a JSON one
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(toml_literal(item) for item in value) + "]"
    return str(value)


def bad_value(
    where: str, value: Any, problem: str, *, secret: bool = False, echo: str | None = None
) -> ConfigError:
    """The one shape of a bad value's message, whatever gave it: ``<where> = <value>: <what
    is wrong>``, the value as the user gave it: a flag's or a variable's text, quoted
    (``--pool-size = '0': must be at least 1``; ``environment variable DBBENCH_PORT = 'x':
    must be a whole number``), a file's TOML literal (``dbbench.toml: [benchmark]
    iterations = 0: must be at least 1``).  ``echo``: that text, where ``value`` is no longer
    it (``toml_literal``)."""
    given = shown(value, secret=True) if secret else echo if echo is not None else shown(value)
    return ConfigError(f"{where} = {given}: {problem}")


def whole_number(text: str) -> int:
    """``"42"``, ``" +3 "`` -> the number; ``ValueError`` for anything else (``2.5``,
    ``5_0``, digits of other scripts, which ``int`` would take)."""
    if not _WHOLE_NUMBER.fullmatch(text.strip()):
        raise ValueError("must be a whole number")
    return int(text)


def parse_int_list(text: str, *, where: str, check: Validator) -> list[int]:
    """``"10,1,5"`` -> ``[1, 5, 10]``: comma-separated whole numbers, each passing
    ``check``, sorted; a number given twice (``1,1``, ``5,05``) is refused, as in every list
    (``parse_name_list``).

    Spaces around items are allowed.  Ranges such as ``1-4`` are not: ``-1`` is a
    valid ``max_overflow``, so a dash would be ambiguous, and an explicit list
    keeps the size of the grid visible.  Raises ``bad_value``'s ``ConfigError``, naming
    ``where``, the text and, in a list of several, the offending item.
    """
    if not text.strip():
        raise bad_value(where, text, "give at least one whole number, e.g. 1,5,10")
    items = text.split(",")
    values: dict[int, int] = {}  # value -> its position
    for position, raw in enumerate(items, start=1):
        item = raw.strip()
        if not item:
            raise bad_value(where, text, f"item {position} is empty")
        if _RANGE.fullmatch(item):
            low, high = sorted(int(n) for n in item.split("-"))
            example = ",".join(str(n) for n in range(low, min(high, low + 3) + 1))
            example += ",…" if high - low > 3 else ""
            raise bad_value(
                where,
                text,
                f"ranges like {item!r} are not supported; list the values, e.g. {example}",
            )
        try:
            value = check(whole_number(item))
        except ValueError as exc:
            problem = f"{item!r} {exc}" if len(items) > 1 else str(exc)
            raise bad_value(where, text, problem) from None
        if value in values:
            raise bad_value(where, text, repeated(str(value), values[value], position))
        values[value] = position
    return sorted(values)
