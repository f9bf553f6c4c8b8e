"""dbbench.databases.pgbouncer_status's records and differences, and what
dbbench.server.local_pgbouncer decides before it starts anything: no PgBouncer here (the
integration tests read a real one's console)."""

from __future__ import annotations

import signal

import pytest

from dbbench.databases import pgbouncer_status as status
from dbbench.errors import ServerError
from dbbench.server import local_pgbouncer
from dbbench.server.local_pgbouncer import LocalPgBouncer
from dbbench.server.process import ServerAddress

#: SHOW POOLS of PgBouncer 1.18, as psycopg returns it by column name
POOL_118 = {
    "database": "test_transaction", "user": "root", "cl_active": 8, "cl_waiting": 3,
    "cl_active_cancel_req": 0, "cl_waiting_cancel_req": 0, "sv_active": 2,
    "sv_active_cancel": 0, "sv_being_canceled": 0, "sv_idle": 0, "sv_used": 1, "sv_tested": 0,
    "sv_login": 0, "maxwait": 2, "maxwait_us": 250000, "pool_mode": "transaction",
}  # fmt: skip
STATS_118 = {
    "database": "test_transaction", "total_xact_count": 15, "total_query_count": 24,
    "total_received": 596, "total_sent": 1283, "total_xact_time": 2931,
    "total_query_time": 2190, "total_wait_time": 24713, "avg_xact_count": 11,
    "avg_query_count": 18, "avg_recv": 447, "avg_sent": 963, "avg_xact_time": 195,
    "avg_query_time": 91, "avg_wait_time": 18551,
}  # fmt: skip
#: PgBouncer 1.23 adds the server assignment counts (and 1.21 the prepared statements')
STATS_123 = {
    **STATS_118, "total_server_assignment_count": 12, "avg_server_assignment_count": 9,
    "total_client_parse_count": 0,
}  # fmt: skip


def later(row: dict, **added: int) -> dict:
    return {**row, **{name: row[name] + value for name, value in added.items()}}


def test_a_pool_row_is_typed_by_column_name_its_unknown_columns_kept():
    pool = status.pool_row(POOL_118)
    assert (pool.database, pool.user, pool.pool_mode) == ("test_transaction", "root", "transaction")
    assert (pool.cl_active, pool.cl_waiting, pool.sv_active, pool.sv_used) == (8, 3, 2, 1)
    assert pool.maxwait_us == 2_250_000  # maxwait seconds and its microseconds, as one
    assert pool.servers == 3
    assert pool.extra == {
        "cl_active_cancel_req": 0, "cl_waiting_cancel_req": 0, "sv_active_cancel": 0,
        "sv_being_canceled": 0,
    }  # fmt: skip
    reordered = dict(reversed(list(POOL_118.items())))
    assert status.pool_row(reordered) == pool


def test_a_column_a_record_needs_missing_is_a_value_error():
    row = {k: v for k, v in POOL_118.items() if k != "cl_waiting"}
    with pytest.raises(ValueError, match="no column 'cl_waiting'"):
        status.pool_row(row)


def test_the_assignment_counts_are_none_before_pgbouncer_1_23():
    old, new = status.stats_row(STATS_118), status.stats_row(STATS_123)
    assert old.total_server_assignment_count is None and old.extra == {}
    assert new.total_server_assignment_count == 12
    assert new.extra == {"total_client_parse_count": 0}


def test_stats_delta_is_after_minus_before_of_each_counter():
    before = status.stats_row(STATS_123)
    after = status.stats_row(
        later(STATS_123, total_xact_count=25, total_query_count=40, total_wait_time=5000,
              total_server_assignment_count=10, total_xact_time=2500)
    )  # fmt: skip
    delta = status.stats_delta(before, after)
    assert (delta.xact_count, delta.query_count, delta.server_assignment_count) == (25, 40, 10)
    assert delta.wait_time_us == 5000 and delta.mean_wait_us == 500.0
    assert delta.mean_xact_time_us == 100.0
    assert delta.received == delta.sent == 0


def test_without_assignment_counts_there_is_no_mean_wait():
    before = status.stats_row(STATS_118)
    delta = status.stats_delta(before, status.stats_row(later(STATS_118, total_wait_time=7)))
    assert delta.server_assignment_count is None and delta.mean_wait_us is None
    assert delta.wait_time_us == 7 and delta.mean_xact_time_us is None


def test_a_counter_that_went_down_says_pgbouncer_restarted():
    before = status.stats_row(STATS_118)
    after = status.stats_row(later(STATS_118, total_xact_count=-1))
    with pytest.raises(ValueError, match="total_xact_count .* went down .* restarted"):
        status.stats_delta(before, after)


def test_a_database_with_no_row_before_counts_from_zero_and_none_after_did_nothing():
    empty = status.PgBouncerSnapshot(pools=(), stats=())
    after = status.PgBouncerSnapshot(pools=(), stats=(status.stats_row(STATS_123),))
    delta = status.snapshot_delta(empty, after, "test_transaction")
    assert (delta.xact_count, delta.server_assignment_count) == (15, 12)
    nothing = status.snapshot_delta(empty, empty, "test_session")
    assert nothing.xact_count == 0 and nothing.server_assignment_count is None
    with pytest.raises(ValueError, match="lost its row"):
        status.snapshot_delta(after, empty, "test_transaction")


