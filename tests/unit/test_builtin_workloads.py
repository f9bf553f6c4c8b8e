"""``--workload point-select`` and ``--workload read-only``: built-in scripts on the data set
of ``dbbench prepare``, parsed and guarded as a script file is, ``:rows`` read from the
database before the run (no database here: a recording connection, a fake reader)."""

from __future__ import annotations

import dataclasses

import pytest

from dbbench.config.settings import Variant, load_settings
from dbbench.databases.dataset import NO_DATA_SET
from dbbench.errors import ConfigError
from dbbench.scenarios.benchmark import check_script_runners, check_sql, with_data_set
from dbbench.scripts.builtin import RANGE_SIZE, SCRIPTS
from dbbench.workload import describe, workload_for
from dbbench.workload_script import ScriptWorkload
from tests.unit.test_script_workload import Recording

WORKLOADS = sorted(SCRIPTS)


def loaded(workload: str, dialect: str = "mysql", **benchmark):
    flags = {"benchmark": {"workload": workload, **benchmark}, "database": {"dialect": dialect}}
    return load_settings(None, env={}, flags=flags)


@pytest.mark.parametrize("dialect", ["mysql", "postgresql"])
def test_each_parses_as_the_one_script_of_the_run(dialect):
    point = loaded("point-select", dialect).benchmark.scripts
    assert [(f.path, f.weight) for f in point] == [("point-select", 1)]
    assert [s.sql for s in point[0].script.statements] == [
        "SELECT c FROM dbbench_data WHERE id = :id"
    ]
    ranges = "FROM dbbench_data WHERE id BETWEEN :start AND :stop"
    assert [s.sql for s in loaded("read-only", dialect).benchmark.scripts[0].script.statements] == [
        "BEGIN",
        "SELECT c FROM dbbench_data WHERE id = :id",
        f"SELECT c {ranges}",
        f"SELECT SUM(k) {ranges}",
        f"SELECT c {ranges} ORDER BY c",
        f"SELECT DISTINCT c {ranges} ORDER BY c",
        "COMMIT",
    ]


@pytest.mark.parametrize("dialect", ["mysql", "postgresql"])
@pytest.mark.parametrize("workload", WORKLOADS)
def test_the_guard_passes_them_without_allow_writes(workload, dialect):
    settings = loaded(workload, dialect)
    check_sql(settings, allow_writes=False)
    check_script_runners(settings, ["raw", "pool", "persistent", "nullpool"])


@pytest.mark.parametrize("workload", WORKLOADS)
def test_a_query_or_script_beside_one_is_refused_naming_it(workload, tmp_path):
    with pytest.raises(ConfigError, match=f"workload = '{workload}' and .*query both say"):
        check_sql(loaded(workload, query="SELECT 2"), allow_writes=False)
    script = tmp_path / "tx.sql"
    script.write_text("SELECT 1;\n")
    with pytest.raises(ConfigError, match=f"--workload = '{workload}' and --script both say"):
        loaded(workload, scripts=(str(script),))


@pytest.mark.parametrize("rows", [1, 99, 100, 2000])
def test_every_id_drawn_is_in_the_data_set_and_a_range_is_100_ids(rows):
    settings = with_data_set(loaded("read-only"), lambda database: rows)
    assert settings.benchmark.data_rows == rows
    assert settings.public_dict()["benchmark"]["data_rows"] == rows
    workload = workload_for(settings.benchmark)
    assert isinstance(workload, ScriptWorkload)
    connection = Recording()
    for _ in range(300):
        assert workload.run_on(connection) == 5  # a row from each SELECT (Recording's)
    points = [p[0] for sql, p in connection.calls if sql.endswith("id = %s")]
    ranges = {p for sql, p in connection.calls if "BETWEEN" in sql}
    assert len(points) == 300 and all(1 <= i <= rows for i in points)
    assert ranges and all(stop - start == RANGE_SIZE - 1 for start, stop in ranges)
    assert all(1 <= start <= max(rows - RANGE_SIZE + 1, 1) for start, _ in ranges)
    assert len(set(points)) > 1 or rows == 1  # drawn, not fixed


def test_no_data_set_is_its_one_line():
    def missing(database):
        raise ConfigError(NO_DATA_SET)

    with pytest.raises(ConfigError) as caught:
        with_data_set(loaded("point-select"), missing)
    assert str(caught.value) == NO_DATA_SET


def test_variants_data_sets_are_each_read_and_must_hold_as_many_rows():
    settings = loaded("point-select")
    variants = tuple(
        Variant(name, None, dataclasses.replace(settings.database, port=port), settings.pool)
        for name, port in (("a", 3306), ("b", 3307))
    )
    settings = dataclasses.replace(settings, variants=variants)
    by_port = {3306: 1000, 3307: 1000}
    read = with_data_set(settings, lambda database: by_port[database.port])
    assert read.benchmark.data_rows == 1000
    by_port[3307] = 5000
    with pytest.raises(ConfigError, match=r"^the data sets differ in rows \(a 1,000, b 5,000\)"):
        with_data_set(settings, lambda database: by_port[database.port])


def test_the_title_names_the_workload_and_the_rows():
    scripts = [{"path": "read-only", "weight": 1}]
    assert describe("SELECT 1", "read-only", scripts, 100_000) == (
        "read-only workload on dbbench_data (100,000 rows)"
    )
    assert describe("SELECT 1", "point-select", scripts) == "point-select workload on dbbench_data"
