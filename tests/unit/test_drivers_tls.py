"""ssl_mode and the older ssl_* keys -> one mode; each driver's own arguments for it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dbbench.config.settings import DatabaseSettings, load_settings
from dbbench.config.tls import resolve_tls
from dbbench.drivers import get_driver
from dbbench.drivers.pymysql_driver import tls_arguments
from dbbench.errors import ConfigError


@pytest.mark.parametrize(
    ("ssl", "mode"),
    [
        ({}, "preferred"),
        ({"ssl_disabled": True}, "disabled"),
        ({"ssl_disabled": False}, "preferred"),
        ({"ssl_ca": "ca.pem"}, "required"),
        ({"ssl_ca": "ca.pem", "ssl_verify_cert": True}, "verify_ca"),
        ({"ssl_ca": "ca.pem", "ssl_verify_identity": True}, "verify_identity"),
    ],
)
def test_older_keys_say_the_mode(ssl, mode):
    assert resolve_tls(None, ssl).mode == mode


@pytest.mark.parametrize(
    ("mode", "ssl", "words"),
    [
        ("disabled", {"ssl_ca": "ca.pem"}, "takes no ssl_ca; drop them"),
        ("preferred", {"ssl_cert": "c.pem"}, "use 'required' or 'verify_ca'"),
        ("required", {"ssl_disabled": True}, "contradicts ssl_disabled = true"),
        ("required", {"ssl_verify_cert": True}, "contradicts ssl_verify_cert = true"),
        ("verify_ca", {"ssl_ca": "ca.pem", "ssl_verify_identity": True}, "ssl_verify_identity"),
        ("verify_identity", {}, "needs ssl_ca"),
    ],
)
def test_conflicting_keys_are_refused(mode, ssl, words):
    with pytest.raises(ValueError, match=words):
        resolve_tls(mode, ssl)


def test_conflict_from_the_file_is_one_line_naming_it(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('[database]\nssl_mode = "disabled"\nssl_ca = "/x/ca.pem"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(config, env={})
    assert str(caught.value) == (
        f"{config}: [database] ssl_mode: ssl_mode = 'disabled' takes no ssl_ca; drop them"
    )


def test_pymysql_arguments_per_mode():
    def args(mode, **ssl):
        return tls_arguments(resolve_tls(mode, ssl))

    assert args("disabled") == {"ssl_disabled": True}
    assert args("preferred") == {}  # PyMySQL's own default
    # a falsy ssl_verify_cert would leave PyMySQL in 'preferred': the dict form says 'required'
    assert args("required") == {"ssl": {"verify_mode": False, "check_hostname": False}}
    assert args("verify_ca", ssl_ca="ca.pem") == {
        "ssl_ca": "ca.pem",
        "ssl_verify_cert": True,
        "ssl_verify_identity": False,
    }
    assert args("verify_identity", ssl_ca="ca.pem")["ssl_verify_identity"] is True


def test_mysqlclient_and_mysql_connector_arguments():
    database = DatabaseSettings(ssl_mode="verify_identity", ssl={"ssl_ca": "ca.pem"})
    mysqlclient = get_driver("mysqlclient").connect_kwargs(database)
    assert (mysqlclient["ssl_mode"], mysqlclient["ssl"]) == ("VERIFY_IDENTITY", {"ca": "ca.pem"})
    assert "ssl_mode" not in get_driver("mysqlclient").connect_kwargs(DatabaseSettings())
    connector = get_driver("mysql-connector").connect_kwargs(database)
    assert connector["ssl_ca"] == "ca.pem"
    assert connector["ssl_verify_cert"] is connector["ssl_verify_identity"] is True
    disabled = DatabaseSettings(ssl_mode="disabled")
    assert get_driver("mysql-connector").connect_kwargs(disabled)["ssl_disabled"] is True


def test_key_password_only_where_the_driver_can_use_it():
    database = DatabaseSettings(
        ssl_mode="required", ssl={"ssl_cert": "c", "ssl_key": "k", "ssl_key_password": "pw"}
    )
    assert tls_arguments(database.tls)["ssl"]["password"] == "pw"
    for name in ("mysqlclient", "mysql-connector"):
        with pytest.raises(ConfigError, match="cannot read an encrypted key"):
            get_driver(name).connect_kwargs(database)


def test_driver_setting_is_validated():
    with pytest.raises(ConfigError, match="unknown driver; choose from pymysql, mysqlclient"):
        load_settings(env={}, overrides={"database": {"driver": "oracledb"}})
    settings = load_settings(env={}, overrides={"database": {"driver": "mysqlclient"}})
    assert settings.database.public_dict()["driver"] == "mysqlclient"


def test_a_missing_driver_package_names_the_extra():
    # a fresh interpreter where MySQLdb cannot be imported, as without the extra
    code = (
        "import sys; sys.modules['MySQLdb'] = None\n"
        "from dbbench.drivers import get_driver\n"
        "from dbbench.errors import ConfigError\n"
        "try:\n    get_driver('mysqlclient')\n"
        "except ConfigError as exc:\n    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("driver 'mysqlclient' needs the mysqlclient package")
    assert out.stdout.strip().endswith("pip install 'dbbench[mysqlclient]'")
