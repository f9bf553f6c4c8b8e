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

import difflib
import itertools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from dbbench.errors import ConfigError, mention

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
_FIRST_WORD = re.compile(r"[\s(]*([A-Za-z_]\w*)")
#: a quoted name as a function call may use it: its letters, digits and "_", nothing else
_NAME = re.compile(r"\s*(\w+)\s*")


def _close_quote(text: str, start: int, quote: str, backslash_escapes: bool) -> int:
    """The index just after the literal opening at ``start``; the end if unterminated."""
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == "\\" and backslash_escapes and quote != "`":
            i += 2
        elif char == quote:
            if text.startswith(quote, i + 1):  # a doubled quote: part of the literal
                i += 2
            else:
                return i + 1
        else:
            i += 1
    return len(text)


class _Statement:
    """One statement as the server reads it, twice: ``blanked`` with every literal and quoted
    name ``''`` (for the words: ```update``` is a column), ``named`` with a quoted name as
    its bare name (for the calls: ```GET_LOCK`(`` calls GET_LOCK)."""

    __slots__ = ("blanked", "named")

    def __init__(self, blanked: str, named: str) -> None:
        self.blanked, self.named = blanked, named


def _statements(
    query: str, backslash_escapes: bool = True, executable_runs: bool = True
) -> list[_Statement]:
    """The statements of ``query`` as the server reads them: comments removed, executable
    comments unwrapped (or, with ``executable_runs`` False, removed as a server whose
    version the comment's number excludes does), literals blanked; the empty ones left
    out."""
    statements: list[_Statement] = []
    blanked: list[str] = []
    named: list[str] = []

    def add(text: str, name: str | None = None) -> None:
        blanked.append(text)
        named.append(text if name is None else name)

    def end_statement() -> None:
        statement = _Statement("".join(blanked).strip(), "".join(named).strip())
        if statement.blanked:
            statements.append(statement)
        blanked.clear()
        named.clear()

    i = 0
    while True:
        match = _SPECIAL.search(query, i)
        if match is None:
            add(query[i:])
            break
        add(query[i : match.start()])
        token, i = match.group(), match.end()
        if token in ("'", '"', "`"):
            i = _close_quote(query, match.start(), token, backslash_escapes)
            name = _NAME.fullmatch(query, match.end(), max(i - 1, match.end()))
            add("''", f" {name.group(1)} " if name and token != "'" else None)
        elif token == "/*":
            executable = executable_runs and _EXECUTABLE_COMMENT.match(query, match.start())
            if executable:  # its contents are code; its "*/" is dropped when reached
                i = executable.end()
            else:  # a comment, or an optimizer hint
                end = query.find("*/", i)
                i = len(query) if end < 0 else end + 2
            add(" ")
        elif token == "*/":  # the end of an executable comment (or a stray one)
            add(" ")
        elif token in ("--", "#"):
            end = query.find("\n", i)
            i = len(query) if end < 0 else end
            add(" ")
        else:  # ";"
            end_statement()
    end_statement()
    return statements


def has_statement(query: str) -> bool:
    """Whether ``query`` holds anything but comments, semicolons and blanks (the contents of
    an executable comment count)."""
    return bool(_statements(query))


#: what lets SQL that may write run: the argument of ``check_query`` (the command line's flag)
_ALLOW_WRITES = mention("allow_writes")
#: how often a query runs, and an init_command
_QUERY_RUNS = "thousands of times"
_INIT_RUNS = "on every connection it opens"
_PLAIN_READ = ": it is not a plain SELECT/SHOW"
_READ_OR_SET = ": it is not a read or a SET of the session's own variables"
#: why a write word counts wherever it is, in a text the server may read otherwise
_ANYWHERE = (
    ", which counts anywhere in a text with comments, backslashes or brackets: the server "
    "may read them otherwise than dbbench"
)
#: what stands between the words or the name and the "(" of a match, for the message
_MATCH_GAPS = re.compile(r"[\s`\"(\[\]]+")


