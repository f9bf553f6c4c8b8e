"""scripts.run without a server: which statements open and close a transaction, and what
a run sends around a failing \\set or \\sleep (a connection that records what it is sent;
the statements themselves run on real servers in tests/integration/test_scripts_run.py)."""

from __future__ import annotations

import random

import pytest

from dbbench.errors import ConfigError
from dbbench.scripts.parse import parse_script
from dbbench.scripts.run import ScriptRunner, transaction_after


@pytest.mark.parametrize(
    ("sql", "before", "after"),
    [
        ("BEGIN", False, True),
        ("begin work", False, True),
        ("BEGIN ISOLATION LEVEL SERIALIZABLE", False, True),
        ("START TRANSACTION READ ONLY", False, True),
        ("COMMIT", True, False),
        ("commit work", True, False),
        ("END", True, False),
        ("ROLLBACK", True, False),
        ("ABORT", True, False),
        ("PREPARE TRANSACTION 'x'", True, False),
        ("COMMIT AND CHAIN", True, True),
        ("COMMIT AND NO CHAIN", True, False),
        ("ROLLBACK TO SAVEPOINT s", True, True),
        ("ROLLBACK WORK TO s", True, True),
        ("SAVEPOINT s", True, True),
        ("SELECT 1", True, True),
        ("SELECT 1", False, False),
        ("BEGINNING", False, False),
        ("ENDS", True, True),
    ],
)
def test_transaction_after(sql, before, after):
    assert transaction_after(sql, before) is after


class Recorder:
    """A DB-API connection that answers every statement with one row, and keeps them."""

    def __init__(self) -> None:
        self.sent: list[tuple] = []

    def cursor(self) -> Recorder:
        return self

    def execute(self, sql: str, parameters: tuple | None = None) -> None:
        self.sent.append((sql, parameters))

    def fetchall(self) -> list[tuple]:
        return [(1,)]

    def close(self) -> None:
        pass


class Clock:
    def __init__(self) -> None:
        self.now_ns = 0

    def __call__(self) -> int:
        self.now_ns += 1_000  # each reading a microsecond after the last
        return self.now_ns

    def sleep(self, seconds: float) -> None:
        self.now_ns += round(seconds * 1e9)


def runner(text: str, **variables) -> tuple[ScriptRunner, Clock]:
    clock = Clock()
    script = parse_script(text, "s.sql", variables=variables)
    return ScriptRunner(script, sleep=clock.sleep, clock=clock), clock


def test_sleep_is_think_time_not_database_time():
    run, _ = runner("SELECT :n;\n\\sleep :n ms\n\\sleep 3 us\nSELECT 2;", n=5)
    connection = Recorder()
    result = run.run(connection, random.Random(0), {"n": 5})
    assert connection.sent == [("SELECT %s", (5,)), ("SELECT 2", None)]
    # two readings a sleep, each a microsecond later: 5 ms + 3 us + 2 us
    assert result.think_ns == 5_000_000 + 3_000 + 2_000
    assert [s.latency_ns for s in result.statements] == [1_000, 1_000]
    assert result.database_ns == 2_000


def test_a_failing_set_in_a_transaction_rolls_back():
    run, _ = runner("BEGIN;\n\\set x random(:lb, 1)\nSELECT :x;\nCOMMIT;", lb=0)
    connection = Recorder()
    with pytest.raises(ConfigError) as raised:
        run.run(connection, random.Random(0), {"lb": 5})
    assert str(raised.value) == "s.sql:2: \\set x: empty range given to random"
    assert raised.value.where == "s.sql:2"  # what the failed operation's kind names
    assert connection.sent == [("BEGIN", None), ("ROLLBACK", None)]


def test_a_failing_set_outside_a_transaction_sends_nothing_more():
    run, _ = runner("SELECT 1;\n\\set x 10 / :d\nSELECT :x;", d=0)
    connection = Recorder()
    with pytest.raises(ConfigError, match=r"^s\.sql:2: \\set x: division by zero$"):
        run.run(connection, random.Random(0), {"d": 0})
    assert connection.sent == [("SELECT 1", None)]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (1.5, "s.sql:1: \\sleep :t: the variable holds 1.5, not a whole number"),
        (True, "s.sql:1: \\sleep :t: the variable holds True, not a whole number"),
        (86_401, "s.sql:1: \\sleep :t: 86401 s is longer than a day"),
    ],
)
def test_a_sleep_variable_must_be_a_whole_number(value, message):
    run, _ = runner("\\sleep :t\nSELECT 1;", t=1)
    with pytest.raises(ConfigError) as raised:
        run.run(Recorder(), random.Random(0), {"t": value})
    assert str(raised.value) == message
    assert raised.value.where == "s.sql:1"


def test_a_negative_sleep_sleeps_not():
    run, _ = runner("\\sleep :t\nSELECT 1;", t=1)
    assert run.run(Recorder(), random.Random(0), {"t": -3}).think_ns == 1_000  # two readings
