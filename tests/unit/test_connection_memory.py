"""The server's memory per connection: ``smaps_rollup``'s parsing, the summary of a
reading, the checks that a server's processes are this machine's, when the monitor
reads (at the peak), and the line the outputs show."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from dbbench.config.settings import DatabaseSettings
from dbbench.databases.postgresql_memory import BackendMemory
from dbbench.numbers import size_from_bytes
from dbbench.results.model import ConnectionMemorySummary, ServerSummary
from dbbench.scenarios.repetitions import merge_servers
from dbbench.server.connection_memory import (
    MEMORY_INTERVAL_S,
    ConnectionMemory,
    not_here,
    not_this_process,
    parse_smaps_rollup,
    process_start_s,
    spread,
)
from dbbench.server.status import ServerStatusMonitor

#: a PostgreSQL 15 backend's, read here (Linux 6.18)
ROLLUP = """\
55adc84a9000-7ffd3ba79000 ---p 00000000 00:00 0                          [rollup]
Rss:               15084 kB
Pss:                2391 kB
Pss_Dirty:          1520 kB
Pss_Anon:           1216 kB
Pss_File:            420 kB
Pss_Shmem:           755 kB
Shared_Clean:       9200 kB
Shared_Dirty:       4604 kB
Private_Clean:        40 kB
Private_Dirty:      1240 kB
Referenced:        15084 kB
Anonymous:          2560 kB
KSM:                   0 kB
SwapPss:               0 kB
Locked:                0 kB
"""


def test_smaps_rollup_is_read_in_bytes_by_name() -> None:
    values = parse_smaps_rollup(ROLLUP)
    assert values["Rss"] == 15084 * 1024
    assert values["Pss"] == 2391 * 1024
    assert values["Pss_Anon"] == 1216 * 1024
    assert values["KSM"] == 0
    assert "55adc84a9000-7ffd3ba79000 ---p 00000000 00:00 0" not in values
    assert len(values) == 15


def test_a_zombies_empty_rollup_has_no_values() -> None:
    assert parse_smaps_rollup("") == {}


def test_spread_is_the_median_least_and_most() -> None:
    assert spread([3, 1, 2]) == {"median": 2, "min": 1, "max": 3}
    assert spread([4, 1, 2, 10]) == {"median": 3, "min": 1, "max": 10}  # (2 + 4) / 2
    with pytest.raises(ValueError):
        spread([])


def test_a_reading_counts_its_connections_and_spreads_each_measure() -> None:
    sample = ConnectionMemory.of("src", {"pss": [2, 4, 3], "rss": [10, 12, 11], "anonymous": []})
    assert sample.connections == 3
    assert sample.measures == {
        "pss": {"median": 3, "min": 2, "max": 4},
        "rss": {"median": 11, "min": 10, "max": 12},
    }
    assert ConnectionMemory.of("src", {"pss": []}).connections == 0


@pytest.mark.parametrize(
    ("host", "socket", "here"),
    [
        ("127.0.0.1", None, True),
        ("localhost", None, True),
        ("::1", None, True),
        (None, None, True),
        ("127.0.0.2", None, True),  # loopback too: this machine can bind it
        ("198.51.100.7", None, False),  # TEST-NET-2: no machine's
        ("198.51.100.7", "/run/postgresql", True),  # the socket is what connects
    ],
)
def test_a_socket_or_an_address_of_this_machines_is_here(
    host: str | None, socket: str | None, here: bool
) -> None:
    reason = not_here(host, socket)
    assert (reason is None) is here
    if not here:
        assert reason == (
            f"the server is not on this machine (host {host} is none of its addresses): "
            "only this machine's processes can be read"
        )


def test_an_address_of_this_machines_own_is_here() -> None:
    # the address this machine would send from (a UDP "connect" sends nothing)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.connect(("198.51.100.7", 9))
        address = udp.getsockname()[0]
    assert not_here(address, None) is None


def test_a_process_started_now_starts_now() -> None:
    before = time.time()
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"]) as child:
        try:
            assert abs(process_start_s(child.pid) - before) < 1.5
        finally:
            child.kill()


def fake_proc(tmp_path: Path, pid: int, comm: str, ticks: int, boot: int = 1_000) -> Path:
    (tmp_path / "stat").write_text(f"cpu  1 2 3\nbtime {boot}\nprocesses 9\n")
    process = tmp_path / str(pid)
    process.mkdir()
    (process / "comm").write_text(f"{comm}\n")
    # 52 fields; the 22nd is the start time in clock ticks; the name holds a space and ")"
    fields = ["S", *["0"] * 18, str(ticks), *["0"] * 30]
    (process / "stat").write_text(f"{pid} (a b) c) " + " ".join(fields) + "\n")
    return tmp_path


def test_the_servers_process_is_this_machines_when_its_name_and_start_agree(
    tmp_path: Path,
) -> None:
    tick = os.sysconf("SC_CLK_TCK")
    proc = fake_proc(tmp_path, 42, "postgres", ticks=500 * tick)
    assert process_start_s(42, proc) == 1_500
    assert not_this_process(42, 1_501.0, "postgres", proc) is None
    others = [(42, 1_510.0, "postgres"), (42, 1_500.0, "mariadbd"), (7, 1_500.0, "postgres")]
    for pid, started_s, command in others:
        assert not_this_process(pid, started_s, command, proc) == (
            f"the server's process {pid} is not this machine's (another pid namespace: a "
            "container?): its processes' memory cannot be read here"
        )


class FakeCursor:
    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.rows = rows

    def __enter__(self) -> FakeCursor:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def execute(self, sql: str, params: Any = None) -> None:
        pass

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self.rows


class FakeConnection:
    def __init__(self, pids: list[int]) -> None:
        self.pids = pids

    def cursor(self) -> FakeCursor:
        return FakeCursor([(pid,) for pid in self.pids])


def test_backends_that_ended_since_the_list_are_skipped(tmp_path: Path) -> None:
    for pid in (11, 12):
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "smaps_rollup").write_text(ROLLUP)
    (tmp_path / "13").mkdir()
    (tmp_path / "13" / "smaps_rollup").write_text(ROLLUP.replace("2391 kB", "3391 kB"))
    reader = BackendMemory(DatabaseSettings(dialect="postgresql"), proc=tmp_path)
    sample = reader.read(FakeConnection([11, 12, 13, 14]))  # 14 has gone
    assert sample.connections == 3
    assert sample.source == "/proc/PID/smaps_rollup"
    assert sample.measures["pss"] == {"median": 2391 * 1024, "min": 2391 * 1024, "max": 3391 * 1024}
    assert sample.measures["rss"]["median"] == 15084 * 1024
    assert sample.measures["anonymous"]["median"] == 1216 * 1024


class CountingReader:
    """A memory reader whose readings find ``found`` connections, counting its reads."""

    def __init__(self, reason: str | None = None) -> None:
        self.reason = reason
        self.reads = 0
        self.found = 2

    def open(self, connection: Any) -> str | None:
        return self.reason

    def read(self, connection: Any) -> ConnectionMemory:
        self.reads += 1
        return ConnectionMemory.of("fake", {"allocated": [self.reads * 100] * self.found})


def monitor_with(reader: CountingReader) -> ServerStatusMonitor:
    monitor = ServerStatusMonitor(DatabaseSettings(), memory=reader)
    monitor._open_memory()
    return monitor


def test_the_monitor_reads_at_each_new_peak_and_at_the_same_peak_once_a_second() -> None:
    reader = CountingReader()
    monitor = monitor_with(reader)
    monitor._read_memory(3)
    monitor._read_memory(5)
    monitor._read_memory(5)  # the same peak at once: not read
    monitor._read_memory(4)  # below the peak: not read
    assert reader.reads == 2
    monitor._memory_read_s -= MEMORY_INTERVAL_S  # a second later
    monitor._read_memory(5)
    assert reader.reads == 3
    kept = monitor._memory_dict()
    assert kept is not None
    assert kept["backends"] == 5
    assert kept["measures"]["allocated"]["median"] == 300  # the latest at the peak


def test_a_later_reading_at_the_peak_that_found_fewer_connections_is_not_kept() -> None:
    reader = CountingReader()
    monitor = monitor_with(reader)
    monitor._read_memory(5)
    reader.found = 1  # a connection per operation ended between the list and its file
    monitor._memory_read_s -= MEMORY_INTERVAL_S
    monitor._read_memory(5)
    assert reader.reads == 2
    kept = monitor._memory_dict()
    assert kept is not None and kept["connections"] == 2


def test_a_reading_that_found_none_of_the_runs_connections_is_not_kept() -> None:
    reader = CountingReader()
    reader.found = 0
    monitor = monitor_with(reader)
    monitor._read_memory(3)
    assert monitor._memory_dict() == {
        "source": None,
        "connections": 0,
        "backends": None,
        "measures": {},
        "unavailable": (
            "no reading found a connection of the run's open (Threads_connected "
            "sampled every 0.1 s)"
        ),
    }


def test_a_reader_that_cannot_read_says_why_and_is_never_asked_to() -> None:
    reader = CountingReader("performance_schema is off")
    monitor = monitor_with(reader)
    monitor._read_memory(9)
    assert reader.reads == 0
    kept = monitor._memory_dict()
    assert kept is not None and kept["unavailable"] == "performance_schema is off"


def test_no_reader_no_figure() -> None:
    assert ServerStatusMonitor(DatabaseSettings())._memory_dict() is None


POSTGRESQL = {
    "source": "/proc/PID/smaps_rollup",
    "connections": 4,
    "backends": 9,
    "measures": {
        "pss": {"median": 2448896, "min": 2323456, "max": 3411968},
        "rss": {"median": 15083520, "min": 15081472, "max": 17719296},
        "anonymous": {"median": 1246208, "min": 1238016, "max": 1515520},
    },
    "unavailable": None,
}


def test_the_line_names_the_cost_its_most_and_what_was_read() -> None:
    summary = ConnectionMemorySummary.from_document(POSTGRESQL)
    assert summary.describe("client backends") == (
        "server memory per connection at the peak: PSS median 2.34 MiB (max 3.25 MiB), "
        "RSS 14.4 MiB, own (anonymous) 1.19 MiB; 4 of the run's connections read of 9 "
        "client backends open (/proc/PID/smaps_rollup)"
    )
    assert summary.median("pss") == 2448896
    assert summary.median("allocated") is None
    unavailable = ConnectionMemorySummary(unavailable="performance_schema is off")
    assert unavailable.describe() == (
        "server memory per connection at the peak: not available: performance_schema is off"
    )


def test_a_server_section_keeps_its_memory_and_an_older_one_has_none() -> None:
    server = ServerSummary.from_document({"backends_peak": 9, "connection_memory": POSTGRESQL})
    assert server.connection_memory is not None
    assert server.connection_memory.connections == 4
    assert server.to_document()["connection_memory"] == POSTGRESQL
    older = ServerSummary.from_document({"backends_peak": 9})
    assert older.connection_memory is None
    assert "connection_memory" not in older.to_document()


def test_repetitions_keep_the_reading_at_the_highest_peak() -> None:
    def part(
        backends: int | None, connections: int, unavailable: str | None = None
    ) -> ServerSummary:
        memory = {**POSTGRESQL, "backends": backends, "connections": connections}
        if unavailable:
            memory = {"unavailable": unavailable, "measures": {}}
        return ServerSummary.from_document({"connection_memory": memory})

    merged = merge_servers([part(9, 4), part(11, 3), part(11, 5), part(None, 0, "why")])
    assert merged is not None and merged.connection_memory is not None
    assert (merged.connection_memory.backends, merged.connection_memory.connections) == (11, 5)
    none_read = merge_servers([part(None, 0, "first"), part(None, 0, "second")])
    assert none_read is not None and none_read.connection_memory is not None
    assert none_read.connection_memory.unavailable == "first"


@pytest.mark.parametrize(
    ("value", "text"),
    [(512, "512 B"), (58064, "56.7 KiB"), (2448896, "2.34 MiB"), (15083520, "14.4 MiB"),
     (150 << 20, "150 MiB"), (3 << 30, "3.00 GiB"), (-2048, "-2.00 KiB"), (None, "-")],
)  # fmt: skip
def test_sizes_are_in_binary_units(value: int | None, text: str) -> None:
    assert size_from_bytes(value) == text
