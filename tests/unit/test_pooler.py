"""``--pooler pgbouncer`` without a PgBouncer: the targets a run through one is made of,
the refusals, the console's samples summed up, and the lines the result shows."""

from __future__ import annotations

import dataclasses

import pytest
from rich.console import Console

from dbbench import databases
from dbbench.config.settings import PooledTarget, Pooler, Settings, load_settings, parse_target
from dbbench.databases import pgbouncer_status
from dbbench.databases.pgbouncer_monitor import PgBouncerMonitor
from dbbench.drivers.libpq import libpq_kwargs
from dbbench.engine.harness import RunnerRecord
from dbbench.errors import ConfigError
from dbbench.output import findings, table
from dbbench.results.model import RunResult
from dbbench.runners import runner_labels
from dbbench.scenarios import benchmark, pooler, variants
from dbbench.scenarios.backend import Backend
from dbbench.server.local import ServerAddress


class Bouncer:
    """What ``pooler.through`` reads of a ``LocalPgBouncer``."""

    version = (1, 18, 0)
    admin_address = ServerAddress("127.0.0.1", 7000, "root", "", "pgbouncer")

    def address_for(self, mode: str, name: str | None = None) -> ServerAddress:
        alias = f"test_{mode}" if name is None else f"test_{mode}_{name}"
        return ServerAddress("127.0.0.1", 7000, "root", "", alias)


def postgresql() -> Settings:
    flags = {"database": {"dialect": "postgresql", "database": "test"}}
    return load_settings(None, env={}, flags=flags)


def test_a_run_through_pgbouncer_measures_direct_and_both_pools():
    settings = pooler.through(postgresql(), Bouncer())
    assert [v.name for v in settings.variants] == [
        "direct", "pgbouncer-session", "pgbouncer-transaction",
    ]
    direct, session, transaction = (v.database for v in settings.variants)
    assert (direct.port, direct.database, direct.startup_settings) == (5432, "test", True)
    assert (session.port, session.database) == (7000, "test_session")
    assert transaction.database == "test_transaction" and not transaction.startup_settings
    # what the drivers need on a transaction pool, there only
    assert [d.transaction_pooling for d in (direct, session, transaction)] == [False, False, True]
    kept = pooler.through(postgresql().with_driver_defaults(), Bouncer()).variants[2].database
    assert kept.transaction_pooling and kept.driver_defaults and not kept.pools_per_transaction
    assert [v.url for v in settings.variants][1] == "postgresql://root@127.0.0.1:7000/test_session"
    assert settings.pooler == Pooler(
        "pgbouncer", "1.18.0", "127.0.0.1", 7000, "root",
        (
            PooledTarget("pgbouncer-session", "test_session", "session"),
            PooledTarget("pgbouncer-transaction", "test_transaction", "transaction"),
        ),
    )


def test_sessions_through_pgbouncer_are_not_made_read_only_in_the_startup_packet():
    settings = databases.read_only_sessions(pooler.through(postgresql(), Bouncer()), False)
    assert [v.database.read_only for v in settings.variants] == [True, False, False]
    # no libpq options at all (statement_timeout rides there too): PgBouncer refuses them
    assert "options" in libpq_kwargs(settings.variants[0].database, "psycopg")
    assert "options" not in libpq_kwargs(settings.variants[2].database, "psycopg")
    note = pooler.read_only_note(settings, allow_writes=False)
    assert note.startswith("pgbouncer-session, pgbouncer-transaction: PgBouncer refuses")
    assert pooler.read_only_note(settings, allow_writes=True) is None


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (load_settings(None, env={}), "pgbouncer pools PostgreSQL connections"),
        (
            load_settings(
                None, env={},
                targets=[parse_target("a=postgresql://h/db"), parse_target("b=postgresql://g/db")],
            ),
            "measures its own targets",
        ),
    ],
)
def test_what_the_pooler_cannot_run_with_is_one_line(settings, expected):
    with pytest.raises(ConfigError, match=expected):
        pooler.check(settings, "pgbouncer")


