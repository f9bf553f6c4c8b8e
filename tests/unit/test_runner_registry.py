"""The runner registry: every trait lives on the runner classes, and nothing else tests a name."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import dbbench
from dbbench.errors import ConfigError
from dbbench.runners import (
    DEFAULT_RUNNERS,
    RUNNER_NAMES,
    RUNNERS,
    RunnerLabel,
    baseline_name,
    names_with,
    runner_labels,
    runner_with,
)
from dbbench.runners.base import Runner

SOURCE = Path(dbbench.__file__).parent


def test_the_registry_names_each_class_by_its_own_name() -> None:
    for name in RUNNER_NAMES:
        runner = RUNNERS[name]
        assert issubclass(runner, Runner)
        assert runner.name == name
    assert set(DEFAULT_RUNNERS) <= set(RUNNER_NAMES)


def test_the_traits_as_the_classes_state_them() -> None:
    assert baseline_name() == "raw"
    assert names_with("connects_per_operation") == ("raw", "nullpool")
    layered = (  # SQLAlchemy on pool's pool
        "core", "session", "async-core", "async-session", "orm", "async-orm"
    )
    assert names_with("holds_pool") == ("pool", "async-pool", "psycopg-pool", *layered)
    assert names_with("uses_pool_settings") == (
        "pool", "nullpool", "async-pool", "psycopg-pool", *layered
    )
    assert names_with("holds_connection_per_worker") == ("persistent",)
    assert names_with("swept") == ("pool",)
    assert names_with("is_async") == ("async-pool", "async-core", "async-session", "async-orm")
    assert names_with("loads_mapped_rows") == ("orm", "async-orm")
    assert names_with("explained_as") == ("raw", "pool", "persistent", "core", "session")
    assert [n for n in RUNNER_NAMES if not RUNNERS[n].per_driver] == [
        "async-pool", "psycopg-pool", "async-core", "async-session", "async-orm"
    ]


def test_a_label_is_parsed_once_and_keeps_its_driver() -> None:
    label = RunnerLabel.parse("pool/mysqlclient")
    assert (label.kind, label.driver) == ("pool", "mysqlclient")
    assert str(label) == "pool/mysqlclient"
    assert str(label.baseline()) == "raw/mysqlclient"
    assert RunnerLabel.parse("pool") == RunnerLabel("pool", None)
    assert str(RunnerLabel.parse("persistent").baseline()) == "raw"
    assert label.runner_class is RUNNERS["pool"]


def test_labels_with_several_drivers_skip_a_runner_with_its_own_driver() -> None:
    assert runner_labels(["raw", "async-pool"], ["pymysql"]) == ["raw", "async-pool"]
    assert runner_labels(["raw", "async-pool"], ["pymysql", "mysqlclient"]) == [
        "raw/pymysql",
        "raw/mysqlclient",
        "async-pool",
    ]


def test_runner_with_finds_a_result_by_its_runners_trait() -> None:
    class Row:
        def __init__(self, runner: str) -> None:
            self.runner = runner

    rows = [Row("raw/pymysql"), Row("pool/pymysql"), Row("nullpool/pymysql")]
    assert runner_with("swept", rows) is rows[1]
    assert runner_with("holds_connection_per_worker", rows) is None


def test_an_unknown_runner_is_one_line() -> None:
    from dbbench.runners import runner_class

    with pytest.raises(ConfigError, match="unknown runner 'pooled'; choose from raw, pool"):
        runner_class("pooled/pymysql")


def _name_tests(source: str, filename: str) -> list[str]:
    """Where ``source`` tests a runner's name: compares with one, lists or keys several in a
    literal, counts one, or splits a label by hand.

    ``x.get("pool")`` is not counted: "pool" is also the result document's key for a
    pool's counters."""
    names = set(RUNNER_NAMES)
    found = []

    def is_name(node: ast.AST) -> bool:
        return isinstance(node, ast.Constant) and node.value in names

    for node in ast.walk(ast.parse(source, filename)):
        where = f"{filename}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            literal = [
                e for o in operands if isinstance(o, ast.Tuple | ast.List | ast.Set) for e in o.elts
            ]
            if any(is_name(o) for o in operands + literal):
                found.append(f"{where}: compares with a runner's name")
        elif isinstance(node, ast.Tuple | ast.List | ast.Set):
            if sum(is_name(e) for e in node.elts) >= 2:
                found.append(f"{where}: lists runners by name")
        elif isinstance(node, ast.Dict):
            if sum(is_name(k) for k in node.keys if k is not None) >= 2:
                found.append(f"{where}: a table keyed by runner names")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            method, arguments = node.func.attr, node.args
            if method in ("count", "index") and arguments and is_name(arguments[0]):
                found.append(f"{where}: looks a runner up by name")
            if method == "partition" and arguments and getattr(arguments[0], "value", None) == "/":
                found.append(f"{where}: parses a runner label (RunnerLabel.parse does)")
    return found


def test_nothing_outside_the_runners_tests_a_runners_name() -> None:
    runners = SOURCE / "runners"
    found = [
        line
        for path in sorted(SOURCE.rglob("*.py"))
        if runners not in path.parents
        for line in _name_tests(path.read_text(), str(path.relative_to(SOURCE.parent)))
    ]
    assert found == []


def test_the_check_sees_what_it_looks_for() -> None:
    sample = (
        'A = {"raw", "nullpool"}\n'
        'B = kind == "pool"\n'
        'C = kind in ("persistent",)\n'
        'D = {"raw": 1, "pool": 2}\n'
        'E = kinds.count("persistent")\n'
        'F = label.partition("/")\n'
        'G = {"pool": {"pool_size": 5}}\n'  # a settings section, not a runner test
        'H = document.get("pool")\n'  # the pool's counters in a result
    )
    assert sorted(line.split(": ", 1)[0] for line in _name_tests(sample, "sample.py")) == [
        f"sample.py:{n}" for n in range(1, 7)
    ]
