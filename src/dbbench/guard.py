"""Reads only, unless told: a benchmark query that may change anything needs --allow-writes.

dbbench is pointed at production-like databases by people in a hurry; running
an UPDATE ten thousand times because of a pasted query must take a deliberate
flag.  The check is an allow-list, on the query's text as the server reads it:

- comments are removed; MySQL/MariaDB executable comments (``/*! ... */``,
  ``/*!50100 ... */``, ``/*M! ... */``, ``/*M!100100 ... */``) are read both
  ways, since whether the server runs one depends on its version: as code
  (``/*!DELETE FROM t */``) and as a comment (``/*M!999999 SELECT */ CALL
  p()``), and must be a read both ways; an optimizer hint (``/*+ ... */``) is a
  comment;
- string literals and quoted names are blanked, so a write word inside one is
  harmless; they are read both with and without backslash escapes (the
  server's ``NO_BACKSLASH_ESCAPES``), and must be harmless both ways;
- each statement (a driver that allows several, such as mysqlclient, runs them
  all) must start with a read keyword (``READ_KEYWORDS``, after any opening
  parentheses) and hold none of ``WRITE_WORDS`` (``SELECT ... FOR UPDATE``,
  ``INTO OUTFILE``, ``WITH ... DELETE``).

Where the server could read the text otherwise (``_AMBIGUOUS``: which
characters end a ``--`` comment, version-gated executable comments, ``*/``
run into ``/*``, backslashes under ``NO_BACKSLASH_ESCAPES`` or
``ANSI_QUOTES``), nothing is guessed: a query holding a comment or a
backslash is refused if a write word appears anywhere in its whole text, or if
it holds a second statement.  A review found queries that the scanner alone
read as ``SELECT`` and MariaDB ran as ``DELETE``; the tests keep them.

Anything else needs --allow-writes: a write statement, ``DO`` (``DO
RELEASE_ALL_LOCKS()``, ``DO GET_LOCK(...)`` have effects), and a statement
whose first word is unknown (a typo is refused before connecting, naming the
read keywords).  The check reads the text only: a read that calls a function
with effects it does not list (a stored function that writes) is still a read.
"""

from __future__ import annotations

import difflib
import itertools
import re

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
        "CHECKSUM", "IF", "CASE", "LOOP", "REPEAT", "WHILE",
    }
)  # fmt: skip
#: words that make even a read statement change something or lock rows (INSERT and REPLACE
#: followed by "(" are the string functions; the statements never are)
WRITE_WORDS = re.compile(
    r"\b(?:(?:INSERT|REPLACE)\b(?!\s*\()|UPDATE|DELETE|MERGE|INTO\s+(?:OUTFILE|DUMPFILE)|"
    r"FOR\s+UPDATE|FOR\s+SHARE|LOCK\s+IN\s+SHARE\s+MODE|CREATE|DROP|ALTER|TRUNCATE|GRANT|"
    r"REVOKE|SET\s+GLOBAL|NEXT\s+VALUE\s+FOR)\b"
    # functions that change a sequence or take and release locks
    r"|\b(?:NEXTVAL|SETVAL|GET_LOCK|RELEASE_LOCK|RELEASE_ALL_LOCKS)\s*\(",
    re.IGNORECASE,
)
#: where the server's reading of a query may differ from this module's: where a comment
#: starts and ends (which characters end "--", version-gated executable comments, "*/"
#: run into "/*") and what a backslash does in a literal (sql_mode) are not all knowable
#: here.  A query holding any of these is also judged on its whole text, nothing removed.
_AMBIGUOUS = re.compile(r"/\*|\*/|--|#|\\")
_SHOW_CREATE = re.compile(r"^[\s(]*SHOW\s+CREATE\b", re.IGNORECASE)
#: a statement separator with more text after it
_INNER_SEPARATOR = re.compile(r";\s*\S")

#: what the scanner stops at: a string or quoted name, a comment, the end of an executable
#: comment (``*/``), or a statement separator
_SPECIAL = re.compile(r"['\"`]|/\*|\*/|--(?=[\s\x00-\x1f]|$)|#|;")
#: MariaDB/MySQL run what is inside /*! ... */ and /*M! ... */: not comments
_EXECUTABLE_COMMENT = re.compile(r"/\*[Mm]?!\d*")
_FIRST_WORD = re.compile(r"[\s(]*([A-Za-z_]\w*)")


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


