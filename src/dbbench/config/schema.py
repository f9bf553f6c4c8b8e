"""The table of settings: one row per setting, from which everything else is derived.

A row says the setting's place in the settings file (``[section] key``), the dataclass
field it fills, its type, unit, default, bounds and check, the environment variables and
the command-line flag that set it, its help, and whether it is secret.  The TOML loader
(``settings``), the environment, the click options (``cli``), the error messages,
``config.example.toml`` and ``docs/reference/configuration.md`` (``config.docs``) all
read this table; nothing else spells a setting's flag or variable.

The library names a setting ``[section] key``; the command line names the flag when the
value came from the flag.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from dbbench import guard
from dbbench.config.tls import SSL_MODES
from dbbench.config.url import echoed, parse_url
from dbbench.errors import mention
from dbbench.parsing import (
    Validator,
    boolean,
    choice,
    duration,
    integer,
    number,
    optional_string,
    rate,
    string,
    whole_number,
)


def scheduler_address(value: Any) -> str | None:
    """A Dask scheduler's address: ``tcp://host:port`` (``tls://``, ``ws://``, ``wss://``,
    ``inproc://``, ``ucx://`` too); an empty string is "not set"."""
    text = optional_string(value)
    if text is None:
        return None
    scheme, _, rest = text.partition("://")
    if scheme not in ("tcp", "tls", "ws", "wss", "inproc", "ucx") or not rest.strip():
        raise ValueError("must be a Dask scheduler's address, like tcp://host:8786")
    host, colon, port = rest.rpartition(":")
    if scheme != "inproc" and colon and not host.endswith("]") and "]" in port:
        colon = ""  # an IPv6 address without a port: [::1]
    if scheme != "inproc" and colon and host and not (port.isdigit() and 0 < int(port) < 65536):
        raise ValueError(f"port {port!r} is not a whole number in 1..65535")
    return text


#: the databases dbbench measures (``[database] dialect``), named as SQLAlchemy names them
DIALECT_NAMES: tuple[str, ...] = ("mysql", "postgresql")
#: how messages and documents name each dialect
DIALECT_TITLES: dict[str, str] = {"mysql": "MySQL", "postgresql": "PostgreSQL"}
#: dialect -> the DB-API drivers that speak to it (``dbbench.drivers`` implements them),
#: its default first
DIALECT_DRIVERS: dict[str, tuple[str, ...]] = {
    "mysql": ("pymysql", "mysqlclient", "mysql-connector"),
    "postgresql": ("psycopg", "psycopg2"),
}
#: the drivers that run a statement as a server-side prepared statement when asked
#: (``[benchmark] prepared``; ``Driver.prepares`` says how), each dialect's
PREPARING_DRIVERS: dict[str, str] = {"mysql": "mysql-connector", "postgresql": "psycopg"}
#: the DB-API drivers ``[database] driver`` may name, every dialect's
DRIVER_NAMES: tuple[str, ...] = tuple(name for names in DIALECT_DRIVERS.values() for name in names)
#: the driver of each dialect when ``[database] driver`` is not given
DEFAULT_DRIVERS: dict[str, str] = {"mysql": "pymysql", "postgresql": "psycopg"}
#: the server's TCP port of each dialect when ``[database] port`` is not given
DEFAULT_PORTS: dict[str, int] = {"mysql": 3306, "postgresql": 5432}
#: the built-in workloads that read dbbench's data set (``dbbench.scripts.builtin``)
DATA_SET_WORKLOADS: tuple[str, ...] = ("point-select", "read-only")
#: what ``[benchmark] workload`` may name (``dbbench.workload`` says what each does);
#: "insert" writes, the others read
WORKLOAD_NAMES: tuple[str, ...] = ("read", "insert", *DATA_SET_WORKLOADS, "point-get")
#: what ``[pool] pool_reset_on_return`` may name
RESET_ON_RETURN: tuple[str, ...] = ("rollback", "commit", "none")

#: the settings file's sections, in order
SECTIONS: tuple[str, ...] = ("database", "benchmark", "pool", "cluster")

FlagKind = Literal["value", "list", "repeated", "switch", "on", "prompt"]


