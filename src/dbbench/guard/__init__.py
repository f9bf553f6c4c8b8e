"""Reads only, unless told: SQL of the user's that may change anything needs --allow-writes.

One module per database, each reading the text as that server reads it:
``guard.mysql`` (MySQL and MariaDB: executable comments, backquotes, ``sql_mode``'s
readings; its docstring says what is allowed and why).  Callers import from here
(``from dbbench.guard import check_sql``), as they did when the guard was one
module.
"""

from dbbench.guard.common import check_workload
from dbbench.guard.mysql import (
    EFFECT_CALLS,
    EFFECT_FUNCTIONS,
    READ_KEYWORDS,
    WRITE_KEYWORDS,
    WRITE_WORDS,
    check_init_command,
    check_query,
    check_sql,
    has_statement,
    is_read_only,
)

__all__ = [
    "EFFECT_CALLS",
    "EFFECT_FUNCTIONS",
    "READ_KEYWORDS",
    "WRITE_KEYWORDS",
    "WRITE_WORDS",
    "check_init_command",
    "check_query",
    "check_sql",
    "check_workload",
    "has_statement",
    "is_read_only",
]
