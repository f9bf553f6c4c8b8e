"""PostgreSQL's write guard: what counts as a read as PostgreSQL reads a text, what needs
--allow-writes, under the disguises PostgreSQL reads through (tables, then hypothesis)."""

import contextlib
import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dbbench import guard
from dbbench.errors import ConfigError, ExitStatus
from dbbench.guard import check_init_command, check_query, check_sql, has_statement, is_read_only
from tests.pg_disguises import READS, SESSION_SETS, WRITES, changes, disguised, effect_call

PG = "postgresql"


def refused(query: str) -> str:
    """The one-line refusal of ``query`` as a PostgreSQL query."""
    with pytest.raises(ConfigError) as caught:
        check_query(query, allow_writes=False, dialect=PG)
    assert caught.value.exit_status == ExitStatus.USAGE
    message = str(caught.value)
    assert "\n" not in message
    return message


def init_refused(command: str) -> str:
    with pytest.raises(ConfigError) as caught:
        check_init_command(command, allow_writes=False, dialect=PG)
    return str(caught.value)


@pytest.mark.parametrize(
    "query",
    [
        *READS,
        "  select 1",
        "SELECT 'it''s' AS \"a \"\" name\"",
        "SELECT \"Update\" FROM t",
        "SELECT 'a\\' FROM t",  # standard_conforming_strings on: a backslash, then the end
        "SELECT e'\\n'",
        "SELECT N'national'",
        "SELECT $tag$ $notatag $$ ' $tag$",
        "SELECT $_$x$_$",
        "SELECT $Ä$x$Ä$",
        "SELECT 1 --",
        "SELECT 1 /* unterminated",
        "select * from t for read only",  # not a PostgreSQL clause: a syntax error, no lock
        "SELECT updated_at, created FROM t",
        "SELECT intoxicated FROM t",
        "SELECT * FROM t WHERE note = 'SELECT * INTO x FROM t'",
        "SELECT pg_sleep_until(now())",
        "SELECT pg_stat_file('PG_VERSION')",
        "SELECT pg_read_binary_file('PG_VERSION')",
        "SELECT lo_get(1)",
        "SELECT setseed(0.5)",
        "SELECT random()",
        "SELECT gen_random_uuid()",
        "SELECT pg_try_advisory_lock_placeholder FROM t",  # a column, no call
        "SELECT txid_current_if_assigned()",
        "SELECT pg_current_snapshot()",
        "SELECT nextval_count FROM t",
        "SELECT my_nextval('s')",  # a user's function: the text cannot see into it
        "SELECT t.nextval FROM t",
        "SHOW search_path",
        "EXPLAIN (FORMAT JSON) SELECT 1",
        "EXPLAIN VERBOSE VALUES (1)",
        "VALUES ('DELETE')",
        "WITH a AS (SELECT 1), b AS (SELECT 2) SELECT * FROM a, b",
        "(VALUES (1))",
        "TABLE pg_catalog.pg_class",
    ],
)
def test_reads(query):
    assert is_read_only(query, dialect=PG), query
    check_query(query, allow_writes=False, dialect=PG)