@dataclass(frozen=True)
class Flag:
    """How the command line gives a setting.

    ``kind``: ``value`` takes the setting's value; ``list`` a comma-separated list, of
    which a single item is the setting's value (several: a sweep, or one run per driver);
    ``repeated`` one value each time it is given (``--script a.sql --script b.sql``), all of
    them the setting's list; ``switch`` an on/off pair (``--lifo/--fifo``); ``on`` only
    turns it on (off leaves the settings file's value); ``prompt`` asks on the terminal and
    takes no value.
    """

    #: as typed, and as messages name it: "--pool-size", "--pre-ping/--no-pre-ping"
    name: str
    #: the option's text in ``--help``; its default is the row's (``Setting.flag_help``)
    help: str
    kind: FlagKind = "value"
    #: a one-letter alias ("-n")
    short: str | None = None
    #: click's parameter name, where not the flag's name with underscores
    dest: str | None = None
    #: the value's name in ``--help`` (``--socket PATH``), where not its type's
    metavar: str | None = None
    #: taken by ``run`` and ``compare`` only (what their measured connections do), not by
    #: every command that connects; the settings file's key holds wherever dbbench connects
    run_only: bool = False

    @property
    def parameter(self) -> str:
        if self.dest is not None:
            return self.dest
        return self.name.split("/")[0].removeprefix("--").replace("-", "_")

    @property
    def shown(self) -> str:
        """The flag as a message or a document names it."""
        return f"{self.name} (prompt)" if self.kind == "prompt" else self.name


Type = Literal[
    "string", "integer", "number", "boolean", "choice", "duration", "rate", "path", "list"
]


@dataclass(frozen=True)
class Setting:
    section: str
    key: str
    #: the field of the section's dataclass it fills (``DatabaseSettings.connect_timeout_s``)
    field: str
    type: Type
    check: Validator
    #: the dataclass's value when nothing sets it (None: not set)
    default: Any
    #: what it does, for the documents (the flag has its own ``--help`` text)
    help: str
    unit: str | None = None
    #: a word on the allowed values for the documents, after those the check says
    #: (``limits``): "-1: no limit"
    bounds: str | None = None
    #: environment variables, the first one set wins
    env: tuple[str, ...] = ()
    flag: Flag | None = None
    #: never shown, saved or logged
    secret: bool = False
    choices: tuple[str, ...] = ()
    #: the default in words, where the value alone would mislead ("10% of iterations")
    default_text: str | None = None
    #: a value to show in config.example.toml where the default is None
    example: Any = None
    #: lines of config.example.toml before this key (for a group of keys)
    comment: tuple[str, ...] = ()
    #: Markdown for the configuration reference only (a link to more)
    doc_note: str | None = None
    #: the value as a message may show it, where not as given (a URL: its password hidden)
    shown_as: Callable[[str], str] | None = None

    @property
    def name(self) -> str:
        """``[section] key``: how the library and the settings file name it."""
        return f"[{self.section}] {self.key}"

    @property
    def limits(self) -> str | None:
        """The allowed values in words, as the check says them (``1 to 65,535``, ``1 µs to
        31,536,000 s``) and ``bounds`` adds; None for a setting with none."""
        return limits(self.check, self.bounds)

    @property
    def mentioned(self) -> str:
        """Its name in a message that tells the user to change it: the command line shows
        its flag there instead (``errors.mention``)."""
        return mention(self.name)

    @property
    def default_words(self) -> str | None:
        """The default as the documents and ``--help`` say it: ``default_text``, else the value
        (``127.0.0.1``, ``30``, ``true``); None when there is none."""
        if self.default_text is not None:
            return self.default_text
        if self.default is None:
            return None
        if isinstance(self.default, bool):
            return "true" if self.default else "false"
        if isinstance(self.default, float) and self.default.is_integer():
            return str(int(self.default))
        return str(self.default)

    @property
    def flag_help(self) -> str:
        """The flag's ``--help`` text with the default the row holds: ``[default: 5]``, or the
        side of a switch in force (``[default: fifo]``); none for a flag that only turns a
        setting on or asks for it; ``none`` where nothing is set."""
        assert self.flag is not None, f"{self.name} has no flag"
        words = self.default_words
        if self.flag.kind == "switch":
            on, off = self.flag.name.removeprefix("--").split("/--")
            words = on if self.default else off
        elif self.flag.kind in ("on", "prompt"):
            return self.flag.help
        return f"{self.flag.help.removesuffix('.')} [default: {words or 'none'}]."

    def setters(self) -> list[str]:
        """Every way to set it: the file key, the environment variables, the flag."""
        return [self.name, *self.env, *([self.flag.shown] if self.flag else [])]


def limits(check: Validator, note: str | None) -> str | None:
    """``check``'s bounds in words (``words``), with ``note`` after them: ``-1 to 100,000;
    -1: no limit``."""
    return "; ".join(filter(None, (getattr(check, "words", None), note))) or None


def _file_path(value: Any) -> str:
    """A path to a file: ``~`` is the home directory, as a shell would have made it."""
    return os.path.expanduser(string(non_empty=True)(value))


def _query(value: Any) -> str:
    text = string(non_empty=True)(value)
    if not guard.has_statement(text):
        raise ValueError("has no SQL statement to run (only comments, semicolons or blanks)")
    return text


#: the most scripts one run may mix (``[benchmark] scripts``)
MAX_SCRIPTS = 100
#: the largest weight of a script (pgbench's own limit is 2**31 - 1)
MAX_SCRIPT_WEIGHT = 1_000_000


