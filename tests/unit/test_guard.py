"""The read-only guard: what counts as a read, what needs --allow-writes."""

import contextlib

import pytest

from dbbench.errors import ConfigError, ExitStatus
from dbbench.guard import (
    check_init_command,
    check_query,
    check_sql,
    check_workload,
    has_statement,
    is_read_only,
)


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
    assert "may change data (" in str(info.value)
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
        "[benchmark] query = 'SELECT 1\\nFOR UPDATE' may change data (FOR UPDATE: it is not a "
        "plain SELECT/SHOW); dbbench runs it thousands of times, so give allow_writes if that is "
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
        "SELECT [a], 1; SELECT 2",
    ],
)
def test_several_statements_with_comments_or_backslashes_need_the_flag(query):
    """Where the statements' bounds are not certain, a second statement is not risked."""
    with pytest.raises(ConfigError, match="holds several statements") as info:
        check_query(query, allow_writes=False)
    assert "\n" not in str(info.value)
    check_query(query, allow_writes=True)


@pytest.mark.parametrize(
    ("query", "named"),
    [
        # every spelling of a function with effects: quoted names, case, blanks, comments
        ("SELECT `GET_LOCK`('x', 0)", "GET_LOCK()"),
        ("SELECT `get_lock` ('x', 0)", "GET_LOCK()"),
        ("SELECT ` GET_LOCK `('x', 0)", "GET_LOCK()"),
        ('SELECT "GET_LOCK"(\'x\', 0)', "GET_LOCK()"),  # a name under ANSI_QUOTES
        ("SELECT `RELEASE_ALL_LOCKS`()", "RELEASE_ALL_LOCKS()"),
        ("SELECT Release_Lock\n('x')", "RELEASE_LOCK()"),
        ("SELECT GET_LOCK/* a */('x', 0)", "GET_LOCK()"),
        ("SELECT `GET_LOCK`/**/('x', 0)", "GET_LOCK()"),
        ("SELECT GET_LOCK -- a\n('x', 0)", "GET_LOCK()"),
        ("SELECT GET_LOCK # a\n('x', 0)", "GET_LOCK()"),
        ("SELECT GET_LOCK --\x7fa\n('x', 0)", "GET_LOCK()"),  # MariaDB: a comment
        ("SELECT /*!GET_LOCK('x', 0) */", "GET_LOCK()"),
        ("SELECT /*M!100100 GET_LOCK('x', 0) */", "GET_LOCK()"),
        ("SELECT GET_LOCK/*!*/('x', 0)", "GET_LOCK()"),
        ("SELECT `test`.`GET_LOCK`('x', 0)", "GET_LOCK()"),  # a stored function's name
        ("SELECT 1 FROM t WHERE GET_LOCK('x', 0)", "GET_LOCK()"),
        ("VALUES (GET_LOCK('x', 0))", "GET_LOCK()"),
        ("WITH c AS (SELECT GET_LOCK('x', 0)) SELECT * FROM c", "GET_LOCK()"),
        ("SHOW TABLES WHERE GET_LOCK('x', 0)", "GET_LOCK()"),
        ("SELECT (SELECT `SETVAL`(s, 1))", "SETVAL()"),
        ("SELECT nextval(s)", "NEXTVAL()"),
        ("SELECT s.nextval FROM dual", ".NEXTVAL"),  # sql_mode=ORACLE
        ("SELECT `s`.`nextval`", ".NEXTVAL"),
        ("SELECT s . NEXTVAL", ".NEXTVAL"),
        ("SELECT NEXT/**/VALUE/**/FOR s", "NEXT VALUE FOR"),
        ("SELECT NEXT\n VALUE\tFOR s", "NEXT VALUE FOR"),
        ("SELECT MASTER_POS_WAIT('log', 4)", "MASTER_POS_WAIT()"),
        ("SELECT MASTER_GTID_WAIT('0-1-1', 1)", "MASTER_GTID_WAIT()"),
        ("SELECT SOURCE_POS_WAIT('log', 4)", "SOURCE_POS_WAIT()"),
        ("SELECT WAIT_FOR_EXECUTED_GTID_SET('x')", "WAIT_FOR_EXECUTED_GTID_SET()"),
        ("SELECT service_get_write_locks('ns', 'x', 0)", "SERVICE_GET_WRITE_LOCKS()"),
        # MariaDB's sql_mode=MSSQL quotes names in brackets: [GET_LOCK]( is the built-in,
        # and a quote inside brackets starts no literal, so a text with "[" counts whole
        ("SELECT [GET_LOCK]('x', 0)", "GET_LOCK()"),
        ("SELECT 1 AS [a'b], GET_LOCK('x', 0), 2 AS [c'd]", "GET_LOCK()"),
        ("SELECT [s].[nextval]", ".NEXTVAL"),
        # writes and locking reads under disguises
        ("SELECT 1 INTO/* a */OUTFILE '/tmp/x'", "OUTFILE"),
        ("SELECT 1 INTO\nDUMPFILE '/tmp/x'", "INTO DUMPFILE"),
        ("SELECT * FROM t FOR\nUPDATE", "FOR UPDATE"),
        ("SELECT * FROM t for update skip locked", "FOR UPDATE"),
        ("SELECT * FROM t FOR/* a */SHARE", "FOR SHARE"),
        ("SELECT * FROM t LOCK/**/IN/**/SHARE/**/MODE", "LOCK IN SHARE MODE"),
        ("SELECT * FROM t /*!FOR UPDATE */", "FOR UPDATE"),
        ("(SELECT * FROM t) FOR UPDATE", "FOR UPDATE"),
        ("SELECT * FROM (SELECT * FROM t FOR UPDATE) d", "FOR UPDATE"),
        ("EXPLAIN DELETE FROM t", "DELETE"),
        ("EXPLAIN ANALYZE UPDATE t SET a = 1", "UPDATE"),
        ("WITH x AS (SELECT 1) UPDATE t SET a = 1", "UPDATE"),
        ("SELECT 1; SET GLOBAL max_connections = 1", "SET"),
        ("DESCRIBE INSERT INTO t VALUES (1)", "INSERT"),
        # statements that are no reads, in any case and after any comment
        ("handler t open", "HANDLER"),
        ("Call p()", "CALL"),
        ("/* a */ DO 1", "DO"),
        ("/* a */ DO GET_LOCK('x', 0)", "GET_LOCK()"),  # in a text with a comment, found first
        ("LOCK TABLES t READ", "LOCK"),
        ("SET @@global.max_connections = 1", "SET"),
        ("SET STATEMENT max_statement_time = 1 FOR SELECT 1", "SET"),
        ("KILL QUERY 5", "KILL"),
        ("DECLARE x INT", "DECLARE"),
    ],
)
def test_what_the_refusal_names(query, named):
    """The refusal names what it found, however it was disguised."""
    assert not is_read_only(query)
    with pytest.raises(ConfigError) as info:
        check_query(query, allow_writes=False, where="--query")
    message = str(info.value)
    assert f"may change data ({named}" in message, message
    assert "\n" not in message
    check_query(query, allow_writes=True)