def test_a_server_with_a_password_is_refused_before_any_pgbouncer_starts():
    settings = load_settings(
        None, env={"DBBENCH_PASSWORD": "s3cret"}, flags={"database": {"dialect": "postgresql"}}
    )
    with pytest.raises(ConfigError) as caught, pooler.with_pgbouncer(settings):
        pass
    message = str(caught.value)
    # no claim that the server takes one: the password was given, and where from
    assert "takes a password" not in message and "s3cret" not in message
    assert "a password for root@127.0.0.1:5432 was given (from environment variable " \
        "DBBENCH_PASSWORD)" in message
    assert "the throwaway PgBouncer takes none" in message and "leave the password out" in message


def pool(database: str, clients: int, waiting: int, servers: int) -> pgbouncer_status.PoolRow:
    return pgbouncer_status.PoolRow(
        database, "root", clients, waiting, servers, 0, 0, 0, 0, maxwait_us=0
    )


def stats(database: str, xacts: int, wait_us: int) -> pgbouncer_status.StatsRow:
    zero = dict.fromkeys(
        f.name for f in dataclasses.fields(pgbouncer_status.StatsRow)
        if f.name not in ("database", "extra", "total_server_assignment_count",
                          "avg_server_assignment_count")
    )
    row = {**{k: 0 for k in zero}, "total_xact_count": xacts, "total_query_count": 2 * xacts,
           "total_wait_time": wait_us, "total_xact_time": 10 * xacts}
    return pgbouncer_status.StatsRow(database=database, **row)


def test_the_monitor_keeps_each_pools_peaks_and_its_counters_difference():
    watched = Pooler("pgbouncer", "1.18.0", "h", 1, "root", (
        PooledTarget("t", "test_transaction", "transaction"),
    ))
    monitor = PgBouncerMonitor(watched)
    monitor._before = pgbouncer_status.PgBouncerSnapshot((), (stats("test_transaction", 5, 0),))
    monitor._record((pool("test_transaction", 3, 1, 2), pool("other", 50, 50, 50)))
    monitor._record((pool("test_transaction", 8, 4, 2),))
    after = pgbouncer_status.PgBouncerSnapshot(
        (pool("test_transaction", 0, 0, 2),), (stats("test_transaction", 105, 900),)
    )
    [summary] = [monitor._pool(target, after) for target in watched.targets]
    assert summary == {
        "target": "t", "database": "test_transaction", "pool_mode": "transaction",
        "peak_clients": 12, "peak_waiting": 4, "peak_servers": 2, "peak_active_servers": 2,
        "servers_after": 2, "transactions": 100, "queries": 200, "wait_us": 900,
        "mean_wait_us": None, "mean_transaction_us": 10.0,
    }


def test_the_result_says_what_the_pooler_saw_per_target():
    document = {
        "schema_version": 4, "command": "run", "complete": True, "settings": {},
        "environment": {},
        "results": [],
        "speedups": [],
        "started_at": None,
        "finished_at": None,
        "notes": [],
        "repetitions": [],
        "server": {"pooler": {"kind": "pgbouncer", "version": "1.18.0", "complete": True,
                              "pools": [{"target": "pgbouncer-transaction",
                                         "pool_mode": "transaction", "peak_clients": 12,
                                         "peak_servers": 4, "peak_waiting": 0,
                                         "transactions": 600, "queries": 600,
                                         "wait_us": 0, "servers_after": 4}]}},
    }
    from dbbench.results.model import from_document, upgrade

    result = from_document(upgrade(document, "a file"))
    assert isinstance(result, RunResult)
    [line] = findings.pooler_lines(result)
    assert line == (
        "PgBouncer 1.18.0 saw, for pgbouncer-transaction (transaction pool): 600 transactions, "
        "600 queries from 0 client connections; at most 12 clients on 4 server connections "
        "(3.0 per server connection); 0 waiting at most (for a server connection, the opening "
        "of a new one included); 4 server connections kept after"
    )
    console = Console(width=400, record=True)
    table.write(result, console)
    assert line in console.export_text()


def test_the_server_connections_split_between_dbbench_and_the_pooler():
    records = [
        RunnerRecord("raw@direct", connections_opened=300),
        RunnerRecord("raw@pgbouncer-session", connections_opened=300),
    ]
    clients = pooler.clients_through(records, ["raw@pgbouncer-session"])
    note = pooler.server_connections_note(
        {"server_connections": 640, "dbbench_connections": 301}, clients
    )
    assert note.startswith(
        "the server counted 640 new connections: 301 dbbench's own (direct, its monitor's), "
        "so 339 the pooler's, for the 300 client connections made through it (a pooler"
    )


