"""The table of settings against everything derived from it: the dataclasses' defaults,
config.example.toml, the configuration reference, the CLI's flags, and the errors."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from cogapp import Cog

from dbbench.cli import cli
from dbbench.config.docs import example_config
from dbbench.config.schema import BY_KEY, COMMAND_ROWS, SETTINGS, Setting, by_flag
from dbbench.config.settings import Settings, load_settings
from dbbench.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
WITH_FLAG = [row for row in SETTINGS if row.flag is not None and row.flag.kind != "prompt"]


def _refuses_empty(row: Setting) -> bool:
    try:
        row.check("")
    except ValueError:
        return True
    return False


#: the settings a variable can set to something wrong (any text is a database name)
WITH_ENV = [row for row in SETTINGS if row.env and (row.type == "integer" or _refuses_empty(row))]


def _ids(rows: list[Setting]) -> list[str]:
    return [f"{row.section}.{row.key}" for row in rows]


def _command_flags() -> set[str]:
    """Every flag of every dbbench command, both sides of a switch included."""
    top = click.Context(cli, info_name="dbbench")
    flags = set()
    for name in cli.list_commands(top):
        for param in cli.get_command(top, name).params:
            if isinstance(param, click.Option):
                flags.update(param.opts, param.secondary_opts)
    return flags


def test_the_table_has_each_setting_once():
    names = [row.name for row in SETTINGS]
    assert len(names) == len(set(names))
    flags = [row.flag.name for row in SETTINGS if row.flag]
    assert len(flags) == len(set(flags))


def test_the_dataclasses_default_to_the_tables_defaults():
    settings = Settings()
    for row in SETTINGS:
        section = getattr(settings, row.section)
        if row.field in (f.name for f in dataclasses.fields(section)):
            assert getattr(section, row.field) == row.default, row.name
        elif row.key == "url":  # read into the keys it sets
            assert row.default is None
        else:  # the ssl_* keys: a mapping that holds only what is given
            assert row.key.startswith("ssl_") and row.default is None, row.name
            assert row.key not in section.ssl


def test_config_example_is_what_the_table_says():
    example = ROOT / "config.example.toml"
    assert example.read_text() == example_config(), (
        "config.example.toml is out of date: python -m dbbench.config.docs > config.example.toml"
    )
    # and what it shows uncommented is the default
    assert load_settings(example, env={}) == Settings(config_path=example)


def test_the_configuration_reference_is_what_the_table_says():
    reference = ROOT / "docs" / "reference" / "configuration.md"
    status = Cog().main(["cog", "--check", "--verbosity=0", str(reference)])
    assert status == 0, f"{reference} is out of date: run cog -r {reference.relative_to(ROOT)}"
    text = reference.read_text()
    for row in SETTINGS:
        assert f"| `{row.name}` |" in text


def _setting_options() -> list[tuple[str, click.Option]]:
    """(command, option) for every option of every command that sets a setting."""
    return [
        (name, param)
        for name, command in cli.commands.items()
        for param in command.params
        if getattr(param, "setting", None) is not None
    ]


def test_every_option_named_as_a_setting_is_the_tables():
    """No command writes a setting's option by hand (its own default, range, message): each
    option spelled as a row's flag is that row's, or the command's override of it."""
    for name, command in cli.commands.items():
        for param in command.params:
            if not isinstance(param, click.Option):
                continue
            rows = {row.name for opt in param.opts if (row := by_flag(opt)) is not None}
            if not rows:
                continue
            assert getattr(param, "setting", None) is not None, f"dbbench {name} {param.opts}"
            assert {param.setting.name} == rows, f"dbbench {name} {param.opts}"