def test_pool_change_is_after_minus_before_of_each_gauge():
    before = status.pool_row(POOL_118)
    after = status.pool_row(later(POOL_118, cl_waiting=-3, sv_active=-2, sv_idle=2))
    change = status.pool_change(before, after)
    assert (change.cl_waiting, change.sv_active, change.sv_idle, change.cl_active) == (-3, -2, 2, 0)
    assert change.after == after
    fresh = status.snapshot_pool_change(
        status.PgBouncerSnapshot(pools=(), stats=()),
        status.PgBouncerSnapshot(pools=(after,), stats=()),
        "test_transaction",
    )
    assert (fresh.cl_active, fresh.sv_idle) == (8, 2)


def test_a_snapshot_finds_a_pool_by_database_and_names_what_is_missing():
    pools = (status.pool_row(POOL_118), status.pool_row({**POOL_118, "user": "app"}))
    snapshot = status.PgBouncerSnapshot(pools=pools, stats=())
    assert snapshot.pool("test_transaction", "app").user == "app"
    with pytest.raises(LookupError, match="one per user"):
        snapshot.pool("test_transaction")
    with pytest.raises(LookupError, match="none for database 'test_session'"):
        snapshot.pool("test_session")
    with pytest.raises(LookupError, match="no row for database"):
        snapshot.stat("test_transaction")


def test_show_takes_a_command_name_only():
    with pytest.raises(ValueError, match="not a SHOW command"):
        status.show(object(), "POOLS; SHUTDOWN")


# --------------------------------------------------------------------------- local_pgbouncer


@pytest.mark.parametrize(
    ("version", "expected"),
    [((1, 18, 0), signal.SIGTERM), ((1, 22, 1), signal.SIGTERM), ((1, 23, 0), signal.SIGQUIT),
     ((1, 25, 1), signal.SIGQUIT), ((), signal.SIGTERM)],
)  # fmt: skip
def test_the_immediate_shutdown_signal_follows_the_version(version, expected):
    assert local_pgbouncer.stop_signal_for(version) == expected


def test_the_meaningful_log_line_is_the_first_error_without_its_prefix():
    log = (
        "2026-12-03 18:02:25.604 UTC [5323] LOG kernel file descriptor limit: 20000\n"
        '2026-12-03 18:02:25.604 UTC [5323] ERROR invalid value "bogus" for parameter '
        "auth_type in configuration (b.ini:8)\n"
        "2026-12-03 18:02:25.604 UTC [5323] FATAL cannot load config file\n"
    )
    line = local_pgbouncer._meaningful_line(log)
    assert line == 'ERROR invalid value "bogus" for parameter auth_type in configuration (b.ini:8)'
    assert local_pgbouncer._meaningful_line("2026-12-03 18:02:25 UTC [1] LOG up\n") == "LOG up"


def test_only_our_own_log_lines_are_read():
    log = (
        "2026-12-03 18:02:43.222 UTC [6554] WARNING cannot listen on 127.0.0.1:16433: bind()\n"
        "2026-12-03 18:02:43.222 UTC [777] LOG listening on 127.0.0.1:16433\n"
    )
    own = local_pgbouncer._own_lines(log, 6554)
    assert own == ["WARNING cannot listen on 127.0.0.1:16433: bind()"]


BACKEND = ServerAddress(host="127.0.0.1", port=5432, user="root", password="", database="test")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"pool_modes": ("session", "nonsense")}, "pool_modes must be some of"),
     ({"pool_modes": "session"}, "not a string"),
     ({"pool_size": 0}, "at least 1"),
     ({"settings": {"listen_addr": "127.0.0.1\n[databases]"}}, "not a PgBouncer setting"),
     ({"settings": {"Bad-Name": "1"}}, "not a PgBouncer setting")],
)  # fmt: skip
def test_bad_arguments_are_refused_before_anything_starts(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        LocalPgBouncer(BACKEND, **kwargs)


@pytest.mark.parametrize(
    ("backend", "message"),
    [(ServerAddress("127.0.0.1", 5432, "root", "s3cret", "test"), "a server with a password"),
     (ServerAddress("127.0.0.1", 5432, "root", "", "my db"), "database 'my db'"),
     (ServerAddress("127.0.0.1", 5432, 'ro"ot', "", "test"), "user 'ro\"ot'")],
)  # fmt: skip
def test_a_backend_pgbouncer_cannot_be_configured_for_is_one_line(backend, message):
    with pytest.raises(ServerError) as caught:
        LocalPgBouncer(backend).start()
    text = str(caught.value)
    assert "\n" not in text and message in text and "s3cret" not in text


def test_each_pool_mode_has_its_alias_of_the_backends_database():
    bouncer = LocalPgBouncer(BACKEND, pool_modes=("transaction", "session", "transaction"))
    assert bouncer.pool_modes == ("transaction", "session")
    assert bouncer.database_for("session") == "test_session"
    with pytest.raises(ValueError, match="no statement pool"):
        bouncer.database_for("statement")


def test_a_missing_pgbouncer_is_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(local_pgbouncer, "_SEARCH_DIRS", (str(tmp_path),))
    with pytest.raises(ServerError) as caught:
        LocalPgBouncer(BACKEND).start()
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("cannot start a local PgBouncer: pgbouncer not found")
    assert "apt-get install pgbouncer" in message
