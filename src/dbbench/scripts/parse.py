"""A script file's text -> ``Script``: its SQL statements, ``\\set`` and ``\\sleep``, in order.

What a line may hold, as pgbench's ``-f`` scripts (``ParseScript`` in ``pgbench.c``, its
SQL lexer ``psqlscan.l``):

* SQL: a statement ends at a ``;`` outside quotes, comments and parentheses, or where a
  meta-command begins, or at the end of the file; it may span lines.  Blank lines and
  comments between statements are skipped; a statement is sent as written (its comments
  included), without the ``;``.  What the lexer knows of each dialect:

  - PostgreSQL: ``'...'`` (``''`` inside), ``E'...'`` (backslash escapes too),
    ``"..."`` identifiers, ``$$...$$`` and ``$tag$...$tag$``, ``--`` comments, nested
    ``/* */``;
  - MySQL/MariaDB: ``'...'`` and ``"..."`` with backslash escapes and doubled quotes,
    `````...````` identifiers, ``-- `` (with the space MySQL wants), ``#`` and ``/* */``
    comments.

  ``:name`` outside those is a variable, sent as a parameter (``bind``), never pasted
  into the text; ``::type`` (any run of two colons or more) is a cast, and ``:`` before
  anything but a letter or ``_`` is the SQL's own (``a[1:2]``, ``:=``).
* ``\\set NAME EXPR``: the rest of the line is an expression (``expr``); a line ending in
  ``\\`` goes on on the next, as pgbench's meta-commands do.
* ``\\sleep N [us|ms|s]``: N a whole number or a ``:variable``, in seconds unless a unit
  says otherwise.  Think time, counted apart from the database's (``run``).

pgbench's other meta-commands (``\\gset``, ``\\if``, ``\\shell``, pipelines, ...) and ``\\;``
are refused by name.  Variables are checked before anything runs: each one read must have
been set by a ``\\set`` above it or be one of those the caller gives (``variables``:
pgbench predefines ``scale``, ``client_id``, ``random_seed`` and ``default_seed``, the
last read by ``hash(x)`` without a seed).  A script with no SQL statement is refused.

The file is read as any file dbbench reads (``safeio``): a regular file of at most
``SCRIPT_LIMIT`` bytes, UTF-8 text without NUL.  Every problem is a ``ScriptError``, one
line: ``tx.sql:3: unsupported meta-command \\gset (dbbench runs \\set and \\sleep)``.
"""

from __future__ import annotations

import bisect
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass

from dbbench import safeio
from dbbench.scripts.expr import (
    ExpressionSyntaxError,
    Node,
    ScriptError,
    fold_check,
    parse_expression,
)

#: the most dbbench reads from a script file (pgbench's built-in scripts are ~1 KiB)
SCRIPT_LIMIT = 1 * safeio.MiB
#: the longest ``\sleep`` a script may ask for, in microseconds (a day)
MAX_SLEEP_US = 86_400 * 1_000_000

DIALECTS = ("postgresql", "mysql")
#: pgbench's meta-commands this module refuses (by name, so that a pgbench script's
#: message says what dbbench lacks, not that the command is unheard of)
PGBENCH_ONLY = frozenset(
    ["setshell", "shell", "if", "elif", "else", "endif", "gset", "aset"]
    + ["startpipeline", "syncpipeline", "endpipeline"]
)
_RUNS = "(dbbench runs \\set and \\sleep)"

_NAME = re.compile(r"[A-Za-z_\u0080-\U0010ffff][A-Za-z0-9_\u0080-\U0010ffff]*")
_IDENTIFIER_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_$")
_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_\u0080-\U0010ffff][A-Za-z0-9_\u0080-\U0010ffff]*)?\$")
_SLEEP_UNITS_US = {"us": 1, "ms": 1_000, "s": 1_000_000}


@dataclass(frozen=True)
class Reference:
    """``:name`` in a statement: the variable and where it stands in ``Statement.sql``."""

    name: str
    start: int
    end: int


@dataclass(frozen=True)
class Statement:
    """One SQL statement: its text as written (no ``;``), the line it starts on, the
    variables in it, and ``index``, its place among the script's statements (0 first)."""

    sql: str
    line: int
    references: tuple[Reference, ...]
    index: int


