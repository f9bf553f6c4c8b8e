"""What every database's guard shares: the scanner's loop, the judgement over every reading
of a text, and the words of a refusal.

A database's module (``guard.mysql``, ``guard.postgresql``) says how its server reads a
text: what the scanner stops at and what each such token is (``scan``'s ``token``), in
how many ways the server may read it (``Grammar.readings``: with and without backslash
escapes ...), which characters make its reading uncertain (``Grammar.ambiguous``), and
which words and calls change something.  ``judge`` then applies the same rule to every
database: where the reading is uncertain, a write word or an effect anywhere, or a second
statement, is refused; otherwise every statement of every reading must pass the
database's statement rule.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from dbbench.errors import ConfigError, mention


class Statement:
    """One statement as the server reads it, twice: ``blanked`` with every literal and quoted
    name ``''`` (for the words: ```update``` is a column), ``named`` with a quoted name as
    its bare name (for the calls: ```GET_LOCK`(`` calls GET_LOCK)."""

    __slots__ = ("blanked", "named")

    def __init__(self, blanked: str, named: str) -> None:
        self.blanked, self.named = blanked, named


#: what a token handler returns: where scanning goes on, what the token reads as in
#: ``blanked``, and in ``named`` (None: the same); or None for a statement separator
Token = tuple[int, str, str | None] | None


def scan(
    query: str, special: re.Pattern[str], token: Callable[[re.Match[str]], Token]
) -> list[Statement]:
    """The statements of ``query``: the text between the matches of ``special`` as it is, each
    match replaced as ``token`` says (a literal by ``''``, a comment by a blank) or ending a
    statement; the empty ones left out.  One pass: each match's end lies beyond its
    start."""
    statements: list[Statement] = []
    blanked: list[str] = []
    named: list[str] = []

    def end_statement() -> None:
        statement = Statement("".join(blanked).strip(), "".join(named).strip())
        if statement.blanked:
            statements.append(statement)
        blanked.clear()
        named.clear()

    i = 0
    while True:
        match = special.search(query, i)
        if match is None:
            blanked.append(query[i:])
            named.append(query[i:])
            break
        blanked.append(query[i : match.start()])
        named.append(query[i : match.start()])
        read = token(match)
        if read is None:
            end_statement()
            i = match.end()
        else:
            i, as_blanked, as_named = read
            blanked.append(as_blanked)
            named.append(as_blanked if as_named is None else as_named)
    end_statement()
    return statements


def close_quote(text: str, start: int, quote: str, backslash_escapes: bool) -> int:
    """The index just after the literal or quoted name opening with the ``quote`` at
    ``start`` (a doubled quote is part of it; with ``backslash_escapes`` a backslash
    escapes the next character); the end if unterminated."""
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == "\\" and backslash_escapes:
            i += 2
        elif char == quote:
            if text.startswith(quote, i + 1):  # a doubled quote: part of the literal
                i += 2
            else:
                return i + 1
        else:
            i += 1
    return len(text)


#: what lets SQL that may write run: the argument of ``check_query`` (the command line's flag)
ALLOW_WRITES = mention("allow_writes")
#: how often a query runs, and an init_command
QUERY_RUNS = "thousands of times"
INIT_RUNS = "on every connection it opens"
PLAIN_READ = ": it is not a plain SELECT/SHOW"
#: the first word of a statement
FIRST_WORD = re.compile(r"[\s(]*([A-Za-z_]\w*)")


@dataclass(frozen=True)
class Grammar:
    """How one database's server reads a text, as ``judge`` needs it."""

    #: statements that read: the only ones allowed without --allow-writes
    read_keywords: tuple[str, ...]
    #: statements that change something (for the message: any other is refused too)
    write_keywords: frozenset[str]
    #: words that make even a read statement change something
    write_words: re.Pattern[str]
    #: a call of a function with effects
    effect_calls: re.Pattern[str]
    #: where the server's reading of a text may differ from the scanner's
    ambiguous: re.Pattern[str]
    #: what those are, for the message ("comments, backslashes or brackets")
    ambiguous_what: str
    #: every comment, as the whole-text check takes them out
    uncommented: Callable[[str], str]
    #: a statement separator with more text after it
    inner_separator: re.Pattern[str]
    #: the statements of a text in every way the server may read it
    readings: Callable[[str], Iterable[list[Statement]]]
    #: a read statement's first word and blanked text -> the text its write words are
    #: looked for in (MySQL: SHOW CREATE TABLE only shows)
    words_in: Callable[[str, str], str] = lambda word, blanked: blanked
    #: why a write word counts, for the message, where it is not plain
    why: Mapping[str, str] = field(default_factory=dict)


#: what stands between the words or the name and the "(" of a match, for the message
_MATCH_GAPS = re.compile(r"[\s`\"(\[\]]+")


def shown_match(found: re.Match[str], calls: re.Pattern[str]) -> str:
    """A write word or a call (a match of ``calls``) as the message names it: ``FOR SHARE``,
    ``GET_LOCK()``."""
    text = _MATCH_GAPS.sub(" ", found.group()).strip().upper().replace(". ", ".")
    return f"{text}()" if found.re is calls and not text.startswith(".") else text


def may_change(found: str, why: str, runs: str, does: str = "may change data") -> str:
    """The rest of a refusal's line after the value, for SQL holding ``found`` (a write
    word, a call), ``why`` that counts, that runs ``runs``; ``does``: what it may do."""
    return (
        f"{does} ({found}{why}); dbbench runs it {runs}, so give {ALLOW_WRITES} "
        "if that is what you want"
    )


def first_word(statement: Statement) -> tuple[str, str | None]:
    """The statement's first word in capitals ('' if none), and as written."""
    first = FIRST_WORD.match(statement.blanked)
    return (first.group(1).upper(), first.group(1)) if first else ("", None)


def effect(grammar: Grammar, blanked: str, named: str) -> str | None:
    """The first write word or call of an effect function in a statement, if any, named."""
    found = grammar.write_words.search(blanked) or grammar.effect_calls.search(named)
    return shown_match(found, grammar.effect_calls) if found is not None else None


def not_a_read(grammar: Grammar, word: str, written: str | None, also: str = "") -> str:
    """The refusal of a statement whose first word is no read keyword (nor ``also``)."""
    reads_list = grammar.read_keywords
    close = difflib.get_close_matches(word, reads_list, n=1)
    typo = f"a typo for {close[0]}?" if close else "a typo?"
    unknown = f"{written!r}: {typo}" if written else typo
    reads = f"{', '.join(reads_list[:-1])} or {reads_list[-1]}"
    return (
        f"does not start with {reads}{also} ({unknown}); any other statement may change "
        f"data, so it runs only with {ALLOW_WRITES}"
    )


def read_refusal(
    grammar: Grammar, statement: Statement, what: str = PLAIN_READ, runs: str = QUERY_RUNS
) -> str | None:
    """Why one statement of a query is not a read, or None: its first word is no read
    keyword, or it holds a write word or a call of an effect function (``what``: why that
    counts, unless ``grammar.why`` says; ``runs``: how often it runs)."""
    word, written = first_word(statement)
    if word in grammar.write_keywords:
        return may_change(word, what, runs)
    if word not in grammar.read_keywords:
        return not_a_read(grammar, word, written)
    found = effect(grammar, grammar.words_in(word, statement.blanked), statement.named)
    return may_change(found, grammar.why.get(found, what), runs) if found is not None else None


def judge(
    grammar: Grammar,
    text: str,
    statement_refusal: Callable[[Statement], str | None],
    runs: str,
) -> str | None:
    """Why ``text`` may not run without --allow-writes (the rest of a one-line message after
    the value), every reading of it judged by ``statement_refusal``; None if it only reads.
    ``runs``: how often it runs, for the message."""
    if grammar.ambiguous.search(text):
        # the statements as the scanner reads them may not be the server's, so a write
        # word or an effect anywhere, even in a comment or a literal, or a second
        # statement anywhere, is refused
        uncommented = grammar.uncommented(text)  # FOR/* x */UPDATE
        found = effect(grammar, text, text) or effect(grammar, uncommented, uncommented)
        if found is not None:
            anywhere = (
                f", which counts anywhere in a text with {grammar.ambiguous_what}: the "
                "server may read them otherwise than dbbench"
            )
            return may_change(found, anywhere, runs)
        if grammar.inner_separator.search(text):
            return (
                f"holds several statements and {grammar.ambiguous_what}, which the "
                f"server may read otherwise than dbbench; give {ALLOW_WRITES} if that is what "
                "you want"
            )
    for statements in grammar.readings(text):
        for statement in statements:
            reason = statement_refusal(statement)
            if reason is not None:
                return reason
    return None


def shown(text: str) -> str:
    """A value as a refusal shows it: quoted, at most 60 characters."""
    return repr(text if len(text) <= 60 else text[:57] + "...")


def refuse(where: str, text: str, reason: str | None) -> None:
    """Raise the one-line refusal of ``text``, set at ``where``, if there is a ``reason``."""
    if reason is not None:
        raise ConfigError(f"{where} = {shown(text)} {reason}")


def check_workload(
    workload: str, allow_writes: bool, where: str = mention("[benchmark] workload")
) -> None:
    """Refuse a built-in write workload unless ``allow_writes``; the read workloads (the
    query's, and those on the data set, ``dbbench.workload.READ_WORKLOADS``) pass."""
    if allow_writes or workload in ("read", "point-select", "read-only", "point-get"):
        return
    raise ConfigError(
        f"{where} = {workload!r} writes (into a scratch table dbbench creates and drops); "
        f"give {ALLOW_WRITES} to run it"
    )


_LEVEL = r"ISOLATION\s+LEVEL\s+(?:SERIALIZABLE|REPEATABLE\s+READ|READ\s+(?:UN)?COMMITTED)"
#: no READ WRITE: it undoes PostgreSQL's read-only session (default_transaction_read_only),
#: so BEGIN READ WRITE is judged as SET TRANSACTION READ WRITE is, a statement that may write
_MODE = rf"(?:READ\s+ONLY|{_LEVEL}|(?:NOT\s+)?DEFERRABLE|WITH\s+CONSISTENT\s+SNAPSHOT)"
_WORK = r"(?:\s+(?:WORK|TRANSACTION))?"
_NAME = r"(?:\w+|`[^`]+`|\"[^\"]+\")"
#: a script's transaction control, which changes no data itself: BEGIN, START TRANSACTION
#: (with their modes, READ WRITE not one), COMMIT/END/ROLLBACK/ABORT (AND [NO] CHAIN),
#: savepoints; nothing else, and no comment around it (a statement with one is judged as
#: any other)
TRANSACTION_CONTROL = re.compile(
    rf"\s*(?:(?:BEGIN|START\s+TRANSACTION){_WORK}(?:\s*,?\s*{_MODE})*"
    rf"|(?:COMMIT|END|ROLLBACK|ABORT){_WORK}(?:\s+AND\s+(?:NO\s+)?CHAIN)?"
    rf"|SAVEPOINT\s+{_NAME}|RELEASE(?:\s+SAVEPOINT)?\s+{_NAME}"
    rf"|ROLLBACK{_WORK}\s+TO(?:\s+SAVEPOINT)?\s+{_NAME})\s*;?\s*",
    re.IGNORECASE,
)


def is_transaction_control(sql: str) -> bool:
    """Whether ``sql`` only begins or ends a transaction or a savepoint (``TRANSACTION_CONTROL``):
    what a script's BEGIN and COMMIT send, let through the guard as the query's reads are."""
    return TRANSACTION_CONTROL.fullmatch(sql) is not None