@pytest.mark.parametrize(
    "query",
    [
        *WRITES,
        "insert into t values (1)",
        "ABORT",
        "END",
        "START TRANSACTION",
        "ROLLBACK",
        "SAVEPOINT a",
        "RELEASE a",
        "CHECKPOINT",
        "CLUSTER t",
        "REINDEX TABLE t",
        "REFRESH MATERIALIZED VIEW m",
        "UNLISTEN *",
        "DEALLOCATE ALL",
        "EXECUTE p",
        "LOAD 'auto_explain'",
        "SECURITY LABEL ON TABLE t IS 'x'",
        "COMMENT ON TABLE t IS 'x'",
        "REASSIGN OWNED BY a TO b",
        "DECLARE c CURSOR FOR SELECT 1",
        "FETCH c",
        "COPY t FROM '/tmp/x'",
        "COPY (SELECT 1) TO PROGRAM 'touch /tmp/pwned'",
        "copy t to stdout",
        "IMPORT FOREIGN SCHEMA s FROM SERVER x INTO y",
        "REVOKE ALL ON t FROM PUBLIC",
        "CREATE TEMP TABLE x (a int)",
        "SELECT * INTO TEMP x FROM t",
        "SELECT * INTO UNLOGGED x FROM t",
        "select a into x from t",
        "WITH w AS (SELECT 1) SELECT * INTO x FROM w",
        "SELECT 1 FOR UPDATE",
        "SELECT * FROM t FOR UPDATE OF t NOWAIT",
        "SELECT * FROM t FOR\nNO\tKEY\rUPDATE",
        "SELECT * FROM t FOR/**/SHARE",
        "SELECT * FROM t FOR /* /* */ */ KEY SHARE",
        "WITH i AS (INSERT INTO u VALUES (1) RETURNING b) SELECT * FROM i",
        "WITH x AS (UPDATE t SET a = 1 RETURNING a) SELECT 1",
        "WITH x AS (MERGE INTO u USING t ON true WHEN MATCHED THEN DELETE) SELECT 1",
        "EXPLAIN ANALYZE UPDATE t SET a = 1",
        "EXPLAIN (ANALYZE) INSERT INTO u VALUES (1)",
        "EXPLAIN ANALYZE CREATE TABLE x AS SELECT 1",
        "EXPLAIN EXECUTE p",
        # nested comments: what MySQL would run after "*/" is still inside one
        "/* /* */ SELECT 1 */ DELETE FROM t",
        "SELECT 1 /* /* */ */ ; DELETE FROM t",
        # every statement counts (psycopg2 runs them all)
        "SELECT 1; DELETE FROM t",
        "SELECT 1;DELETE FROM t",
        "SELECT 1 ;; UPDATE t SET a = 1",
        "SELECT 'x'; SELECT nextval('s')",
        # a literal's quote inside another does not hide code
        "SELECT '--' FROM t FOR UPDATE",
        "SELECT '/*' FROM t FOR UPDATE",
        "SELECT \"'\" FROM t FOR UPDATE",
        "SELECT $$'$$ FROM t FOR UPDATE",
        "SELECT '$$' FROM t FOR UPDATE",
        # with standard_conforming_strings off a backslash escapes the quote
        "SELECT 'a\\' FOR UPDATE -- '",
        "SELECT E'a\\' FOR UPDATE -- '",
        "SELECT 'a\\'; DELETE FROM t; -- '",
        # a write word or an effect in a comment or literal, where comments, backslashes
        # or $ make the reading uncertain: refused, to be safe
        "SELECT 'DELETE' -- note",
        "SELECT 1 /* DELETE FROM t */",
        "SELECT 1 -- nextval('s')",
        "SELECT $$nextval('s')$$ -- note",
        "SELECT E'\\\\', 'FOR UPDATE'",
        "SELECT E'\\\\'; SELECT 2",
        "SELECT 1; /* */ SELECT 2",
        "SELECT 1 -- x\rDELETE FROM t",
        # functions with effects, however spelled
        "SELECT nextval('s')",
        "SELECT NEXTVAL('s')",
        'SELECT "nextval"(\'s\')',
        "SELECT pg_catalog.nextval('s')",
        'SELECT "pg_catalog"."nextval"(\'s\')',
        "SELECT pg_catalog . nextval ('s')",
        "SELECT nextval /* x */ ('s')",
        "SELECT nextval/* /* */ */('s')",
        "SELECT nextval\n('s')",
        "SELECT nextval -- x\n('s')",
        'SELECT U&"\\006Eextval"(\'s\')',
        'SELECT U&"\\+00006Eextval"(\'s\')',
        "SELECT U&\"!006Eextval\" UESCAPE '!' ('s')",
        "SELECT setval('s', 1)",
        "SELECT * FROM nextval('s')",
        "SELECT pg_advisory_lock(1)",
        "SELECT pg_advisory_lock_shared(1)",
        "SELECT pg_advisory_unlock(1)",
        "SELECT pg_advisory_unlock_all()",
        "SELECT pg_advisory_xact_lock(1, 2)",
        "SELECT pg_advisory_xact_lock_shared(1)",
        "SELECT pg_try_advisory_lock(1)",
        "SELECT pg_try_advisory_lock_shared(1)",
        "SELECT pg_try_advisory_xact_lock(1)",
        "SELECT pg_try_advisory_xact_lock_shared(1)",
        "SELECT set_config('default_transaction_read_only', 'off', false)",
        "SELECT pg_catalog.set_config('work_mem', '1MB', true)",
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity",
        "SELECT pg_cancel_backend(1)",
        "SELECT pg_reload_conf()",
        "SELECT pg_rotate_logfile()",
        "SELECT pg_switch_wal()",
        "SELECT pg_create_restore_point('x')",
        "SELECT pg_promote()",
        "SELECT pg_backup_start('x')",
        "SELECT pg_wal_replay_pause()",
        "SELECT lo_import('/etc/passwd')",
        "SELECT lo_export(1, '/tmp/x')",
        "SELECT lo_create(0)",
        "SELECT lo_creat(-1)",
        "SELECT lo_unlink(1)",
        "SELECT lo_open(1, 131072)",
        "SELECT lo_put(1, 0, 'x')",
        "SELECT lo_from_bytea(0, 'x')",
        "SELECT lowrite(0, 'x')",
        "SELECT pg_notify('c', 'x')",
        "SELECT dblink_exec('dbname=test', 'DELETE FROM t')",
        "SELECT * FROM dblink('dbname=test', 'SELECT 1') AS d(a int)",
        "SELECT pg_file_write('x', 'y', false)",
        "SELECT txid_current()",
        "SELECT pg_current_xact_id()",
        "SELECT pg_logical_emit_message(true, 'p', 'x')",
        "SELECT pg_replication_origin_create('x')",
        "SELECT pg_create_logical_replication_slot('x', 'pgoutput')",
        "SELECT pg_create_physical_replication_slot('x')",
        "SELECT pg_drop_replication_slot('x')",
        "SELECT pg_logical_slot_get_changes('x', NULL, NULL)",
        "SELECT pg_stat_reset()",
        "SELECT pg_stat_reset_shared('bgwriter')",
        "SELECT pg_stat_statements_reset()",
        "SELECT query_to_xml('SELECT nextval(''s'')', true, true, '')",
        "SELECT ts_stat('SELECT to_tsvector(note) FROM t')",
        "SELECT brin_summarize_new_values('i')",
        "VALUES (nextval('s'))",
        "WITH c AS (SELECT nextval('s')) SELECT * FROM c",
        "EXPLAIN ANALYZE SELECT nextval('s')",
        "SELECT * FROM t WHERE a = setval('s', 1)",
        "TABLE t; SELECT pg_advisory_lock(1)",
    ],
)
def test_writes_and_effects_need_the_flag(query):
    assert not is_read_only(query, dialect=PG), query
    refused(query)
    check_query(query, allow_writes=True, dialect=PG)


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("DELETE FROM t", "(DELETE: it is not a plain SELECT/SHOW)"),
        ("SELECT a INTO x FROM t", "(INTO: SELECT ... INTO creates a table)"),
        ("SELECT * FROM t FOR KEY SHARE", "(FOR KEY SHARE"),
        ("SELECT pg_catalog.nextval ('s')", "(NEXTVAL()"),
        ('SELECT "pg_advisory_lock"(1)', "(PG_ADVISORY_LOCK()"),
        ("SELECT 'x' /* */, set_config('a', 'b', false)", "(SET_CONFIG(), which counts anywhere"),
        ("SELECC 1", "('SELECC': a typo for SELECT?)"),
        ("SELECT E'x\\n'; SELECT 2", "holds several statements and comments, backslashes or"),
        ("SELECT U&\"!006Eextval\" UESCAPE '!' ('s')", "(UESCAPE"),
    ],
)
def test_what_the_refusal_names(query, named):
    message = refused(query)
    assert named in message, message
    assert message.startswith("[benchmark] query = ")


