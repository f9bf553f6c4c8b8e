"""benchmarks/pgbench.py: pgbench's report read into numbers (PostgreSQL 15's words, copied
from real runs), the runs' mean weighted by their transactions, and the command that gives
pgbench dbbench's libpq parameters without the password."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import pgbench

#: pgbench -n -C -c 1 -T 1 -f s1.sql (PostgreSQL 15.20)
WITH_C = """\
pgbench (15.20 (Debian 15.20-0+deb12u1))
transaction type: /tmp/s1.sql
scaling factor: 1
query mode: simple
number of clients: 1
number of threads: 1
maximum number of tries: 1
duration: 1 s
number of transactions actually processed: 95
number of failed transactions: 0 (0.000%)
latency average = 10.622 ms
average connection time = 7.745 ms
tps = 94.143016 (including reconnection times)
"""
#: pgbench -n -c 1 -T 1 -f s1.sql: one connection
WITHOUT_C = """\
pgbench (15.20 (Debian 15.20-0+deb12u1))
transaction type: /tmp/s1.sql
query mode: simple
number of clients: 1
number of threads: 1
number of transactions actually processed: 24865
number of failed transactions: 0 (0.000%)
latency average = 0.040 ms
initial connection time = 10.740 ms
tps = 25092.994952 (without initial connection time)
"""


def test_a_run_with_a_connection_per_transaction():
    result = pgbench.parse_report(WITH_C)
    assert (result.clients, result.transactions) == (1, 95)
    assert result.latency_ms == 10.622
    assert result.connection_ms == 7.745
    # 1 client / 94.143016 tps = 10.6221 ms: the printed latency, with more digits
    assert result.latency_ns == pytest.approx(10_622_136, abs=1)
    assert pgbench.mean_connection_ms([result]) == 7.745


def test_a_run_on_one_connection():
    result = pgbench.parse_report(WITHOUT_C)
    assert result.transactions == 24865
    assert result.connection_ms == 10.740  # the initial connect, not per transaction
    assert result.latency_ns == pytest.approx(1e9 / 25092.994952)  # 39.85 µs, not 40
    assert 39_000 < result.latency_ns < 40_000


def test_runs_are_weighted_by_their_transactions():
    slow = pgbench.PgbenchResult(1, 100, 10.0, 8.0, 100.0)  # 10 ms each
    fast = pgbench.PgbenchResult(1, 300, 5.0, 4.0, 200.0)  # 5 ms each
    # (100 x 10 + 300 x 5) / 400 = 6.25 ms; a plain mean of the two would be 7.5
    assert pgbench.mean_latency_ns([slow, fast]) == pytest.approx(6.25e6)
    assert pgbench.mean_connection_ms([slow, fast]) == pytest.approx((800 + 1200) / 400)


def test_a_report_without_latency_or_transactions_is_refused():
    with pytest.raises(pgbench.PgbenchError, match="latency average"):
        pgbench.parse_report(WITH_C.replace("latency average", "latency avg"))
    with pytest.raises(pgbench.PgbenchError, match="no transaction"):
        pgbench.parse_report(
            WITH_C.replace("processed: 95", "processed: 0").replace("94.143016", "0.000000")
        )


def test_an_aborted_run_is_refused():
    with pytest.raises(pgbench.PgbenchError, match="aborted"):
        pgbench.parse_report(WITH_C + "pgbench: error: Run was aborted; the above results ...\n")


def test_the_command_carries_every_parameter_but_the_password(monkeypatch):
    monkeypatch.setenv("PGSSLMODE", "require")  # the caller's PG* would override nothing given,
    monkeypatch.setenv("PGPASSWORD", "stale")  # and would change what is measured: dropped
    parameters = {
        "host": "127.0.0.1",
        "port": 5432,
        "user": "o'brien",
        "password": "sécret word",
        "dbname": "test",
        "sslmode": "disable",
        "options": "-c statement_timeout=30000 -c default_transaction_read_only=on",
    }
    cmd, env = pgbench.command("pgbench", parameters, "q.sql", seconds=2, connect_each=True)
    assert cmd[:-1] == ["pgbench", "-n", "-c", "1", "-j", "1", "-T", "2", "-C", "-f", "q.sql"]
    assert cmd[-1] == (
        "host=127.0.0.1 port=5432 user='o\\'brien' dbname=test sslmode=disable "
        "options='-c statement_timeout=30000 -c default_transaction_read_only=on'"
    )
    assert not any("sécret" in part for part in cmd)
    assert env["PGPASSWORD"] == "sécret word"
    assert "PGSSLMODE" not in env


def test_no_password_means_no_pgpassword(monkeypatch):
    monkeypatch.setenv("PGPASSWORD", "stale")
    cmd, env = pgbench.command("pgbench", {"host": "h", "port": 1}, "q.sql", seconds=1)
    assert "-C" not in cmd
    assert "PGPASSWORD" not in env


@pytest.mark.parametrize(
    ("value", "written"),
    [("plain", "plain"), ("", "''"), ("a b", "'a b'"), ("back\\slash", "'back\\\\slash'")],
)
def test_conninfo_values_are_quoted_as_libpq_reads_them(value, written):
    assert pgbench.conninfo_value(value) == written


def test_pgbench_gets_the_parameters_dbbench_connects_with():
    from dbbench.config.settings import load_settings

    settings = load_settings(
        None, env={}, overrides={"database": {"url": "postgresql://u@db.example:6543/shop"}}
    ).with_read_only_sessions()
    parameters = pgbench.libpq_parameters(settings.database)
    assert (parameters["host"], parameters["port"], parameters["user"]) == ("db.example", 6543, "u")
    assert parameters["dbname"] == "shop"
    assert parameters["sslmode"] == "prefer"  # dbbench's default, and libpq's
    assert "-c default_transaction_read_only=on" in parameters["options"]
    assert "-c statement_timeout=" in parameters["options"]


def test_a_driver_that_is_not_libpq_is_refused():
    from dbbench.config.settings import load_settings

    settings = load_settings(None, env={}, overrides={"database": {"driver": "pymysql"}})
    with pytest.raises(pgbench.PgbenchError, match="'pymysql' is not"):
        pgbench.libpq_parameters(settings.database)


#: pgbench -n -r -C -c 1 -T 1 -f s2.sql (PostgreSQL 15.20): -r's lines after the report
WITH_R = WITH_C.replace("/tmp/s1.sql", "/tmp/s2.sql") + """\
statement latencies in milliseconds and failures:
         0.002           0  \\set id random(1, 100000)
         0.178           3  SELECT abs(:id);