def _shown_match(found: re.Match[str]) -> str:
    """A write word or a call as the message names it: ``FOR SHARE``, ``GET_LOCK()``."""
    text = _MATCH_GAPS.sub(" ", found.group()).strip().upper().replace(". ", ".")
    return f"{text}()" if found.re is EFFECT_CALLS and not text.startswith(".") else text


def _may_change(found: str, why: str, runs: str, does: str = "may change data") -> str:
    """The rest of a refusal's line after the value, for SQL holding ``found`` (a write
    word, a call), ``why`` that counts, that runs ``runs``; ``does``: what it may do."""
    return (
        f"{does} ({found}{why}); dbbench runs it {runs}, so give {_ALLOW_WRITES} "
        "if that is what you want"
    )


def _first_word(statement: _Statement) -> tuple[str, str | None]:
    """The statement's first word in capitals ('' if none), and as written."""
    first = _FIRST_WORD.match(statement.blanked)
    return (first.group(1).upper(), first.group(1)) if first else ("", None)


def _effect(blanked: str, named: str) -> str | None:
    """The first write word or call of an effect function in a statement, if any, named."""
    found = WRITE_WORDS.search(blanked) or EFFECT_CALLS.search(named)
    return _shown_match(found) if found is not None else None


def _not_a_read(word: str, written: str | None, also: str = "") -> str:
    """The refusal of a statement whose first word is no read keyword (nor ``also``)."""
    close = difflib.get_close_matches(word, READ_KEYWORDS, n=1)
    typo = f"a typo for {close[0]}?" if close else "a typo?"
    unknown = f"{written!r}: {typo}" if written else typo
    reads = f"{', '.join(READ_KEYWORDS[:-1])} or {READ_KEYWORDS[-1]}"
    return (
        f"does not start with {reads}{also} ({unknown}); any other statement may change "
        f"data, so it runs only with {_ALLOW_WRITES}"
    )


def _read_refusal(
    statement: _Statement, what: str = _PLAIN_READ, runs: str = _QUERY_RUNS
) -> str | None:
    """Why one statement of a query is not a read, or None."""
    word, written = _first_word(statement)
    if word in WRITE_KEYWORDS:
        return _may_change(word, what, runs)
    if word not in READ_KEYWORDS:
        return _not_a_read(word, written)
    # SHOW CREATE TABLE t only shows
    blanked = _SHOW_CREATE.sub("SHOW", statement.blanked) if word == "SHOW" else statement.blanked
    found = _effect(blanked, statement.named)
    return _may_change(found, what, runs) if found is not None else None


def _judge(
    text: str, statement_refusal: Callable[[_Statement], str | None], runs: str
) -> str | None:
    """Why ``text`` may not run without --allow-writes (the rest of a one-line message after
    the value), every reading of it judged by ``statement_refusal``; None if it only reads.
    ``runs``: how often it runs, for the message."""
    if _AMBIGUOUS.search(text):
        # comments, backslashes or brackets: the statements as read below may not be the
        # server's,
        # so a write word or an effect anywhere, even in a comment or a literal, or a
        # second statement anywhere, is refused
        uncommented = _COMMENTS.sub(" ", text)  # FOR/* x */UPDATE
        found = _effect(text, text) or _effect(uncommented, uncommented)
        if found is not None:
            return _may_change(found, _ANYWHERE, runs)
        if _INNER_SEPARATOR.search(text):
            return (
                "holds several statements and comments, backslashes or brackets, which the "
                f"server may read otherwise than dbbench; give {_ALLOW_WRITES} if that is what "
                "you want"
            )
    # every reading must be a read: literals with and without backslash escapes, and
    # executable comments run (/*!DELETE */) and skipped (/*M!999999 SELECT */ CALL p())
    for backslash_escapes, executable_runs in itertools.product((True, False), repeat=2):
        for statement in _statements(text, backslash_escapes, executable_runs):
            reason = statement_refusal(statement)
            if reason is not None:
                return reason
    return None


