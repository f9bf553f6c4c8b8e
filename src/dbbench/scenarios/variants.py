"""A run of several variants (``--variant NAME=FILE``): what each needs apart.

The variants run in one run, their runners labelled ``RUNNER@NAME`` and interleaved
in the same turns (``runners.runner_labels``); each runner is made with its variant's
settings (``Settings.variant``, through ``runners.create_runner``, in worker processes
too).  What differs from a run of one configuration is here: every variant's server is
checked and recorded, the findings and the pool's words are each variant's, and the
server's counters are read on one server, the first variant's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from dbbench import drivers
from dbbench.config.schema import DIALECT_TITLES, PREPARING_DRIVERS, dialect_of
from dbbench.config.settings import DatabaseSettings, Settings, Variant, split_label
from dbbench.errors import ConfigError, Mentioning, mention
from dbbench.results.model import variants_note
from dbbench.runners import RunnerLabel, names_with, runner_class, runner_settings
from dbbench.scenarios.summary import server_vendor
from dbbench.server.preflight import ServerInfo
from dbbench.workload import Workload

#: why a projection (``--rtt``) is of one configuration, and what to do instead
PROJECTED_ALONE = (
    "a projection counts one configuration's round trips through a relay in front of its "
    "one server; project each configuration in a run of its own"
)


def refuse(settings: Settings, what: str, instead: str) -> None:
    """A ``ConfigError`` when ``settings`` has variants and the run asks for ``what``, which
    this version does not measure with them (a projection);
    ``instead``: what to do."""
    if settings.variants:
        raise ConfigError(f"{given_as(settings)} does not run with {what} yet: {instead}")


def given_as(settings: Settings) -> str:
    """How the run's variants were given, as a message mentions them: ``--target`` for
    targets, ``--variant`` for files (``mention``: the library says targets, variants);
    ``--pooler`` where it made them (``Settings.pooler``)."""
    if settings.pooler is not None:
        return mention("pooler")
    if settings.benchmark.prepared:
        return mention("[benchmark] prepared")
    targets = any(variant.url is not None for variant in settings.variants)
    return mention("targets" if targets else "variants")


def each_settings(settings: Settings) -> list[tuple[str | None, Settings]]:
    """(variant name, its settings) for every variant; (None, the settings) for a run of one."""
    if not settings.variants:
        return [(None, settings)]
    return [(v.name, settings.variant(v.name)) for v in settings.variants]


def monitored(settings: Settings) -> DatabaseSettings:
    """The server whose counters a run reads (and where a write workload's scratch table
    goes): the first variant's, else the run's."""
    return each_settings(settings)[0][1].database


def same_server(a: DatabaseSettings, b: DatabaseSettings) -> bool:
    """Whether two settings reach the same server (TLS, driver and user aside)."""
    if a.unix_socket or b.unix_socket:
        return a.unix_socket == b.unix_socket
    return (a.host, a.port) == (b.host, b.port)


def drivers_in_play(settings: Settings) -> tuple[str, ...]:
    """Every variant's driver, each once, in the variants' order."""
    return tuple(dict.fromkeys(own.database.driver for _, own in each_settings(settings)))


def driver_lists(settings: Settings, driver_names: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Each variant's drivers under a list of them (``driver_names``, ``--driver a,b``): the
    drivers of the list that speak its dialect, each in turn; a variant of a dialect none
    of them speaks keeps its own driver (``kept_notes`` says so).  Refused in one line: a
    driver that speaks no variant's dialect, and a list of drivers for a variant whose
    file or URL names its driver (which one it runs with would be ambiguous)."""
    lists: dict[str, tuple[str, ...]] = {}
    for variant in settings.variants:
        speaking = tuple(d for d in driver_names if dialect_of(d) == variant.database.dialect)
        if speaking and "[database] driver" in variant.keys:
            raise ConfigError(
                f"{variant.origin} names its driver, {variant.database.driver}, and "
                f"{mention('driver_names')} gives it {', '.join(speaking)}: which it runs "
                f"with is ambiguous; leave the driver out of {variant.origin}, or out of the list"
            )
        lists[variant.name] = speaking or (variant.database.driver,)
    for name in driver_names:
        if not any(name in found for found in lists.values()):
            dialects = " and ".join(dict.fromkeys(v.database.dialect for v in settings.variants))
            raise ConfigError(
                f"{mention('driver_names')}: {name} is a {DIALECT_TITLES[dialect_of(name)]} "
                f"driver, and no {given_as(settings)} speaks its dialect ({dialects}); list "
                "drivers of theirs"
            )
    return lists