"""
#: pgbench 14's -r: no failures column
WITH_R_14 = WITH_C + """\
statement latencies in milliseconds:
         0.002  \\set id random(1, 100000)
         0.178  SELECT 1 + 2;
"""


def test_per_statement_latencies_in_the_scripts_order():
    statements = pgbench.parse_report(WITH_R).statements
    assert statements == (
        pgbench.StatementLatency(0.002, 0, "\\set id random(1, 100000)"),
        pgbench.StatementLatency(0.178, 3, "SELECT abs(:id);"),
    )
    assert pgbench.parse_report(WITH_R).latency_ms == 10.622  # the report's figures still read


def test_per_statement_latencies_without_a_failures_column():
    statements = pgbench.parse_report(WITH_R_14).statements
    assert [(s.latency_ms, s.failures, s.text) for s in statements] == [
        (0.002, None, "\\set id random(1, 100000)"),
        (0.178, None, "SELECT 1 + 2;"),  # the statement's digits are not a failures count
    ]


def test_no_r_means_no_statements_and_a_bad_line_is_named():
    assert pgbench.parse_report(WITH_C).statements == ()
    with pytest.raises(pgbench.PgbenchError, match="'garbage here'"):
        pgbench.parse_report(WITH_R + "garbage here\n")


def test_the_command_asks_for_statement_latencies_with_per_statement():
    cmd, _ = pgbench.command("pgbench", {"host": "h"}, "q.sql", seconds=1, per_statement=True)
    assert cmd[cmd.index("-T") + 2 : cmd.index("-f")] == ["-r"]


def test_the_command_names_the_protocol_only_when_given_one():
    cmd, _ = pgbench.command("pgbench", {"host": "h"}, "q.sql", seconds=1, protocol="extended")
    assert cmd[cmd.index("-T") + 2 : cmd.index("-f")] == ["-M", "extended"]
    cmd, _ = pgbench.command("pgbench", {"host": "h"}, "q.sql", seconds=1)
    assert "-M" not in cmd


def test_logged_latencies_are_each_transactions_third_field_read_once(tmp_path):
    prefix = tmp_path / "pgbench_log"
    Path(f"{prefix}.101").write_text("0 1 454 0 1796415541 596658\n0 2 105 0 1796415541 596774\n")
    Path(f"{prefix}.102").write_text("1 1 77 0 1796415541 596700\n")
    cmd, _ = pgbench.command("pgbench", {"host": "h"}, "q.sql", seconds=1, log_prefix=str(prefix))
    assert cmd[cmd.index("-T") + 2 : cmd.index("-f")] == ["--log", f"--log-prefix={prefix}"]
    assert pgbench.logged_latencies_us(str(prefix)) == [454, 105, 77]
    assert pgbench.logged_latencies_us(str(prefix)) == []  # the files are gone


def test_a_log_line_that_is_no_transaction_is_named(tmp_path):
    Path(tmp_path / "log.7").write_text("0 1 454 0 1 2\ngarbage\n")
    with pytest.raises(pgbench.PgbenchError, match=r"log\.7:2: .*'garbage'"):
        pgbench.logged_latencies_us(str(tmp_path / "log"))
