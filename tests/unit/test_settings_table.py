"""The table of settings against everything derived from it: the dataclasses' defaults,
config.example.toml, the configuration reference, the CLI's flags, and the errors."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from cogapp import Cog

from dbbench.cli import cli
from dbbench.errors import ConfigError
from dbbench.settings import Settings, load_settings
from dbbench.settings_docs import example_config
from dbbench.settings_schema import BY_KEY, SETTINGS, Setting

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
        else:  # the ssl_* keys: a mapping that holds only what is given
            assert row.key.startswith("ssl_") and row.default is None, row.name
            assert row.key not in section.ssl


def test_config_example_is_what_the_table_says():
    example = ROOT / "config.example.toml"
    assert example.read_text() == example_config(), (
        "config.example.toml is out of date: python -m dbbench.settings_docs > config.example.toml"
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
            "No such option '--pool-size'. dbbench compare takes --pool-size "
            "([pool] pool_size in the settings file).",
        ),
        (
            ["run", "--no-pre-ping"],
            "No such option '--no-pre-ping'. dbbench compare and dbbench explain take "
            "--no-pre-ping ([pool] pool_pre_ping in the settings file).",
        ),
        (["run", "--nope"], "No such option '--nope'."),
    ],
)
def test_a_flag_of_another_command_says_which_takes_it(args, expected):
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert result.stderr.strip() == f"dbbench: error: {expected}"
