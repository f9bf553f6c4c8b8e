"""A statement's ``:name`` -> the driver's parameters: the text a driver is given, and the
values, typed (an int, a double, a boolean, NULL), never pasted into that text.

PEP 249's paramstyles as dbbench's drivers speak them (``Driver.paramstyle``):

* ``format`` (``%s``): PyMySQL, mysqlclient, psycopg, psycopg2.  These drivers read
  every ``%`` of a statement given parameters, in string literals too, so each ``%`` of
  the script's own text is sent as ``%%`` -- only in a statement that has variables: one
  without is given no parameters, and its ``%`` stays as written (``LIKE 'a%'``);
* ``format_verbatim`` (``%s``, the rest as written): mysql-connector, which replaces
  each ``%s`` of the text and nothing else (``%%`` stays two).  A ``%s`` of the
  script's own text, in a statement with variables, would be taken for a placeholder,
  and is refused;
* ``numeric`` (``$1``, ``$2``, ...): asyncpg, PostgreSQL's own placeholders.  A variable
  used twice is one parameter, named twice.

``SELECT c FROM t WHERE id = :id`` becomes ``SELECT c FROM t WHERE id = %s`` with
``(42,)``, or ``... id = $1`` with ``(42,)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from dbbench.scripts.expr import ScriptError, Value
from dbbench.scripts.parse import Script, Statement

PARAMSTYLES = ("format", "format_verbatim", "numeric")


@dataclass(frozen=True)
class BoundStatement:
    """A statement as a driver is given it: ``sql`` in its paramstyle, and ``names``,
    the variable each parameter takes its value from, in order."""

    statement: Statement
    sql: str
    names: tuple[str, ...]

    def parameters(self, variables: Mapping[str, Value]) -> tuple[Value, ...] | None:
        """The values for ``execute``; None for a statement without variables (the driver
        then reads its text as it is)."""
        if not self.names:
            return None
        return tuple(variables[name] for name in self.names)


def bind(statement: Statement, paramstyle: str, name: str = "the script") -> BoundStatement:
    """``statement`` with each ``:name`` a placeholder of ``paramstyle`` (``PARAMSTYLES``);
    ``name`` the script's file, for the ``ScriptError`` of a statement the paramstyle
    cannot carry."""
    if paramstyle not in PARAMSTYLES:
        raise ValueError(f"paramstyle {paramstyle!r} is not one of {PARAMSTYLES}")
    if not statement.references:
        return BoundStatement(statement, statement.sql, ())
    sql = statement.sql
    if paramstyle == "format_verbatim" and "%s" in sql:
        raise ScriptError(
            f"{name}:{statement.line}: %s in a statement with variables: the driver "
            "(mysql-connector) would take it for a parameter; write it another way "
            "(CONCAT('%', 's')), or use another driver"
        )
    pieces: list[str] = []
    names: list[str] = []
    numbers: dict[str, int] = {}
    position = 0
    for reference in statement.references:
        text = sql[position:reference.start]
        if paramstyle == "numeric":
            if reference.name not in numbers:
                numbers[reference.name] = len(numbers) + 1
                names.append(reference.name)
            pieces += [text, f"${numbers[reference.name]}"]
        else:
            pieces += [_escaped(text, paramstyle), "%s"]
            names.append(reference.name)
        position = reference.end
    pieces.append(_escaped(sql[position:], paramstyle))
    return BoundStatement(statement, "".join(pieces), tuple(names))


def _escaped(text: str, paramstyle: str) -> str:
    return text.replace("%", "%%") if paramstyle == "format" else text


def bind_script(script: Script, paramstyle: str) -> tuple[BoundStatement, ...]:
    """Every statement of ``script``, bound, in order."""
    return tuple(bind(statement, paramstyle, script.name) for statement in script.statements)


__all__ = ["PARAMSTYLES", "BoundStatement", "bind", "bind_script"]