def test_connects_to_a_pooler_that_is_gone_are_not_client_connections_made_through_it():
    # PgBouncer killed mid-run: raw went on trying, and each connect was refused
    records = [
        RunnerRecord("raw@pgbouncer-session", connections_opened=53_578, connects_failed=53_254),
        RunnerRecord("persistent@pgbouncer-session", connections_opened=80, connects_failed=78),
    ]
    through = ["raw@pgbouncer-session", "persistent@pgbouncer-session"]
    clients = pooler.clients_through(records, through)
    assert clients == pooler.Clients(made=326, failed=53_332)
    note = pooler.server_connections_note(
        {"server_connections": 7342, "dbbench_connections": 6694}, clients
    )
    assert (
        "so 648 the pooler's, for the 326 client connections made through it (53332 more "
        "connects to it failed) (a pooler"
    ) in note
    unread = pooler.server_connections_note({}, clients)
    assert unread.startswith(
        "326 client connections made through it (53332 more connects to it failed); the "
        "server's count"
    )


def test_failed_connects_add_up_over_processes_and_repetitions_and_go_to_the_document():
    from dbbench.results.model import RunnerResult
    from dbbench.scenarios.repetitions import merge_runners
    from dbbench.scenarios.summary import runner_result

    one = RunnerRecord("raw", connections_opened=10, connects_failed=4)
    one.merge(RunnerRecord.from_dict(RunnerRecord("raw", connections_opened=5).to_dict()))
    one.merge(RunnerRecord.from_dict(one.to_dict()))  # another process's, the same
    assert (one.connections_opened, one.connects_failed, one.connections_made) == (30, 8, 22)
    result = runner_result(one, None)
    document = result.to_document()
    assert document["connects_failed"] == 8
    again = RunnerResult.from_document(document)
    assert (again.connects_failed, again.connections_made) == (8, 22)
    assert "connects_failed" not in runner_result(RunnerRecord("raw"), None).to_document()
    merged = merge_runners([again, again], [0.0, 1.0])
    assert (merged.connections_opened, merged.connects_failed) == (60, 16)


@pytest.mark.parametrize("kind", ["raw", "persistent", "pool", "nullpool"])
def test_a_runner_counts_its_failed_connects_apart_from_those_made(kind):
    import socket

    from dbbench.runners import create_runner

    with socket.socket() as closed:  # a port of this machine nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    settings = load_settings(
        None, env={}, flags={"database": {"host": "127.0.0.1", "port": port, "database": "x"}}
    )
    runner = create_runner(kind, settings)
    runner.open()
    try:
        for _ in range(3):
            with pytest.raises(Exception):  # noqa: B017 - the driver's own refusal
                runner.run_once()
    finally:
        runner.close()
    assert (runner.connections_opened(), runner.connects_failed()) == (3, 3)


def test_what_was_found_of_the_pooler_at_its_start_is_a_note_of_the_run():
    from dbbench.scenarios.benchmark import plan_run

    settings = pooler.through(postgresql(), Bouncer())
    found = dataclasses.replace(settings.pooler, findings=("pgbouncer-transaction: SET lost",))
    run = plan_run(dataclasses.replace(settings, pooler=found), ["raw"])
    assert "pgbouncer-transaction: SET lost" in run.notes


def test_a_write_workload_through_the_pooler_shares_the_direct_servers_scratch_table():
    from dbbench.scenarios.benchmark import plan_run

    settings = pooler.through(postgresql(), Bouncer())
    writes = dataclasses.replace(
        settings, benchmark=dataclasses.replace(settings.benchmark, workload="insert")
    )
    run = plan_run(writes, ["raw"], allow_writes=True)  # the pools lead to direct's database
    assert run.runners == ("raw@direct", "raw@pgbouncer-session", "raw@pgbouncer-transaction")
    # a target of another database is still refused: the pooled ones alone are let through
    direct = writes.variants[0]
    other = dataclasses.replace(direct, name="x", database=dataclasses.replace(
        direct.database, database="elsewhere"
    ))
    moved = dataclasses.replace(writes, variants=(*writes.variants, other))
    with pytest.raises(ConfigError, match="variant 'x' writes to"):
        plan_run(moved, ["raw"], allow_writes=True)


