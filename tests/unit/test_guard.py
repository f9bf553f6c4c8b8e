"""The read-only guard: what counts as a read, what needs --allow-writes."""

import pytest

from dbbench.errors import ConfigError, ExitStatus
from dbbench.guard import check_query, check_workload, is_read_only


@pytest.mark.parametrize(
    "query",
    [
        "SELECT 1",
        "  select * from t where a = 'DELETE'",
        "/* hint */ SELECT 1",
        "-- a comment\nSELECT 1",
        "SHOW STATUS",
        "EXPLAIN SELECT 1",
        "WITH x AS (SELECT 1) SELECT * FROM x",
        "DO SLEEP(0)",
        "(SELECT 1)",
        "SELECT `update` FROM t",
        "SELEC 1",  # a typo: the server will say so
    ],
)
def test_reads(query):
    assert is_read_only(query)
    check_query(query, allow_writes=False)


@pytest.mark.parametrize(
    "query",
    [
        "UPDATE t SET a = 1",
        "insert into t values (1)",
        "DELETE FROM t",
        "REPLACE INTO t VALUES (1)",
        "SELECT * FROM t FOR UPDATE",
        "SELECT 1 INTO OUTFILE '/tmp/x'",
        "CREATE TABLE t (a int)",
        "DROP TABLE t",
        "SET GLOBAL max_connections = 1",
        "CALL proc()",
        "WITH x AS (SELECT 1) DELETE FROM t",
        "/* SELECT */ UPDATE t SET a = 1",
    ],
)
def test_writes_need_the_flag(query):
    assert not is_read_only(query)
    with pytest.raises(ConfigError, match="--allow-writes") as info:
        check_query(query, allow_writes=False)
    assert info.value.exit_status == ExitStatus.USAGE
    check_query(query, allow_writes=True)  # with the flag: allowed


def test_a_write_workload_needs_the_flag():
    check_workload("read", allow_writes=False)
    with pytest.raises(ConfigError) as info:
        check_workload("insert", allow_writes=False, where="[benchmark] workload")
    assert str(info.value) == (
        "[benchmark] workload = 'insert' writes (into a scratch table dbbench creates and "
        "drops); give --allow-writes to run it"
    )
    assert info.value.exit_status == ExitStatus.USAGE
    check_workload("insert", allow_writes=True)
