"""What a PgBouncer saw during a run: its admin console read before and after (``SHOW
STATS``: the transactions, queries and client wait each pool served) and sampled between
(``SHOW POOLS``: how many clients and server connections each pool had at most, how many
clients waited), one pool per target that goes through it (``Settings.pooler``).

``SHOW POOLS`` is a gauge of the moment, so the peaks come from samples taken every
``interval_s`` on the monitor's own console connection, in a daemon thread, as the
server's monitor samples its backends (``dbbench.server.status``): a peak shorter than
the interval can be missed, and the figures say how many samples they rest on.  The
console's own connection is the pooler's, never a pool's: it is in no figure here.

``start()`` raises ``ConnectError`` (one line) when the console cannot be reached; after
that nothing raises: a console lost mid-run (PgBouncer killed) stops the sampling and
``stop()`` returns what was read, ``complete`` False and ``error`` saying why.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from typing import Any

from dbbench.config.settings import PooledTarget, Pooler
from dbbench.databases import pgbouncer_status
from dbbench.errors import DbbenchError


@dataclass
class _Peaks:
    clients: int = 0
    waiting: int = 0
    servers: int = 0
    active_servers: int = 0


class PgBouncerMonitor:
    """``start()``, then ``stop()`` -> the ``server.pooler`` section of a result (a dict)."""

    def __init__(self, pooler: Pooler, interval_s: float = 0.1) -> None:
        if not interval_s > 0:
            raise ValueError(f"interval_s must be greater than 0, got {interval_s!r}")
        self._pooler = pooler
        self._interval_s = interval_s
        self._connection: Any = None
        self._before: pgbouncer_status.PgBouncerSnapshot | None = None
        self._peaks = {target.database: _Peaks() for target in pooler.targets}
        self._samples = 0
        self._error: str | None = None
        self._lock = threading.Lock()
        self._stop_event = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        pooler = self._pooler
        self._connection = pgbouncer_status.connect_console(pooler.host, pooler.port, pooler.user)
        self._before = pgbouncer_status.read_snapshot(self._connection)
        self._thread = threading.Thread(target=self._sample, name="dbbench-pooler", daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop_event.wait(self._interval_s):
            try:
                pools = pgbouncer_status.read_pools(self._connection)
            except DbbenchError as exc:
                self._error = str(exc)
                return
            with self._lock:
                self._record(pools)

    def _record(self, pools: tuple[pgbouncer_status.PoolRow, ...]) -> None:
        self._samples += 1
        for row in pools:
            peaks = self._peaks.get(row.database)
            if peaks is None:
                continue
            peaks.clients = max(peaks.clients, row.cl_active + row.cl_waiting)
            peaks.waiting = max(peaks.waiting, row.cl_waiting)
            peaks.servers = max(peaks.servers, row.servers)
            peaks.active_servers = max(peaks.active_servers, row.sv_active)

    def stop(self) -> dict[str, Any]:
        self._stop_event.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        after = None
        if self._error is None:
            try:
                after = pgbouncer_status.read_snapshot(self._connection)
                with self._lock:
                    self._record(after.pools)
            except DbbenchError as exc:
                self._error = str(exc)
        with contextlib.suppress(Exception):  # gone already: nothing to close
            self._connection.close()
        # the runners' own pools, where they have them: the targets' own served only the
        # checks and the probe, before the run
        watched = [t for t in self._pooler.targets if t.runner is not None]
        pools = [self._pool(target, after) for target in watched or self._pooler.targets]
        return {
            "kind": self._pooler.kind,
            "version": self._pooler.version,
            "samples": self._samples,
            "complete": self._error is None,
            "error": self._error,
            "pools": pools,
        }

    def _pool(
        self, target: PooledTarget, after: pgbouncer_status.PgBouncerSnapshot | None
    ) -> dict[str, Any]:
        peaks = self._peaks[target.database]
        pool: dict[str, Any] = {
            "target": target.target,
            **({"runner": target.runner} if target.runner is not None else {}),
            "database": target.database,
            "pool_mode": target.pool_mode,
            "peak_clients": peaks.clients,
            "peak_waiting": peaks.waiting,
            "peak_servers": peaks.servers,
            "peak_active_servers": peaks.active_servers,
        }
        if after is None or self._before is None:
            return pool
        try:
            delta = pgbouncer_status.snapshot_delta(self._before, after, target.database)
        except ValueError as exc:  # PgBouncer restarted between the reads
            self._error = str(exc)
            return pool
        try:
            servers_after = after.pool(target.database).servers
        except LookupError:
            servers_after = 0
        return {
            **pool,
            "servers_after": servers_after,
            "transactions": delta.xact_count,
            "queries": delta.query_count,
            "wait_us": delta.wait_time_us,
            "mean_wait_us": delta.mean_wait_us,
            "mean_transaction_us": delta.mean_xact_time_us,
        }