def test_a_commands_own_default_is_the_tables_row_but_for_default_and_words():
    for name, option in _setting_options():
        row = option.setting
        table = BY_KEY[row.section][row.key]
        own = COMMAND_ROWS.get(name, {}).get(row.name)
        assert row is (own or table), f"dbbench {name} {row.name}"
        assert (row.check, row.env, row.flag.name, row.flag.short) == (
            table.check,
            table.env,
            table.flag.name,
            table.flag.short,
        )
    for name, rows in COMMAND_ROWS.items():
        taken = {option.setting.name for command, option in _setting_options() if command == name}
        assert set(rows) <= taken, name


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["explain", "-n", "0"], "--iterations = '0': must be at least 1"),
        (["explain", "--warmup", "-1"], "--warmup = '-1': must be at least 0"),
        (["explain", "--iterations", "x"], "--iterations = 'x': must be a whole number"),
        (["stale", "--pool-size", "0"], "--pool-size = '0': must be at least 1"),
        (["stale", "--pool-size", "1,5"], "--pool-size = '1,5': must be a whole number"),
        (["stale", "--operations", "0"], "--operations = '0': must be at least 1"),
        (
            ["stale", "--wait-timeout", "0"],
            "--wait-timeout = '0': must be at least 1 (the server's minimum)",
        ),
        (["stale", "--wait-timeout", "2.5"], "--wait-timeout = '2.5': must be a whole number"),
    ],
)
def test_explain_and_stale_say_a_bad_value_as_run_does(args, expected, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == f"dbbench: error: {expected}"


def test_every_flag_in_the_table_is_a_flag_of_a_command():
    flags = _command_flags()
    for row in SETTINGS:
        if row.flag is not None:
            assert set(row.flag.name.split("/")) <= flags, row.flag.name
            assert row.flag.short is None or row.flag.short in flags


# --- every bad value is named as it was given -------------------------------------------

#: a value that every check refuses
BAD = object()


@pytest.mark.parametrize("row", SETTINGS, ids=_ids(list(SETTINGS)))
def test_a_library_callers_bad_value_names_the_setting(row):
    with pytest.raises(ConfigError) as caught:
        load_settings(None, env={}, overrides={row.section: {row.key: BAD}})
    where, _, _ = str(caught.value).partition(" = ")
    assert where == row.name
    section, key = where.removeprefix("[").split("] ")
    assert key in BY_KEY[section]
    if row.secret:
        assert "<hidden>" in str(caught.value)


@pytest.mark.parametrize("row", WITH_FLAG, ids=_ids(WITH_FLAG))
def test_a_bad_flag_value_names_a_flag_that_exists(row):
    with pytest.raises(ConfigError) as caught:
        load_settings(None, env={}, flags={row.section: {row.key: BAD}})
    where, _, _ = str(caught.value).partition(" = ")
    assert where == row.flag.name
    assert set(where.split("/")) <= _command_flags()


@pytest.mark.parametrize("row", WITH_ENV, ids=_ids(WITH_ENV))
def test_a_bad_environment_value_names_the_variable(row):
    bad = "abc" if row.type == "integer" else ""
    for variable in row.env:
        with pytest.raises(ConfigError, match=rf"^environment variable {variable}\b"):
            load_settings(None, env={variable: bad})


def test_a_setting_the_table_lacks_is_refused_by_name():
    with pytest.raises(ConfigError, match=r"^there is no setting \[pool\] pool_reset"):
        load_settings(None, env={}, overrides={"pool": {"pool_reset": "none"}})


# --- hints ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["run", "--pool-size", "5"],
            "No such option '--pool-size'. dbbench compare, dbbench stale and dbbench calibrate "
            "take --pool-size ([pool] pool_size in the settings file).",
        ),
        (
            ["run", "--no-pre-ping"],
            "No such option '--no-pre-ping'. dbbench compare, dbbench explain and dbbench "
            "calibrate take --no-pre-ping ([pool] pool_pre_ping in the settings file).",
        ),
        (["run", "--nope"], "No such option '--nope'."),
    ],
)
def test_a_flag_of_another_command_says_which_takes_it(args, expected):
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert result.stderr.strip() == f"dbbench: error: {expected}"


# --- one shape for every bad value, whatever gave it ------------------------------------

#: per type, a bad value as TOML gives it (typed) and as text (a flag, a variable)
_BAD_TYPED = {
    "integer": -100,
    "number": -5,
    "string": 5,
    "list": 5,
    "path": "",
    "choice": "bogus",
    "boolean": "yes",
    "duration": "30x",
    "rate": "fast",
}
_BAD_TEXT = {"integer": "abc", "number": "abc", "choice": "bogus", "duration": "30x", "rate": "x"}