def test_an_unknown_first_word_names_the_reads():
    message = refused("HELP")
    assert "SELECT, VALUES, TABLE, WITH, SHOW or EXPLAIN" in message


def test_the_two_readings_differ_where_the_servers_do():
    """Each module reads as its server does: PostgreSQL's comments nest, its "..." is a
    name, its dollar quotes hold anything; MySQL's do not."""
    assert not has_statement("/* /* */ SELECT 1 */", dialect=PG)
    assert has_statement("/* /* */ SELECT 1 */")
    assert is_read_only("SELECT $$ ' $$ FROM t FOR UPDATE -- '") is False
    assert is_read_only("SELECT $$DELETE$$", dialect=PG)
    assert not is_read_only("SELECT $$DELETE$$")
    assert is_read_only("SELECT \"update\" FROM t", dialect=PG)


def test_mysql_is_the_default_dialect():
    assert is_read_only("SHOW CREATE TABLE t")
    assert is_read_only("SELECT 1 INTO @v")
    assert not is_read_only("SELECT 1 INTO v", dialect=PG)
    assert not is_read_only("HELP 'select'", dialect=PG)
    assert guard.for_dialect("mysql") is guard.mysql
    assert guard.for_dialect(PG) is guard.postgresql
    with pytest.raises(ValueError, match="sqlite"):
        guard.for_dialect("sqlite")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("SELECT 1", True),
        ("/* only a comment */", False),
        ("/* /* nested */ still */ ;", False),
        ("-- x\r", False),
        (" ; ; ", False),
        ("$$x$$", True),
    ],
)
def test_has_statement(query, expected):
    assert has_statement(query, dialect=PG) is expected


