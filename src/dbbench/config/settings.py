"""Settings: TOML file + environment + command-line flags -> frozen dataclasses.

Precedence, highest first: command-line flag (or the ``--password`` prompt),
environment variable, configuration file, the ``[client]`` group of
``~/.my.cnf`` (see ``credentials``), built-in default.  Every value remembers where it came
from, so a bad one is reported as "<where>: <key> = <value>: <what is wrong>".
The password is never part of any message or of ``public_dict``.

Which keys exist, their checks, variables and flags: the table in ``config.schema``.
A value given by a program (``overrides``) is named as the setting (``[pool] pool_size``),
one from the command line (``flags``) as its flag (``--pool-size``).
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from dbbench import safeio
from dbbench.config import credentials
from dbbench.config.schema import (
    BY_KEY,
    DATA_SET_WORKLOADS,
    DEFAULT_DRIVERS,
    DEFAULT_PORTS,
    DIALECT_DRIVERS,
    DIALECT_TITLES,
    MAX_RUN_S,
    SECTIONS,
    SETTINGS,
    ScriptSpec,
    Setting,
    dialect_of,
)
from dbbench.config.tls import NeedsKey, TlsSettings, check_tls_files, resolve_tls
from dbbench.config.url import DatabaseUrl, masked
from dbbench.errors import ConfigError, mention
from dbbench.parsing import bad_value, decimal, shown, suggest, toml_literal, whole_number
from dbbench.scripts.builtin import ROWS, builtin_script
from dbbench.scripts.checks import check_script
from dbbench.scripts.parse import Script, read_script

DEFAULT_CONFIG_NAME = "dbbench.toml"
DEFAULT_QUERY = "SELECT 1"
#: the default warm-up is 10% of the iterations, but no more than this
MAX_DEFAULT_WARMUP = 10_000

#: keys whose values are never shown or saved
SECRET_KEYS = frozenset(row.key for row in SETTINGS if row.secret)

#: [database] keys passed through to the driver's ``ssl_*`` arguments
SSL_KEYS = (
    "ssl_ca",
    "ssl_cert",
    "ssl_key",
    "ssl_verify_cert",
    "ssl_verify_identity",
    "ssl_disabled",
    "ssl_key_password",
)


@dataclass(frozen=True)
class DatabaseSettings:
    #: "mysql" (MySQL, MariaDB) or "postgresql" (``schema.DIALECT_NAMES``); it chose the
    #: port and the driver where they were not given (``schema.DEFAULT_PORTS``,
    #: ``DEFAULT_DRIVERS``), and ``driver`` is always one of its ``DIALECT_DRIVERS``
    dialect: str = "mysql"
    host: str = "127.0.0.1"
    port: int = 3306
    user: str = "root"
    password: str = field(default="", repr=False)
    database: str | None = None
    unix_socket: str | None = None
    connect_timeout_s: float = 10.0
    #: longest wait for the server to answer (read) or take (write) data on an open
    #: connection; PyMySQL's connect_timeout covers only the TCP connect, so without
    #: these a server that stops answering mid-run (stopped, overloaded, a dead
    #: network path) hangs an operation forever instead of failing it
    read_timeout_s: float = 30.0
    write_timeout_s: float = 30.0
    #: SQL run on every new connection (``SET SESSION ...``), as PyMySQL's init_command
    init_command: str | None = None
    #: driver ``ssl_*`` options as given; empty means the driver's defaults
    #: (ssl_key_password among them: never in a repr)
    ssl: Mapping[str, Any] = field(default_factory=dict, repr=False)
    #: the DB-API driver the runners connect with (``dbbench.drivers``)
    driver: str = "pymysql"
    #: disabled, preferred, required, verify_ca or verify_identity; None: as the ssl_* keys say
    ssl_mode: str | None = None
    #: every session read-only from its start, in the connect itself (PostgreSQL's
    #: ``default_transaction_read_only`` in the startup packet): not a key of the user's,
    #: set by a run given no --allow-writes where the dialect can say it at no extra round
    #: trip (``scenarios.benchmark.read_only_sessions``); the drivers' ``connector`` reads it
    read_only: bool = False
    #: whether the endpoint takes server settings in the startup packet (``read_only``'s
    #: way): not a key of the user's; False for a PgBouncer pool (``--pooler``), which
    #: refuses a startup parameter it does not know ("unsupported startup parameter")
    startup_settings: bool = True
    #: the endpoint pools per transaction (``[database] transaction_pooling``): the drivers
    #: connect with what that needs (``Driver.transaction_pooling_kwargs``)
    transaction_pooling: bool = False
    #: keep the drivers' defaults even so (run and compare ``--driver-defaults``): not a key
    #: of the settings file, to show what the defaults cost through such a pool
    driver_defaults: bool = False
    #: every connection in autocommit (``[database] autocommit``): no transaction is left
    #: open by a statement, so a connection closed after its query (``raw``) leaves none
    #: behind, which a pooler in front (PgBouncer) would end by dropping its server
    #: connection; the drivers' ``autocommit`` (``Driver.connection_kwargs``)
    autocommit: bool = False
    #: how statements are sent (``[benchmark] prepared``, whose variants set it): True as
    #: server-side prepared statements, each prepared on a connection's first execution
    #: of it and kept with the connection; False as plain text, never prepared (psycopg
    #: given ``prepare=False``, where its default prepares a statement on its fifth
    #: execution on a connection); None: the driver's default.  Not a key of the settings
    #: file (``Driver.cursor_factory``)
    prepared: bool | None = None

    @property
    def pools_per_transaction(self) -> bool:
        """Whether the drivers connect as transaction pooling needs: it is set, and the
        drivers' defaults are not kept."""
        return self.transaction_pooling and not self.driver_defaults

    @property
    def tls(self) -> TlsSettings:
        """``ssl_mode`` and the ``ssl_*`` keys as one mode (validated when the settings load)."""
        return resolve_tls(self.ssl_mode, self.ssl)

    #: where each given key came from ("--port", "environment variable MYSQL_PWD",
    #: "FILE: [database] database"), for messages that send the user back to it; the
    #: places only, never a value
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def password_source(self) -> str | None:
        """Where the password came from ("environment variable MYSQL_PWD"), if given."""
        return self.sources.get("password")

    def source_of(self, key: str) -> str:
        """Where ``key``'s value came from, as a message's parenthesis says it."""
        if key in self.sources:
            return f"from {self.sources[key]}"
        return f"the default; set it with {', '.join(BY_KEY['database'][key].setters())}"

    def check_drivers(self, names: Sequence[str], where: str, given: str) -> None:
        """Refuse a driver in ``names`` (``--driver``'s list, ``given`` as typed at ``where``)
        that does not speak this dialect, in one line naming where the dialect came from."""
        for name in names:
            if dialect_of(name) != self.dialect:
                item = f"{name} is " if len(names) > 1 else ""
                raise ConfigError(f"{where} = {given}: {item}{self._foreign(name)}")

    def _foreign(self, driver: str) -> str:
        """Why ``driver``, another dialect's, does not do: ``a MySQL driver, and [database]
        dialect is postgresql (from --url); choose psycopg or psycopg2``."""
        ours = DIALECT_DRIVERS[self.dialect]
        return (
            f"a {DIALECT_TITLES[dialect_of(driver)]} driver, and [database] dialect is "
            f"{self.dialect} ({self.source_of('dialect')}); choose "
            f"{', '.join(ours[:-1])} or {ours[-1]}"
        )

    def describe(self) -> str:
        """``user@host:port`` (or the socket) for messages; never the password."""
        where = self.unix_socket if self.unix_socket else f"{self.host}:{self.port}"
        return f"{self.user}@{where}"

    def public_dict(self) -> dict[str, Any]:
        """Everything but the password, for result files."""
        return {
            "dialect": self.dialect,
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password_set": bool(self.password),
            "database": self.database,
            "unix_socket": self.unix_socket,
            "connect_timeout_s": self.connect_timeout_s,
            "read_timeout_s": self.read_timeout_s,
            "write_timeout_s": self.write_timeout_s,
            "init_command": self.init_command,
            "ssl": {k: "<hidden>" if k in SECRET_KEYS else v for k, v in self.ssl.items()},
            "driver": self.driver,
            "ssl_mode": self.tls.mode,
            "transaction_pooling": self.transaction_pooling,
            "driver_defaults": self.driver_defaults,
            "autocommit": self.autocommit,
            "prepared": self.prepared,
        }


