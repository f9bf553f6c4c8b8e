"""scripts.bind: a statement's :name as the driver's parameters, never as text."""

from __future__ import annotations

import pytest

from dbbench.drivers import DRIVER_NAMES, get_driver
from dbbench.errors import ConfigError
from dbbench.scripts.bind import bind, bind_script
from dbbench.scripts.parse import parse_script


def bound(sql: str, paramstyle: str, **variables):
    script = parse_script(sql, "t.sql", variables=variables)
    (statement,) = bind_script(script, paramstyle)
    return statement.sql, statement.parameters(variables)


CASES = [
    # (script, variables, format's text and parameters, numeric's)
    (
        "SELECT c FROM t WHERE id = :id",
        {"id": 42},
        ("SELECT c FROM t WHERE id = %s", (42,)),
        ("SELECT c FROM t WHERE id = $1", (42,)),
    ),
    (
        "SELECT :a, :b, :a",
        {"a": 1, "b": 2.5},
        ("SELECT %s, %s, %s", (1, 2.5, 1)),
        ("SELECT $1, $2, $1", (1, 2.5)),
    ),
    (
        "SELECT 'x%' || :a, c % 2 FROM t WHERE d LIKE '%:a'",
        {"a": True},
        ("SELECT 'x%%' || %s, c %% 2 FROM t WHERE d LIKE '%%:a'", (True,)),
        ("SELECT 'x%' || $1, c % 2 FROM t WHERE d LIKE '%:a'", (True,)),
    ),
    (
        "SELECT :a::bigint % 7",
        {"a": None},
        ("SELECT %s::bigint %% 7", (None,)),
        ("SELECT $1::bigint % 7", (None,)),
    ),
    # no variable: no parameters, and the text as written (the driver formats nothing)
    (
        "SELECT 'a%' LIKE 'a%%'",
        {},
        ("SELECT 'a%' LIKE 'a%%'", None),
        ("SELECT 'a%' LIKE 'a%%'", None),
    ),
]


@pytest.mark.parametrize(
    ("sql", "variables", "format_", "numeric"), CASES, ids=[c[0] for c in CASES]
)
def test_bind(sql, variables, format_, numeric):
    assert bound(sql, "format", **variables) == format_
    assert bound(sql, "numeric", **variables) == numeric


def test_values_come_from_the_variables_at_each_run():
    (statement,) = parse_script("SELECT :x", "t.sql", variables={"x"}).statements
    bound_statement = bind(statement, "format")
    assert bound_statement.parameters({"x": 1}) == (1,)
    assert bound_statement.parameters({"x": -7}) == (-7,)


def test_unknown_paramstyle():
    (statement,) = parse_script("SELECT 1", "t.sql").statements
    with pytest.raises(ValueError, match="paramstyle 'qmark'"):
        bind(statement, "qmark")


@pytest.mark.parametrize("name", DRIVER_NAMES)
def test_every_driver_takes_percent_s(name):
    driver = get_driver(name)
    expected = "format_verbatim" if name == "mysql-connector" else "format"
    assert driver.paramstyle == expected
    assert driver.module.paramstyle in ("format", "pyformat")  # pyformat takes %s as well


def test_format_verbatim_leaves_percent_and_refuses_percent_s():
    script = parse_script("SELECT 'a%' || :x;\nSELECT '%s', :x;", "c.sql", variables={"x"})
    first, second = script.statements
    assert bind(first, "format_verbatim").sql == "SELECT 'a%' || %s"
    with pytest.raises(ConfigError) as raised:
        bind(second, "format_verbatim", "c.sql")
    assert str(raised.value) == (
        "c.sql:2: %s in a statement with variables: the driver (mysql-connector) would take "
        "it for a parameter; write it another way (CONCAT('%', 's')), or use another driver"
    )
