"""SQL for the read-only guard's tests: reads, things that change something, and the
disguises the server reads through (case, blanks, comments, executable comments, quoted
names), as plain tables and as hypothesis strategies.

The unit tests (``tests/unit/test_guard_properties.py``) check the guard's answer on
them; the differential test (``tests/integration/test_guard_server.py``) runs what the
guard lets through on a throwaway server and watches its write and lock counters.  Every
read here runs on MariaDB against ``TABLES`` (a syntax error is fine: it changes nothing).
"""

from __future__ import annotations

import re

from hypothesis import strategies as st

from dbbench.guard import EFFECT_CALLS, WRITE_WORDS

#: what the reads read: created by the differential test before it measures
TABLES = (
    "CREATE TABLE t (a INT PRIMARY KEY, note VARCHAR(40), `update` INT, `delete` INT)"
    " STATS_PERSISTENT=0",
    "INSERT INTO t VALUES (1, 'FOR UPDATE', 1, 1), (2, 'GET_LOCK(''x'', 0)', 2, 2)",
    "CREATE TABLE u (b INT) STATS_PERSISTENT=0",
    "INSERT INTO u VALUES (1)",
    "CREATE SEQUENCE s NOCACHE",
    "CREATE VIEW v AS SELECT a FROM t",
)

#: reads the guard lets through; each one changes nothing on the server, however it is read
READS = (
    "SELECT 1",
    "select * from t where note = 'DELETE'",
    "SELECT a, note FROM t WHERE note = 'FOR UPDATE'",
    "SELECT `update`, `delete` FROM t",
    'SELECT "update" FROM t',
    "SELECT 'UPDATE t SET a = 1', \"DROP TABLE t\" FROM t",
    "SELECT 'it''s', 'a\\'b' FROM t",
    "SELECT '/*', '*/' FROM t",
    "SELECT 'a;b' FROM t",
    "SELECT 1; SELECT 2",
    "SELECT 1;",
    "SELECT REPLACE(note, 'a', 'b') FROM t",
    "SELECT INSERT('abc', 1, 1, 'x')",
    "SELECT UPDATEXML('<a/>', '/a', '<b/>')",
    "SELECT IS_FREE_LOCK('x'), IS_USED_LOCK('x')",
    "SELECT SLEEP(0)",
    "SELECT BENCHMARK(10, MD5('x'))",
    "SELECT LASTVAL(s), PREVIOUS VALUE FOR s",
    "SELECT * FROM s",
    "SELECT 1 INTO @v",
    "SELECT @w := 1",
    "SELECT 'GET_LOCK(' FROM t",
    "SELECT \"GET_LOCK('x', 0)\" FROM t",
    "SELECT `GET_LOCK` FROM (SELECT 1 AS `GET_LOCK`) d",
    "SELECT note AS get_lock_note FROM t",
    "SHOW STATUS LIKE 'Com_select'",
    "SHOW CREATE TABLE t",
    "show create view v",
    "SHOW TABLES",
    "SHOW GRANTS",
    "EXPLAIN SELECT * FROM t",
    "DESCRIBE t",
    "DESC t",
    "VALUES (1), (2)",
    "WITH x AS (SELECT 1 AS a) SELECT * FROM x",
    "WITH RECURSIVE r (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r",
    "(SELECT 1)",
    "((SELECT 1) UNION (SELECT 2))",
    "SELECT * FROM t WHERE a IN (SELECT b FROM u)",
    "HELP 'select'",
    "/*!SELECT 1 */",
    "/*!50100 SELECT 1 */",
    "/*M!100100 SELECT 1 */",
    "SELECT /*!STRAIGHT_JOIN */ 1",
    "SELECT /*+ MAX_EXECUTION_TIME(1000) */ 1",
    "SELECT 1 -- the hot path",
    "SELECT 1 # the hot path",
    "SELECT LOAD_FILE('/etc/hostname')",
    "SELECT JSON_EXTRACT('[1, 2]', '$[0]')",
)

#: init_commands the guard lets through: the session's own state only
SESSION_SETS = (
    "SET SESSION wait_timeout = 60",
    "SET time_zone = '+00:00', SESSION transaction_isolation = 'READ-COMMITTED'",
    "SET @@session.sql_mode = 'STRICT_TRANS_TABLES'",
    "SET @@sort_buffer_size = DEFAULT, @@local.max_statement_time = 5",
    "SET NAMES utf8mb4",
    "SET CHARACTER SET utf8mb4",
    "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
    "SET TRANSACTION READ ONLY",
    "SET autocommit = 0, SESSION tx_read_only = 1",
    "SET @x = 1, @y = 'DELETE'",
    "SET @@session.sql_safe_updates = 1",
    "SELECT 1",
)

