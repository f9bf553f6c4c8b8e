"""The read-only guard: what counts as a read, what needs --allow-writes."""

import pytest

from dbbench.errors import ConfigError, ExitStatus
from dbbench.guard import check_query, check_workload, has_statement, is_read_only


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
        "(SELECT 1)",
        "SELECT `update` FROM t",
        "SHOW",
        "DESCRIBE t",
        "DESC t",
        "VALUES (1)",
        "TABLE t",
        "HELP 'select'",
        "((SELECT 1) UNION (SELECT 2))",
        "with x as (select 1) select * from x",
        # an executable comment holding a read is a read
        "/*!SELECT 1 */",
        "/*!50100 SELECT 1 */",
        "/*M!100100 SELECT 1 */",
        "SELECT /*!STRAIGHT_JOIN */ 1",
        # an optimizer hint is a comment
        "SELECT /*+ MAX_EXECUTION_TIME(1000) */ 1",
        "SELECT /*+ SET_VAR(sort_buffer_size = 16M) */ * FROM t",
        # write words inside literals, quoted names and comments
        "SELECT 'UPDATE t SET a = 1', \"DROP TABLE t\" FROM t",
        "SELECT 'it''s', 'a\\'b' FROM t",
        "SELECT 'it\\'s' FROM t",
        "SELECT '/*', '*/' FROM t",
        "SELECT 1;",
        "SELECT 1; SELECT 2",
        "SELECT update_time, created FROM t",
        # string functions named like statements; SHOW CREATE only shows
        "SELECT REPLACE(name, 'a', 'b') FROM t",
        "SELECT INSERT('abc', 1, 1, 'x')",
        "SHOW CREATE TABLE t",
        "show create view v",
        "SELECT * FROM orders WHERE status = 'update'",
        "SELECT PREVIOUS VALUE FOR s",
        "SELECT 1 -- the hot path",
        "SELECT 'a;b' FROM t",
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
        "SELECT 1 FOR SHARE",
        "SELECT 1 LOCK IN SHARE MODE",
        # DO evaluates expressions with effects
        "DO RELEASE_ALL_LOCKS()",
        "DO GET_LOCK('x', 10)",
        "do sleep(0)",
        # the server runs an executable comment's contents, whatever its version number
        "/*!DELETE FROM t */",
        "/*! DELETE FROM t */",
        "/*!50100 DELETE FROM t */",
        "/*!80000DELETE FROM t */",
        "/*M!DELETE FROM t */",
        "/*M!100100 DELETE FROM t */",
        "SELECT 1 /*!FOR UPDATE */",
        "SELECT 1 /*!50100 FOR UPDATE */",
        "SELECT 1 /*M!100100 INTO OUTFILE '/tmp/x' */",
        "/*!SELECT 1; DELETE FROM t */",
        "/*+ SELECT */ DELETE FROM t",
        "SELECT 1 FOR/**/UPDATE",
        # every statement counts (mysqlclient runs them all)
        "SELECT 1; DELETE FROM t",
        "SELECT 1; DO RELEASE_ALL_LOCKS()",
        "SELECT 1; KILL 5",
        # a comment or a literal's quote inside another does not hide code
        "SELECT '#' FROM t FOR UPDATE",
        "SELECT '--' FROM t FOR UPDATE",
        "SELECT '/*'; DELETE FROM t; SELECT '*/'",
        "SELECT 1 --1 FOR UPDATE",  # "--" without a space is two minus signs
        # with NO_BACKSLASH_ESCAPES the literal ends at the backslash
        "SELECT 'a\\' FOR UPDATE -- '",
        # where this module and the server may disagree on a comment's end, the whole
        # text counts (a review's bypasses, each run by MariaDB 10.11 as a DELETE)
        "SELECT 2*/* ' */ 3; DELETE FROM t; -- '",
        "SELECT 1 --\x7f '\n; DELETE FROM t; -- '",
        "SELECT * FROM t, (SELECT 1 AS \xa0) d WHERE 1 --\xa0 > 0; DELETE FROM t",
        "SELECT 1 /*M!999999 ' */; DELETE FROM t; -- '",
        "SELECT 1 /*!99999 ' */; DELETE FROM t; -- '",
        "SELECT 1 /*m! ' */; DELETE FROM t; -- '",
        "SELECT '\\'' AS \"\\\"; DELETE FROM t; -- \"",  # ANSI_QUOTES
        "SELECT 2*/* ' */ 3 FROM t FOR UPDATE -- '",
        # a version-gated comment the server skips leaves the statement after it
        # (MariaDB 10.11 ran this as CALL p())
        "/*M!999999 SELECT */ CALL p()",
        "/*!99999 SELECT */ LOAD DATA INFILE '/tmp/x' INTO TABLE t",
        # a write word in a comment: refused, to be safe
        "SELECT 'FOR UPDATE' FROM t -- FOR UPDATE",
        "SELECT 1 /* DELETE FROM t */",
        "SELECT 1 # DELETE FROM t",
        # functions that change a sequence or take locks
        "SELECT NEXTVAL(s)",
        "SELECT NEXT VALUE FOR s",
        "SELECT SETVAL(s, 5)",
        "SELECT GET_LOCK('a', 1)",
        "SELECT RELEASE_ALL_LOCKS()",
        "SELECT release_lock('a')",
    ],
)
def test_writes_need_the_flag(query):
    assert not is_read_only(query)
    with pytest.raises(ConfigError, match="allow_writes") as info:
        check_query(query, allow_writes=False)
    assert "may change data (it is not a plain SELECT/SHOW)" in str(info.value)
    assert info.value.exit_status == ExitStatus.USAGE
    check_query(query, allow_writes=True)  # with the flag: allowed