def is_read_only(query: str) -> bool:
    """Whether ``query`` only reads, judged on its text: every statement starts with a read
    keyword, holds no write word and calls no effect function, outside comments and
    literals."""
    return _judge(query, _read_refusal, _QUERY_RUNS) is None


def _shown(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")


def check_query(query: str, allow_writes: bool, where: str = mention("[benchmark] query")) -> None:
    """Refuse a query that may write, or is not a known read, unless ``allow_writes``."""
    reason = None if allow_writes else _judge(query, _read_refusal, _QUERY_RUNS)
    if reason is not None:
        raise ConfigError(f"{where} = {_shown(query)} {reason}")


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


def _init_refusal(statement: _Statement) -> str | None:
    """Why one statement of an init_command may not run without --allow-writes, or None: a
    read, or a SET of the session's variables whose values read."""
    word, written = _first_word(statement)
    if word != "SET":
        if word in READ_KEYWORDS or word in WRITE_KEYWORDS:
            return _read_refusal(statement, _READ_OR_SET, _INIT_RUNS)
        return _not_a_read(word, written, ", or SET (of the session's variables)")
    wide = _WIDE_SCOPE.search(statement.named) or _WIDE_VARIABLES.search(statement.named)
    if wide is not None:
        return (
            f"sets a variable beyond the session ({wide.group().upper()}); dbbench runs it "
            f"{_INIT_RUNS}, so give {_ALLOW_WRITES} if that is what you want"
        )
    head = _SET.match(statement.blanked)
    rest = statement.blanked[head.end() :] if head else statement.blanked
    form = _FIRST_WORD.match(rest)
    if form is not None and form.group(1).upper() in _SET_FORMS:
        return _may_change(f"SET {form.group(1).upper()}", _READ_OR_SET, _INIT_RUNS)
    found = _effect(rest, statement.named)
    if found is None and _SUBQUERY.search(rest):
        return _may_change(
            "a subquery in a SET",
            ": MariaDB locks the rows it reads, as for INSERT ... SELECT",
            _INIT_RUNS,
        )
    return _may_change(found, _READ_OR_SET, _INIT_RUNS) if found is not None else None


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
            return _may_change(found.group().upper(), self.why, _INIT_RUNS, self.does)
        assigned = re.compile(
            rf"[`\"]?\s*:?=\s*(?:{self.value}){_VALUE_ENDS}", re.IGNORECASE | re.DOTALL
        )
        for variable in self.variable.finditer(command):
            if not assigned.match(command, variable.end()):
                name = variable.group().upper()
                found_text = f"{name} not set to {self.what}"
                return _may_change(found_text, self.why_value, _INIT_RUNS, self.does)
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
    reason = next((r for r in refusals if r), None) or _judge(command, _init_refusal, _INIT_RUNS)
    if reason is not None:
        raise ConfigError(f"{where} = {_shown(command)} {reason}")


def check_sql(
    query: str,
    init_commands: Iterable[tuple[str | None, str]],
    allow_writes: bool,
    query_name: str = mention("[benchmark] query"),
) -> None:
    """Refuse the SQL of the user's that may write, unless ``allow_writes``: the query
    (``check_query``, named ``query_name``) and each init_command, with where it was set
    (``check_init_command``; ``Settings.init_commands``: the run's and every variant's)."""
    check_query(query, allow_writes, query_name)
    for command, where in init_commands:
        check_init_command(command, allow_writes, where)


def check_workload(
    workload: str, allow_writes: bool, where: str = mention("[benchmark] workload")
) -> None:
    """Refuse a built-in write workload unless ``allow_writes``."""
    if allow_writes or workload == "read":
        return
    raise ConfigError(
        f"{where} = {workload!r} writes (into a scratch table dbbench creates and drops); "
        f"give {_ALLOW_WRITES} to run it"
    )
