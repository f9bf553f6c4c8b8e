"""``--workload point-get`` and the ``orm`` runners against the session's MariaDB and
PostgreSQL through the real command: on a prepared data set, every runner (DB-API, Core,
the session's text, the mapped rows, their asyncio twins) without errors; each get builds an
object of its own; without a data set, or with another workload, one line and exit 2."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import event

from dbbench.config.settings import BenchmarkSettings, Settings
from dbbench.databases import read_data_set
from dbbench.databases.dataset import NO_DATA_SET
from dbbench.runners import create_runner
from dbbench.runners.orm import data_row_class
from tests.integration.test_dataset import Server, target  # noqa: F401 (the fixture)

pytestmark = pytest.mark.integration

EVERY = [
    "raw", "pool", "persistent", "core", "session", "orm",
    "async-pool", "async-core", "async-session", "async-orm",
]  # fmt: skip


def test_without_a_data_set_it_is_one_line_and_exit_2(target: Server):  # noqa: F811
    done = target.dbbench("run", "--workload", "point-get", "--runner", "pool,orm", "-n", "10")
    assert done.returncode == 2
    assert (done.stderr, done.stdout) == (f"dbbench: error: {NO_DATA_SET}\n", "")


def test_another_workload_is_refused_before_anything_connects(target: Server):  # noqa: F811
    done = target.dbbench("run", "--runner", "orm", "-n", "10")
    assert done.returncode == 2
    assert done.stderr == (
        "dbbench: error: runner orm runs the point-get workload only (a row of the data set by "
        "its primary key, session.get), not --workload = 'read'\n"
    )


def test_every_runner_reads_the_rows_by_their_ids(target: Server, tmp_path):  # noqa: F811
    prepared = target.dbbench("prepare", "--rows", "2000", "--allow-writes")
    assert prepared.returncode == 0, prepared.stderr
    out = tmp_path / "out.json"
    done = target.dbbench(
        "run", "--workload", "point-get", "-n", "60", "-c", "2",
        "--runner", ",".join(EVERY), "-o", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "point-get workload on dbbench_data (2,000 rows)" in done.stdout
    document = json.loads(out.read_text())
    benchmark = document["settings"]["benchmark"]
    assert (benchmark["workload"], benchmark["data_rows"]) == ("point-get", 2000)
    assert [r["runner"] for r in document["results"]] == EVERY
    for result in document["results"]:
        assert (result["n"], result["errors"]) == (60, 0), (result["runner"], result)
    cleaned = target.dbbench("cleanup", "--allow-writes")
    assert cleaned.returncode == 0, cleaned.stderr


@pytest.mark.parametrize("runner_name", ["orm", "async-orm"])
def test_each_get_loads_a_new_object_of_a_row_in_the_data_set(
    target: Server, runner_name: str  # noqa: F811
):
    prepared = target.dbbench("prepare", "--rows", "300", "--allow-writes")
    assert prepared.returncode == 0, prepared.stderr
    settings = Settings(
        database=target.database,
        benchmark=BenchmarkSettings(
            workload="point-get", data_rows=read_data_set(target.database)
        ),
    )
    runner = create_runner(runner_name, settings)
    loaded: list[object] = []

    def count(row: object, context: object) -> None:
        loaded.append(row)

    event.listen(data_row_class(), "load", count)
    try:
        runner.open()
        for _ in range(200):
            runner.run_once()
    finally:
        event.remove(data_row_class(), "load", count)
        runner.close()
    assert len(loaded) == 200  # an object built per get: every session's identity map is new
    # CHAR: PostgreSQL pads to the width, MariaDB strips it
    assert all(len(row.c.rstrip()) == 119 and len(row.pad.rstrip()) == 59 for row in loaded)
    assert all(1 <= row.id <= 300 for row in loaded)
    assert len({row.id for row in loaded}) > 100  # the ids drawn, not one
