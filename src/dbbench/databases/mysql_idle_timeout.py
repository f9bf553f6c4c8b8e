"""MySQL's and MariaDB's idle timeout for ``dbbench stale``: the session's ``wait_timeout``.

The idle timeout is set per connection through ``init_command``, so the
server's global setting is left alone. PyMySQL runs ``init_command`` as one
statement: multi-statements are off by default and dbbench does not turn them
on, so ``"...; SET ..."`` fails with a syntax error (1064). A user's
``init_command`` is therefore kept only when it is a single ``SET`` of
variables. We then append ``, SESSION wait_timeout=<n>``. It comes last so
that it wins over any ``wait_timeout`` of the user's, and ``SESSION`` is
explicit so that a ``GLOBAL`` earlier in the statement does not carry over to
it. Anything else is refused before anything connects.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, ClassVar

from dbbench.databases.idle_timeout import IdleTimeout
from dbbench.parsing import bad_value

if TYPE_CHECKING:
    from dbbench.config.settings import DatabaseSettings

_SET = re.compile(r"SET\s", re.IGNORECASE)
#: SET forms that cannot take another assignment after a comma
_SET_NOT_A_LIST = re.compile(
    r"SET\s+(?:(?:GLOBAL|SESSION|LOCAL)\s+)?"
    r"(?:TRANSACTION|PASSWORD|ROLE|DEFAULT\s+ROLE|RESOURCE\s+GROUP|STATEMENT)\b",
    re.IGNORECASE,
)


def session_init_command(init_command: str | None, wait_timeout_s: int) -> str:
    """The ``init_command`` that sets the session's ``wait_timeout`` and keeps the user's own.

    With no user command this is ``SET SESSION wait_timeout=<n>``. A single
    ``SET`` of variables becomes ``<it>, SESSION wait_timeout=<n>``. Anything
    else raises ``ConfigError``, because PyMySQL runs ``init_command`` as one
    statement.
    """
    timeout = f"SESSION wait_timeout={wait_timeout_s}"
    if init_command is None or not init_command.strip():
        return f"SET {timeout}"
    statement = init_command.strip().rstrip(";").rstrip()
    if ";" in statement:
        problem = "it holds more than one statement"
    elif not _SET.match(statement):
        problem = "it is not a SET statement"
    elif _SET_NOT_A_LIST.match(statement):
        problem = "that form of SET cannot take another assignment after a comma"
    else:
        return f"{statement}, {timeout}"
    raise bad_value(
        "[database] init_command",
        init_command,
        "the stale-connection scenario sets the "
        f"server's idle timeout by appending ', {timeout}' to init_command, which PyMySQL runs "
        f"as one statement; {problem}. Use one SET of variables (for example "
        "\"SET time_zone='+00:00', SESSION transaction_isolation='READ-COMMITTED'\") or leave "
        "init_command unset for this scenario",
    )


class WaitTimeout(IdleTimeout):
    """``SET SESSION wait_timeout=<n>`` appended to the user's ``init_command``."""

    setting: ClassVar[str] = "wait_timeout"

    def session(self, database: DatabaseSettings, timeout_s: int) -> DatabaseSettings:
        init_command = session_init_command(database.init_command, timeout_s)
        return dataclasses.replace(database, init_command=init_command)