@pytest.mark.parametrize(
    "query",
    [
        # functions that only read or wait change nothing
        "SELECT IS_FREE_LOCK('x'), IS_USED_LOCK('x')",
        "SELECT SLEEP(0.01)",
        "SELECT BENCHMARK(10, MD5('x'))",
        "SELECT LOAD_FILE('/etc/hostname')",
        "SELECT LASTVAL(s), PREVIOUS VALUE FOR s",
        # a user variable, and the value LAST_INSERT_ID() returns, are the session's own
        "SELECT 1 INTO @v",
        "SELECT @v := 1",
        "SELECT LAST_INSERT_ID(5)",
        # names that only look like the functions, or are not called
        "SELECT get_lock_count, release_lock_at FROM t",
        "SELECT t.get_lock FROM t",
        "SELECT `GET_LOCK` FROM t",
        "SELECT 'GET_LOCK(' FROM t",
        "SELECT \"GET_LOCK('x', 0)\" FROM t",
        "SELECT `get lock`(1)",  # not a built-in's name
        "SELECT nextval_at FROM t",
        "SELECT `nextval` FROM t",
        "SELECT UPDATEXML('<a/>', '/a', '<b/>')",
        "SELECT low_priority_updates FROM t",
        "SELECT `update`, `delete` FROM `insert`",
        "SELECT \"update\" FROM t",
        "SELECT * FROM t WHERE note = 'FOR UPDATE'",
        "SELECT * FROM t WHERE a IN (SELECT b FROM u)",
        "SHOW CREATE PROCEDURE p",
        "SHOW GRANTS",
        "SELECT 1 FROM t WHERE a = 1 -- the hot path",
        "select\n\t1\n",
        "SELECT\u00a01",
    ],
)
def test_more_reads(query):
    assert is_read_only(query), query
    check_query(query, allow_writes=False)