#: functions with effects, called with arguments the server takes (``s`` is a sequence)
CALLS = (
    ("GET_LOCK", "('guard_x', 0)"),
    ("RELEASE_LOCK", "('guard_x')"),
    ("RELEASE_ALL_LOCKS", "()"),
    ("NEXTVAL", "(s)"),
    ("SETVAL", "(s, 100)"),
    ("MASTER_POS_WAIT", "('x', 4, 0)"),
    ("MASTER_GTID_WAIT", "('0-1-1', 0)"),
)
#: where an expression goes in a read
EXPRESSION_PLACES = (
    "SELECT {}",
    "SELECT 1, {} FROM t",
    "SELECT * FROM t WHERE {} IS NOT NULL",
    "SELECT (SELECT {})",
    "VALUES ({})",
    "WITH c AS (SELECT {} AS x) SELECT * FROM c",
    "SHOW TABLES WHERE {} IS NOT NULL",
    "SELECT * FROM t ORDER BY {}",
)
#: clauses that make a read lock rows or write a file, as words
LOCKING_CLAUSES = (
    ("SELECT * FROM t", ("FOR", "UPDATE")),
    ("SELECT * FROM t", ("FOR", "UPDATE", "SKIP", "LOCKED")),
    ("SELECT * FROM t", ("FOR", "SHARE")),
    ("SELECT * FROM t", ("LOCK", "IN", "SHARE", "MODE")),
    ("SELECT a FROM t", ("INTO", "OUTFILE", "'{outfile}'")),
    ("SELECT a FROM t LIMIT 1", ("INTO", "DUMPFILE", "'{outfile}'")),
    ("SELECT", ("NEXT", "VALUE", "FOR", "s")),
)
#: statements that change something (on the throwaway server: each is caught by a counter)
WRITES = (
    "DELETE FROM t WHERE a = 1",
    "UPDATE t SET note = 'x' WHERE a = 1",
    "INSERT INTO u VALUES (2)",
    "REPLACE INTO u VALUES (3)",
    "CREATE TABLE guard_w (a INT)",
    "DROP TABLE u",
    "ALTER TABLE u ADD COLUMN c INT",
    "TRUNCATE u",
    "DO GET_LOCK('guard_x', 0)",
    "LOCK TABLES t READ",
    "SET GLOBAL max_connections = 77",
    "HANDLER t OPEN",
    "DELETE t FROM t JOIN u ON t.a = u.b",
    "INSERT INTO u SELECT a FROM t",
)

#: what the server takes as a blank between two tokens
GAPS = (" ", "  ", "\n", "\t", "\r\n", "/**/", "/* x */", "/*+ x */", "-- x\n", "# x\n", " /*! */ ")
#: what the server takes between a function's name and its "(" (nothing at all, too)
CALL_GAPS = ("", *GAPS)
_quiet = st.text(st.sampled_from("abcxyz0123 _.,=+"), max_size=12)


def innocent(
    text: str, words: re.Pattern[str] = WRITE_WORDS, calls: re.Pattern[str] = EFFECT_CALLS
) -> bool:
    """Whether ``text`` holds no write word and no call of an effect function anywhere (as a
    guard's ``words`` and ``calls`` find them: MySQL's unless given)."""
    return words.search(text) is None and calls.search(text) is None


comments = st.one_of(
    _quiet.map(lambda text: f"/* {text} */"),
    _quiet.map(lambda text: f"/*+ {text} */"),
    _quiet.map(lambda text: f"-- {text}\n"),
    _quiet.map(lambda text: f"#{text}\n"),
).filter(innocent)
blanks = st.lists(st.one_of(st.sampled_from(" \t\n\r"), comments), max_size=3).map("".join)


@st.composite
def any_case(draw: st.DrawFn, text: str) -> str:
    """``text`` with each letter's case drawn: the server's words are case-blind."""
    flips = draw(st.integers(0, 2**64 - 1))  # one bit a character, over and over
    return "".join(c.swapcase() if flips >> (i % 64) & 1 else c for i, c in enumerate(text))


