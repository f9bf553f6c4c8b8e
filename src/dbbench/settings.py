"""Settings: TOML file + environment + command-line flags -> frozen dataclasses.

Precedence, highest first: command-line flag (or the ``--password`` prompt),
environment variable, configuration file, the ``[client]`` group of
``~/.my.cnf`` (see ``credentials``), built-in default.  Every value remembers where it came
from, so a bad one is reported as "<where>: <key> = <value>: <what is wrong>".
The password is never part of any message or of ``public_dict``.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dbbench import credentials, guard
from dbbench.errors import ConfigError
from dbbench.parsing import (
    Validator,
    boolean,
    choice,
    integer,
    number,
    optional_string,
    parse_duration_s,
    parse_rate,
    string,
    suggest,
)
from dbbench.tls import SSL_MODES, TlsSettings, check_tls_files, resolve_tls

DEFAULT_CONFIG_NAME = "dbbench.toml"
DEFAULT_QUERY = "SELECT 1"
#: the default warm-up is 10% of the iterations, but no more than this
MAX_DEFAULT_WARMUP = 10_000

#: the DB-API drivers ``[database] driver`` may name (``dbbench.drivers`` implements them)
DRIVER_NAMES: tuple[str, ...] = ("pymysql", "mysqlclient", "mysql-connector")
#: what ``[benchmark] workload`` may name (``dbbench.workload`` says what each does);
#: all but "read" write
WORKLOAD_NAMES: tuple[str, ...] = ("read", "insert")

#: environment variable -> (section, key); the first one set wins for a key
ENVIRONMENT_KEYS: tuple[tuple[str, str, str], ...] = (
    ("DBBENCH_HOST", "database", "host"),
    ("DBBENCH_PORT", "database", "port"),
    ("DBBENCH_USER", "database", "user"),
    ("DBBENCH_PASSWORD", "database", "password"),
    ("MYSQL_PWD", "database", "password"),
    ("DBBENCH_DATABASE", "database", "database"),
)

#: command-line flags whose name is not ``--`` + the key with dashes
FLAG_NAMES = {
    "pool_pre_ping": "--pre-ping/--no-pre-ping",
    "pool_use_lifo": "--lifo/--fifo",
    "rate": "--rate",
    # the only way to give it on the command line: typed at a prompt, never a value
    "password": "--password (prompt)",
}

#: [database] keys that a flag of the same name (dashes for underscores) sets
DATABASE_FLAGS = frozenset({"host", "port", "user", "database", "driver", "ssl_mode"})

#: keys whose values are never shown or saved
SECRET_KEYS = frozenset({"password", "ssl_key_password"})

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
        variable = next((v for v, _, k in ENVIRONMENT_KEYS if k == key), None)
        flag = f"--{key.replace('_', '-')}" if key in DATABASE_FLAGS else None
        setters = ", ".join(filter(None, (f"[database] {key}", variable, flag)))
        return f"the default; set it with {setters}"

    def describe(self) -> str:
        """``user@host:port`` (or the socket) for messages; never the password."""
        where = self.unix_socket if self.unix_socket else f"{self.host}:{self.port}"
        return f"{self.user}@{where}"

    def public_dict(self) -> dict[str, Any]:
        """Everything but the password, for result files."""
        return {
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
        }


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
    #: stop once this many measured operations failed; None: never
    max_errors: int | None = None
    #: what an operation does: "read" (the query) or "insert" (into a scratch table)
    workload: str = "read"
    #: the scratch table a write workload writes into; set by dbbench for the run, never by users
    scratch_table: str | None = None
    #: run a query whose one execution returns more than preflight's limits
    allow_large_results: bool = False

    @property
    def warmup_iterations(self) -> int:
        if self.warmup is not None:
            return self.warmup
        if self.duration_s is not None:
            return 5
        return max(5, min(math.ceil(self.iterations / 10), MAX_DEFAULT_WARMUP))


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


@dataclass(frozen=True)
class Settings:
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    benchmark: BenchmarkSettings = field(default_factory=BenchmarkSettings)
    pool: PoolSettings = field(default_factory=PoolSettings)
    #: the configuration file read, if any
    config_path: Path | None = None
    #: things worth a word on stderr that are not errors
    warnings: tuple[str, ...] = ()

    def public_dict(self) -> dict[str, Any]:
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
            },
            "pool": dataclasses.asdict(self.pool),
        }


# --- validation --------------------------------------------------------------


def _file_path(value: Any) -> str:
    """A path to a file: ``~`` is the home directory, as a shell would have made it."""
    return os.path.expanduser(string(non_empty=True)(value))


def _query(value: Any) -> str:
    text = string(non_empty=True)(value)
    if not guard.has_statement(text):
        raise ValueError("has no SQL statement to run (only comments, semicolons or blanks)")
    return text


def _driver_name(value: Any) -> str:
    if value not in DRIVER_NAMES:
        raise ValueError(f"unknown driver; choose from {', '.join(DRIVER_NAMES)}")
    return value


#: section -> key -> (dataclass field name, validator)
SCHEMA: dict[str, dict[str, tuple[str, Validator]]] = {
    "database": {
        "host": ("host", string(non_empty=True)),
        "port": ("port", integer(1, 65535)),
        "user": ("user", string(non_empty=True)),
        "password": ("password", string()),
        "database": ("database", optional_string),
        "unix_socket": ("unix_socket", optional_string),
        # PyMySQL's own limit: a year
        "connect_timeout": ("connect_timeout_s", number(positive=True, high=31_536_000)),
        "read_timeout": ("read_timeout_s", number(positive=True, high=31_536_000)),
        "write_timeout": ("write_timeout_s", number(positive=True, high=31_536_000)),
        "init_command": ("init_command", optional_string),
        "ssl_ca": ("ssl_ca", _file_path),
        "ssl_cert": ("ssl_cert", _file_path),
        "ssl_key": ("ssl_key", _file_path),
        "ssl_verify_cert": ("ssl_verify_cert", boolean),
        "ssl_verify_identity": ("ssl_verify_identity", boolean),
        "ssl_disabled": ("ssl_disabled", boolean),
        "ssl_key_password": ("ssl_key_password", string()),
        "ssl_mode": ("ssl_mode", choice(*SSL_MODES)),
        "driver": ("driver", _driver_name),
    },
    "benchmark": {
        "iterations": ("iterations", integer(1)),
        "duration": ("duration_s", parse_duration_s),
        "warmup": ("warmup", integer(0)),
        "query": ("query", _query),
        "concurrency": ("concurrency", integer(1, 10_000)),
        "processes": ("processes", integer(1, 256)),
        "rate": ("rate_per_s", parse_rate),
        "max_errors": ("max_errors", integer(1)),
        "workload": ("workload", choice(*WORKLOAD_NAMES)),
        "allow_large_results": ("allow_large_results", boolean),
    },
    "pool": {
        "pool_size": ("pool_size", integer(1)),
        "max_overflow": ("max_overflow", integer(-1)),
        "pool_timeout": ("pool_timeout_s", number(positive=True)),
        "pool_recycle": ("pool_recycle_s", number(positive=True, allow=(-1,))),
        "pool_pre_ping": ("pool_pre_ping", boolean),
        "pool_use_lifo": ("pool_use_lifo", boolean),
        "pool_reset_on_return": ("pool_reset_on_return", choice("rollback", "commit", "none")),
    },
}


def _show(key: str, value: Any) -> str:
    """A value for an error message: the password is never shown."""
    if key in SECRET_KEYS:
        return "<hidden>"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class _Value:
    value: Any
    where: str
    #: precedence: 1 file, 2 environment, 3 flag
    layer: int = 0


def _read_file(path: Path) -> dict[str, dict[str, _Value]]:
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a configuration file") from None
    except PermissionError:
        raise ConfigError(
            f"{path}: cannot read the configuration file (permission denied)"
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the configuration file ({exc.strerror})") from None
    if not text.strip():
        raise ConfigError(f"{path}: the configuration file is empty")
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None

    found: dict[str, dict[str, _Value]] = {}
    for section, table in document.items():
        if not isinstance(table, dict) and section not in SCHEMA:
            home = next((name for name, keys in SCHEMA.items() if section in keys), None)
            if home:
                raise ConfigError(
                    f"{path}: '{section}' is outside any section; put it under [{home}]"
                )
        if section not in SCHEMA:
            hint = suggest(section, list(SCHEMA))
            raise ConfigError(f"{path}: unknown section [{section}]{hint}")
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: '{section}' must be a [{section}] table")
        for key, value in table.items():
            if key not in SCHEMA[section]:
                hint = suggest(key, list(SCHEMA[section]))
                raise ConfigError(f"{path}: unknown key '{key}' in [{section}]{hint}")
            found.setdefault(section, {})[key] = _Value(value, f"{path}: [{section}] {key}", 1)
    return found


def _read_environment(env: Mapping[str, str]) -> dict[str, dict[str, _Value]]:
    found: dict[str, dict[str, _Value]] = {}
    for variable, section, key in ENVIRONMENT_KEYS:
        if variable not in env or key in found.get(section, {}):
            continue
        raw = env[variable]
        value: Any = raw
        if key == "port":
            try:
                value = int(raw)
            except ValueError:
                raise ConfigError(
                    f"environment variable {variable}: {raw!r} is not a port number"
                ) from None
        found.setdefault(section, {})[key] = _Value(value, f"environment variable {variable}", 2)
    return found


def _read_option_file(path: Path) -> dict[str, dict[str, _Value]]:
    """``~/.my.cnf``'s ``[client]`` login, below every other layer."""
    found: dict[str, _Value] = {}
    for key, text in credentials.read_option_file(path).items():
        where = f"{path}: [client] {key}"
        value: Any = text
        if key == "port":
            try:
                value = int(text)
            except ValueError:
                raise ConfigError(f"{where} = {text!r}: not a port number") from None
        found[key] = _Value(value, where, 0)
    return {"database": found} if found else {}


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


