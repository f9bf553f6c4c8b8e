"""SQL for PostgreSQL's write guard's tests: reads, things that change something, and the
disguises PostgreSQL reads through (case, blanks, nested comments, quoted and qualified
names, dollar quotes), as plain tables and as hypothesis strategies.

The unit tests (``tests/unit/test_guard_postgresql.py``) check the guard's answer on
them; the differential test (``tests/integration/test_guard_postgresql_server.py``) runs
what the guard lets through in a read-only transaction on the shared PostgreSQL, with
its schema on the search_path: ``t``, ``u``, the sequence ``s`` (a syntax error is fine:
it changes nothing).
"""

from __future__ import annotations

from hypothesis import strategies as st

from dbbench.guard.postgresql import EFFECT_CALLS, WRITE_WORDS
from tests import sql_disguises

#: what the reads read (the differential test creates them in a schema of its own)
TABLES = (
    'CREATE TABLE t (a int PRIMARY KEY, note text, "update" int, "delete" int)',
    "INSERT INTO t VALUES (1, 'FOR UPDATE', 1, 1), (2, 'nextval(''s'')', 2, 2)",
    "CREATE TABLE u (b int)",
    "INSERT INTO u VALUES (1)",
    "CREATE SEQUENCE s",
    "CREATE VIEW v AS SELECT a FROM t",
)

#: reads the guard lets through; each changes nothing on the server, however it is read
READS = (
    "SELECT 1",
    "select * from t where note = 'DELETE'",
    "SELECT a, note FROM t WHERE note = 'FOR UPDATE'",
    'SELECT "update", "delete" FROM t',
    "SELECT 'UPDATE t SET a = 1', 'DROP TABLE t' FROM t",
    "SELECT 'it''s' FROM t",
    "SELECT 'a;b' FROM t",
    "SELECT 1; SELECT 2",
    "SELECT 1;",
    "SELECT $$DELETE FROM t$$",
    "SELECT $q$ nextval('s') $q$",
    "SELECT $a$ ' $a$, 'x'",
    "SELECT E'it\\'s'",
    "SELECT E'\\\\'",
    "SELECT U&'d\\0061ta'",
    "SELECT B'101', X'1F'",
    "SELECT currval('s') IS NULL FROM (SELECT 1) d WHERE false",
    "SELECT lastval() IS NULL WHERE false",
    "SELECT pg_sleep(0)",
    "SELECT pg_sleep_for('0 seconds')",
    "SELECT length(pg_read_file('PG_VERSION'))",
    "SELECT count(*) FROM pg_ls_dir('.')",
    "SELECT txid_current_snapshot() IS NOT NULL",
    "SELECT pg_current_xact_id_if_assigned()",
    "SELECT current_setting('work_mem')",
    "SELECT note AS nextval_note FROM t",
    "SELECT 'nextval(' FROM t",
    'SELECT "nextval" FROM (SELECT 1 AS "nextval") d',
    "SELECT replace(note, 'a', 'b') FROM t",
    "SELECT overlay('abc' placing 'x' from 1)",
    "SHOW work_mem",
    "SHOW ALL",
    "SHOW transaction_read_only",
    "EXPLAIN SELECT * FROM t",
    "EXPLAIN (ANALYZE, BUFFERS) SELECT * FROM t",
    "VALUES (1), (2)",
    "TABLE t",
    "TABLE v",
    "WITH x AS (SELECT 1 AS a) SELECT * FROM x",
    "WITH RECURSIVE r (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r",
    "WITH x AS MATERIALIZED (SELECT a FROM t) TABLE x",
    "(SELECT 1)",
    "((SELECT 1) UNION (SELECT 2))",
    "SELECT * FROM t WHERE a IN (SELECT b FROM u)",
    "SELECT 1 -- the hot path",
    "SELECT /* a /* nested */ comment */ 1",
    "SELECT 1 AS a$b$",
    "SELECT jsonb_path_query('[1, 2]', '$[0]')",
    "SELECT 2 */* a */ 3",
    "SELECT count(*) FROM pg_stat_activity",
)