#: the variables a script may read without setting them, as pgbench predefines them
#: (``ScriptWorkload`` gives their values)
SCRIPT_VARIABLES = ("scale", "client_id", "random_seed", "default_seed")


@dataclass(frozen=True)
class ScriptFile:
    """One of ``[benchmark] scripts``, read and parsed: its file, its weight, its script."""

    path: str
    weight: int
    script: Script

    def public_dict(self) -> dict[str, Any]:
        return {"path": self.path, "weight": self.weight}


def read_scripts(specs: Sequence[ScriptSpec], dialect: str) -> tuple[ScriptFile, ...] | None:
    """Each script file read and parsed as ``dialect``'s SQL, and checked (``check_script``:
    no transaction left open at its end, no SET autocommit); None for none.  A problem is
    a ``ScriptError``, one line naming the file (and line)."""
    files = []
    for spec in specs:
        # :rows too: the data set's, read when the run starts (``checks.reads_rows``)
        script = read_script(spec.path, dialect=dialect, variables=(*SCRIPT_VARIABLES, ROWS))
        check_script(script)
        files.append(ScriptFile(spec.path, spec.weight, script))
    return tuple(files) or None


def _data_set_script(
    benchmark: Mapping[str, Any], workload: str, dialect: str
) -> tuple[ScriptFile, ...]:
    """A built-in workload on the data set (``scripts.builtin``) as the run's one script,
    named by the workload; with ``[benchmark] scripts`` too, a ``ConfigError``."""
    if "scripts" in benchmark:
        raise ConfigError(
            f"{benchmark['workload'].where} = {workload!r} and {benchmark['scripts'].where} "
            "both say what an operation runs: give one"
        )
    return (ScriptFile(workload, 1, builtin_script(workload, dialect, SCRIPT_VARIABLES)),)


@dataclass(frozen=True)
class BenchmarkSettings:
    #: measured operations per runner, all workers together
    iterations: int = 100
    #: instead of iterations: how long each runner is measured
    duration_s: float | None = None
    #: warm-up operations per runner; None means 10% of iterations, at least 5
    warmup: int | None = None
    query: str = DEFAULT_QUERY
    #: worker threads, across all processes
    concurrency: int = 1
    #: processes, each with its own pool and its share of the workers
    processes: int = 1
    #: open loop: operations per second per runner, all workers together
    rate_per_s: float | None = None
    #: stop once this many operations failed, warm-up's included; None: never
    max_errors: int | None = None
    #: what an operation does: "read" (the query) or "insert" (into a scratch table)
    workload: str = "read"
    #: the scratch table a write workload writes into; set by dbbench for the run, never by users
    scratch_table: str | None = None
    #: run a query whose one execution returns more than preflight's limits
    allow_large_results: bool = False
    #: independent repetitions of the whole run, each with fresh runners and pools
    repeat: int = 1
    #: instead of the query: the scripts an operation picks one of, by weight, parsed;
    #: None: the query
    scripts: tuple[ScriptFile, ...] | None = None
    #: every runner measured plain and with server-side prepared statements, as the
    #: variants ``PREPARED_VARIANTS`` (``load_settings`` makes them)
    prepared: bool = False
    #: a built-in workload on the data set (``point-select``...): the data set's rows,
    #: read from the database before the run (``databases.read_data_set``); None before
    data_rows: int | None = None

    @property
    def warmup_iterations(self) -> int:
        if self.warmup is not None:
            return self.warmup
        if self.duration_s is not None:
            return 5
        return max(5, min(math.ceil(self.iterations / 10), MAX_DEFAULT_WARMUP))


@dataclass(frozen=True)
class ClusterSettings:
    """Where the processes run: here, or as tasks on a Dask cluster (``engine/cluster.py``)."""

    #: a running Dask scheduler's address (``tcp://host:8786``); None: processes here
    scheduler: str | None = None


