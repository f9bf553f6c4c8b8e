"""``--pooler pgbouncer``: a throwaway PgBouncer in front of the server a run measures, and
the run's targets through it, so that one run answers "do I need PgBouncer?".

The run then measures three targets side by side, in the same turns (``--target``'s
variants, made here instead of from URLs): ``direct`` (the server itself),
``pgbouncer-session`` and ``pgbouncer-transaction`` (PgBouncer's two pools in one process:
``dbbench.server.local_pgbouncer``).  The server is the throwaway one with ``--server
local``, or the configured one, in front of which only the pooler is started.  The
pooler's console is watched during the run (``Settings.pooler``,
``databases.pgbouncer_monitor``), beside the server's counters.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from dbbench.config.settings import (
    DatabaseSettings,
    PooledTarget,
    Pooler,
    Settings,
    Variant,
    split_label,
)
from dbbench.engine.harness import RunnerRecord
from dbbench.errors import ConfigError, mention
from dbbench.results.model import RunnerResult, RunResult
from dbbench.scenarios.variants import PROJECTED_ALONE
from dbbench.server.local import ServerAddress

#: what ``--pooler`` starts
POOLERS = ("pgbouncer",)
#: the targets a run with ``--pooler pgbouncer`` measures: name -> pool mode (None: direct)
PGBOUNCER_TARGETS = {
    "direct": None,
    "pgbouncer-session": "session",
    "pgbouncer-transaction": "transaction",
}


def check(settings: Settings, pooler: str, *, projected: bool = False) -> None:
    """What ``--pooler`` cannot run with, refused before any server starts; ``projected``:
    the run is a projection (``--rtt``), of one configuration."""
    where = mention("pooler")
    if pooler not in POOLERS:
        raise ConfigError(f"{where} = {pooler!r}: choose {', '.join(POOLERS)}")
    if projected:
        raise ConfigError(f"{where} does not run with {mention('rtt')} yet: {PROJECTED_ALONE}")
    if settings.benchmark.prepared:
        raise ConfigError(
            f"{where} does not run with {mention('[benchmark] prepared')} yet: point --url "
            "at each endpoint (PgBouncer's too) in a run of its own"
        )
    if settings.variants:
        raise ConfigError(
            f"{where} measures its own targets (direct, pgbouncer-session, "
            "pgbouncer-transaction): give it no --target or --variant"
        )
    if settings.database.dialect != "postgresql":
        raise ConfigError(
            f"{where} {pooler} pools PostgreSQL connections: give --dialect postgresql "
            "(or a postgresql:// --url)"
        )


def clients_per_pool(settings: Settings, concurrencies: Sequence[int] = ()) -> int:
    """The most client connections one runner may hold through its own pool of the pooler
    at once: as many as its workers, the processes' together; of a sweep, at its highest
    concurrency."""
    return max(1, max(concurrencies, default=settings.benchmark.concurrency))


def pool_name(runner: str) -> str:
    """The name of a runner's own pool ("pool/psycopg2" -> "pool_psycopg2"): part of a
    PgBouncer database alias, which takes letters, digits and _."""
    return re.sub(r"[^A-Za-z0-9_]", "_", runner)


@contextlib.contextmanager
def with_pgbouncer(
    settings: Settings, runners: Sequence[str] = (), clients: int = 1
) -> Iterator[Settings]:
    """A throwaway PgBouncer in front of ``settings``' server, and the settings of a run
    of the three targets (``PGBOUNCER_TARGETS``), the pooler watched; stopped and removed
    afterwards, on error and on a stop signal too.

    Each of ``runners`` (labels without a target: "raw", "pool/psycopg2") has a pool of its
    own of each mode, as two applications would: runners interleaved in one run share no
    server connection of PgBouncer's -- raw's, which close in a transaction, would
    otherwise throw away the ones nullpool's next connect could have had, and a pool's
    idle connections hold a session pool's servers through the other runners' turns --
    and what PgBouncer saw of each pool is that runner's alone.  Each pool has room for
    ``clients`` server connections (``clients_per_pool``), at least PgBouncer's default 20:
    a session pool gives each client a server connection, as one sized for its
    application does; a transaction pool opens only as many as transactions run at once."""
    from dbbench.server.local_pgbouncer import (
        DEFAULT_MAX_CLIENT_CONN,
        DEFAULT_POOL_SIZE,
        LocalPgBouncer,
    )

    check(settings, "pgbouncer")
    database = settings.database
    if database.password:
        given = database.password_source or "the settings"
        raise ConfigError(
            f"{mention('pooler')} pgbouncer: a password for {database.describe()} was given "
            f"(from {given}), and the throwaway PgBouncer takes none: it trusts the server's "
            "user, and dbbench writes no password to a file; leave the password out (a "
            "trust-auth server, or --server local), or start your PgBouncer and give each "
            "endpoint as a --target"
        )
    backend = ServerAddress(
        host=database.host,
        port=database.port,
        user=database.user,
        password="",
        # libpq's default database is the user's name: PgBouncer's aliases need one named
        database=database.database or database.user,
        unix_socket=database.unix_socket,
    )
    pool_size = max(DEFAULT_POOL_SIZE, clients)
    names = {runner: pool_name(runner) for runner in runners}
    with LocalPgBouncer(
        backend,
        pool_size=pool_size,
        max_client_conn=max(DEFAULT_MAX_CLIENT_CONN, 4 * clients * max(1, len(runners))),
        pool_names=tuple(names.values()),
    ) as bouncer:
        run = through(settings, bouncer, names)
        assert run.pooler is not None
        # probed once, here: not again in each repetition or sweep cell
        sized = (
            "each runner goes through a pool of its own of each mode (as two applications "
            "would: runners interleaved share no server connection of PgBouncer's), with "
            f"room for {pool_size} server connections (default_pool_size): a session pool "
            "so sized gives each client a server connection, a transaction pool opens only "
            "as many as transactions run at once"
        )
        pooler = dataclasses.replace(
            run.pooler, findings=(*session_findings(run), sized)
        )
        yield dataclasses.replace(run, pooler=pooler)


def through(
    settings: Settings, bouncer, pools: Mapping[str, str] | None = None
) -> Settings:
    """``settings`` as a run of the direct server and each of ``bouncer``'s pools; each
    runner of ``pools`` (runner -> its pool's name) through its own of each mode."""
    targets = []
    pooled = []
    for name, mode in PGBOUNCER_TARGETS.items():
        database = settings.database
        if mode is not None:
            address = bouncer.address_for(mode)
            database = _at(database, address, transaction_pooling=mode == "transaction")
            pooled.append(PooledTarget(name, address.database, mode))
            pooled += [
                PooledTarget(name, bouncer.address_for(mode, own).database, mode, runner)
                for runner, own in (pools or {}).items()
            ]
        targets.append(
            Variant(name, None, database, settings.pool, frozenset(), url=_url(database))
        )
    admin = bouncer.admin_address
    pooler = Pooler(
        kind="pgbouncer",
        version=".".join(map(str, bouncer.version)),
        host=admin.host,
        port=admin.port,
        user=admin.user,
        targets=tuple(pooled),
    )
    return dataclasses.replace(settings, variants=tuple(targets), pooler=pooler)


def _at(
    database: DatabaseSettings, address: ServerAddress, *, transaction_pooling: bool
) -> DatabaseSettings:
    """``database`` pointed at one of the pooler's pools (its own TCP port, its alias); a
    transaction pool's with what its drivers need there (``[database]
    transaction_pooling``), unless --driver-defaults keeps their defaults."""
    where = "the throwaway PgBouncer"
    return dataclasses.replace(
        database,
        host=address.host,
        port=address.port,
        database=address.database,
        unix_socket=None,
        sources={**database.sources, "host": where, "port": where, "database": where},
        # PgBouncer refuses the startup packet's options (libpq's) and server settings
        # (asyncpg's): its sessions cannot be made read-only there (``read_only_note``)
        startup_settings=False,
        transaction_pooling=transaction_pooling or database.transaction_pooling,
    )


def read_only_note(settings: Settings, allow_writes: bool) -> str | None:
    """Where a PostgreSQL target's sessions could not be made read-only at connect (a
    PgBouncer pool), a note that only the query guard stands between the run and a write."""
    names = [
        v.name for v in settings.variants
        if v.database.dialect == "postgresql" and not v.database.startup_settings
    ]
    if allow_writes or not names:
        return None
    return (
        f"{', '.join(names)}: PgBouncer refuses the startup packet's "
        "default_transaction_read_only, so their sessions are not read-only from their "
        "start as the direct server's are; "
        "the query guard (docs/reference/safety.md) still refuses a query that may write"
    )


def _url(database: DatabaseSettings) -> str:
    """The target's URL, as its line shows it (never a password: the pooler takes none)."""
    if database.unix_socket:
        return f"postgresql://{database.user}@/{database.database}?host={database.unix_socket}"
    return f"postgresql://{database.user}@{database.host}:{database.port}/{database.database}"


def through_pooler(settings: Settings, labels: Sequence[str]) -> list[str]:
    """The labels of the runners whose target goes through the pooler (``--pooler``)."""
    if settings.pooler is None:
        return []
    names = {target.target for target in settings.pooler.targets}
    return [label for label in labels if split_label(label)[1] in names]


def server_connections_note(check: Mapping[str, Any], clients: Clients) -> str:
    """The server's new connections split between dbbench's own (the direct target's, the
    monitor's) and the pooler's, against the client connections made through it
    (``clients_through``): the cross-check a run through a pooler can make, since the
    pooler opens its own."""
    made = f"{clients.made} client connections made through it"
    if clients.failed:  # the pooler gone, or refusing: no client connection, no server's
        made += f" ({clients.failed} more connects to it failed)"
    counted, own = check.get("server_connections"), check.get("dbbench_connections")
    if counted is None or own is None:
        return (
            f"{made[0].upper()}{made[1:]}; the server's count of new connections could not "
            "be read to set the pooler's beside them"
        )
    return (
        f"the server counted {counted} new connections: {own} dbbench's own (direct, its "
        f"monitor's), so {max(0, counted - own)} the pooler's, for the {made} (a pooler "
        "that drops a server connection left in a transaction, or one it could not reset, "
        "opens a new one)"
    )


class Clients(NamedTuple):
    """The client connections through the pooler: those made, and the connects that failed."""

    made: int
    failed: int = 0


def clients_through(
    records: Sequence[RunnerRecord | RunnerResult], through: Sequence[str]
) -> Clients:
    """The client connections the runners labelled ``through`` made through the pooler, and
    their connects to it that failed (a pooler killed mid-run refuses every one after)."""
    found = [r for r in records if r.runner in through]
    return Clients(sum(r.connections_made for r in found), sum(r.connects_failed for r in found))


def note_of(result: RunResult) -> str | None:
    """``server_connections_note`` of a result read back (a repetition's, or the run's
    merged ones): None where no target went through a pooler or no cross-check was made."""
    server = result.server
    if server is None or server.pooler is None or server.cross_check is None:
        return None
    targets = {pool.target for pool in server.pooler.pools or ()}
    through = [r.runner for r in result.runners if split_label(r.runner)[1] in targets]
    if not through:
        return None
    check = server.cross_check
    counts = {
        "server_connections": check.server_connections,
        "dbbench_connections": check.dbbench_connections,
    }
    return server_connections_note(counts, clients_through(result.runners, through))


def session_findings(settings: Settings) -> list[str]:
    """For each target through the pooler, whether session state (a ``SET``, an advisory
    lock) survives from one transaction to the next there (``databases.session_probe``):
    what an application that keeps state in its session must know of a transaction pool.
    The temporary table is not probed: dbbench creates nothing without --allow-writes."""
    from dbbench.databases.session_probe import probe_session_state

    if settings.pooler is None:
        return []
    notes = []
    for target in settings.pooler.targets:
        if target.runner is not None:  # a runner's own pool: its mode is probed once
            continue
        database = settings.variant(target.target).database
        probe = probe_session_state(database, allow_writes=False)
        notes.append(f"{target.target} ({target.pool_mode} pool): {probe.describe()}")
    return notes
