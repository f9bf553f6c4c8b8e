"""Settings: precedence flag > environment > file > default, and one-line errors."""

from pathlib import Path

import pytest

from dbbench.config.settings import (
    BenchmarkSettings,
    DatabaseSettings,
    Settings,
    find_config_path,
    load_settings,
)
from dbbench.drivers.pymysql_driver import pymysql_kwargs
from dbbench.errors import ConfigError, ExitStatus


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "dbbench.toml"
    path.write_text(text)
    return path


def test_defaults_without_file_or_environment():
    s = load_settings(None, env={})
    assert s.database == DatabaseSettings()
    assert (s.database.host, s.database.port, s.database.user) == ("127.0.0.1", 3306, "root")
    assert s.database.password == "" and s.database.database is None
    assert (s.pool.pool_size, s.pool.max_overflow, s.pool.pool_timeout_s) == (5, 10, 30.0)
    assert (s.pool.pool_recycle_s, s.pool.pool_pre_ping) == (-1, False)
    assert s.benchmark.query == "SELECT 1"


def test_precedence_flag_over_environment_over_file(tmp_path):
    path = write(tmp_path, '[database]\nhost = "file-host"\nport = 3307\nuser = "file-user"\n')
    env = {"DBBENCH_HOST": "env-host", "DBBENCH_PORT": "3308"}
    s = load_settings(path, env=env, overrides={"database": {"host": "flag-host", "port": None}})
    assert s.database.host == "flag-host"  # flag beats environment
    assert s.database.port == 3308  # environment beats file; a flag of None is "not given"
    assert s.database.user == "file-user"  # file beats default
    assert s.config_path == path


def test_password_sources_and_order(tmp_path):
    path = write(tmp_path, '[database]\npassword = "from-file"\n')
    assert load_settings(path, env={}).database.password == "from-file"
    assert load_settings(path, env={"MYSQL_PWD": "mysql-pwd"}).database.password == "mysql-pwd"
    both = {"MYSQL_PWD": "mysql-pwd", "DBBENCH_PASSWORD": "dbbench-pwd"}
    assert load_settings(path, env=both).database.password == "dbbench-pwd"


def test_password_is_not_in_repr_or_public_dict():
    s = load_settings(None, env={"DBBENCH_PASSWORD": "s3cret-canary"})
    assert "s3cret-canary" not in repr(s)
    assert "s3cret-canary" not in str(s.public_dict())
    assert s.public_dict()["database"]["password_set"] is True


def test_every_section_read_from_file(tmp_path):
    path = write(
        tmp_path,
        """
[database]
database = "test"
connect_timeout = 2.5
ssl_disabled = true
[benchmark]
iterations = 250
warmup = 0
query = "SELECT 2"
[pool]
pool_size = 10
max_overflow = 3
pool_timeout = 1.5
pool_recycle = 3600
pool_pre_ping = true
""",
    )
    s = load_settings(path, env={})
    assert s.database.database == "test" and s.database.connect_timeout_s == 2.5
    assert s.database.ssl == {"ssl_disabled": True}
    assert pymysql_kwargs(s.database)["ssl_disabled"] is True
    assert (s.benchmark.iterations, s.benchmark.warmup_iterations) == (250, 0)
    assert s.benchmark.query == "SELECT 2"
    assert (s.pool.pool_size, s.pool.max_overflow, s.pool.pool_pre_ping) == (10, 3, True)
    assert (s.pool.pool_timeout_s, s.pool.pool_recycle_s) == (1.5, 3600)


@pytest.mark.parametrize(
    ("iterations", "warmup"),
    [(1, 5), (50, 5), (51, 6), (100, 10), (1000, 100), (10**5, 10_000), (10**8, 10_000)],
)
def test_default_warmup_is_ten_percent_at_least_five(iterations, warmup):
    assert BenchmarkSettings(iterations=iterations).warmup_iterations == warmup


