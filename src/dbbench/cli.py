"""The ``dbbench`` command line: parse, call the library, render.  No SQL, no maths.

Errors are turned into one line and an exit status in one place,
``DbbenchGroup.main``; ``--debug`` adds the traceback.

Start-up: ``dbbench --help``, ``--version`` and each command's ``--help`` import
only click and the light modules that define the options (names, settings,
parsers).  The library a command calls, with SQLAlchemy, the drivers, hdrh, rich
and matplotlib behind it, is imported in that command's body
(``tests/unit/test_startup.py`` holds this; ``benchmarks/startup.py`` times it).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from dbbench import interruption, logs
from dbbench.config import credentials
from dbbench.config.schema import (
    COMMAND_ROWS,
    SECTIONS,
    SETTINGS,
    Setting,
    argument,
    by_flag,
    setting,
)
from dbbench.config.settings import (
    Settings,
    find_config_path,
    from_text,
    load_settings,
    parse_target,
    parse_variant,
)
from dbbench.databases.dataset import check_rows
from dbbench.drivers import parse_driver_names
from dbbench.errors import ConfigError, DbbenchError, ExitStatus, one_line
from dbbench.guard import check_settings
from dbbench.output.formats import FORMAT_NAMES, get_format
from dbbench.parsing import bad_value, parse_int_list, parse_name_list, shown, whole_number
from dbbench.runners import (
    DEFAULT_RUNNERS,
    EXPLAIN_DEFAULT_RUNNERS,
    EXPLAIN_RUNNERS,
    RUNNER_NAMES,
    parse_runner_names,
    runner_labels,
)
from dbbench.scenarios.calibrate_args import DEFAULT_TRIALS, RECIPES, check_trials
from dbbench.scenarios.stale_args import CHECKS, PROTECTIONS
from dbbench.text import printable

if TYPE_CHECKING:
    from rich.console import Console

    from dbbench.results.model import DiffResult, RunResult
    from dbbench.results.store import ResultSink
    from dbbench.server.process import ThrowawayServer

#: columns for the table when stdout is not a terminal (rich would assume 80)
PIPED_WIDTH = 140


def _stderr_console() -> Console:
    from dbbench.output.console import SafeConsole

    return SafeConsole(stderr=True)


#: a library call's arguments that messages mention (``errors.mention``) -> the click
#: parameter that gives them, where its name differs, or (parameter, what to type)
_ARGUMENTS: dict[str, str | tuple[str, str]] = {
    "runner_names": "runner_text",
    "driver_names": "driver_text",
    "run name": "save_name",
    "format": "format_name",
    "dbbench.scenarios.benchmark.local_server": ("server", "--server local"),
}


class DbbenchGroup(click.Group):
    """A click group whose ``main`` maps every failure to one line and an exit status,
    written to the ``Env`` it is given as ``obj`` (else to the real stderr)."""

    def main(self, args: Any = None, prog_name: str | None = None, **extra: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        debug = "--debug" in argv
        self._command = None
        env = extra.get("obj")
        if not isinstance(env, Env):
            env = Env()

        def error(text: str, trace: bool = debug) -> None:
            with contextlib.suppress(OSError):  # a closed terminal (SIGHUP) takes no more
                if trace:
                    env.echo(traceback.format_exc().rstrip("\n"), err=True)
                env.echo(f"dbbench: error: {one_line(text)}", err=True)

        logs.configure(debug)
        # SIGINT, SIGTERM, SIGHUP: the run stops, keeping what it measured (dbbench.interruption)
        with interruption.stop_on_signals():
            try:
                credentials.refuse_password_value(argv)
                status = super().main(argv, prog_name or "dbbench", standalone_mode=False, **extra)
            except click.exceptions.Exit as exc:
                status = exc.exit_code
            except click.exceptions.NoArgsIsHelpError as exc:
                env.echo(exc.ctx.get_help())
                status = ExitStatus.SUCCESS
            except (click.exceptions.Abort, KeyboardInterrupt):
                error("interrupted", trace=False)
                status = ExitStatus.INTERRUPTED
            except click.ClickException as exc:
                hint = _elsewhere(exc) if isinstance(exc, click.NoSuchOption) else ""
                if hint:  # another command's flag, not a misspelling of one of this one's
                    exc.possibilities = []  # type: ignore[attr-defined]
                error(exc.format_message() + hint)
                status = ExitStatus.USAGE if isinstance(exc, click.UsageError) else ExitStatus.ERROR
            except DbbenchError as exc:
                error(self._as_flags(exc))
                status = exc.exit_status
            except Exception as exc:
                error(f"unexpected {type(exc).__name__}: {exc} (rerun with --debug)")
                status = ExitStatus.ERROR
            status = interruption.exit_status(status, lambda text: env.echo(text, err=True))
        sys.exit(int(status or 0))

    #: the command being run, for its errors' flags
    _command: click.Command | None = None

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        name, command, rest = super().resolve_command(ctx, args)
        self._command = command
        return name, command, rest

    def _as_flags(self, exc: DbbenchError) -> str:
        """``exc``'s message with each setting or argument it mentions (``errors.mention``)
        named as the running command's flag (``[database] database`` -> ``--database``),
        where it has one."""
        return exc.render(_flag_of(self._command))


def _flag_of(command: click.Command | None) -> Callable[[str], str]:
    """A setting or a library call's argument, as a message mentions it (``errors.mention``)
    -> ``command``'s flag of it, where it has one, else the name as it was."""
    params = command.params if command is not None else []
    flags = {p.name: p.opts[0] for p in params if p.opts}
    for p in params:
        if isinstance(p, _SettingOption) and p.setting.flag is not None:
            flags[p.setting.name] = p.setting.flag.shown

    def flag(name: str) -> str:
        given = _ARGUMENTS.get(name, name)
        parameter, typed = given if isinstance(given, tuple) else (given, None)
        if parameter not in flags:
            return name
        return typed or flags[parameter]

    return flag


def _with_flags(result: Any, command: click.Command | None, format_name: str) -> Any:
    """``result`` with its notes, findings and why it stopped naming the settings they
    mention as ``command``'s flags, for the formats a user reads (JSON is the document
    itself: setting names, as the file has them)."""
    from dbbench.errors import Mentioning
    from dbbench.results.model import Explanation, RunResult

    if format_name == "json":
        return result
    flag = _flag_of(command)

    def said(text: str) -> str:
        return text.render(flag) if isinstance(text, Mentioning) else text

    if isinstance(result, RunResult):
        stopped = said(result.stopped) if result.stopped else result.stopped
        return dataclasses.replace(
            result, notes=[said(note) for note in result.notes], stopped=stopped
        )
    if isinstance(result, Explanation):
        return dataclasses.replace(result, findings=tuple(said(f) for f in result.findings))
    return result


