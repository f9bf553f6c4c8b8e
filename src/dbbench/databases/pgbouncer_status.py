"""What a PgBouncer saw: its admin console's ``SHOW POOLS`` and ``SHOW STATS`` as typed
records, read before and after a run, and their difference: what issue 14 sets beside the
application pool's own figures (clients left waiting for a server connection, the server
connections in use and idle, the wait, the transactions and queries pooled).

The console is the ``pgbouncer`` database of the PgBouncer itself (``admin_users``;
``dbbench.server.local_pgbouncer.LocalPgBouncer.admin_address``).  It speaks only the
simple query protocol: ``connect_console`` opens a psycopg connection with autocommit (the
console has no transactions), ``prepare_threshold=None`` (psycopg would otherwise prepare a
statement run five times, in the extended protocol) and ``ClientCursor`` (parameters, had
we any, merged here, never sent apart), so every read is one Query message.

Columns are read by name, not by position: PgBouncer adds them from version to version
(``SHOW POOLS``' ``cl_active_cancel_req`` in 1.18, ``SHOW STATS``'
``total_server_assignment_count`` in 1.23, the prepared-statement counts in 1.21); a
column this module does not know is kept in ``extra``, one it knows that the server does
not have (``total_server_assignment_count`` before 1.23) is None.

``SHOW STATS``' ``total_*`` are counters since PgBouncer started, so after - before is
what a run did (``stats_delta``); the ``avg_*`` are rates over the last ``stats_period``
(the throwaway PgBouncer sets it to 1 s), read as they are.  ``SHOW POOLS`` is a gauge,
a moment's state (``pool_change``: after - before of each count).  Both are per database
alias, so a ``LocalPgBouncer``'s session and transaction pools are separate rows.

When PgBouncer is gone (killed, stopped) a read is one line (``ConnectError``) naming the
console's address, not psycopg's several.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dbbench.errors import ConnectError

__all__ = [
    "PgBouncerSnapshot",
    "PoolChange",
    "PoolCounts",
    "PoolRow",
    "StatsDelta",
    "StatsRow",
    "connect_console",
    "pool_change",
    "read_pools",
    "read_snapshot",
    "read_stats",
    "show",
    "snapshot_delta",
    "snapshot_pool_change",
    "stats_delta",
]

_CONNECT_TIMEOUT_S = 10
#: the columns of text; every other known column is a number
_TEXT_COLUMNS = frozenset({"database", "user", "pool_mode"})


@dataclass(frozen=True)
class PoolCounts:
    """A (database, user) pool's clients and server connections by state: as ``SHOW
    POOLS`` read them (``PoolRow``), or their change (``PoolChange``)."""

    database: str
    user: str
    #: clients linked to a server connection, or idle with no query waiting
    cl_active: int
    #: clients that sent a query and have no server connection yet
    cl_waiting: int
    #: server connections linked to a client
    sv_active: int
    #: server connections unused and ready for a client
    sv_idle: int
    #: server connections idle longer than server_check_delay (checked before use)
    sv_used: int
    #: server connections running server_reset_query or server_check_query
    sv_tested: int
    #: server connections logging in
    sv_login: int

    @property
    def servers(self) -> int:
        """Every server connection of the pool, whatever its state."""
        return self.sv_active + self.sv_idle + self.sv_used + self.sv_tested + self.sv_login


@dataclass(frozen=True)
class PoolRow(PoolCounts):
    """One row of ``SHOW POOLS``: a pool at the moment it was read."""

    #: how long the oldest waiting client has waited, in microseconds (maxwait, maxwait_us)
    maxwait_us: int
    pool_mode: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StatsRow:
    """One row of ``SHOW STATS``: a database alias's counters since PgBouncer started
    (``total_*``; times in microseconds, traffic in bytes) and last period's rates
    (``avg_*``)."""

    database: str
    total_xact_count: int
    total_query_count: int
    total_received: int
    total_sent: int
    total_xact_time: int
    total_query_time: int
    total_wait_time: int
    avg_xact_count: int
    avg_query_count: int
    avg_recv: int
    avg_sent: int
    avg_xact_time: int
    avg_query_time: int
    avg_wait_time: int
    #: times a server connection was assigned to a client (PgBouncer 1.23 and later)
    total_server_assignment_count: int | None = None
    avg_server_assignment_count: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StatsDelta:
    """after - before of one database alias's ``SHOW STATS`` counters: what a run did."""

    database: str
    xact_count: int
    query_count: int
    received: int
    sent: int
    xact_time_us: int
    query_time_us: int
    #: time clients waited for a server connection, summed
    wait_time_us: int
    #: None before PgBouncer 1.23
    server_assignment_count: int | None

    @property
    def mean_wait_us(self) -> float | None:
        """The mean wait for a server connection, per assignment (PgBouncer 1.23 and
        later; None before, or with no assignment)."""
        if not self.server_assignment_count:
            return None
        return self.wait_time_us / self.server_assignment_count

    @property
    def mean_xact_time_us(self) -> float | None:
        """The mean time a transaction held its server connection."""
        return self.xact_time_us / self.xact_count if self.xact_count else None


