"""``--workload point-get`` and the ``orm`` runners: one whole row of the data set by a
random id, the same SQL for every runner (a DB-API driver's placeholders, SQLAlchemy's
``text``, the mapped class's ``session.get``), refused where it cannot run (no database
here: a recording connection, SQLAlchemy's compiler)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy
from sqlalchemy.dialects import mysql, postgresql

from dbbench.config.settings import load_settings
from dbbench.databases.dataset import COLUMNS, TABLE
from dbbench.errors import ConfigError
from dbbench.runners.orm import data_row_class
from dbbench.scenarios.benchmark import check_row_runners, check_sql, with_data_set
from dbbench.workload import POINT_GET_SQL, PointGet, describe, workload_for
from tests.unit.test_script_workload import Recording

COLUMN_NAMES = [part.split()[0] for part in COLUMNS.split(", ")]


def loaded(workload: str = "point-get", dialect: str = "mysql", **benchmark):
    flags = {"benchmark": {"workload": workload, **benchmark}, "database": {"dialect": dialect}}
    return load_settings(None, env={}, flags=flags)


def test_its_statement_reads_every_column_of_the_data_set_by_its_key():
    assert COLUMN_NAMES == ["id", "k", "c", "pad"]
    expected = f"SELECT {', '.join(COLUMN_NAMES)} FROM {TABLE} WHERE id = :id"
    assert expected == POINT_GET_SQL


@pytest.mark.parametrize("dialect", [mysql.dialect(), postgresql.psycopg.dialect()])
def test_the_mapped_class_gets_the_same_columns_with_the_same_where(dialect):
    mapped = data_row_class()
    assert mapped.__table__.name == TABLE
    assert [c.name for c in mapped.__table__.columns] == COLUMN_NAMES
    assert [c.name for c in mapped.__table__.primary_key] == ["id"]
    # what Session.get compiles: the mapped table's columns, WHERE its key
    sql = str(sqlalchemy.select(mapped).where(mapped.id == 7).compile(dialect=dialect))
    selected = re.fullmatch(r"SELECT (.*) \nFROM (\w+) \nWHERE \2\.id = .*", sql)
    assert selected is not None, sql
    assert selected[1] == ", ".join(f"{TABLE}.{name}" for name in COLUMN_NAMES)


@pytest.mark.parametrize(
    ("paramstyle", "placeholder"), [("format", "%s"), ("format_verbatim", "%s"), ("numeric", "$1")]
)
def test_a_dbapi_driver_gets_it_in_its_placeholders_and_an_id_of_the_data_set(
    paramstyle, placeholder
):
    workload = PointGet(rows=50).for_paramstyle(paramstyle)
    connection = Recording()
    for _ in range(400):
        assert workload.run_on(connection) == 1  # Recording's one row
    statements = {sql for sql, _ in connection.calls}
    assert statements == {f"SELECT id, k, c, pad FROM dbbench_data WHERE id = {placeholder}"}
    ids = [parameters[0] for _, parameters in connection.calls]
    assert set(ids) <= set(range(1, 51)) and len(set(ids)) > 25  # drawn, uniform over 1..50


class Executing:
    """A SQLAlchemy ``Connection``/``Session`` that notes what it executed."""

    def __init__(self) -> None:
        self.calls: list[tuple[object, dict]] = []

    def execute(self, statement, parameters):
        self.calls.append((statement, parameters))
        return self

    returns_rows = True

    def fetchall(self):
        return [(1, 2, "c", "pad")]

    def get(self, mapped, key):
        self.calls.append((mapped, {"id": key}))


def test_sqlalchemy_gets_the_text_with_the_id_bound_and_the_orm_the_same_ids():
    workload = PointGet(rows=3)
    statement = sqlalchemy.text(workload.query)
    executor = Executing()
    for _ in range(100):
        assert workload.run_through(executor, statement) == 1
        workload.get(executor, data_row_class())
    assert {id(s) for s, _ in executor.calls[::2]} == {id(statement)}
    assert {s for s, _ in executor.calls[1::2]} == {data_row_class()}
    assert {p["id"] for _, p in executor.calls} == {1, 2, 3}


def test_the_run_reads_the_data_sets_rows_and_the_title_names_them():
    settings = with_data_set(loaded(), lambda database: 2000)
    workload = workload_for(settings.benchmark)
    assert isinstance(workload, PointGet) and workload.rows == 2000
    assert settings.benchmark.scripts is None
    assert describe("SELECT 1", "point-get", None, 2000) == (
        "point-get workload on dbbench_data (2,000 rows)"
    )


@pytest.mark.parametrize("dialect", ["mysql", "postgresql"])
def test_it_reads_only_and_every_runner_takes_it(dialect):
    settings = loaded(dialect=dialect)
    check_sql(settings, allow_writes=False)
    check_row_runners(settings, ["raw", "pool", "core", "session", "orm", "async-orm"])


def test_a_query_or_a_script_beside_it_is_refused_naming_both(tmp_path):
    own = "the point-get workload runs its own statement on the data set"
    with pytest.raises(ConfigError, match=own):
        check_sql(loaded(query="SELECT 2"), allow_writes=False)
    script = tmp_path / "tx.sql"
    script.write_text("SELECT 1;\n")
    both = r"^\[benchmark\] scripts and \[benchmark\] workload = 'point-get' both say"
    with pytest.raises(ConfigError, match=both):
        check_sql(loaded(scripts=(str(script),)), allow_writes=False)


@pytest.mark.parametrize("workload", ["read", "point-select"])
def test_the_orm_runners_refuse_any_other_workload_in_one_line(workload):
    with pytest.raises(ConfigError) as caught:
        check_row_runners(loaded(workload), ["pool", "orm", "async-orm/pymysql"])
    assert str(caught.value) == (
        "runner orm, async-orm/pymysql runs the point-get workload only (a row of the data set "
        f"by its primary key, session.get), not [benchmark] workload = '{workload}'"
    )