@dataclass(frozen=True)
class PoolSettings:
    """SQLAlchemy ``QueuePool`` arguments; the defaults are SQLAlchemy's own."""

    pool_size: int = 5
    max_overflow: int = 10
    pool_timeout_s: float = 30.0
    #: -1 means never recycle
    pool_recycle_s: float = -1
    pool_pre_ping: bool = False
    #: hand out the most recently returned connection first (lets idle ones time out)
    pool_use_lifo: bool = False
    #: what checkin does to a connection: "rollback", "commit" or "none"
    pool_reset_on_return: str = "rollback"

    @property
    def reset_on_return_argument(self) -> str | None:
        """``pool_reset_on_return`` as SQLAlchemy takes it."""
        return None if self.pool_reset_on_return == "none" else self.pool_reset_on_return

    @property
    def max_connections(self) -> int | None:
        """Most connections one pool may open; None when overflow is unlimited."""
        return None if self.max_overflow < 0 else self.pool_size + self.max_overflow

    def describe(self) -> str:
        recycle = "off" if self.pool_recycle_s < 0 else f"{self.pool_recycle_s:g}s"
        text = (
            f"pool_size={self.pool_size} max_overflow={self.max_overflow} "
            f"pool_timeout={self.pool_timeout_s:g}s pool_recycle={recycle} "
            f"pool_pre_ping={'on' if self.pool_pre_ping else 'off'}"
        )
        if self.pool_use_lifo:
            text += " pool_use_lifo=on"
        if self.pool_reset_on_return != "rollback":
            text += f" reset_on_return={self.pool_reset_on_return}"
        return text


#: the init_command's setting as a message names it, when no file set it
_INIT_COMMAND = mention("[database] init_command")


@dataclass(frozen=True)
class Variant:
    """One configuration a run measures beside others (``--variant NAME=FILE``): the run's
    settings with the ``[database]`` and ``[pool]`` keys of its file laid over them; its
    ``[benchmark]`` is the run's (``Settings.variant`` puts them together)."""

    name: str
    #: the variant's settings file; None for a target (``--target NAME=URL``), and for a
    #: variant of the run's own settings (``[benchmark] prepared``'s), which has no ``url``
    path: Path | None
    database: DatabaseSettings
    pool: PoolSettings
    #: the settings its file sets (``[pool] pool_pre_ping``), [benchmark]'s left out
    keys: frozenset[str] = frozenset()
    #: a target's URL, as messages show it (never its password); None for a file's
    url: str | None = None

    @property
    def origin(self) -> str:
        """Where it was given, for a message: its file, or ``--target NAME``."""
        if self.path is not None:
            return str(self.path)
        if self.url is None:  # made of the run's settings (``[benchmark] prepared``)
            return f"{mention('[benchmark] prepared')} {self.name}"
        return f"{TARGET_FLAG} {self.name}"


T = TypeVar("T")

#: the flag of a target: an endpoint measured beside others, given by its URL
TARGET_FLAG = "--target"
#: the ``[database]`` keys that say which endpoint to reach: a target's URL says them
#: all, with the dialect's defaults for those it leaves out, never the run's
ENDPOINT_KEYS = ("url", "dialect", "driver", "host", "port", "unix_socket", "database", "user")

#: the longest a variant's (a target's) name may be: it ends every runner label of a table
MAX_VARIANT_NAME = 40
#: what a variant's name may be made of: it ends runner labels (``pool@new``)
VARIANT_NAME = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_VARIANT_NAME}}}")
#: between a runner's label (``pool``, ``pool/mysqlclient``) and its variant's name in
#: results: ``pool@new``
VARIANT_MARK = "@"


def split_label(label: str) -> tuple[str, str | None]:
    """``"pool/mysqlclient@new"`` -> ``("pool/mysqlclient", "new")``; no variant: None."""
    runner, _, variant = label.partition(VARIANT_MARK)
    return runner, variant or None


@dataclass(frozen=True)
class PooledTarget:
    """A target that goes through the pooler: its name, the pooler's database alias it
    connects to, and that pool's mode (session, transaction)."""

    target: str
    database: str
    pool_mode: str
    #: the runner (its label without the target: "raw", "pool/psycopg2") whose own pool of
    #: the target's mode this is; None: the target's own, which the checks and the session
    #: probe connect to
    runner: str | None = None


@dataclass(frozen=True)
class Pooler:
    """A server-side pooler in front of the server (PgBouncer), as a run watches it: its
    admin console's address (no password: dbbench's throwaway PgBouncer trusts its user)
    and the targets through it."""

    kind: str
    version: str
    host: str
    port: int
    user: str
    targets: tuple[PooledTarget, ...]
    #: what was found of it once, when it started (``scenarios.pooler.session_findings``):
    #: notes of every repetition and sweep cell of the run
    findings: tuple[str, ...] = ()

    def database_for(self, label: str) -> str | None:
        """The pooler's database alias the runner ``label`` ("raw@pgbouncer-session")
        connects to: its own pool of its target's; None for a runner on no pooled target,
        or one that has no pool of its own there."""
        runner, target = split_label(label)
        return next(
            (t.database for t in self.targets if t.target == target and t.runner == runner),
            None,
        )