#: init_commands the guard lets through: the session's own settings only
SESSION_SETS = (
    "SET statement_timeout = 5000",
    "SET SESSION work_mem = '64MB'",
    "SET LOCAL lock_timeout TO 1000",
    "SET search_path TO public",
    "SET TIME ZONE 'UTC'",
    "SET application_name = 'DELETE'",
    "SET NAMES 'UTF8'",
    "SET client_encoding TO 'LATIN1'",
    "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL REPEATABLE READ",
    "SET default_transaction_isolation = 'read committed'",
    "SET TRANSACTION READ ONLY",
    "SET enable_seqscan = off",
    "SELECT 1",
)

#: functions with effects, called with arguments the server takes (``s`` is a sequence)
CALLS = (
    ("nextval", "('s')"),
    ("setval", "('s', 100)"),
    ("pg_advisory_lock", "(4242)"),
    ("pg_advisory_lock_shared", "(4242)"),
    ("pg_advisory_xact_lock", "(4242)"),
    ("pg_try_advisory_lock", "(4242)"),
    ("pg_try_advisory_xact_lock_shared", "(1, 2)"),
    ("pg_advisory_unlock_all", "()"),
    ("set_config", "('work_mem', '1MB', false)"),
    ("pg_cancel_backend", "(0)"),
    ("pg_terminate_backend", "(0)"),
    ("txid_current", "()"),
    ("pg_current_xact_id", "()"),
    ("pg_notify", "('guard_channel', 'x')"),
    ("lo_create", "(0)"),
    ("pg_logical_emit_message", "(false, 'guard', 'x')"),
)
#: where an expression goes in a read
EXPRESSION_PLACES = (
    "SELECT {}",
    "SELECT 1, {} FROM t",
    "SELECT * FROM t WHERE {} IS NOT NULL",
    "SELECT (SELECT {})",
    "VALUES ({})",
    "WITH c AS (SELECT {} AS x) SELECT * FROM c",
    "SELECT * FROM t ORDER BY {}",
    "EXPLAIN ANALYZE SELECT {}",
    "SELECT * FROM (SELECT {}) d",
)
#: clauses that make a read lock rows or create a table, as words
LOCKING_CLAUSES = (
    ("SELECT * FROM t", ("FOR", "UPDATE")),
    ("SELECT * FROM t", ("FOR", "NO", "KEY", "UPDATE")),
    ("SELECT * FROM t", ("FOR", "SHARE")),
    ("SELECT * FROM t", ("FOR", "KEY", "SHARE")),
    ("SELECT * FROM t", ("FOR", "UPDATE", "SKIP", "LOCKED")),
    ("SELECT a", ("INTO", "guard_into", "FROM", "t")),
)
#: statements that change something, or run what does
WRITES = (
    "DELETE FROM t WHERE a = 1",
    "UPDATE t SET note = 'x' WHERE a = 1",
    "INSERT INTO u VALUES (2)",
    "MERGE INTO u USING t ON u.b = t.a WHEN MATCHED THEN DELETE",
    "CREATE TABLE guard_w (a int)",
    "DROP TABLE u",
    "ALTER TABLE u ADD COLUMN c int",
    "TRUNCATE u",
    "COPY u TO PROGRAM 'cat > /dev/null'",
    "LOCK TABLE t",
    "DO $$ BEGIN PERFORM 1; END $$",
    "VACUUM u",
    "ANALYZE u",
    "NOTIFY guard_channel",
    "LISTEN guard_channel",
    "SET work_mem = '1MB'",
    "RESET ALL",
    "DISCARD ALL",
    "PREPARE p AS SELECT 1",
    "BEGIN",
    "COMMIT",
    "WITH d AS (DELETE FROM t WHERE a = 1 RETURNING a) SELECT * FROM d",
    "EXPLAIN ANALYZE DELETE FROM t",
    "EXPLAIN ANALYZE EXECUTE p",
    "SELECT a INTO guard_into FROM t",
    "CALL p()",
    "GRANT SELECT ON t TO PUBLIC",
)

