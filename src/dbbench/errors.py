"""Exception hierarchy and exit codes.

Every failure a user can cause or meet becomes a ``DbbenchError`` with one
line of text; ``cli.main`` turns it into that line on stderr and its exit
status.  Messages name the value and where it came from, never a password.
The line is one line whatever a value in it holds: a ``DbbenchError`` escapes every
control character of its message (``text.printable``: a newline as ``\n``, ESC as
``\x1b``), and so does ``one_line`` for any other text that ends as an error line.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable

from dbbench.text import printable


class ExitStatus(enum.IntEnum):
    """Process exit codes, documented in docs/reference/exit-status.md."""

    SUCCESS = 0
    #: could not set up: server unreachable, wrong password, query failed, ...
    ERROR = 1
    #: bad input: command line, environment or configuration file
    USAGE = 2
    #: the benchmark finished, but some operations failed
    RUN_ERRORS = 3
    #: dbbench diff: a --fail-on threshold tripped (a regression beyond noise)
    THRESHOLD = 4
    #: --cluster: a worker left the cluster mid-run; the others' results (and its last
    #: checkpoint's) were still reported, marked incomplete
    WORKER_LOST = 5
    #: interrupted (Ctrl-C); what was measured so far was still reported
    INTERRUPTED = 130


#: around a setting's name in a message being built (``mention``); never in a finished one
_MENTION = re.compile("\x02([^\x02\x03]*)\x03")


def mention(name: str) -> str:
    """A setting (``[section] key``), or a library call's argument (``runner_names``), as a
    message names it for the user to change: the library's text says the name, the command
    line's the flag (``DbbenchError.render``).  Only for text that ends in a ``DbbenchError``."""
    return f"\x02{name}\x03"


#: a setting's name as plain text says it (``[benchmark] concurrency``), to mark again
_SETTING_NAME = re.compile(r"(?<![\x02\w])\[[a-z]+\] [a-z_]+\b(?!\x03)")


class Mentioning(str):
    """Text for the user that mentions settings (``mention``): it reads, and is saved, with
    the settings as the library names them (``[benchmark] concurrency``); ``render`` says
    them otherwise (the command line: as its flags).  A note, a finding, why a run stopped."""

    template: str

    def __new__(cls, template: str) -> Mentioning:
        text = super().__new__(cls, _MENTION.sub(r"\1", template))
        text.template = template
        return text

    def __reduce__(self) -> tuple:
        return (type(self), (self.template,))

    @classmethod
    def marked(cls, text: str) -> Mentioning:
        """Plain text (a result file's) with every ``[section] key`` in it mentioned."""
        if isinstance(text, Mentioning):
            return text
        return cls(_SETTING_NAME.sub(lambda match: mention(match.group(0)), text))

    def render(self, name: Callable[[str], str]) -> str:
        """The text with each mentioned setting as ``name(setting's name)`` says it."""
        return _MENTION.sub(lambda match: name(match.group(1)), self.template)


class DbbenchError(Exception):
    """An error with a one-line, user-facing message.

    The library names a setting as the settings file does (``[database] database``), never
    as a flag; a setting the message tells the user to change is written ``mention(name)``
    so that the command line can show it as its flag instead (``--database``).
    """

    exit_status: ExitStatus = ExitStatus.ERROR

    def __init__(self, message: str = "") -> None:
        # its mentions' marks kept, every other control character escaped
        self._template = printable(message, keep="\x02\x03")
        super().__init__(one_line(_MENTION.sub(r"\1", self._template)))

    @property
    def template(self) -> str:
        """The message with its mentions marked: what makes the same error elsewhere (in the
        parent of a worker process that met it)."""
        return self._template

    def __reduce__(self) -> tuple:
        return (type(self), (self._template,))

    def render(self, name: Callable[[str], str]) -> str:
        """The message with each mentioned setting as ``name(setting's name)`` says it."""
        return one_line(Mentioning(self._template).render(name))


def one_line(text: str) -> str:
    """``text`` as one line of an error or a warning: every control character escaped
    (a newline as ``\n``, ESC as ``\x1b``), a mention's mark too."""
    return printable(text)


class ConfigError(DbbenchError):
    """Bad input: a flag, an environment variable or a configuration file key."""

    exit_status = ExitStatus.USAGE


class ConnectError(DbbenchError):
    """The database could not be reached or refused us."""


class QueryError(DbbenchError):
    """The benchmark query failed on the server."""


class ServerError(DbbenchError):
    """A throwaway local server could not be started."""


class ResultFileError(DbbenchError):
    """A result file that cannot be read, or written: one line naming the file (and, for
    one that is not what dbbench writes, the key: ``results.validation``)."""