@dataclass(frozen=True)
class ScriptSpec:
    """One of ``[benchmark] scripts``: the file (as given, ``~`` expanded) and its weight."""

    path: str
    weight: int = 1


def script_spec(text: Any) -> ScriptSpec:
    """``"tx.sql"`` or ``"tx.sql@3"`` -> ``ScriptSpec``; a bad one a ``ValueError``.  A path
    holding ``@`` is read up to its last one only when what follows is a number; what
    follows is said not to be a whole number (``ok.sql@1.5``) when only the file before it
    exists."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("each script must be a file name, FILE or FILE@WEIGHT")
    path, at, weight_text = text.rpartition("@")
    if not at or not re.fullmatch(r"[0-9+-]+", weight_text.strip()):
        whole = os.path.expanduser(text)
        if at and path.strip() and not os.path.exists(whole) and os.path.isfile(
            os.path.expanduser(path)
        ):  # ok.sql@1.5: the file is there, the weight is what is wrong
            raise ValueError(f"the weight {weight_text!r} is not a whole number")
        return ScriptSpec(whole)
    if not path.strip():
        raise ValueError("names no file before its @WEIGHT")
    try:
        weight = integer(1, MAX_SCRIPT_WEIGHT)(whole_number(weight_text.strip()))
    except ValueError as exc:
        raise ValueError(f"the weight {exc}") from None
    return ScriptSpec(os.path.expanduser(path), weight)


def _scripts(value: Any) -> tuple[ScriptSpec, ...] | None:
    """A list of ``FILE`` or ``FILE@WEIGHT`` (one string is a list of one); empty: none."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise ValueError("must be a list of script files, FILE or FILE@WEIGHT")
    if len(items) > MAX_SCRIPTS:
        raise ValueError(f"names {len(items)} scripts, more than {MAX_SCRIPTS}")
    specs = []
    for item in items:
        try:
            specs.append(script_spec(item))
        except ValueError as exc:  # of several, the message says which
            raise ValueError(f"{item!r}: {exc}" if len(items) > 1 else str(exc)) from None
    return tuple(specs) or None


def _driver_name(value: Any) -> str:
    if value not in DRIVER_NAMES:
        raise ValueError(f"unknown driver; choose from {', '.join(DRIVER_NAMES)}")
    return value


def dialect_of(driver: str) -> str:
    """The dialect ``driver`` (one of ``DRIVER_NAMES``) speaks to."""
    return next(dialect for dialect, names in DIALECT_DRIVERS.items() if driver in names)


# --- the bounds of every number dbbench is given (``docs/reference/configuration.md``
# says them, from here) ---------------------------------------------------------------
#: the shortest time a timeout, an interval or a round trip may be: a timer's or a
#: socket's finest step means nothing below it
MIN_SECONDS = 1e-6
#: the longest time: a year, PyMySQL's largest timeout and MariaDB's largest wait_timeout
MAX_SECONDS = 31_536_000
#: the shortest run: a shorter one may end before its first operation (n = 0)
MIN_RUN_S = 1e-3
#: the longest run, ``[benchmark] duration`` or what iterations at a rate take: a day
MAX_RUN_S = 86_400
#: the most operations a count may ask for: more than a day's worth at any speed a Python
#: process reaches
MAX_OPERATIONS = 1_000_000_000
#: the most connections a pool may keep or add: MariaDB's largest max_connections
MAX_CONNECTIONS = 100_000
#: an open loop's rates, operations per second: one per 1,000 s to one per microsecond
MIN_RATE, MAX_RATE = 0.001, 1_000_000
#: the most cells a sweep's lists may make (``-c 1,8 --pool-size 5,10``: 4): each cell is a
#: run of its own
MAX_SWEEP_CELLS = 1_000


def _seconds(
    low: float = MIN_SECONDS, high: float = MAX_SECONDS, allow: tuple[float, ...] = ()
) -> number:
    return number(low, high, allow=allow, unit="s")


_TLS_COMMENT = (
    "TLS: ssl_mode says what the connection demands, mapped onto each driver's own options:",
    "  disabled         never TLS",
    "  preferred        the driver's default: PyMySQL and mysql-connector try TLS when the server",
    "                   offers it (PyMySQL builds a new SSL context for every connection: see the",
    "                   README, it is most of a local connect's cost); mysqlclient on MariaDB",
    "                   Connector/C uses no TLS",
    "  required         TLS or fail, the certificate not checked",
    "  verify_ca        TLS, the certificate checked against ssl_ca",
    "  verify_identity  as verify_ca, and the certificate must name the host connected to",
)
_OLD_TLS_COMMENT = (
    "Older keys, still read when ssl_mode is not given (ssl_mode and a key that says",
    "otherwise is an error): ssl_disabled = true is 'disabled', ssl_verify_identity = true",
    "'verify_identity', ssl_verify_cert = true 'verify_ca', ssl_ca/ssl_cert/ssl_key alone",
    "'required'.",
)

