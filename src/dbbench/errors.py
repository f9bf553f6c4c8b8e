"""Exception hierarchy and exit codes.

Every failure a user can cause or meet becomes a ``DbbenchError`` with one
line of text; ``cli.main`` turns it into that line on stderr and its exit
status.  Messages name the value and where it came from, never a password.
"""

from __future__ import annotations

import enum


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
    #: interrupted (Ctrl-C); what was measured so far was still reported
    INTERRUPTED = 130


class DbbenchError(Exception):
    """An error with a one-line, user-facing message."""

    exit_status: ExitStatus = ExitStatus.ERROR


class ConfigError(DbbenchError):
    """Bad input: a flag, an environment variable or a configuration file key."""

    exit_status = ExitStatus.USAGE


class ConnectError(DbbenchError):
    """The database could not be reached or refused us."""


class QueryError(DbbenchError):
    """The benchmark query failed on the server."""


class ServerError(DbbenchError):
    """A throwaway local server could not be started."""
