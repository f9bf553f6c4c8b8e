"""What a script may not do, known from its text before anything connects.

The language has no conditionals (``\\if`` is refused), so every run of a script sends
the same statements in the same order, and what they do to the transaction is known
statically:

* a script that ends inside its own transaction (a ``BEGIN`` with no ``COMMIT``,
  ``ROLLBACK`` or ``END`` after it) is refused: pgbench aborts the client there, and
  dbbench would roll its writes back after every operation (``ScriptRunner`` still does,
  as a safety net);
* a statement that sets ``autocommit`` (MySQL's ``SET autocommit = 0``,
  ``SET @@session.autocommit = OFF``, ...) is refused: it would carry a transaction over
  to the next operation on a kept connection, with its row locks.
"""

from __future__ import annotations

import re

from dbbench.scripts.builtin import ROWS
from dbbench.scripts.expr import ScriptError
from dbbench.scripts.parse import Script, SetVariable, Sleep
from dbbench.scripts.run import transaction_after

#: a SET that assigns the session's autocommit, as MySQL spells it (``autocommit``,
#: ``@@autocommit``, ``@@session.autocommit``, ``SESSION autocommit``, quoted or not), not
#: a user variable ``@autocommit`` nor a read of ``@@autocommit``
_SETS_AUTOCOMMIT = re.compile(
    r"^\s*SET\b.*?(?:(?<![\w$@])|(?<=@@))[`\"]?autocommit[`\"]?\s*(?::?=|\bTO\b)",
    re.IGNORECASE | re.DOTALL,
)
_OPENER = re.compile(r"\s*(BEGIN|START\s+TRANSACTION)\b", re.IGNORECASE)


def check_script(script: Script) -> None:
    """Refuse ``script`` (a ``ScriptError``, one line naming file and line) if a statement
    sets autocommit, or if it ends inside a transaction it opened."""
    open_at = None
    for statement in script.statements:
        if _SETS_AUTOCOMMIT.match(statement.sql):
            raise ScriptError(
                f"{script.where(statement.line)}: a script's transactions are its own "
                "BEGIN/COMMIT; SET autocommit would carry one over to the next operation"
            )
        was_open = open_at is not None
        if not transaction_after(statement.sql, was_open):
            open_at = None
        elif not was_open:
            open_at = statement
    if open_at is not None:
        opener = _OPENER.match(open_at.sql)
        word = " ".join(opener.group(1).upper().split()) if opener else "BEGIN"
        raise ScriptError(
            f"{script.where(open_at.line)}: the transaction {word} opens here is still open "
            "at the end of the script (pgbench aborts the client there); end it with COMMIT "
            "or ROLLBACK"
        )


def reads_rows(script: Script) -> bool:
    """Whether ``script`` reads ``:rows`` (the data set's rows, which the run then reads
    from its mark, as for a built-in workload) before any ``\\set rows`` of its own."""
    for command in script.commands:
        if isinstance(command, SetVariable):
            if any(name == ROWS for name, _ in command.expression.variables()):
                return True
            if command.name == ROWS:
                return False
        elif isinstance(command, Sleep):
            if command.amount == ROWS:
                return True
        elif any(reference.name == ROWS for reference in command.references):
            return True
    return False


__all__ = ["check_script", "reads_rows"]
