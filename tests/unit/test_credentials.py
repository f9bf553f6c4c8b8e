"""Where the login comes from: ~/.my.cnf's [client] group, its precedence, the prompt's rules."""

from __future__ import annotations

import pytest

from dbbench.config.credentials import read_option_file, refuse_password_value
from dbbench.config.settings import load_settings
from dbbench.errors import ConfigError


def my_cnf(home, text: str, mode: int = 0o600):
    path = home / ".my.cnf"
    path.write_text(text)
    path.chmod(mode)
    return path


def test_the_client_groups_are_read_as_mysql_reads_them(tmp_path):
    path = my_cnf(
        tmp_path,
        "# a comment\n"
        "[mysqld]\n"
        "password = server-side-not-ours\n"
        "[client]\n"
        "user = app\n"
        'password = "p#ss word"   # quoted: the # is part of it\n'
        "host=db.example\n"
        "port = 3307\n"
        "default-character-set = utf8mb4\n"
        "!include /nonexistent/elsewhere.cnf\n"
        "[client-server]\n"
        "socket = /run/mysqld/mysqld.sock\n"
        "[mysql]\n"
        "user = someone-else\n",
    )
    given = read_option_file(path)
    assert given.values == {
        "user": "app",
        "password": "p#ss word",
        "host": "db.example",
        "port": "3307",
        "unix_socket": "/run/mysqld/mysqld.sock",
    }
    assert given.where["password"] == f"{path} line 6: [client] password"
    assert given.where["unix_socket"] == f"{path} line 12: [client-server] socket"
    assert given.warnings == ()


@pytest.mark.parametrize(
    ("line", "password"),
    [
        ("password = plain # a comment", "plain"),
        ("password = plain#no space needed", "plain"),
        ("password = 'single quoted'", "single quoted"),
        ("password = 'it''s'", "it''s"),
        ('password = "a\\"b"', 'a"b'),
        (r"password = back\\slash\sspace\x", "back\\slash space\\x"),
        ("PASSWORD = upper-case-name", "upper-case-name"),
        ("loose_password = loose", "loose"),
        ("pas = a-prefix", "a-prefix"),
        ("password = pässwörd", "pässwörd"),
        ("password = '€😀'", "€😀"),
        ("skip-password", ""),
        ("password = first\npassword = last", "last"),
    ],
)
def test_values_quotes_comments_escapes_and_names(tmp_path, line, password):
    assert read_option_file(my_cnf(tmp_path, f"[client]\n{line}\n")).values["password"] == password


def test_bytes_that_are_not_utf8_are_kept_in_the_password_only(tmp_path):
    path = tmp_path / ".my.cnf"
    path.write_bytes(b"[client]\npassword = p\xe4ss\n")
    assert read_option_file(path).values["password"].encode("utf-8", "surrogateescape") == (
        b"p\xe4ss"
    )
    path.write_bytes(b"[client]\nuser = \xe4\n")
    with pytest.raises(ConfigError, match=r"line 2: \[client\] user: not UTF-8 text"):
        read_option_file(path)


def test_a_bare_password_line_asks_as_the_mysql_client_does(tmp_path):
    given = read_option_file(my_cnf(tmp_path, "[client]\npassword = x\npassword\n"))
    assert given.values == {} and given.asks_password.endswith("line 3: [client] password")
    settings = load_settings(env={"HOME": str(tmp_path)})
    assert settings.password_asked_by == given.asks_password
    # a password given elsewhere is not asked for
    assert load_settings(env={"HOME": str(tmp_path), "MYSQL_PWD": "y"}).password_asked_by is None
    # the last word on it wins
    given = read_option_file(my_cnf(tmp_path, "[client]\npassword\npassword=z\n"))
    assert given.asks_password is None and given.values == {"password": "z"}


def test_the_option_file_is_the_lowest_layer(tmp_path):
    my_cnf(tmp_path, "[client]\nuser = from_cnf\npassword = cnf-pw\nport = 3310\n")
    settings = load_settings(env={"HOME": str(tmp_path)})
    db = settings.database
    assert (db.user, db.password, db.port) == ("from_cnf", "cnf-pw", 3310)
    assert db.password_source == f"{tmp_path / '.my.cnf'} line 3: [client] password"

    config = tmp_path / "dbbench.toml"
    config.write_text('[database]\nuser = "from_toml"\n')
    config.chmod(0o600)
    settings = load_settings(config, env={"HOME": str(tmp_path), "MYSQL_PWD": "env-pw"})
    assert settings.database.user == "from_toml"
    assert settings.database.password == "env-pw"
    assert settings.database.password_source == "environment variable MYSQL_PWD"
    # a flag beats them all
    settings = load_settings(env={"HOME": str(tmp_path)}, overrides={"database": {"port": 4000}})
    assert settings.database.port == 4000


def test_no_home_no_option_file(tmp_path):
    my_cnf(tmp_path, "[client]\nuser = from_cnf\n")
    assert load_settings(env={}).database.user == "root"


def test_a_bad_port_in_the_option_file_names_it(tmp_path):
    path = my_cnf(tmp_path, "[client]\nport = 33o6\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(env={"HOME": str(tmp_path)})
    assert str(caught.value) == f"{path} line 2: [client] port = '33o6': must be a whole number"


def test_a_readable_option_file_holding_the_password_is_warned_about(tmp_path):
    path = my_cnf(tmp_path, "[client]\npassword = canary-cnf\n", mode=0o644)
    (warning,) = load_settings(env={"HOME": str(tmp_path)}).warnings
    assert str(path) in warning and "mode 644" in warning and "canary-cnf" not in warning
    # the password in force comes from elsewhere: the file's is readable all the same
    env = {"HOME": str(tmp_path), "DBBENCH_PASSWORD": "x"}
    assert load_settings(env=env).warnings == (warning,)
    path.chmod(0o600)
    assert load_settings(env=env).warnings == ()


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--password", "s3cret-value"],
        ["run", "--password=s3cret-value"],
        ["stale", "-q", "--password", "s3cret-value", "--json"],
    ],
)
def test_a_password_value_on_the_command_line_is_refused_and_not_repeated(argv):
    with pytest.raises(ConfigError) as caught:
        refuse_password_value(argv)
    assert "--password takes no value" in str(caught.value)
    assert "s3cret-value" not in str(caught.value)


@pytest.mark.parametrize(
    "argv", [["run", "--password"], ["run", "--password", "-n", "5"], ["diff", "--", "--password"]]
)
def test_password_alone_is_the_prompt(argv):
    refuse_password_value(argv)