@pytest.mark.parametrize(
    "command",
    [
        *SESSION_SETS,
        None,
        "SET SESSION statement_timeout = 0",
        "set datestyle to 'ISO, MDY'",
        "SET search_path = \"$user\", public",
        "SET client_encoding = DEFAULT",
        "SET NAMES 'utf-8'",
        "SET client_encoding TO 'WIN1252'",
        "SET default_transaction_isolation TO 'repeatable read'",
        "SET default_transaction_isolation = DEFAULT",
        "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED",
        "SET idle_session_timeout = 60000",
        "SET work_mem = '4MB'; SET statement_timeout = 1000",
        "SET jit = off -- no JIT\n",
    ],
)
def test_an_init_command_may_set_the_session(command):
    check_init_command(command, allow_writes=False, dialect=PG)


@pytest.mark.parametrize(
    ("command", "said"),
    [
        ("SET ROLE postgres", "(ROLE)"),
        ("SET SESSION ROLE postgres", "(ROLE)"),
        ("set role = 'postgres'", "(ROLE)"),
        ("SET SESSION AUTHORIZATION postgres", "(SESSION AUTHORIZATION)"),
        ("SET session_authorization = postgres", "(SESSION_AUTHORIZATION)"),
        ("SET default_transaction_read_only = off", "(DEFAULT_TRANSACTION_READ_ONLY)"),
        ('SET "default_transaction_read_only" = off', "(DEFAULT_TRANSACTION_READ_ONLY)"),
        ("SET transaction_read_only = off", "(TRANSACTION_READ_ONLY)"),
        ("SET TRANSACTION READ WRITE", "(READ WRITE)"),
        ("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE", "(READ WRITE)"),
        ("SET session_replication_role = replica", "(SESSION_REPLICATION_ROLE)"),
        ("SET zero_damaged_pages = on", "(ZERO_DAMAGED_PAGES)"),
        ("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", "(SERIALIZABLE"),
        ("SET default_transaction_isolation = 'serializable'", "(SERIALIZABLE"),
        ("SET default_transaction_isolation = $$serializable$$", "(SERIALIZABLE"),
        ("SET default_transaction_isolation = $$read committed$$", "not set to a level by name"),
        ("SET default_transaction_isolation = \"x\" 'y'", "not set to a level by name"),
        ("SET client_encoding = 'SJIS'", "(CLIENT_ENCODING not set to an encoding"),
        ("SET client_encoding TO 'Shift_JIS_2004'", "(CLIENT_ENCODING not set"),
        ("SET NAMES 'big5'", "(NAMES not set"),
        ("SET NAMES gbk", "(NAMES not set"),
        ("SET client_encoding = 'win-936'", "(CLIENT_ENCODING not set"),
        ("SET client_encoding /* x */ = 'uhc'", "(CLIENT_ENCODING not set"),
        ("SET client_encoding = E'\\x53JIS'", "(the escape"),
        ("SET client_encoding = U&'\\0053JIS'", "(the escape"),
        ('SET U&"client_encodin\\0067" = \'SJIS\'', "(the escape"),
        ("SET work_mem = '1MB' UESCAPE", "(the escape"),
        ("SELECT set_config('work_mem', '1MB', false)", "(SET_CONFIG()"),
        ("SELECT pg_advisory_lock(1)", "(PG_ADVISORY_LOCK()"),
        ("RESET ALL", "(RESET: it is not a read or a SET of the session's own settings)"),
        ("DISCARD ALL", "(DISCARD"),
        ("DO $$BEGIN PERFORM 1; END$$", "(DO"),
        ("SET work_mem = '1MB'; DELETE FROM t", "(DELETE"),
        ("PRAGMA x", "or SET (of the session's settings)"),
    ],
)
def test_an_init_command_that_reaches_beyond_the_session_needs_the_flag(command, said):
    message = init_refused(command)
    assert said in message, message
    assert message.startswith("[database] init_command = ")
    check_init_command(command, allow_writes=True, dialect=PG)


