"""Text from outside on a rich console: shown as it is, never obeyed.

A result file, a flag or a server hands dbbench labels, names, paths, versions and notes
that it prints.  Two things in such a value would be obeyed rather than shown:

- rich markup (``[bold red]x[/]``, ``[link=...]``): every value a format puts into markup
  goes through ``literal``, which escapes it (``rich.markup.escape``) and its control
  characters; ``plain`` makes a ``Text`` of a value (never read as markup) likewise;
- control characters (ESC, BEL, CR, C1, bidi overrides: ``dbbench.text``): the consoles
  the command line makes are ``SafeConsole``, which escapes them in every string it
  renders, whatever a format forgot, line breaks apart (a table's title has its own);
  nor does it read emoji codes (``:warning:``) in them.

JSON needs neither (``json.dumps`` escapes every control character); CSV neutralises its
own cells (``csv_format``); Markdown escapes its text (``numbers.escape_markdown``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.segment import Segment
from rich.text import Text

from dbbench.text import has_control, printable


class SafeConsole(Console):
    """A rich ``Console`` that shows a string's control characters escaped (``\\x1b``), line
    breaks apart: whatever it is given to print, in a table's cell or title, a terminal
    gets no escape sequence, bell or carriage return from it (rich's own styles and
    cursor moves are not text: they are untouched).

    Strings are escaped before rich lays them out (``render_str``: a cell is as wide as
    what it shows); a ``Text`` made elsewhere is escaped as it is rendered (``render``),
    the net under everything.  Emoji codes are not read (``:warning:`` in a label stays
    that text): dbbench writes its symbols as the characters they are."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("emoji", False)
        super().__init__(*args, **kwargs)

    def render_str(self, text: str, **kwargs: Any) -> Text:
        return super().render_str(printable(text, keep="\n"), **kwargs)

    def render(self, renderable: Any, options: Any = None) -> Iterable[Segment]:
        for segment in super().render(renderable, options):
            if segment.control or not has_control(segment.text.replace("\n", "")):
                yield segment
            else:
                yield Segment(printable(segment.text, keep="\n"), segment.style)


def literal(value: object) -> str:
    """``value`` as text for rich markup that shows it literally: its markup escaped, its
    control characters too (a newline as ``\\n``: a value is one line)."""
    return escape(printable(str(value)))


def plain(value: object, style: str = "") -> Text:
    """``value`` as a rich ``Text`` (never read as markup), its control characters escaped."""
    return Text(printable(str(value)), style=style)