#: what PostgreSQL takes as a blank between two tokens
GAPS = (" ", "  ", "\n", "\t", "\r", "\f", "/**/", "/* x */", "/* /* */ */", "-- x\n", "-- x\r")
#: what PostgreSQL takes between a function's name and its "(" (nothing at all, too)
CALL_GAPS = ("", *GAPS)
_quiet = st.text(st.sampled_from("abcxyz0123 _.,=+"), max_size=12)


def innocent(text: str) -> bool:
    """Whether ``text`` holds no write word and no call of PostgreSQL's effect functions."""
    return sql_disguises.innocent(text, WRITE_WORDS, EFFECT_CALLS)


comments = st.one_of(
    _quiet.map(lambda text: f"/* {text} */"),
    _quiet.map(lambda text: f"/* {text} /* {text} */ */"),
    _quiet.map(lambda text: f"-- {text}\n"),
).filter(innocent)
blanks = st.lists(st.one_of(st.sampled_from(" \t\n\r\f"), comments), max_size=3).map("".join)


@st.composite
def any_case(draw: st.DrawFn, text: str) -> str:
    """``text`` with the case of each letter outside quotes drawn (PostgreSQL folds
    unquoted names; a literal, a quoted name and a dollar quote's tag keep their case)."""
    flips = draw(st.integers(0, 2**64 - 1))
    out, quote = [], None
    for i, char in enumerate(text):
        if quote is None and char in "'\"$":
            quote = char
        elif quote == char:
            quote = None
        elif quote is None and flips >> (i % 64) & 1:
            char = char.swapcase()
        out.append(char)
    return "".join(out)


def only_blanks(statement: str) -> bool:
    """Whether the guard refuses ``statement`` once it has a comment (a second statement, a
    write word or an effect's name anywhere), so that its disguises are blanks only."""
    return ";" in statement.rstrip().rstrip(";") or not innocent(statement)


@st.composite
def disguised(draw: st.DrawFn, statement: str) -> str:
    """``statement`` as PostgreSQL reads it alike: any case outside quotes, blanks and
    comments before and after, a ``;`` at the very end."""
    statement = statement.rstrip().rstrip(";")
    plain = only_blanks(statement) or "$" in statement or "\\" in statement
    statement = draw(any_case(statement))
    around = st.text(st.sampled_from(" \t\n\r"), max_size=3) if plain else blanks
    before, after = draw(around), draw(around)
    if "--" in statement:
        after = "\n" + after
    return f"{before}{statement}{after}{draw(st.sampled_from(('', ';', ' ;')))}"


@st.composite
def effect_call(draw: st.DrawFn) -> str:
    """A call of a function with effects: its name in any case (bare) or as it is
    (double-quoted: PostgreSQL keeps a quoted name's case), perhaps qualified by
    pg_catalog, and anything PostgreSQL skips before "("."""
    name, arguments = draw(st.sampled_from(CALLS))
    quoted = draw(st.sampled_from(("bare", '"{}"', 'U&"{}"')))
    if quoted == "bare":
        name = draw(any_case(name))
    elif quoted.startswith("U&"):  # the name's first letter as an escape
        name = quoted.format(f"\\{ord(name[0]):04X}{name[1:]}")
    else:
        name = quoted.format(name)
    schema = draw(st.sampled_from(("", "pg_catalog.", '"pg_catalog".', "pg_catalog . ")))
    return f"{schema}{name}{draw(st.sampled_from(CALL_GAPS))}{arguments}"


@st.composite
def write_after_a_read(draw: st.DrawFn) -> str:
    """A write as a statement of its own: alone or after a read."""
    write = draw(st.sampled_from(WRITES))
    read = draw(st.sampled_from(("SELECT 1", "SHOW work_mem", "(SELECT 1)", "TABLE u")))
    return draw(st.sampled_from(("{w}", "{r}; {w}", "{r};{w}"))).format(r=read, w=write)


def changes() -> st.SearchStrategy[str]:
    """Everything the guard must refuse, before its disguise: a read calling a function
    with effects, a read with a clause that locks or creates a table, a write."""
    return st.one_of(
        sql_disguises.read_with_a_call(EXPRESSION_PLACES, effect_call()),
        sql_disguises.locking_read(clauses=LOCKING_CLAUSES, blanks=GAPS),
        write_after_a_read(),
    )
