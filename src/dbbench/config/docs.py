"""The table of settings as documents: ``config.example.toml`` and the configuration
reference's table (``docs/reference/configuration.md``, generated with cog).

``python -m dbbench.config.docs > config.example.toml`` rewrites the example file;
``tests/unit/test_settings_table.py`` fails when either document is not what the table says.
"""

from __future__ import annotations

import json
import textwrap
from typing import Any

from dbbench.config.schema import ARGUMENTS, COMMAND_ROWS, SECTIONS, SETTINGS, Setting

#: where a key's comment starts in config.example.toml, and the widest line
_COMMENT_COLUMN = 30
_WIDTH = 100

_EXAMPLE_HEADER = """\
# dbbench settings. Copy to ./dbbench.toml (read automatically) or pass --config PATH.
# Every key is optional; the value shown is the default (a commented-out key has none,
# or is a secret: prefer the environment or a prompt).
# Precedence: command-line flag > environment variable > this file > default.
# Generated from dbbench's table of settings (src/dbbench/config/schema.py):
# python -m dbbench.config.docs > config.example.toml
"""

_UNITS = {"s": "seconds", "ops/s": "operations per second"}


def toml_value(value: Any) -> str:
    """``value`` as TOML writes it: ``"text"``, ``true``, ``10``, ``-1``, ``2.5``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _limits(row: Setting) -> str:
    """Unit and bounds in words: "seconds, > 0"."""
    return ", ".join(filter(None, (_UNITS.get(row.unit or "", row.unit), row.limits)))


def _example_lines(row: Setting) -> list[str]:
    lines = [f"# {line}".rstrip() for line in row.comment]
    shown = row.default if row.default is not None else row.example
    # a default said in words is no one value (the port: 3306, 5432 for PostgreSQL): the
    # key is left commented, so that a copy of the file keeps the default's logic
    commented = row.secret or row.default is None or row.default_text is not None
    assignment = f"{'# ' if commented else ''}{row.key} = {toml_value(shown)}"
    setters = ", ".join([*row.env, *([row.flag.name] if row.flag else [])])
    limits = _limits(row).replace(" ", "\N{NO-BREAK SPACE}")  # "> 0" stays on one line
    text = f"{setters + ': ' if setters else ''}{row.help}{f' ({limits})' if limits else ''}"
    if commented and row.default_text:
        text += f"; default {row.default_text}"
    column = max(_COMMENT_COLUMN, len(assignment) + 1)
    wrapped = textwrap.wrap(text, _WIDTH - column - 2) or [""]
    lines.append(f"{assignment:<{column}}# {wrapped[0]}")
    lines.extend(f"{'':<{column}}# {more}" for more in wrapped[1:])
    return [line.replace("\N{NO-BREAK SPACE}", " ") for line in lines]


def example_config() -> str:
    """The text of ``config.example.toml``."""
    parts = [_EXAMPLE_HEADER]
    for section in SECTIONS:
        lines = [f"[{section}]"]
        for row in SETTINGS:
            if row.section == section:
                lines.extend(_example_lines(row))
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)


def _code(text: str) -> str:
    return f"`{text}`"


def reference_table() -> str:
    """The configuration reference's Markdown table: one row per setting."""
    rows = [
        "| setting | flag | environment | default | notes |",
        "|---|---|---|---|---|",
    ]
    for row in SETTINGS:
        flag = "–"
        if row.flag is not None:
            flag = ", ".join(_code(f) for f in (row.flag.name, row.flag.short) if f)
            if row.flag.kind == "prompt":
                flag += " (a prompt, no value)"
        env = ", ".join(_code(v) for v in row.env) or "–"
        if row.default_text is not None:
            default = row.default_text
        elif row.default_words is None:
            default = "none"
        else:
            default = _code(row.default_words)
        own = [
            f"{command}: {_code(rows[row.name].default_words)}"
            for command, rows in COMMAND_ROWS.items()
            if row.name in rows
        ]
        if own:  # a command's own default, which the settings file does not change
            default += f" ({'; '.join(own)}, whatever the file says)"
        notes = row.help
        limits = _limits(row)
        if limits:
            notes += f"; {limits}"
        if row.doc_note:
            notes += f" ({row.doc_note})"
        cells = [_code(row.name), flag, env, default, notes.replace("|", "\\|")]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def arguments_table() -> str:
    """The configuration reference's table of the commands' own numbers (``ARGUMENTS``):
    flag, commands, what it is, the values it takes."""
    rows = ["| flag | commands | what | values |", "|---|---|---|---|"]
    for row in ARGUMENTS:
        commands = ", ".join(f"`{command}`" for command in row.commands)
        limits = ", ".join(filter(None, (_UNITS.get(row.unit or "", row.unit), row.limits)))
        cells = [_code(row.flag), commands, row.help, limits.replace("|", "\\|")]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(example_config(), end="")