@dataclass(frozen=True)
class Settings:
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    benchmark: BenchmarkSettings = field(default_factory=BenchmarkSettings)
    pool: PoolSettings = field(default_factory=PoolSettings)
    cluster: ClusterSettings = field(default_factory=ClusterSettings)
    #: the configuration file read, if any
    config_path: Path | None = None
    #: things worth a word on stderr that are not errors
    warnings: tuple[str, ...] = ()
    #: where ``password`` without a value (``~/.my.cnf``) asked for the password to be typed,
    #: as the mysql client asks, when nothing else gives one: the command line asks
    password_asked_by: str | None = None
    #: the configurations one run measures side by side, in the order given; empty: the
    #: run measures these settings alone
    variants: tuple[Variant, ...] = ()
    #: the server-side pooler some targets go through (``--pooler``), whose counters a run
    #: reads beside the server's; None: none watched
    pooler: Pooler | None = None

    def variant(self, name: str) -> Settings:
        """The settings variant ``name`` runs with: these, with its ``[database]`` and
        ``[pool]`` (and no variants of their own); ``KeyError`` for a name not given."""
        for variant in self.variants:
            if variant.name == name:
                return dataclasses.replace(
                    self, database=variant.database, pool=variant.pool, variants=()
                )
        raise KeyError(name)

    def databases(self) -> tuple[DatabaseSettings, ...]:
        """The run's ``[database]`` and every variant's."""
        return (self.database, *(variant.database for variant in self.variants))

    def dialects(self) -> tuple[str, ...]:
        """Every dialect the run speaks (variants and targets may mix them), each once."""
        return tuple(dict.fromkeys(database.dialect for database in self.databases()))

    def init_commands(self, dialect: str | None = None) -> list[tuple[str | None, str]]:
        """Each ``[database] init_command`` a run sends, the run's and every variant's (with
        ``dialect``: those sent to that dialect's servers), with where it was set
        (``FILE: [database] init_command``), for ``guard.check_sql``."""
        return [
            (database.init_command, database.sources.get("init_command", _INIT_COMMAND))
            for database in self.databases()
            if dialect is None or database.dialect == dialect
        ]

    def with_password(self, password: str, source: str, *, lowest: bool = False) -> Settings:
        """These settings, and each variant's, with ``password`` (typed at a prompt) from
        ``source``; a variant whose file sets a password too is refused as ambiguous, or,
        with ``lowest`` (the prompt ``~/.my.cnf`` asks for, below every other layer),
        keeps its own."""

        def given(database: DatabaseSettings) -> DatabaseSettings:
            sources = {**database.sources, "password": source}
            return dataclasses.replace(database, password=password, sources=sources)

        def own(variant: Variant) -> bool:
            return "[database] password" in variant.keys

        for variant in self.variants:
            if own(variant) and not lowest:
                raise ConfigError(
                    f"{variant.origin}: [database] password and {source} both give variant "
                    f"{variant.name!r} its password: give it in one place only"
                )
        return dataclasses.replace(
            self,
            database=given(self.database),
            variants=tuple(
                v if own(v) else dataclasses.replace(v, database=given(v.database))
                for v in self.variants
            ),
            password_asked_by=None,
        )

    def with_read_only_sessions(
        self, where: Callable[[DatabaseSettings], bool] = lambda database: True
    ) -> Settings:
        """These settings, and each variant's, with every session read-only from its
        start (``DatabaseSettings.read_only``); with ``where``, only those it says."""

        def read_only(database: DatabaseSettings) -> DatabaseSettings:
            return dataclasses.replace(database, read_only=True) if where(database) else database

        return self._each_database(read_only)

    def with_driver_defaults(self) -> Settings:
        """These settings, and each variant's, with the drivers' defaults kept where
        ``[database] transaction_pooling`` would change them (``--driver-defaults``)."""

        return self._each_database(
            lambda database: dataclasses.replace(database, driver_defaults=True)
        )

    def _each_database(self, change: Callable[[DatabaseSettings], DatabaseSettings]) -> Settings:
        """These settings with ``change`` made to the run's ``[database]`` and every
        variant's."""
        return dataclasses.replace(
            self,
            database=change(self.database),
            variants=tuple(
                dataclasses.replace(v, database=change(v.database)) for v in self.variants
            ),
        )

    def public_dict(self) -> dict[str, Any]:
        document = self._public_sections()
        if self.variants:
            document["variants"] = [
                {
                    "name": variant.name,
                    **({"path": str(variant.path)} if variant.path is not None else {}),
                    **({"url": variant.url} if variant.url is not None else {}),
                    **self._differences(self.variant(variant.name), document),
                }
                for variant in self.variants
            ]
        return document

    @staticmethod
    def _differences(variant: Settings, run: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        """The public ``[database]`` and ``[pool]`` values of ``variant`` that differ from
        the ``run``'s (its ``public_dict()``)."""
        own = variant._public_sections()
        return {
            section: {
                key: value for key, value in own[section].items() if value != run[section].get(key)
            }
            for section in ("database", "pool")
        }

    def _public_sections(self) -> dict[str, Any]:
        return {
            "config_path": str(self.config_path) if self.config_path else None,
            "database": self.database.public_dict(),
            "benchmark": {
                "iterations": None if self.benchmark.duration_s else self.benchmark.iterations,
                "duration_s": self.benchmark.duration_s,
                "warmup": self.benchmark.warmup_iterations,
                "query": self.benchmark.query,
                "concurrency": self.benchmark.concurrency,
                "processes": self.benchmark.processes,
                "rate_per_s": self.benchmark.rate_per_s,
                "max_errors": self.benchmark.max_errors,
                "workload": self.benchmark.workload,
                "scratch_table": self.benchmark.scratch_table,
                "allow_large_results": self.benchmark.allow_large_results,
                "repeat": self.benchmark.repeat,
                "prepared": self.benchmark.prepared,
                **(
                    {"scripts": [f.public_dict() for f in self.benchmark.scripts]}
                    if self.benchmark.scripts
                    else {}
                ),
                **(
                    {"data_rows": self.benchmark.data_rows}
                    if self.benchmark.data_rows is not None
                    else {}
                ),
            },
            "pool": dataclasses.asdict(self.pool),
        }


@dataclass(frozen=True)
class _Value:
    value: Any
    where: str
    #: precedence: 1 file, 2 environment, 3 flag
    layer: int = 0
    #: the value as the user gave it (a variable's or a flag's text, a file's TOML literal),
    #: for a message; None: ``value`` shown
    given: str | None = None
    #: ``value`` as its row's check made it (``_checked``)
    checked: Any = None

    @property
    def echo(self) -> str:
        return self.given if self.given is not None else shown(self.value)


def _read_file(path: Path) -> dict[str, dict[str, _Value]]:
    try:
        text = safeio.read_text(path, limit=safeio.SETTINGS_LIMIT, what="a settings file")
    except safeio.FileProblem as exc:
        reason = "configuration file not found" if exc.missing else exc.reason
        raise ConfigError(f"{path}: {reason}") from None
    if not text.strip():
        raise ConfigError(f"{path}: the configuration file is empty")
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except RecursionError:  # tomllib recurses once per level: some hundreds are too many
        raise ConfigError(f"{path}: invalid TOML: arrays or tables nested too deeply") from None

    found: dict[str, dict[str, _Value]] = {}
    for section, table in document.items():
        if not isinstance(table, dict) and section not in BY_KEY:
            home = next((name for name, keys in BY_KEY.items() if section in keys), None)
            if home:
                raise ConfigError(
                    f"{path}: '{section}' is outside any section; put it under [{home}]"
                )
        if section not in BY_KEY:
            hint = suggest(section, SECTIONS)
            raise ConfigError(f"{path}: unknown section [{section}]{hint}")
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: '{section}' must be a [{section}] table")
        for key, value in table.items():
            if key not in BY_KEY[section]:
                hint = suggest(key, list(BY_KEY[section]))
                raise ConfigError(f"{path}: unknown key '{key}' in [{section}]{hint}")
            where = f"{path}: [{section}] {key}"
            found.setdefault(section, {})[key] = _Value(value, where, 1, toml_literal(value))
    return found


#: how a boolean may be written where it comes as text (a variable)
_TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
_FALSE_WORDS = frozenset({"false", "0", "no", "off"})


def from_text(row: Setting, where: str, text: Any) -> Any:
    """A value given as text (a variable, a flag, ~/.my.cnf) as ``row``'s type: a whole
    number or a number is read here, the rest is checked with the other layers'; a bad
    one raises ``bad_value``'s error naming ``where``.  A boolean reads true, false, 1, 0,
    yes, no, on or off, in any case (``DBBENCH_TRANSACTION_POOLING=1``)."""
    if isinstance(text, str) and row.type == "boolean":
        word = text.strip().lower()
        if word in _TRUE_WORDS or word in _FALSE_WORDS:
            return word in _TRUE_WORDS
        raise bad_value(where, text, "must be true or false (1, 0, yes, no, on, off)")
    if not isinstance(text, str) or row.type not in ("integer", "number"):
        return text
    try:
        return whole_number(text) if row.type == "integer" else decimal(text)
    except ValueError:
        problem = "must be a whole number" if row.type == "integer" else "must be a number"
        raise bad_value(where, text, problem, secret=row.secret) from None


def _read_environment(env: Mapping[str, str]) -> dict[str, dict[str, _Value]]:
    found: dict[str, dict[str, _Value]] = {}
    for row in SETTINGS:
        variable = next((name for name in row.env if name in env), None)
        if variable is None:
            continue
        where = f"environment variable {variable}"
        text = env[variable]
        found.setdefault(row.section, {})[row.key] = _Value(
            from_text(row, where, text), where, 2, shown(text)
        )
    return found


def _read_option_file(
    path: Path, env: Mapping[str, str]
) -> tuple[dict[str, dict[str, _Value]], credentials.OptionFile]:
    """``~/.my.cnf``'s login, below every other layer, and all that file said."""
    given = credentials.read_option_file(path, env)
    found: dict[str, _Value] = {}
    for key, text in given.values.items():
        where = given.where[key]
        found[key] = _Value(from_text(BY_KEY["database"][key], where, text), where, 0, shown(text))
    return ({"database": found} if found else {}), given


def _password_warning(path: Path, layer: dict[str, dict[str, _Value]]) -> str | None:
    """A warning when ``path`` (read as ``layer``) holds a password others may read.

    Whether or not that password is the one in force: another source winning
    this time does not make the file's secret any less readable.
    """
    item = layer.get("database", {}).get("password")
    if item is None or not item.value:
        return None
    mode = credentials.may_be_read_by_others(path)
    if mode is None:
        return None
    return (
        f"{path} holds a password and other users may read it "
        f"(mode {mode:o}); chmod 600 it, or use DBBENCH_PASSWORD or MYSQL_PWD"
    )


def find_config_path(
    explicit: str | os.PathLike[str] | None, cwd: Path | None = None
) -> Path | None:
    """The file to read: ``--config``, else ./dbbench.toml if present, else none."""
    if explicit is not None:
        return Path(explicit)
    candidate = (cwd or Path.cwd()) / DEFAULT_CONFIG_NAME
    return candidate if candidate.is_file() else None


def _resolve_run_length(benchmark: dict[str, _Value]) -> None:
    """Keep one of iterations and duration: the one given with higher precedence."""
    if "duration" in benchmark and "iterations" in benchmark:
        iterations, duration = benchmark["iterations"], benchmark["duration"]
        if iterations.layer == duration.layer:
            raise ConfigError(
                f"{iterations.where} and {duration.where} are both given: "
                "choose a number of operations or a duration"
            )
        del benchmark["duration" if iterations.layer > duration.layer else "iterations"]


def _given(
    values: Mapping[str, Mapping[str, Any]] | None,
    where: Callable[[Setting], str],
    *,
    typed: bool = False,
) -> dict[str, dict[str, _Value]]:
    """``{"pool": {"pool_size": 10}}`` as a layer; None is "not given".  ``typed``: the
    values are text as typed (flags), a number read from it as a variable's is."""
    layer: dict[str, dict[str, _Value]] = {}
    for section, keys in (values or {}).items():
        for key, value in keys.items():
            row = BY_KEY.get(section, {}).get(key)
            if row is None:
                hint = suggest(key, list(BY_KEY.get(section, {}))) if section in BY_KEY else ""
                raise ConfigError(f"there is no setting [{section}] {key}{hint}")
            if value is None:
                continue
            item = _Value(value, where(row), 3)
            if typed and isinstance(value, str):
                item = _Value(from_text(row, item.where, value), item.where, 3, shown(value))
            elif typed and isinstance(value, tuple):  # a repeated flag's values, as typed
                item = _Value(value, item.where, 3, " ".join(shown(v) for v in value))
            layer.setdefault(section, {})[key] = item
    return layer


def _checked(row: Setting, item: _Value) -> _Value:
    """``item`` with its value as ``row``'s check makes it; a bad one raises ``bad_value``'s
    error, naming where it came from and echoing it as given (as ``row.shown_as`` shows it,
    for a URL: from here on, its echo never holds its password)."""
    if row.shown_as is not None and isinstance(item.value, str):
        hidden = row.shown_as(item.value)
        as_file = item.given is not None and item.given == toml_literal(item.value)
        item = dataclasses.replace(item, given=toml_literal(hidden) if as_file else shown(hidden))
    try:
        return dataclasses.replace(item, checked=row.check(item.value))
    except ValueError as exc:
        error = bad_value(item.where, item.value, str(exc), secret=row.secret, echo=item.echo)
        raise error from None


def _with_url(layers: Sequence[dict[str, dict[str, _Value]]]) -> list[dict[str, dict[str, _Value]]]:
    """``layers`` (checked, lowest first) with the highest ``[database] url`` read into the
    keys it sets, in its own layer: a key given higher overrides the URL's part, one given
    lower is overridden by it, and one given beside it that says otherwise is refused.  A
    URL given lower is overridden whole: one URL is one address, not parts to mix.  Its
    parts are named as the URL (``from --url``), which may hold a password only from the
    environment or a file."""
    found = [index for index, layer in enumerate(layers) if "url" in layer.get("database", {})]
    expanded = []
    for index, layer in enumerate(layers):
        database = {key: item for key, item in layer.get("database", {}).items() if key != "url"}
        if found and index == found[-1]:
            database = _url_parts(layer["database"]["url"], database)
        expanded.append({**layer, "database": database})
    return expanded


def _url_parts(url: _Value, beside: dict[str, _Value]) -> dict[str, _Value]:
    """``beside`` (the keys of the URL's layer) and the keys ``url`` sets."""
    parsed: DatabaseUrl = url.checked
    flag = BY_KEY["database"]["url"].flag
    if parsed.has_password and flag is not None and url.where == flag.name:
        raise ConfigError(
            f"{url.where} holds a password, and every user sees a command line in the process "
            "list: give the URL in DBBENCH_URL or [database] url of the settings file, or "
            "leave the password out of it and give it with DBBENCH_PASSWORD or --password"
        )
    merged = dict(beside)
    for key, value in parsed.parts.items():
        row = BY_KEY["database"][key]
        try:
            checked = row.check(value)
        except ValueError as exc:
            what = "its password" if row.secret else f"its {key} {shown(value)}"
            raise ConfigError(f"{url.where} = {url.echo}: {what} {exc}") from None
        other = beside.get(key)
        if other is not None and other.checked != checked:
            if row.secret:
                said = f"a password and {other.where} another"
            else:
                said = f"{key} {shown(checked)} and {other.where} = {other.echo}"
            raise ConfigError(f"{url.where} sets {said}: give it in one place")
        if other is None:
            merged[key] = _Value(value, url.where, url.layer, checked=checked)
    return merged


def _how_to_set(row: Setting) -> str:
    """``set it with [database] ssl_ca in the settings file``: every place that sets ``row``."""
    places = [f"{row.name} in the settings file", *(f"environment variable {v}" for v in row.env)]
    if row.flag is not None:
        places.append(row.flag.shown)
    return f"set it with {' or '.join(places)}"


def _flag_name(row: Setting) -> str:
    assert row.flag is not None, f"{row.name} has no flag"
    return row.flag.shown


def load_settings(
    config_path: Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    flags: Mapping[str, Mapping[str, Any]] | None = None,
    variants: Sequence[tuple[str, Path]] = (),
    targets: Sequence[tuple[str, str]] = (),
    swept: frozenset[str] = frozenset(),
) -> Settings:
    """Merge defaults < file < environment < ``overrides`` and ``flags``.

    Both use the file's section and key names, e.g. ``{"pool": {"pool_size": 10}}``; a
    value of None means "not given".  ``overrides`` are a program's own values, and a
    bad one is named as the setting (``[pool] pool_size = 0``); ``flags`` are the command
    line's, named as the flag (``--pool-size = 0``).  A bad value raises
    ``parsing.bad_value``'s ``ConfigError``, one shape whatever the source:
    ``<where> = <value>: <what is wrong>``.

    ``variants``: (name, settings file) pairs, two or more, for one run measuring each
    (``--variant NAME=FILE``): each file's ``[database]`` and ``[pool]`` are laid over the
    file and the environment, under ``overrides`` and ``flags``, which may not set a key the
    file sets too (``Settings.variants``); its ``[benchmark]`` may only say what the run's
    does.

    ``targets``: (name, URL) pairs, two or more (``--target NAME=URL``): variants whose
    only difference is the endpoint their URL names, in place of ``variants``.  A target's
    URL says every ``ENDPOINT_KEYS`` key, with its dialect's defaults where it is silent,
    and a flag that sets one of them too is refused as ambiguous; the rest (TLS, the
    password, ``[pool]``) is the run's.

    ``swept``: the ``[benchmark]`` keys the command line gives several values of (a sweep,
    ``-c 2,4``), which these settings leave unset: what is checked against them is the
    sweep's to check, cell by cell (``--processes 2`` against each concurrency).
    """
    environment = os.environ if env is None else env
    files: list[tuple[Path, dict[str, dict[str, _Value]]]] = []
    option_file = credentials.option_file_path(environment)
    given = credentials.OptionFile()
    if option_file is not None:
        layer, given = _read_option_file(option_file, environment)
        # the file its password came from is the one whose permissions matter
        files.append((Path(given.password_path or option_file), layer))
    if config_path is not None:
        files.append((config_path, _read_file(config_path)))
    below = [layer for _, layer in files]
    below.append(_read_environment(environment))
    above = [_given(overrides, lambda row: row.name), _given(flags, _flag_name, typed=True)]
    # every layer's values, those a higher layer overrides too: a bad file is wrong whatever wins
    for layer in below + above:
        _check_layer(layer)
    settings = _settings(below + above, config_path, swept)
    if settings.database.dialect != "mysql":
        # ~/.my.cnf and MYSQL_PWD are the MySQL client's login, for no other database
        # (below: ~/.my.cnf's layer if read, the settings file's, the environment's)
        below = [*below[1 if option_file is not None else 0 : -1], _without_mysql_pwd(below[-1])]
        settings = _settings(below + above, config_path, swept)
        given = dataclasses.replace(given, asks_password=None, warnings=())
    if given.asks_password is not None and settings.database.password_source is None:
        settings = dataclasses.replace(settings, password_asked_by=given.asks_password)
    warnings = [
        warning
        for path, layer in reversed(files)  # the settings file first, then ~/.my.cnf
        if (warning := _password_warning(path, layer)) is not None
    ]
    warnings += given.warnings
    loaded = []
    if variants and targets:
        raise ConfigError(
            f"--variant and {TARGET_FLAG} both name configurations to measure side by side: "
            "give one or the other (a variant's file may set [database] url)"
        )
    for name, path in _variant_names(variants):
        variant, warning = _variant(name, path, settings, below, above)
        loaded.append(variant)
        warnings += [warning] if warning is not None else []
    for name, url in _variant_names(targets, TARGET_FLAG):
        loaded.append(_target(name, url, settings, below, above))
    if settings.benchmark.prepared:
        loaded = _prepared_variants(settings, loaded)
    if targets:
        # the run has no endpoint of its own: it is the first target's, whose server the
        # run's counters are read on, and each target's differences are from it
        settings = dataclasses.replace(settings, database=loaded[0].database)
    return dataclasses.replace(settings, variants=tuple(loaded), warnings=tuple(warnings))


#: the variants of ``[benchmark] prepared``: statements as plain text, then prepared
PREPARED_VARIANTS = ("plain", "prepared")


def _prepared_variants(settings: Settings, given: Sequence[Variant]) -> list[Variant]:
    """``[benchmark] prepared``'s two variants of the run's settings (``PREPARED_VARIANTS``),
    differing only in ``DatabaseSettings.prepared``; refused beside variants or targets
    given too.  Whether their drivers prepare is the run's to check, once it knows them
    (``scenarios.variants.check_prepared``)."""
    if given:
        raise ConfigError(
            f"{mention('[benchmark] prepared')} measures its own variants "
            f"({' and '.join(PREPARED_VARIANTS)}): give it no --variant or {TARGET_FLAG}"
        )
    database = settings.database
    return [
        Variant(name, None, dataclasses.replace(database, prepared=prepared), settings.pool)
        for name, prepared in zip(PREPARED_VARIANTS, (False, True), strict=True)
    ]


def _without_mysql_pwd(layer: dict[str, dict[str, _Value]]) -> dict[str, dict[str, _Value]]:
    """The environment's ``layer`` without the MySQL client's ``MYSQL_PWD``."""
    return {
        section: {
            key: item for key, item in values.items()
            if item.where != "environment variable MYSQL_PWD"
        }
        for section, values in layer.items()
    }


def _check_layer(layer: dict[str, dict[str, _Value]]) -> None:
    for section, values in layer.items():
        for key, item in values.items():
            values[key] = _checked(BY_KEY[section][key], item)


def _settings(
    layers: Sequence[dict[str, dict[str, _Value]]],
    config_path: Path | None,
    swept: frozenset[str] = frozenset(),
) -> Settings:
    """The checked ``layers``, lowest first, merged into settings (no warnings, no variants);
    ``swept``: as ``load_settings`` takes it."""
    merged: dict[str, dict[str, _Value]] = {section: {} for section in SECTIONS}
    for layer in _with_url(layers):
        for section, values in layer.items():
            merged[section].update(values)

    _resolve_run_length(merged["benchmark"])
    fields: dict[str, dict[str, Any]] = {section: {} for section in SECTIONS}
    for section, values in merged.items():
        for key, item in values.items():
            fields[section][BY_KEY[section][key].field] = item.checked

    benchmark = merged["benchmark"]
    if "processes" in benchmark and "concurrency" not in swept:
        processes = fields["benchmark"]["processes"]
        concurrency = fields["benchmark"].get("concurrency", 1)
        if processes > concurrency:
            raise ConfigError(
                f"{benchmark['processes'].where} = {benchmark['processes'].echo} is more than the "
                "concurrency "
                f"({concurrency}): each process needs at least one worker; raise "
                + BY_KEY["benchmark"]["concurrency"].mentioned
            )

    _check_run_time(benchmark, BenchmarkSettings(**fields["benchmark"]))
    database = fields["database"]
    dialect = database.get("dialect", "mysql")
    specs = fields["benchmark"].get("scripts") or ()
    try:
        fields["benchmark"]["scripts"] = read_scripts(specs, dialect)
    except ConfigError as exc:
        # a file that cannot be read ("x.sql: no such file") is named with the setting
        # that gave it; a script's own line ("x.sql:3: ...") names its place already
        # (as the message shows it: a control character in the path escaped)
        if any(str(exc).startswith(str(ConfigError(f"{spec.path}: "))) for spec in specs):
            raise ConfigError(f"{benchmark['scripts'].where}: {exc}") from None
        raise
    workload = fields["benchmark"].get("workload")
    if workload in DATA_SET_WORKLOADS:
        fields["benchmark"]["scripts"] = _data_set_script(benchmark, workload, dialect)
    if fields["benchmark"]["scripts"]:
        # a script's transactions are its own (BEGIN/COMMIT as written, as pgbench's):
        # every connection opens in autocommit, as the driver's connect sets it, not
        # switched after (PyMySQL's connect would send SET AUTOCOMMIT = 0 and the
        # script SET AUTOCOMMIT = 1: two round trips in every raw operation)
        database["autocommit"] = True
    database["sources"] = {key: value.where for key, value in merged["database"].items()}
    _dialect_defaults(database, merged["database"])
    database["ssl"] = {key: database.pop(key) for key in SSL_KEYS if key in database}
    try:
        resolved = resolve_tls(database.get("ssl_mode"), database["ssl"])
    except ValueError as exc:
        given = [merged["database"].get(key) for key in ("ssl_mode", *SSL_KEYS)]
        where = next((value.where for value in given if value is not None), "[database]")
        hint = f"; {_how_to_set(BY_KEY['database'][exc.key])}" if isinstance(exc, NeedsKey) else ""
        raise ConfigError(f"{where}: {exc}{hint}") from None
    check_tls_files(resolved, merged["database"])
    return Settings(
        database=DatabaseSettings(**database),
        benchmark=BenchmarkSettings(**fields["benchmark"]),
        pool=PoolSettings(**fields["pool"]),
        cluster=ClusterSettings(**fields["cluster"]),
        config_path=config_path,
    )


def _dialect_defaults(database: dict[str, Any], given: Mapping[str, _Value]) -> None:
    """The dialect's port and driver where they are not given; a driver given that speaks
    to another dialect is refused, naming where each came from."""
    dialect = database.setdefault("dialect", "mysql")
    database.setdefault("port", DEFAULT_PORTS[dialect])
    driver = database.setdefault("driver", DEFAULT_DRIVERS[dialect])
    if dialect_of(driver) != dialect:
        item = given["driver"]
        settings = DatabaseSettings(dialect=dialect, sources=database["sources"])
        raise ConfigError(f"{item.where} = {item.echo}: {settings._foreign(driver)}")


def _check_run_time(given: Mapping[str, _Value], benchmark: BenchmarkSettings) -> None:
    """An open loop's rate against what it runs for: a duration that holds no operation at
    that rate, or operations that would take more than ``MAX_RUN_S``, is refused."""
    rate = benchmark.rate_per_s
    if rate is None:
        return

    def said(key: str, value: Any) -> str:
        item = given.get(key)
        if item is not None:
            return f"{item.where} = {item.echo}"
        return f"{BY_KEY['benchmark'][key].mentioned} ({value:g} by default)"

    if benchmark.duration_s is not None:
        operations = benchmark.duration_s * rate
        if operations < 1:
            raise ConfigError(
                f"{said('duration', benchmark.duration_s)} at {said('rate', rate)} is "
                f"{operations:.3g} operations, none to measure: make the duration at least "
                f"{1 / rate:g} s, or raise the rate"
            )
        return
    operations = benchmark.iterations + benchmark.warmup_iterations
    seconds = operations / rate
    if seconds > MAX_RUN_S:
        raise ConfigError(
            f"{said('iterations', benchmark.iterations)} at {said('rate', rate)}: its "
            f"{operations} operations (the warm-up's too) would take {seconds:.0f} s per "
            f"runner, more than a day ({MAX_RUN_S} s); raise the rate or lower the iterations"
        )


def parse_variant(text: str, where: str = "--variant") -> tuple[str, Path]:
    """``"new=new.toml"`` -> ``("new", Path("new.toml"))``; a bad one raises ``bad_value``'s
    error naming ``where``."""
    name, equals, path = text.partition("=")
    if not equals or not path.strip():
        raise bad_value(where, text, "give NAME=FILE, e.g. new=new.toml")
    if not VARIANT_NAME.fullmatch(name.strip()):
        raise bad_value(where, f"{_name_shown(name)}={path}", _NAME_RULE)
    return name.strip(), Path(path.strip())


_NAME_RULE = (
    f"a variant's NAME is 1 to {MAX_VARIANT_NAME} letters, digits, _ and - (it ends the "
    "runner labels: pool@NAME)"
)


def _name_shown(name: str) -> str:
    """A variant's name as a message shows it: a long one by its first characters only."""
    if len(name) <= MAX_VARIANT_NAME:
        return name
    return f"{name[:20]}… ({len(name)} characters)"


def _variant_names(variants: Sequence[tuple[str, T]], flag: str = "") -> Sequence[tuple[str, T]]:
    """``variants`` (or, with ``flag``, that flag's targets) as given, if they are two or
    more with good names, none given twice."""
    where, what = (flag, "target") if flag else (mention("variants"), "variant")
    if len(variants) == 1:
        ((name, given),) = variants
        shown_as = masked(given) if flag else given
        raise ConfigError(
            f"{where}: one {what} ({name}={shown_as}) has nothing to be compared with: give "
            "two or more"
        )
    seen: set[str] = set()
    for name, given in variants:
        if not VARIANT_NAME.fullmatch(name):
            shown_as = masked(given) if flag else given
            raise bad_value(where, f"{_name_shown(name)}={shown_as}", _NAME_RULE)
        if name in seen:
            raise ConfigError(f"{where}: {what} {name!r} is given twice: give each its own name")
        seen.add(name)
    return variants


def parse_target(text: str, where: str = TARGET_FLAG) -> tuple[str, str]:
    """``"direct=postgresql://root@h/test"`` -> ``("direct", "postgresql://root@h/test")``;
    a bad one raises ``bad_value``'s error naming ``where``, never echoing a password."""
    name, equals, url = text.partition("=")
    if not equals or not url.strip():
        example = "direct=postgresql://root@127.0.0.1/test"
        raise bad_value(where, masked(text), f"give NAME=URL, e.g. {example}")
    if not VARIANT_NAME.fullmatch(name.strip()):
        raise bad_value(where, f"{_name_shown(name)}={masked(url)}", _NAME_RULE)
    return name.strip(), url.strip()


def _target(
    name: str,
    url: str,
    run: Settings,
    below: Sequence[dict[str, dict[str, _Value]]],
    above: Sequence[dict[str, dict[str, _Value]]],
) -> Variant:
    """Target ``name``: the run's settings with the endpoint ``url`` names, whole."""
    where = f"{TARGET_FLAG} {name}"
    layer = {"database": {"url": _Value(url, where, 3, url)}}
    _check_layer(layer)
    parsed: DatabaseUrl = layer["database"]["url"].checked
    if parsed.has_password:
        raise ConfigError(
            f"{where} = {parsed.masked} holds a password, and every user sees a command line "
            "in the process list: leave it out of the URL and give it with DBBENCH_PASSWORD "
            "or --password"
        )
    for explicit in above:
        for key in ENDPOINT_KEYS:
            item = explicit.get("database", {}).get(key)
            if item is not None:
                raise ConfigError(
                    f"{item.where} and {where} both say which {key} to reach: a target's URL "
                    f"says it whole; leave {item.where} out, or put it in each target's URL"
                )
    # the run's own endpoint (a file's host, DBBENCH_URL) is not this one's
    elsewhere = [
        {
            section: (
                {k: v for k, v in values.items() if k not in ENDPOINT_KEYS}
                if section == "database" else values
            )
            for section, values in given.items()
        }
        for given in below
    ]
    settings = _settings([*elsewhere, layer, *above], run.config_path)
    keys = frozenset(f"[database] {key}" for key in parsed.parts)
    return Variant(name, None, settings.database, settings.pool, keys, url=parsed.masked)


def _variant(
    name: str,
    path: Path,
    run: Settings,
    below: Sequence[dict[str, dict[str, _Value]]],
    above: Sequence[dict[str, dict[str, _Value]]],
) -> tuple[Variant, str | None]:
    """Variant ``name``: ``path``'s ``[database]`` and ``[pool]`` over the ``run``'s file and
    environment (``below``), under its explicit values (``above``: a program's, the flags),
    and the warning its file calls for, if any."""
    layer = _read_file(path)
    _check_layer(layer)
    warning = _password_warning(path, layer)
    for key, item in layer.pop("benchmark", {}).items():
        ours = _run_value(run.benchmark, key)
        if item.checked != ours:
            origin = next(
                (
                    f"from {given['benchmark'][key].where}"
                    for given in reversed([*below, *above])
                    if key in given.get("benchmark", {})
                ),
                "the default",
            )
            raise ConfigError(
                f"{item.where} = {item.echo}, but the run's is {_said(ours)} ({origin}): "
                f"one run measures every variant with the same [benchmark]; leave {key} out "
                f"of {path}, or give the run the same"
            )
    for section, values in layer.items():
        for key, item in values.items():
            for explicit in above:
                if key in explicit.get(section, {}):
                    row = BY_KEY[section][key]
                    mine = item.where if row.secret else f"{item.where} = {item.echo}"
                    theirs = explicit[section][key].where
                    raise ConfigError(
                        f"{mine} and {theirs} both set {row.name}: which one variant {name!r} "
                        f"runs with is ambiguous; set it in {path} or for the run, not both"
                    )
    settings = _settings([*below, layer, *above], run.config_path)
    keys = frozenset(f"[{section}] {key}" for section, values in layer.items() for key in values)
    return Variant(name, path, settings.database, settings.pool, keys), warning


def _said(value: Any) -> str:
    return "not set" if value is None else shown(value)


def _run_value(benchmark: BenchmarkSettings, key: str) -> Any:
    """``[benchmark] key`` as the run goes by it: no iterations in a timed run, the warm-up
    it works out when none is given."""
    if key == "iterations":
        return None if benchmark.duration_s is not None else benchmark.iterations
    if key == "warmup":
        return benchmark.warmup_iterations
    return getattr(benchmark, BY_KEY["benchmark"][key].field)
