"""Where a login comes from besides dbbench's own settings: the MySQL option file and a prompt.

As a MariaDB or MySQL client does, dbbench reads ``~/.my.cnf`` (``password``, ``user``,
``host``, ``port``, ``socket`` of the groups every MariaDB client reads: ``[client]``,
``[client-server]``, ``[client-mariadb]``), with the lowest precedence of all the layers, and
``--password`` asks for the password on the terminal with echo off.  There is deliberately
no way to give the password as a command-line value: it would be visible to every user in
the process list (``/proc/PID/cmdline``, ``ps``).

The file is read as MariaDB 10.11's own reader (``mysys/my_default.c``, which the clients
and ``my_print_defaults`` share) reads it, byte for byte, and tested against what
``my_print_defaults`` prints for the same file (``read_options``): white space is latin-1's
(tab, LF, VT, FF, CR, space and 0xA0); ``#`` ends a line outside quotes, wherever it is; a
value keeps its quotes unless it starts and ends with the same one; the escapes ``\\b \\t \\n
\\r \\s \\" \\' \\\\`` are read in quoted and bare values alike (any other keeps its
backslash); a line of more than 4094 bytes is read as several, and a NUL byte ends a line;
``!include FILE`` and ``!includedir DIR`` (its ``*.cnf`` files in byte order) are followed, 10
deep, a relative path from the working directory, with the client's quirk of dropping the
last byte of the line (a directive on the file's last line without a newline loses the
path's last letter).  As the client does, a world-writable file is ignored with a warning,
a missing included file silently, and an error in an included file (an option before any
group, a ``[`` with no ``]``) stops that file with a warning; the same error in
``~/.my.cnf`` itself is refused.  Unlike the client, a FIFO, a device or a socket is
refused at once, never opened to block or read for ever, and at most 1 MiB is read, the
included files together.

Then the names as the ``mariadb`` client takes them (``read_option_file``): in any case, with
``-`` or ``_``, after any number of ``loose-`` prefixes, or as a unique prefix of the name
among the client's options (``pas`` for ``password``: with a warning, as the client gives).
``password`` with no value asks for the password on a terminal, as the client does;
``skip-password`` and ``disable-password`` mean an empty one.  The last word on an option
wins, in file order.  The password keeps the file's bytes: text that is not UTF-8 reaches
the server as the bytes it was (``drivers.base.password_bytes``).
"""

from __future__ import annotations

import getpass
import os
import pwd
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dbbench import safeio
from dbbench.errors import ConfigError

OPTION_FILE_NAME = ".my.cnf"
#: the groups every MariaDB client reads (the ``mariadb`` command-line client also reads
#: ``[mysql]`` and ``[mariadb-client]``, its own, and a MySQL client ``[client]`` only)
OPTION_GROUPS = ("client", "client-server", "client-mariadb")

#: option name -> dbbench's [database] key
OPTION_KEYS = {
    "password": "password",
    "user": "user",
    "host": "host",
    "port": "port",
    "socket": "unix_socket",
}
#: the shortest prefix of each name the ``mariadb`` client (10.11) takes for it; one shorter
#: is ambiguous among its options (``pa``: pager, password)
_SHORTEST_PREFIX = {"password": 3, "user": 2, "host": 2, "port": 2, "socket": 2}

#: what my_default.c takes for white space (``my_isspace`` of latin-1)
SPACE = b"\t\n\x0b\x0c\r \xa0"
#: ``fgets(buffer, 4095)``: a longer line is read as several
LINE_BYTES = 4094
#: how deep ``!include`` and ``!includedir`` are followed (the client's limit)
MAX_INCLUDE_DEPTH = 10
#: an included path this long or longer is ignored, as the client ignores it (FN_REFLEN - 3)
MAX_PATH_BYTES = 509
#: the most files one option file may bring in, itself included
MAX_FILES = 100

_ESCAPES = {
    ord("n"): b"\n",
    ord("t"): b"\t",
    ord("r"): b"\r",
    ord("b"): b"\b",
    ord("s"): b" ",
    ord('"'): b'"',
    ord("'"): b"'",
    ord("\\"): b"\\",
}
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Option:
    """One option of a group read, as ``my_print_defaults`` prints it (``printed``)."""

    path: str
    line: int
    group: bytes
    name: bytes
    #: None: the name alone, no ``=``
    value: bytes | None

    @property
    def printed(self) -> bytes:
        return b"--" + self.name + (b"" if self.value is None else b"=" + self.value)

    def where(self, name: str) -> str:
        group = self.group.decode("utf-8", "backslashreplace").lower()
        return f"{self.path} line {self.line}: [{group}] {name}"