SETTINGS: tuple[Setting, ...] = (
    # --- [database] ---------------------------------------------------------------
    Setting(
        "database", "dialect", "dialect", "choice", choice(*DIALECT_NAMES), "mysql",
        "the database dbbench speaks to: mysql (MySQL, MariaDB) or postgresql; it chooses the "
        "default port (3306, 5432) and driver (pymysql, psycopg)",
        env=("DBBENCH_DIALECT",),
        flag=Flag("--dialect", "Database: mysql (MySQL, MariaDB) or postgresql."),
        choices=DIALECT_NAMES,
        doc_note="see [Choosing the database](#choosing-the-database)",
    ),
    Setting(
        "database", "url", "url", "string", parse_url, None,
        "SQLAlchemy's connection URL, dialect[+driver]://user:password@host:port/database; "
        "it sets the keys it names at its own precedence (a key given higher overrides its "
        "part); a password in it only from the environment or a settings file",
        env=("DBBENCH_URL",),
        flag=Flag(
            "--url",
            "Connection URL, SQLAlchemy's: postgresql://user@host:5432/db, "
            "mysql+pymysql://user@host/db; sets dialect, driver, host, port, user, database "
            "(no password here: the process list shows it).",
            metavar="URL",
        ),
        example="",
        comment=(
            "Instead of the keys below, one connection URL may say where to connect, e.g.",
            '  url = "postgresql://root@127.0.0.1:5432/test"',
            '  url = "mysql+mysqldb://root@127.0.0.1:3306/test"',
        ),
        doc_note="see [Choosing the database](#choosing-the-database)",
        shown_as=echoed,
    ),
    Setting(
        "database", "host", "host", "string", string(non_empty=True), "127.0.0.1",
        "the server's host name or address",
        env=("DBBENCH_HOST",),
        flag=Flag("--host", "Server host name or address."),
    ),
    Setting(
        "database", "port", "port", "integer", integer(1, 65535), 3306,
        "the server's TCP port",
        env=("DBBENCH_PORT",),
        default_text="3306, 5432 for PostgreSQL",
        flag=Flag("--port", "Server TCP port."),
    ),
    Setting(
        "database", "user", "user", "string", string(non_empty=True), "root",
        "the user name",
        env=("DBBENCH_USER",),
        flag=Flag("--user", "User name."),
    ),
    Setting(
        "database", "password", "password", "string", string(), "",
        "better typed at the prompt, or kept in the environment or ~/.my.cnf [client] than "
        "here; chmod 600 a file that holds one; never printed or saved",
        env=("DBBENCH_PASSWORD", "MYSQL_PWD"),
        flag=Flag(
            "--password",
            "Ask for the password on the terminal, echo off (no value is taken: the process "
            "list would show it); without it, DBBENCH_PASSWORD, MYSQL_PWD, the settings file or "
            "~/.my.cnf gives it.",
            kind="prompt",
            dest="password_prompt",
        ),
        secret=True,
        default_text="~/.my.cnf [client] password, else empty",
        doc_note="see [Safety](safety.md)",
    ),
    Setting(
        "database", "database", "database", "string", optional_string, None,
        "the database (schema) to connect to; empty = none",
        env=("DBBENCH_DATABASE",),
        flag=Flag("--database", "Database (schema) to connect to."),
        example="",
    ),
    Setting(
        "database", "unix_socket", "unix_socket", "path", optional_string, None,
        "connect through this Unix socket instead of TCP; for PostgreSQL the directory "
        "that holds it, as libpq's host=/dir, or the .s.PGSQL.PORT file in it",
        flag=Flag(
            "--socket",
            "Connect through this Unix socket instead of TCP (PostgreSQL: its directory, "
            "or its .s.PGSQL.PORT file).",
            metavar="PATH",
        ),
        example="",
    ),
    Setting(
        "database", "connect_timeout", "connect_timeout_s", "number",
        _seconds(), 10.0,
        "how long to wait for the server to answer a connect; also bounds the wait for the "
        "server's greeting before the run",
        unit="s",
    ),
    Setting(
        "database", "read_timeout", "read_timeout_s", "number",
        _seconds(), 30.0,
        "how long an open connection waits for the server's answer; past it the operation "
        "fails as OperationalError(2013, timed out) instead of hanging (raise it for queries "
        "that take longer)",
        unit="s",
    ),
    Setting(
        "database", "write_timeout", "write_timeout_s", "number",
        _seconds(), 30.0,
        "how long an open connection waits to send to the server",
        unit="s",
    ),
    Setting(
        "database", "init_command", "init_command", "string", optional_string, None,
        'SQL run on every new connection, e.g. "SET SESSION wait_timeout = 60"; without '
        "--allow-writes only a read or a SET of the session's own variables",
        example="",
    ),
    Setting(
        "database", "transaction_pooling", "transaction_pooling", "boolean", boolean, False,
        "the endpoint pools per transaction (PgBouncer's pool_mode = transaction): each "
        "transaction may run on another server connection, so the drivers are connected to "
        "keep no state per session (psycopg prepare_threshold=None, asyncpg "
        "statement_cache_size=0 and SQLAlchemy's prepared_statement_cache_size=0; psycopg2 "
        "and the MySQL drivers prepare nothing on the server and need nothing); run and "
        "compare --driver-defaults keep the drivers' defaults to show what they cost there",
        env=("DBBENCH_TRANSACTION_POOLING",),
        flag=Flag(
            "--transaction-pooling/--no-transaction-pooling",
            "The endpoint pools per transaction (PgBouncer's transaction mode): connect the "
            "drivers so they keep no prepared statements on the server.",
            kind="switch",
        ),
        doc_note="see [Transaction pooling](#transaction-pooling)",
    ),
    Setting(
        "database", "autocommit", "autocommit", "boolean", boolean, False,
        "every connection in autocommit: no statement leaves a transaction open (psycopg, "
        "psycopg2 and the MySQL drivers connect with autocommit off by default, so raw "
        "closes each connection inside the transaction its query began, and a PgBouncer in "
        "front then drops its server connection instead of reusing it); the pool runners' "
        "connections too, and asyncpg's (SQLAlchemy's adapter begins a transaction itself "
        "otherwise)",
        env=("DBBENCH_AUTOCOMMIT",),
        flag=Flag(
            "--autocommit/--no-autocommit",
            "Connect every driver in autocommit, as an application that connects per "
            "request often does: raw then closes no connection inside a transaction.",
            kind="switch",
            run_only=True,
        ),
        doc_note="see [Autocommit](#autocommit)",
    ),
    Setting(
        "database", "driver", "driver", "choice", _driver_name, "pymysql",
        "the DB-API driver, one of the dialect's: pymysql, mysqlclient or mysql-connector for "
        "MySQL (the last two are extras: pip install 'dbbench[mysqlclient]'), psycopg or "
        "psycopg2 for PostgreSQL (pip install 'dbbench[postgresql]'); a list on the command "
        "line runs every runner once per driver",
        flag=Flag(
            "--driver",
            "DB-API driver: pymysql, mysqlclient or mysql-connector (MySQL), psycopg or "
            "psycopg2 (PostgreSQL); a list (pymysql,mysqlclient) runs every runner once per "
            "driver.",
            kind="list",
            dest="driver_text",
        ),
        choices=DRIVER_NAMES,
        default_text="pymysql, psycopg for PostgreSQL",
        doc_note="see [Drivers](#drivers)",
    ),
    Setting(
        "database", "ssl_mode", "ssl_mode", "choice", choice(*SSL_MODES), None,
        "what TLS the connection demands: disabled, preferred, required, verify_ca, "
        "verify_identity; not given: as the older keys say",
        flag=Flag(
            "--ssl-mode",
            "TLS: disabled, preferred (the driver's default), required, verify_ca, "
            "verify_identity.",
        ),
        choices=SSL_MODES,
        default_text="preferred",
        example="preferred",
        comment=_TLS_COMMENT,
        doc_note="see [TLS](#tls-ssl_mode)",
    ),
    Setting(
        "database", "ssl_ca", "ssl_ca", "path", _file_path, None,
        "the CA certificate to verify the server with (verify_ca, verify_identity need it)",
        example="/path/ca.pem",
    ),
    Setting(
        "database", "ssl_cert", "ssl_cert", "path", _file_path, None,
        "a client certificate, for servers that ask for one",
        example="/path/client-cert.pem",
    ),
    Setting(
        "database", "ssl_key", "ssl_key", "path", _file_path, None,
        "the client certificate's key",
        example="/path/client-key.pem",
    ),
    Setting(
        "database", "ssl_key_password", "ssl_key_password", "string", string(), None,
        "the password of an encrypted ssl_key (PyMySQL only); never shown or saved",
        secret=True,
        example="",
    ),
    Setting(
        "database", "ssl_disabled", "ssl_disabled", "boolean", boolean, None,
        "the older way to say ssl_mode = 'disabled'",
        example=False,
        comment=_OLD_TLS_COMMENT,
        doc_note="see [TLS](#tls-ssl_mode)",
    ),
    Setting(
        "database", "ssl_verify_cert", "ssl_verify_cert", "boolean", boolean, None,
        "the older way to say ssl_mode = 'verify_ca'",
        example=False,
    ),
    Setting(
        "database", "ssl_verify_identity", "ssl_verify_identity", "boolean", boolean, None,
        "the older way to say ssl_mode = 'verify_identity'",
        example=False,
    ),
    # --- [benchmark] --------------------------------------------------------------
    Setting(
        "benchmark", "iterations", "iterations", "integer", integer(1, MAX_OPERATIONS), 100,
        "measured operations per runner, all workers together",
        flag=Flag(
            "--iterations",
            "Measured operations per runner, all workers together.",
            short="-n",
        ),
    ),
    Setting(
        "benchmark", "duration", "duration_s", "duration",
        duration(MIN_RUN_S, MAX_RUN_S, why_low="a shorter run may end before its first operation"),
        None,
        "instead of iterations: how long each runner is measured (30s, 500ms, 2m, 1h); "
        "the one of the two given with higher precedence wins",
        flag=Flag("--duration", "Measure each runner for this long instead (30s, 500ms, 2m)."),
        example="30s",
    ),
    Setting(
        "benchmark", "warmup", "warmup", "integer", integer(0, MAX_OPERATIONS), None,
        "uncounted operations per runner; at least one per worker is run",
        flag=Flag(
            "--warmup",
            "Uncounted warm-up operations per runner.",
        ),
        default_text="10% of iterations, 5 to 10,000",
        example=10,
    ),
    Setting(
        "benchmark", "query", "query", "string", _query, "SELECT 1",
        "the SQL every operation runs; all rows are fetched",
        flag=Flag("--query", "SQL each operation runs and fetches."),
    ),
    Setting(
        "benchmark", "workload", "workload", "choice", choice(*WORKLOAD_NAMES), "read",
        "read: the query; insert: a row + COMMIT into a scratch table dbbench creates and "
        "drops (needs --allow-writes); point-select, read-only: sysbench's oltp_point_select "
        "and a 5-statement read-only transaction on the data set of dbbench prepare; "
        "point-get: a whole row of it by a random id (session.get for the orm runners)",
        flag=Flag(
            "--workload",
            "read: the query; insert: one row + COMMIT into a scratch table dbbench "
            "creates and drops (needs --allow-writes); point-select, read-only: "
            "sysbench's shapes on the data set of dbbench prepare; point-get: a whole "
            "row of it by a random id (session.get for the orm runners).",
        ),
        choices=WORKLOAD_NAMES,
        doc_note="see [Write workloads](#write-workloads)",
    ),
    Setting(
        "benchmark", "scripts", "scripts", "list", _scripts, None,
        "instead of the query: script files in pgbench's language (SQL statements, \\set, "
        "\\sleep), each FILE or FILE@WEIGHT (a whole number, 1 by default); each operation "
        "picks one by weight and runs its statements in order on one connection, in "
        "autocommit, BEGIN/COMMIT as written; every statement is judged by the write guard",
        flag=Flag(
            "--script",
            "Run this pgbench-style script file as the operation instead of --query; "
            "FILE@WEIGHT picks among several by weight. May be given several times.",
            kind="repeated",
            dest="scripts",
            metavar="FILE[@WEIGHT]",
            run_only=True,
        ),
        example=["tx.sql", "read.sql@3"],
        doc_note="see [Scripts](#scripts)",
    ),
    Setting(
        "benchmark", "prepared", "prepared", "boolean", boolean, False,
        "measure every runner twice in the same turns, its statements sent as plain text "
        "(variant plain) and as server-side prepared statements (variant prepared): raw@plain "
        "beside raw@prepared, pool@plain beside pool@prepared; a prepared statement lives on "
        "its connection, so raw prepares again on every connect, pool and persistent once per "
        "connection; with psycopg or mysql-connector, on the runners that run on a DB-API "
        "connection",
        env=("DBBENCH_PREPARED",),
        flag=Flag(
            "--prepared",
            "Run every runner twice, as plain text and as server-side prepared statements "
            "(raw@plain beside raw@prepared); psycopg or mysql-connector.",
            kind="on",
            run_only=True,
        ),
        doc_note="see [Prepared statements](#prepared-statements)",
    ),
    Setting(
        "benchmark", "allow_large_results", "allow_large_results", "boolean", boolean, False,
        "run a query whose one execution returns over 100,000 rows or 32 MiB (refused "
        "otherwise, exit 2)",
        flag=Flag(
            "--allow-large-results",
            "Run a query that returns over 100,000 rows or 32 MiB per operation "
            "(refused by default: every operation fetches it all into memory).",
            kind="on",
        ),
    ),
    Setting(
        "benchmark", "concurrency", "concurrency", "integer", integer(1, 10_000), 1,
        "worker threads running operations at once; a list on the command line sweeps",
        flag=Flag(
            "--concurrency",
            "Worker threads running operations at once; a list (1,8,32) sweeps.",
            kind="list",
            short="-c",
            dest="concurrency_text",
        ),
    ),
    Setting(
        "benchmark", "max_errors", "max_errors", "integer", integer(1, MAX_OPERATIONS), None,
        "stop once this many operations failed (warm-up's included), all runners and "
        "processes together "
        "(operations already running when it is reached may add up to one per other worker); "
        "the results so far are kept, exit 3",
        flag=Flag(
            "--max-errors",
            "Stop once this many operations failed (what was measured is kept).",
        ),
        default_text="never",
        example=100,
    ),
    Setting(
        "benchmark", "processes", "processes", "integer", integer(1, 256), 1,
        "processes sharing the workers, each with its own pool; at most the concurrency",
        flag=Flag(
            "--processes",
            "Processes sharing the workers, each with its own pool.",
        ),
    ),
    Setting(
        "benchmark", "rate", "rate_per_s", "rate", rate(MIN_RATE, MAX_RATE), None,
        "open loop: operations per second per runner, latency counted from the scheduled "
        "start; the iterations and warm-up must take a day or less at it, and a duration "
        "must hold one operation",
        unit="ops/s",
        flag=Flag(
            "--rate",
            "Open loop: operations per second per runner; latency counts from the "
            "scheduled start.",
        ),
        default_text="closed loop",
        example=1000,
    ),
    Setting(
        "benchmark", "repeat", "repeat", "integer", integer(1, 1000), 1,
        "independent repetitions of the whole run (of every cell, in a sweep), each with "
        "fresh runners, pools and processes; with 2 or more, every verdict rests on the "
        "variation between repetitions",
        flag=Flag(
            "--repeat",
            "Repeat the whole run this many times, afresh each time; verdicts then rest on "
            "the variation between repetitions.",
        ),
    ),
    # --- [pool] -------------------------------------------------------------------
    Setting(
        "pool", "pool_size", "pool_size", "integer", integer(1, MAX_CONNECTIONS), 5,
        "connections the pool keeps open; a list on the command line sweeps",
        flag=Flag(
            "--pool-size",
            "Connections the pool keeps; a list (1,5,10) sweeps.",
            kind="list",
            dest="pool_size_text",
        ),
        comment=(
            "SQLAlchemy QueuePool settings, used by the pool runner; defaults are "
            "SQLAlchemy's own.",
        ),
    ),
    Setting(
        "pool", "max_overflow", "max_overflow", "integer", integer(-1, MAX_CONNECTIONS), 10,
        "extra connections beyond pool_size under load; a list on the command line sweeps",
        bounds="-1: no limit",
        flag=Flag(
            "--max-overflow",
            "Extra connections beyond pool_size, -1 = no limit; a list sweeps.",
            kind="list",
            dest="max_overflow_text",
        ),
    ),
    Setting(
        "pool", "pool_timeout", "pool_timeout_s", "number", _seconds(), 30.0,
        "how long a checkout waits for a free connection",
        unit="s",
        flag=Flag(
            "--pool-timeout", "Seconds a checkout waits for a free connection."
        ),
    ),
    Setting(
        "pool", "pool_recycle", "pool_recycle_s", "number",
        _seconds(allow=(-1,)), -1.0,
        "replace connections older than this",
        unit="s", bounds="-1: never",
        flag=Flag(
            "--pool-recycle",
            "Replace connections older than this many seconds, -1 = never.",
        ),
    ),
    Setting(
        "pool", "pool_pre_ping", "pool_pre_ping", "boolean", boolean, False,
        "test each connection at checkout",
        flag=Flag(
            "--pre-ping/--no-pre-ping",
            "Ping each connection at checkout.",
            kind="switch",
        ),
    ),
    Setting(
        "pool", "pool_use_lifo", "pool_use_lifo", "boolean", boolean, False,
        "hand out the most recently returned connection first (lets idle ones time out)",
        flag=Flag(
            "--lifo/--fifo",
            "Hand out the most recently returned connection first.",
            kind="switch",
            dest="use_lifo",
        ),
    ),
    Setting(
        "pool", "pool_reset_on_return", "pool_reset_on_return", "choice",
        choice(*RESET_ON_RETURN), "rollback",
        "what checkin does to a connection: rollback, commit or none",
        flag=Flag(
            "--reset-on-return",
            "What checkin does to a connection.",
        ),
        choices=RESET_ON_RETURN,
    ),
    Setting(
        "cluster", "scheduler", "scheduler", "string", scheduler_address, None,
        "run the processes of [benchmark] processes as tasks on the workers of this running "
        "Dask scheduler (tcp://host:8786, tls://...), each with its own pools and share of "
        "the workers; needs pip install 'dbbench[cluster]'",
        env=("DBBENCH_CLUSTER",),
        flag=Flag(
            "--cluster",
            "Run the processes as tasks on the workers of this Dask scheduler "
            "(tcp://host:8786).",
            metavar="ADDRESS",
            run_only=True,
        ),
        example="tcp://10.0.0.5:8786",
        doc_note="see [the cluster guide](../guide/cluster.md)",
    ),
)

