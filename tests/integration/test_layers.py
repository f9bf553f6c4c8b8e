"""The runners layered on SQLAlchemy (``LAYERED``: Core and the ORM on ``pool``'s and
``async-pool``'s engines) against real servers, MariaDB and PostgreSQL: every operation
done, the pool's counters, the insert workload's rows committed, and ``dbbench run``
showing them beside ``pool``."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import jsonschema
import pytest

from dbbench.config.schema import DIALECT_DRIVERS
from dbbench.config.settings import BenchmarkSettings, PoolSettings, Settings
from dbbench.runners import create_runner
from dbbench.scenarios.benchmark import run_benchmark, settings_for_server
from tests.integration.conftest import database_for, run_dbbench

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "schema" / "dbbench-result.schema.json").read_text()
)

LAYERED = ["core", "session", "async-core", "async-session"]
#: those with a DB-API driver of each dialect's
PER_DRIVER = ["core", "session"]
#: what ``dbbench run --runner`` is given end to end
SIDE_BY_SIDE = ["pool", "core", "session"]
#: a pool smaller than the workers: checkouts wait, and overflow is used
SMALL_POOL = PoolSettings(pool_size=2, max_overflow=1)


DIALECTS = list(DIALECT_DRIVERS)


def settings_on(request: pytest.FixtureRequest, dialect: str, **benchmark) -> Settings:
    """Settings for the session's server of ``dialect`` (only that one is started)."""
    if dialect == "mysql":
        plain = Settings(benchmark=BenchmarkSettings(**benchmark), pool=SMALL_POOL)
        return settings_for_server(plain, request.getfixturevalue("server"))
    database = dataclasses.replace(
        database_for(request.getfixturevalue("postgresql_server")),
        dialect="postgresql",
        driver="psycopg",
    )
    return Settings(database=database, benchmark=BenchmarkSettings(**benchmark), pool=SMALL_POOL)


def check_every_operation_and_the_pool(settings: Settings, runner: str) -> None:
    """``runner``, 4 workers on a pool of 2 + 1 overflow, 200 operations and 20 warm-up."""
    document = run_benchmark(settings, [runner]).to_document()
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    (record,) = document["results"]
    assert record["runner"] == runner
    assert record["n"] == 200 and record["errors"] == 0, record["errors_by_kind"]
    counters = record["pool"]
    # the cold start, the warm-up and the measured operations: each one checkout, given back
    assert counters["checkouts"] == counters["checkins"] == 1 + 20 + 200
    # never more than pool_size + max_overflow open at once: an overflow connection given
    # back to a full pool is closed (and a later one opened), so connects - closes counts
    assert 1 <= counters["peak_checked_out"] <= 3 and counters["invalidations"] == 0
    assert 1 <= counters["connects"] - counters["closes"] <= 3
    assert record["connections_opened"] == counters["connects"]
    # core times its engine.connect(); a session checks out inside execute, not apart
    if runner.endswith("session"):
        assert record["checkout"] is None
    else:
        assert record["checkout"]["p50_us"] > 0


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("runner", LAYERED)
def test_every_operation_on_the_pool(request, dialect, runner):
    settings = settings_on(request, dialect, iterations=200, warmup=20, concurrency=4)
    check_every_operation_and_the_pool(settings, runner)


@pytest.mark.parametrize(
    ("dialect", "driver"), [(d, n) for d, names in DIALECT_DRIVERS.items() for n in names]
)
@pytest.mark.parametrize("runner", PER_DRIVER)
def test_every_driver_through_core_and_the_orm(request, dialect, driver, runner):
    layered = create_runner(f"{runner}/{driver}", settings_on(request, dialect))
    layered.open()
    try:
        for _ in range(3):
            layered.run_once(0)
        used = layered.engine.dialect
        assert f"{used.name}+{used.driver}://" == layered.driver.dialect_url
        assert used.name == dialect
        counters = layered.counters()
        assert (counters.connects, counters.checkouts, counters.checkins) == (1, 3, 3)
        assert layered.checked_out() == 0
    finally:
        layered.close()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_inserts_are_committed(request, dialect):
    settings = settings_on(request, dialect, workload="insert", iterations=30, warmup=4)
    document = run_benchmark(settings, LAYERED, allow_writes=True).to_document()
    assert [r["n"] for r in document["results"]] == [30] * len(LAYERED)
    # counted in the scratch table before its drop: every insert of every runner committed
    assert document["scratch"]["rows"] == len(LAYERED) * (1 + 4 + 30)
    assert document["scratch"]["dropped"] is True


@pytest.mark.parametrize("dialect", DIALECTS)
def test_run_shows_them_beside_pool(request, dialect):
    """Each runner's row in the statistics (200 operations, no error) and in the pool's table."""
    server = request.getfixturevalue("server" if dialect == "mysql" else "postgresql_server")
    result = run_dbbench(
        "run", "--runner", ",".join(SIDE_BY_SIDE), "-n", "200", env=server.env(), timeout_s=300
    )
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()]
    for runner in SIDE_BY_SIDE:
        mine = [cells for cells in rows if cells and cells[0] == runner]
        assert len(mine) == 2, (runner, result.stdout)  # the statistics, what the pool did
        assert mine[0][1:3] == ["200", "0"], result.stdout
    assert "what the pool did" in result.stdout