@dataclass(frozen=True)
class OptionFile:
    """What dbbench takes from an option file and the files it includes."""

    #: dbbench's [database] key -> the value as text (a password's bytes that are not UTF-8
    #: as ``surrogateescape`` characters)
    values: dict[str, str] = field(default_factory=dict)
    #: dbbench's key -> where its value was given ("PATH line N: [client] password")
    where: dict[str, str] = field(default_factory=dict)
    #: the file the password came from (its permissions are checked)
    password_path: str | None = None
    #: where ``password`` without a value asked for the password on the terminal, when that
    #: is the file's last word on it
    asks_password: str | None = None
    warnings: tuple[str, ...] = ()


class _FileError(Exception):
    """What stops the client reading one file: ``(path, line, reason)``."""


class _Reader:
    """``search_default_file_with_ext`` and its includes, for the groups asked for."""

    def __init__(self, groups: tuple[str, ...], home: str | None) -> None:
        self.groups = {group.encode().lower() for group in groups}
        self.home = home
        self.options: list[Option] = []
        self.warnings: list[str] = []
        self.budget = safeio.OPTION_FILE_LIMIT
        self.files = 0

    # ----------------------------------------------------------------- files

    def read(self, path: str, depth: int) -> None:
        """One file; an error in it stops it, and, in the first, all."""
        try:
            self._read(path, depth)
        except _FileError as exc:
            where, line, reason = exc.args
            if depth == 0:
                raise ConfigError(f"{where} line {line}: {reason}") from None
            self.warnings.append(
                f"{where} line {line}: {reason}; the rest of that file is not read (nor "
                "by the MySQL client)"
            )

    def _read(self, path: str, depth: int) -> None:
        if len(os.fsencode(path)) >= MAX_PATH_BYTES:
            return
        try:
            info = os.stat(path)
        except (OSError, ValueError):
            return  # no such file: nothing to read, as for the client
        if stat.S_ISDIR(info.st_mode):
            return  # the client opens it and reads nothing
        if stat.S_ISREG(info.st_mode) and info.st_mode & stat.S_IWOTH:
            self.warnings.append(
                f"{path} is writable by every user and is ignored, as the MySQL client "
                "ignores it (chmod o-w it)"
            )
            return
        self.files += 1
        if self.files > MAX_FILES:
            raise ConfigError(
                f"{path}: the option file brings in more than {MAX_FILES} files through "
                "!include and !includedir (do they include each other?)"
            )
        try:
            data = safeio.read_bytes(path, limit=self.budget, what="an option file")
        except safeio.FileProblem as exc:
            if "permission denied" in exc.reason:
                self.warnings.append(
                    f"{path}: permission denied; not read (nor by the MySQL client)"
                )
                return
            if "dbbench reads at most" in exc.reason and depth > 0:
                raise ConfigError(
                    f"{path}: the option file and the files it includes come to more than "
                    f"{safeio.size_text(safeio.OPTION_FILE_LIMIT)}, the most dbbench reads"
                ) from None
            raise ConfigError(f"{path}: {exc.reason}") from None
        self.budget -= len(data)
        self._parse(path, data, depth)

    # ----------------------------------------------------------------- lines

    def _parse(self, path: str, data: bytes, depth: int) -> None:
        group: bytes | None = None
        for number, chunk in enumerate(_lines(data), start=1):
            line = chunk.split(b"\0", 1)[0]  # C strings: a NUL ends the line
            start = _skip_space(line, 0)
            if start == len(line) or line[start] in b"#;":
                continue
            if line[start] == ord("!"):
                if depth >= MAX_INCLUDE_DEPTH:
                    self.warnings.append(
                        f"{path} line {number}: a directive more than {MAX_INCLUDE_DEPTH} "
                        "includes deep is skipped, as the MySQL client skips it"
                    )
                else:
                    self._directive(path, number, line, start + 1, depth)
                continue
            if line[start] == ord("["):
                close = line.find(b"]", start + 1)
                if close < 0:
                    raise _FileError(path, number, "a [ with no ] (a group's name is [NAME])")
                end = close
                while end > start + 1 and line[end - 1] in SPACE:
                    end -= 1
                group = line[start + 1 : end]
                continue
            if group is None:
                bom = " (a UTF-8 byte order mark?)" if number == 1 and data.startswith(_BOM) else ""
                raise _FileError(
                    path, number, f"an option before any [group]{bom}, which the MySQL client "
                    "refuses too"
                )  # fmt: skip
            if group.lower() in self.groups:
                name, value = _option(line[start:], indented=start > 0)
                self.options.append(Option(path, number, group, name, value))

    def _directive(self, path: str, number: int, line: bytes, at: int, depth: int) -> None:
        rest = line[_skip_space(line, at) :]
        for keyword in (b"includedir", b"include"):
            if rest.startswith(keyword) and rest[len(keyword) : len(keyword) + 1] in _SPACES:
                break
        else:
            return  # an unknown directive is ignored
        argument = _argument(rest[len(keyword) :])
        if argument is None:
            raise _FileError(path, number, f"!{keyword.decode()} names no file")
        if keyword == b"include":
            self.read(os.fsdecode(self._unpack(argument)), depth + 1)
            return
        try:
            names = sorted(os.listdir(argument))
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "strerror", None) or "not a directory"
            raise _FileError(
                path, number, f"!includedir {os.fsdecode(argument)}: cannot list it ({reason})"
            ) from None
        directory = self._unpack(argument).rstrip(b"/") + b"/"
        for name in names:
            if name.rfind(b".") >= 0 and name[name.rfind(b".") :] == b".cnf":
                self.read(os.fsdecode(directory + name), depth + 1)

    def _unpack(self, path: bytes) -> bytes:
        """``~/`` and ``~user/`` at the start, as the client's ``unpack_filename`` reads them."""
        if not path.startswith(b"~"):
            return path
        slash = path.find(b"/")
        if slash == 1:
            return os.fsencode(self.home) + path[1:] if self.home else path
        if slash < 0:
            return path
        try:
            home = pwd.getpwnam(os.fsdecode(path[1:slash])).pw_dir
        except KeyError:
            return path
        return os.fsencode(home) + path[slash:]