@dataclass(frozen=True)
class PoolChange(PoolCounts):
    """after - before of one pool's ``SHOW POOLS`` counts (``after`` kept as it was read)."""

    after: PoolRow


@dataclass(frozen=True)
class PgBouncerSnapshot:
    """``SHOW POOLS`` and ``SHOW STATS``, read one after the other."""

    pools: tuple[PoolRow, ...]
    stats: tuple[StatsRow, ...]

    def pool(self, database: str, user: str | None = None) -> PoolRow:
        """The pool of ``database`` (and ``user``, where a database has several users'
        pools).  LookupError when there is none: PgBouncer makes a pool at its first client."""
        rows = [p for p in self.pools if p.database == database and user in (None, p.user)]
        if len(rows) != 1:
            found = "none" if not rows else f"{len(rows)} (one per user; name the user)"
            raise LookupError(f"SHOW POOLS has {found} for database {database!r}")
        return rows[0]

    def stat(self, database: str) -> StatsRow:
        """``database``'s ``SHOW STATS`` row; LookupError when it has none (no client yet)."""
        for row in self.stats:
            if row.database == database:
                return row
        raise LookupError(f"SHOW STATS has no row for database {database!r}")


# --------------------------------------------------------------------------- reading


def connect_console(
    host: str, port: int, user: str, *, connect_timeout: int = _CONNECT_TIMEOUT_S
) -> Any:
    """A psycopg connection to the admin console at host:port (``host`` a Unix socket
    directory too), fit for its simple query protocol.  ConnectError, one line, when it
    cannot be opened."""
    import psycopg  # the postgresql extra

    try:
        return psycopg.connect(
            host=host, port=port, user=user, dbname="pgbouncer", autocommit=True,
            prepare_threshold=None, cursor_factory=psycopg.ClientCursor,
            connect_timeout=connect_timeout,
        )  # fmt: skip
    except psycopg.Error as exc:
        raise ConnectError(
            f"cannot reach PgBouncer's admin console at {host}:{port}: {_first_line(exc)}"
        ) from None


