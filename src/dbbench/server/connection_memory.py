"""What a connection costs the server in memory, read by the run's monitor at the peak of
the run's connections: one reader per dialect (``postgresql_memory``: each client
backend's ``/proc/PID/smaps_rollup`` when the server runs on this machine;
``mysql_memory``: each connection thread's bytes in ``performance_schema``), and here
what they share: the sample (``ConnectionMemory``), ``smaps_rollup``'s parsing, and the
check that a server's process ids are this machine's.

When a reader cannot read (the server elsewhere, ``performance_schema`` off, ``/proc``
not readable), the sample says why (``unavailable``), never a guess.

When the monitor samples (``server.status.ServerStatusMonitor``): at the run's peak.  Each
time its count of open connections (``Threads_connected``, client backends) reaches a new
high it reads the memory of the run's connections; at that same high it reads again at
most every ``MEMORY_INTERVAL_S``, and keeps the reading that found the most of the run's
connections, the latest of those, so that the figure is of connections at the most the
run held at once, as late as they were held (a backend's memory grows as it runs
queries: caches, the shared buffers it touches).  The connections are listed a moment
after the peak was counted, and a connection opened per operation may begin or end
between the count, the list and the reading of its memory, so a reading may hold fewer
connections than the count, or as many (the monitor's own is never read).  A sample that
finds none of the run's connections open (a short run between two samples) is not kept.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

#: seconds between two readings at the same peak
MEMORY_INTERVAL_S = 1.0
#: ``smaps_rollup``'s lines that are reported, by the name in the sample
SMAPS_FIELDS = {"pss": "Pss", "rss": "Rss", "anonymous": "Pss_Anon"}
#: how far apart, in seconds, a process's start on this machine and the server's record
#: of its connection's start may be for them to be the same process
SAME_START_S = 2.0
#: the addresses that reach this machine's own server
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
PROC = Path("/proc")


class MemoryReader(Protocol):
    """One dialect's reader, used on the monitor's own connection: ``open`` once (None
    when it can read, else why not), then ``read`` at the peaks."""

    def open(self, connection: Any) -> str | None: ...

    def read(self, connection: Any) -> ConnectionMemory: ...


@dataclass(frozen=True)
class ConnectionMemory:
    """The memory of the run's connections on the server at one reading: per measure
    (``pss``, ``rss``, ``anonymous`` of PostgreSQL's backends; ``allocated`` of MariaDB's
    threads) the median, least and most over the connections, in bytes."""

    #: where the figures come from ("/proc/PID/smaps_rollup", "performance_schema")
    source: str | None = None
    #: the run's connections read
    connections: int = 0
    #: the monitor's count of open connections (all clients') when they were read
    backends: int | None = None
    #: measure -> {"median", "min", "max"} in bytes
    measures: Mapping[str, Mapping[str, int]] = dataclasses.field(default_factory=dict)
    #: why nothing could be read, when it could not
    unavailable: str | None = None

    @classmethod
    def of(cls, source: str, values: Mapping[str, Sequence[int]]) -> ConnectionMemory:
        """The sample of each measure's values, one per connection."""
        counts = {len(v) for v in values.values()}
        return cls(
            source=source,
            connections=max(counts, default=0),
            measures={name: spread(v) for name, v in values.items() if v},
        )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def spread(values: Iterable[int]) -> dict[str, int]:
    """The median (of an even count, the mean of the middle two, rounded), least and most."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("spread of no values")
    return {
        "median": round(statistics.median(ordered)),
        "min": ordered[0],
        "max": ordered[-1],
    }


def parse_smaps_rollup(text: str) -> dict[str, int]:
    """``/proc/PID/smaps_rollup``'s ``Name:  123 kB`` lines, in bytes, by name (the
    header line, the rollup's address range, is skipped)."""
    values: dict[str, int] = {}
    for line in text.splitlines():
        name, colon, rest = line.partition(":")
        fields = rest.split()
        if not colon or len(fields) != 2 or fields[1] != "kB" or not fields[0].isdigit():
            continue
        values[name.strip()] = int(fields[0]) * 1024
    return values


def not_here(host: str | None, unix_socket: str | None) -> str | None:
    """Why a server at ``host`` is not known to be on this machine, or None: a socket, a
    loopback address (``LOOPBACK``), or an address of this machine's own (one it can bind
    a socket to: an address of another machine cannot be bound)."""
    if unix_socket or (host or "localhost") in LOOPBACK:
        return None
    assert host is not None
    try:
        addresses = {info[4][0]: info[0] for info in socket.getaddrinfo(host, None)}
    except OSError as exc:  # a name that does not resolve: the connect will say so too
        return f"cannot tell whether the server is on this machine (host {host}: {exc})"
    for address, family in addresses.items():
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((address, 0))
            except OSError:
                continue
            return None
    return (
        f"the server is not on this machine (host {host} is none of its addresses): only "
        "this machine's processes can be read"
    )


def process_start_s(pid: int, proc: Path = PROC) -> float:
    """When process ``pid`` of this machine started, in seconds since the epoch (its
    ``stat``'s start time, in clock ticks since boot, plus the boot time); ``OSError``
    when there is no such process."""
    stat = (proc / str(pid) / "stat").read_text()
    # the command's name, in parentheses, may hold spaces: the fields come after its ")"
    fields = stat[stat.rindex(")") + 2 :].split()
    ticks = int(fields[19])  # field 22 of stat(5), the 20th after the name
    boot = next(
        int(line.split()[1])
        for line in (proc / "stat").read_text().splitlines()
        if line.startswith("btime ")
    )
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def not_this_process(pid: int, started_s: float, command: str, proc: Path = PROC) -> str | None:
    """Why the server's process ``pid`` (whose connection it says began at ``started_s``)
    is not this machine's process ``pid``, or None when it is: it is there, named
    ``command``, and started within ``SAME_START_S`` of that."""
    try:
        name = (proc / str(pid) / "comm").read_text().strip()
        start_s = process_start_s(pid, proc)
    except OSError:
        name, start_s = None, None
    if name != command or start_s is None or abs(start_s - started_s) > SAME_START_S:
        return (
            f"the server's process {pid} is not this machine's (another pid namespace: a "
            "container?): its processes' memory cannot be read here"
        )
    return None