@pytest.mark.parametrize(
    ("query", "unknown"),
    [
        ("SELEC 1", "('SELEC': a typo for SELECT?)"),
        ("SHWO STATUS", "('SHWO': a typo for SHOW?)"),
        ("FOO bar", "('FOO': a typo?)"),
        ("'x'", "(a typo?)"),
        ("SELECT 1; SELEC 2", "('SELEC': a typo for SELECT?)"),
        ("/*!SELEC 1 */", "('SELEC': a typo for SELECT?)"),
    ],
)
def test_an_unknown_first_word_needs_the_flag(query, unknown):
    """An allow-list: a statement that does not start with a read keyword is refused."""
    assert not is_read_only(query)
    with pytest.raises(ConfigError) as info:
        check_query(query, allow_writes=False, where="[benchmark] query")
    message = str(info.value)
    assert message == (
        f"[benchmark] query = {query!r} does not start with SELECT, SHOW, EXPLAIN, DESCRIBE, "
        f"DESC, VALUES, TABLE, WITH or HELP {unknown}; any other statement may change data, "
        "so it runs only with allow_writes"
    )
    assert "\n" not in message
    assert info.value.exit_status == ExitStatus.USAGE
    check_query(query, allow_writes=True)


def test_the_message_is_one_line_naming_the_value():
    with pytest.raises(ConfigError) as info:
        check_query("SELECT 1\nFOR UPDATE", allow_writes=False)
    assert str(info.value) == (
        "[benchmark] query = 'SELECT 1\\nFOR UPDATE' may change data (it is not a plain "
        "SELECT/SHOW); dbbench runs it thousands of times, so give allow_writes if that is "
        "what you want"
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("SELECT 1", True),
        ("/*!DELETE FROM t */", True),
        ("/*!50100 SELECT 1 */", True),
        ("/*M!100100 SELECT 1 */", True),
        ("'a'", True),
        ("", False),
        (" ; ;", False),
        ("-- SELECT 1", False),
        ("# SELECT 1", False),
        ("/* SELECT 1 */", False),
        ("/*+ SELECT 1 */", False),
        ("/*!*/", False),  # the server: "Query was empty"
        ("/*!50100 */ ;", False),
        ("/*M!100100*/", False),
    ],
)
def test_has_statement_reads_executable_comments_as_code(query, expected):
    assert has_statement(query) is expected


def test_a_write_workload_needs_the_flag():
    check_workload("read", allow_writes=False)
    with pytest.raises(ConfigError) as info:
        check_workload("insert", allow_writes=False, where="[benchmark] workload")
    assert str(info.value) == (
        "[benchmark] workload = 'insert' writes (into a scratch table dbbench creates and "
        "drops); give allow_writes to run it"
    )
    assert info.value.exit_status == ExitStatus.USAGE
    check_workload("insert", allow_writes=True)


@pytest.mark.parametrize(
    "query",
    [
        "SELECT 1 -- x\n; SELECT 2",
        "SELECT 'a\\'; SHOW TABLES",
        "SELECT 1 /* ; */; CALL_ME_NOT",
    ],
)
def test_several_statements_with_comments_or_backslashes_need_the_flag(query):
    """Where the statements' bounds are not certain, a second statement is not risked."""
    with pytest.raises(ConfigError, match="holds several statements") as info:
        check_query(query, allow_writes=False)
    assert "\n" not in str(info.value)
    check_query(query, allow_writes=True)