def _bad_typed(row: Setting) -> object:
    """A value of a settings file that ``row`` refuses: its type's, else a number."""
    for bad in (_BAD_TYPED[row.type], 5):
        try:
            row.check(bad)
        except ValueError:
            return bad
    raise AssertionError(f"{row.name} takes every value tried")


def _bad_text(row: Setting) -> str | None:
    """A text every reading of ``row`` refuses; None when any text is a value (a name)."""
    if row.type in _BAD_TEXT:
        return _BAD_TEXT[row.type]
    if _refuses_empty(row):
        return ""
    try:
        row.check("bogus")  # a text of a shape of its own: a scheduler's address
    except ValueError:
        return "bogus"
    return None


def _shape(message: str, where: str, echo: str) -> None:
    """``<where> = <value as given>: <what is wrong>``, one line, the value not said twice."""
    head = f"{where} = {echo}: "
    assert message.startswith(head), message
    problem = message.removeprefix(head)
    assert problem and "\n" not in problem, message
    assert not problem.startswith(echo), message


def _typed(text: str, secret: bool = False) -> str:
    """A flag's or a variable's text as a message echoes it: quoted, as typed."""
    return "<hidden>" if secret else repr(text)


#: (row, source) for every source that can give each setting a bad value
_SOURCES = [
    *[(row, "file") for row in SETTINGS],
    *[(row, "environment") for row in SETTINGS if row.env and _bad_text(row) is not None],
    *[(row, "flag") for row in WITH_FLAG if row.flag.kind in ("value", "list")],
]
#: what no source can get wrong: any text is a database name; a switch has no value
_NOTHING_BAD = {
    ("database.database", "environment"),
    ("database.database", "flag"),
    ("database.password", "environment"),
    ("database.unix_socket", "flag"),
}


def test_every_source_of_every_setting_is_in_the_shape_table():
    listed = {(f"{row.section}.{row.key}", source) for row, source in _SOURCES}
    for row in SETTINGS:
        name = f"{row.section}.{row.key}"
        assert (name, "file") in listed
        if row.env:
            assert (name, "environment") in listed | _NOTHING_BAD, name
        if row.flag is not None and row.flag.kind in ("value", "list"):
            assert (name, "flag") in listed | _NOTHING_BAD, name