def test_connect_kwargs_leave_unset_options_to_the_driver():
    kwargs = pymysql_kwargs(DatabaseSettings())
    assert set(kwargs) == {
        "host",
        "port",
        "user",
        "password",
        "connect_timeout",
        "read_timeout",
        "write_timeout",
    }
    # never None: PyMySQL would then wait forever on a server that stopped answering
    assert (kwargs["read_timeout"], kwargs["write_timeout"]) == (30.0, 30.0)


def test_read_and_write_timeouts_from_the_file(tmp_path):
    path = write(tmp_path, "[database]\nread_timeout = 2.5\nwrite_timeout = 4\n")
    s = load_settings(path, env={})
    kwargs = pymysql_kwargs(s.database)
    assert (kwargs["read_timeout"], kwargs["write_timeout"]) == (2.5, 4.0)
    assert s.public_dict()["database"]["read_timeout_s"] == 2.5
    bad = write(tmp_path, "[database]\nread_timeout = 0\n")
    with pytest.raises(ConfigError, match=r"\[database\] read_timeout = 0: must be greater than 0"):
        load_settings(bad, env={})


def test_describe_never_shows_password():
    d = DatabaseSettings(password="hunter2", unix_socket=None)
    assert d.describe() == "root@127.0.0.1:3306"
    assert "hunter2" not in repr(d)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[databse]\nhost = "x"\n', "unknown section [databse] (did you mean 'database'?)"),
        ('[database]\nhots = "x"\n', "unknown key 'hots' in [database] (did you mean 'host'?)"),
        ("[pool]\nfrobnicate = 1\n", "unknown key 'frobnicate' in [pool]"),
        ('[database]\nport = "3306"\n', '[database] port = "3306": must be a whole number'),
        ("[database]\nport = 70000\n", "[database] port = 70000: must be at most 65535"),
        ("[benchmark]\niterations = 0\n", "[benchmark] iterations = 0: must be at least 1"),
        ("[benchmark]\nwarmup = -1\n", "[benchmark] warmup = -1: must be at least 0"),
        ('[benchmark]\nquery = "  "\n', '[benchmark] query = "  ": must not be empty'),
        ("[pool]\npool_size = 0\n", "[pool] pool_size = 0: must be at least 1"),
        ("[pool]\nmax_overflow = -2\n", "[pool] max_overflow = -2: must be at least -1"),
        ("[pool]\npool_timeout = 0\n", "[pool] pool_timeout = 0: must be greater than 0"),
        ("[pool]\npool_recycle = 0\n", "[pool] pool_recycle = 0: must be greater than 0 (or -1)"),
        ('[pool]\npool_pre_ping = "yes"\n', '[pool] pool_pre_ping = "yes": must be true or false'),
        ("[pool]\npool_size = true\n", "[pool] pool_size = true: must be a whole number"),
        ("[database]\npassword = 5\n", "[database] password = <hidden>: must be a string"),
        ("database = 5\n", "'database' must be a [database] table"),
        ("[database\n", "invalid TOML"),
        ("", "the configuration file is empty"),
        ("iterations = 5\n", "'iterations' is outside any section; put it under [benchmark]"),
        ("[database]\nconnect_timeout = 1e12\n", "must be at most 31536000 s"),
        ("[benchmark]\nduration = '2x'\n", "must be a duration such as 30s"),
        ("[benchmark]\nconcurrency = 0\n", "[benchmark] concurrency = 0: must be at least 1"),
        ("[benchmark]\nrate = -5\n", "[benchmark] rate = -5: must be greater than 0"),
        ('[pool]\npool_reset_on_return = "yes"\n', "must be one of rollback, commit, none"),
        ("[database]\nssl_key_password = 5\n", "ssl_key_password = <hidden>: must be a string"),
        ('[benchmark]\nworkload = "delete"\n', 'workload = "delete": must be one of read, insert'),
    ],
)
def test_bad_file_values_are_one_line_naming_file_key_value(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    message = str(info.value)
    assert message.startswith(str(path))
    assert expected in message
    assert "\n" not in message
    assert info.value.exit_status == ExitStatus.USAGE


def test_password_value_is_never_echoed_in_errors(tmp_path):
    path = write(tmp_path, "[database]\npassword = 123456789\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    assert "123456789" not in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="configuration file not found"):
        load_settings(tmp_path / "nope.toml", env={})


def test_bad_environment_port_names_the_variable():
    with pytest.raises(ConfigError, match="^environment variable DBBENCH_PORT = 'abc': must be a"):
        load_settings(None, env={"DBBENCH_PORT": "abc"})


def test_environment_port_out_of_range_names_the_variable():
    with pytest.raises(
        ConfigError, match="environment variable DBBENCH_PORT = '0': must be at least 1"
    ):
        load_settings(None, env={"DBBENCH_PORT": "0"})


def test_bad_flag_value_names_the_flag():
    with pytest.raises(ConfigError, match="--pool-size = 0: must be at least 1"):
        load_settings(None, env={}, flags={"pool": {"pool_size": 0}})
    with pytest.raises(ConfigError, match="--iterations = -3: must be at least 1"):
        load_settings(None, env={}, flags={"benchmark": {"iterations": -3}})
    with pytest.raises(ConfigError, match="^--reset-on-return = 'bogus': must be one of"):
        load_settings(None, env={}, flags={"pool": {"pool_reset_on_return": "bogus"}})


def test_a_library_callers_bad_value_names_the_setting_not_a_flag():
    with pytest.raises(
        ConfigError,
        match=r"^\[pool\] pool_reset_on_return = 'bogus': must be one of rollback, commit, none$",
    ):
        load_settings(None, env={}, overrides={"pool": {"pool_reset_on_return": "bogus"}})
    with pytest.raises(ConfigError, match=r"^\[benchmark\] processes = 4 is more .*raise \[bench"):
        load_settings(None, env={}, overrides={"benchmark": {"processes": 4}})
    with pytest.raises(ConfigError, match=r"^--processes = 4 is more .*raise \[benchmark\] conc"):
        load_settings(None, env={}, flags={"benchmark": {"processes": 4}})
    with pytest.raises(ConfigError, match=r"^there is no setting \[pool\] size \(did you mean"):
        load_settings(None, env={}, overrides={"pool": {"size": 4}})


def test_config_discovery(tmp_path):
    assert find_config_path(None, cwd=tmp_path) is None
    write(tmp_path, "[database]\n")
    assert find_config_path(None, cwd=tmp_path) == tmp_path / "dbbench.toml"
    assert find_config_path("other.toml", cwd=tmp_path) == Path("other.toml")


def test_settings_are_frozen():
    with pytest.raises(AttributeError):
        Settings().database.host = "x"  # type: ignore[misc]


def test_a_password_in_a_file_others_may_read_is_warned_about(tmp_path):
    path = write(tmp_path, '[database]\npassword = "canary-file-pw"\n')
    path.chmod(0o644)
    (warning,) = load_settings(path, env={}).warnings
    assert "other users may read it (mode 644)" in warning and "canary-file-pw" not in warning
    path.chmod(0o600)
    assert load_settings(path, env={}).warnings == ()
    # the password from the environment: the readable file holds none
    plain = write(tmp_path, "[database]\nhost = 'h'\n")
    plain.chmod(0o644)
    assert load_settings(plain, env={"DBBENCH_PASSWORD": "x"}).warnings == ()
    # a readable file's password is warned about even when another source's wins
    holding = tmp_path / "holding.toml"
    holding.write_text('[database]\npassword = "canary-file-pw"\n')
    holding.chmod(0o644)
    (warning,) = load_settings(holding, env={"DBBENCH_PASSWORD": "x"}).warnings
    assert f"{holding} holds a password" in warning


def test_workload_from_the_file_and_in_the_result_settings(tmp_path):
    settings = load_settings(write(tmp_path, '[benchmark]\nworkload = "insert"\n'), env={})
    assert settings.benchmark.workload == "insert"
    public = settings.public_dict()["benchmark"]
    assert public["workload"] == "insert"
    assert public["scratch_table"] is None  # chosen by the run, not by the user
    assert load_settings(env={}).benchmark.workload == "read"


def test_each_database_key_remembers_where_it_came_from(tmp_path):
    config = tmp_path / "dbbench.toml"
    config.write_text('[database]\nhost = "file-host"\nport = 3307\npassword = "canary-93"\n')
    settings = load_settings(
        config, env={"DBBENCH_PORT": "3308"}, flags={"database": {"database": "shop"}}
    )
    database = settings.database
    assert database.source_of("host") == f"from {config}: [database] host"
    assert database.source_of("port") == "from environment variable DBBENCH_PORT"
    assert database.source_of("database") == "from --database"
    assert database.source_of("user") == (
        "the default; set it with [database] user, DBBENCH_USER, --user"
    )
    # where the password came from, never the password
    assert database.password_source == f"{config}: [database] password"
    assert all("canary-93" not in where for where in database.sources.values())


def test_a_key_without_a_flag_is_not_offered_one():
    assert load_settings(env={}).database.source_of("read_timeout") == (
        "the default; set it with [database] read_timeout"
    )


# --- TLS files: checked when the settings load, before anything connects ---------------


@pytest.fixture(scope="module")
def pem(tmp_path_factory) -> dict[str, str]:
    """Real PEM files (a CA, a client certificate and its key), another CA's key, an
    encrypted copy of the key (password 'key-pw'), certificate and key in one file, and
    files that are not PEM at all."""
    from cryptography.hazmat.primitives import serialization

    from dbbench.server.certificates import make_certificates

    directory = tmp_path_factory.mktemp("pem")
    files = make_certificates(directory / "mine")
    other = make_certificates(directory / "other")
    key = serialization.load_pem_private_key(files.client_key.read_bytes(), None)
    encrypted = directory / "encrypted-key.pem"
    encrypted.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"key-pw"),
        )
    )
    both = directory / "both.pem"
    both.write_bytes(files.client_cert.read_bytes() + files.client_key.read_bytes())
    garbage = directory / "garbage.pem"
    garbage.write_text("not a certificate\n")
    return {
        "dir": str(directory),
        "ca": str(files.ca),
        "cert": str(files.client_cert),
        "key": str(files.client_key),
        "other_key": str(other.client_key),
        "encrypted": str(encrypted),
        "both": str(both),
        "garbage": str(garbage),
    }