def _statements(
    query: str, backslash_escapes: bool = True, executable_runs: bool = True
) -> list[str]:
    """The statements of ``query`` as the server reads them: comments removed, executable
    comments unwrapped (or, with ``executable_runs`` False, removed as a server whose
    version the comment's number excludes does), literals blanked to ``''``; the empty
    ones left out."""
    statements: list[str] = []
    current: list[str] = []
    i = 0
    while True:
        match = _SPECIAL.search(query, i)
        if match is None:
            current.append(query[i:])
            break
        current.append(query[i : match.start()])
        token, i = match.group(), match.end()
        if token in ("'", '"', "`"):
            i = _close_quote(query, match.start(), token, backslash_escapes)
            current.append("''")
        elif token == "/*":
            executable = executable_runs and _EXECUTABLE_COMMENT.match(query, match.start())
            if executable:  # its contents are code; its "*/" is dropped when reached
                i = executable.end()
            else:  # a comment, or an optimizer hint
                end = query.find("*/", i)
                i = len(query) if end < 0 else end + 2
            current.append(" ")
        elif token == "*/":  # the end of an executable comment (or a stray one)
            current.append(" ")
        elif token in ("--", "#"):
            end = query.find("\n", i)
            i = len(query) if end < 0 else end
            current.append(" ")
        else:  # ";"
            statements.append("".join(current))
            current = []
    statements.append("".join(current))
    return [statement.strip() for statement in statements if statement.strip()]


def has_statement(query: str) -> bool:
    """Whether ``query`` holds anything but comments, semicolons and blanks (the contents of
    an executable comment count)."""
    return bool(_statements(query))


#: what lets a query that may write run: ``check_query``'s argument (the command line's flag)
_ALLOW_WRITES = mention("allow_writes")
#: the rest of the refusal's line, after the value
_MAY_CHANGE_DATA = (
    "may change data (it is not a plain SELECT/SHOW); dbbench runs it "
    f"thousands of times, so give {_ALLOW_WRITES} if that is what you want"
)


def _refusal(query: str) -> str | None:
    """Why ``query`` may not run without --allow-writes: the rest of a one-line message after
    the value; None if it only reads."""
    if _AMBIGUOUS.search(query):
        # comments or backslashes: the statements as read below may not be the server's,
        # so a write word anywhere, even in a comment or a literal, or a second statement
        # anywhere, is refused
        if WRITE_WORDS.search(query):
            return _MAY_CHANGE_DATA
        if _INNER_SEPARATOR.search(query):
            return (
                "holds several statements and comments or backslashes, which the server may "
                f"read otherwise than dbbench; give {_ALLOW_WRITES} if that is what you want"
            )
    # every reading must be a read: literals with and without backslash escapes, and
    # executable comments run (/*!DELETE */) and skipped (/*M!999999 SELECT */ CALL p())
    for backslash_escapes, executable_runs in itertools.product((True, False), repeat=2):
        for statement in _statements(query, backslash_escapes, executable_runs):
            first = _FIRST_WORD.match(statement)
            word = first.group(1).upper() if first else ""
            # SHOW CREATE TABLE t only shows
            shown = _SHOW_CREATE.sub("SHOW", statement) if word == "SHOW" else statement
            writes = WRITE_WORDS.search(shown)
            if word in WRITE_KEYWORDS or (word in READ_KEYWORDS and writes):
                return _MAY_CHANGE_DATA
            if word not in READ_KEYWORDS:
                close = difflib.get_close_matches(word, READ_KEYWORDS, n=1)
                typo = f"a typo for {close[0]}?" if close else "a typo?"
                unknown = f"{first.group(1)!r}: {typo}" if first else typo
                reads = f"{', '.join(READ_KEYWORDS[:-1])} or {READ_KEYWORDS[-1]}"
                return (
                    f"does not start with {reads} ({unknown}); any other statement may change "
                    f"data, so it runs only with {_ALLOW_WRITES}"
                )
    return None


def is_read_only(query: str) -> bool:
    """Whether ``query`` only reads, judged on its text: every statement starts with a read
    keyword and holds no write word, outside comments and literals."""
    return _refusal(query) is None


def check_query(
    query: str, allow_writes: bool, where: str = mention("[benchmark] query")
) -> None:
    """Refuse a query that may write, or is not a known read, unless ``allow_writes``."""
    reason = None if allow_writes else _refusal(query)
    if reason is None:
        return
    shown = query if len(query) <= 60 else query[:57] + "..."
    raise ConfigError(f"{where} = {shown!r} {reason}")


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