def test_check_sql_reads_every_statement_as_the_dialect_does():
    check_sql("SELECT \"it's\"", [("SET jit = off", "FILE: [database] init_command")], False,
              dialect=PG)  # fmt: skip
    with pytest.raises(ConfigError, match="FILE: \\[database\\] init_command = 'SET ROLE x'"):
        check_sql("SELECT 1", [("SET ROLE x", "FILE: [database] init_command")], False,
                  dialect=PG)  # fmt: skip
    with pytest.raises(ConfigError, match="\\[benchmark\\] query"):
        check_sql("SELECT a INTO b FROM t", [], False, dialect=PG)
    check_sql("SELECT a INTO @b FROM t", [], False)  # MySQL: a session variable


# ---- properties -------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(READS).flatmap(disguised))
def test_a_disguised_read_is_a_read(query):
    assert is_read_only(query, dialect=PG), query


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(SESSION_SETS).flatmap(disguised))
def test_a_disguised_session_set_is_allowed(command):
    check_init_command(command, allow_writes=False, dialect=PG)


@settings(max_examples=400, deadline=None)
@given(changes().flatmap(disguised))
@example("SELECT nextval/* /* */ */('s')")
@example("/* /* */ SELECT 1 */ DELETE FROM t")
def test_whatever_changes_something_is_refused_in_any_disguise(query):
    assert not is_read_only(query, dialect=PG), query
    if re.search(r"\bSET\s+work_mem\b", query, re.IGNORECASE):
        return  # a query's SET is refused; an init_command's SET of the session's is not
    with pytest.raises(ConfigError):
        check_init_command(query, allow_writes=False, dialect=PG)


#: places in a read where PostgreSQL reads code: between its tokens
_CODE_PLACES = ("SELECT 1, {} FROM t", "SELECT * FROM t WHERE a = 1 AND {} IS NOT NULL")


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(READS), effect_call(), st.sampled_from(_CODE_PLACES))
def test_a_read_with_an_effect_added_where_code_goes_is_refused(read, call, place):
    """Whatever the guard accepts, an effect added after it as code (a statement of its own
    after ";", or an expression in a read) is refused."""
    assert is_read_only(read, dialect=PG)
    query = f"{read.rstrip().rstrip(';')}\n; {place.format(call)}"
    assert not is_read_only(query, dialect=PG), query


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from("$'\"\\/*-;\n\rEeU&x_ 1(aSELCT"), max_size=60))
@example("$a$")
@example("/* /* /*")
@example("U&\"\\")
@example("E'\\")
def test_the_guard_answers_any_text_in_one_line(text):
    """The scanner ends on any text, and the answer is a boolean or one line."""
    is_read_only(text, dialect=PG)
    has_statement(text, dialect=PG)
    for check in (check_query, check_init_command):
        try:
            check(text, allow_writes=False, dialect=PG)
        except ConfigError as error:
            assert "\n" not in str(error).replace(text, "")


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 3000))
def test_a_long_hostile_text_is_judged_in_one_pass(n):
    """Texts that would take a scanner that looks ahead for each token quadratic time (a
    comment's end found again for every nested start, a line's end for every "--"): the
    guard answers them all (the suite's time shows it)."""
    texts = ("/*" * n + "*/", "/* */" * n + "--", "-- x\n" * n, "$a$" * n, "'" * n + "\\" * n,
             "--\r" * n, "U&\"" * n, "SET a = 1;" * n)  # fmt: skip
    for text in texts:
        is_read_only(text, dialect=PG)
        with contextlib.suppress(ConfigError):
            check_init_command(text, allow_writes=False, dialect=PG)