@pytest.mark.parametrize(
    "command",
    [
        "SET SESSION wait_timeout = 60",
        "set session wait_timeout=60",
        "SET time_zone = '+00:00', SESSION transaction_isolation = 'READ-COMMITTED'",
        "SET @@session.sql_mode = 'ANSI_QUOTES'",
        "SET @@sql_mode = DEFAULT, @@local.max_statement_time = 5",
        "SET LOCAL sort_buffer_size = 1048576",
        "SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci",
        "SET character_set_client = 'latin1', @@session.character_set_client = DEFAULT",
        "SET CHARACTER SET utf8mb4",
        "SET CHARSET utf8mb4",
        "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
        "SET SESSION tx_isolation = 'READ-COMMITTED'",
        "SET transaction_isolation = DEFAULT, @@session.tx_isolation = \"repeatable-read\";",
        "SET tx_isolation = 'READ-UNCOMMITTED' -- a note",
        "SET TRANSACTION READ ONLY",
        "SET autocommit = 0, SESSION tx_read_only = 1",
        "SET SESSION transaction_read_only = ON",
        "SET @x = 1, @y = 'GLOBAL'",
        "SET ROLE reader",
        "SET SESSION low_priority_updates = 1, SESSION alter_algorithm = DEFAULT",
        "SET sql_safe_updates = 1;",
        "/* ours */ SET SESSION wait_timeout = 60",
        "SELECT 1",
        "SHOW STATUS",
    ],
)
def test_an_init_command_may_set_the_session(command):
    check_init_command(command, allow_writes=False)


