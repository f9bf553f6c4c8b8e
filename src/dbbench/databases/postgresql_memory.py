"""What a connection costs a PostgreSQL server on this machine: the memory of each client
backend the run opened, from ``/proc/PID/smaps_rollup`` (``connection_memory``'s sampling).

A backend is a process forked from the postmaster; its memory is of three kinds, and
``smaps_rollup`` tells them apart:

* ``pss`` (proportional set size): each page it maps, divided by the number of processes
  mapping it.  The shared buffers a backend has touched are shared with every other
  backend that touched them, so each pays its share: the figure that adds up, over the
  server's processes, to the memory they use.  It is reported as the per-connection cost.
* ``rss``: every page it maps, shared ones whole.  A backend that read much of the
  shared buffers shows them all, though another connection would not add them again.
* ``anonymous`` (``Pss_Anon``): its own heap (caches of the catalog and of plans, the
  work memory of a query), the share of the postmaster's pages it has not written yet
  included; what closing the connection gives back.

Read from this machine's ``/proc``, so only when the server runs here: the address is a
socket, a loopback one or another of this machine's (``connection_memory.not_here``), the
monitor's own backend is this machine's process of that id (a container's server answers
on 127.0.0.1 with ids of its own namespace, and dbbench in a container sees only its
own: ``not_this_process``) and its ``smaps_rollup`` can be read (the server's user's
processes: dbbench runs as that user or as root).  The backends read are
the client backends begun since the monitor's start, its own excepted: the run's, and
another client's connecting meanwhile, which the monitor cannot tell apart.  A backend
that ended between the list and its file is skipped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dbbench.config.settings import DatabaseSettings
from dbbench.server.connection_memory import (
    PROC,
    SMAPS_FIELDS,
    ConnectionMemory,
    not_here,
    not_this_process,
    parse_smaps_rollup,
)

SOURCE = "/proc/PID/smaps_rollup"
#: the name of a PostgreSQL server's processes (``/proc/PID/comm``; the title it sets,
#: "postgres: 15/main: root test ...", is its command line's)
COMMAND = "postgres"

_OWN = (
    "SELECT pg_backend_pid(), extract(epoch FROM backend_start)::float8, "
    "(extract(epoch FROM now()) * 1000000)::bigint "
    "FROM pg_stat_activity WHERE pid = pg_backend_pid()"
)
_RUNS = (
    "SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' "
    "AND pid <> pg_backend_pid() AND backend_start >= to_timestamp(%s / 1000000.0)"
)


class BackendMemory:
    """``connection_memory.MemoryReader`` of a PostgreSQL server's client backends."""

    def __init__(self, database: DatabaseSettings, proc: Path = PROC) -> None:
        self._database = database
        self._proc = proc
        #: the server's clock at ``open``, microseconds since the epoch
        self._since_us = 0

    def open(self, connection: Any) -> str | None:
        reason = not_here(self._database.host, self._database.unix_socket)
        if reason:
            return reason
        with connection.cursor() as cursor:
            cursor.execute(_OWN)
            pid, started_s, self._since_us = cursor.fetchone()
        reason = not_this_process(int(pid), float(started_s), COMMAND, self._proc)
        if reason:
            return reason
        try:
            (self._proc / str(pid) / "smaps_rollup").read_text()
        except OSError as exc:
            return (
                f"cannot read the server's processes' memory ({exc.strerror}: "
                f"/proc/{pid}/smaps_rollup): run dbbench as the server's user or as root"
            )
        return None

    def read(self, connection: Any) -> ConnectionMemory:
        with connection.cursor() as cursor:
            cursor.execute(_RUNS, (self._since_us,))
            pids = [int(pid) for (pid,) in cursor.fetchall()]
        values: dict[str, list[int]] = {name: [] for name in SMAPS_FIELDS}
        for pid in pids:
            try:
                rollup = parse_smaps_rollup((self._proc / str(pid) / "smaps_rollup").read_text())
            except (FileNotFoundError, ProcessLookupError):
                continue  # ended since the list
            for name, field in SMAPS_FIELDS.items():
                if field in rollup:
                    values[name].append(rollup[field])
        return ConnectionMemory.of(SOURCE, values)
