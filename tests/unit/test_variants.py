"""``--variant NAME=FILE``: each variant's settings laid over the run's, what is refused, and
the labels its runners get (``pool@new``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbbench.config.settings import Settings, load_settings, parse_variant
from dbbench.errors import ConfigError, ExitStatus
from dbbench.runners import (
    RunnerLabel,
    baseline_for,
    create_runner,
    is_baseline,
    runner_labels,
    runner_settings,
)

RUN_FILE = '[database]\nhost = "file-host"\nuser = "file-user"\n[pool]\npool_size = 3\n'


def variant_files(tmp_path: Path, **texts: str) -> list[tuple[str, Path]]:
    """Each text as ``NAME.toml`` in ``tmp_path``: the ``variants`` of ``load_settings``."""
    variants = []
    for name, text in texts.items():
        path = tmp_path / f"{name}.toml"
        path.write_text(text)
        variants.append((name, path))
    return variants


def _load(tmp_path: Path, env=None, flags=None, run_file: str | None = RUN_FILE, **texts: str):
    config = None
    if run_file is not None:
        config = tmp_path / "dbbench.toml"
        config.write_text(run_file)
    return load_settings(
        config, env=env or {}, flags=flags, variants=variant_files(tmp_path, **texts)
    )


# (what the case shows, variant files, environment, flags, variant -> the values it runs with)
LAYERED = [
    (
        "the variant's [database] and [pool] over the run's file",
        {"base": "[pool]\npool_pre_ping = false\n", "new": "[pool]\npool_pre_ping = true\n"},
        {},
        None,
        {
            "base": {"host": "file-host", "pool_size": 3, "pool_pre_ping": False},
            "new": {"host": "file-host", "pool_size": 3, "pool_pre_ping": True},
        },
    ),
    (
        "a variant's file over the environment",
        {
            "a": '[database]\nhost = "a-host"\nport = 3310\n',
            "b": '[database]\ndriver = "mysqlclient"\n',
        },
        {"DBBENCH_HOST": "env-host", "DBBENCH_PORT": "3307"},
        None,
        {
            "a": {"host": "a-host", "port": 3310, "driver": "pymysql"},
            "b": {"host": "env-host", "port": 3307, "driver": "mysqlclient"},
        },
    ),
    (
        "a flag sets what no variant file does, for every variant",
        {"a": "[pool]\nmax_overflow = 0\n", "b": "[pool]\nmax_overflow = 2\n"},
        {},
        {"pool": {"pool_timeout": "5"}, "database": {"ssl_mode": "disabled"}},
        {
            "a": {"max_overflow": 0, "pool_timeout_s": 5.0, "ssl_mode": "disabled"},
            "b": {"max_overflow": 2, "pool_timeout_s": 5.0, "ssl_mode": "disabled"},
        },
    ),
    (
        "a [benchmark] the same as the run's is fine (the warm-up the run works out too)",
        {
            "a": "[benchmark]\niterations = 100\nwarmup = 10\n[pool]\npool_size = 1\n",
            "b": "[benchmark]\nquery = 'SELECT 1'\n[pool]\npool_size = 2\n",
        },
        {},
        None,
        {"a": {"pool_size": 1}, "b": {"pool_size": 2}},
    ),
]


@pytest.mark.parametrize(
    ("texts", "env", "flags", "expected"),
    [case[1:] for case in LAYERED],
    ids=[case[0] for case in LAYERED],
)
def test_a_variant_runs_with_the_runs_settings_and_its_files_laid_over_them(
    tmp_path, texts, env, flags, expected
):
    settings = _load(tmp_path, env=env, flags=flags, **texts)
    assert [v.name for v in settings.variants] == list(texts)
    for name, values in expected.items():
        own = settings.variant(name)
        for key, value in values.items():
            section = own.pool if hasattr(own.pool, key) else own.database
            if key == "ssl_mode":
                assert own.database.tls.mode == value
            else:
                assert getattr(section, key) == value, (name, key)
        # one interleaved run, one plan
        assert own.benchmark == settings.benchmark
        assert own.variants == ()
    # the run's own settings are the file's and the flags', without any variant's
    assert settings.pool.pool_size == 3 and settings.pool.pool_pre_ping is False


# (what the case shows, variant files, flags, timed run?, what the one line says)
REFUSED = [
    (
        "a [benchmark] value other than the run's: the file, the key and both values",
        {"a": "[pool]\npool_size = 1\n", "b": "[benchmark]\niterations = 500\n"},
        None,
        "b.toml: [benchmark] iterations = 500, but the run's is 200 (from --iterations)",
    ),
    (
        "iterations in a variant of a timed run",
        {"a": "[pool]\npool_size = 1\n", "b": "[benchmark]\niterations = 100\n"},
        {"benchmark": {"duration": "2s"}},
        "b.toml: [benchmark] iterations = 100, but the run's is not set (the default)",
    ),
    (
        "a key a flag sets too: ambiguous",
        {"a": "[pool]\npool_pre_ping = true\n", "b": "[pool]\npool_size = 1\n"},
        {"pool": {"pool_pre_ping": False}},
        "a.toml: [pool] pool_pre_ping = true and --pre-ping/--no-pre-ping both set "
        "[pool] pool_pre_ping: which one variant 'a' runs with is ambiguous",
    ),
    (
        "an unknown key, as the settings file's loader says it",
        {"a": "[pool]\npool_sise = 1\n", "b": "[pool]\npool_size = 1\n"},
        None,
        "a.toml: unknown key 'pool_sise' in [pool] (did you mean 'pool_size'?)",
    ),
    (
        "a bad value, as the loader says it",
        {"a": "[pool]\npool_size = 0\n", "b": "[pool]\npool_size = 1\n"},
        None,
        "a.toml: [pool] pool_size = 0: must be at least 1",
    ),
    (
        "TLS the variant cannot have",
        {"a": '[database]\nssl_mode = "verify_ca"\n', "b": "[pool]\npool_size = 1\n"},
        None,
        "a.toml: [database] ssl_mode: ssl_mode = 'verify_ca' needs ssl_ca",
    ),
    (
        "a variant file that is not there",
        {"a": "[pool]\npool_size = 1\n"},
        None,
        "missing.toml: configuration file not found",
    ),
]


@pytest.mark.parametrize(
    ("texts", "flags", "message"),
    [case[1:] for case in REFUSED],
    ids=[case[0] for case in REFUSED],
)
def test_a_variant_the_run_cannot_have_is_refused_in_one_line(tmp_path, texts, flags, message):
    variants = variant_files(tmp_path, **texts)
    if len(variants) == 1:
        variants.append(("b", tmp_path / "missing.toml"))
    run_flags = {"benchmark": {"iterations": "200"}} if flags is None else flags
    with pytest.raises(ConfigError) as caught:
        load_settings(None, env={}, flags=run_flags, variants=variants)
    text = str(caught.value)
    assert message in text, text
    assert "\n" not in text and caught.value.exit_status == ExitStatus.USAGE


@pytest.mark.parametrize(
    ("variants", "message"),
    [
        ([("a", "a.toml")], "one variant (a=a.toml) has nothing to be compared with"),
        ([("a", "a.toml"), ("a", "b.toml")], "variant 'a' is given twice"),
        ([("a", "a.toml"), ("n@w", "b.toml")], "variants = 'n@w=b.toml': a variant's NAME is"),
    ],
)
def test_variant_names_two_or_more_each_its_own(tmp_path, variants, message):
    for _, name in variants:
        (tmp_path / name).write_text("[pool]\npool_size = 1\n")
    with pytest.raises(ConfigError, match="^variants") as caught:
        load_settings(None, env={}, variants=[(n, tmp_path / p) for n, p in variants])
    assert message in str(caught.value).replace(str(tmp_path) + "/", "")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("new=new.toml", ("new", Path("new.toml"))),
        (" a_b-1 = x/y.toml", ("a_b-1", Path("x/y.toml"))),
    ],
)
def test_a_variant_is_given_as_name_equals_file(text, expected):
    assert parse_variant(text) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("new.toml", "give NAME=FILE"),
        ("new=", "give NAME=FILE"),
        ("a b=new.toml", "a variant's NAME is 1 to 40 letters, digits, _ and -"),
        ("=new.toml", "a variant's NAME is"),
    ],
)
def test_a_bad_variant_is_named_as_typed(text, problem):
    with pytest.raises(ConfigError) as caught:
        parse_variant(text)
    assert str(caught.value).startswith(f"--variant = {text!r}: {problem}")


def test_a_password_in_a_variant_file_is_never_echoed(tmp_path):
    canary = "canary-variant-pw"
    settings = _load(
        tmp_path,
        a=f'[database]\npassword = "{canary}"\n',
        b='[database]\nuser = "other"\n',
    )
    assert settings.variant("a").database.password == canary
    assert settings.variant("b").database.password == ""
    document = settings.public_dict()
    assert canary not in repr(settings) and canary not in str(document)
    assert document["variants"][0]["database"] == {"password_set": True}
    # a bad one is hidden as in the settings file
    bad = variant_files(tmp_path, a="[database]\npassword = 7\n", b="[pool]\npool_size = 1\n")
    with pytest.raises(ConfigError, match=r"a.toml: \[database\] password = <hidden>: must be"):
        load_settings(None, env={}, variants=bad)


def test_a_password_typed_at_the_prompt_is_every_variants_unless_a_file_gives_its_own(tmp_path):
    settings = _load(tmp_path, a="[pool]\npool_size = 1\n", b="[pool]\npool_size = 2\n")
    typed = settings.with_password("typed", "--password (prompt)")
    assert {typed.variant(n).database.password for n in ("a", "b")} == {"typed"}
    assert typed.variant("a").database.password_source == "--password (prompt)"
    own = _load(tmp_path, a='[database]\npassword = "its-own"\n', b="[pool]\npool_size = 2\n")
    with pytest.raises(ConfigError) as caught:
        own.with_password("typed", "--password (prompt)")
    assert "a.toml: [database] password and --password (prompt) both give variant 'a'" in str(
        caught.value
    )
    assert "its-own" not in str(caught.value)


def test_a_variant_file_others_may_read_with_a_password_in_it_is_warned_about(tmp_path):
    variants = variant_files(
        tmp_path, a='[database]\npassword = "canary-pw"\n', b="[pool]\npool_size = 1\n"
    )
    variants[0][1].chmod(0o644)
    (warning,) = load_settings(None, env={}, variants=variants).warnings
    assert f"{variants[0][1]} holds a password" in warning and "canary-pw" not in warning


def test_the_result_records_what_each_variant_changes(tmp_path):
    settings = _load(
        tmp_path,
        base="[pool]\npool_pre_ping = false\n",
        new='[pool]\npool_pre_ping = true\n[database]\ndriver = "mysqlclient"\n',
    )
    variants = settings.public_dict()["variants"]
    assert variants == [
        {"name": "base", "path": str(tmp_path / "base.toml"), "database": {}, "pool": {}},
        {
            "name": "new",
            "path": str(tmp_path / "new.toml"),
            "database": {"driver": "mysqlclient"},
            "pool": {"pool_pre_ping": True},
        },
    ]
    assert "variants" not in Settings().public_dict()


# --- labels ----------------------------------------------------------------------------


def test_each_runner_once_per_variant_base_and_new_side_by_side():
    assert runner_labels(["raw", "pool"], ["pymysql"], ["base", "new"]) == [
        "raw@base",
        "raw@new",
        "pool@base",
        "pool@new",
    ]
    assert runner_labels(["raw", "async-pool"], ["pymysql", "mysqlclient"], ["a", "b"]) == [
        "raw/pymysql@a",
        "raw/pymysql@b",
        "raw/mysqlclient@a",
        "raw/mysqlclient@b",
        "async-pool@a",
        "async-pool@b",
    ]
    assert runner_labels(["raw", "pool"], ["pymysql"]) == ["raw", "pool"]


@pytest.mark.parametrize(
    ("label", "parsed", "baseline"),
    [
        ("pool@new", RunnerLabel("pool", None, "new"), "raw@new"),
        (
            "pool/mysqlclient@base",
            RunnerLabel("pool", "mysqlclient", "base"),
            "raw/mysqlclient@base",
        ),
        ("pool/mysqlclient", RunnerLabel("pool", "mysqlclient"), "raw/mysqlclient"),
        ("raw@a-1", RunnerLabel("raw", None, "a-1"), "raw@a-1"),
    ],
)
def test_a_label_names_runner_driver_and_variant_and_its_baseline_is_its_variants(
    label, parsed, baseline
):
    assert RunnerLabel.parse(label) == parsed and str(parsed) == label
    assert baseline_for(label) == baseline
    assert is_baseline(baseline) and not is_baseline("pool@new")


def test_a_variants_runner_is_made_with_that_variants_settings(tmp_path):
    settings = _load(
        tmp_path,
        base="[pool]\npool_pre_ping = false\n",
        new="[pool]\npool_pre_ping = true\npool_size = 2\n",
    )
    assert runner_settings("pool@new", settings) == settings.variant("new")
    assert runner_settings("pool", settings) is settings
    runner = create_runner("pool@new", settings)
    assert runner.name == "pool@new"
    assert (runner.pool_settings.pool_pre_ping, runner.pool_settings.pool_size) == (True, 2)
    raw = create_runner("raw@base", settings)
    assert raw.name == "raw@base" and raw.driver.name == "pymysql"