@pytest.mark.parametrize(
    ("command", "said"),
    [
        ("DELETE FROM t", "may change data (DELETE: it is not a read or a SET of the session's"),
        ("delete from t", "may change data (DELETE:"),
        ("INSERT INTO log VALUES (1)", "may change data (INSERT:"),
        ("SET @x = 1; DELETE FROM t", "may change data (DELETE:"),
        ("SET NAMES utf8mb4; TRUNCATE t", "may change data (TRUNCATE:"),
        ("/*!DELETE FROM t */", "may change data (DELETE"),
        ("SET @x = 1 /*!; DELETE FROM t */", "may change data (DELETE"),
        ("CREATE TEMPORARY TABLE x (a int)", "may change data (CREATE:"),
        ("DO GET_LOCK('x', 0)", "may change data (DO:"),
        ("CALL p()", "may change data (CALL:"),
        ("START TRANSACTION READ ONLY", "may change data (START:"),
        ("SET @x = GET_LOCK('x', 0)", "may change data (GET_LOCK():"),
        ("SET @x = `GET_LOCK`('x', 0)", "may change data (GET_LOCK():"),
        ("SET @x = NEXTVAL(s)", "may change data (NEXTVAL():"),
        ("SET @x = NEXT VALUE FOR s", "may change data (NEXT VALUE FOR:"),
        ("SET @x = (SELECT a FROM t FOR UPDATE)", "may change data (FOR UPDATE:"),
        ("SET @x = (SELECT a FROM t LIMIT 1 INTO OUTFILE '/tmp/x')", "may change data (INTO"),
        ("SET @x = (SELECT COUNT(*) FROM t)", "(a subquery in a SET: MariaDB locks the rows"),
        ("SET @x = 1 + ( select MAX(a) FROM t)", "may change data (a subquery in a SET"),
        ("SET sql_select_limit = ((SELECT 1))", "may change data (a subquery in a SET"),
        ("SET @x = (TABLE t)", "may change data (a subquery in a SET"),
        # SERIALIZABLE makes every read lock the rows it reads, autocommit off
        ("SET SESSION TRANSACTION ISOLATION LEVEL SERIALIZABLE", "(SERIALIZABLE: every read"),
        ("SET TRANSACTION ISOLATION LEVEL /*!SERIALIZABLE */", "(SERIALIZABLE: every read"),
        ("SET tx_isolation = 'serializable'", "(SERIALIZABLE: every read then locks"),
        ("SET tx_isolation = 3", "(TX_ISOLATION not set to a level by name: it may be"),
        ("SET @@session.`transaction_isolation` = 1 + 2", "(TRANSACTION_ISOLATION not set"),
        ("SET tx_isolation := @level", "(TX_ISOLATION not set to a level by name"),
        ("SET tx_isolation/**/= 3", "(TX_ISOLATION not set to a level by name"),
        ("SET tx_isolation = 'READ-COMMITTED' + 2", "(TX_ISOLATION not set to a level by name"),
        ("SET tx_isolation = 'READ-COMMITTED' /*!+ 2 */", "(TX_ISOLATION not set to a level"),
        ("SET tx_isolation = 'READ-COMMITTED' --\n+ 2", "(TX_ISOLATION not set to a level"),
        # a client character set whose characters may end in "\\" or "`" (28 is gbk)
        ("SET NAMES gbk", "may make the server read the statements after it otherwise than "
         "dbbench does (GBK: its characters may end in a backslash or a backquote)"),
        ("SET NAMES 'sjis' COLLATE sjis_bin", "(SJIS: its characters may end"),
        ("SET CHARACTER SET big5", "(BIG5: its characters"),
        ("SET CHARSET cp932", "(CP932: its characters"),
        ("SET @@session.character_set_client = 'gb18030'", "(GB18030: its characters"),
        ("SET character_set_client = 28", "(CHARACTER_SET_CLIENT not set to a character set"),
        ("SET character_set_client = @@character_set_database", "(CHARACTER_SET_CLIENT not"),
        ("SET GLOBAL max_connections = 1", "sets a variable beyond the session (GLOBAL)"),
        ("set global max_connections = 1", "sets a variable beyond the session (GLOBAL)"),
        ("SET SESSION a = 1, GLOBAL b = 2", "sets a variable beyond the session (GLOBAL)"),
        ("SET @@global.max_connections = 1", "sets a variable beyond the session (GLOBAL)"),
        ("SET @@GLOBAL . max_connections = 1", "sets a variable beyond the session (GLOBAL)"),
        ("SET @@`global`.max_connections = 1", "sets a variable beyond the session (GLOBAL)"),
        ("SET GLOBAL TRANSACTION READ ONLY", "sets a variable beyond the session (GLOBAL)"),
        ("SET /* x */ GLOBAL max_connections = 1", "may change data (SET GLOBAL, which counts"),
        ("SET PERSIST max_connections = 1", "sets a variable beyond the session (PERSIST)"),
        ("SET PERSIST_ONLY x = 1", "sets a variable beyond the session (PERSIST_ONLY)"),
        ("SET @@persist.max_connections = 1", "sets a variable beyond the session (PERSIST)"),
        ("SET SESSION gtid_next = 'x:1'", "sets a variable beyond the session (GTID_NEXT)"),
        ("SET @@session.debug_dbug = '+d,crash'", "beyond the session (DEBUG_DBUG)"),
        ("SET debug_sync = 'now WAIT_FOR x'", "beyond the session (DEBUG_SYNC)"),
        ("SET pseudo_slave_mode = 1", "beyond the session (PSEUDO_SLAVE_MODE)"),
        ("SET PASSWORD = PASSWORD('x')", "may change data (SET PASSWORD:"),
        ("SET PASSWORD FOR u = 'x'", "may change data (SET PASSWORD:"),
        ("SET DEFAULT ROLE r FOR u", "may change data (SET DEFAULT:"),
        ("SET STATEMENT x = 1 FOR DELETE FROM t", "may change data (SET STATEMENT:"),
        ("SET RESOURCE GROUP g FOR 5", "may change data (SET RESOURCE:"),
        ("SELEC 1", "or SET (of the session's variables) ('SELEC': a typo for SELECT?)"),
    ],
)
def test_an_init_command_that_reaches_beyond_the_session_needs_the_flag(command, said):
    with pytest.raises(ConfigError) as info:
        check_init_command(command, False, "dbbench.toml: [database] init_command")
    message = str(info.value)
    assert message.startswith(f"dbbench.toml: [database] init_command = {command!r} "), message
    assert said in message, message
    assert "allow_writes" in message
    assert "\n" not in message
    assert info.value.exit_status == ExitStatus.USAGE
    check_init_command(command, allow_writes=True)