def _elsewhere(exc: click.NoSuchOption) -> str:
    """For a setting's flag that this command lacks: which commands take it, and its key in
    the settings file (`run --pool-size`: compare takes it; [pool] pool_size)."""
    row = by_flag(exc.option_name)
    here = exc.ctx.command if exc.ctx is not None else None
    if row is None or here is None:
        return ""
    takers = [
        f"dbbench {name}"
        for name, command in cli.commands.items()
        if command is not here
        and any(
            isinstance(p, _SettingOption) and p.setting.name == row.name for p in command.params
        )
    ]
    if not takers:
        return ""
    verb = "takes" if len(takers) == 1 else "take"
    named = " and ".join([", ".join(takers[:-1]), takers[-1]] if len(takers) > 2 else takers)
    return f" {named} {verb} {exc.option_name} ({row.name} in the settings file)."


@click.group(cls=DbbenchGroup)
@click.version_option(package_name="dbbench")
@click.option("--debug", is_flag=True, help="Show a traceback with errors.")
def cli(debug: bool) -> None:
    """Measure what database connections cost, and what a connection pool buys.

    \b
    Example:
        dbbench run --iterations 100
    """


class _SettingOption(click.Option):
    """A flag that sets a setting of the table (``config.schema``): the commands' own
    options are plain ``click.Option``; which settings a command takes is which of these
    it has."""

    def __init__(self, *args: Any, setting: Setting, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.setting = setting


class _Choices(click.Choice):
    """A setting's choices, shown in ``--help`` as click shows them; the value is checked
    by the setting's row, so that a bad one reads as every bad value does."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        return value


class _Number(click.ParamType):
    """A setting's number, read from the flag's text as a variable's is (``from_text``):
    a bad one reads as every bad value does.  The text is what the loader is given, for
    its messages to echo it as typed (``--pool-timeout = '-1'``)."""

    def __init__(self, row: Setting) -> None:
        self.row = row
        self.name = "integer" if row.type == "integer" else "float"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        where = param.opts[0] if param is not None else self.row.name
        from_text(self.row, where, value)  # not a number at all: said as the flag is parsed
        return value


class _WholeNumber(click.ParamType):
    """A command's own whole-number argument (not a setting), checked as the library checks
    it (``check``), a bad one echoed as typed in the one shape of a bad value."""

    name = "integer"

    def __init__(self, check: Callable[[Any], Any]) -> None:
        self.check = check

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value  # the default
        where = param.opts[0] if param is not None else "value"
        try:
            return self.check(whole_number(value))
        except ValueError as exc:
            raise bad_value(where, value, str(exc)) from None


def _setting_option(section: str, key: str, command: str | None = None) -> Callable:
    """The click option of ``[section] key``, as its row in the table says it, or as
    ``command`` takes it with its own default (``schema.COMMAND_ROWS``)."""
    row = setting(section, key)
    row = COMMAND_ROWS.get(command or "", {}).get(row.name, row)
    flag = row.flag
    assert flag is not None, f"{row.name} has no flag"
    decls = [flag.name, *([flag.short] if flag.short else []), flag.parameter]
    kwargs: dict[str, Any] = {"cls": _SettingOption, "setting": row, "help": row.flag_help}
    if flag.metavar is not None:
        kwargs["metavar"] = flag.metavar
    if flag.kind == "switch":
        kwargs["default"] = None  # neither: the settings file's value stands
    elif flag.kind in ("on", "prompt"):
        kwargs["is_flag"] = True
    elif flag.kind == "repeated":
        kwargs["multiple"] = True
    elif flag.kind == "value" and row.choices:
        kwargs["type"] = _Choices(row.choices)
    elif flag.kind == "value" and row.type in ("integer", "number"):
        kwargs["type"] = _Number(row)
    return click.option(*decls, **kwargs)


def _setting_options(section: str, *, run_only: bool = False) -> list[Callable]:
    """The options of every setting of ``section`` that has a flag, in the table's order but
    a prompt last (``--password``: it asks once the rest says whose password); with
    ``run_only``, those only run and compare take (``Flag.run_only``), else the others."""
    rows = [
        row for row in SETTINGS
        if row.section == section and row.flag is not None and row.flag.run_only == run_only
    ]  # fmt: skip
    rows.sort(key=lambda row: row.flag is not None and row.flag.kind == "prompt")
    return [_setting_option(row.section, row.key) for row in rows]


#: read by DbbenchGroup.main from the arguments; every command accepts it too, so that
#: "dbbench show x.json --debug" works as well as "dbbench --debug show x.json"
_debug_option = click.option(
    "--debug", is_flag=True, expose_value=False, help="Show a traceback with errors."
)


def _connection_options(command: Callable) -> Callable:
    options = [
        click.option(
            "--config",
            "config_path",
            type=click.Path(dir_okay=True),
            help="TOML settings file [default: ./dbbench.toml when present].",
        ),
        *_setting_options("database"),
        click.option(
            "--server",
            type=click.Choice(["configured", "local"]),
            default="configured",
            show_default=True,
            help=(
                "'local' starts a private throwaway server for the run: MariaDB/MySQL, or "
                "PostgreSQL with --dialect postgresql."
            ),
        ),
        _debug_option,
    ]
    return functools.reduce(lambda cmd, option: option(cmd), reversed(options), command)


def _format_option(**kwargs: Any) -> Callable:
    """``--format``, the same choice of formats on every command."""
    return click.option("--format", "format_name", type=click.Choice(FORMAT_NAMES), **kwargs)


_allow_writes_option = click.option(
    "--allow-writes",
    is_flag=True,
    help="Let SQL that may change data run: a --query that is not a plain SELECT/SHOW, an "
    "init_command that is not a SET of session variables, a write --workload.",
)


_allow_large_results_option = _setting_option("benchmark", "allow_large_results")
_query_option = _setting_option("benchmark", "query")


def _named(section: str, key: str, options: dict[str, Any]) -> str:
    """``[section] key`` as the user gave it: its flag when given, else its key."""
    row = setting(section, key)
    given = row.flag is not None and options.get(row.flag.parameter) is not None
    return row.flag.name if given and row.flag is not None else row.name


def _check_sql(settings: Settings, options: dict[str, Any]) -> None:
    """The library's refusal of a query or init_command that may write, before a throwaway
    server starts."""
    check_settings(
        settings, options.get("allow_writes", False), _named("benchmark", "query", options)
    )


_fail_on_option = click.option(
    "--fail-on",
    "fail_on",
    multiple=True,
    metavar="METRIC:PCT",
    help="Exit 4 when METRIC (mean, p50, p95, p99, ops_per_s) gets worse by more than PCT, "
    "beyond noise. May be given several times.",
)


def _run_options(command: Callable) -> Callable:
    options = [
        *_setting_options("benchmark")[:5],  # iterations, duration, warmup, query, workload
        _allow_writes_option,  # beside the settings it unlocks
        *_setting_options("benchmark")[5:],
        *_setting_options("benchmark", run_only=True),  # --script
        *_setting_options("database", run_only=True),  # --autocommit
        *_setting_options("cluster", run_only=True),  # --cluster
        click.option(
            "--runner",
            "runner_text",
            help=f"Comma-separated runners, from {', '.join(RUNNER_NAMES)} "
            f"[default: {','.join(DEFAULT_RUNNERS)}; pool alone in a sweep].",
        ),
        click.option(
            "--variant",
            "variants",
            multiple=True,
            metavar="NAME=FILE",
            help="Measure this configuration beside the others given, in the same turns: a "
            "settings file whose [database] and [pool] are laid over the run's; two or more, "
            "runners labelled RUNNER@NAME.",
        ),
        click.option(
            "--pooler",
            type=click.Choice(["pgbouncer"]),
            help="Start a throwaway PgBouncer in front of the server (with --server local, "
            "the throwaway one) and measure the targets direct, pgbouncer-session and "
            "pgbouncer-transaction side by side, with what PgBouncer saw.",
        ),
        click.option(
            "--target",
            "targets",
            multiple=True,
            metavar="NAME=URL",
            help="Measure this endpoint beside the others given, in the same turns: a database "
            "URL (direct, through PgBouncer, ProxySQL or any proxy; MySQL or PostgreSQL), "
            "without a password; two or more, runners labelled RUNNER@NAME.",
        ),
        click.option(
            "--fail-on",
            "fail_on",
            multiple=True,
            metavar="METRIC:PCT",
            help="With --variant: exit 4 when METRIC (mean, p50, p95, p99, ops_per_s) of "
            "another variant is worse than the first's by more than PCT, beyond the noise "
            "between repetitions (paired). May be given several times.",
        ),
        click.option(
            "--driver-defaults",
            is_flag=True,
            help="Keep the drivers' defaults even where [database] transaction_pooling is "
            "set (psycopg's prepare_threshold=5, asyncpg's statement caches): shows the "
            "errors they bring through a pool per transaction.",
        ),
        click.option(
            "--histogram",
            is_flag=True,
            help="Draw each runner's latency distribution under the table.",
        ),
        click.option(
            "--rtt",
            help="Also project each runner's median onto a network with this round-trip "
            "time (250us, 1ms, 20ms); round trips are counted on the wire first.",
        ),
    ]
    return functools.reduce(lambda cmd, option: option(cmd), reversed(options), command)


def _pool_options(command: Callable) -> Callable:
    options = _setting_options("pool")
    return functools.reduce(lambda cmd, option: option(cmd), reversed(options), command)


def _single(values: list[int] | None) -> int | None:
    return values[0] if values and len(values) == 1 else None


def _single_driver(text: str | None) -> str | None:
    names = parse_driver_names(text) if text is not None else []
    return names[0] if len(names) == 1 else None


def _driver_names(options: dict[str, Any], settings: Settings) -> list[str]:
    """``--driver``'s list, each a driver of the settings' dialect; none given: empty."""
    text = options["driver_text"]
    if not text:
        return []
    names = parse_driver_names(text)
    if not settings.variants:  # with variants, each takes the drivers of its dialect
        settings.database.check_drivers(names, "--driver", shown(text))
    return names


def _command_settings() -> list[Setting]:
    """The settings the running command has flags for."""
    command = click.get_current_context().command
    return [p.setting for p in command.params if isinstance(p, _SettingOption)]


def _flag_value(row: Setting, options: dict[str, Any], lists: dict[str, list[int]]) -> Any:
    """What the command line gives ``row``; None: not given."""
    assert row.flag is not None
    given = options.get(row.flag.parameter)
    if row.flag.kind == "list":
        # several values are a sweep, or one run per driver: each sets its own
        if row.type == "integer":
            return _single(lists.get(row.key))
        return _single_driver(given)
    if row.flag.kind in ("on", "repeated"):
        return given or None  # off (none given) leaves the settings file's value
    if row.flag.kind == "prompt":
        return None  # asked for below, once the settings say whose password it is
    return given


def _load(options: dict[str, Any], lists: dict[str, list[int]]) -> Settings:
    flags: dict[str, dict[str, Any]] = {section: {} for section in SECTIONS}
    own: dict[str, dict[str, Any]] = {}  # the command's own defaults: above the file
    for row in _command_settings():
        flags[row.section][row.key] = _flag_value(row, options, lists)
        if row is not setting(row.section, row.key):
            own.setdefault(row.section, {})[row.key] = row.default
    path = find_config_path(options.get("config_path"))
    variants = [parse_variant(text) for text in options.get("variants") or ()]
    targets = [parse_target(text) for text in options.get("targets") or ()]
    swept = frozenset(key for key, values in lists.items() if len(values) > 1)
    settings = load_settings(
        path, overrides=own, flags=flags, variants=variants, targets=targets, swept=swept
    )
    prompt = f"Password for {settings.database.describe()}: "
    if options.get("password_prompt"):
        typed = credentials.prompt_password(prompt)
        settings = settings.with_password(typed, "--password (prompt)")
    elif settings.password_asked_by is not None:  # ~/.my.cnf: password with no value
        asked_by = settings.password_asked_by
        typed = credentials.prompt_password(prompt, asked_by=f"{asked_by}, with no value,")
        settings = settings.with_password(typed, f"{asked_by} (prompt)", lowest=True)
    for warning in settings.warnings:
        _env().warn(warning)
    return settings


def _lists(options: dict[str, Any]) -> dict[str, list[int]]:
    """The given flags of the command that take lists of numbers, parsed, by setting key."""
    lists = {}
    for row in _command_settings():
        assert row.flag is not None
        text = options.get(row.flag.parameter)
        if row.flag.kind == "list" and row.type == "integer" and text is not None:
            lists[row.key] = parse_int_list(text, where=row.flag.name, check=row.check)
    return lists


def _target(
    settings: Settings, server: str, stderr: Console, quiet: bool
) -> contextlib.AbstractContextManager[Settings]:
    """The settings to benchmark with: as configured, or pointed at a throwaway server
    (``--server local``, or no server named and none at the default address)."""
    from dbbench.scenarios import benchmark

    def fallback(address: str) -> None:
        stderr.print(
            f"dbbench: no server is configured and nothing answers at {address}: measuring "
            "a throwaway server instead (--server local); to measure yours, give --host and "
            "--port (or DBBENCH_HOST, DBBENCH_PORT, [database] host and port in dbbench.toml)",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )

    def started(local: ThrowawayServer) -> None:
        if not quiet:
            tls = " with TLS" if local.tls else ""
            address = local.address
            stderr.print(
                f"[dim]started a throwaway server{tls} on {address.host}:{address.port}[/dim]"
            )

    # "--server configured" given: that server, answering or not
    given = click.get_current_context().get_parameter_source("server")
    return benchmark.server_to_measure(
        settings,
        server == "local",
        backend=_env().live(),
        on_fallback=fallback,
        on_started=started,
        may_fall_back=given in (None, click.core.ParameterSource.DEFAULT),
    )


def _pooled(
    settings: Settings,
    pooler: str | None,
    stderr: Console,
    quiet: bool,
    runners: Sequence[str] = (),
    clients: int = 1,
) -> contextlib.AbstractContextManager[Settings]:
    """``--pooler``: the settings of a run through a throwaway pooler in front of the
    server (``scenarios.pooler``); without, the settings as they are."""
    if pooler is None:
        return contextlib.nullcontext(settings)
    from dbbench.scenarios import pooler as poolers

    @contextlib.contextmanager
    def started() -> Iterator[Settings]:
        with poolers.with_pgbouncer(settings, runners, clients) as through:
            if not quiet and through.pooler is not None:
                stderr.print(
                    f"[dim]started a throwaway PgBouncer {through.pooler.version} on "
                    f"{through.pooler.host}:{through.pooler.port}[/dim]"
                )
            yield through

    return started()


def _stdout_console() -> Console:
    """Rich's console (one that never prints a control character it is given:
    ``SafeConsole``); piped output (CI logs, files) gets a width that fits the table."""
    from dbbench.output.console import SafeConsole

    console = SafeConsole()
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = SafeConsole(width=PIPED_WIDTH)
    return console


@dataclasses.dataclass(frozen=True)
class Env:
    """Where a command writes, and what it runs against: given to ``cli.main(obj=Env(...))``
    (or click's ``CliRunner.invoke(cli, args, obj=...)``) by tests; by default the real
    consoles (made when a command starts, so they write where stdout is then) and
    ``backend.LIVE``."""

    stdout: Console | None = None
    stderr: Console | None = None
    #: a ``scenarios.backend.Backend``: the server check, the runners, the monitor, the clocks
    backend: Any = None

    def out(self) -> Console:
        return self.stdout or _stdout_console()

    def err(self) -> Console:
        return self.stderr or _stderr_console()

    def echo(self, text: str, err: bool = False) -> None:
        """``text`` as it is (no markup, no wrapping; its control characters but line breaks
        escaped, ``text.printable``) and a newline, on this Env's stdout or stderr; on the
        real stream when it has none (rich stays unloaded)."""
        console = self.stderr if err else self.stdout
        text = printable(text, keep="\n")
        if console is None:
            click.echo(text, err=err)
        else:
            console.print(text, markup=False, highlight=False, emoji=False, soft_wrap=True)

    def live(self) -> Any:
        """The backend given, else the real one (imported here: --help stays light),
        its warnings on this Env's stderr."""
        backend = self.backend
        if backend is None:
            from dbbench.scenarios.backend import LIVE

            backend = LIVE
        return dataclasses.replace(backend, warn=self._warn)

    def _warn(self, text: str) -> None:
        self.warn(text)

    def warn(self, text: str) -> None:
        """``dbbench: warning: text``, on one line, on this Env's stderr."""
        self.echo(f"dbbench: warning: {one_line(text)}", err=True)


def _env() -> Env:
    """The ``Env`` the command was invoked with, else the real one."""
    context = click.get_current_context(silent=True)
    found = context.find_object(Env) if context is not None else None
    return found or Env()


def _apply(options: list[Callable], command: Callable) -> Callable:
    return functools.reduce(lambda cmd, option: option(cmd), reversed(options), command)


def _document_options(as_it_goes: bool) -> list[Callable]:
    """``--output`` and ``--save``: the files a command's result document is written to."""
    when = ", atomically, as the run goes" if as_it_goes else ", atomically"
    return [
        click.option(
            "--output",
            "-o",
            "output_path",
            # a plain string: safeio checks it (a directory, a device, none), for every command
            metavar="FILE",
            help=f"Also write the result document to this file{when}.",
        ),
        click.option(
            "--save",
            "save_name",
            is_flag=False,
            flag_value="",
            default=None,
            help="Also keep the run under .dbbench/runs/ (numbered; NAME optional).",
        ),
    ]


def _output_options(command: Callable) -> Callable:
    """Where results go: the format on stdout, a result file, a saved run."""
    options = [
        _format_option(help="How to print the results [default: table]."),
        click.option("--json", "as_json", is_flag=True, help="Same as --format json."),
        *_document_options(as_it_goes=True),
        click.option("--quiet", "-q", is_flag=True, help="No progress display."),
    ]
    return _apply(options, command)


def _format_name(options: dict[str, Any]) -> str:
    if options["as_json"]:
        if options["format_name"] not in (None, "json"):
            raise ConfigError(f"--json and --format {options['format_name']} ask for two formats")
        return "json"
    return options["format_name"] or "table"


def _result_sink(options: dict[str, Any], settings: Settings) -> ResultSink:
    from dbbench import safeio
    from dbbench.results.store import ResultSink, RunStore

    saved = None
    if options["save_name"] is not None:
        try:
            saved = RunStore().next_path(options["save_name"] or None)
        except safeio.FileProblem as exc:  # refused before measuring, as --output is: exit 2
            raise ConfigError(str(safeio.FileProblem(exc.path, exc.reason, "--save"))) from None
    output = Path(options["output_path"]) if options["output_path"] is not None else None
    if output is not None:  # as given: Path('') would be '.'
        _check_output(options["output_path"], _inputs(settings))
    labels = {output: "--output"} if output is not None else {}
    if saved is not None:
        labels[saved] = "--save"
    return ResultSink([path for path in (output, saved) if path is not None], labels)


def _inputs(settings: Settings) -> list[Path]:
    """The files a command's settings were read from (its settings file, each variant's,
    the TLS files): none may be its ``--output``."""
    paths = [settings.config_path] if settings.config_path is not None else []
    paths += [variant.path for variant in settings.variants if variant.path is not None]
    for database in (settings.database, *(variant.database for variant in settings.variants)):
        tls = database.tls
        paths += [Path(name) for name in (tls.ca, tls.cert, tls.key) if name]
    return paths


def _check_output(path: str, inputs: list[Path]) -> None:
    """``--output PATH`` where dbbench would write (``safeio.check_target``), before
    anything is measured: exit 2 otherwise."""
    from dbbench import safeio

    try:
        safeio.check_target(path, label="--output", inputs=inputs)
    except safeio.FileProblem as exc:
        raise ConfigError(str(exc)) from None


def _rtt_option(options: dict[str, Any], format_name: str, sweeping: bool) -> float | None:
    """``--rtt`` as seconds; it adds a line under one run's table, or a key to its JSON."""
    if options.get("rtt") is None:
        return None
    if sweeping or format_name == "csv":
        raise ConfigError("--rtt projects one run: not with a sweep, nor with --format csv")
    try:
        return argument("--rtt").check(options["rtt"])
    except ValueError as exc:
        raise bad_value("--rtt", options["rtt"], str(exc)) from None


def _seconds(backend: Any) -> Callable[[], float]:
    """The backend's clock in seconds: the progress display runs on the run's own time."""
    return lambda: backend.clock_ns() / 1e9


def _benchmark(command: str, options: dict[str, Any]) -> int:
    from rich.markup import escape

    from dbbench.output.base import RunExtras
    from dbbench.output.progress import ProgressBar
    from dbbench.scenarios import benchmark, variants

    env = _env()
    stdout, stderr, backend = env.out(), env.err(), env.live()
    format_name = _format_name(options)
    lists = _lists(options)
    settings = _load(options, lists)
    if options.get("driver_defaults"):
        settings = settings.with_driver_defaults()
    allow_writes = options["allow_writes"]
    # the library refuses these too; here before a throwaway server starts
    benchmark.check_sql(
        settings,
        allow_writes,
        projected=options.get("rtt") is not None,
        query_name=_named("benchmark", "query", options),
        workload_name=_named("benchmark", "workload", options),
    )
    axes = benchmark.sweep_axes(settings, lists)
    driver_names = _driver_names(options, settings)
    if settings.variants:  # the library refuses these too; here before a server starts
        _refuse_with_variants(settings, options.get("rtt"))
        if axes is not None:
            benchmark.check_variant_pools(settings, axes.pool_sizes, axes.max_overflows)
        if len(driver_names) < 2:
            driver_names = []  # one --driver is a flag, every variant's already
        elif axes is None:
            # each variant the drivers of its dialect: refused here before a server starts
            variants.driver_lists(settings, driver_names)
    thresholds = _variant_thresholds(options, settings)
    runner_text = options["runner_text"]
    if runner_text is None:  # not given; given empty, it is refused like any other bad list
        runner_text = ",".join(benchmark.default_runners(sweep=axes is not None))
    runner_names = parse_runner_names(runner_text)
    variants.check_prepared(settings, runner_names, driver_names)  # before a server starts
    if axes is not None and len(driver_names) > 1:
        raise ConfigError("a sweep runs one driver: give --driver one name, or no list to sweep")
    if options.get("histogram") and (format_name != "table" or axes is not None):
        raise ConfigError(
            "--histogram draws under the table of a run; the result document (--format json, "
            "--output) holds the histograms themselves"
        )
    rtt_s = _rtt_option(options, format_name, sweeping=axes is not None)
    sink = _result_sink(options, settings)
    quiet = options["quiet"]
    if options.get("config_path") is None and settings.config_path is not None and not quiet:
        stderr.print(f"[dim]using settings from {escape(str(settings.config_path))}[/dim]")
    pooler = options.get("pooler")
    clients, pooled = 1, []
    if pooler is not None:
        from dbbench.scenarios import pooler as poolers

        poolers.check(settings, pooler, projected=rtt_s is not None)
        clients = poolers.clients_per_pool(
            settings, axes.concurrencies if axes is not None else ()
        )
        pooled = runner_labels(runner_names, driver_names if len(driver_names) > 1 else ())
    with (
        _target(settings, options["server"], stderr, quiet) as target,
        _pooled(target, pooler, stderr, quiet, pooled, clients) as target,
        ProgressBar(stderr, f"dbbench {command}", not quiet, _seconds(backend)) as bar,
    ):
        if axes is not None:
            sweep = benchmark.run_sweep(
                target,
                runner_names,
                *axes,
                on_cell=bar.relabel,
                on_result=lambda sweep: sink.write(sweep.to_document()),
                backend=backend,
                allow_writes=allow_writes,
            )
        else:
            arguments: dict[str, Any] = {
                "command": command,
                "on_progress": bar,
                # a document only where a file takes it: summarising every runner
                # each second is not free (9 runners with three drivers)
                "on_result": (lambda result: sink.write(result.to_document()))
                if sink.paths
                else None,
                "driver_names": driver_names,
                "backend": backend,
                "allow_writes": allow_writes,
                "on_repetition": bar.relabel,
            }
            if rtt_s is None:
                result = benchmark.run_benchmark(target, runner_names, **arguments)
            else:
                result = benchmark.run_projected(target, runner_names, rtt_s, **arguments)
    if axes is not None:
        get_format(format_name).sweep(sweep, stdout)
        status = sweep.exit_status
    else:
        extras = RunExtras(histogram=bool(options.get("histogram")))
        shown = _with_flags(result, click.get_current_context().command, format_name)
        get_format(format_name).run(shown, stdout, extras)
        status = result.exit_status
    for path in sink.written:
        stderr.print(f"[dim]results written to {escape(str(path))}[/dim]")
    if thresholds:
        status = _gate_variants(result, thresholds, format_name, status)
    sink.check()  # a file that could not be written: one line, after the results are shown
    return status


def _variant_thresholds(options: dict[str, Any], settings: Settings) -> list[Any]:
    """``--fail-on`` of run and compare: parsed before anything runs, and only with variants."""
    from dbbench import diffing

    thresholds = diffing.parse_thresholds(options.get("fail_on") or ())
    if thresholds and not settings.variants:
        raise ConfigError(
            "--fail-on gates one configuration against another measured in the same run: "
            "give --variant base=FILE --variant new=FILE; to gate saved results, use "
            "dbbench diff BASE NEW --fail-on"
        )
    return thresholds


def _gate_variants(result: RunResult, thresholds: list[Any], format_name: str, status: int) -> int:
    """The run's variants gated (``diffing.compare_variants``) after its own output: the
    diff under a table or Markdown, one verdict line on stderr beside a document."""
    from dbbench import diffing
    from dbbench.output.diff_table import verdict

    gates = diffing.compare_variants(result, thresholds)
    if format_name in ("table", "markdown"):
        gated = _show_gates(gates, format_name)
    else:  # stdout holds the run's document: the gate speaks on stderr
        for gate in gates:
            line = verdict(gate.verdict.trips, gate.thresholds)
            _env().err().print(f"{gate.base_label} → {gate.new_label}: {line}", markup=False)
        gated = ExitStatus.THRESHOLD if any(g.verdict.failed for g in gates) else 0
    return ExitStatus.THRESHOLD if gated else status


def _refuse_with_variants(settings: Settings, rtt: str | None) -> None:
    """What ``--variant`` does not measure with (yet): ``--rtt``."""
    from dbbench.scenarios import variants

    if rtt is not None:
        variants.refuse(settings, "--rtt", variants.PROJECTED_ALONE)


@cli.command()
@_connection_options
@_run_options
@_output_options
def run(**options: Any) -> int:
    """Compare a new connection per query (raw), a SQLAlchemy pool and one persistent connection.

    Every runner runs the same query and fetches all rows; runners take turns
    (interleaved rounds) so drift affects them alike; warm-up is not counted.
    Pool settings come from the [pool] section of the settings file.

    \b
    Examples:
        dbbench run --iterations 100
        dbbench run --runner raw,pool --query "SELECT * FROM t LIMIT 10" --json
        dbbench run --server local --iterations 1000
    """
    return _benchmark("run", options)


@cli.command()
@_connection_options
@_pool_options
@_run_options
@_output_options
def compare(**options: Any) -> int:
    """Compare raw connections against a pool built with exactly these settings.

    Flags override the [pool] section of the settings file; the pool's
    settings are shown in the table's title.

    \b
    Examples:
        dbbench compare --pool-size 10 --max-overflow 3 --pre-ping -c 16
        dbbench compare --pool-size 1,5,10,20 --max-overflow 0,5 -c 1,8,32 --duration 2s
        dbbench compare --pool-size 5 -c 8 --rate 2000 --save pool5 --format markdown
        dbbench compare --variant base=base.toml --variant new=new.toml --repeat 5
    """
    return _benchmark("compare", options)


@cli.command()
@_connection_options
@click.option(
    "--wait-timeout",
    type=_WholeNumber(CHECKS["wait_timeout_s"]),
    default=2,
    show_default=True,
    help=(
        "Server-side idle timeout (seconds) given to the pool's connections: MySQL's "
        "wait_timeout, PostgreSQL's idle_session_timeout (14+)."
    ),
)
@click.option("--idle", help="How long the pool sits idle [default: wait-timeout + 1.5s].")
@_setting_option("pool", "pool_size", command="stale")
@click.option(
    "--operations",
    type=_WholeNumber(CHECKS["operations"]),
    default=40,
    show_default=True,
    help="Operations after the idle time.",
)
@click.option(
    "--protection",
    default=",".join(PROTECTIONS),
    show_default=True,
    help="Cases to run: none, recycle (pool_recycle below the timeout), pre_ping.",
)
@_query_option
@_allow_writes_option
@_allow_large_results_option
@_output_options
def stale(**options: Any) -> int:
    """Show what idle connections past the server's idle timeout cost, with and without protection.

    For each protection the pool is filled, left idle longer than the
    connections' idle timeout (MySQL's wait_timeout, PostgreSQL's
    idle_session_timeout, set in each session), and used again: no
    protection fails once per dead connection; pool_recycle and pool_pre_ping
    replace them, at the price of a reconnect.

    \b
    Example:
        dbbench stale --wait-timeout 2 --idle 4s --pool-size 4
    """
    from dbbench.scenarios.stale import StaleRequest, run_stale

    env = _env()
    stdout, stderr = env.out(), env.err()
    format_name = _format_name(options)
    settings = _load(options, {})
    if options["driver_text"] and len(parse_driver_names(options["driver_text"])) > 1:
        raise ConfigError("stale runs one driver: give --driver one name")
    _check_sql(settings, options)
    protections = parse_name_list(options["protection"], PROTECTIONS, "--protection", "case")
    request = StaleRequest(
        wait_timeout_s=options["wait_timeout"],
        idle_s=_idle_seconds(options["idle"]),
        pool_size=settings.pool.pool_size,
        operations=options["operations"],
        protections=tuple(protections),
    )
    # before a throwaway server starts; the request's field names as this command's flags
    request.check(
        names=_flags_of(
            wait_timeout_s="wait_timeout",
            idle_s="idle",
            pool_size="pool_size",
            operations="operations",
            protections="protection",
        )
    )
    sink = _result_sink(options, settings)
    quiet = options["quiet"]
    with _target(settings, options["server"], stderr, quiet) as target:
        result = run_stale(
            target,
            request,
            on_case=None if quiet else lambda name: stderr.print(f"[dim]stale: case {name}[/dim]"),
            on_result=lambda partial: sink.write(partial.to_document()),
            backend=env.live(),
            allow_writes=options["allow_writes"],
        )
    get_format(format_name).stale(result, stdout)
    sink.check()
    return result.exit_status


def _flags_of(**parameters: str) -> dict[str, str]:
    """``argument="parameter"`` -> ``{argument: the running command's flag of parameter}``:
    a library call's argument names as the command line's messages say them."""
    flags = {p.name: p.opts[0] for p in click.get_current_context().command.params}
    return {argument: flags[parameter] for argument, parameter in parameters.items()}


def _idle_seconds(text: str | None) -> float | None:
    try:
        return CHECKS["idle_s"](text) if text is not None else None
    except ValueError as exc:
        raise bad_value("--idle", text, str(exc)) from None


@cli.command(
    epilog="""\b
Examples:
    dbbench explain
    dbbench explain --rtt 1ms --runner raw,pool
    dbbench explain --server local -n 500 -o explain.json && dbbench report explain.json"""
)
@_connection_options
@_setting_option("benchmark", "iterations", command="explain")
@_setting_option("benchmark", "warmup", command="explain")
@_query_option
@_allow_writes_option
@click.option(
    "--runner",
    "runner_text",
    default=",".join(EXPLAIN_DEFAULT_RUNNERS),
    show_default=True,
    help=f"Runners to split, from {', '.join(EXPLAIN_RUNNERS)}.",
)
@click.option(
    "--rtt",
    help="Project each runner onto a network with this round-trip time (250us, 1ms, 20ms).",
)
@_setting_option("pool", "pool_pre_ping")
@_setting_option("pool", "pool_reset_on_return")
@click.option(
    "--format",
    "format_name",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="table, or json for the document.",
)
@functools.partial(_apply, _document_options(as_it_goes=False))
@click.option("--quiet", "-q", is_flag=True, help="No progress line.")
def explain(**options: Any) -> int:
    """Show where each operation's time goes, phase by phase, and its round trips.

    raw: driver set-up, SSL context, name resolution, TCP connect, server
    greeting, TLS handshake, authentication, session statements, query,
    close (PyMySQL); with psycopg on PostgreSQL, name resolution, TCP
    connect, TLS, startup (authentication and the backend's start: one step
    inside libpq), BEGIN, query, close. pool: checkout, pre-ping, query,
    reset-on-return, checkin. core and session (--runner core,session):
    SQLAlchemy's layers, Session() and its own work, checkout, Core's
    statement handling, the DB-API execute, the result, rollback, close.
    Medians and p95 over many operations, each phase's share of the whole
    operation (timed apart, as dbbench run times it), round trips counted on
    the wire, and findings on known costs with the setting that removes them.
    """
    # by name from the module: ``dbbench.scenarios.explain`` is also the package's name for the
    # function, which shadows the module once the package has handed it out
    from dbbench.scenarios.explain import check_arguments
    from dbbench.scenarios.explain import explain as explain_operations

    env = _env()
    stdout, stderr = env.out(), env.err()
    if options["driver_text"] and len(parse_driver_names(options["driver_text"])) > 1:
        raise ConfigError("explain splits one driver's operations: give --driver one name")
    settings = _load(options, {})
    _check_sql(settings, options)
    runner_names = parse_runner_names(options["runner_text"])
    check_arguments(runner_names, settings.database.driver)
    rtt_s = _rtt_option(options, options["format_name"], sweeping=False)
    sink = _result_sink(options, settings)  # a bad --output or --save: one line, before measuring
    iterations, warmup = settings.benchmark.iterations, settings.benchmark.warmup_iterations
    total = warmup + iterations

    def announce() -> None:  # once the server is checked: an error stays the only line
        if not options["quiet"]:
            stderr.print(f"[dim]explain: {total} rounds of {', '.join(runner_names)}[/dim]")

    with _target(settings, options["server"], stderr, options["quiet"]) as target:
        explanation = explain_operations(
            target,
            runner_names,
            iterations=iterations,
            warmup=warmup,
            rtt_s=rtt_s,
            on_start=announce,
            backend=env.live(),
            allow_writes=options["allow_writes"],
        )
    sink.write(explanation.to_document())
    shown = _with_flags(explanation, click.get_current_context().command, options["format_name"])
    get_format(options["format_name"]).explain(shown, stdout)
    sink.check()
    return ExitStatus.SUCCESS


def _data_set_options(command: Callable) -> Callable:
    """What ``prepare`` and ``cleanup`` share: the server, ``--allow-writes``, ``--quiet``."""
    options = [
        _connection_options,
        click.option(
            "--allow-writes",
            is_flag=True,
            help="Let it write: it creates, fills or drops the table dbbench_data (required).",
        ),
        click.option("--quiet", "-q", is_flag=True, help="No progress bar."),
    ]
    return functools.reduce(lambda cmd, option: option(cmd), reversed(options), command)


def _data_set_settings(command: str, options: dict[str, Any]) -> Settings:
    """The settings of ``prepare`` or ``cleanup``, refused before they are read (a password
    prompt included) without --allow-writes, and with --server local."""
    from dbbench.scenarios import dataset

    dataset.require_writes(command, options["allow_writes"])
    if options["server"] == "local":
        raise dataset.refuse_throwaway(command)
    if options["driver_text"] and len(parse_driver_names(options["driver_text"])) > 1:
        raise ConfigError(f"{command} connects with one driver: give --driver one name")
    return _load(options, {})


@cli.command()
@click.option(
    "--rows",
    type=_WholeNumber(check_rows),
    required=True,
    metavar="N",
    help="Rows of the data set: ids 1 to N (1000000 loads in seconds).",
)
@click.option(
    "--recreate",
    is_flag=True,
    help="Drop the data set that is there (dbbench's own only) and make it anew.",
)
@_data_set_options
def prepare(**options: Any) -> int:
    """Create the data set the built-in workloads read: the table dbbench_data of N rows.

    Its shape is sysbench's sbtest (id, k, c, pad), its rows made by the
    server in chunks, its index on k built after them. The table carries
    dbbench's mark in its comment: a table of that name without it is never
    touched. A data set of N rows already there is left as it is.

    \b
    Example:
        dbbench prepare --rows 1000000 --allow-writes --database test
    """
    from dbbench.output.progress import CountBar
    from dbbench.scenarios import dataset

    env = _env()
    settings = _data_set_settings("prepare", options)
    stderr = env.err()
    flag = _flag_of(click.get_current_context().command)
    with CountBar(stderr, "prepare") as bar:

        def say(text: str) -> None:  # below the bar, which goes first
            bar.close()
            env.echo(text, err=True)

        prepared = dataset.prepare(
            settings,
            options["rows"],
            allow_writes=options["allow_writes"],
            recreate=options["recreate"],
            on_progress=(lambda done, rows: None) if options["quiet"] else bar,
            say=say,
        )
    env.echo(f"dbbench: {prepared.said().render(flag)}")
    return ExitStatus.SUCCESS


@cli.command()
@_data_set_options
def cleanup(**options: Any) -> int:
    """Drop the data set dbbench prepare made (the table dbbench_data, dbbench's own only).

    A table of that name without dbbench's mark is refused, left as it is.

    \b
    Example:
        dbbench cleanup --allow-writes --database test
    """
    from dbbench.scenarios import dataset

    settings = _data_set_settings("cleanup", options)
    cleaned = dataset.cleanup(settings, allow_writes=options["allow_writes"])
    _env().echo(f"dbbench: {cleaned.said()}")
    return ExitStatus.SUCCESS


@cli.command()
@_format_option(default="table", show_default=True, help="How to print the list.")
@_debug_option
def runs(format_name: str) -> None:
    """List the runs kept with --save under .dbbench/runs/.

    \b
    Example:
        dbbench run -n 1000 --save before-upgrade && dbbench runs
    """
    from dbbench.results.store import RunStore, describe_runs

    get_format(format_name).runs(describe_runs(RunStore().runs()), _env().out())


@cli.command()
@click.argument("ref", metavar="RESULT")
@_format_option(default="table", show_default=True, help="How to print it.")
@_debug_option
def show(ref: str, format_name: str) -> int:
    """Print a result file (or saved-run name or number, or "latest") as its command did.

    A run or compare, a sweep, stale's cases, an explanation or a diff: the
    table (or JSON, CSV, Markdown) printed when it ran, from what the file kept. The pool
    settings line of a run's table is not kept: see them with --format json.

    \b
    Example:
        dbbench run -n 1000 --save before-upgrade && dbbench show latest
    """
    from dbbench.output.base import show as show_result
    from dbbench.results.model import Result, RunResult, load_result
    from dbbench.results.store import RunStore

    result: Result = load_result(RunStore().resolve(ref))
    # its notes' settings as the flags of the command that wrote it
    writer = cli.commands.get(result.command if isinstance(result, RunResult) else "explain")
    show_result(get_format(format_name), _with_flags(result, writer, format_name), _env().out())
    return ExitStatus.SUCCESS


@cli.command()
@click.argument("base_ref", metavar="BASE")
@click.argument("new_ref", metavar="[NEW]", required=False)
@_fail_on_option
@_format_option(
    default="table", show_default=True, help="markdown: a table for a pull-request comment."
)
@_debug_option
def diff(base_ref: str, new_ref: str | None, fail_on: tuple[str, ...], format_name: str) -> int:
    """Compare two results (files, saved-run names or numbers, or "latest"): a CI gate.

    Each runner's mean, p50, p95, p99 and throughput, the change, and whether
    it is beyond noise: between repetitions when both were run with --repeat
    (Mann-Whitney on each repetition's value), else within each run only
    (Welch's t-test, 99% quantile intervals), and said so. One result of a run
    of several --variant: its first variant against each other one, paired by
    repetition.

    \b
    Examples:
        dbbench diff before.json after.json
        dbbench diff baseline latest --fail-on mean:10% --fail-on p99:25%
        dbbench diff duet.json --fail-on mean:10%
    """
    from dbbench import diffing
    from dbbench.results.model import RunResult, load_result
    from dbbench.results.store import RunStore

    thresholds = diffing.parse_thresholds(fail_on)  # bad input before any file
    store = RunStore()
    base = diffing.comparable(load_result(store.resolve(base_ref)), base_ref)
    if new_ref is None:
        if not isinstance(base, RunResult):
            raise diffing.IncomparableError(
                f"{base_ref} is a sweep: dbbench diff compares it with another sweep"
            )
        return _show_gates(diffing.compare_variants(base, thresholds), format_name)
    new = diffing.comparable(load_result(store.resolve(new_ref)), new_ref)
    # labelled as the user named them: short, and no local paths in a pull-request comment
    result = diffing.compare(base, new, thresholds, base_label=base_ref, new_label=new_ref)
    get_format(format_name).diff(result, _env().out())
    return result.exit_status


def _show_gates(results: Sequence[DiffResult], format_name: str) -> int:
    """Each diff of a run's variants, in turn; exit 4 when any failed."""
    out = _env().out()
    for result in results:
        get_format(format_name).diff(result, out)
    failed = any(result.verdict.failed for result in results)
    return ExitStatus.THRESHOLD if failed else ExitStatus.SUCCESS


@cli.command()
@click.argument("refs", metavar="FILE...", nargs=-1, required=True)
@click.option(
    "-o",
    "--output",
    default="report.html",  # a plain string: safeio checks it, as every command's --output
    metavar="FILE",
    show_default=True,
    help="The HTML page to write (replaced atomically).",
)
@_debug_option
def report(refs: tuple[str, ...], output: str) -> int:
    """Write one self-contained HTML page of charts and tables for result files.

    Latency CDFs per runner, throughput and p99 against concurrency and pool
    size for sweeps, the pool's and the server's counters, the environment;
    explain's phases; a diff's changes and verdict. Files, saved-run names or
    numbers, or "latest". Needs matplotlib: pip install 'dbbench[report]'.

    \b
    Examples:
        dbbench report result.json -o report.html
        dbbench report baseline latest sweep.json -o pools.html
    """
    from dbbench.output.report import write_report
    from dbbench.results.store import RunStore

    store = RunStore()
    write_report([store.resolve(ref) for ref in refs], output, label="--output")
    _env().echo(f"wrote {output}", err=True)
    return ExitStatus.SUCCESS


def _calibrate_options(command: Callable) -> Callable:
    """The run's settings (``[benchmark]``, ``--runner``), the trials and the recipe, and
    where the result goes (no ``--save``: a calibration is no run to diff)."""
    options = [
        *_setting_options("benchmark")[:5],  # iterations, duration, warmup, query, workload
        _allow_writes_option,
        *_setting_options("benchmark")[5:],
        click.option(
            "--runner",
            "runner_text",
            help=f"Comma-separated runners to calibrate, from {', '.join(RUNNER_NAMES)} "
            f"[default: {','.join(DEFAULT_RUNNERS)}].",
        ),
        click.option(
            "--trials",
            type=_WholeNumber(check_trials),
            default=DEFAULT_TRIALS,
            show_default=True,
            help="A/A trials: each measures the settings twice and compares them as the gate does.",
        ),
        click.option(
            "--recipe",
            type=click.Choice(RECIPES),
            default=RECIPES[0],
            show_default=True,
            help="saved: two runs one after the other, diffed (dbbench diff A.json B.json); "
            "duet: two identical variants of one run, paired (compare --variant).",
        ),
        _format_option(help="How to print the calibration [default: table]."),
        click.option("--json", "as_json", is_flag=True, help="Same as --format json."),
        _document_options(as_it_goes=True)[0],  # --output
        click.option("--quiet", "-q", is_flag=True, help="No progress display."),
    ]
    return _apply(options, command)


@cli.command()
@_connection_options
@_pool_options
@_calibrate_options
def calibrate(**options: Any) -> int:
    """Find the smallest --fail-on limits the noise of these settings allows (A/A trials).

    Each trial measures the same settings twice, as a CI gate compares two builds,
    and tests the changes as dbbench diff does: every change beyond noise is a
    false alarm. Per runner and metric: the largest worsening beyond noise (the
    smallest limit no trial trips) and a limit with headroom, with what the number
    of trials can vouch for.

    \b
    Examples:
        dbbench calibrate --runner pool --repeat 5
        dbbench calibrate --runner pool --repeat 5 --recipe duet --trials 20 -o calib.json
    """
    from dbbench.output.progress import ProgressBar
    from dbbench.scenarios import benchmark
    from dbbench.scenarios.calibrate import calibrate as calibrate_gate
    from dbbench.scenarios.calibrate import check_request

    env = _env()
    stdout, stderr, backend = env.out(), env.err(), env.live()
    format_name = _format_name(options)
    lists = _lists(options)
    settings = _load(options, lists)
    benchmark.check_sql(
        settings,
        options["allow_writes"],
        query_name=_named("benchmark", "query", options),
        workload_name=_named("benchmark", "workload", options),
    )
    if benchmark.sweep_axes(settings, lists) is not None:
        raise ConfigError(
            "calibrate measures one configuration: give --concurrency, --pool-size and "
            "--max-overflow one value each"
        )
    driver_names = _driver_names(options, settings)
    runner_names = parse_runner_names(options["runner_text"] or ",".join(DEFAULT_RUNNERS))
    check_request(settings, options["recipe"], options["trials"], driver_names)
    sink = _result_sink({**options, "save_name": None}, settings)
    quiet = options["quiet"]
    with (
        _target(settings, options["server"], stderr, quiet) as target,
        ProgressBar(stderr, "dbbench calibrate", not quiet, _seconds(backend)) as bar,
    ):
        result = calibrate_gate(
            target,
            runner_names,
            trials=options["trials"],
            recipe=options["recipe"],
            driver_names=driver_names,
            on_run=bar.relabel,
            on_result=lambda partial: sink.write(partial.to_document()),
            backend=backend,
            allow_writes=options["allow_writes"],
        )
    get_format(format_name).calibrate(result, stdout)
    for path in sink.written:
        env.echo(f"results written to {path}", err=True)
    sink.check()
    return result.exit_status


def main() -> None:
    cli.main()


__all__ = ["cli", "main"]
