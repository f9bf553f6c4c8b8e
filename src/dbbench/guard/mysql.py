"""Reads only, unless told: SQL of the user's that may change anything needs --allow-writes.

dbbench is pointed at production-like databases by people in a hurry; running
an UPDATE ten thousand times because of a pasted query must take a deliberate
flag.  Two settings carry SQL of the user's to the server, and both are checked
here before anything connects: the query (``check_query``), which every
operation runs, and ``[database] init_command`` (``check_init_command``), which
every new connection runs (with ``raw``, once per operation).  ``check_settings``
checks both, every variant's too.  dbbench's own statements (``SELECT
VERSION()``, ``SHOW GLOBAL STATUS``, the scratch table's, ``SET SESSION
wait_timeout``) are not the user's and are not checked.

The check is an allow-list, on the text as the server reads it:

- comments are removed; MySQL/MariaDB executable comments (``/*! ... */``,
  ``/*!50100 ... */``, ``/*M! ... */``, ``/*M!100100 ... */``) are read both
  ways, since whether the server runs one depends on its version: as code
  (``/*!DELETE FROM t */``) and as a comment (``/*M!999999 SELECT */ CALL
  p()``), and must be a read both ways; an optimizer hint (``/*+ ... */``) is a
  comment;
- string literals are blanked, so a write word inside one is harmless; they are
  read both with and without backslash escapes (the server's
  ``NO_BACKSLASH_ESCAPES``), and must be harmless both ways.  A quoted name
  (```name```, and ``"name"``, which is one under ``ANSI_QUOTES``) is blanked
  for the write words (```update``` is a column) but keeps its name for the
  function calls: ```GET_LOCK`('x', 0)`` calls ``GET_LOCK``;
- each statement (a driver that allows several, such as mysqlclient, runs them
  all) must start with a read keyword (``READ_KEYWORDS``, after any opening
  parentheses), hold none of ``WRITE_WORDS`` (``SELECT ... FOR UPDATE``,
  ``INTO OUTFILE``, ``WITH ... DELETE``) and call none of ``EFFECT_FUNCTIONS``
  (locks, sequences, replication waits); an init_command's statement may also be
  a ``SET`` of the session's own variables (``SESSION``, ``@@session.``,
  ``@user``, ``NAMES``, ``TRANSACTION``; not ``GLOBAL``, ``PERSIST``,
  ``PASSWORD``, ``DEFAULT ROLE``), whose values follow the same rules and hold no
  subquery (MariaDB locks the rows a SET's subquery reads).

Where the server could read the text otherwise (``_AMBIGUOUS``: which
characters end a ``--`` comment, version-gated executable comments, ``*/``
run into ``/*``, backslashes under ``NO_BACKSLASH_ESCAPES`` or
``ANSI_QUOTES``, names in brackets under ``MSSQL``), nothing is guessed: a text
holding a comment, a backslash or a bracket is refused if a write word or a call
of an effect function appears anywhere in it, comments and literals included, or
if it holds a second statement.  A review found queries that the scanner alone read as ``SELECT``
and MariaDB ran as ``DELETE``; the tests keep them.

Anything else needs --allow-writes: a write statement, ``DO`` (``DO
RELEASE_ALL_LOCKS()``, ``DO GET_LOCK(...)`` have effects), ``CALL``,
``HANDLER``, and a statement whose first word is unknown (a typo is refused
before connecting, naming the read keywords).  The check reads the text only:
a read that calls a stored or loadable function that writes is still a read
(the server's ``tx_read_only`` or a read-only account stops that; see
docs/reference/safety.md).  Functions that only wait or read (``SLEEP``,
``BENCHMARK``, ``LOAD_FILE``, ``IS_FREE_LOCK``) change nothing and are reads.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass

from dbbench.errors import mention
from dbbench.guard.common import (
    ALLOW_WRITES,
    FIRST_WORD,
    INIT_RUNS,
    PLAIN_READ,
    QUERY_RUNS,
    Grammar,
    Statement,
    Token,
    close_quote,
    effect,
    first_word,
    judge,
    may_change,
    not_a_read,
    read_refusal,
    refuse,
    scan,
)

#: statements that read: the only ones allowed without --allow-writes
READ_KEYWORDS = ("SELECT", "SHOW", "EXPLAIN", "DESCRIBE", "DESC", "VALUES", "TABLE", "WITH", "HELP")
#: statements that change data, schema, grants, server state or sessions (for the message:
#: any statement that does not start with a read keyword needs --allow-writes)
WRITE_KEYWORDS = frozenset(
    {
        "INSERT", "UPDATE", "DELETE", "REPLACE", "MERGE", "CREATE", "DROP", "ALTER",
        "TRUNCATE", "RENAME", "GRANT", "REVOKE", "SET", "CALL", "LOAD", "LOCK", "UNLOCK",
        "HANDLER", "INSTALL", "UNINSTALL", "KILL", "FLUSH", "RESET", "PURGE", "OPTIMIZE",
        "REPAIR", "ANALYZE", "START", "BEGIN", "COMMIT", "ROLLBACK", "XA", "SAVEPOINT",
        "PREPARE", "EXECUTE", "SHUTDOWN", "CHANGE", "STOP", "IMPORT", "BINLOG", "CACHE",
        "DO", "USE", "RELEASE", "DEALLOCATE", "SIGNAL", "RESIGNAL", "BACKUP", "CHECK",
        "CHECKSUM", "IF", "CASE", "LOOP", "REPEAT", "WHILE", "DECLARE", "CLONE",
    }
)  # fmt: skip
#: words that make even a read statement change something or lock rows (INSERT and REPLACE
#: followed by "(" are the string functions; the statements never are)
WRITE_WORDS = re.compile(
    r"\b(?:(?:INSERT|REPLACE)\b(?!\s*\()|FOR\s+UPDATE|UPDATE|DELETE|MERGE|"
    r"INTO\s+(?:OUTFILE|DUMPFILE)|OUTFILE|DUMPFILE|FOR\s+SHARE|LOCK\s+IN\s+SHARE\s+MODE|"
    r"CREATE|DROP|ALTER|TRUNCATE|GRANT|REVOKE|SET\s+GLOBAL|NEXT\s+VALUE\s+FOR)\b",
    re.IGNORECASE,
)
#: built-in functions with effects beyond the statement: they change a sequence, take or
#: release locks (held by the session, or the server's locking service), or wait on
#: replication (holding the connection up to their timeout)
EFFECT_FUNCTIONS = (
    "NEXTVAL", "SETVAL", "GET_LOCK", "RELEASE_LOCK", "RELEASE_ALL_LOCKS",
    "SERVICE_GET_READ_LOCKS", "SERVICE_GET_WRITE_LOCKS", "SERVICE_RELEASE_LOCKS",
    "MASTER_POS_WAIT", "SOURCE_POS_WAIT", "MASTER_GTID_WAIT", "WAIT_FOR_EXECUTED_GTID_SET",
    "WAIT_UNTIL_SQL_THREAD_AFTER_GTIDS",
)  # fmt: skip
#: a call of one of them (blanks, or the closing quote of ```GET_LOCK`(``, before its
#: "("; comments are blanks by then), or a sequence's ``s.NEXTVAL`` (MariaDB's
#: sql_mode=ORACLE)
EFFECT_CALLS = re.compile(
    rf"\b(?:{'|'.join(EFFECT_FUNCTIONS)})[\s`\"\]]*\(|\.[\s`\"\[]*NEXTVAL\b", re.IGNORECASE
)
#: where the server's reading of a text may differ from this module's: where a comment
#: starts and ends (which characters end "--", version-gated executable comments, "*/"
#: run into "/*"), what a backslash does in a literal and whether "[" quotes a name
#: (sql_mode: NO_BACKSLASH_ESCAPES, ANSI_QUOTES, MSSQL) are not all knowable here.  A
#: text holding any of these is also judged on its whole text, nothing removed.
_AMBIGUOUS = re.compile(r"/\*|\*/|--|#|\\|\[")
#: every comment, as the whole-text check takes them out (an unterminated one runs to the
#: end: one pass over the text, whatever it holds)
_COMMENTS = re.compile(r"/\*(?:.*?\*/|.*)|(?:--|#)[^\n]*", re.DOTALL)
_SHOW_CREATE = re.compile(r"^[\s(]*SHOW\s+CREATE\b", re.IGNORECASE)
#: a statement separator with more text after it (not only blanks, or the end of an
#: executable comment: ``/*!SELECT 1; */``)
_INNER_SEPARATOR = re.compile(r";(?![\s;]*(?:\*/[\s;]*)*\Z)")

#: what the scanner stops at: a string or quoted name, a comment, the end of an executable
#: comment (``*/``), or a statement separator
_SPECIAL = re.compile(r"['\"`]|/\*|\*/|--(?=[\s\x00-\x1f]|$)|#|;")
#: MariaDB/MySQL run what is inside /*! ... */ and /*M! ... */: not comments
_EXECUTABLE_COMMENT = re.compile(r"/\*[Mm]?!\d*")
#: a quoted name as a function call may use it: its letters, digits and "_", nothing else
_NAME = re.compile(r"\s*(\w+)\s*")


def _statements(
    query: str, backslash_escapes: bool = True, executable_runs: bool = True
) -> list[Statement]:
    """The statements of ``query`` as the server reads them: comments removed, executable
    comments unwrapped (or, with ``executable_runs`` False, removed as a server whose
    version the comment's number excludes does), literals blanked; the empty ones left
    out."""

    def token(match: re.Match[str]) -> Token:
        token, i = match.group(), match.end()
        if token in ("'", '"', "`"):
            i = close_quote(query, match.start(), token, backslash_escapes and token != "`")
            name = _NAME.fullmatch(query, match.end(), max(i - 1, match.end()))
            return i, "''", f" {name.group(1)} " if name and token != "'" else None
        if token == "/*":
            executable = executable_runs and _EXECUTABLE_COMMENT.match(query, match.start())
            if executable:  # its contents are code; its "*/" is dropped when reached
                return executable.end(), " ", None
            # a comment, or an optimizer hint
            end = query.find("*/", i)
            return (len(query) if end < 0 else end + 2), " ", None
        if token == "*/":  # the end of an executable comment (or a stray one)
            return i, " ", None
        if token in ("--", "#"):
            end = query.find("\n", i)
            return (len(query) if end < 0 else end), " ", None
        return None  # ";"

    return scan(query, _SPECIAL, token)


def _readings(text: str) -> Iterator[list[Statement]]:
    """Every reading of ``text``: literals with and without backslash escapes, and
    executable comments run (/*!DELETE */) and skipped (/*M!999999 SELECT */ CALL p())."""
    for backslash_escapes, executable_runs in itertools.product((True, False), repeat=2):
        yield _statements(text, backslash_escapes, executable_runs)


def has_statement(query: str) -> bool:
    """Whether ``query`` holds anything but comments, semicolons and blanks (the contents of
    an executable comment count)."""
    return bool(_statements(query))


_READ_OR_SET = ": it is not a read or a SET of the session's own variables"
_GRAMMAR = Grammar(
    read_keywords=READ_KEYWORDS,
    write_keywords=WRITE_KEYWORDS,
    write_words=WRITE_WORDS,
    effect_calls=EFFECT_CALLS,
    ambiguous=_AMBIGUOUS,
    ambiguous_what="comments, backslashes or brackets",
    uncommented=lambda text: _COMMENTS.sub(" ", text),
    inner_separator=_INNER_SEPARATOR,
    readings=_readings,
    # SHOW CREATE TABLE t only shows
    words_in=lambda word, blanked: _SHOW_CREATE.sub("SHOW", blanked) if word == "SHOW" else blanked,
)


def _read_refusal(
    statement: Statement, what: str = PLAIN_READ, runs: str = QUERY_RUNS
) -> str | None:
    """Why one statement of a query is not a read, or None."""
    return read_refusal(_GRAMMAR, statement, what, runs)


def is_read_only(query: str) -> bool:
    """Whether ``query`` only reads, judged on its text: every statement starts with a read
    keyword, holds no write word and calls no effect function, outside comments and
    literals."""
    return judge(_GRAMMAR, query, _read_refusal, QUERY_RUNS) is None


def check_query(query: str, allow_writes: bool, where: str = mention("[benchmark] query")) -> None:
    """Refuse a query that may write, or is not a known read, unless ``allow_writes``."""
    if not allow_writes:
        refuse(where, query, judge(_GRAMMAR, query, _read_refusal, QUERY_RUNS))


#: SET's words after which comes no assignment to the session's own variables: a
#: password or default role (stored in the grant tables), a statement's variables
#: (``SET STATEMENT ... FOR`` runs another statement), a resource group (other threads)
_SET_FORMS = frozenset({"PASSWORD", "DEFAULT", "STATEMENT", "RESOURCE"})
#: scopes beyond the session (``SET GLOBAL``, ``@@global.``, MySQL's ``PERSIST``); in a
#: list, a scope holds for the assignments after it, so one anywhere counts
_WIDE_SCOPE = re.compile(r"\b(?:GLOBAL|PERSIST|PERSIST_ONLY)\b", re.IGNORECASE)
#: session variables whose effect reaches beyond the session: the binary log's next GTID
#: (MySQL writes an empty transaction for it), a replica's applier modes, and the debug
#: hooks of a debug build (which can stop or crash the server)
_WIDE_VARIABLES = re.compile(
    r"\b(?:gtid_next|pseudo_slave_mode|pseudo_replica_mode|debug|debug_dbug|debug_sync)\b",
    re.IGNORECASE,
)
_SET = re.compile(r"[\s(]*SET\b(?:\s+(?:SESSION|LOCAL)\b)?\s*", re.IGNORECASE)
#: a subquery in a SET's value: MariaDB locks the rows it reads (shared) until the
#: transaction ends, as it does for INSERT ... SELECT
_SUBQUERY = re.compile(r"\(\s*(?:SELECT|TABLE|VALUES|WITH)\b", re.IGNORECASE)


def _init_refusal(statement: Statement) -> str | None:
    """Why one statement of an init_command may not run without --allow-writes, or None: a
    read, or a SET of the session's variables whose values read."""
    word, written = first_word(statement)
    if word != "SET":
        if word in READ_KEYWORDS or word in WRITE_KEYWORDS:
            return _read_refusal(statement, _READ_OR_SET, INIT_RUNS)
        return not_a_read(_GRAMMAR, word, written, ", or SET (of the session's variables)")
    wide = _WIDE_SCOPE.search(statement.named) or _WIDE_VARIABLES.search(statement.named)
    if wide is not None:
        return (
            f"sets a variable beyond the session ({wide.group().upper()}); dbbench runs it "
            f"{INIT_RUNS}, so give {ALLOW_WRITES} if that is what you want"
        )
    head = _SET.match(statement.blanked)
    rest = statement.blanked[head.end() :] if head else statement.blanked
    form = FIRST_WORD.match(rest)
    if form is not None and form.group(1).upper() in _SET_FORMS:
        return may_change(f"SET {form.group(1).upper()}", _READ_OR_SET, INIT_RUNS)
    found = effect(_GRAMMAR, rest, statement.named)
    if found is None and _SUBQUERY.search(rest):
        return may_change(
            "a subquery in a SET",
            ": MariaDB locks the rows it reads, as for INSERT ... SELECT",
            INIT_RUNS,
        )
    return may_change(found, _READ_OR_SET, INIT_RUNS) if found is not None else None


#: what must follow a session variable's value, in the text as it is, for the value to be
#: all of it: blanks, plain comments and the end of an executable comment up to the next
#: assignment, the statement's end or the text's (``'READ-COMMITTED' /*!+ 3 */`` is 3)
_VALUE_ENDS = (
    r"(?:\s|\*/|/\*(?![Mm]?!)(?:(?!\*/).)*\*/|--[ \t][^\n]*(?:\n|$)|#[^\n]*(?:\n|$))*(?:,|;|$)"
)


@dataclass(frozen=True)
class _SessionRule:
    """A session variable an init_command may set only to some values, judged on the text
    as it is: words it must not hold anywhere (``forbidden``), and the values (``value``,
    ``what`` in words) every mention of the variable must be assigned: a number or an
    expression may be anything."""

    variable: re.Pattern[str]
    value: str
    what: str
    forbidden: re.Pattern[str]
    #: what a forbidden word does, and what another value may do, for the message
    why: str
    why_value: str
    does: str = "may change data"

    def refusal(self, command: str) -> str | None:
        found = self.forbidden.search(command)
        if found is not None:
            return may_change(found.group().upper(), self.why, INIT_RUNS, self.does)
        assigned = re.compile(
            rf"[`\"]?\s*:?=\s*(?:{self.value}){_VALUE_ENDS}", re.IGNORECASE | re.DOTALL
        )
        for variable in self.variable.finditer(command):
            if not assigned.match(command, variable.end()):
                name = variable.group().upper()
                found_text = f"{name} not set to {self.what}"
                return may_change(found_text, self.why_value, INIT_RUNS, self.does)
        return None


_SESSION_RULES = (
    # SERIALIZABLE makes InnoDB lock (shared) every row a read reads, in a session with
    # autocommit off (as dbbench's runners have), until the transaction ends; 3 is it too
    _SessionRule(
        re.compile(r"\b(?:tx|transaction)_isolation\b", re.IGNORECASE),
        r"DEFAULT\b|(['\"])(?:READ-UNCOMMITTED|READ-COMMITTED|REPEATABLE-READ)\1",
        "a level by name",
        re.compile(r"SERIALIZABLE", re.IGNORECASE),
        ": every read then locks the rows it reads",
        ": it may be SERIALIZABLE, at which every read locks the rows it reads",
    ),
    # a client character set whose characters may end in an ASCII byte ("\\", "`") would
    # make the server read dbbench's next statements otherwise than dbbench does (a
    # character set's number may be one of them: 28 is gbk)
    _SessionRule(
        re.compile(r"\bcharacter_set_client\b", re.IGNORECASE),
        r"DEFAULT\b|(['\"]?)[A-Za-z]\w*\1",
        "a character set by name",
        re.compile(r"\b(?:big5|cp932|gbk|gb18030|sjis)\w*", re.IGNORECASE),
        ": its characters may end in a backslash or a backquote",
        ": it may be one whose characters end in a backslash or a backquote (gbk, sjis, big5)",
        "may make the server read the statements after it otherwise than dbbench does",
    ),
)


def check_init_command(
    command: str | None, allow_writes: bool, where: str = mention("[database] init_command")
) -> None:
    """Refuse an init_command that may change anything beyond the session (a write, a
    global variable, a lock), unless ``allow_writes``: every connection dbbench opens runs
    it, with ``raw`` once per operation."""
    if command is None or allow_writes:
        return
    refusals = (rule.refusal(command) for rule in _SESSION_RULES)
    reason = next((r for r in refusals if r), None)
    refuse(where, command, reason or judge(_GRAMMAR, command, _init_refusal, INIT_RUNS))