@pytest.mark.parametrize(
    ("row", "source"),
    [
        (row, source)
        for row, source in _SOURCES
        if (f"{row.section}.{row.key}", source) not in _NOTHING_BAD
    ],
    ids=[
        f"{row.section}.{row.key}-{source}"
        for row, source in _SOURCES
        if (f"{row.section}.{row.key}", source) not in _NOTHING_BAD
    ],
)
def test_a_bad_value_reads_the_same_from_every_source(row, source, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.my.cnf
    if source == "file":
        bad = _bad_typed(row)
        path = tmp_path / "dbbench.toml"
        literal = json.dumps(bad) if isinstance(bad, str) else str(bad)
        path.write_text(f"[{row.section}]\n{row.key} = {literal}\n")
        with pytest.raises(ConfigError) as caught:
            load_settings(path, env={})
        # echoed as the file writes it: "30x", -100, 5
        _shape(str(caught.value), f"{path}: {row.name}", "<hidden>" if row.secret else literal)
    elif source == "environment":
        bad = _bad_text(row)
        for variable in row.env:
            with pytest.raises(ConfigError) as caught:
                load_settings(None, env={variable: bad})
            where = f"environment variable {variable}"
            _shape(str(caught.value), where, _typed(bad, row.secret))
    else:
        bad = _bad_text(row)
        monkeypatch.chdir(tmp_path)
        command = next(
            name
            for name in ("run", "compare", "explain", "stale")
            if any(getattr(p, "setting", None) is row for p in cli.commands[name].params)
        )
        result = CliRunner().invoke(cli, [command, row.flag.name, bad], env={"DBBENCH_PORT": None})
        assert result.exit_code == 2, result.output
        message = result.stderr.strip().removeprefix("dbbench: error: ")
        _shape(message, row.flag.name, _typed(bad))


# --- a flag's default in --help is the row's ------------------------------------------


@pytest.mark.parametrize("row", WITH_FLAG, ids=_ids(WITH_FLAG))
def test_no_flag_help_writes_its_own_default(row):
    """The default is written once, in the row (or a command's own, ``COMMAND_ROWS``);
    ``--help`` says what the row says."""
    assert "[default" not in row.flag.help, f"{row.name}: drop the [default: ...] from its help"
    options = [option for _, option in _setting_options() if option.setting.name == row.name]
    assert options
    for option in options:
        assert "[default" not in option.setting.flag.help
        assert option.help == option.setting.flag_help
    if row.flag.kind in ("value", "list"):
        assert row.flag_help.endswith(f" [default: {row.default_words or 'none'}].")
        if row.default_text is None:
            other = dataclasses.replace(row, default=7)
            assert other.flag_help.endswith(" [default: 7].")


def test_a_switch_shows_the_side_in_force():
    lifo = BY_KEY["pool"]["pool_use_lifo"]
    assert lifo.flag_help.endswith(" [default: fifo].")
    assert dataclasses.replace(lifo, default=True).flag_help.endswith(" [default: lifo].")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["compare", "--pool-timeout", "-1"], "--pool-timeout = '-1': must be greater than 0"),
        (["run", "--port", "99999"], "--port = '99999': must be at most 65535"),
        (["run", "-c", "0"], "--concurrency = '0': must be at least 1"),
    ],
)
def test_a_flags_value_is_echoed_as_typed(args, expected, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, args, env={"DBBENCH_PORT": None})
    assert result.exit_code == 2
    assert result.stderr.strip() == f"dbbench: error: {expected}"


def test_a_files_value_is_echoed_as_the_file_writes_it(tmp_path):
    path = tmp_path / "dbbench.toml"
    for literal in ("-1", "-1.5", '"-1"'):
        path.write_text(f"[pool]\npool_timeout = {literal}\n")
        with pytest.raises(ConfigError) as caught:
            load_settings(path, env={})
        assert str(caught.value).startswith(f"{path}: [pool] pool_timeout = {literal}: ")


def test_a_bad_value_a_higher_layer_overrides_is_still_an_error(tmp_path, monkeypatch):
    """The file is wrong whatever wins: said so, exit 2, not left to bite once the flag goes."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "b.toml"
    path.write_text('[benchmark]\nduration = "5x"\n')
    expected = f'{path}: [benchmark] duration = "5x": must be a duration'
    result = CliRunner().invoke(cli, ["run", "--config", str(path), "-n", "5"])
    assert result.exit_code == 2 and expected in result.stderr
    path.write_text("[database]\nport = 0\n")
    with pytest.raises(ConfigError, match=r"\[database\] port = 0: must be at least 1"):
        load_settings(path, env={"DBBENCH_PORT": "3306"})
    with pytest.raises(ConfigError, match=r"^environment variable DBBENCH_PORT = 'x'"):
        load_settings(None, env={"DBBENCH_PORT": "x"}, flags={"database": {"port": "3306"}})


def test_a_mode_that_needs_ssl_ca_says_where_ssl_ca_is_set(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["run", "--ssl-mode", "verify_ca"])
    assert result.exit_code == 2
    assert result.stderr.strip().endswith(
        "needs ssl_ca, the CA certificate to verify the server with; "
        "set it with [database] ssl_ca in the settings file"
    )


def test_every_command_takes_debug(tmp_path, monkeypatch):
    """The error line says "rerun with --debug": after the command, as before it."""
    monkeypatch.chdir(tmp_path)
    for name in cli.commands:
        assert "--debug" in {opt for p in cli.commands[name].params for opt in p.opts}, name
    result = CliRunner().invoke(cli, ["show", "missing.json", "--debug"])
    assert result.exit_code != 2 and "Traceback" in result.stderr
