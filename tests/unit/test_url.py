"""Choosing the database: ``[database] dialect`` and the defaults it chooses, the driver of
each dialect, and the dialect in result files.  The refusals go through the real CLI with
fake runners (``tests.unit.test_file_paths``): no database, and none of the PostgreSQL
drivers' classes needed (they are another module's)."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dbbench.config.schema import DEFAULT_DRIVERS, DIALECT_DRIVERS, DRIVER_NAMES
from dbbench.config.settings import load_settings
from dbbench.errors import ConfigError, ExitStatus
from dbbench.results.model import DatabaseSummary
from tests.unit.test_file_paths import Fake, _error_line


@pytest.fixture
def fake(monkeypatch, tmp_path) -> Fake:
    monkeypatch.chdir(tmp_path)
    for variable in ("HOME", "DBBENCH_HOST", "DBBENCH_PORT", "DBBENCH_PASSWORD", "MYSQL_PWD"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.my.cnf of the machine's
    return Fake()


def _database(flags=None, env=None, path=None):
    return load_settings(path, env=env or {}, flags={"database": flags or {}}).database


def test_the_driver_table_names_each_driver_once_with_its_default_first():
    assert set(DRIVER_NAMES) == {n for names in DIALECT_DRIVERS.values() for n in names}
    assert len(DRIVER_NAMES) == 5
    for dialect, names in DIALECT_DRIVERS.items():
        assert names[0] == DEFAULT_DRIVERS[dialect]


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ({}, ("mysql", 3306, "pymysql")),
        ({"dialect": "mysql"}, ("mysql", 3306, "pymysql")),
        ({"dialect": "postgresql"}, ("postgresql", 5432, "psycopg")),
        ({"dialect": "postgresql", "port": "6432"}, ("postgresql", 6432, "psycopg")),
        ({"dialect": "postgresql", "driver": "psycopg2"}, ("postgresql", 5432, "psycopg2")),
        ({"driver": "mysqlclient"}, ("mysql", 3306, "mysqlclient")),
    ],
)
def test_the_dialect_chooses_the_port_and_driver_not_given(flags, expected):
    database = _database(flags)
    assert (database.dialect, database.port, database.driver) == expected


def test_a_files_dialect_chooses_too(tmp_path):
    path = tmp_path / "pg.toml"
    path.write_text('[database]\ndialect = "postgresql"\n')
    database = _database(path=path)
    assert (database.port, database.driver) == (5432, "psycopg")
    assert database.source_of("dialect") == f"from {path}: [database] dialect"


#: (arguments, the error line): every one exit 2 before anything connects
REFUSED = [
    (
        ["--dialect", "postgresql", "--driver", "pymysql"],
        "dbbench: error: --driver = 'pymysql': a MySQL driver, and [database] dialect is "
        "postgresql (from --dialect); choose psycopg or psycopg2",
    ),
    (
        ["--driver", "psycopg"],
        "dbbench: error: --driver = 'psycopg': a PostgreSQL driver, and [database] dialect is "
        "mysql (the default; set it with [database] dialect, DBBENCH_DIALECT, --dialect); "
        "choose pymysql, mysqlclient or mysql-connector",
    ),
    (
        ["--dialect", "postgresql", "--driver", "psycopg,pymysql"],
        "dbbench: error: --driver = 'psycopg,pymysql': pymysql is a MySQL driver, and "
        "[database] dialect is postgresql (from --dialect); choose psycopg or psycopg2",
    ),
    (
        ["--driver", "pymysql,psycopg2"],
        "dbbench: error: --driver = 'pymysql,psycopg2': psycopg2 is a PostgreSQL driver, and "
        "[database] dialect is mysql (the default; set it with [database] dialect, "
        "DBBENCH_DIALECT, --dialect); choose pymysql, mysqlclient or mysql-connector",
    ),
    (
        ["--dialect", "oracle"],
        "dbbench: error: --dialect = 'oracle': must be one of mysql, postgresql",
    ),
]


def test_a_files_driver_of_the_other_dialect_names_the_file(fake, tmp_path):
    path = tmp_path / "pg.toml"
    path.write_text('[database]\ndialect = "postgresql"\ndriver = "mysql-connector"\n')
    result = fake("run", "-q", "--config", str(path))
    assert result.exit_code == ExitStatus.USAGE
    assert _error_line(result) == (
        f"dbbench: error: {path}: [database] driver = \"mysql-connector\": a MySQL driver, and "
        f"[database] dialect is postgresql (from {path}: [database] dialect); choose psycopg "
        "or psycopg2"
    )


def test_the_library_refuses_alike():
    with pytest.raises(ConfigError, match=r"^\[database\] driver = 'psycopg2': a PostgreSQL"):
        load_settings(env={}, overrides={"database": {"driver": "psycopg2"}})


def test_a_result_file_records_the_dialect(fake, tmp_path):
    result = fake("run", "-n", "5", "--runner", "pool", "-q", "--output", "r.json")
    assert result.exit_code == 0, result.output
    document = json.loads((tmp_path / "r.json").read_text())
    assert document["settings"]["database"]["dialect"] == "mysql"
    postgresql = _database({"dialect": "postgresql"}).public_dict()
    assert postgresql["dialect"] == "postgresql" and postgresql["port"] == 5432
    assert DatabaseSummary.from_document(postgresql).dialect == "postgresql"
    # a file of before dialects has none: read as not recorded
    assert DatabaseSummary.from_document({"host": "h"}).dialect is None


# --- the URL: what it sets ----------------------------------------------------------------

#: (URL, the [database] values it gives, the default's where it says nothing)
READ = [
    (
        "postgresql://app@db.internal:5432/shop",
        {"dialect": "postgresql", "driver": "psycopg", "host": "db.internal", "port": 5432,
         "user": "app", "database": "shop"},
    ),
    ("postgresql://app@db/shop", {"dialect": "postgresql", "port": 5432, "driver": "psycopg"}),
    ("postgres://app@db/shop", {"dialect": "postgresql", "driver": "psycopg"}),
    ("postgresql+psycopg://app@db/shop", {"dialect": "postgresql", "driver": "psycopg"}),
    ("postgresql+psycopg2://app@db/shop", {"dialect": "postgresql", "driver": "psycopg2"}),
    ("mysql://app@db/shop", {"dialect": "mysql", "driver": "pymysql", "port": 3306}),
    ("mysql+pymysql://app@db:3307/shop", {"dialect": "mysql", "driver": "pymysql", "port": 3307}),
    ("mysql+mysqldb://app@db/shop", {"dialect": "mysql", "driver": "mysqlclient"}),
    ("mysql+mysqlconnector://app@db/shop", {"dialect": "mysql", "driver": "mysql-connector"}),
    ("mariadb+pymysql://app@db/shop", {"dialect": "mysql", "driver": "pymysql"}),
    ("mysql://app@[::1]:3306/shop", {"host": "::1", "port": 3306}),
    (
        "mysql://app@localhost/shop?unix_socket=/run/mysqld/mysqld.sock",
        {"unix_socket": "/run/mysqld/mysqld.sock", "host": "localhost"},
    ),
    (
        "postgresql:///shop?host=/var/run/postgresql",
        {"unix_socket": "/var/run/postgresql", "host": "127.0.0.1", "user": "root"},
    ),
    ("postgresql://%2Fvar%2Frun%2Fpostgresql/shop", {"unix_socket": "/var/run/postgresql"}),
    ("postgresql://app@/shop?host=db2", {"host": "db2"}),
    ("postgresql://app@db", {"database": None, "user": "app"}),
    ("postgresql://app:@db/shop", {"password": ""}),
    ("mysql://us%40er@db/d%2Fb", {"user": "us@er", "database": "d/b"}),
]


@pytest.mark.parametrize(("url", "expected"), READ, ids=[url for url, _ in READ])
@pytest.mark.parametrize("source", ["flag", "environment", "file"])
def test_a_url_sets_the_keys_it_names(url, expected, source, tmp_path):
    if source == "file":
        path = tmp_path / "dbbench.toml"
        path.write_text(f"[database]\nurl = {json.dumps(url)}\n")
        database, where = _database(path=path), f"{path}: [database] url"
    elif source == "environment":
        database, where = _database(env={"DBBENCH_URL": url}), "environment variable DBBENCH_URL"
    else:
        database, where = _database({"url": url}), "--url"
    for key, value in expected.items():
        assert getattr(database, key) == value, key
    named = {"dialect", "host", "port", "user", "database", "unix_socket"} & set(expected)
    for key in named:
        if key in database.sources:
            assert database.sources[key] == where, key


def test_a_url_records_where_the_password_came_from(tmp_path):
    database = _database(env={"DBBENCH_URL": "postgresql://app:s3cret-pw@db/shop"})
    assert database.password == "s3cret-pw"
    assert database.password_source == "environment variable DBBENCH_URL"
    assert "s3cret-pw" not in repr(database) and "s3cret-pw" not in json.dumps(
        database.public_dict()
    )
    assert database.public_dict()["password_set"] is True


#: passwords a hand-written parser gets wrong; each percent-encoded as quote(safe="")
PASSWORDS = ["@:/?#%[]", " ", "pässwörd€😀", "a+b", "%41", "p@ss:w/rd?x#y", "'\"\\", "\t;&="]


@pytest.mark.parametrize("password", PASSWORDS)
@pytest.mark.parametrize("dialect", ["postgresql", "mysql"])
def test_every_character_of_a_password_is_percent_decoded(password, dialect, tmp_path):
    url = f"{dialect}://app:{quote(password, safe='')}@db:1234/shop"
    assert _database(env={"DBBENCH_URL": url}).password == password
    path = tmp_path / "dbbench.toml"
    path.write_text(f"[database]\nurl = {json.dumps(url)}\n")
    database = _database(path=path)
    assert (database.password, database.user, database.port) == (password, "app", 1234)
    assert database.password_source == f"{path}: [database] url"


# --- precedence ---------------------------------------------------------------------------


def test_a_key_given_higher_overrides_the_urls_part(tmp_path):
    url = "postgresql://app@db:5433/shop"
    database = _database({"port": "6432", "user": "other"}, env={"DBBENCH_URL": url})
    assert (database.host, database.port, database.user) == ("db", 6432, "other")
    assert database.sources["port"] == "--port"
    assert database.sources["host"] == "environment variable DBBENCH_URL"
    # a URL above a file's keys overrides them
    path = tmp_path / "dbbench.toml"
    path.write_text('[database]\nhost = "filehost"\nport = 3306\ndatabase = "filedb"\n')
    database = _database(path=path, env={"DBBENCH_URL": url})
    assert (database.host, database.port, database.database) == ("db", 5433, "shop")
    # what the URL does not say, the file still does
    database = _database(path=path, env={"DBBENCH_URL": "postgresql://app@db/shop"})
    assert database.port == 3306 and database.sources["port"] == f"{path}: [database] port"


def test_a_url_given_higher_overrides_a_lower_one_whole(tmp_path):
    path = tmp_path / "dbbench.toml"
    path.write_text('[database]\nurl = "mysql+mysqldb://fileuser:filepw@filehost:3307/filedb"\n')
    database = _database(path=path, env={"DBBENCH_URL": "postgresql://app@db"})
    assert (database.dialect, database.driver, database.port) == ("postgresql", "psycopg", 5432)
    assert (database.user, database.password, database.database) == ("app", "", None)


def test_a_key_beside_the_url_that_agrees_is_no_contradiction(tmp_path):
    database = _database({"url": "postgresql://app@db:5433/shop", "port": "5433"})
    assert database.port == 5433


# --- refusals, through the CLI --------------------------------------------------------------

KNOWN = (
    "postgresql://, postgres://, mysql://, mariadb:// or, with a driver, "
    "postgresql+psycopg://, postgresql+psycopg2://, mysql+pymysql://, mysql+mysqldb://, "
    "mysql+mysqlconnector://"
)
#: (arguments, environment, the error line without "dbbench: error: ")
URL_REFUSED = [
    (
        ["--url", "postgresql://app@db/shop", "--driver", "pymysql"], {},
        "--driver = 'pymysql': a MySQL driver, and [database] dialect is postgresql (from "
        "--url); choose psycopg or psycopg2",
    ),
    (
        ["--driver", "mysqlclient"], {"DBBENCH_URL": "postgresql+psycopg2://app@db/shop"},
        "--driver = 'mysqlclient': a MySQL driver, and [database] dialect is postgresql (from "
        "environment variable DBBENCH_URL); choose psycopg or psycopg2",
    ),
    (
        ["--url", "postgresql://app@db:5432/shop", "--port", "3306"], {},
        "--url sets port 5432 and --port = '3306': give it in one place",
    ),
    (
        ["--url", "postgresql://app@db/shop", "--dialect", "mysql"], {},
        "--url sets dialect 'postgresql' and --dialect = 'mysql': give it in one place",
    ),
    (
        [], {"DBBENCH_URL": "mysql://app@db/shop", "DBBENCH_USER": "bob"},
        "environment variable DBBENCH_URL sets user 'app' and environment variable "
        "DBBENCH_USER = 'bob': give it in one place",
    ),
    (
        [], {"DBBENCH_URL": "mysql://app:pw1-secret@db/shop", "DBBENCH_PASSWORD": "other"},
        "environment variable DBBENCH_URL sets a password and environment variable "
        "DBBENCH_PASSWORD another: give it in one place",
    ),
    (
        ["--url", "oracle://app@db/shop"], {},
        f"--url = 'oracle://app@db/shop': unknown database 'oracle'; a URL starts {KNOWN}",
    ),
    (
        [], {"DBBENCH_URL": "postgresql+asyncpg://app:pw1-secret@db/shop"},
        "environment variable DBBENCH_URL = 'postgresql+asyncpg://app:***@db/shop': unknown "
        "driver 'asyncpg'; a postgresql URL's are postgresql+psycopg://, postgresql+psycopg2://",
    ),
    (
        ["--url", "mysql+aiomysql://app@db/shop"], {},
        "--url = 'mysql+aiomysql://app@db/shop': unknown driver 'aiomysql'; a mysql URL's are "
        "mysql+pymysql://, mysql+mysqldb://, mysql+mysqlconnector://",
    ),
    (
        [], {"DBBENCH_URL": "postgresql://app:pw1-secret@db/shop?sslmode=require"},
        "environment variable DBBENCH_URL = 'postgresql://app:***@db/shop?sslmode=***': has "
        "?sslmode=, which dbbench does not read: a postgresql URL's query may hold host= only; "
        "set the rest with their [database] keys",
    ),
    (
        [], {"DBBENCH_URL": "mysql://app:pw1@secret@db/shop"},
        "environment variable DBBENCH_URL = 'mysql://***@db/shop': has an '@' after the "
        "user's: percent-encode one in the password as %40 (urllib.parse.quote(password, "
        "safe=''))",
    ),
    (
        [], {"DBBENCH_URL": "mysql://app:pw1-secret@db:99999/shop"},
        "environment variable DBBENCH_URL = 'mysql://app:***@db:99999/shop': its port 99999 "
        "must be at most 65535",
    ),
    (
        [], {"DBBENCH_URL": "mysql://app:pw1-secret@db:x/shop"},
        "environment variable DBBENCH_URL = 'mysql://***@db:x/shop': its port must be a whole "
        "number",
    ),
    (
        ["--url", "not a url"], {},
        "--url = 'not a url': is not a URL; give "
        "dialect[+driver]://user:password@host:port/database",
    ),
    (
        ["--url", "mysql://%2Frun%2Fmysqld.sock/test"], {},
        "--url = 'mysql://%2Frun%2Fmysqld.sock/test': has a path for its host; a MySQL socket "
        "is ?unix_socket=/path",
    ),
    (
        ["--url", "postgresql://a@h1,h2/shop"], {},
        "--url = 'postgresql://a@h1,h2/shop': names several hosts; dbbench connects to one",
    ),
    (
        ["--url", "mysql://a@h/shop?unix_socket=/a&unix_socket=/b"], {},
        "--url = 'mysql://a@h/shop?unix_socket=/a&unix_socket=/b': has ?unix_socket= twice",
    ),
]


@pytest.mark.parametrize(
    ("arguments", "env", "line"),
    [(arguments, {}, line.removeprefix("dbbench: error: ")) for arguments, line in REFUSED]
    + URL_REFUSED,
    ids=lambda v: str(v)[:50],
)
@pytest.mark.parametrize("command", ["run", "compare"])
def test_a_bad_dialect_driver_or_url_is_one_line(fake, monkeypatch, command, arguments, env, line):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = fake(command, "-n", "5", "-q", *arguments)
    assert result.exit_code == ExitStatus.USAGE, result.output
    assert _error_line(result) == f"dbbench: error: {line}"
    assert "pw1" not in result.output and "secret" not in result.output
    assert not fake.made


def test_a_files_url_and_key_that_disagree_are_one_line(fake, tmp_path):
    path = tmp_path / "dbbench.toml"
    path.write_text('[database]\nurl = "postgresql://app:pw1-secret@db:5432/shop"\nport = 3306\n')
    result = fake("run", "-q", "--config", str(path))
    assert result.exit_code == ExitStatus.USAGE
    assert _error_line(result) == (
        f"dbbench: error: {path}: [database] url sets port 5432 and {path}: [database] port = "
        "3306: give it in one place"
    )
    path.write_text('[database]\nurl = "sqlite://app:pw1-secret@db/shop"\n')
    result = fake("run", "-q", "--config", str(path))
    assert _error_line(result).startswith(
        f'dbbench: error: {path}: [database] url = "sqlite://app:***@db/shop": unknown database'
    )
    assert "pw1" not in result.output


@pytest.mark.parametrize("password", [*PASSWORDS[2:], "hunter2-x"])
@pytest.mark.parametrize("form", ["--url", "--url="])
def test_url_with_a_password_on_the_command_line_is_refused_unrepeated(fake, password, form):
    url = f"postgresql://app:{quote(password, safe='')}@db/shop"
    arguments = ["--url", url] if form == "--url" else [f"--url={url}"]
    result = fake("run", "-q", *arguments)
    assert result.exit_code == ExitStatus.USAGE
    assert _error_line(result) == (
        "dbbench: error: --url holds a password, and every user sees a command line in the "
        "process list: give the URL in DBBENCH_URL or [database] url of the settings file, or "
        "leave the password out of it and give it with DBBENCH_PASSWORD or --password"
    )
    assert password not in result.output and quote(password, safe="") not in result.output


def test_postgresql_reads_neither_my_cnf_nor_mysql_pwd(tmp_path):
    (tmp_path / ".my.cnf").write_text("[client]\nuser = mycnfuser\nport = 3310\n")
    (tmp_path / ".my.cnf").chmod(0o600)
    mysql = load_settings(None, env={"HOME": str(tmp_path), "MYSQL_PWD": "x"}).database
    assert (mysql.user, mysql.port, mysql.password) == ("mycnfuser", 3310, "x")
    env = {"HOME": str(tmp_path), "MYSQL_PWD": "x", "DBBENCH_URL": "postgresql://db/shop"}
    postgresql = load_settings(None, env=env).database
    assert (postgresql.user, postgresql.port, postgresql.password) == ("root", 5432, "")
    assert postgresql.password_source is None


def test_socket_is_the_flag_of_unix_socket(fake, tmp_path):
    result = fake("run", "-n", "5", "--runner", "pool", "-q", "--socket", "/run/x.sock",
                  "--output", "r.json")
    assert result.exit_code == 0, result.output
    database = json.loads((tmp_path / "r.json").read_text())["settings"]["database"]
    assert database["unix_socket"] == "/run/x.sock"
    database = _database({"unix_socket": "/tmp", "dialect": "postgresql"})
    assert database.describe() == "root@/tmp"


# --- properties ---------------------------------------------------------------------------

#: any text but lone surrogates (no UTF-8 for them: no URL can hold one)
TEXT = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=40)


#: a user's or database's name: 15 characters are at most 60 bytes, which every server takes
NAME = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=15)


@settings(max_examples=300, deadline=None)
@given(password=TEXT, user=NAME.filter(str.strip), database=NAME)
def test_any_text_survives_quote_url_settings(password, user, database):
    for dialect in ("postgresql", "mysql"):
        url = (
            f"{dialect}://{quote(user, safe='')}:{quote(password, safe='')}@db:1/"
            f"{quote(database, safe='')}"
        )
        got = _database(env={"DBBENCH_URL": url})
        assert (got.user, got.password, got.database) == (user, password, database)


@settings(max_examples=300, deadline=None)
@given(password=TEXT)
def test_no_message_holds_the_password(password):
    quoted = quote(password, safe="")
    for template in (
        "postgresql://app:{}@db/shop?sslmode=x",
        "oracle://app:{}@db/shop",
        "mysql://app:{}@db:99999/shop",
        "mysql://app:{}@db:port/shop",
        "mysql://app:{}@db/shop?unix_socket=/a&unix_socket=/b",
    ):
        # the message is the same whatever the password: none of it is in the message
        messages = []
        for secret in (quoted, "x"):
            with pytest.raises(ConfigError) as caught:
                _database(env={"DBBENCH_URL": template.format(secret)})
            messages.append(str(caught.value))
        assert messages[0] == messages[1]


def _two_targets(url: str):
    return load_settings(None, env={}, targets=[("a", url), ("b", "mysql://root@127.0.0.1/test")])


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://root@h/" + "d" * 63,
        "postgresql://root@h/" + quote("é" * 31),  # 62 bytes
        "postgresql://" + "u" * 63 + "@h/test",
        "mysql://root@h/" + quote("é" * 64),  # MySQL counts characters
        "mysql://" + "u" * 80 + "@h/test",  # MariaDB's longest user name
    ],
)
def test_a_url_name_as_long_as_its_servers_take_is_taken(url):
    assert _two_targets(url).variant("a").database.database


@pytest.mark.parametrize(
    ("url", "part", "size"),
    [
        ("postgresql://root@h/" + "d" * 64, "database", "64 bytes"),
        ("postgresql://root@h/" + quote("é" * 32), "database", "64 bytes"),  # 32 characters
        ("postgresql://" + "u" * 64 + "@h/test", "user", "64 bytes"),
        ("mysql://root@h/" + "d" * 65, "database", "65 characters"),
        ("mysql://" + "u" * 81 + "@h/test", "user", "81 characters"),
    ],
)
def test_a_url_name_longer_than_its_servers_take_is_refused_at_load(url, part, size):
    with pytest.raises(ConfigError) as caught:
        _two_targets(url)
    message = str(caught.value)
    assert message.startswith("--target a = "), message
    assert f"': its {part} name (" in message and f") is {size} long: " in message


def test_a_10000_character_database_name_is_one_short_line_naming_the_target():
    with pytest.raises(ConfigError) as caught:
        _two_targets("postgresql://root@127.0.0.1:5432/" + "d" * 10_000)
    assert str(caught.value) == (
        "--target a = 'postgresql://root@127.0.0.1:5432/" + "d" * 47 + "… (10033 characters)': "
        "its database name ('" + "d" * 20 + "…') is 10000 bytes long: PostgreSQL takes at "
        "most 63"
    )