def labels_with_drivers(
    runner_names: Sequence[str], lists: dict[str, tuple[str, ...]]
) -> list[str]:
    """The runners of a run of variants with their drivers (``driver_lists``): each runner
    once per variant and driver, ``raw/psycopg@pg``, ``raw/psycopg2@pg``,
    ``raw/pymysql@maria``, then the next runner; a runner that is not ``per_driver``
    (``async-pool``) once per variant."""
    return [
        str(RunnerLabel(runner, driver, name))
        for runner in runner_names
        for name, found in lists.items()
        for driver in (found if runner_class(runner).per_driver else (None,))
    ]


def kept_notes(
    settings: Settings, lists: dict[str, tuple[str, ...]], driver_names: Sequence[str]
) -> list[str]:
    """A note for each variant that keeps its own driver under a list no driver of which
    speaks its dialect."""
    return [
        variants_note(
            [variant.name],
            Mentioning(
                f"no driver of {mention('driver_names')} ({', '.join(driver_names)}) speaks "
                f"{variant.database.dialect}: it runs with its own, {variant.database.driver}"
            ),
        )
        for variant in settings.variants
        if lists[variant.name] == (variant.database.driver,)
        and variant.database.driver not in driver_names
    ]


def drivers_of(labels: Sequence[str], name: str, own: str) -> tuple[str, ...]:
    """The drivers the runners ``labels`` of variant ``name`` run with (``own``, its
    settings' driver, for those that name none)."""
    found = [RunnerLabel.parse(label) for label in labels]
    return tuple(
        dict.fromkeys(label.driver or own for label in found if label.variant == name)
    ) or (own,)


def check_prepared(
    settings: Settings, runner_names: Sequence[str], driver_names: Sequence[str] = ()
) -> None:
    """What ``[benchmark] prepared`` (its variants ``plain`` and ``prepared``) runs with,
    refused in one line before anything connects: a runner that executes through
    SQLAlchemy or asyncio (``Runner.runs_prepared``), a driver that has no server-side
    prepared statements (``driver_names``, else the run's own: ``Driver.prepares``), an
    endpoint that pools per transaction (psycopg then prepares nothing, and a statement
    would be looked for on another server connection)."""
    if not settings.benchmark.prepared:
        return
    where = mention("[benchmark] prepared")
    refused = [name for name in runner_names if not runner_class(name).runs_prepared]
    if refused:
        raise ConfigError(
            f"{where} sends the statements itself, on the DB-API connection, which runner "
            f"{', '.join(refused)} does not give (SQLAlchemy or asyncio executes them): "
            f"choose others ({', '.join(names_with('runs_prepared'))} do)"
        )
    for driver in driver_names or (settings.database.driver,):
        if driver not in PREPARING_DRIVERS.values():
            dialect = dialect_of(driver)
            raise ConfigError(
                f"{where}: driver {driver} has no server-side prepared statements; on "
                f"{DIALECT_TITLES[dialect]}, give --driver {PREPARING_DRIVERS[dialect]} (the "
                f"drivers that have them: {', '.join(PREPARING_DRIVERS.values())})"
            )
    if settings.database.pools_per_transaction:
        raise ConfigError(
            f"{where} keeps statements prepared on a connection, which "
            f"{mention('[database] transaction_pooling')} says the endpoint does not keep "
            "for the client: measure prepared statements on a direct connection, or one "
            "pooled per session"
        )


def prepared_note(
    settings: Settings, runner_names: Sequence[str], driver_names: Sequence[str] = ()
) -> Mentioning | None:
    """Why a pool may keep no prepared statement from one operation to the next, for the
    variant ``prepared``'s settings: psycopg deallocates every statement it prepared on a
    connection when the connection rolls back (``DEALLOCATE ALL``), and the pools' reset
    on return rolls back the transaction psycopg began (autocommit off) at every checkin."""
    database = settings.database
    if not database.prepared or database.autocommit or not names_with("holds_pool", runner_names):
        return None
    if "psycopg" not in (driver_names or (database.driver,)):
        return None
    if settings.pool.pool_reset_on_return != "rollback":
        return None
    return Mentioning(
        "psycopg deallocates every statement it prepared on a connection when the "
        "connection rolls back (DEALLOCATE ALL), as the pools' reset on return does at each "
        "checkin (autocommit off, the transaction psycopg began): a pool then prepares again "
        f"on every operation, as raw does; {mention('[database] autocommit')} (nothing to "
        f"roll back) keeps them for the connection's next operation"
    )


