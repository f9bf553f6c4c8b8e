"""PostgreSQL's reading of the user's SQL: reads only, unless --allow-writes.

The same allow-list as ``guard.mysql``'s (its docstring says why there is one), on
the text as PostgreSQL's lexer (``scan.l``) reads it:

- comments are removed: ``--`` up to a newline or a carriage return, and ``/* ... */``,
  which **nest** in PostgreSQL (``/* /* */ DELETE */`` is one comment; MySQL would run
  the ``DELETE``);
- string literals are blanked: ``'...'`` with ``''`` inside, read both with
  ``standard_conforming_strings`` on (a backslash is a character) and off (it escapes
  the next one: ``'\\''`` is one quote), and must be harmless both ways; ``E'...'``
  always takes backslash escapes; ``U&'...'``, ``B'...'``, ``X'...'``, ``N'...'`` are
  ``'...'`` after a prefix; dollar quoting (``$$...$$``, ``$tag$...$tag$``, a tag not
  run into a name: ``a$b$`` is a name) holds anything up to the same tag.  A quoted
  name (``"..."``, ``""`` inside; ``U&"..."`` with its ``\\XXXX`` escapes decoded) is
  blanked for the write words (``"update"`` is a column) but keeps its name for the
  calls: ``"nextval"('s')`` and ``pg_catalog.nextval ('s')`` call ``nextval``;
- each statement (psycopg and psycopg2 send a query without parameters in one simple
  query, which runs every statement of it) must start with a read keyword
  (``READ_KEYWORDS``, after any opening parentheses), hold none of ``WRITE_WORDS``
  (data-modifying CTEs, ``FOR UPDATE``, ``FOR NO KEY UPDATE``, ``FOR SHARE``, ``FOR
  KEY SHARE``, ``SELECT ... INTO t``, which creates the table ``t`` in PostgreSQL,
  ``EXPLAIN ANALYZE`` of a write or of an ``EXECUTE``) and call none of
  ``EFFECT_FUNCTIONS``.

Functions with effects are named, not guessed: they move a sequence (``nextval``,
``setval``), take advisory locks (every ``pg_advisory*`` and ``pg_try_advisory*``),
change a setting for the rest of the session (``set_config``: it may turn
``default_transaction_read_only`` off, and its name and value may be computed, so the
text cannot say which setting it sets), act on other backends or the server
(``pg_terminate_backend``, ``pg_cancel_backend``, ``pg_reload_conf``, ``pg_switch_wal``,
``pg_promote``, backups, WAL replay, statistics resets, replication slots and origins,
``pg_logical_emit_message``), write files or large objects (``lo_import``,
``lo_export``, ``lo_create``, ``lo_unlink``, ``lo_open``, adminpack's
``pg_file_write``), send notifications (``pg_notify``), run SQL given as a string
that the guard cannot read (``dblink*``, ``query_to_xml*``, ``ts_stat``), or assign
a transaction id (``txid_current``, ``pg_current_xact_id``: a write to the commit
log).  Functions that only wait or read change nothing and are reads, as for MySQL:
``pg_sleep*``, ``pg_read_file``, ``pg_ls_dir``, ``currval``, ``lastval``.

Where the server could read the text otherwise than this module (``_AMBIGUOUS``:
comments, whose nesting another tool in between may not know; backslashes, which
``standard_conforming_strings`` and ``E''`` read two ways; a ``$`` after a digit, where
dollar quoting begins after a number but not after a name, and PostgreSQL 16's
numbers are not 15's), nothing is guessed, as for MySQL: a text
holding one is refused if a write word or a call of an effect function appears anywhere
in it, comments and literals included, or if it holds a second statement.

An init_command may be a read or a ``SET`` of the session's own settings; not ``SET
ROLE`` or ``SET SESSION AUTHORIZATION`` (another role's privileges), not a setting
whose effect reaches beyond the session (``session_replication_role``), not a
transaction made writable or serializable (``default_transaction_read_only``,
``transaction_read_only``, ``READ WRITE``: dbbench sets ``default_transaction_read_only``
in the startup packet so that the server enforces reads; ``SERIALIZABLE``: its
predicate locks make other sessions' serializable transactions fail), and not a
client encoding whose characters may end in an ASCII byte (``SJIS``, ``BIG5``,
``GBK``, ``GB18030``, ``JOHAB``, ``UHC``: a driver that missed the change would send
text the server reads otherwise).  PostgreSQL's ``SET`` takes constants only, so a
``SET`` calls no function; ``SELECT set_config(...)`` is refused by name.  The check
reads the text only: a function of the user's that writes is still a read to it, which
the read-only transaction (or a read-only role) stops.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from dbbench.errors import mention
from dbbench.guard.common import (
    ALLOW_WRITES,
    INIT_RUNS,
    PLAIN_READ,
    QUERY_RUNS,
    Grammar,
    Statement,
    Token,
    close_quote,
    effect,
    first_word,
    judge,
    may_change,
    not_a_read,
    read_refusal,
    refuse,
    scan,
)

#: statements that read: the only ones allowed without --allow-writes
READ_KEYWORDS = ("SELECT", "VALUES", "TABLE", "WITH", "SHOW", "EXPLAIN")
#: statements that change data, schema, grants, server state or sessions (for the message:
#: any statement that does not start with a read keyword needs --allow-writes)
WRITE_KEYWORDS = frozenset(
    {
        "INSERT", "UPDATE", "DELETE", "MERGE", "COPY", "CREATE", "DROP", "ALTER",
        "TRUNCATE", "GRANT", "REVOKE", "VACUUM", "ANALYZE", "ANALYSE", "CLUSTER",
        "REINDEX", "LOCK", "LISTEN", "UNLISTEN", "NOTIFY", "DO", "CALL", "SET", "RESET",
        "DISCARD", "PREPARE", "EXECUTE", "DEALLOCATE", "BEGIN", "START", "COMMIT", "END",
        "ROLLBACK", "ABORT", "SAVEPOINT", "RELEASE", "CHECKPOINT", "LOAD", "REFRESH",
        "SECURITY", "COMMENT", "IMPORT", "DECLARE", "FETCH", "MOVE", "CLOSE", "REASSIGN",
    }
)  # fmt: skip
#: words that make even a read statement change something or lock rows: a data-modifying
#: CTE or EXPLAIN ANALYZE of a write, a row lock (FOR [NO KEY] UPDATE, FOR [KEY] SHARE),
#: SELECT ... INTO (a new table), EXPLAIN ANALYZE EXECUTE (a prepared write)
WRITE_WORDS = re.compile(
    r"\b(?:INSERT|UPDATE|DELETE|MERGE|FOR\s+(?:KEY\s+)?SHARE|INTO|EXECUTE|"
    r"CREATE|DROP|ALTER|TRUNCATE|GRANT|REVOKE)\b",
    re.IGNORECASE,
)
#: built-in functions with effects beyond the statement (the module's docstring says what
#: each does); patterns, so that a family is one entry
EFFECT_FUNCTIONS = (
    "nextval", "setval", r"pg_(?:try_)?advisory\w*", "set_config",
    "pg_terminate_backend", "pg_cancel_backend", "pg_log_backend_memory_contexts",
    "pg_reload_conf", r"pg_rotate_logfile\w*", "pg_switch_wal", "pg_switch_xlog",
    "pg_create_restore_point", "pg_promote", "pg_start_backup", "pg_stop_backup",
    "pg_backup_start", "pg_backup_stop", r"pg_(?:wal|xlog)_replay_\w+",
    r"pg_stat_reset\w*", "pg_stat_statements_reset",
    "lo_import", "lo_export", "lo_create", "lo_creat", "lo_unlink", "lo_open", "lo_close",
    "lo_put", "lo_from_bytea", r"lo_truncate\w*", "lowrite", "pg_notify",
    r"dblink\w*", r"query_to_xml\w*", "ts_stat", r"pg_file_(?:write|rename|unlink|sync)",
    "txid_current", "pg_current_xact_id", "pg_logical_emit_message",
    r"pg_replication_origin_\w+", r"pg_create_\w*replication_slot",
    r"pg_copy_\w*replication_slot", "pg_drop_replication_slot",
    "pg_replication_slot_advance", r"pg_logical_slot_get_\w*changes",
    "pg_import_system_collations", r"brin_\w*summarize\w*", "gin_clean_pending_list",
)  # fmt: skip
#: a call of one of them: the name not run into a longer one (PostgreSQL's names hold "$"
#: too; before the name, where a "$" may end a dollar quote, it counts as a blank), then
#: blanks, or the closing quote of ``"nextval"(``, before its "(" (comments are blanks by
#: then; a schema before it, ``pg_catalog.``, may be there)
EFFECT_CALLS = re.compile(
    rf"\b(?:{'|'.join(EFFECT_FUNCTIONS)})(?![\w$])[\s\"]*\(", re.IGNORECASE
)
#: where the server's reading may differ from this module's (see the docstring): comments,
#: backslashes, and a "$" after a digit (a number's, or a name's: "1$a$" begins a dollar
#: quote, "a1$a$" is a name; PostgreSQL 16 reads "0x1F$a$" otherwise than 15)
_AMBIGUOUS = re.compile(r"/\*|\*/|--|\\|\d\$")
#: a statement separator with more text after it than blanks and separators
_INNER_SEPARATOR = re.compile(r";(?![\s;]*\Z)")

#: PostgreSQL's name characters: letters, digits, "_", "$" and every character beyond ASCII
#: (its lexer takes any byte from 0x80 up as a letter)
_NAME_CHAR = "0-9A-Za-z_$\x80-\U0010ffff"
#: what the scanner stops at: a literal's or a quoted name's start (with its prefix: E'',
#: U&'', U&""), a dollar quote's tag (not run into a name: a$b$ is one), a comment, a
#: statement separator
_SPECIAL = re.compile(
    rf"(?<![{_NAME_CHAR}])[Ee]'|[Uu]&['\"]|['\"]"
    rf"|(?<![{_NAME_CHAR}])\$(?:[A-Za-z_\x80-\U0010ffff][{_NAME_CHAR.replace('$', '')}]*)?\$"
    r"|/\*|--|;"
)
#: the escapes of a U&"..." name: \XXXX, \+XXXXXX, and \\ for a backslash
_UNICODE_ESCAPE = re.compile(r"\\(?:\+([0-9A-Fa-f]{6})|([0-9A-Fa-f]{4})|(\\))")
#: a quoted name as a call may use it: its letters, digits and "_"
_NAME = re.compile(r"\w+")


def _unicode_name(text: str) -> str:
    """A U&"..." name's text with its escapes decoded (a bad one left as it is: the server
    refuses the text)."""

    def decode(escape: re.Match[str]) -> str:
        if escape.group(3):
            return "\\"
        code = int(escape.group(1) or escape.group(2), 16)
        return chr(code) if code <= 0x10FFFF else escape.group()

    return _UNICODE_ESCAPE.sub(decode, text)


#: where a comment starts, and where a "--" comment ends (a newline or a carriage return)
_COMMENT_START = re.compile(r"/\*|--")
_LINE_END = re.compile(r"[\n\r]")
_COMMENT_MARK = re.compile(r"/\*|\*/")


def _end_of_comment(text: str, start: int) -> int:
    """The index just after the /* ... */ comment opening at ``start``, nested ones inside it
    (the end if unterminated); one pass over the text."""
    depth, i = 1, start + 2
    while depth:
        mark = _COMMENT_MARK.search(text, i)
        if mark is None:
            return len(text)
        depth += 1 if mark.group() == "/*" else -1
        i = mark.end()
    return i


def _end_of_line_comment(text: str, start: int) -> int:
    """The index of the newline or carriage return that ends the -- comment at ``start``."""
    end = _LINE_END.search(text, start)
    return len(text) if end is None else end.start()


def _uncommented(text: str) -> str:
    """``text`` with every comment a blank, literals or not (for the whole-text check)."""
    parts, i = [], 0
    while (comment := _COMMENT_START.search(text, i)) is not None:
        parts.append(text[i : comment.start()])
        if comment.group() == "/*":
            i = _end_of_comment(text, comment.start())
        else:
            i = _end_of_line_comment(text, comment.start())
    parts.append(text[i:])
    return " ".join(parts)


def _statements(query: str, standard_strings: bool = True) -> list[Statement]:
    """The statements of ``query`` as PostgreSQL reads them, with
    ``standard_conforming_strings`` on or off: comments removed, literals blanked, quoted
    names blanked (and bare in ``named``); the empty ones left out."""

    def token(match: re.Match[str]) -> Token:
        token, start = match.group(), match.start()
        if token in ("'", '"') or token[-1] in "'\"" and token[0] in "EeUu":
            quote = token[-1]
            opening = match.end() - 1
            escapes = quote == "'" and (token[0] in "Ee" or not standard_strings)
            end = close_quote(query, opening, quote, escapes)
            if quote == "'":
                return end, "''", None
            body = query[opening + 1 : max(end - 1, opening + 1)].replace('""', '"')
            if token[0] in "Uu":
                body = _unicode_name(body)
            name = _NAME.fullmatch(body)
            return end, "''", f" {name.group()} " if name else None
        if token.startswith("$"):
            end = query.find(token, match.end())
            return (len(query) if end < 0 else end + len(token)), "''", None
        if token == "/*":
            return _end_of_comment(query, start), " ", None
        if token == "--":
            return _end_of_line_comment(query, start), " ", None
        return None  # ";"

    return scan(query, _SPECIAL, token)


def _readings(text: str) -> Iterator[list[Statement]]:
    """Every reading of ``text``: with standard_conforming_strings on and off."""
    yield _statements(text, standard_strings=True)
    yield _statements(text, standard_strings=False)


def has_statement(query: str) -> bool:
    """Whether ``query`` holds anything but comments, semicolons and blanks."""
    return bool(_statements(query))


_GRAMMAR = Grammar(
    read_keywords=READ_KEYWORDS,
    write_keywords=WRITE_KEYWORDS,
    write_words=WRITE_WORDS,
    effect_calls=EFFECT_CALLS,
    ambiguous=_AMBIGUOUS,
    ambiguous_what="comments, backslashes or a \"$\" after a digit",
    uncommented=_uncommented,
    inner_separator=_INNER_SEPARATOR,
    readings=_readings,
    why={"INTO": ": SELECT ... INTO creates a table"},
)
_READ_OR_SET = ": it is not a read or a SET of the session's own settings"


def _read_refusal(
    statement: Statement, what: str = PLAIN_READ, runs: str = QUERY_RUNS
) -> str | None:
    """Why one statement of a query is not a read, or None."""
    return read_refusal(_GRAMMAR, statement, what, runs)


#: U&"..." UESCAPE 'c' names its own escape character, which the scanner does not decode
_UESCAPE = re.compile(r"\bUESCAPE\b", re.IGNORECASE)


def _judge(
    text: str, statement_refusal: Callable[[Statement], str | None], runs: str
) -> str | None:
    """``common.judge`` for PostgreSQL, with UESCAPE refused first: a name spelled with
    another escape character (``U&"!006Eextval" UESCAPE '!'``) is one the scanner cannot
    read."""
    if _UESCAPE.search(text):
        return may_change(
            "UESCAPE", ": the names it spells are not read by dbbench's guard", runs
        )
    return judge(_GRAMMAR, text, statement_refusal, runs)


def is_read_only(query: str) -> bool:
    """Whether ``query`` only reads, judged on its text as PostgreSQL reads it."""
    return _judge(query, _read_refusal, QUERY_RUNS) is None


def check_query(query: str, allow_writes: bool, where: str = mention("[benchmark] query")) -> None:
    """Refuse a query that may write, or is not a known read, unless ``allow_writes``."""
    if not allow_writes:
        refuse(where, query, _judge(query, _read_refusal, QUERY_RUNS))


_SET = re.compile(
    r"[\s(]*SET\b(?:\s+(?:SESSION|LOCAL)\b(?!\s+(?:AUTHORIZATION|CHARACTERISTICS)\b))?\s*",
    re.IGNORECASE,
)
#: SET's forms and settings that reach beyond the session's own settings: another role's
#: privileges, the replication role (which turns triggers off), a transaction made
#: writable (dbbench's default_transaction_read_only undone), pages zeroed on a read
_WIDE = re.compile(
    r"\b(?:ROLE|SESSION\s+AUTHORIZATION|session_authorization|session_replication_role|"
    r"default_transaction_read_only|transaction_read_only|READ\s+WRITE|zero_damaged_pages)\b",
    re.IGNORECASE,
)
#: what makes a SET's setting or value other than it reads: an escape (E'\\x53JIS',
#: U&"client_encodin\\0067"); a SET's constants need none
_SET_ESCAPES = re.compile(r"\\|\bU&|\bUESCAPE\b|(?<![\w$])E'", re.IGNORECASE)
_SERIALIZABLE = re.compile(r"SERIALIZABLE", re.IGNORECASE)


@dataclass(frozen=True)
class _ValueRule:
    """A setting an init_command may set only to a plain value (``DEFAULT``, a name, or a
    quoted one, which PostgreSQL reads as its letters and digits), one that ``allowed``
    takes; judged on the text with its comments taken out."""

    setting: re.Pattern[str]
    allowed: Callable[[str], bool]
    what: str
    why: str
    does: str

    def refusal(self, command: str) -> str | None:
        for named in self.setting.finditer(command):
            value = _PLAIN_VALUE.match(command, named.end())
            letters = re.sub(r"[^a-z0-9]", "", value.group(1).lower()) if value else None
            if letters is None or not (letters == "default" or self.allowed(letters)):
                name = " ".join(named.group().split()).upper()
                return may_change(f"{name} not set to {self.what}", self.why, INIT_RUNS, self.does)
        return None


#: a setting's value as the rule reads it: "=" or TO (NAMES has neither), then one word,
#: a quoted one or a '...' of letters, digits, blanks, "-" and "_", and its end
_PLAIN_VALUE = re.compile(
    r"\"?\s*(?:=|\bTO\b)?\s*([A-Za-z_]\w*|'[\w \-]*'|\"[\w \-]*\")\s*(?:;|$)",
    re.IGNORECASE,
)
#: client encodings whose characters may end in an ASCII byte (a backslash, a quote), as
#: PostgreSQL names them once it has taken out all but letters and digits
_UNSAFE_ENCODING = re.compile(
    r"big5|gb18030|gbk|johab|mskanji|shiftjis|sjis|uhc|win(?:dows)?9(?:32|36|49|50)|win1361"
)
_VALUE_RULES = (
    _ValueRule(
        re.compile(r"\b(?:client_encoding|NAMES)\b", re.IGNORECASE),
        lambda letters: _UNSAFE_ENCODING.search(letters) is None,
        "an encoding by name, not SJIS, BIG5, GBK, GB18030, JOHAB or UHC",
        ": their characters may end in a backslash or a quote",
        "may make the server read the statements after it otherwise than dbbench does",
    ),
    _ValueRule(
        re.compile(r"\b(?:default_)?transaction_isolation\b", re.IGNORECASE),
        lambda letters: letters in {"readcommitted", "readuncommitted", "repeatableread"},
        "a level by name, not SERIALIZABLE",
        ": its predicate locks make other sessions' serializable transactions fail",
        "may change what other sessions do",
    ),
)


def _init_refusal(statement: Statement) -> str | None:
    """Why one statement of an init_command may not run without --allow-writes, or None: a
    read, or a SET of the session's own settings."""
    word, written = first_word(statement)
    if word != "SET":
        if word in READ_KEYWORDS or word in WRITE_KEYWORDS:
            return _read_refusal(statement, _READ_OR_SET, INIT_RUNS)
        return not_a_read(_GRAMMAR, word, written, ", or SET (of the session's settings)")
    wide = _WIDE.search(statement.named)
    if wide is not None:
        found = " ".join(wide.group().split()).upper()
        return (
            f"sets more than the session's own settings ({found}); dbbench runs it "
            f"{INIT_RUNS}, so give {ALLOW_WRITES} if that is what you want"
        )
    head = _SET.match(statement.blanked)
    rest = statement.blanked[head.end() :] if head else statement.blanked
    found = effect(_GRAMMAR, rest, statement.named)
    return may_change(found, _READ_OR_SET, INIT_RUNS) if found is not None else None