def show(connection: Any, what: str) -> list[dict[str, Any]]:
    """``SHOW what`` (POOLS, STATS, SERVERS, CLIENTS, ...) as a dict a row, by column name.
    ConnectError, one line, when PgBouncer does not answer (gone, or the command unknown)."""
    import psycopg

    if not what.replace("_", "").isalpha():
        raise ValueError(f"not a SHOW command of PgBouncer's: {what!r}")
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"SHOW {what}")
            names = [column.name for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    except psycopg.Error as exc:
        raise ConnectError(
            f"cannot read SHOW {what} from PgBouncer's admin console: {_first_line(exc)}"
        ) from None


def read_pools(connection: Any) -> tuple[PoolRow, ...]:
    """``SHOW POOLS``, the console's own pool (database ``pgbouncer``) left out."""
    return tuple(
        pool_row(row) for row in show(connection, "POOLS") if row.get("database") != "pgbouncer"
    )


def read_stats(connection: Any) -> tuple[StatsRow, ...]:
    """``SHOW STATS``, the console's own row (database ``pgbouncer``) left out."""
    return tuple(
        stats_row(row) for row in show(connection, "STATS") if row.get("database") != "pgbouncer"
    )


def read_snapshot(connection: Any) -> PgBouncerSnapshot:
    return PgBouncerSnapshot(pools=read_pools(connection), stats=read_stats(connection))


# --------------------------------------------------------------------------- records


def pool_row(row: Mapping[str, Any]) -> PoolRow:
    """A ``SHOW POOLS`` row (by column name) as a ``PoolRow``; ``maxwait`` (seconds) and
    ``maxwait_us`` (its microseconds part) become one figure."""
    values = dict(row)
    maxwait_us = int(values.pop("maxwait", 0) or 0) * 1_000_000 + int(
        values.pop("maxwait_us", 0) or 0
    )
    return _record(PoolRow, values, maxwait_us=maxwait_us)


def stats_row(row: Mapping[str, Any]) -> StatsRow:
    """A ``SHOW STATS`` row (by column name) as a ``StatsRow``."""
    return _record(StatsRow, dict(row))


def _record(cls: type, values: dict[str, Any], **given: Any) -> Any:
    """``cls`` from the columns named as its fields (numbers as int; a text field as it
    is), the others in ``extra``.  ValueError naming the first required column missing."""
    known = {f.name: f for f in dataclasses.fields(cls) if f.name != "extra"}
    kwargs: dict[str, Any] = dict(given)
    for name, f in known.items():
        if name in kwargs:
            continue
        if name not in values:
            if f.default is dataclasses.MISSING:
                raise ValueError(f"PgBouncer's {cls.__name__} has no column {name!r}")
            continue
        value = values[name]
        text = name in _TEXT_COLUMNS or value is None
        kwargs[name] = value if text else int(value)
    extra = {name: value for name, value in values.items() if name not in known}
    return cls(**kwargs, extra=extra)


# --------------------------------------------------------------------------- differences

#: the counts of clients and server connections a pool has
_COUNTS = tuple(f.name for f in dataclasses.fields(PoolCounts))[2:]  # after database, user


def stats_delta(before: StatsRow, after: StatsRow) -> StatsDelta:
    """after - before of the counters.  ValueError when one went down (PgBouncer
    restarted between the reads: its counters began again)."""
    if before.database != after.database:
        raise ValueError(f"the rows are of {before.database!r} and {after.database!r}")

    def change(name: str) -> int:
        value = getattr(after, name) - getattr(before, name)
        if value < 0:
            raise ValueError(
                f"PgBouncer's {name} of {after.database!r} went down between the reads "
                "(it restarted: its counters began again)"
            )
        return value

    assignments = None
    if None not in (before.total_server_assignment_count, after.total_server_assignment_count):
        assignments = change("total_server_assignment_count")
    return StatsDelta(
        database=after.database,
        xact_count=change("total_xact_count"),
        query_count=change("total_query_count"),
        received=change("total_received"),
        sent=change("total_sent"),
        xact_time_us=change("total_xact_time"),
        query_time_us=change("total_query_time"),
        wait_time_us=change("total_wait_time"),
        server_assignment_count=assignments,
    )


def snapshot_delta(
    before: PgBouncerSnapshot, after: PgBouncerSnapshot, database: str
) -> StatsDelta:
    """``stats_delta`` of ``database``.  PgBouncer shows a database's row from its first
    client on: one with no row before counts from zero, one with no row after either did
    nothing."""
    rows = []
    for snapshot in (before, after):
        try:
            rows.append(snapshot.stat(database))
        except LookupError:
            rows.append(None)
    earlier, later = rows
    if later is None:
        if earlier is not None:
            raise ValueError(f"SHOW STATS lost its row for {database!r} (PgBouncer restarted)")
        later = _zero_stats(database, assignments=False)
    if earlier is None:
        earlier = _zero_stats(database, later.total_server_assignment_count is not None)
    return stats_delta(earlier, later)


def _zero_stats(database: str, assignments: bool) -> StatsRow:
    """A row of zeros: a database's before its first client (with the assignment counts
    of PgBouncer 1.23 and later, or without)."""
    names = [f.name for f in dataclasses.fields(StatsRow) if f.name not in ("database", "extra")]
    zero: dict[str, int | None] = dict.fromkeys(names, 0)
    if not assignments:
        zero["total_server_assignment_count"] = zero["avg_server_assignment_count"] = None
    return StatsRow(database=database, **zero)


def pool_change(before: PoolRow, after: PoolRow) -> PoolChange:
    """after - before of each of the pool's counts of clients and server connections."""
    if (before.database, before.user) != (after.database, after.user):
        raise ValueError("the rows are of two pools")
    changes = {name: getattr(after, name) - getattr(before, name) for name in _COUNTS}
    return PoolChange(database=after.database, user=after.user, after=after, **changes)


def snapshot_pool_change(
    before: PgBouncerSnapshot, after: PgBouncerSnapshot, database: str
) -> PoolChange:
    """``pool_change`` of ``database``'s pool, a pool not there before (made by the run's
    first client) counted from zero.  LookupError when it is not there after."""
    later = after.pool(database)
    try:
        earlier = before.pool(database, later.user)
    except LookupError:
        earlier = PoolRow(database, later.user, **dict.fromkeys(_COUNTS, 0), maxwait_us=0)
    return pool_change(earlier, later)


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