def _tls_config(tmp_path: Path, mode: str, **keys: str) -> Path:
    lines = [f'ssl_mode = "{mode}"'] + [f'{key} = "{value}"' for key, value in keys.items()]
    return write(tmp_path, "[database]\n" + "\n".join(lines) + "\n")


@pytest.mark.parametrize(
    ("mode", "keys", "expected"),
    [
        ("verify_ca", {"ssl_ca": "/nope/ca.pem"}, "ssl_ca = \"/nope/ca.pem\": no such file"),
        ("required", {"ssl_ca": "{dir}"}, "ssl_ca = \"{dir}\": is a directory, not a regular file"),
        (
            "verify_ca",
            {"ssl_ca": "{garbage}"},
            "ssl_ca = \"{garbage}\": not a PEM certificate (no certificate or crl found)",
        ),
        ("verify_ca", {"ssl_ca": "{key}"}, "ssl_ca = \"{key}\": not a PEM certificate"),
        (
            "required",
            {"ssl_cert": "/nope/cert.pem", "ssl_key": "{key}"},
            "ssl_cert = \"/nope/cert.pem\": no such file",
        ),
        (
            "required",
            {"ssl_cert": "{cert}", "ssl_key": "/nope/key.pem"},
            "ssl_key = \"/nope/key.pem\": no such file",
        ),
        (
            "required",
            {"ssl_cert": "{garbage}", "ssl_key": "{key}"},
            "ssl_cert = \"{garbage}\": not a PEM certificate",
        ),
        (
            "required",
            {"ssl_cert": "{cert}", "ssl_key": "{garbage}"},
            "ssl_key = \"{garbage}\": not a PEM private key",
        ),
        (
            "required",
            {"ssl_cert": "{cert}"},
            "ssl_cert = \"{cert}\": holds no private key, and no ssl_key is given",
        ),
        (
            "required",
            {"ssl_cert": "{cert}", "ssl_key": "{other_key}"},
            "ssl_key = \"{other_key}\": not the key of ssl_cert = '{cert}' (key values mismatch)",
        ),
        (
            "required",
            {"ssl_cert": "{cert}", "ssl_key": "{encrypted}"},
            "ssl_key = \"{encrypted}\": the key is encrypted and no ssl_key_password is given",
        ),
        (
            "required",
            {"ssl_cert": "{cert}", "ssl_key": "{encrypted}", "ssl_key_password": "wrong-pw"},
            "ssl_key_password = <hidden>: does not decrypt the key in ssl_key = '{encrypted}'",
        ),
    ],
)
def test_a_bad_tls_file_is_one_line_naming_key_file_and_source(tmp_path, pem, mode, keys, expected):
    path = _tls_config(tmp_path, mode, **{k: v.format(**pem) for k, v in keys.items()})
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    message = str(info.value)
    assert message.startswith(f"{path}: [database] ")
    assert expected.format(**pem) in message
    assert "\n" not in message and "_ssl.c" not in message and "wrong-pw" not in message
    assert info.value.exit_status == ExitStatus.USAGE