def test_a_projection_through_the_pooler_names_the_pooler_not_a_target():
    settings = pooler.through(postgresql(), Bouncer())
    with pytest.raises(ConfigError) as caught:
        benchmark.run_projected(settings, ["raw"], 0.001)
    assert str(caught.value).startswith("pooler does not run with a projection yet: ")
    # refused before any PgBouncer starts, naming --rtt
    with pytest.raises(ConfigError, match="^pooler does not run with rtt yet: a projection "):
        pooler.check(postgresql(), "pgbouncer", projected=True)


SIX_RUNNERS = ("raw", "nullpool", "pool", "persistent", "psycopg-pool", "async-pool")


def _budget(max_connections: int, settings: Settings | None = None, runners=SIX_RUNNERS):
    """The budget's note of ``runners`` on every target (``settings``: the six through a
    PgBouncer by default) on a server of ``max_connections``."""
    if settings is None:
        flags = {"database": {"dialect": "postgresql", "database": "test"},
                 "benchmark": {"concurrency": 4}}
        settings = pooler.through(load_settings(None, env={}, flags=flags), Bouncer())
    labels = runner_labels(runners, [], [v.name for v in settings.variants])
    backend = Backend(read_max_connections=lambda database: max_connections)
    return benchmark._budget_warning(settings, variants.monitored(settings), labels, backend)


def test_the_connection_budget_counts_only_the_connections_that_reach_the_server_directly():
    # direct: pool (5+10), psycopg-pool's 15, async-pool's 15, persistent's 4 workers, raw
    # and nullpool's 4 at a time, the monitor's 1: 54 of 100; the pools through PgBouncer
    # reach the server through its own pool only
    assert _budget(100) is None
    note = _budget(60)
    assert note.startswith(
        "1 process × (pool_size 5 + max_overflow 10) + 39 other = 54 connections is 80% "
    )
    assert note.endswith(
        "(connections to root@127.0.0.1:5432 only; not counted: the runners on "
        "pgbouncer-session, pgbouncer-transaction (through the pooler, which opens the "
        "server's connections itself))"
    )


def test_the_connection_budget_leaves_out_the_targets_on_other_servers_and_says_so():
    settings = load_settings(None, env={}, targets=[
        parse_target("a=mysql://root@127.0.0.1/test"), parse_target("b=postgresql://root@h/test"),
    ])
    note = _budget(16, settings, ["pool"])
    # a's pool (5 + 10) and the monitor: b's pool is on another server
    assert note.startswith("1 process × (pool_size 5 + max_overflow 10) + 1 other = 16 ")
    assert note.endswith(
        "(connections to root@127.0.0.1:3306 only; not counted: the runners on b (another "
        "server))"
    )


def test_each_runner_goes_through_a_pool_of_its_own_with_room_for_its_workers():
    from dbbench.runners import runner_settings

    settings = postgresql()
    bench = dataclasses.replace(settings.benchmark, concurrency=4)
    settings = dataclasses.replace(settings, benchmark=bench)
    assert pooler.clients_per_pool(settings) == 4
    assert pooler.clients_per_pool(settings, (1, 16, 4)) == 16  # a sweep: its highest
    assert pooler.pool_name("pool/psycopg2") == "pool_psycopg2"
    assert pooler.pool_name("psycopg-pool") == "psycopg_pool"
    names = {r: pooler.pool_name(r) for r in ("raw", "pool/psycopg2")}
    run = pooler.through(settings, Bouncer(), names)
    assert run.pooler.database_for("raw@pgbouncer-session") == "test_session_raw"
    assert run.pooler.database_for("pool/psycopg2@pgbouncer-transaction") == (
        "test_transaction_pool_psycopg2"
    )
    assert run.pooler.database_for("raw@direct") is None
    # the runners connect to their own; the checks, to the target's (its variant)
    assert runner_settings("raw@pgbouncer-session", run).database.database == "test_session_raw"
    assert runner_settings("raw@direct", run).database.database == "test"
    assert run.variant("pgbouncer-session").database.database == "test_session"