@dataclass(frozen=True)
class SetVariable:
    """``\\set name expression``."""

    name: str
    expression: Node
    line: int


@dataclass(frozen=True)
class Sleep:
    """``\\sleep``: ``amount`` (a whole number, or the name of the variable that holds
    it) times ``unit_us`` microseconds."""

    amount: int | str
    unit_us: int
    line: int


Command = Statement | SetVariable | Sleep


@dataclass(frozen=True)
class Script:
    """A parsed script: ``name`` (the file as messages name it) and its commands in order."""

    name: str
    commands: tuple[Command, ...]

    @property
    def statements(self) -> tuple[Statement, ...]:
        return tuple(c for c in self.commands if isinstance(c, Statement))

    def where(self, line: int) -> str:
        """``tx.sql:3``: where a message about ``line`` points."""
        return f"{self.name}:{line}"


class _Scanner:
    """One pass over a script's text: statements, meta-commands, and where each stands."""

    def __init__(self, text: str, name: str, dialect: str, variables: Iterable[str]) -> None:
        self.text = text
        self.name = name
        self.mysql = dialect == "mysql"
        self.defined = set(variables)
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.commands: list[Command] = []
        self.statements = 0
        # the statement being read: where it starts, the variables seen in it
        self.start: int | None = None
        self.references: list[tuple[str, int, int]] = []

    # ------------------------------------------------------------------ where

    def line(self, offset: int) -> int:
        return bisect.bisect_right(self.line_starts, offset)

    def column(self, offset: int) -> int:
        return offset - self.line_starts[self.line(offset) - 1] + 1

    def error(self, offset: int, message: str) -> ScriptError:
        return ScriptError(f"{self.name}:{self.line(offset)}: {message}")

    # ------------------------------------------------------------------ the pass

    def scan(self) -> tuple[Command, ...]:
        text, i, depth = self.text, 0, 0
        if "\x00" in text:
            raise self.error(text.index("\x00"), "a NUL byte: a script is text")
        while i < len(text):
            c = text[i]
            skipped = self.comment_end(i)
            if skipped is not None:
                i = skipped
            elif c.isspace():
                i += 1
            elif c == "\\":
                if text.startswith(("\\;", "\\:"), i):
                    raise self.error(
                        i, f"{text[i:i + 2]} is not supported: end each statement with ;"
                    )
                self.flush(i)
                depth = 0
                i = self.meta_command(i)
            elif c == ";" and depth == 0:
                self.flush(i)  # nothing when nothing came before: an empty statement
                i += 1
            else:
                if self.start is None:
                    self.start = i
                if c == "(":
                    depth, i = depth + 1, i + 1
                elif c == ")":
                    depth, i = max(0, depth - 1), i + 1
                elif c == ":":
                    i = self.colon(i)
                else:
                    i = self.quoted_end(i)
        self.flush(len(text))
        if not self.statements:
            raise ScriptError(
                f"{self.name}:1: no SQL statement in the script (an operation runs the "
                "script's statements; comments, blank lines, \\set and \\sleep alone are none)"
            )
        return tuple(self.commands)

    def flush(self, end: int) -> None:
        """End the statement being read at ``end`` (its ``;``, a meta-command, the end)."""
        if self.start is None:
            return
        start = self.start
        sql = self.text[start:end].rstrip()
        references = tuple(Reference(n, s - start, e - start) for n, s, e in self.references)
        self.commands.append(Statement(sql, self.line(start), references, self.statements))
        self.statements += 1
        self.start, self.references = None, []

    # ------------------------------------------------------------------ SQL lexing

    def comment_end(self, i: int) -> int | None:
        """Where the comment at ``i`` ends (its newline stays), or None if none starts there."""
        text = self.text
        if text.startswith("--", i) and (
            not self.mysql or i + 2 == len(text) or text[i + 2].isspace()
        ) or (self.mysql and text[i] == "#"):
            end = text.find("\n", i)
            return len(text) if end == -1 else end
        if not text.startswith("/*", i):
            return None
        nesting, j = 1, i + 2
        while nesting:
            close = text.find("*/", j)
            if close == -1:
                raise self.error(i, "a /* comment that is never closed starts on this line")
            opened = text.find("/*", j, close)
            if opened != -1 and not self.mysql:  # PostgreSQL nests them, MySQL does not
                nesting, j = nesting + 1, opened + 2
            else:
                nesting, j = nesting - 1, close + 2
        return j

    def quoted_end(self, i: int) -> int:
        """Past the quoted string, identifier or dollar quote at ``i``; ``i + 1`` if none."""
        text, c = self.text, self.text[i]
        if c == "$" and not self.mysql and (i == 0 or text[i - 1] not in _IDENTIFIER_CHARS):
            tag = _DOLLAR_TAG.match(text, i)
            if tag is None:
                return i + 1
            end = text.find(tag.group(), tag.end())
            if end == -1:
                raise self.error(
                    i, f"a {tag.group()} quoted string that is never closed starts on this line"
                )
            return end + len(tag.group())
        if c == "'" or c == '"' or (c == "`" and self.mysql):
            escaped = self.mysql and c != "`" or (
                c == "'" and i > 0 and text[i - 1] in "Ee"
                and (i == 1 or text[i - 2] not in _IDENTIFIER_CHARS)
            )
            return self.closing_quote(i, c, escaped)
        return i + 1

    def closing_quote(self, i: int, quote: str, escaped: bool) -> int:
        text, j = self.text, i + 1
        while j < len(text):
            c = text[j]
            if escaped and c == "\\":
                j += 2
            elif c == quote:
                if text.startswith(quote, j + 1):  # doubled: one quote inside
                    j += 2
                else:
                    return j + 1
            else:
                j += 1
        what = "identifier" if quote in '"`' and not (quote == '"' and self.mysql) else "string"
        raise self.error(i, f"a quoted {what} ({quote}) that is never closed starts on this line")

    def colon(self, i: int) -> int:
        text, j = self.text, i
        while j < len(text) and text[j] == ":":
            j += 1
        if j - i > 1:  # ::type, as pgbench skips every run of colons
            return j
        name = _NAME.match(text, j)
        if name is None:
            return j
        self.check_defined(name.group(), i, "")
        self.references.append((name.group(), i, name.end()))
        return name.end()

    def check_defined(self, variable: str, offset: int, where: str) -> None:
        if variable not in self.defined:
            raise self.error(
                offset,
                f"undefined variable :{variable}{where} (no \\set above this line sets it, "
                "and the run gives no such variable)",
            )

    # ------------------------------------------------------------------ meta-commands

    def meta_command(self, i: int) -> int:
        """Read the meta-command at ``i`` (its backslash) to the end of its line, or of its
        last line continued with a trailing backslash; return where the next line starts."""
        text = self.text
        pieces: list[tuple[int, int]] = []  # (start, end) of each physical line's part
        start = i + 1
        while True:
            newline = text.find("\n", start)
            end = len(text) if newline == -1 else newline
            part_end = end - 1 if end > start and text[end - 1] == "\r" else end
            if newline != -1 and part_end > start and text[part_end - 1] == "\\":
                pieces.append((start, part_end - 1))
                start = newline + 1
                continue
            pieces.append((start, part_end))
            break
        logical = " ".join(text[a:b] for a, b in pieces)
        offsets: list[tuple[int, int]] = []  # (offset in logical, offset in text)
        position = 0
        for a, b in pieces:
            offsets.append((position, a))
            position += b - a + 1

        def at(offset: int) -> int:
            index = bisect.bisect_right([p for p, _ in offsets], offset) - 1
            logical_start, file_start = offsets[max(index, 0)]
            return file_start + offset - logical_start

        word = re.match(r"\S*", logical)
        assert word is not None
        command = word.group().lower()
        if command == "set":
            self.set_command(logical, word.end(), at, i)
        elif command == "sleep":
            self.sleep_command(logical[word.end():].split(), i)
        elif command in PGBENCH_ONLY:
            raise self.error(i, f"unsupported meta-command \\{word.group()} {_RUNS}")
        elif not command:
            raise self.error(i, f"a backslash with no meta-command after it {_RUNS}")
        else:
            raise self.error(i, f"unknown meta-command \\{word.group()} {_RUNS}")
        return len(text) if newline == -1 else newline + 1

    def set_command(self, logical: str, after: int, at, backslash: int) -> None:
        rest = logical[after:]
        stripped = rest.lstrip()
        if not stripped:
            raise self.error(backslash, "\\set needs a variable and an expression: \\set NAME EXPR")
        name = stripped.split(None, 1)[0]
        if _NAME.fullmatch(name) is None:
            raise self.error(
                backslash,
                f"\\set {name}: not a variable name (letters, digits and _, not a digit first)",
            )
        expression_start = after + (len(rest) - len(stripped)) + len(name)
        expression_text = logical[expression_start:]
        label = f"\\set {name}"
        try:
            expression = parse_expression(expression_text)
        except ExpressionSyntaxError as exc:
            self.expression_error(at(expression_start + exc.offset), label, exc.message)
        for variable, offset in expression.variables():
            file_offset = at(expression_start + offset)
            self.check_defined(
                variable, file_offset, f" in {label} (column {self.column(file_offset)})"
            )
        try:
            fold_check(expression)
        except ExpressionSyntaxError as exc:
            self.expression_error(
                at(expression_start + exc.offset),
                label,
                f"{exc.message}, whatever the variables hold",
            )
        self.defined.add(name)
        self.commands.append(SetVariable(name, expression, self.line(backslash)))

    def expression_error(self, offset: int, label: str, message: str) -> None:
        column = self.column(offset)
        raise self.error(offset, f"bad expression in {label} at column {column}: {message}")

    def sleep_command(self, words: list[str], backslash: int) -> None:
        usage = "\\sleep N [us|ms|s], N a whole number or a :variable"
        if not words or len(words) > 2:
            given = " ".join(["\\sleep", *words])
            raise self.error(backslash, f"{given}: expected {usage}")
        amount_text = words[0]
        unit = words[1].lower() if len(words) == 2 else "s"
        if unit not in _SLEEP_UNITS_US:
            raise self.error(
                backslash, f"\\sleep {amount_text} {words[1]}: unknown unit (us, ms or s)"
            )
        amount: int | str
        if amount_text.startswith(":") and _NAME.fullmatch(amount_text[1:]):
            amount = amount_text[1:]
            self.check_defined(amount, backslash, " in \\sleep")
        elif amount_text.isascii() and amount_text.isdigit():
            amount = int(amount_text)
            if amount * _SLEEP_UNITS_US[unit] > MAX_SLEEP_US:
                raise self.error(backslash, f"\\sleep {' '.join(words)}: longer than a day")
        else:
            raise self.error(backslash, f"\\sleep {amount_text}: expected {usage}")
        self.commands.append(Sleep(amount, _SLEEP_UNITS_US[unit], self.line(backslash)))