def test_an_init_command_runs_on_every_connection_the_message_says():
    with pytest.raises(ConfigError) as info:
        check_init_command("DELETE FROM t", allow_writes=False)
    assert str(info.value) == (
        "[database] init_command = 'DELETE FROM t' may change data (DELETE: it is not a read "
        "or a SET of the session's own variables); dbbench runs it on every connection it "
        "opens, so give allow_writes if that is what you want"
    )


def test_check_sql_checks_the_query_and_every_init_command():
    check_sql("SELECT 1", [(None, "a"), ("SET @x = 1", "b")], allow_writes=False)
    refused = r"^new\.toml: \[database\] init_command = 'DROP TABLE t'"
    with pytest.raises(ConfigError, match=refused):
        check_sql(
            "SELECT 1",
            [("SET @x = 1", "a.toml: [database] init_command"),
             ("DROP TABLE t", "new.toml: [database] init_command")],
            allow_writes=False,
        )  # fmt: skip
    with pytest.raises(ConfigError, match=r"^--query = 'DROP TABLE t'"):
        check_sql("DROP TABLE t", [], allow_writes=False, query_name="--query")
    check_sql("DROP TABLE t", [("DROP TABLE u", "x")], allow_writes=True)


@pytest.mark.parametrize(
    "query",
    [
        "SELECT GET_LOCK" + "/**/" * 3000 + "x",
        "SELECT NEXT" + "/**/" * 3000 + "x",
        "SELECT " + "FOR /*" * 3000,
        "SELECT " + "GET_LOCK/*" * 3000,
        "SELECT " + "FOR -- \n" * 3000,
        "SELECT '" + "\\'" * 10000,
        "/*!" * 10000,
    ],
)
def test_a_long_hostile_query_is_judged_in_one_pass(query):
    """No pattern backtracks through every way of reading a run of comments (an earlier
    version took seconds at 22 comments): 10,000-odd characters are judged at once."""
    is_read_only(query)
    check_init_command(query, allow_writes=True)
    with contextlib.suppress(ConfigError):
        check_init_command(query, allow_writes=False)
