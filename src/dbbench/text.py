"""Text from outside (a flag, a settings file, a result file, a server) made safe to show.

A value may hold characters a terminal obeys rather than shows: a newline that splits a
one-line error in two, ESC starting a sequence that recolours, moves the cursor, retitles
the window or clears the screen, a carriage return or a backspace that writes over what
was shown, C1 controls (U+0080-U+009F, ``\\x9b`` a CSI of its own on some terminals),
Unicode's line separators, and the bidirectional overrides that reorder a line ("Trojan
Source").  ``printable`` writes each of them as Python writes it in a string literal
(``\\n``, ``\\x1b``, ``\\u202e``), so what is shown is what the value holds, on the lines
it was given.  Imports nothing of dbbench: errors, the console and the formats all use it.
"""

from __future__ import annotations

import re

#: C0 controls and DEL, C1 controls, the line and paragraph separators, the bidirectional
#: marks, embeddings, overrides and isolates
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escaped(char: str) -> str:
    """One control character as a string literal writes it: ``\\n``, ``\\x1b``, ``\\u202e``."""
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, *, keep: str = "") -> str:
    """``text`` with every control character (``CONTROL``) escaped, but those in ``keep``
    (``"\\n"``: a table's title has line breaks of its own)."""
    return CONTROL.sub(lambda m: m.group() if m.group() in keep else escaped(m.group()), text)


def shortened(sql: str, width: int = 40) -> str:
    """A statement on one line for a table: its runs of blanks (newlines too) as one space,
    cut to ``width`` characters with ``…`` where longer."""
    flat = " ".join(sql.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def has_control(text: str) -> bool:
    """Whether ``text`` holds a control character ``printable`` would escape."""
    return CONTROL.search(text) is not None