def parse_script(
    text: str, name: str, *, dialect: str = "postgresql", variables: Iterable[str] = ()
) -> Script:
    """The script in ``text``, ``name`` its file as messages say it; ``variables`` the
    names the run defines before the script's first line; ``dialect`` whose SQL lexing
    applies (``DIALECTS``).  A ``ScriptError`` (one line) when it is not one.  A UTF-8
    byte order mark at its start (some Windows editors write one) is left out: pgbench
    sends it with the first statement, which then fails (``syntax error at or near``),
    or takes it for a statement of its own before a first meta-command."""
    if dialect not in DIALECTS:
        raise ValueError(f"dialect {dialect!r} is not one of {DIALECTS}")
    text = text.removeprefix("\ufeff")
    return Script(name, _Scanner(text, name, dialect, variables).scan())


def read_script(
    path: os.PathLike[str] | str,
    *,
    dialect: str = "postgresql",
    variables: Iterable[str] = (),
    name: str | None = None,
) -> Script:
    """The script in the file at ``path`` (``parse_script``), read as ``safeio`` reads:
    a regular file of at most ``SCRIPT_LIMIT`` bytes, UTF-8; else a ``ScriptError``."""
    try:
        text = safeio.read_text(path, limit=SCRIPT_LIMIT, what="a script")
    except safeio.FileProblem as exc:
        raise ScriptError(str(exc)) from None
    return parse_script(
        text, os.fspath(path) if name is None else name, dialect=dialect, variables=variables
    )


__all__ = [
    "DIALECTS",
    "SCRIPT_LIMIT",
    "Command",
    "Reference",
    "Script",
    "ScriptError",
    "SetVariable",
    "Sleep",
    "Statement",
    "parse_script",
    "read_script",
]
