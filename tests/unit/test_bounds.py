"""Every number dbbench is given has bounds: a value out of them, not a number, NaN, an
infinity, too large or too small to mean anything, is one line naming the flag or key and
the value, exit 2, and nothing connects.

The table is built from the table of settings (``config.schema.SETTINGS``: each numeric
row, through each command that takes its flag, through the settings file, and through
the environment where it has a variable) and the commands' own numbers
(``schema.ARGUMENTS``), so a number added to either gets its cases here.  Each case runs
the real command line (click's ``CliRunner``) with a backend that fails the test if
anything would be measured or connected to.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from dbbench.cli import Env, _SettingOption, cli
from dbbench.config.schema import (
    ARGUMENTS,
    MAX_RUN_S,
    MAX_SWEEP_CELLS,
    SETTINGS,
    Setting,
    argument,
)
from dbbench.config.settings import load_settings
from dbbench.errors import ConfigError
from dbbench.parsing import duration, integer, number, rate
from dbbench.scenarios.backend import Backend


def _connects(*args: object, **kwargs: object) -> None:
    raise AssertionError("the command went past its checks: it would connect or measure")


#: a backend whose every part fails the test: bad input must stop before any of them
REFUSING = Backend(
    check_server=_connects,
    create_runner=_connects,
    monitor=_connects,
    read_max_connections=_connects,
    finds_no_server=_connects,
    scratch_table=_connects,
)

#: what every value of a kind is, as a flag's or a variable's text: (name, text)
NOT_NUMBERS = [
    ("nan", "nan"),
    ("inf", "inf"),
    ("-inf", "-inf"),
    ("non-number", "x"),
    ("empty", ""),
    ("underscore", "1_0"),
    ("fullwidth-digits", "\uff11\uff10"),
    ("hex", "0x10"),
]


@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]
    #: the start of the one line after "dbbench: error: ": where and the value as given
    where: str
    #: what it says is wrong
    problem: str
    #: the settings file's text (written to dbbench.toml, passed with --config)
    config: str | None = None
    env: tuple[tuple[str, str], ...] = ()
    #: ~/.my.cnf's text
    my_cnf: str | None = None


def _texts(check: object, unit: str = "") -> Iterator[tuple[str, str, str]]:
    """(name, text as typed, what is wrong) for a number ``check`` refuses, of every kind."""
    whole = isinstance(check, integer)
    for name, text in NOT_NUMBERS:
        if isinstance(check, duration | rate):
            problem = "such as"
        else:
            problem = "must be a whole number" if whole else "must be a number"
        yield name, text + (unit if name not in ("empty",) else ""), problem
    low, high = check.low, check.high  # type: ignore[attr-defined]
    assert high is not None, f"{check} has no upper bound"
    if whole:
        yield "huge", "9" * 30, f"must be at most {high}"
        yield "above", str(high + 1), f"must be at most {high}"
        yield "fraction", "2.5", "must be a whole number"
        yield "exponent", "1e3", "must be a whole number"
        if low > -5:
            yield "negative", "-5", f"must be at least {low}"
        if low > 0:
            yield "zero", "0", f"must be at least {low}"
        yield "below", str(low - 1), f"must be at least {low}"
        return
    yield "huge", f"1e300{unit}", "must be at most"
    yield "overflow", f"1e400{unit}", "must be at most"
    yield "above", f"{high * 2:g}{unit}", "must be at most"
    if -5 not in check.allow:  # type: ignore[attr-defined]
        yield "negative", f"-5{unit}", "greater than 0"
    yield "zero", f"0{unit}", "greater than 0"
    yield "tiny", f"1e-300{unit}", "must be at least"
    yield "below", f"{low / 2:g}{unit}", "must be at least"


def _unit(check: object) -> str:
    return "s" if isinstance(check, duration) else ""


NUMERIC = [row for row in SETTINGS if row.type in ("integer", "number", "duration", "rate")]


def _commands_of(row: Setting) -> list[str]:
    return [
        name
        for name, command in sorted(cli.commands.items())
        if any(isinstance(p, _SettingOption) and p.setting.name == row.name for p in command.params)
    ]


def _flag_cases() -> Iterator[Case]:
    for row in NUMERIC:
        if row.flag is None:
            continue
        commands = _commands_of(row)
        assert commands, f"{row.flag.name} is on no command"
        flag = row.flag.name
        for position, command in enumerate(commands):
            for name, text, problem in _texts(row.check, _unit(row.check)):
                if position and name != "nan":  # every kind once, every command once
                    continue
                if row.flag.kind == "list" and name == "empty":
                    problem = "give at least one whole number"
                yield Case(f"{command}{flag}={name}", (command, flag, text), f"{flag} = {text!r}: ",
                           problem)


def _toml_literals(check: object) -> Iterator[tuple[str, str, str, str]]:
    """(name, TOML literal, the literal the message echoes, what is wrong)."""
    whole = isinstance(check, integer)
    kind = "must be a whole number" if whole else "must be a number"
    yield "nan", "nan", "nan", "must be a whole number" if whole else "not nan"
    if whole:
        yield "inf", "inf", "inf", kind
        yield "fraction", "2.5", "2.5", kind
        yield "huge", "1" + "0" * 40, "1" + "0" * 40, "must be at most"
        yield "negative", "-5", "-5", "must be at least"
    else:
        yield "inf", "inf", "inf", "must be at most"
        yield "-inf", "-inf", "-inf", "greater than 0"
        yield "overflow", "1e400", "inf", "must be at most"
        yield "huge-integer", "1" + "0" * 400, "1" + "0" * 400, "must be at most"
        yield "tiny", "1e-300", "1e-300", "must be at least"
        yield "zero", "0", "0", "greater than 0"
    yield "boolean", "true", "true", kind
    if not isinstance(check, duration | rate):
        yield "string", '"5"', '"5"', kind


def _file_cases() -> Iterator[Case]:
    for row in NUMERIC:
        command = (_commands_of(row) or ["compare"])[0]
        for name, literal, echo, problem in _toml_literals(row.check):
            yield Case(
                f"file:{row.name}={name}",
                (command, "--config", "{config}"),
                f"{{config}}: {row.name} = {echo}: ",
                problem,
                config=f"[{row.section}]\n{row.key} = {literal}\n",
            )


def _environment_cases() -> Iterator[Case]:
    for row in NUMERIC:
        for variable in row.env:
            for name, text, problem in _texts(row.check):
                if name == "fraction":
                    continue  # said as any other non-number
                yield Case(f"env:{variable}={name}", ("run",), f"environment variable {variable} = "
                           f"{text!r}: ", problem, env=((variable, text),))
    for name, text, problem in (("nan", "nan", "whole number"), ("huge", "9" * 30, "at most")):
        yield Case(f"my.cnf:port={name}", ("run",), "{home}/.my.cnf line 2: [client] port = ",
                   problem, my_cnf=f"[client]\nport = {text}\n")


def _argument_cases() -> Iterator[Case]:
    before = {"diff": ("diff", "a.json", "b.json")}
    for row in ARGUMENTS:
        for command in row.commands:
            prefix = before.get(command, (command,))
            if row.flag == "--fail-on":
                for name, text, problem in (
                    ("nan", "mean:nan%", "not a percentage"),
                    ("inf", "mean:inf%", "not a percentage"),
                    ("overflow", "mean:1e400%", "not a percentage"),
                    ("huge", "mean:99999999999%", "the limit must be at most 10000%"),
                    ("negative", "mean:-5%", "0% or more"),
                    ("non-number", "mean:x%", "not a percentage"),
                    ("no-percent", "mean:10", "needs a '%'"),
                    ("empty", "mean:", "no limit"),
                ):
                    yield Case(f"{command}--fail-on={name}", (*prefix, "--fail-on", text),
                               f"--fail-on = {text!r}: ", problem)
                continue
            for name, text, problem in _texts(row.check, _unit(row.check)):
                if command != row.commands[0] and name != "nan":
                    continue
                yield Case(f"{command}{row.flag}={name}", (*prefix, row.flag, text),
                           f"{row.flag} = {text!r}: ", problem)


#: the numbers that are right alone and wrong together
RELATIONS = [
    Case("duration-at-rate-holds-no-operation", ("run", "--duration", "1s", "--rate", "0.5"),
         "--duration = '1s' at --rate = '0.5' is 0.5 operations", "none to measure"),
    Case("iterations-at-rate-take-over-a-day", ("run", "-n", "100000", "--rate", "1"),
         "--iterations = '100000' at --rate = '1'", f"more than a day ({MAX_RUN_S} s)"),
    Case("default-iterations-at-a-slow-rate", ("compare", "--rate", "0.001"),
         "--iterations (100 by default) at --rate = '0.001'", "more than a day"),
    Case("file-duration-at-file-rate", ("run", "--config", "{config}"),
         '{config}: [benchmark] duration = "1ms" at {config}: [benchmark] rate = 10',
         "none to measure", config='[benchmark]\nduration = "1ms"\nrate = 10\n'),
    Case("idle-a-day-longer-than-wait-timeout",
         ("stale", "--wait-timeout", "2", "--idle", "100000s"),
         "--idle = 100000 is more than a day longer than --wait-timeout = 2", "at most 86402 s"),
    Case("idle-not-longer-than-wait-timeout", ("stale", "--wait-timeout", "5", "--idle", "5s"),
         "--idle = 5 is not longer than --wait-timeout = 5", "idle for more than 5 s"),
    Case("processes-over-concurrency", ("run", "--processes", "4", "-c", "2"),
         "--processes = '4' is more than the concurrency (2)", "at least one worker"),
    # a list on -c is a sweep: each cell is checked, not the concurrency it leaves unset (1)
    Case("processes-over-a-swept-concurrency", ("compare", "--processes", "2", "-c", "1,4"),
         "--processes = 2 is more than --concurrency 1 in the sweep",
         "at least one worker"),
    Case("sweep-of-too-many-cells",
         ("compare", "-c", ",".join(map(str, range(1, 41))), "--pool-size",
          ",".join(map(str, range(1, 31)))),
         "a sweep of 40 --concurrency values × 30 --pool-size values is 1200 cells",
         f"at most {MAX_SWEEP_CELLS}"),
    Case("calibrate-sweep-of-too-many-cells",
         ("calibrate", "-c", "1,2", "--pool-size", "1,2", "--max-overflow",
          ",".join(map(str, range(300)))),
         "a sweep of 2 --concurrency values × 2 --pool-size values × 300 --max-overflow values",
         "1200 cells"),
]

CASES = [*_flag_cases(), *_file_cases(), *_environment_cases(), *_argument_cases(), *RELATIONS]


def _run(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[object, str, str]:
    monkeypatch.chdir(tmp_path)
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    config = tmp_path / "dbbench.toml"
    if case.config is not None:
        config.write_text(case.config)
    if case.my_cnf is not None:
        (home / ".my.cnf").write_text(case.my_cnf)
    environment: dict[str, str | None] = {
        name: None for row in SETTINGS for name in row.env
    } | {"HOME": str(home)}
    environment.update(dict(case.env))
    fill = {"config": str(config), "home": str(home)}
    args = [arg.format(**fill) for arg in case.args]
    result = CliRunner().invoke(cli, args, env=environment, obj=Env(backend=REFUSING))
    return result, case.where.format(**fill), case.problem


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_a_number_out_of_bounds_is_one_line_and_exit_2(case, tmp_path, monkeypatch):
    result, where, problem = _run(case, tmp_path, monkeypatch)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    (line,) = lines
    assert line.startswith(f"dbbench: error: {where}"), line
    assert problem in line
    assert "unexpected" not in line and "Traceback" not in result.output
    assert result.exit_code == 2, line


def test_every_numeric_setting_and_argument_has_cases():
    ids = {case.id for case in CASES}
    for row in NUMERIC:
        assert any(i.startswith(f"file:{row.name}=") for i in ids), row.name
        if row.flag is not None:
            for command in _commands_of(row):
                assert f"{command}{row.flag.name}=nan" in ids, (command, row.flag.name)
    for arg in ARGUMENTS:
        for command in arg.commands:
            assert any(i.startswith(f"{command}{arg.flag}=") for i in ids), (command, arg.flag)


#: what a bound needs beside it to be a run at all
_BESIDE = {
    "[benchmark] processes": "concurrency = 256\n",
    "[benchmark] rate": 'duration = "1000s"\n',
}


@pytest.mark.parametrize("row", NUMERIC, ids=[row.name for row in NUMERIC])
def test_the_bounds_themselves_are_accepted(row, tmp_path):
    """Each bound is a value the setting takes: the table says what it means."""
    check = row.check
    unit = _unit(check)
    for bound in (check.low, check.high):
        literal = f'"{bound:g}{unit}"' if unit else repr(bound)
        if isinstance(check, integer) or (isinstance(bound, float) and bound.is_integer()):
            literal = f'"{int(bound)}{unit}"' if unit else str(int(bound))
        path = tmp_path / "dbbench.toml"
        beside = _BESIDE.get(row.name, "")
        path.write_text(f"[{row.section}]\n{row.key} = {literal}\n{beside}")
        settings = load_settings(path, env={})
        section = getattr(settings, row.section)
        assert math.isclose(getattr(section, row.field), bound), (row.name, literal)


def test_every_number_check_has_both_bounds():
    """A setting or argument with no upper bound takes 10**400: the table must say one."""
    checks = [row.check for row in NUMERIC] + [
        row.check for row in ARGUMENTS if isinstance(row.check, integer | number)
    ]
    for check in checks:
        assert check.low is not None and check.high is not None, check


def test_a_library_value_out_of_bounds_is_named_as_the_setting():
    with pytest.raises(ConfigError, match=r"^\[benchmark\] rate = 1e\+300: must be at most"):
        load_settings(None, env={}, overrides={"benchmark": {"rate": 1e300}})
    with pytest.raises(ConfigError, match=r"^\[pool\] pool_timeout = inf: must be at most"):
        load_settings(None, env={}, overrides={"pool": {"pool_timeout": math.inf}})


def test_the_commands_own_numbers_are_checked_by_the_library_too():
    from dbbench.scenarios.stale_args import check_arguments

    with pytest.raises(ConfigError, match=r"wait_timeout_s = 99999999999: must be at most"):
        check_arguments(99999999999, None, 4, 40, ("none",))
    assert argument("--trials").check(2) == 2