#: section -> key -> row
BY_KEY: dict[str, dict[str, Setting]] = {
    section: {s.key: s for s in SETTINGS if s.section == section} for section in SECTIONS
}


def setting(section: str, key: str) -> Setting:
    """The row of ``[section] key``; ``KeyError`` for one that does not exist."""
    return BY_KEY[section][key]


def mentioned(section: str, key: str) -> str:
    """``[section] key`` in a message that tells the user to change it (``Setting.mentioned``)."""
    return setting(section, key).mentioned


def _own(
    section: str, key: str, default: Any, help: str, kind: FlagKind | None = None
) -> Setting:
    """``[section] key`` as one command takes it: its own default and its own words for the
    flag (and, for a list flag, one value: ``stale --pool-size``)."""
    row = setting(section, key)
    assert row.flag is not None, f"{row.name} has no flag"
    flag = dataclasses.replace(row.flag, help=help)
    if kind is not None and kind != flag.kind:
        flag = dataclasses.replace(flag, kind=kind, dest=None)
    return dataclasses.replace(row, default=default, default_text=None, flag=flag)


#: command -> the rows it takes with its own default, where not the table's; the command
#: uses that default whatever the settings file says (a flag still overrides it)
COMMAND_ROWS: dict[str, dict[str, Setting]] = {
    "explain": {
        row.name: row
        for row in (
            _own(
                "benchmark",
                "iterations",
                200,
                "Rounds; in each, raw runs once instrumented and once as dbbench run times it, "
                "pool and persistent four times each.",
            ),
            _own("benchmark", "warmup", 10, "Uncounted rounds."),
        )
    },
    "stale": {
        row.name: row
        for row in (_own("pool", "pool_size", 4, "Connections in the pool.", kind="value"),)
    },
}