def _executable(statement: str) -> st.SearchStrategy[str]:
    """``statement`` inside an executable comment MariaDB 10.11 runs (when it can be: a
    ``--`` or ``#`` comment would hide the comment's end, a ``*/`` would end it early)."""
    if "*/" in statement or "--" in statement or "#" in statement:
        return st.just(statement)
    wraps = ("/*!{} */", "/*! {} */", "/*!50100 {} */", "/*M!{} */", "/*M!100100 {} */")
    return st.sampled_from(wraps).map(lambda wrap: wrap.format(statement))


def only_blanks(statement: str) -> bool:
    """Whether the guard refuses ``statement`` once it has a comment, so that its disguises
    are blanks only: where the server may read comments otherwise than dbbench, a second
    statement (a ``;`` before the end) is not risked, nor a write word or an effect's name
    anywhere, a literal's or a quoted name's included."""
    return ";" in statement.rstrip().rstrip(";") or not innocent(statement)


@st.composite
def disguised(draw: st.DrawFn, statement: str) -> str:
    """``statement`` as the server reads it alike: any case, blanks and comments before and
    after (after a newline, when the statement may end in a ``--`` comment), perhaps inside
    an executable comment, a ``;`` at the very end (a comment after one is refused: see
    ``only_blanks``)."""
    statement = statement.rstrip().rstrip(";")  # a ";" goes at the very end, if at all
    plain = only_blanks(statement)
    if not plain and draw(st.booleans()):
        statement = draw(_executable(statement))
    statement = draw(any_case(statement))
    around = st.text(st.sampled_from(" \t\n\r"), max_size=3) if plain else blanks
    before, after = draw(around), draw(around)
    if "--" in statement or "#" in statement:
        after = "\n" + after  # a comment running to the end would swallow what follows
    return f"{before}{statement}{after}{draw(st.sampled_from(('', ';', ' ;')))}"


@st.composite
def effect_call(draw: st.DrawFn) -> str:
    """A call of a function with effects, its name in any case, bare, backquoted or
    double-quoted (a name under ANSI_QUOTES), and anything the server skips before "("."""
    name, arguments = draw(st.sampled_from(CALLS))
    name = draw(any_case(name))
    quoted = draw(st.sampled_from(("{}", "`{}`", "` {} `", '"{}"'))).format(name)
    return f"{quoted}{draw(st.sampled_from(CALL_GAPS))}{arguments}"


@st.composite
def read_with_a_call(
    draw: st.DrawFn,
    places: tuple[str, ...] = EXPRESSION_PLACES,
    calls: st.SearchStrategy[str] | None = None,
) -> str:
    """A read that calls a function with effects (``calls``: ``effect_call()``), somewhere
    an expression goes (``places``; tests/pg_disguises passes PostgreSQL's)."""
    call = draw(calls if calls is not None else effect_call())
    return draw(st.sampled_from(places)).format(call)


@st.composite
def locking_read(
    draw: st.DrawFn,
    outfile: str = "/nonexistent/guard-outfile",
    clauses: tuple[tuple[str, tuple[str, ...]], ...] = LOCKING_CLAUSES,
    blanks: tuple[str, ...] = GAPS,
) -> str:
    """A read with a clause that locks rows, writes a file (``outfile``) or moves a
    sequence, its words apart by any of the server's ``blanks`` (``clauses`` and
    ``blanks``: MySQL's unless given)."""
    head, words = draw(st.sampled_from(clauses))
    gaps = draw(st.lists(st.sampled_from(blanks), min_size=len(words), max_size=len(words)))
    clause = "".join(gap + word for gap, word in zip(gaps, words, strict=True))
    return head + clause.replace("{outfile}", outfile)


@st.composite
def write_after_a_read(draw: st.DrawFn) -> str:
    """A write as a statement of its own: alone, after a read, or in an executable comment
    after one."""
    write = draw(st.sampled_from(WRITES))
    read = draw(st.sampled_from(("SELECT 1", "SHOW TABLES", "(SELECT 1)")))
    form = draw(st.sampled_from(("{w}", "{r}; {w}", "{r}; /*!{w} */", "{r} /*!; {w} */")))
    return form.format(r=read, w=write)


def changes(outfile: str = "/nonexistent/guard-outfile") -> st.SearchStrategy[str]:
    """Everything the guard must refuse, before its disguise (a file written goes to
    ``outfile``)."""
    return st.one_of(read_with_a_call(), locking_read(outfile), write_after_a_read())
