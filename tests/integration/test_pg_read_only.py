"""On PostgreSQL a run given no --allow-writes makes every session read-only in its connect
(``default_transaction_read_only`` in the startup packet): a write the guard cannot see, inside
a function the query calls (``nextval`` of a sequence), is refused by the server itself.
Against the session's PostgreSQL (``postgresql_server``), through the real CLI, with every
runner and driver."""

from __future__ import annotations

import uuid

import pytest

from tests.integration.conftest import run_dbbench

pytestmark = pytest.mark.integration

RUNNERS = ["raw", "pool", "persistent", "nullpool", "async-pool", "psycopg-pool"]


@pytest.fixture
def hidden_write(postgresql_server):
    """A function that advances a sequence (a write that no rollback undoes): ``SELECT f()``
    reads as a plain SELECT."""
    name = f"dbbench_ro_{uuid.uuid4().hex[:8]}"
    with postgresql_server.connect() as connection:
        connection.execute(f"CREATE SEQUENCE {name}")
        connection.execute(
            f"CREATE FUNCTION {name}_f() RETURNS bigint LANGUAGE sql "
            f"AS $$ SELECT nextval('{name}') $$"
        )
    yield name
    with postgresql_server.connect() as connection:
        connection.execute(f"DROP FUNCTION {name}_f()")
        connection.execute(f"DROP SEQUENCE {name}")


def advanced(postgresql_server, sequence: str) -> bool:
    with postgresql_server.connect() as connection:
        return connection.execute(f"SELECT is_called FROM {sequence}").fetchone()[0]


def dbbench(postgresql_server, *args: str, tmp_path):
    return run_dbbench(
        "run", "--dialect", "postgresql", "--ssl-mode", "disabled", "-n", "3", "-q", *args,
        env=postgresql_server.env(), cwd=tmp_path,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("runner", "driver"),
    [(runner, "psycopg") for runner in RUNNERS] + [("raw", "psycopg2"), ("pool", "psycopg2")],
)
def test_a_hidden_write_is_refused_by_the_server(
    postgresql_server, hidden_write, tmp_path, runner, driver
) -> None:
    result = dbbench(
        postgresql_server, "--runner", runner, "--driver", driver,
        "--query", f"SELECT {hidden_write}_f()", tmp_path=tmp_path,
    )  # fmt: skip
    assert result.returncode != 0, result.stdout
    assert "read-only transaction" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert not advanced(postgresql_server, hidden_write)


def test_allow_writes_lets_it_write(postgresql_server, hidden_write, tmp_path) -> None:
    result = dbbench(
        postgresql_server, "--runner", "persistent", "--allow-writes",
        "--query", f"SELECT {hidden_write}_f()", tmp_path=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert advanced(postgresql_server, hidden_write)