def check_writes(settings: Settings) -> None:
    """A write workload's one scratch table is on one server, in one database: every
    variant must write there (``monitored``).  A target through the pooler (``--pooler``)
    does: its pools lead to the server and database of the direct target, the first."""
    where = monitored(settings)
    pooled = {target.target for target in settings.pooler.targets} if settings.pooler else set()
    for name, own in each_settings(settings):
        database = own.database
        if name in pooled:
            continue
        if not same_server(database, where) or database.database != where.database:
            raise ConfigError(
                f"variant {name!r} writes to {database.describe()} database "
                f"{database.database!r}, the first variant to {where.describe()} database "
                f"{where.database!r}: a write workload's variants share one scratch table, so "
                "one server and database"
            )


def check_servers(
    settings: Settings,
    workload: Workload | None,
    check: Callable[[DatabaseSettings, Workload | None], ServerInfo],
    labels: Sequence[str] = (),
) -> tuple[ServerInfo, list[dict[str, Any]]]:
    """Check every variant's server before anything is measured (``Backend.check_server``),
    with each driver its runners ``labels`` use (``drivers_of``): the first variant's answer
    (the server whose counters are read), and each variant's server and (first) driver for
    the environment."""
    found = []
    first: ServerInfo | None = None
    for name, own in each_settings(settings):
        assert name is not None
        for driver in drivers_of(labels, name, own.database.driver):
            info = check(dataclasses.replace(own.database, driver=driver), workload)
            first = first or info
        found.append(
            {
                "name": name,
                "server_version": info.version,
                "server_vendor": server_vendor(info.version),
                "driver": drivers_of(labels, name, own.database.driver)[0],
            }
        )
    assert first is not None
    return first, found


def environment(
    settings: Settings, checked: list[dict[str, Any]], in_play: Sequence[str] = ()
) -> dict[str, Any]:
    """What the environment records of the variants: each driver in play described (each
    variant's, or ``in_play``), and the servers checked (``check_servers``)."""
    names = in_play or drivers_in_play(settings)
    described = {name: drivers.get_driver(name).describe() for name in names}
    return {"drivers": described, "variants": checked}


def findings(
    settings: Settings,
    labels: Sequence[str],
    find: Callable[[Settings, Sequence[str], Sequence[str]], list[str]],
) -> list[str]:
    """``find(settings, labels, drivers)`` for each variant, on its own runners: a finding
    of every variant once, one of some variants only after their names."""
    by_variant = []
    for name, own in each_settings(settings):
        assert name is not None
        mine = [label for label in labels if split_label(label)[1] == name]
        several = drivers_of(mine, name, own.database.driver)
        by_variant.append((name, find(own, mine, several if len(several) > 1 else ())))
    having: dict[str, tuple[str, list[str | None]]] = {}
    for name, found in by_variant:
        for note in found:
            having.setdefault(str(note), (note, []))[1].append(name)
    return [
        note if len(names) == len(by_variant) else variants_note([str(n) for n in names], note)
        for note, names in having.values()
    ]


def pool_description(settings: Settings) -> str:
    """The pool's settings in words: every variant's, where they differ."""
    described = {name: own.pool.describe() for name, own in each_settings(settings)}
    if len(set(described.values())) == 1:
        return next(iter(described.values()))
    return "; ".join(f"{name}: {text}" for name, text in described.items())


def on_other_servers(settings: Settings, labels: Sequence[str]) -> list[str]:
    """The labels whose variant measures another server than the monitored one: their
    connections are not among those the server's counters saw."""
    where = monitored(settings)
    return [
        label
        for label in labels
        if not same_server(runner_settings(label, settings).database, where)
    ]


def pointed(
    settings: Settings, repoint: Callable[[DatabaseSettings], DatabaseSettings]
) -> Settings:
    """``settings`` with ``repoint`` applied to its database and to every variant's."""
    return dataclasses.replace(
        settings,
        database=repoint(settings.database),
        variants=tuple(
            dataclasses.replace(v, database=repoint(v.database)) for v in settings.variants
        ),
    )


def twins(settings: Settings, names: Sequence[str] = ("base", "new")) -> Settings:
    """``settings`` as a run of identical variants, one per name, each with the run's own
    ``[database]`` and ``[pool]``: an A/A duet (``dbbench calibrate --recipe duet``), made
    in memory rather than from files.  Each variant's path is the run's settings file."""
    path = settings.config_path or Path("(the run's settings)")
    same = tuple(Variant(name, path, settings.database, settings.pool) for name in names)
    return dataclasses.replace(settings, variants=same)