def test_a_relative_tls_file_is_looked_for_in_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = _tls_config(tmp_path, "verify_ca", ssl_ca="certs/ca.pem")
    with pytest.raises(ConfigError, match="relative to the working directory"):
        load_settings(path, env={})


@pytest.mark.parametrize(
    "keys",
    [
        {"ssl_ca": "{ca}"},
        {"ssl_ca": "{ca}", "ssl_cert": "{cert}", "ssl_key": "{key}"},
        {"ssl_cert": "{both}"},  # the key in the certificate's file
        {"ssl_cert": "{cert}", "ssl_key": "{encrypted}", "ssl_key_password": "key-pw"},
    ],
)
def test_good_tls_files_load(tmp_path, pem, keys):
    given = {k: v.format(**pem) for k, v in keys.items()}
    settings = load_settings(_tls_config(tmp_path, "required", **given), env={})
    assert settings.database.ssl == given


def test_tls_files_are_not_checked_where_tls_is_off(tmp_path):
    """ssl_disabled leaves the files unused: no reason to refuse one that is not there."""
    path = write(tmp_path, '[database]\nssl_disabled = true\nssl_ca = "/nope/ca.pem"\n')
    assert load_settings(path, env={}).database.tls.mode == "disabled"


def test_tls_file_paths_expand_the_home_directory(tmp_path, pem):
    home = tmp_path / "home"
    home.mkdir()
    (home / "ca.pem").write_bytes(Path(pem["ca"]).read_bytes())
    config = write(tmp_path, '[database]\nssl_mode = "verify_ca"\nssl_ca = "~/ca.pem"\n')
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(home))
        settings = load_settings(config, env={})
    assert settings.database.ssl["ssl_ca"] == str(home / "ca.pem")
    assert "key-pw" not in repr(
        DatabaseSettings(ssl={"ssl_key_password": "key-pw"})
    )  # the ssl keys stay out of a repr