_SPACES = {bytes([byte]) for byte in SPACE}


def _lines(data: bytes) -> list[bytes]:
    """The lines as ``fgets(buffer, 4095)`` reads them: to a newline, at most 4094 bytes."""
    lines, start = [], 0
    while start < len(data):
        newline = data.find(b"\n", start, start + LINE_BYTES)
        stop = newline + 1 if newline >= 0 else min(start + LINE_BYTES, len(data))
        lines.append(data[start:stop])
        start = stop
    return lines


def _skip_space(line: bytes, at: int) -> int:
    while at < len(line) and line[at] in SPACE:
        at += 1
    return at


def _argument(rest: bytes) -> bytes | None:
    """A directive's path, as ``get_argument`` cuts it: white space skipped, the line's last
    byte (the newline fgets keeps, or whatever is there) dropped, trailing white space too."""
    argument = rest[_skip_space(rest, 0) :]
    end = len(argument) - 1
    while end > 0 and argument[end - 1] in SPACE:
        end -= 1
    return argument[:end] if end > 0 else None


def _end_comment(text: bytes) -> bytes:
    """``text`` up to a ``#`` outside quotes (``remove_end_comment``): a quote opens where
    none is open, closes the one open, and a backslash inside quotes protects the next."""
    quote, escaped = 0, False
    for index, byte in enumerate(text):
        if byte in b"'\"" and not escaped:
            if not quote:
                quote = byte
            elif quote == byte:
                quote = 0
        if not quote and byte == ord("#"):
            return text[:index]
        escaped = bool(quote) and byte == ord("\\") and not escaped
    return text


def _option(text: bytes, indented: bool = False) -> tuple[bytes, bytes | None]:
    """An option line (from its first byte that is not white space): its name and value.

    ``indented``: white space came before it.  A line whose name is empty (``=x``) then
    gets all of itself for a name, as the client's trimming runs back over that white
    space and copies the line to its end (``  =x`` is ``--=x=x``)."""
    text = _end_comment(text)
    equals = text.find(b"=")
    name = (text if equals < 0 else text[:equals]).rstrip(SPACE)
    if equals == 0 and indented:
        name = text
    if equals < 0:
        return name, None
    value = text[equals + 1 :].strip(SPACE)
    if len(value) >= 2 and value[0] in b"'\"" and value[-1] == value[0]:
        value = value[1:-1]
    out, index = bytearray(), 0
    while index < len(value):
        byte = value[index]
        if byte == ord("\\") and index != len(value) - 1:
            index += 1
            out += _ESCAPES.get(value[index], b"\\" + value[index : index + 1])
        else:
            out.append(byte)
        index += 1
    return name, bytes(out)


def read_options(
    path: str | os.PathLike[str], groups: tuple[str, ...] = OPTION_GROUPS, home: str | None = None
) -> tuple[list[Option], list[str]]:
    """Every option of ``groups`` in the file at ``path`` and the files it includes, in the
    order ``my_print_defaults --defaults-file=PATH GROUP...`` prints them, and the warnings
    the client would give.  ``ConfigError`` where the client refuses the file, or dbbench
    refuses to read it (not a regular file, too large); ``home``: ``~/`` in an include."""
    reader = _Reader(groups, home)
    reader.read(os.fspath(path), 0)
    return reader.options, reader.warnings


