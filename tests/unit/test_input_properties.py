"""Property tests (hypothesis) of what reads users' text and files: the duration, rate and
number parsers, the list parsers, and the settings loader.

The one property, in every form: any input is either accepted, as a value of the right
type within its bounds, or refused with the project's error, one line; never another
exception, never a value out of bounds, never a line a control character splits.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dbbench.cli import Env, cli
from dbbench.config.schema import BY_KEY, SETTINGS
from dbbench.config.settings import Settings, load_settings
from dbbench.errors import ConfigError
from dbbench.parsing import (
    decimal,
    duration,
    integer,
    number,
    parse_duration_s,
    parse_int_list,
    parse_name_list,
    parse_rate,
    rate,
)
from dbbench.text import CONTROL
from tests.unit.test_bounds import REFUSING

#: the machine is shared and slow: no deadline, a modest number of examples
FRUGAL = settings(max_examples=150, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

#: text as a user may type it: numbers with units, signs, exponents, and anything at all
NUMBERISH = st.one_of(
    st.text(),
    st.from_regex(r"\A[ +-]?[0-9]{0,400}(\.[0-9]*)?([eE][+-]?[0-9]{1,4})?[ ]?"
                  r"(us|µs|μs|ms|s|m|min|h|/s)?\s*\Z"),
    st.sampled_from(["nan", "inf", "-inf", "infinity", "1e400", "1_000", "\uff11", "0x10",
                     "1e-400", "-0", "+.5", ".", "e3", "1e", "١٢"]),
)
#: what a TOML value or a program may hand over
VALUES = st.one_of(
    st.integers(),
    st.integers(min_value=-(10**500), max_value=10**500),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(),
    st.none(),
    st.lists(st.integers(), max_size=3),
)


def _one_line(error: Exception) -> None:
    text = str(error)
    assert text and not CONTROL.search(text), repr(text)


#: what ``_outcome`` returns for a value refused with one clean line
REFUSED = object()


def _outcome(call, *args, refusal: type[Exception] = ValueError, **kwargs):
    """``call(*args)``'s value, or ``REFUSED`` when it raised ``refusal`` in one clean line
    (any other exception fails the test)."""
    try:
        return call(*args, **kwargs)
    except refusal as exc:
        _one_line(exc)
        return REFUSED


def _within(check: object, value: float) -> bool:
    if value in getattr(check, "allow", ()):
        return True
    low, high = check.low, check.high  # type: ignore[attr-defined]
    return math.isfinite(value) and low <= value <= high


@FRUGAL
@given(NUMBERISH)
@example("1e400s")
@example("1e-300ms")
def test_a_duration_is_seconds_above_zero_or_a_value_error(text):
    seconds = _outcome(parse_duration_s, text)
    if seconds is not REFUSED:
        assert isinstance(seconds, float) and seconds > 0 and not math.isnan(seconds)


@FRUGAL
@given(NUMBERISH, st.sampled_from([duration(1e-3, 86_400), duration(1e-6, 10, unit_required=True)]))
def test_a_bounded_duration_is_within_its_bounds_or_refused(text, check):
    seconds = _outcome(check, text)
    assert seconds is REFUSED or _within(check, seconds)


@FRUGAL
@given(st.floats(min_value=1e-3, max_value=86_400),
       st.sampled_from([("us", 1e-6), ("ms", 1e-3), ("s", 1.0), ("m", 60.0), ("h", 3600.0)]))
def test_a_duration_written_in_any_unit_reads_back(seconds, unit):
    name, scale = unit
    assert math.isclose(parse_duration_s(f"{seconds / scale!r}{name}"), seconds, rel_tol=1e-9)


@FRUGAL
@given(st.one_of(NUMBERISH, VALUES))
def test_a_rate_is_within_its_bounds_or_refused(value):
    check = rate(0.001, 1_000_000)
    per_s = _outcome(check, value)
    if per_s is REFUSED:
        return
    assert _within(check, per_s)
    if isinstance(value, str):
        assert math.isclose(per_s, parse_rate(value))


@FRUGAL
@given(NUMBERISH)
def test_a_decimal_is_ascii_digits_or_refused(text):
    try:
        value = decimal(text)
    except ValueError:
        return
    assert text.strip().isascii() and not math.isnan(value)
    assert math.isclose(value, float(text)) or math.isinf(value)


@FRUGAL
@given(st.one_of(NUMBERISH, VALUES),
       st.sampled_from([integer(1, 65535), integer(-1, 100_000), number(1e-6, 31_536_000),
                        number(1e-6, 31_536_000, allow=(-1,))]))
def test_a_number_check_keeps_its_bounds(value, check):
    checked = _outcome(check, value)
    if checked is REFUSED:
        return
    assert _within(check, checked)
    assert isinstance(checked, int if isinstance(check, integer) else float)


@FRUGAL
@given(st.one_of(st.text(), st.lists(st.one_of(st.integers(-3, 20), st.text(max_size=3)),
                                     max_size=6).map(lambda items: ",".join(map(str, items)))))
@example("1,1")
@example("5,05")
def test_an_int_list_is_sorted_unique_numbers_in_bounds_or_one_line(text):
    check = integer(-1, 10)
    try:
        values = parse_int_list(text, where="--pool-size", check=check)
    except ConfigError as exc:
        _one_line(exc)
        assert str(exc).startswith(f"--pool-size = {text!r}: ")
        return
    assert values == sorted(set(values)) and values
    assert all(-1 <= v <= 10 for v in values)
    assert len(values) == len(text.split(","))  # nothing merged, nothing dropped


@FRUGAL
@given(st.one_of(st.text(), st.lists(st.sampled_from(["raw", "pool", "persistent", "", " x",
                                                      "raw "]), max_size=5).map(",".join)))
def test_a_name_list_is_the_names_given_once_each_or_one_line(text):
    choices = ("raw", "pool", "persistent")
    try:
        names = parse_name_list(text, choices, "--runner", "runner")
    except ConfigError as exc:
        _one_line(exc)
        assert str(exc).startswith(f"--runner = {text!r}: ")
        return
    assert names == [part.strip() for part in text.split(",")]
    assert len(set(names)) == len(names) and set(names) <= set(choices)


# --- the settings loader ---------------------------------------------------------------

NUMERIC = [row for row in SETTINGS if row.type in ("integer", "number", "duration", "rate")]


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string is a JSON one
    if isinstance(value, list):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    return str(value)


@st.composite
def settings_files(draw) -> str:
    """A settings file: known sections and keys (a few unknown ones), any values."""
    lines = []
    for section in draw(st.lists(st.sampled_from([*BY_KEY, "bench", "pool"]), max_size=3,
                                 unique=True)):
        lines.append(f"[{section}]")
        keys = list(BY_KEY.get(section, {})) + ["prot", "x"]
        for key in draw(st.lists(st.sampled_from(keys), max_size=4, unique=True)):
            value = draw(st.one_of(VALUES.filter(lambda v: v is not None), st.sampled_from(
                ['"30s"', '"1e300s"', '"500/s"', "1e400", '"-1"', "0", "-1"]).map(_Raw)))
            lines.append(f"{key} = {value.text if isinstance(value, _Raw) else _toml(value)}")
    return "\n".join(lines) + "\n"


class _Raw:
    def __init__(self, text: str) -> None:
        self.text = text


def _check_loaded(loaded: Settings) -> None:
    for row in NUMERIC:
        value = getattr(getattr(loaded, row.section), row.field)
        if value is not None:
            assert _within(row.check, value), (row.name, value)
    if loaded.benchmark.rate_per_s and loaded.benchmark.duration_s:
        assert loaded.benchmark.rate_per_s * loaded.benchmark.duration_s >= 1


def _load(text: str, **arguments) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "dbbench.toml"
        path.write_text(text)
        try:
            loaded = load_settings(path, env={}, **arguments)
        except ConfigError as exc:
            _one_line(exc)
            assert str(exc).startswith(str(path)) or "--" in str(exc) or "[" in str(exc)
            return
    _check_loaded(loaded)


@FRUGAL
@given(settings_files())
@example('[benchmark]\nduration = "1ms"\nrate = 10\n')
@example("[database]\nconnect_timeout = 1" + "0" * 400 + "\n")
def test_a_settings_file_loads_within_bounds_or_is_one_line(text):
    _load(text)


@FRUGAL
@given(st.text())
def test_any_text_as_a_settings_file_loads_or_is_one_line(text):
    _load(text if text.strip() else "[benchmark]\n")


@FRUGAL
@given(st.sampled_from(NUMERIC), VALUES)
def test_any_value_a_program_gives_loads_within_bounds_or_is_one_line(row, value):
    try:
        loaded = load_settings(None, env={}, overrides={row.section: {row.key: value}})
    except ConfigError as exc:
        _one_line(exc)
        assert str(exc).startswith(row.name) or "concurrency" in str(exc) or "rate" in str(exc)
        return
    _check_loaded(loaded)


@FRUGAL
@given(st.sampled_from([row for row in NUMERIC if row.flag is not None]), NUMBERISH)
def test_any_flag_text_loads_within_bounds_or_is_one_line(row, text):
    flags = {row.section: {row.key: text}}
    loaded = _outcome(load_settings, None, env={}, flags=flags, refusal=ConfigError)
    if loaded is not REFUSED:
        _check_loaded(loaded)


@FRUGAL
@given(NUMBERISH)
def test_the_environment_s_port_loads_within_bounds_or_is_one_line(text):
    try:
        loaded = load_settings(None, env={"DBBENCH_PORT": text})
    except ConfigError as exc:
        _one_line(exc)
        assert str(exc).startswith(f"environment variable DBBENCH_PORT = {text!r}: ")
        return
    assert 1 <= loaded.database.port <= 65535


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["--rate", "--duration", "--iterations", "-c", "--rtt", "--max-errors"]),
       NUMBERISH)
def test_the_command_line_says_one_line_or_gets_past_its_checks(flag, text):
    """``dbbench run FLAG TEXT``: exit 2 and one line, or nothing refused (the backend, which
    refuses everything, is reached)."""
    with tempfile.TemporaryDirectory() as directory:
        cwd = os.getcwd()
        os.chdir(directory)
        try:
            result = CliRunner().invoke(cli, ["run", flag, text, "-q"],
                                        env={"HOME": directory, "DBBENCH_PORT": None},
                                        obj=Env(backend=REFUSING))
        finally:
            os.chdir(cwd)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and not CONTROL.search(lines[0]), result.stderr
    if "went past its checks" in lines[0]:
        return
    assert result.exit_code == 2 and "unexpected" not in lines[0], lines[0]
