"""Every driver is handed the password in a form that puts the same bytes on the wire: its
UTF-8 encoding, or the very bytes it was given where those are not UTF-8; and no message
repeats it in any form a driver's exception may write it in."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dbbench.config.settings import DatabaseSettings
from dbbench.drivers import get_driver
from dbbench.drivers.base import password_bytes
from dbbench.drivers.diagnosis import redact
from dbbench.errors import ConfigError
from dbbench.runners.async_pool import aiomysql_kwargs


def sent(driver: str, password: str) -> bytes:
    """The bytes ``driver`` sends for ``password``, as its own code encodes what it is
    given: PyMySQL sends bytes as they are, aiomysql encodes text as latin-1, mysqlclient
    (C) and mysql-connector as UTF-8."""
    database = DatabaseSettings(password=password, ssl_mode="disabled")
    if driver == "aiomysql":
        return aiomysql_kwargs(database)["password"].encode("latin-1")
    given = get_driver(driver).connect_kwargs(database)["password"]
    return given if isinstance(given, bytes) else given.encode("utf-8")


PASSWORDS = ["", "plain", "pässwörd", "€😀", ' it\'s "q" \\ # x; = ', "\x00\x7f\u0085\u00a0"]


@pytest.mark.parametrize("password", PASSWORDS)
@pytest.mark.parametrize("driver", ["pymysql", "aiomysql", "mysqlclient", "mysql-connector"])
def test_every_driver_sends_the_utf8_bytes(driver, password):
    assert sent(driver, password) == password.encode("utf-8")


@given(st.text())  # any text: every code point but the surrogates
def test_any_text_is_sent_as_its_utf8_bytes_by_every_driver(password):
    for driver in ("pymysql", "aiomysql", "mysqlclient", "mysql-connector"):
        assert sent(driver, password) == password.encode("utf-8")


@given(st.binary())
def test_bytes_that_are_not_utf8_are_sent_as_they_are_where_a_driver_can(raw):
    password = raw.decode("utf-8", "surrogateescape")  # as os.environ and ~/.my.cnf give it
    assert password_bytes(password) == raw
    for driver in ("pymysql", "aiomysql"):
        assert sent(driver, password) == raw


@pytest.mark.parametrize("driver", ["mysqlclient", "mysql-connector"])
def test_a_driver_that_sends_only_utf8_refuses_other_bytes_in_one_line(driver):
    password = b"p\xe4ss".decode("utf-8", "surrogateescape")
    database = DatabaseSettings(
        password=password, sources={"password": "environment variable MYSQL_PWD"}
    )
    with pytest.raises(ConfigError) as caught:
        get_driver(driver).connect_kwargs(database)
    message = str(caught.value)
    assert "(environment variable MYSQL_PWD) is not UTF-8 text" in message
    assert f"{driver} sends a password only as UTF-8" in message
    assert "p\\xe4ss" not in message and password not in message


@pytest.mark.parametrize(
    "password", PASSWORDS[1:] + [b"p\xe4ss".decode("utf-8", "surrogateescape")]
)
def test_no_message_carries_the_password_in_any_form(password):
    raw = password_bytes(password)
    message = (
        f"a {password} b {password!r} c {raw!r} d {raw.decode('latin-1')} e "
        f"{raw.decode('latin-1')!r}"
    )
    cleaned = redact(message, password)
    for form in (password, repr(password)[1:-1], repr(raw)[2:-1], raw.decode("latin-1")):
        assert form not in cleaned