def load_settings(
    config_path: Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Settings:
    """Merge defaults < file < environment < ``overrides`` (command-line flags).

    ``overrides`` uses the file's section and key names, e.g.
    ``{"pool": {"pool_size": 10}}``; a value of None means "flag not given".
    Raises ``ConfigError`` naming the source, key and value of a bad setting.
    """
    environment = os.environ if env is None else env
    layers: list[dict[str, dict[str, _Value]]] = []
    files: list[tuple[Path, dict[str, dict[str, _Value]]]] = []
    option_file = credentials.option_file_path(environment)
    if option_file is not None:
        files.append((option_file, _read_option_file(option_file)))
    if config_path is not None:
        files.append((config_path, _read_file(config_path)))
    layers.extend(layer for _, layer in files)
    layers.append(_read_environment(environment))
    flags: dict[str, dict[str, _Value]] = {}
    for section, values in (overrides or {}).items():
        for key, value in values.items():
            if value is not None:
                option = FLAG_NAMES.get(key, "--" + key.replace("_", "-"))
                flags.setdefault(section, {})[key] = _Value(value, option, 3)
    layers.append(flags)

    merged: dict[str, dict[str, _Value]] = {section: {} for section in SCHEMA}
    for layer in layers:
        for section, values in layer.items():
            merged[section].update(values)

    _resolve_run_length(merged["benchmark"])
    fields: dict[str, dict[str, Any]] = {section: {} for section in SCHEMA}
    for section, values in merged.items():
        for key, item in values.items():
            name, check = SCHEMA[section][key]
            try:
                fields[section][name] = check(item.value)
            except ValueError as exc:
                raise ConfigError(f"{item.where} = {_show(key, item.value)}: {exc}") from None

    benchmark = merged["benchmark"]
    if "processes" in benchmark:
        processes = fields["benchmark"]["processes"]
        concurrency = fields["benchmark"].get("concurrency", 1)
        if processes > concurrency:
            raise ConfigError(
                f"{benchmark['processes'].where} = {processes} is more than the concurrency "
                f"({concurrency}): each process needs at least one worker; raise --concurrency"
            )

    warnings = [
        warning
        for path, layer in reversed(files)  # the settings file first, then ~/.my.cnf
        if (warning := _password_warning(path, layer)) is not None
    ]
    database = fields["database"]
    database["sources"] = {key: value.where for key, value in merged["database"].items()}
    database["ssl"] = {key: database.pop(key) for key in SSL_KEYS if key in database}
    try:
        resolved = resolve_tls(database.get("ssl_mode"), database["ssl"])
    except ValueError as exc:
        given = [merged["database"].get(key) for key in ("ssl_mode", *SSL_KEYS)]
        where = next((value.where for value in given if value is not None), "[database]")
        raise ConfigError(f"{where}: {exc}") from None
    check_tls_files(resolved, merged["database"])
    return Settings(
        database=DatabaseSettings(**database),
        benchmark=BenchmarkSettings(**fields["benchmark"]),
        pool=PoolSettings(**fields["pool"]),
        config_path=config_path,
        warnings=tuple(warnings),
    )