def command_default(command: str, section: str, key: str) -> Any:
    """The default ``command`` gives ``[section] key``: its own (``COMMAND_ROWS``), else the
    table's."""
    row = COMMAND_ROWS.get(command, {}).get(f"[{section}] {key}") or setting(section, key)
    return row.default


def by_flag(name: str) -> Setting | None:
    """The row whose flag is ``name`` (``--pool-size``, ``--no-pre-ping``), if any."""
    for row in SETTINGS:
        if row.flag is not None:
            spelled = row.flag.name.split("/")
            if name in spelled or name == row.flag.short:
                return row
    return None


@dataclass(frozen=True)
class Argument:
    """A number a command takes that is no setting (``stale --wait-timeout``): its check,
    which the command line and the library use alike, and its words for the documents."""

    flag: str
    commands: tuple[str, ...]
    check: Validator
    help: str
    unit: str | None = None
    #: a word on the allowed values, after those the check says
    bounds: str | None = None

    @property
    def limits(self) -> str | None:
        """The allowed values in words, as ``Setting.limits``."""
        return limits(self.check, self.bounds)


#: how much longer than ``stale --wait-timeout`` its ``--idle`` may be
MAX_IDLE_EXTRA_S = MAX_RUN_S
#: the largest ``--fail-on`` limit, in percent: a metric 100 times worse
MAX_FAIL_ON_PERCENT = 10_000