def _whole_text_refusal(command: str) -> str | None:
    """What an init_command that SETs may not hold anywhere, literals included (a SET's
    value is often a string): an escape, SERIALIZABLE, a setting of ``_VALUE_RULES`` not
    set to a plain value they take."""
    if not any(first_word(s)[0] == "SET" for reading in _readings(command) for s in reading):
        return None
    escape = _SET_ESCAPES.search(command)
    if escape is not None:
        return may_change(
            f"the escape {escape.group()}",
            ": a SET's setting and value are constants, which need none, and the guard "
            "reads them as written",
            INIT_RUNS,
        )
    serializable = _SERIALIZABLE.search(command)
    if serializable is not None:
        return may_change(
            "SERIALIZABLE",
            ": its predicate locks make other sessions' serializable transactions fail",
            INIT_RUNS,
            "may change what other sessions do",
        )
    uncommented = _uncommented(command)
    return next((r for r in (rule.refusal(uncommented) for rule in _VALUE_RULES) if r), None)


def check_init_command(
    command: str | None, allow_writes: bool, where: str = mention("[database] init_command")
) -> None:
    """Refuse an init_command that may change anything beyond the session, unless
    ``allow_writes``: every connection dbbench opens runs it, with ``raw`` once per
    operation."""
    if command is None or allow_writes:
        return
    reason = _whole_text_refusal(command)
    refuse(where, command, reason or _judge(command, _init_refusal, INIT_RUNS))
