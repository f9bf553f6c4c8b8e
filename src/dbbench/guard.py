"""Reads only, unless told: a benchmark query that would change data needs --allow-writes.

dbbench is pointed at production-like databases by people in a hurry; running
an UPDATE ten thousand times because of a pasted query must take a deliberate
flag.  The check is on the statement's first keyword, after comments: a
statement that starts as a read and writes anyway (``SELECT ... INTO OUTFILE``,
``SELECT ... FOR UPDATE`` locks) is caught by the keyword list below.
"""

from __future__ import annotations

import re

from dbbench.errors import ConfigError

#: statements that read (or only evaluate expressions)
READ_KEYWORDS = frozenset(
    {"SELECT", "SHOW", "EXPLAIN", "DESCRIBE", "DESC", "VALUES", "TABLE", "WITH", "DO", "HELP"}
)
#: statements that change data, schema, grants, server state or sessions
WRITE_KEYWORDS = frozenset(
    {
        "INSERT", "UPDATE", "DELETE", "REPLACE", "MERGE", "CREATE", "DROP", "ALTER",
        "TRUNCATE", "RENAME", "GRANT", "REVOKE", "SET", "CALL", "LOAD", "LOCK", "UNLOCK",
        "HANDLER", "INSTALL", "UNINSTALL", "KILL", "FLUSH", "RESET", "PURGE", "OPTIMIZE",
        "REPAIR", "ANALYZE", "START", "BEGIN", "COMMIT", "ROLLBACK", "XA", "SAVEPOINT",
        "PREPARE", "EXECUTE", "SHUTDOWN", "CHANGE", "STOP", "IMPORT", "BINLOG", "CACHE",
    }
)  # fmt: skip
#: words that make even a read statement change something or lock rows
WRITE_WORDS = re.compile(
    r"\b(INSERT|UPDATE|DELETE|REPLACE|MERGE|INTO\s+(OUTFILE|DUMPFILE)|FOR\s+UPDATE|"
    r"LOCK\s+IN\s+SHARE\s+MODE|CREATE|DROP|ALTER|TRUNCATE|GRANT|REVOKE|SET\s+GLOBAL)\b",
    re.IGNORECASE,
)
_COMMENTS = re.compile(r"/\*.*?\*/|--[^\n]*|#[^\n]*", re.DOTALL)
_STRINGS = re.compile(r"'(?:[^'\\]|\\.|'')*'|\"(?:[^\"\\]|\\.|\"\")*\"|`[^`]*`")


#: MariaDB/MySQL run what is inside /*! ... */ and /*M! ... */: not comments
_EXECUTABLE_COMMENT = re.compile(r"/\*M?!")


def has_statement(query: str) -> bool:
    """Whether ``query`` holds anything but comments, semicolons and blanks."""
    if _EXECUTABLE_COMMENT.search(query):
        return True
    return bool(_COMMENTS.sub(" ", query).replace(";", " ").strip())


def is_read_only(query: str) -> bool:
    """Whether ``query`` only reads, judged on its text (comments and literals removed).

    A statement starting with an unknown word (a typo) is left to the server,
    which answers it with a syntax error.
    """
    text = _STRINGS.sub("''", _COMMENTS.sub(" ", query)).strip()
    words = text.lstrip("(").split(None, 1)
    if not words:
        return True
    first = words[0].upper().rstrip(";(")
    if first in WRITE_KEYWORDS:
        return False
    return not (first in READ_KEYWORDS and WRITE_WORDS.search(text))


def check_query(query: str, allow_writes: bool, where: str = "--query") -> None:
    """Refuse a query that may write, unless ``allow_writes``."""
    if allow_writes or is_read_only(query):
        return
    shown = query if len(query) <= 60 else query[:57] + "..."
    raise ConfigError(
        f"{where} = {shown!r} may change data (it is not a plain SELECT/SHOW); dbbench "
        "runs it thousands of times, so give --allow-writes if that is what you want"
    )


def check_workload(workload: str, allow_writes: bool, where: str = "--workload") -> None:
    """Refuse a built-in write workload unless ``allow_writes``."""
    if allow_writes or workload == "read":
        return
    raise ConfigError(
        f"{where} = {workload!r} writes (into a scratch table dbbench creates and drops); "
        "give --allow-writes to run it"
    )