def _resolve(name: bytes) -> tuple[str, str | None, bool] | None:
    """``(option, prefix, abbreviated)`` for a name the client takes for one of
    ``OPTION_KEYS``: any case, ``-`` or ``_``, ``loose-`` prefixes; ``prefix`` one of
    ``skip``, ``disable``, ``enable``, ``maximum``; ``abbreviated`` when a unique prefix."""
    text = name.decode("latin-1").lower().replace("_", "-")
    while text.startswith("loose-"):
        text = text.removeprefix("loose-")
    prefix = None
    for special in ("skip", "disable", "enable", "maximum"):
        if text.startswith(special + "-"):
            prefix, text = special, text.removeprefix(special + "-")
            break
    for option, shortest in _SHORTEST_PREFIX.items():
        if len(text) >= shortest and option.startswith(text):
            return option, prefix, text != option
    return None


def read_option_file(path: Path, env: Mapping[str, str] | None = None) -> OptionFile:
    """The login ``path`` (and what it includes) gives, as the ``mariadb`` client reads it.

    Other groups and other options are ignored, as a client ignores what is not its own.
    ``env``: where ``HOME`` is, for ``~/`` in an ``!include`` (this process's by default).
    """
    environment = os.environ if env is None else env
    options, warnings = read_options(path, home=environment.get("HOME"))
    values: dict[str, str] = {}
    where: dict[str, str] = {}
    password_path: str | None = None
    asks: str | None = None
    for option in options:
        resolved = _resolve(option.name)
        if resolved is None:
            continue
        name, prefix, abbreviated = resolved
        key, shown = OPTION_KEYS[name], option.name.decode("utf-8", "backslashreplace")
        here = option.where(name)
        if abbreviated:
            warnings.append(
                f"{option.where(shown)} is taken for {name}, as the mariadb client takes a "
                f"unique prefix of an option's name; write {name} in full"
            )
        if prefix is not None and not (name == "password" and prefix in ("skip", "disable")):
            warnings.append(
                f"{option.where(shown)} is ignored: dbbench takes no {prefix}- of {name} "
                "(the mariadb client sets it to something else, or crashes)"
            )
            continue
        if prefix is not None:  # skip-password, disable-password: no password, no prompt
            text: bytes | None = b""
        else:
            text = option.value
        if text is None:
            if name == "password":  # the client asks on the terminal
                asks, password_path = here, None
                values.pop(key, None)
                where.pop(key, None)
            else:
                warnings.append(f"{here} has no value and is ignored")
            continue
        values[key] = _text(text, key, here)
        where[key] = here
        if name == "password":
            asks, password_path = None, option.path
    return OptionFile(values, where, password_path, asks, tuple(warnings))


def _text(value: bytes, key: str, where: str) -> str:
    if key == "password":
        return value.decode("utf-8", "surrogateescape")
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{where}: not UTF-8 text ({exc.reason} at byte {exc.start} of the value)"
        ) from None


def option_file_path(env: Mapping[str, str]) -> Path | None:
    """``$HOME/.my.cnf`` when HOME is set and something is there (``read_option_file``
    decides what: a directory or a world-writable file is ignored, a FIFO refused)."""
    home = env.get("HOME")
    if not home:
        return None
    path = Path(home) / OPTION_FILE_NAME
    return path if os.path.lexists(path) else None


def may_be_read_by_others(path: str | os.PathLike[str]) -> int | None:
    """The file's permission bits when group or others may read it, else None."""
    mode = os.stat(path).st_mode & 0o777
    return mode if mode & 0o044 else None


def prompt_password(prompt: str, asked_by: str = "--password") -> str:
    """Ask on the terminal with echo off; ``asked_by``: what asked, for the message when
    there is no terminal.

    getpass would fall back to reading stdin, echoing, when there is no
    terminal (CI, a pipe): refuse instead, and say what to use there.
    """
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        raise ConfigError(
            f"{asked_by} asks for the password on a terminal, and there is none (CI, a pipe, "
            "a service); give it with DBBENCH_PASSWORD or MYSQL_PWD, [client] password in "
            "~/.my.cnf, or [database] password in the settings file"
        ) from None
    os.close(fd)
    try:
        return getpass.getpass(prompt)
    except UnicodeDecodeError:
        raise ConfigError(
            "the password typed is not text in the terminal's encoding; give it with "
            "DBBENCH_PASSWORD or MYSQL_PWD, or in ~/.my.cnf, which dbbench sends byte for byte"
        ) from None


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