ARGUMENTS: tuple[Argument, ...] = (
    Argument(
        "--wait-timeout", ("stale",),
        integer(1, MAX_SECONDS, why_low="the server's minimum", why_high="the server's maximum"),
        "the server-side idle timeout given to the pool's connections",
        unit="s",
    ),
    Argument(
        "--idle", ("stale",), duration(MIN_SECONDS, MAX_SECONDS + MAX_IDLE_EXTRA_S),
        "how long the pool sits idle",
        bounds="longer than --wait-timeout, by a day at most",
    ),
    Argument(
        "--operations", ("stale",), integer(1, MAX_OPERATIONS),
        "operations after the idle time",
    ),
    Argument(
        "--trials", ("calibrate",),
        integer(2, 1000, why_low="a calibration needs 2 trials or more"),
        "A/A trials",
    ),
    Argument(
        "--rtt", ("run", "compare", "explain"),
        duration(
            MIN_SECONDS, 10, unit_required=True,
            why_high="longer than any network's: a geostationary satellite's is about 0.6 s",
        ),
        "the round-trip time to project each runner's median onto; a unit is required",
    ),
    Argument(
        "--fail-on", ("run", "compare", "diff"),
        number(0, MAX_FAIL_ON_PERCENT, unit="%"),
        "the limit of METRIC:PCT: how much worse a metric may get, in percent",
        bounds="each METRIC once",
    ),
)


def argument(flag: str) -> Argument:
    """The row of a command's own number ``flag`` (``--wait-timeout``)."""
    return next(row for row in ARGUMENTS if row.flag == flag)
