"""Where a login comes from besides dbbench's own settings: the MySQL option file and a prompt.

As the ``mysql`` client does, dbbench reads the ``[client]`` group of
``~/.my.cnf`` (``password``, ``user``, ``host``, ``port``, ``socket``), with
the lowest precedence of all the layers, and ``--password`` asks for the
password on the terminal with echo off.  There is deliberately no way to give
the password as a command-line value: it would be visible to every user in
the process list (``/proc/PID/cmdline``, ``ps``).
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping
from pathlib import Path

from dbbench.errors import ConfigError

OPTION_FILE_NAME = ".my.cnf"
OPTION_GROUP = "client"

#: option file key (dashes and underscores alike) -> dbbench's [database] key
OPTION_KEYS = {
    "password": "password",
    "user": "user",
    "host": "host",
    "port": "port",
    "socket": "unix_socket",
}

#: MySQL's escape sequences in option values
_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "r": "\r", "s": " ", "\\": "\\"}


def option_file_path(env: Mapping[str, str]) -> Path | None:
    """``$HOME/.my.cnf`` when HOME is set and the file exists."""
    home = env.get("HOME")
    if not home:
        return None
    path = Path(home) / OPTION_FILE_NAME
    return path if path.is_file() else None


def _unquote(value: str) -> str:
    """An option value as MySQL reads it: quotes optional, ``#`` starts a comment outside
    quotes, and the escapes ``\\b \\t \\n \\r \\s \\\\``."""
    value = value.strip()
    if value[:1] in ("'", '"') and value.find(value[0], 1) > 0:
        value = value[1 : value.find(value[0], 1)]
    elif "#" in value:
        value = value.split("#", 1)[0].rstrip()
    out, chars = [], iter(value)
    for char in chars:
        if char == "\\":
            following = next(chars, "")
            out.append(_ESCAPES.get(following, "\\" + following))
        else:
            out.append(char)
    return "".join(out)


def read_option_file(path: Path) -> dict[str, str]:
    """The ``[client]`` options dbbench uses, as ``{dbbench key: text}``.

    ``!include`` and ``!includedir`` are not followed (dbbench reads this one
    file only); other groups and other options are ignored, as a client
    ignores what it does not know.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the MySQL option file ({exc.strerror})") from None
    found: dict[str, str] = {}
    group = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;!":
            continue
        if line.startswith("["):
            group = line[1 : line.find("]")].strip().lower() if "]" in line else None
            continue
        if group != OPTION_GROUP:
            continue
        name, sep, value = line.partition("=")
        key = OPTION_KEYS.get(name.strip().lower().replace("-", "_"))
        # "password" alone (no value) means "ask" to the mysql client; dbbench has --password
        if key is not None and sep:
            found[key] = _unquote(value)
    return found


def may_be_read_by_others(path: Path) -> int | None:
    """The file's permission bits when group or others may read it, else None."""
    mode = path.stat().st_mode & 0o777
    return mode if mode & 0o044 else None


def prompt_password(prompt: str) -> str:
    """Ask on the terminal with echo off.

    getpass would fall back to reading stdin, echoing, when there is no
    terminal (CI, a pipe): refuse instead, and say what to use there.
    """
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        raise ConfigError(
            "--password asks for the password on a terminal, and there is none (CI, a pipe, "
            "a service); give it with DBBENCH_PASSWORD or MYSQL_PWD, [client] password in "
            "~/.my.cnf, or [database] password in the settings file"
        ) from None
    os.close(fd)
    return getpass.getpass(prompt)


def refuse_password_value(argv: list[str]) -> None:
    """``--password VALUE`` or ``--password=VALUE``: refused, and the value never repeated.

    The value is already in the process list and the shell's history; at least
    dbbench does not use it, nor echo it into a log as click's "unexpected
    extra argument" would.
    """
    for index, arg in enumerate(argv):
        if arg == "--":
            return
        given = arg.startswith("--password=") or (
            arg == "--password" and index + 1 < len(argv) and not argv[index + 1].startswith("-")
        )
        if given:
            raise ConfigError(
                "--password takes no value: it asks for the password on the terminal, since a "
                "value on the command line is visible to every user in the process list; use "
                "--password alone, DBBENCH_PASSWORD or MYSQL_PWD, or ~/.my.cnf [client] password"
            )
