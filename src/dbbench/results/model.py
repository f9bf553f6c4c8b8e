"""The result model: what a command produced, typed, in memory and as its document.

One frozen dataclass per kind of result (``RunResult`` for run and compare,
``SweepResult``, ``StaleResult``, ``Explanation``, ``DiffResult``,
``CalibrationResult``, ``RunsListing``) and per part of one (a runner, the
settings, the environment, the server...), each with the one conversion each
way to the JSON document that ``--format json``, ``--output`` and ``--save``
write: ``to_document()`` and ``from_document()``.  A live run is built into these classes
(``results.build_result``) and a file is read into the same ones
(``load_result``), so every format, ``diff`` and ``report`` read one thing
whatever its origin.

Documents are versioned by ``SCHEMA_VERSION`` and described by
``dbbench-result.schema.json`` (beside this module; ``schema/`` links to it).  A file
is untrusted input: ``read_document`` uses its text only once ``validation`` found it
a document dbbench could have written.  ``upgrade`` brings a document of an
older version to the current one, filling in what older dbbench versions did
not record (as null, or from the histograms where they were kept), so
``from_document`` reads one shape only; a settings, environment or server
section (``Section``) reads what a file lacks as None and keeps what the model
does not name, so it goes back as it was read.

A leaf: this module imports nothing of the engine (harness, runners, drivers;
of the settings only the plain ``PoolSettings`` a stale case ran with), so
reading a file costs no SQLAlchemy import, and the engine depends on it,
never the other way round.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from dbbench import safeio
from dbbench.config.settings import VARIANT_MARK, PoolSettings, split_label
from dbbench.errors import ExitStatus, Mentioning, ResultFileError
from dbbench.histogram import LatencyHistogram
from dbbench.numbers import duration_from_ns, signed_percent, size_from_bytes, us_from_ns
from dbbench.results import validation
from dbbench.stats import Speedup, Summary, summarize

if TYPE_CHECKING:
    from dbbench.significance import Comparison

#: 2 added latency histograms, the server's vendor and the sweep/stale envelopes;
#: 3 gave every document a schema_version and a complete set of fields (an older
#: file's missing ones are filled in on load); 4 added a run's repetitions
#: (``--repeat``), each with its own runners' summaries and histograms
SCHEMA_VERSION = 4
#: an open-loop run that reached less than this share of its target rate says so
RATE_SHORTFALL = 0.95
#: the statistics of a summary, in the order documents list them (``<key>_us``)
SUMMARY_KEYS = ("mean", "stddev", "min", "p50", "p90", "p95", "p99", "p999", "max")
_QUANTILE_KEYS = {"p50": 0.50, "p90": 0.90, "p95": 0.95, "p99": 0.99, "p999": 0.999}
RUN_COMMANDS = ("run", "compare")
#: commands whose documents had no schema_version before version 3
UNVERSIONED_COMMANDS = ("explain", "diff", "runs")


@dataclass(frozen=True)
class SweepCell:
    """What one (concurrency, pool_size, max_overflow) point of the grid measured."""

    concurrency: int
    pool_size: int
    #: -1 means no limit, as in SQLAlchemy
    max_overflow: int
    #: successful operations per second of wall time, all threads together;
    #: None if nothing succeeded
    ops_per_s: float | None
    p99_us: float | None
    #: all failed operations, timeouts included
    errors: int
    #: pool ``TimeoutError`` ("QueuePool limit ... reached"), counted among ``errors``
    timeouts: int
    #: operations attempted: successes + errors
    operations: int
    #: in a sweep of several variants (``--variant``, ``--target``): the one this cell
    #: measured; None otherwise
    variant: str | None = None

    @property
    def connections(self) -> float:
        """The most connections this pool may open; ``math.inf`` when overflow is unlimited."""
        return math.inf if self.max_overflow < 0 else self.pool_size + self.max_overflow

    @property
    def clean(self) -> bool:
        """Something succeeded and nothing failed: the only cells that can be recommended."""
        return self.ops_per_s is not None and self.errors == 0 and self.timeouts == 0


@dataclass(frozen=True)
class Recommendation:
    """The setting to use at one concurrency, and how it compares with the best."""

    concurrency: int
    #: the smallest clean setting within ``threshold`` of the best; None if no cell is clean
    chosen: SweepCell | None
    #: the clean cell with the highest throughput; None if no cell is clean
    best: SweepCell | None
    #: ``chosen.ops_per_s / best.ops_per_s``; None when nothing was chosen
    fraction_of_best: float | None
    #: ``RuleOfThumb.describe()`` for this concurrency
    rule_of_thumb: str
    #: whether ``chosen`` fits the rule of thumb (see ``RuleOfThumb``); False if nothing chosen
    agrees_with_rule: bool
    #: the clean settings, ``(pool_size, max_overflow)``, whose throughput does not differ
    #: from the best's beyond noise (the best's own included); empty when not tested
    within_noise: tuple[tuple[int, int], ...] = ()
    #: what noise that test covers: "between 5 repetitions", "within one run only", or
    #: "not tested" (files older than version 4)
    noise: str = "not tested"
    #: how many settings at this concurrency ran clean (0 in files older than version 4)
    clean_cells: int = 0
    #: which part of the rule ``chosen`` breaks ("pool_size 2 is below 5"); None when it
    #: agrees, when nothing was chosen, and in files that do not say
    disagreement: str | None = None
    #: in a sweep of several variants: the one this recommendation is for
    variant: str | None = None

    @property
    def none_differs(self) -> bool:
        """Every clean setting is within noise of the best, and there were several: no
        setting measurably beats the smallest."""
        return len(self.within_noise) > 1 and len(self.within_noise) == self.clean_cells

    def is_within_noise(self, cell: SweepCell) -> bool:
        return (cell.pool_size, cell.max_overflow) in self.within_noise


def _ns(value_us: float | None) -> float | None:
    return None if value_us is None else value_us * 1000.0


def _whole_ns(value_us: float | None) -> int | None:
    return None if value_us is None else round(value_us * 1000.0)


# --- pieces of a runner's result ---------------------------------------------


class Distribution:
    """A latency histogram, as recorded (live) or as a file keeps it (decoded when read).

    Immutable once built: a file's histogram is decoded at most once, the first
    time a percentile or a quantile interval is asked for.
    """

    __slots__ = ("__dict__", "_document", "_live")

    def __init__(
        self, *, live: LatencyHistogram | None = None, document: Mapping[str, Any] | None = None
    ) -> None:
        if (live is None) == (document is None):
            raise ValueError("a Distribution is a live histogram or a document, one of them")
        self._live = live
        self._document = document

    @classmethod
    def of(cls, histogram: LatencyHistogram) -> Distribution:
        return cls(live=histogram)

    @classmethod
    def from_document(cls, document: Mapping[str, Any] | None) -> Distribution | None:
        return None if document is None else cls(document=document)

    def to_document(self) -> dict[str, Any]:
        if self._live is not None:
            return self._live.to_dict()
        return dict(self._document or {})

    @property
    def count(self) -> int:
        return self._live.count if self._live is not None else (self._document or {})["count"]

    @cached_property
    def histogram(self) -> LatencyHistogram:
        if self._live is not None:
            return self._live
        return LatencyHistogram.from_dict(dict(self._document or {}))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Distribution):
            return NotImplemented
        return self.to_document() == other.to_document()

    __hash__ = None  # type: ignore[assignment]


def summary_to_document(s: Summary | None) -> dict[str, Any]:
    """Latency statistics in microseconds (null when nothing succeeded)."""
    if s is None:
        return {f"{key}_us": None for key in SUMMARY_KEYS}
    return {f"{key}_us": us_from_ns(getattr(s, f"{key}_ns")) for key in SUMMARY_KEYS}


def summary_from_document(n: int, d: Mapping[str, Any]) -> Summary | None:
    """The inverse of ``summary_to_document`` for ``n`` operations; None when none succeeded."""
    if not n or d.get("mean_us") is None:
        return None
    return Summary(
        n=n,
        min_ns=_whole_ns(d.get("min_us")),  # type: ignore[arg-type]
        mean_ns=_ns(d["mean_us"]),  # type: ignore[arg-type]
        stddev_ns=_ns(d.get("stddev_us")),  # type: ignore[arg-type]
        **{f"{key}_ns": _whole_ns(d.get(f"{key}_us")) for key in _QUANTILE_KEYS},
        max_ns=_whole_ns(d.get("max_us")),  # type: ignore[arg-type]
    )


@dataclass(frozen=True)
class PoolCounters:
    """What one pool did; every field is a count of events."""

    #: physical connections opened (``connect``)
    connects: int
    #: physical connections closed (``close`` + ``close_detached``), whatever the reason
    closes: int
    #: connections handed out by the pool (``checkout``)
    checkouts: int
    #: connections given back, counted only for a checkout counted here
    checkins: int
    #: connections declared dead or stale (``invalidate`` + ``soft_invalidate``)
    invalidations: int
    #: most connections checked out at once
    peak_checked_out: int
    # --- a pool's own statistics, where it keeps them (psycopg_pool's ``get_stats()``);
    # None for SQLAlchemy's pools, whose events give the counts above and no more
    #: checkouts that found no connection free and waited for one (``requests_queued``)
    waits: int | None = None
    #: milliseconds those checkouts waited, in all (``requests_wait_ms``)
    wait_ms: int | None = None
    #: connections the pool found broken and threw away (``connections_lost``)
    lost: int | None = None
    #: connects that failed (``connections_errors``)
    connect_errors: int | None = None

    ZERO: ClassVar[PoolCounters]

    def __add__(self, other: PoolCounters) -> PoolCounters:
        """Merge the counts of two pools (e.g. of two worker processes) by summing.

        ``peak_checked_out`` is summed too: that is an upper bound of the
        combined peak, reached only if both peaks happened at the same moment.
        """
        if not isinstance(other, PoolCounters):
            return NotImplemented
        own = {
            name: None if a is None and b is None else (a or 0) + (b or 0)
            for name in _POOL_OWN_FIELDS
            for a, b in [(getattr(self, name), getattr(other, name))]
        }
        return PoolCounters(
            **{name: getattr(self, name) + getattr(other, name) for name in _POOL_FIELDS}, **own
        )

    def __radd__(self, other: object) -> PoolCounters:
        """Lets ``sum(counters)`` start from its default 0."""
        if other == 0:
            return self
        return NotImplemented

    def to_document(self) -> dict[str, int]:
        """The counts; a pool's own statistics only where it keeps them."""
        own = {name: getattr(self, name) for name in _POOL_OWN_FIELDS}
        return {
            **{name: getattr(self, name) for name in _POOL_FIELDS},
            **{name: value for name, value in own.items() if value is not None},
        }

    @classmethod
    def from_document(cls, d: Mapping[str, Any] | None) -> PoolCounters | None:
        """The inverse of ``to_document`` (None for None); ValueError on a missing, unknown
        or non-integer key."""
        if d is None:
            return None
        missing = [name for name in _POOL_FIELDS if name not in d]
        unknown = [key for key in d if key not in _POOL_FIELDS + _POOL_OWN_FIELDS]
        if missing or unknown:
            raise ValueError(f"pool counters: missing keys {missing}, unknown keys {unknown}")
        given = (*_POOL_FIELDS, *(name for name in _POOL_OWN_FIELDS if name in d))
        for name in given:
            value = d[name]
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"pool counters: {name} = {value!r} is not a whole number")
        return cls(**{name: d[name] for name in given})


#: the counts every pool has (its events); a pool's own statistics (None where not kept)
_POOL_OWN_FIELDS = ("waits", "wait_ms", "lost", "connect_errors")
_POOL_FIELDS = tuple(
    f.name for f in dataclasses.fields(PoolCounters) if f.name not in _POOL_OWN_FIELDS
)
PoolCounters.ZERO = PoolCounters(**dict.fromkeys(_POOL_FIELDS, 0))


@dataclass(frozen=True)
class KindSpan:
    """How many errors of one kind, and when the first and last happened (s since start)."""

    count: int
    first_s: float
    last_s: float


@dataclass(frozen=True)
class TimelineSummary:
    """A runner's ``error_timeline``: when operations failed, and when they succeeded again."""

    bucket_s: float
    kinds: Mapping[str, KindSpan]
    #: (bucket start s, kind, errors) for each bucket with errors
    buckets: tuple[tuple[float, str, int], ...]
    last_error_s: float | None
    #: the first success after the last error; None when none came
    recovered_s: float | None

    def to_document(self) -> dict[str, Any]:
        return {
            "bucket_s": self.bucket_s,
            "kinds": {
                kind: {"count": s.count, "first_s": s.first_s, "last_s": s.last_s}
                for kind, s in self.kinds.items()
            },
            "buckets": [list(bucket) for bucket in self.buckets],
            "last_error_s": self.last_error_s,
            "recovered_s": self.recovered_s,
        }

    @classmethod
    def from_document(cls, d: Mapping[str, Any] | None) -> TimelineSummary | None:
        if not d:
            return None
        return cls(
            bucket_s=d["bucket_s"],
            kinds={
                k: KindSpan(s["count"], s["first_s"], s["last_s"]) for k, s in d["kinds"].items()
            },
            buckets=tuple((start, kind, count) for start, kind, count in d["buckets"]),
            last_error_s=d["last_error_s"],
            recovered_s=d["recovered_s"],
        )


@dataclass(frozen=True)
class Section:
    """A section of a document (settings, environment, server), typed: each field None
    when the file lacks it, so a file of an older dbbench reads as it is.

    ``to_document`` gives back the section as it was read, keys the model does
    not know included (a newer dbbench's, or one edited by hand),
    so a file written by another version keeps all it has; a field set in
    memory is written too.
    """

    #: the section as read
    document: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    #: fields that are sections themselves, an empty one where the file has none
    SECTIONS: ClassVar[Mapping[str, type[Section]]] = {}
    #: fields that are sections themselves, None where the file has none
    OPTIONAL_SECTIONS: ClassVar[Mapping[str, type[Section]]] = {}
    #: fields that are lists of sections (a tuple), None where the file has none
    SECTION_LISTS: ClassVar[Mapping[str, type[Section]]] = {}

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls) if f.name != "document")

    @classmethod
    def from_document(cls, d: Mapping[str, Any] | None) -> Any:
        d = copy.deepcopy(dict(d or {}))
        values = {name: d.get(name) for name in cls.names()}
        for name, kind in cls.SECTIONS.items():
            values[name] = kind.from_document(values[name])
        for name, kind in cls.OPTIONAL_SECTIONS.items():
            values[name] = kind.from_document(values[name]) if values[name] else None
        for name, kind in cls.SECTION_LISTS.items():
            items = values[name]
            values[name] = None if items is None else tuple(kind.from_document(i) for i in items)
        return cls(document=d, **values)

    @classmethod
    def of(cls, section: Section | Mapping[str, Any] | None) -> Any:
        """``section`` as this class: as it is, or read from its document."""
        return section if isinstance(section, cls) else cls.from_document(section)

    def to_document(self) -> dict[str, Any]:
        document = copy.deepcopy(dict(self.document))
        for name in self.names():
            value = getattr(self, name)
            if isinstance(value, Section):
                value = value.to_document()
                if value or name in document:
                    document[name] = value
            elif name in self.SECTION_LISTS and value is not None:
                document[name] = [item.to_document() for item in value]
            elif value is not None or name in document:
                document[name] = copy.deepcopy(value)
        return document


@dataclass(frozen=True)
class DatabaseSummary(Section):
    """The database settings a command ran with (``DatabaseSettings.public_dict()``)."""

    #: "mysql" or "postgresql"; None in files written before dbbench knew PostgreSQL,
    #: which all measured MySQL or MariaDB
    dialect: str | None = None
    host: str | None = None
    port: int | None = None
    user: str | None = None
    #: whether a password was given (the password itself is never written)
    password_set: bool | None = None
    database: str | None = None
    unix_socket: str | None = None
    connect_timeout_s: float | None = None
    read_timeout_s: float | None = None
    write_timeout_s: float | None = None
    init_command: str | None = None
    #: the ssl_* settings given, ``ssl_key_password`` as ``<hidden>``
    ssl: Mapping[str, Any] | None = None
    driver: str | None = None
    ssl_mode: str | None = None
    #: ``[database] transaction_pooling``: the endpoint pools per transaction; None in
    #: files written before dbbench knew the setting
    transaction_pooling: bool | None = None
    #: ``--driver-defaults``: the drivers kept their defaults even so
    driver_defaults: bool | None = None
    #: ``[database] autocommit``: every connection in autocommit; None in files written
    #: before dbbench knew the setting, whose connections all had it off
    autocommit: bool | None = None
    #: how the statements went (``[benchmark] prepared``'s variants): true as server-side
    #: prepared statements, false as plain text never prepared; None: the driver's default
    #: (psycopg's prepares a statement on its fifth execution on a connection), and in
    #: files written before dbbench knew the setting
    prepared: bool | None = None

    @property
    def where(self) -> str | None:
        """The server's address: its socket, or host:port; None when the file has neither."""
        if self.unix_socket or self.host is None:
            return self.unix_socket
        return self.host if self.port is None else f"{self.host}:{self.port}"

    def login(self, missing: str) -> str:
        """``user@where``, each part ``missing`` when the file lacks it."""
        return f"{self.user or missing}@{self.where or missing}"


@dataclass(frozen=True)
class BenchmarkSummary(Section):
    """The ``[benchmark]`` settings a run recorded; a field is None when its file lacks it.

    Files of older dbbench versions lack some (``workload``, ``processes``...):
    each reader decides what an absent value means (one process, "not recorded").
    """

    #: measured operations per runner; None for a timed run (``duration_s``)
    iterations: int | None = None
    duration_s: float | None = None
    #: warm-up operations per runner
    warmup: int | None = None
    query: str | None = None
    #: worker threads, across all processes
    concurrency: int | None = None
    processes: int | None = None
    #: open loop: the target rate, operations per second
    rate_per_s: float | None = None
    max_errors: int | None = None
    #: "read", or the write workload's name
    workload: str | None = None
    scratch_table: str | None = None
    allow_large_results: bool | None = None
    #: ``--repeat``: repetitions of the whole run (1 in files older than version 4)
    repeat: int | None = None
    #: ``--script``: each script's ``path`` and ``weight``; None for a run of the query
    scripts: list[dict[str, Any]] | None = None
    #: a built-in workload on the data set: the rows it read ids from; None otherwise
    data_rows: int | None = None
    #: ``--prepared``: every runner measured plain and prepared, as the variants ``plain``
    #: and ``prepared``; None in files written before dbbench knew the setting (plain)
    prepared: bool | None = None

    @property
    def repeated(self) -> str:
        """ " × 5 repetitions" after a run's length, or nothing for one."""
        return f" × {self.repeat} repetitions" if self.repeat and self.repeat > 1 else ""


@dataclass(frozen=True)
class PoolSummary(Section):
    """The ``[pool]`` settings a run recorded (``PoolSettings``); None where the file lacks one."""

    pool_size: int | None = None
    max_overflow: int | None = None
    pool_timeout_s: float | None = None
    pool_recycle_s: float | None = None
    pool_pre_ping: bool | None = None
    pool_use_lifo: bool | None = None
    pool_reset_on_return: str | None = None


@dataclass(frozen=True)
class StaleArguments(Section):
    """``dbbench stale``'s own arguments (``stale.stale_settings``)."""

    wait_timeout_s: int | None = None
    idle_s: float | None = None
    pool_size: int | None = None
    operations: int | None = None
    protections: list[str] | None = None


@dataclass(frozen=True)
class VariantSummary(Section):
    """One variant of a run of several (``--variant NAME=FILE``): its name, its file, and
    the public settings in which it differs from the run's (``database``, ``pool``: only
    those keys; never a password, at most whether one is set)."""

    name: str | None = None
    #: its settings file; None for a target (``--target NAME=URL``)
    path: str | None = None
    #: a target's URL, without its password; None for a variant of a file
    url: str | None = None
    database: DatabaseSummary = field(default_factory=DatabaseSummary)
    pool: PoolSummary = field(default_factory=PoolSummary)

    SECTIONS: ClassVar[Mapping[str, type[Section]]] = {
        "database": DatabaseSummary,
        "pool": PoolSummary,
    }

    @property
    def kind(self) -> str:
        """What the tables call it: "target" (given by a URL) or "variant" (by a file)."""
        return "target" if self.url is not None and self.path is None else "variant"

    def describe(self, server: str | None = None) -> str:
        """e.g. "new (new.toml): driver mysqlclient, pool_pre_ping true", for the tables;
        a target: "pg (postgresql://root@h:5432/test, PostgreSQL 15.20): driver psycopg",
        with ``server``, the version its server reported.  A target's differences leave
        out what its URL says."""
        where = ", ".join(filter(None, (self.path or self.url, server)))
        changes = [
            f"{key} {_words(value)}"
            for section in self.SECTIONS
            for key, value in getattr(self, section).to_document().items()
            if self.kind == "variant" or key not in _URL_SAYS
        ]
        named = f"{self.name} ({where})" if where else str(self.name)  # none: --prepared's
        return f"{named}: {', '.join(changes) or 'as the run'}"


#: what a target's URL says, which its line shows in the URL and not again
_URL_SAYS = frozenset({"dialect", "host", "port", "unix_socket", "database", "user"})


def _words(value: Any) -> str:
    """A setting's value as a table line says it: true, 5, mysqlclient, none."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k} {_words(v)}" for k, v in value.items()) + "}"
    return str(value)


@dataclass(frozen=True)
class SettingsSummary(Section):
    """The settings a command ran with (``Settings.public_dict()``: never the password)."""

    config_path: str | None = None
    database: DatabaseSummary = field(default_factory=DatabaseSummary)
    benchmark: BenchmarkSummary = field(default_factory=BenchmarkSummary)
    pool: PoolSummary = field(default_factory=PoolSummary)
    #: a sweep's: the lists swept (concurrency, pool_size, max_overflow)
    grid: Mapping[str, list[int]] | None = None
    #: stale's: its own arguments
    stale: StaleArguments | None = None
    #: a run of several variants: each, in the order given (their runners are labelled
    #: ``RUNNER@NAME``); None: a run of these settings alone
    variants: tuple[VariantSummary, ...] | None = None

    SECTIONS: ClassVar[Mapping[str, type[Section]]] = {
        "database": DatabaseSummary,
        "benchmark": BenchmarkSummary,
        "pool": PoolSummary,
    }
    OPTIONAL_SECTIONS: ClassVar[Mapping[str, type[Section]]] = {"stale": StaleArguments}
    SECTION_LISTS: ClassVar[Mapping[str, type[Section]]] = {"variants": VariantSummary}

    def variant(self, name: str) -> SettingsSummary:
        """The settings variant ``name`` ran with: these, with its differences laid over
        them, and no variants; ``KeyError`` for a name the run did not have."""
        found, document = _without_variants(self, name)
        for section in VariantSummary.SECTIONS:
            document[section] = {**document[section], **getattr(found, section).to_document()}
        return SettingsSummary.from_document(document)


def _without_variants(section: Any, name: str) -> tuple[Any, dict[str, Any]]:
    """``section``'s entry of variant ``name`` (``KeyError`` if none), and its document
    without any variants."""
    found = next((v for v in section.variants or () if v.name == name), None)
    if found is None:
        raise KeyError(name)
    document = section.to_document()
    document.pop("variants")
    return found, document


@dataclass(frozen=True)
class VariantEnvironment(Section):
    """The server one variant measured, and its driver (a key of ``Environment.drivers``)."""

    name: str | None = None
    server_version: str | None = None
    #: "MariaDB" or "MySQL"
    server_vendor: str | None = None
    #: as ``[database] driver`` names it
    driver: str | None = None


@dataclass(frozen=True)
class Environment(Section):
    """Where a command ran: package versions, the server's version, the machine."""

    #: the version of dbbench that wrote the result
    dbbench: str | None = None
    python: str | None = None
    python_implementation: str | None = None
    pymysql: str | None = None
    mysqlclient: str | None = None
    mysql_connector: str | None = None
    sqlalchemy: str | None = None
    server_version: str | None = None
    #: "MariaDB" or "MySQL"; None in files of schema version 1
    server_vendor: str | None = None
    #: the system and its release (``Linux 6.1.0``)
    os: str | None = None
    machine: str | None = None
    #: the client machine's host name (None in files older than version 4)
    host: str | None = None
    cpu_count: int | None = None
    #: the drivers in play, each with its description (None: one driver, not named)
    drivers: Mapping[str, str] | None = None
    #: a run of several variants: the server and driver each measured (None: one run)
    variants: tuple[VariantEnvironment, ...] | None = None

    SECTION_LISTS: ClassVar[Mapping[str, type[Section]]] = {"variants": VariantEnvironment}

    def variant(self, name: str) -> Environment:
        """Where variant ``name`` ran: this, with its server's version and its driver alone
        (and no variants); ``KeyError`` for a name the run did not have.  A file that
        recorded no variants' environments (``variants`` absent): the run's, for each."""
        if self.variants is None:
            return self
        found, document = _without_variants(self, name)
        document["server_version"] = found.server_version
        document["server_vendor"] = found.server_vendor
        drivers = self.drivers or {}
        if found.driver is not None and found.driver in drivers:
            document["drivers"] = {found.driver: drivers[found.driver]}
        return Environment.from_document(document)


@dataclass(frozen=True)
class CrossCheck(Section):
    """The server's count of new connections against dbbench's own (its monitor's included)."""

    server_connections: int | None = None
    dbbench_connections: int | None = None
    #: connections each runner opened
    by_runner: Mapping[str, int] | None = None
    matches: bool | None = None


@dataclass(frozen=True)
class ConnectionMemorySummary(Section):
    """The server's memory per connection of the run's, read at its peak
    (``server.connection_memory.ConnectionMemory``), or why it could not be read."""

    #: "/proc/PID/smaps_rollup" (PostgreSQL's backends) or "performance_schema" (MySQL's
    #: threads); None when not available
    source: str | None = None
    #: the run's connections read
    connections: int | None = None
    #: the open connections the monitor counted (all clients') when they were read
    backends: int | None = None
    #: measure ("pss", "rss", "anonymous"; "allocated") -> {"median", "min", "max"}, bytes
    measures: Mapping[str, Mapping[str, int]] | None = None
    #: why it is not available, when it is not
    unavailable: str | None = None

    #: each measure's name in words, in the order shown
    WORDS: ClassVar[Mapping[str, str]] = {
        "pss": "PSS",
        "rss": "RSS",
        "anonymous": "own (anonymous)",
        "allocated": "allocated",
    }

    def median(self, measure: str) -> int | None:
        """``measure``'s median in bytes, None when not read."""
        return (self.measures or {}).get(measure, {}).get("median")

    def describe(self, gauge: str = "connections") -> str:
        """One line: "server memory per connection at the peak: PSS median 2.34 MiB (max
        3.25 MiB), RSS 14.4 MiB, own (anonymous) 1.19 MiB; 4 of the run's connections
        read of 9 backends open (/proc/PID/smaps_rollup)", or why it is not available."""
        head = "server memory per connection at the peak: "
        if self.unavailable or not self.measures:
            return head + f"not available: {self.unavailable or 'not read'}"
        parts = []
        for name, words in self.WORDS.items():
            spread = self.measures.get(name)
            if not spread:
                continue
            text = f"{words} {size_from_bytes(spread.get('median'))}"
            if not parts:  # the first, the cost: its median and its most
                text = f"{words} median {size_from_bytes(spread.get('median'))}"
                text += f" (max {size_from_bytes(spread.get('max'))})"
            parts.append(text)
        read = f"{self.connections} of the run's connections read"
        if self.backends is not None:
            read += f" of {self.backends} {gauge} open"
        return head + ", ".join(parts) + f"; {read} ({self.source})"


class ServerGauge(NamedTuple):
    """The server's count of open connections, as its monitor read it, in its own words."""

    #: "Threads_connected" (MySQL) or "backends" (PostgreSQL's client backends)
    name: str
    before: int | None
    peak: int | None
    #: the counter of new connections the cross-check compares: "Connections" or "sessions"
    counter: str
    #: where the monitor read them
    source: str


@dataclass(frozen=True)
class PooledSummary(Section):
    """One pool of a server-side pooler a target went through (``--pooler``): what the
    pooler's console said of it during the run (``databases.pgbouncer_monitor``)."""

    #: the target (variant) that connected through it
    target: str | None = None
    #: the runner whose own pool of the target this was ("raw", "pool/psycopg2"): each
    #: runner has its own (``scenarios.pooler``); None in a file of an older dbbench, whose
    #: pools were the target's, every runner's together
    runner: str | None = None
    #: the pooler's database alias, and its pool mode (session, transaction)
    database: str | None = None
    pool_mode: str | None = None
    #: at most, in the samples: clients linked or waiting, clients waiting, the pool's
    #: server connections, those linked to a client
    peak_clients: int | None = None
    peak_waiting: int | None = None
    peak_servers: int | None = None
    peak_active_servers: int | None = None
    #: the pool's server connections once the run was over (kept for the next clients)
    servers_after: int | None = None
    #: after - before of SHOW STATS: transactions and queries pooled, the clients' wait
    #: for a server connection summed (µs), its mean per assignment (PgBouncer 1.23+), the
    #: mean time a transaction held its server connection (µs)
    transactions: int | None = None
    queries: int | None = None
    wait_us: int | None = None
    mean_wait_us: float | None = None
    mean_transaction_us: float | None = None


@dataclass(frozen=True)
class PoolerSummary(Section):
    """What the server-side pooler saw (``--pooler``): each pool a target went through."""

    kind: str | None = None
    version: str | None = None
    samples: int | None = None
    complete: bool | None = None
    error: str | None = None
    pools: tuple[PooledSummary, ...] | None = None

    SECTION_LISTS: ClassVar[Mapping[str, type[Section]]] = {"pools": PooledSummary}

    def pool_of(self, target: str, runner: str | None = None) -> PooledSummary | None:
        return next(
            (p for p in self.pools or () if p.target == target and p.runner == runner), None
        )


@dataclass(frozen=True)
class ServerSummary(Section):
    """What the server saw during a run (``ServerActivity``, or PostgreSQL's
    ``PostgresActivity``) and the cross-check.  A MySQL file has ``threads_connected_*``,
    a PostgreSQL one ``backends_*`` and the rest of pg_stat_database's reading; ``gauge``
    says which in either's words."""

    #: after - before of each server counter (``Connections``..., ``sessions``...); None
    #: when unknown
    deltas: Mapping[str, int] | None = None
    threads_connected_before: int | None = None
    threads_connected_peak: int | None = None
    samples: int | None = None
    max_connections: int | None = None
    #: the monitor's own connections (counted by the server too)
    monitor_connections: int | None = None
    #: False when the monitor lost its connection (``error`` says why)
    complete: bool | None = None
    error: str | None = None
    #: None when the run recorded none
    cross_check: CrossCheck | None = None
    #: PostgreSQL: client backends of the whole server (pg_stat_activity) first and at most
    backends_before: int | None = None
    backends_peak: int | None = None
    #: PostgreSQL: of max_connections, the slots only a superuser may take
    superuser_reserved_connections: int | None = None
    #: PostgreSQL: pg_stat_database.numbackends of the run's database, before and after
    numbackends_before: int | None = None
    numbackends_after: int | None = None
    #: PostgreSQL: False when backends begun during the run were still there at the
    #: after-read, so that their statistics may not be in the counters yet
    stats_settled: bool | None = None
    #: ``--pooler``: what the server-side pooler in front of the server saw
    pooler: PoolerSummary | None = None
    #: the server's memory per connection at the peak, or why not available; None in
    #: files written before dbbench read it
    connection_memory: ConnectionMemorySummary | None = None

    OPTIONAL_SECTIONS: ClassVar[Mapping[str, type[Section]]] = {
        "cross_check": CrossCheck,
        "pooler": PoolerSummary,
        "connection_memory": ConnectionMemorySummary,
    }

    def describe_memory(self) -> str | None:
        """The memory per connection at the peak in a line (``ConnectionMemorySummary``),
        in the gauge's words; None when the run did not read it."""
        if self.connection_memory is None:
            return None
        words = "client backends" if self.gauge.name == "backends" else "connections"
        return self.connection_memory.describe(words)

    @property
    def gauge(self) -> ServerGauge:
        if self.backends_before is not None or self.backends_peak is not None:
            return ServerGauge(
                "backends",
                self.backends_before,
                self.backends_peak,
                "sessions",
                "pg_stat_database and pg_stat_activity",
            )
        return ServerGauge(
            "Threads_connected",
            self.threads_connected_before,
            self.threads_connected_peak,
            "Connections",
            "SHOW GLOBAL STATUS",
        )


@dataclass(frozen=True)
class Scratch:
    """A write workload's scratch table: its name, rows counted before the drop, dropped?"""

    table: str
    database: str
    rows: int | None
    dropped: bool

    def to_document(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_document(cls, d: Mapping[str, Any] | None) -> Scratch | None:
        return None if d is None else cls(d["table"], d["database"], d["rows"], d["dropped"])


# --- a runner, a run ---------------------------------------------------------


@dataclass(frozen=True)
class StatementSummary:
    """One statement of a script, as a runner ran it (pgbench's ``-r``): where it stands
    in its file, its text, how often it succeeded (``n``) and failed (``errors``), as a
    runner's ``n`` and ``errors`` count operations, and the latency of its executions
    that succeeded (each with its fetch), None when none did."""

    line: int
    sql: str
    n: int
    errors: int
    summary: Summary | None = None
    latency: Distribution | None = field(default=None, repr=False)

    def to_document(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "sql": self.sql,
            "n": self.n,
            "errors": self.errors,
            "mean_us": us_from_ns(self.summary.mean_ns) if self.summary else None,
            "p50_us": us_from_ns(self.summary.p50_ns) if self.summary else None,
            "p99_us": us_from_ns(self.summary.p99_ns) if self.summary else None,
            "histogram": self.latency.to_document() if self.latency else None,
        }

    @classmethod
    def from_document(cls, d: Mapping[str, Any]) -> StatementSummary:
        latency = Distribution.from_document(d.get("histogram"))
        summary = summarize(latency.histogram) if latency and latency.count else None
        return cls(d["line"], d["sql"], d["n"], d["errors"], summary, latency)


@dataclass(frozen=True)
class ScriptSummary:
    """One script of a run of scripts, as a runner ran it: its file and weight, the
    measured operations that picked it (its share), the think time they slept
    (``\\sleep``), and each statement."""

    script: str
    weight: int
    operations: int
    think_s: float
    statements: tuple[StatementSummary, ...]

    def to_document(self) -> dict[str, Any]:
        return {
            "script": self.script,
            "weight": self.weight,
            "operations": self.operations,
            "think_s": self.think_s,
            "statements": [s.to_document() for s in self.statements],
        }

    @classmethod
    def from_document(cls, d: Mapping[str, Any]) -> ScriptSummary:
        statements = tuple(StatementSummary.from_document(s) for s in d["statements"])
        return cls(d["script"], d["weight"], d["operations"], d["think_s"], statements)


@dataclass(frozen=True)
class RunnerResult:
    """One runner's measured operations in one run."""

    runner: str
    #: None when no operation succeeded
    summary: Summary | None
    #: time to get a connection from the pool (pool runners), apart from the query
    checkout: Summary | None
    errors_by_kind: Mapping[str, int]
    warmup_errors: int
    #: ``open()`` plus the first operation, nanoseconds
    first_op_ns: int | None
    #: wall time this runner was measured, seconds (its turns added up)
    measured_s: float
    pool: PoolCounters | None = None
    #: physical connections opened, cold start and warm-up included: attempts, for a
    #: runner that counts them (raw, psycopg-pool), of which ``connects_failed`` failed
    connections_opened: int = 0
    #: open loop: the target rate, operations per second
    target_rate_per_s: float | None = None
    #: when operations failed and when they succeeded again; None when none failed
    error_timeline: TimelineSummary | None = None
    #: the distributions themselves: percentiles can be recomputed and runs merged
    latency: Distribution | None = field(default=None, repr=False)
    checkout_latency: Distribution | None = field(default=None, repr=False)
    #: of ``connections_opened``, the connects that failed (a server or pooler gone)
    connects_failed: int = 0
    #: a run of scripts (``--script``): each script's share and statements; None otherwise
    scripts: tuple[ScriptSummary, ...] | None = None

    @property
    def connections_made(self) -> int:
        """The connections this runner opened that were made (its connects that succeeded)."""
        return max(0, self.connections_opened - self.connects_failed)

    @property
    def n(self) -> int:
        return self.summary.n if self.summary else 0

    @property
    def errors(self) -> int:
        return sum(self.errors_by_kind.values())

    @property
    def attempted(self) -> int:
        return self.n + self.errors

    @property
    def timeouts(self) -> int:
        """Pool checkouts that gave up waiting (SQLAlchemy's ``TimeoutError``)."""
        return self.errors_by_kind.get("TimeoutError", 0)

    @property
    def ops_per_s(self) -> float | None:
        """Successful operations per second of measured wall time, all workers together."""
        if not self.summary or self.measured_s <= 0:
            return None
        return self.summary.n / self.measured_s

    @property
    def achieved_rate_per_s(self) -> float | None:
        """Operations attempted per second of measured wall time."""
        return self.attempted / self.measured_s if self.measured_s > 0 else None

    @property
    def rate_shortfall(self) -> bool:
        """An open loop that attempted operations below RATE_SHORTFALL of its target rate.

        A runner that attempted none (a run stopped before its turn) fell short of
        nothing: it did not run.
        """
        achieved = self.achieved_rate_per_s
        return bool(self.target_rate_per_s and self.attempted) and (
            achieved is None or achieved < RATE_SHORTFALL * self.target_rate_per_s
        )

    def to_document(self) -> dict[str, Any]:
        timeline = self.error_timeline
        return {
            "runner": self.runner,
            "n": self.n,
            "errors": self.errors,
            "errors_by_kind": dict(self.errors_by_kind),
            "error_timeline": timeline.to_document() if timeline else None,
            "warmup_errors": self.warmup_errors,
            **summary_to_document(self.summary),
            "ops_per_s": self.ops_per_s,
            "measured_s": self.measured_s,
            "first_op_us": us_from_ns(self.first_op_ns),
            "target_rate_per_s": self.target_rate_per_s,
            "achieved_rate_per_s": self.achieved_rate_per_s if self.target_rate_per_s else None,
            "checkout": summary_to_document(self.checkout) if self.checkout else None,
            "pool": self.pool.to_document() if self.pool else None,
            "connections_opened": self.connections_opened,
            **({"connects_failed": self.connects_failed} if self.connects_failed else {}),
            "histograms": {
                "latency": self.latency.to_document() if self.latency else None,
                "checkout": self.checkout_latency.to_document() if self.checkout_latency else None,
            },
            **(
                {"scripts": [s.to_document() for s in self.scripts]}
                if self.scripts is not None
                else {}
            ),
        }

    @classmethod
    def from_document(cls, d: Mapping[str, Any]) -> RunnerResult:
        histograms = d["histograms"]
        checkout = d["checkout"]
        checkout_histogram = Distribution.from_document(histograms["checkout"])
        return cls(
            runner=d["runner"],
            summary=summary_from_document(d["n"], d),
            checkout=(
                None
                if checkout is None
                else summary_from_document(
                    checkout_histogram.count if checkout_histogram else d["n"], checkout
                )
            ),
            errors_by_kind=dict(d["errors_by_kind"]),
            warmup_errors=d["warmup_errors"],
            first_op_ns=_whole_ns(d["first_op_us"]),
            measured_s=d["measured_s"],
            pool=PoolCounters.from_document(d["pool"]),
            connections_opened=d["connections_opened"],
            connects_failed=d.get("connects_failed", 0),
            target_rate_per_s=d.get("target_rate_per_s"),
            error_timeline=TimelineSummary.from_document(d.get("error_timeline")),
            latency=Distribution.from_document(histograms["latency"]),
            checkout_latency=checkout_histogram,
            scripts=(
                None
                if d.get("scripts") is None
                else tuple(ScriptSummary.from_document(s) for s in d["scripts"])
            ),
        )


@dataclass(frozen=True)
class SpeedupResult:
    runner: str
    baseline: str
    speedup: Speedup

    def to_document(self) -> dict[str, Any]:
        return {
            "runner": self.runner,
            "baseline": self.baseline,
            "ratio": self.speedup.ratio,
            "ci_low": self.speedup.ci_low,
            "ci_high": self.speedup.ci_high,
            "confidence": self.speedup.confidence,
            "repetitions": self.speedup.repetitions,
        }

    @classmethod
    def from_document(cls, d: Mapping[str, Any]) -> SpeedupResult:
        speedup = Speedup(d["ratio"], d["ci_low"], d["ci_high"], d["confidence"], d["repetitions"])
        return cls(d["runner"], d["baseline"], speedup)


@dataclass(frozen=True)
class ProjectedRunner:
    """One runner's median moved onto a network (``dbbench run --rtt``)."""

    runner: str
    #: as measured here
    median_ns: int
    #: per operation, counted on the wire before the run (TCP's handshake included)
    round_trips: int
    #: ``median_ns + round_trips × RTT``
    projected_median_ns: int

    def to_document(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_document(cls, d: Mapping[str, Any]) -> ProjectedRunner:
        return cls(d["runner"], d["median_ns"], d["round_trips"], d["projected_median_ns"])


@dataclass(frozen=True)
class RunProjection:
    """``dbbench run --rtt``: each counted runner's median projected onto a network."""

    rtt_s: float
    runners: tuple[ProjectedRunner, ...]

    def to_document(self) -> dict[str, Any]:
        return {"rtt_s": self.rtt_s, "runners": [row.to_document() for row in self.runners]}

    @classmethod
    def from_document(cls, d: Mapping[str, Any] | None) -> RunProjection | None:
        if d is None:
            return None
        return cls(d["rtt_s"], tuple(ProjectedRunner.from_document(r) for r in d["runners"]))

    def describe(self) -> str:
        return describe_run_projection(self.runners, self.rtt_s)


def describe_run_projection(rows: Sequence[ProjectedRunner], rtt_s: float) -> str:
    """e.g. "at RTT 1 ms (median + round trips × RTT): raw 0.35 ms + 6 × 1 ms = 6.35 ms; ..."."""
    rtt = duration_from_ns(rtt_s * 1e9)
    parts = [
        f"{row.runner} {duration_from_ns(row.median_ns)} + {row.round_trips} × {rtt}"
        f" = {duration_from_ns(row.projected_median_ns)}"
        for row in rows
    ]
    return f"projected at RTT {rtt} (median + round trips × RTT): " + "; ".join(parts)


@dataclass(frozen=True)
class Repetition:
    """One of a run's ``--repeat`` repetitions: every runner opened afresh (new runners,
    pools and, with ``--processes``, processes) and measured, in turns, as a run is."""

    #: counted from 1
    number: int
    runners: list[RunnerResult]
    complete: bool
    started_at: str | None
    finished_at: str | None

    def runner(self, name: str) -> RunnerResult | None:
        return next((r for r in self.runners if r.runner == name), None)

    def to_document(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "complete": self.complete,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "results": [r.to_document() for r in self.runners],
        }

    @classmethod
    def from_document(cls, d: Mapping[str, Any]) -> Repetition:
        return cls(
            number=d["number"],
            runners=[RunnerResult.from_document(r) for r in d["results"]],
            complete=d["complete"],
            started_at=d["started_at"],
            finished_at=d["finished_at"],
        )


@dataclass(frozen=True)
class WorkerRunner:
    """One runner as one process on a cluster's worker measured it: its own histogram,
    which the run's (``RunResult.runners``) is the exact sum of, with the other workers'."""

    runner: str
    n: int
    errors: int
    measured_s: float
    latency: Distribution | None = field(default=None, repr=False)

    @property
    def ops_per_s(self) -> float | None:
        return self.n / self.measured_s if self.measured_s > 0 else None

    def to_document(self) -> dict[str, Any]:
        return {
            "runner": self.runner,
            "n": self.n,
            "errors": self.errors,
            "measured_s": self.measured_s,
            "ops_per_s": self.ops_per_s,
            "histogram": self.latency.to_document() if self.latency else None,
        }

    @classmethod
    def from_document(cls, d: Mapping[str, Any]) -> WorkerRunner:
        return cls(
            d["runner"],
            d["n"],
            d["errors"],
            d["measured_s"],
            Distribution.from_document(d.get("histogram")),
        )


@dataclass(frozen=True)
class WorkerSummary:
    """One process of a run on a Dask cluster (``--cluster``): the worker and host it ran
    on, how it ended, and what it measured (a lost one's: by its last checkpoint)."""

    process: int
    worker: str
    host: str
    address: str
    #: finished, stopped, lost or failed
    status: str
    runners: tuple[WorkerRunner, ...]
    #: when it started measuring, by its own clock; when its loss was seen, by ours
    started_at: str | None = None
    lost_at: str | None = None
    failure: str | None = None

    @property
    def operations(self) -> int:
        return sum(r.n for r in self.runners)

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.runners)

    def to_document(self) -> dict[str, Any]:
        return {
            "process": self.process,
            "worker": self.worker,
            "host": self.host,
            "address": self.address,
            "status": self.status,
            "operations": self.operations,
            "errors": self.errors,
            "started_at": self.started_at,
            "lost_at": self.lost_at,
            "failure": self.failure,
            "results": [r.to_document() for r in self.runners],
        }

    @classmethod
    def from_document(cls, d: Mapping[str, Any]) -> WorkerSummary:
        return cls(
            process=d["process"],
            worker=d["worker"],
            host=d["host"],
            address=d["address"],
            status=d["status"],
            runners=tuple(WorkerRunner.from_document(r) for r in d["results"]),
            started_at=d.get("started_at"),
            lost_at=d.get("lost_at"),
            failure=d.get("failure"),
        )


@dataclass(frozen=True)
class ClusterSummary:
    """A run on a Dask cluster: its scheduler, how far apart its processes started
    measuring, and each one's worker and figures."""

    scheduler: str
    #: the spread of the processes' starts of the measuring, by their own clocks
    start_skew_s: float | None
    workers: tuple[WorkerSummary, ...]

    @property
    def lost(self) -> tuple[WorkerSummary, ...]:
        return tuple(w for w in self.workers if w.status == "lost")

    def to_document(self) -> dict[str, Any]:
        return {
            "scheduler": self.scheduler,
            "start_skew_s": self.start_skew_s,
            "workers": [w.to_document() for w in self.workers],
        }

    @classmethod
    def from_document(cls, d: Mapping[str, Any] | None) -> ClusterSummary | None:
        if d is None:
            return None
        return cls(
            d["scheduler"],
            d["start_skew_s"],
            tuple(WorkerSummary.from_document(w) for w in d["workers"]),
        )


@dataclass(frozen=True)
class RunResult:
    """A ``run`` or ``compare``: every runner measured, their speedups, what was noticed.

    With ``--repeat K`` (K >= 2) ``runners`` holds each runner's repetitions merged
    (their histograms added, exactly) and ``repetitions`` each one apart; with one
    repetition ``repetitions`` is empty: the run is its own only repetition.
    """

    command: str
    settings: SettingsSummary
    environment: Environment
    runners: list[RunnerResult]
    speedups: list[SpeedupResult]
    complete: bool
    started_at: str | None
    finished_at: str | None
    #: why the run stopped early (``[benchmark] max_errors``), when it did; a ``Mentioning``
    #: when the settings it names are marked (live, or read from a file)
    stopped: str | None = None
    #: the pool's settings in words, when a pool runner took part (None in older files)
    pool_description: str | None = None
    #: findings about known costs in these settings, in plain language, naming settings as
    #: the settings file does (``Mentioning``: the command line says its flags)
    notes: list[str] = field(default_factory=list)
    #: what the server saw, and the cross-check
    server: ServerSummary | None = None
    #: a write workload's scratch table
    scratch: Scratch | None = None
    #: ``--rtt``: each counted runner's median projected onto a network
    projection: RunProjection | None = None
    #: ``--repeat K``, K >= 2: each repetition's runners; empty with one repetition
    repetitions: tuple[Repetition, ...] = ()
    #: ``--cluster``: the scheduler, and each process's worker and figures
    cluster: ClusterSummary | None = None
    #: the version of the file this was read from, when older than this dbbench's
    upgraded_from: int | None = None
    schema_version: int = field(default=SCHEMA_VERSION)

    def __post_init__(self) -> None:
        # the sections as given (a public_dict(), capture_environment()), typed
        object.__setattr__(self, "settings", SettingsSummary.of(self.settings))
        object.__setattr__(self, "environment", Environment.of(self.environment))
        if self.server is not None:
            object.__setattr__(self, "server", ServerSummary.of(self.server))

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.runners)

    @property
    def exit_status(self) -> ExitStatus:
        """Stopped by --max-errors or operations failed: 3; a cluster's worker lost: 5;
        interrupted: 130; else 0."""
        if self.cluster is not None and self.cluster.lost:
            return ExitStatus.WORKER_LOST
        if self.stopped:
            return ExitStatus.RUN_ERRORS
        if not self.complete:
            return ExitStatus.INTERRUPTED
        return ExitStatus.RUN_ERRORS if self.errors else ExitStatus.SUCCESS

    def runner(self, name: str) -> RunnerResult | None:
        return next((r for r in self.runners if r.runner == name), None)

    def per_repetition(self, name: str) -> list[RunnerResult]:
        """Runner ``name`` in each repetition it ran in, in order; empty with one repetition."""
        found = (repetition.runner(name) for repetition in self.repetitions)
        return [r for r in found if r is not None]

    def target_server(self, variant: VariantSummary) -> str | None:
        """A target's server as it reported itself; None for a variant (the run's server
        line names the first) and where the file did not record it."""
        if variant.kind != "target" or variant.name is None:
            return None
        try:
            return self.environment.variant(variant.name).server_version
        except KeyError:
            return None

    @property
    def variant_names(self) -> tuple[str, ...]:
        """The variants of a run of several (``--variant``), in the order given; empty for a
        run of one configuration."""
        return tuple(v.name for v in self.settings.variants or () if v.name is not None)

    def variant_view(self, name: str) -> RunResult:
        """Variant ``name`` of a run of several as a run of its own: its runners alone,
        named without ``@NAME`` (``pool@new`` -> ``pool``), merged and in each repetition;
        its speedups (each against raw of the same variant); the settings and environment it
        ran with (``SettingsSummary.variant``, ``Environment.variant``); the notes that
        concern no other variant.  The server's counters, the whole run's, are left out.
        Two views of one run compare as two runs do (``diffing``).  ``KeyError`` for a name
        the run did not have."""
        settings = self.settings.variant(name)
        pool = settings.pool.to_document()
        others = [other for other in self.variant_names if other != name]
        return dataclasses.replace(
            self,
            settings=settings,
            environment=self.environment.variant(name),
            runners=_of_variant(self.runners, name),
            speedups=[
                SpeedupResult(_unlabelled(s.runner), _unlabelled(s.baseline), s.speedup)
                for s in self.speedups
                if split_label(s.runner)[1] == name
            ],
            repetitions=tuple(
                dataclasses.replace(r, runners=_of_variant(r.runners, name))
                for r in self.repetitions
            ),
            notes=[
                _without_variant(_note_of(note, name), name)
                for note in self.notes
                if _concerns(note, name)
                and not any(_variant_pattern(other).search(note) for other in others)
            ],
            stopped=_without_variant(self.stopped, name) if self.stopped else self.stopped,
            server=None,
            pool_description=(
                PoolSettings(**{k: v for k, v in pool.items() if k in _POOL_SETTINGS}).describe()
                if self.pool_description
                else None
            ),
        )

    def to_document(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            **({"upgraded_from": self.upgraded_from} if self.upgraded_from else {}),
            "command": self.command,
            "complete": self.complete,
            "stopped": self.stopped,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "settings": self.settings.to_document(),
            "environment": self.environment.to_document(),
            "results": [r.to_document() for r in self.runners],
            "speedups": [s.to_document() for s in self.speedups],
            "server": self.server.to_document() if self.server is not None else None,
            "notes": list(self.notes),
            "repetitions": [r.to_document() for r in self.repetitions],
            # each only where it applies: other documents stay as they were
            **({"pool_description": self.pool_description} if self.pool_description else {}),
            **({"scratch": self.scratch.to_document()} if self.scratch is not None else {}),
            **({"projection": self.projection.to_document()} if self.projection else {}),
            **({"cluster": self.cluster.to_document()} if self.cluster is not None else {}),
        }

    @classmethod
    def from_document(cls, d: Mapping[str, Any]) -> RunResult:
        """A run document of the current schema version (``upgrade`` it first)."""
        return cls(
            command=d["command"],
            settings=SettingsSummary.from_document(d["settings"]),
            environment=Environment.from_document(d["environment"]),
            runners=[RunnerResult.from_document(r) for r in d["results"]],
            speedups=[SpeedupResult.from_document(s) for s in d["speedups"]],
            complete=d["complete"],
            started_at=d["started_at"],
            finished_at=d["finished_at"],
            # the schema does not require these: a file may lack them
            stopped=Mentioning.marked(d["stopped"]) if d.get("stopped") else None,
            notes=[Mentioning.marked(note) for note in d["notes"]],
            server=ServerSummary.from_document(d["server"]) if d.get("server") else None,
            pool_description=d.get("pool_description"),
            scratch=Scratch.from_document(d.get("scratch")),
            projection=RunProjection.from_document(d.get("projection")),
            repetitions=tuple(Repetition.from_document(r) for r in d["repetitions"]),
            cluster=ClusterSummary.from_document(d.get("cluster")),
            upgraded_from=d.get("upgraded_from"),
            schema_version=d["schema_version"],
        )


_POOL_SETTINGS = frozenset(f.name for f in dataclasses.fields(PoolSettings))


def _unlabelled(label: str) -> str:
    return split_label(label)[0]


def _of_variant(runners: Sequence[RunnerResult], name: str) -> list[RunnerResult]:
    """The runners of variant ``name``, named without it."""
    return [
        dataclasses.replace(r, runner=_unlabelled(r.runner))
        for r in runners
        if split_label(r.runner)[1] == name
    ]


#: a note about some variants only: "variant new: ...", "variants a, b: ..."
_VARIANTS_NOTE = re.compile(r"variants? ((?:[A-Za-z0-9_-]+, )*[A-Za-z0-9_-]+): ")


def variants_note(names: Sequence[str], note: str) -> str:
    """``note`` of the variants ``names`` only, as ``variant_view`` tells it apart:
    ``"variant new: ..."`` (a ``Mentioning`` stays one)."""
    prefix = f"variant{'s' if len(names) > 1 else ''} {', '.join(names)}: "
    if isinstance(note, Mentioning):
        return Mentioning(prefix + note.template)
    return prefix + note


def _concerns(note: str, name: str) -> bool:
    """Whether ``note`` concerns variant ``name``: a note of every variant, or of its own."""
    found = _VARIANTS_NOTE.match(note)
    return found is None or name in found.group(1).split(", ")


def _note_of(note: str, name: str) -> str:
    """A note of variant ``name`` (among others) without its ``variant NAME:`` words."""
    found = _VARIANTS_NOTE.match(note)
    if found is None:
        return note
    if isinstance(note, Mentioning):
        return Mentioning(_VARIANTS_NOTE.sub("", note.template, count=1))
    return note[found.end() :]


def _variant_pattern(name: str) -> re.Pattern[str]:
    """``@NAME`` at the end of a runner's label in a text (``pool@new:``)."""
    return re.compile(rf"(?<=[\w/-]){re.escape(VARIANT_MARK + name)}(?![\w-])")


def _without_variant(text: str, name: str) -> str:
    """A note with its runners of variant ``name`` named without it (``pool@new:`` ->
    ``pool:``); a ``Mentioning`` stays one."""
    pattern = _variant_pattern(name)
    if isinstance(text, Mentioning):
        return Mentioning(pattern.sub("", text.template))
    return pattern.sub("", text)


# --- a sweep -----------------------------------------------------------------


def _setting(cell: SweepCell | None) -> dict[str, int] | None:
    if cell is None:
        return None
    return {"pool_size": cell.pool_size, "max_overflow": cell.max_overflow}


_CELL_FIELDS = dataclasses.fields(SweepCell)


def _cell_document(cell: SweepCell) -> dict[str, Any]:
    """A cell's figures; its variant only in a sweep of several (older files stay as were)."""
    document = dataclasses.asdict(cell)
    if cell.variant is None:
        del document["variant"]
    return document


@dataclass(frozen=True)
class SweepResult:
    """Every cell of a pool-settings grid, each a full ``RunResult``."""

    cells: list[tuple[SweepCell, RunResult]]
    recommendations: list[Recommendation]
    complete: bool
    #: the lists swept: concurrency, pool_size, max_overflow
    grid: Mapping[str, list[int]] = field(default_factory=dict)
    #: the first cell's settings, with the grid swept; given None (a live sweep),
    #: taken from the cells, as are the environment and the times
    settings: SettingsSummary = None  # type: ignore[assignment]
    environment: Environment = field(default_factory=Environment)
    started_at: str | None = None
    finished_at: str | None = None
    upgraded_from: int | None = None
    schema_version: int = SCHEMA_VERSION
    #: of a live sweep of several variants: each point's whole run (every variant's
    #: runners, labelled, and the server's and the pooler's counters), which the cells'
    #: views leave out, for the findings between targets; not in the document (a file's
    #: cells are the views), so empty for a sweep read back
    points: tuple[RunResult, ...] = field(default=(), compare=False, repr=False)
    command: ClassVar[str] = "sweep"

    def __post_init__(self) -> None:
        if self.settings is not None:
            object.__setattr__(self, "settings", SettingsSummary.of(self.settings))
            object.__setattr__(self, "environment", Environment.of(self.environment))
            return
        first = self.cells[0][1] if self.cells else None
        last = self.cells[-1][1] if self.cells else None
        recorded = first.settings.to_document() if first else {}
        settings = SettingsSummary.from_document({**recorded, "grid": dict(self.grid)})
        object.__setattr__(self, "settings", settings)
        if first is not None:
            object.__setattr__(self, "environment", first.environment)
            object.__setattr__(self, "started_at", first.started_at)
        if last is not None:
            object.__setattr__(self, "finished_at", last.finished_at)

    @property
    def exit_status(self) -> ExitStatus:
        """Interrupted: 130; operations failed in a cell: 3; else 0."""
        if not self.complete:
            return ExitStatus.INTERRUPTED
        return ExitStatus.RUN_ERRORS if any(c.errors for c, _ in self.cells) else ExitStatus.SUCCESS

    @property
    def variant_names(self) -> tuple[str, ...]:
        """The variants (targets) a sweep of several measured, in the order given; empty
        for a sweep of one configuration."""
        return tuple(dict.fromkeys(c.variant for c, _ in self.cells if c.variant is not None))

    def variant_view(self, name: str) -> SweepResult:
        """Variant ``name``'s part of a sweep of several: its cells and recommendations, as
        a sweep of its own (each cell's result is that variant's already), with the
        settings and environment it ran with."""
        return dataclasses.replace(
            self,
            cells=[(c, r) for c, r in self.cells if c.variant == name],
            recommendations=[r for r in self.recommendations if r.variant == name],
            settings=self.settings.variant(name),
            environment=self.environment.variant(name),
        )

    def describe_variant(self, name: str) -> str:
        """The line heading variant ``name``'s matrix: "target pg (postgresql://root@h:5432/
        test, PostgreSQL 15.20): driver psycopg" (``VariantSummary.describe``)."""
        found = next((v for v in self.settings.variants or () if v.name == name), None)
        if found is None:  # a file trimmed of its settings' variants
            return f"variant {name}"
        server = None
        if found.kind == "target":
            try:
                server = self.environment.variant(name).server_version
            except KeyError:
                server = None
        return f"{found.kind} {found.describe(server)}"

    def parts(self) -> list[tuple[str | None, SweepResult]]:
        """What a format draws one matrix of: ``[(None, self)]``, or each variant's view
        after its name (``variant_view``)."""
        names = self.variant_names
        return [(name, self.variant_view(name)) for name in names] if names else [(None, self)]

    def to_document(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            **({"upgraded_from": self.upgraded_from} if self.upgraded_from else {}),
            "command": "sweep",
            "complete": self.complete,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "settings": self.settings.to_document(),
            "environment": self.environment.to_document(),
            "cells": [
                {**_cell_document(cell), "result": result.to_document()}
                for cell, result in self.cells
            ],
            "recommendations": [
                {
                    "concurrency": r.concurrency,
                    "chosen": _setting(r.chosen),
                    "best": _setting(r.best),
                    "fraction_of_best": r.fraction_of_best,
                    "rule_of_thumb": r.rule_of_thumb,
                    "agrees_with_rule": r.agrees_with_rule,
                    "within_noise": [
                        {"pool_size": size, "max_overflow": overflow}
                        for size, overflow in r.within_noise
                    ],
                    "noise": r.noise,
                    "clean_cells": r.clean_cells,
                    **({"disagreement": r.disagreement} if r.disagreement is not None else {}),
                    **({"variant": r.variant} if r.variant is not None else {}),
                }
                for r in self.recommendations
            ],
        }

    @classmethod
    def from_document(cls, d: Mapping[str, Any]) -> SweepResult:
        cells = [
            (
                # ``variant`` only in a sweep of several
                SweepCell(**{f.name: cell[f.name] for f in _CELL_FIELDS if f.name in cell}),
                RunResult.from_document(cell["result"]),
            )
            for cell in d["cells"]
        ]
        by_setting = {
            (c.variant, c.concurrency, c.pool_size, c.max_overflow): c for c, _ in cells
        }

        def find(r: Mapping[str, Any], setting: Mapping[str, int] | None) -> SweepCell | None:
            """The cell a recommendation names; a file trimmed of it keeps only the setting."""
            if setting is None:
                return None
            key = (r["concurrency"], setting["pool_size"], setting["max_overflow"])
            variant = r.get("variant")
            return by_setting.get((variant, *key)) or SweepCell(
                *key, None, None, 0, 0, 0, variant=variant
            )

        recommendations = [
            Recommendation(
                concurrency=r["concurrency"],
                chosen=find(r, r["chosen"]),
                best=find(r, r["best"]),
                fraction_of_best=r["fraction_of_best"],
                rule_of_thumb=r["rule_of_thumb"],
                agrees_with_rule=r["agrees_with_rule"],
                within_noise=tuple(
                    (setting["pool_size"], setting["max_overflow"]) for setting in r["within_noise"]
                ),
                noise=r["noise"],
                clean_cells=r["clean_cells"],
                disagreement=r.get("disagreement"),
                variant=r.get("variant"),
            )
            for r in d["recommendations"]
        ]
        settings = SettingsSummary.from_document(d["settings"])
        return cls(
            cells,
            recommendations,
            d["complete"],
            settings.grid or {},
            settings=settings,
            environment=Environment.from_document(d["environment"]),
            started_at=d["started_at"],
            finished_at=d["finished_at"],
            upgraded_from=d.get("upgraded_from"),
            schema_version=d["schema_version"],
        )


# --- stale connections ------------------------------------------------------------


def _summary_with_n(s: Summary | None) -> dict[str, Any]:
    return {"n": s.n if s else 0, **summary_to_document(s)}


def _comparison_to_document(c: Comparison | None) -> dict[str, Any] | None:
    """A stale case's ``after_idle``, written for readers of the file; read back, it is
    computed again from the two summaries."""
    if c is None:
        return None
    return {
        "ratio": c.ratio,
        "ci_low": c.low,
        "ci_high": c.high,
        "confidence": c.confidence,
        "p_value": c.p_value,
        "method": c.method,
        "beyond_noise": c.beyond_noise,
    }


@dataclass(frozen=True)
class StaleCase:
    """How one pool protection coped with connections the server had closed."""

    protection: str
    #: exactly what the pool ran with
    pool_settings: PoolSettings
    #: operations attempted after the idle period
    operations: int
    errors_by_kind: Mapping[str, int]
    #: the successful operations after the idle period; None when none succeeded
    latency: Summary | None
    #: the first operation after the idle period, success or not: what the first unlucky
    #: request pays
    first_latency_ns: int | None
    #: the same pool's operations before the idle period, to show the latency added
    baseline: Summary | None
    #: connects, closes, invalidations, ... during the whole case (fill to last operation)
    pool: PoolCounters | None
    #: the init_command every connection of the pool ran (sets the idle timeout)
    init_command: str | None = None

    @property
    def errors(self) -> int:
        return sum(self.errors_by_kind.values())

    @property
    def error_rate(self) -> float:
        """Failed share of the operations after the idle period (0 when there were none)."""
        return self.errors / self.operations if self.operations else 0.0

    @cached_property
    def after_idle(self) -> Comparison | None:
        """The mean latency after the idle period against the baseline's, beyond noise or not.

        ``significance.welch_within_run(baseline, latency)``: ``ratio`` is after / before
        (> 1: slower after the idle period), tested against the noise among this one run's
        operations only; a stale scenario runs once, so the noise between runs is not
        measured.  None when either side has no successful operation.  Computed from the
        two summaries (a file keeps their n, mean and σ), so a file read back gives the
        same verdict.  The errors are not tested: they count the dead connections met.
        """
        if self.latency is None or self.baseline is None:
            return None
        # scipy: imported only once a stale case is compared, never on the start-up path
        from dbbench.significance import welch_within_run

        return welch_within_run(self.baseline, self.latency)

    def to_document(self) -> dict[str, Any]:
        """JSON-friendly; times in microseconds."""
        return {
            "protection": self.protection,
            "pool_settings": dataclasses.asdict(self.pool_settings),
            "init_command": self.init_command,
            "operations": self.operations,
            "errors": self.errors,
            "error_rate": self.error_rate,
            "errors_by_kind": dict(self.errors_by_kind),
            "first_latency_us": us_from_ns(self.first_latency_ns),
            "latency": _summary_with_n(self.latency),
            "baseline": _summary_with_n(self.baseline),
            "after_idle": _comparison_to_document(self.after_idle),
            "pool_counters": self.pool.to_document() if self.pool else None,
        }

    @classmethod
    def from_document(cls, d: Mapping[str, Any]) -> StaleCase:
        return cls(
            protection=d["protection"],
            pool_settings=PoolSettings(**d["pool_settings"]),
            operations=d["operations"],
            errors_by_kind=dict(d["errors_by_kind"]),
            latency=summary_from_document(d["latency"]["n"], d["latency"]),
            first_latency_ns=_whole_ns(d["first_latency_us"]),
            baseline=summary_from_document(d["baseline"]["n"], d["baseline"]),
            pool=PoolCounters.from_document(d["pool_counters"]),
            init_command=d["init_command"],
        )


class _Measured:
    """A result whose command measured in steps (stale's cases, calibrate's trials): its
    settings and environment typed as given (a ``public_dict()``, a captured environment),
    and an exit status that is only that of a Ctrl-C (what it measured is no error)."""

    settings: SettingsSummary
    environment: Environment
    complete: bool

    def __post_init__(self) -> None:
        object.__setattr__(self, "settings", SettingsSummary.of(self.settings))
        object.__setattr__(self, "environment", Environment.of(self.environment))

    @property
    def exit_status(self) -> ExitStatus:
        # stale: failures after the idle period are the measurement, not an error of the run
        return ExitStatus.SUCCESS if self.complete else ExitStatus.INTERRUPTED


@dataclass(frozen=True)
class StaleResult(_Measured):
    """``dbbench stale``: the cases run so far, and what the document around them says."""

    cases: tuple[StaleCase, ...]
    wait_timeout_s: int
    #: the idle period, in seconds, as run
    idle_s: float
    settings: SettingsSummary
    environment: Environment
    started_at: str | None
    finished_at: str | None
    complete: bool
    upgraded_from: int | None = None
    schema_version: int = SCHEMA_VERSION
    command: ClassVar[str] = "stale"

    def to_document(self) -> dict[str, Any]:
        """The result document of ``dbbench stale`` (same envelope as every command's)."""
        return {
            "schema_version": self.schema_version,
            **({"upgraded_from": self.upgraded_from} if self.upgraded_from else {}),
            "command": "stale",
            "complete": self.complete,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "settings": self.settings.to_document(),
            "environment": self.environment.to_document(),
            "wait_timeout_s": self.wait_timeout_s,
            "idle_s": self.idle_s,
            "cases": [case.to_document() for case in self.cases],
        }

    @classmethod
    def from_document(cls, d: Mapping[str, Any]) -> StaleResult:
        return cls(
            cases=tuple(StaleCase.from_document(c) for c in d["cases"]),
            wait_timeout_s=d["wait_timeout_s"],
            idle_s=d["idle_s"],
            settings=SettingsSummary.from_document(d["settings"]),
            environment=Environment.from_document(d["environment"]),
            started_at=d["started_at"],
            finished_at=d["finished_at"],
            complete=d["complete"],
            upgraded_from=d.get("upgraded_from"),
            schema_version=d["schema_version"],
        )


# --- an explanation ------------------------------------------------------------

#: phases that should add up to the whole within this fraction (tested)
ADDS_UP_WITHIN = 0.10
#: confidence of the interval of the median gap between the phases and the whole
GAP_CONFIDENCE = 0.95


def projected_ns(median_ns: float, round_trips: int, rtt_ns: float) -> float:
    """A median measured here, moved onto a network: each round trip waits one RTT more."""
    return median_ns + round_trips * rtt_ns


@dataclass(frozen=True)
class PhaseResult:
    name: str
    description: str
    median_ns: int
    p95_ns: int
    #: round trips this phase waits for per operation (TCP's handshake included)
    round_trips: int


@dataclass(frozen=True)
class RunnerExplanation:
    """One runner's operation split into phases (``dbbench explain``)."""

    runner: str
    operation: str
    iterations: int
    phases: tuple[PhaseResult, ...]
    #: the operation exactly as ``dbbench run`` times it, uninstrumented
    whole_median_ns: int
    whole_p95_ns: int
    #: how far an operation's phases, added up, are from the whole: per round, the
    #: fastest instrumented operation's phases added minus the fastest plain operation
    #: run beside it; the median over the rounds.  Paired within a round, because on a
    #: busy machine each median of a fast operation wanders by 20%, while neighbours'
    #: differences do not.
    gap_median_ns: int
    #: the GAP_CONFIDENCE interval of that median, from the rounds' gaps at the
    #: binomial ranks (``stats.quantile_ranks``); None in files written before
    #: dbbench recorded it
    gap_low_ns: int | None = None
    gap_high_ns: int | None = None

    @property
    def adds_up(self) -> bool:
        """Whether the median gap is within ADDS_UP_WITHIN of the whole."""
        return abs(self.gap_median_ns) <= ADDS_UP_WITHIN * self.whole_median_ns

    @property
    def may_add_up(self) -> bool:
        """Whether the gap's interval reaches within ADDS_UP_WITHIN of the whole: only
        when it does not are the phases known, beyond the noise, not to add up.
        Without an interval (an older file), ``adds_up``."""
        if self.gap_low_ns is None or self.gap_high_ns is None:
            return self.adds_up
        limit_ns = ADDS_UP_WITHIN * self.whole_median_ns
        return self.gap_low_ns <= limit_ns and self.gap_high_ns >= -limit_ns

    @property
    def phases_median_ns(self) -> int:
        """The sum of the phases' medians."""
        return sum(p.median_ns for p in self.phases)

    @property
    def round_trips(self) -> int:
        return sum(p.round_trips for p in self.phases)

    def phase(self, name: str) -> PhaseResult | None:
        return next((p for p in self.phases if p.name == name), None)

    def share(self, phase: PhaseResult) -> float:
        """The phase's median as a fraction of the whole operation's median."""
        return phase.median_ns / self.whole_median_ns if self.whole_median_ns else 0.0

    def gap_share(self, gap_ns: float) -> float:
        """A gap (``gap_median_ns``, ``gap_low_ns``...) as a fraction of the whole's median."""
        return gap_ns / self.whole_median_ns if self.whole_median_ns else 0.0

    def describe_gap_interval(self) -> str | None:
        """The gap's interval as shares of the whole ("95% interval -1.5% to +1.3%"),
        or None without one (an older file)."""
        if self.gap_low_ns is None or self.gap_high_ns is None:
            return None
        low, high = (signed_percent(self.gap_share(g)) for g in (self.gap_low_ns, self.gap_high_ns))
        return f"{GAP_CONFIDENCE:.0%} interval {low} to {high}"

    def projected_ns(self, rtt_ns: float) -> float:
        """Median latency on a network with this round-trip time."""
        return projected_ns(self.whole_median_ns, self.round_trips, rtt_ns)

    def to_document(self, rtt_s: float | None) -> dict[str, Any]:
        return {
            "runner": self.runner,
            "operation": self.operation,
            "iterations": self.iterations,
            "whole_median_ns": self.whole_median_ns,
            "whole_p95_ns": self.whole_p95_ns,
            "phases_median_ns": self.phases_median_ns,
            "gap_median_ns": self.gap_median_ns,
            **(
                {"gap_low_ns": self.gap_low_ns, "gap_high_ns": self.gap_high_ns}
                if self.gap_low_ns is not None and self.gap_high_ns is not None
                else {}
            ),
            "round_trips": self.round_trips,
            "projected_median_ns": round(self.projected_ns(rtt_s * 1e9)) if rtt_s else None,
            "phases": [
                {**dataclasses.asdict(p), "share": round(self.share(p), 4)} for p in self.phases
            ],
        }

    @classmethod
    def from_document(cls, d: Mapping[str, Any]) -> RunnerExplanation:
        phases = tuple(
            PhaseResult(p["name"], p["description"], p["median_ns"], p["p95_ns"], p["round_trips"])
            for p in d["phases"]
        )
        return cls(
            runner=d["runner"],
            operation=d["operation"],
            iterations=d["iterations"],
            phases=phases,
            whole_median_ns=d["whole_median_ns"],
            whole_p95_ns=d["whole_p95_ns"],
            gap_median_ns=d["gap_median_ns"],
            # absent from files written before dbbench recorded the interval
            gap_low_ns=d.get("gap_low_ns"),
            gap_high_ns=d.get("gap_high_ns"),
        )


@dataclass(frozen=True)
class Explanation:
    """``dbbench explain``: each runner's phases, the round trips, the findings."""

    driver: str
    #: the database settings (``DatabaseSettings.public_dict()``: never the password)
    database: DatabaseSummary
    query: str
    #: the pool's settings, described
    pool: str
    rtt_s: float | None
    runners: tuple[RunnerExplanation, ...]
    findings: tuple[str, ...]
    environment: Environment
    started_at: str | None
    finished_at: str | None
    upgraded_from: int | None = None
    schema_version: int = SCHEMA_VERSION
    command: ClassVar[str] = "explain"
    #: explain writes its document once it has measured everything
    complete: ClassVar[bool] = True

    def __post_init__(self) -> None:
        # the sections as given (a public_dict(), capture_environment()), typed
        object.__setattr__(self, "database", DatabaseSummary.of(self.database))
        object.__setattr__(self, "environment", Environment.of(self.environment))

    def runner(self, name: str) -> RunnerExplanation | None:
        return next((r for r in self.runners if r.runner == name), None)

    def to_document(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            **({"upgraded_from": self.upgraded_from} if self.upgraded_from else {}),
            "command": "explain",
            "complete": True,
            "driver": self.driver,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "database": self.database.to_document(),
            "query": self.query,
            "pool": self.pool,
            "rtt_s": self.rtt_s,
            "runners": [r.to_document(self.rtt_s) for r in self.runners],
            "findings": list(self.findings),
            "environment": self.environment.to_document(),
        }

    @classmethod
    def from_document(cls, d: Mapping[str, Any]) -> Explanation:
        return cls(
            driver=d["driver"],
            database=DatabaseSummary.from_document(d["database"]),
            query=d["query"],
            pool=d["pool"],
            rtt_s=d["rtt_s"],
            runners=tuple(RunnerExplanation.from_document(r) for r in d["runners"]),
            findings=tuple(Mentioning.marked(finding) for finding in d["findings"]),
            environment=Environment.from_document(d["environment"]),
            started_at=d["started_at"],
            finished_at=d["finished_at"],
            upgraded_from=d.get("upgraded_from"),
            schema_version=d["schema_version"],
        )


# --- a diff -------------------------------------------------------------------


@dataclass(frozen=True)
class MetricChange:
    """One metric of one runner, in both documents, and whether the change is noise."""

    metric: str
    #: microseconds for latency metrics, operations per second for ``ops_per_s``
    base: float | None
    new: float | None
    #: ``(new - base) / base``: 0.12 is +12%; None when either side is missing
    change: float | None
    #: the change is in the bad direction; None when it cannot be said.  True with
    #: ``change`` None when base had successful operations and new had none.
    worse: bool | None
    #: the difference is statistically significant; None when it cannot be tested
    beyond_noise: bool | None
    #: from ``welch-t`` and ``log-ratio-t``; None for ``quantile-ci``
    p_value: float | None
    #: ``"welch-t"``, ``"log-ratio-t"``, ``"quantile-ci"`` or ``"n/a (why)"``
    method: str
    #: ``quantile-ci`` only: the 99% interval in each run, microseconds
    base_interval: tuple[float, float] | None = None
    new_interval: tuple[float, float] | None = None
    #: the repetitions of each side the test compared, ``(base, new)``; None when it
    #: compared the operations within each run (one repetition a side)
    repetitions: tuple[int, int] | None = None
    #: between repetitions: the interval of ``change``, at the test's confidence
    change_interval: tuple[float, float] | None = None

    @property
    def tested(self) -> bool:
        return self.beyond_noise is not None

    @property
    def within_run(self) -> bool:
        """The test saw only the noise inside each run, not that between runs."""
        return self.repetitions is None

    @property
    def missing(self) -> bool:
        """A side's value is absent, NaN or infinite: nothing can be gated on it."""
        return any(value is None or not math.isfinite(value) for value in (self.base, self.new))


@dataclass(frozen=True)
class RunnerDiff:
    """One runner (in one sweep cell) in both documents, or in only one of them."""

    runner: str
    #: for sweeps: "concurrency 8, pool_size 5, max_overflow 0"; None for plain runs
    cell: str | None
    #: one per ``METRICS``, in that order; empty when ``only_in`` is set
    changes: list[MetricChange]
    #: ``"base"`` or ``"new"`` when the runner (or its cell) is in one document only
    only_in: str | None = None

    @property
    def label(self) -> str:
        """e.g. "pool" or "pool (concurrency 8, pool_size 5, max_overflow 0)"."""
        return self.runner if self.cell is None else f"{self.runner} ({self.cell})"


@dataclass(frozen=True)
class Threshold:
    """``--fail-on p99:10%``: fail when p99 gets worse by more than 10%, beyond noise."""

    metric: str
    #: the largest allowed worsening, as a fraction: 0.10 for 10%
    limit: float

    def __str__(self) -> str:
        return f"{self.metric}:{self.limit * 100:g}%"

    @classmethod
    def from_document(cls, text: str) -> Threshold:
        """The inverse of ``str``: ``"p99:10%"`` as a document keeps it (``parse_fail_on``
        reads what a person typed, and says what is wrong with it)."""
        metric, _, percent = text.partition(":")
        if not percent.endswith("%"):
            raise ValueError(f"threshold {text!r} is not METRIC:PERCENT%")
        return cls(metric, float(percent[:-1]) / 100)


class Trip(NamedTuple):
    """A threshold that a change broke."""

    diff: RunnerDiff
    change: MetricChange
    threshold: Threshold


@dataclass(frozen=True)
class Verdict:
    """What the gate says: the thresholds tripped, and whether NEW lacks what BASE has."""

    trips: tuple[Trip, ...]
    #: the runners (or cells) in BASE only, by label
    missing: tuple[str, ...]
    #: thresholds were given and NEW left out something BASE has, or the two share
    #: nothing: a gate must not pass because the new run left something out
    lacking: bool
    #: thresholds a change broke where it may only warn: a tail percentile with fewer
    #: repetitions than it takes to gate on one (``diffing.TAIL_REPETITIONS``)
    warnings: tuple[Trip, ...] = ()

    @classmethod
    def of(
        cls,
        diffs: Sequence[RunnerDiff],
        thresholds: Sequence[Threshold],
        trips: Sequence[Trip],
        warnings: Sequence[Trip] = (),
    ) -> Verdict:
        """The verdict on ``diffs`` given the ``trips`` found: what NEW lacks decided here."""
        missing = tuple(d.label for d in diffs if d.only_in == "base")
        compared = [d for d in diffs if d.only_in is None]
        return cls(
            trips=tuple(trips),
            missing=missing,
            lacking=bool(thresholds) and bool(missing or not compared),
            warnings=tuple(warnings),
        )

    @property
    def failed(self) -> bool:
        return bool(self.trips) or self.lacking

    @property
    def exit_status(self) -> ExitStatus:
        return ExitStatus.THRESHOLD if self.failed else ExitStatus.SUCCESS

    def lacking_line(self, base_label: str, new_label: str) -> str | None:
        """The line saying why the gate failed for want of something to compare, if it did."""
        if not self.lacking:
            return None
        gone = ", ".join(self.missing) if self.missing else "nothing in common"
        return f"FAIL: {new_label} lacks what {base_label} has ({gone}): nothing to gate on"


@dataclass(frozen=True)
class DiffResult:
    """``dbbench diff``: every runner's changes, what makes the two less comparable, the verdict.

    Built by ``diffing.compare``; a diff document read back gives the same result,
    its verdict as the gate gave it.
    """

    diffs: list[RunnerDiff]
    thresholds: tuple[Threshold, ...]
    verdict: Verdict
    caveats: list[str]
    base_label: str
    new_label: str
    upgraded_from: int | None = None
    schema_version: int = SCHEMA_VERSION
    command: ClassVar[str] = "diff"
    #: a diff measures nothing: it is whole when written, and has no times of its own
    complete: ClassVar[bool] = True
    started_at: ClassVar[str | None] = None
    finished_at: ClassVar[str | None] = None

    @property
    def exit_status(self) -> ExitStatus:
        return self.verdict.exit_status

    def to_document(self) -> dict[str, Any]:
        """``dbbench diff --format json``: every comparison, the thresholds and the verdict."""
        return {
            "schema_version": self.schema_version,
            **({"upgraded_from": self.upgraded_from} if self.upgraded_from else {}),
            "command": "diff",
            "base": self.base_label,
            "new": self.new_label,
            "thresholds": [str(t) for t in self.thresholds],
            "failed": self.verdict.failed,
            "diffs": [_runner_diff_to_document(d) for d in self.diffs],
            "tripped": [
                {"runner": t.diff.label, "metric": t.change.metric, "threshold": str(t.threshold)}
                for t in self.verdict.trips
            ],
            "warned": [
                {"runner": t.diff.label, "metric": t.change.metric, "threshold": str(t.threshold)}
                for t in self.verdict.warnings
            ],
            "caveats": list(self.caveats),
        }

    @classmethod
    def from_document(cls, d: Mapping[str, Any]) -> DiffResult:
        """A diff document of the current schema version (``upgrade`` it first)."""
        diffs = [_runner_diff_from_document(r) for r in d["diffs"]]
        thresholds = tuple(Threshold.from_document(text) for text in d["thresholds"])
        changes = {(r.label, c.metric): (r, c) for r in diffs for c in r.changes}
        # as the file names them (and as dbbench writes them: the same, unless edited)
        by_text = {str(t): t for t in thresholds}
        by_text.update(zip(d["thresholds"], thresholds, strict=True))
        trips, warnings = (
            [Trip(*changes[(t["runner"], t["metric"])], by_text[t["threshold"]]) for t in d[key]]
            for key in ("tripped", "warned")
        )
        return cls(
            diffs=diffs,
            thresholds=thresholds,
            verdict=Verdict.of(diffs, thresholds, trips, warnings),
            caveats=list(d["caveats"]),
            base_label=d["base"],
            new_label=d["new"],
            upgraded_from=d.get("upgraded_from"),
            schema_version=d["schema_version"],
        )


_PAIRS = ("base_interval", "new_interval", "repetitions", "change_interval")


def _runner_diff_to_document(diff: RunnerDiff) -> dict[str, Any]:
    return {
        "runner": diff.runner,
        "cell": diff.cell,
        "only_in": diff.only_in,
        "changes": [_change_to_document(c) for c in diff.changes],
    }


def _runner_diff_from_document(d: Mapping[str, Any]) -> RunnerDiff:
    return RunnerDiff(
        runner=d["runner"],
        cell=d["cell"],
        changes=[_change_from_document(c) for c in d["changes"]],
        only_in=d["only_in"],
    )


def _change_to_document(change: MetricChange) -> dict[str, Any]:
    document = dataclasses.asdict(change)
    for name in _PAIRS:
        if document[name] is not None:
            document[name] = list(document[name])  # as JSON keeps it
    return document


def _change_from_document(d: Mapping[str, Any]) -> MetricChange:
    fields = {f.name: d[f.name] for f in dataclasses.fields(MetricChange)}
    for name in _PAIRS:
        if fields[name] is not None:
            fields[name] = tuple(fields[name])
    return MetricChange(**fields)


# --- a calibration ----------------------------------------------------------------


@dataclass(frozen=True)
class CalibrationTrial:
    """One A/A trial of ``dbbench calibrate``: the same settings measured twice, as the
    gate compares them (``diffing.compare``: base the first measurement, new the second)."""

    number: int
    #: each runner's changes, one per metric, as ``dbbench diff`` gives them
    diffs: list[RunnerDiff]
    started_at: str | None = None
    finished_at: str | None = None

    def change(self, runner: str, metric: str) -> MetricChange | None:
        found = (c for d in self.diffs if d.runner == runner for c in d.changes)
        return next((c for c in found if c.metric == metric), None)

    def to_document(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "diffs": [_runner_diff_to_document(d) for d in self.diffs],
        }

    @classmethod
    def from_document(cls, d: Mapping[str, Any]) -> CalibrationTrial:
        return cls(
            number=d["number"],
            diffs=[_runner_diff_from_document(r) for r in d["diffs"]],
            started_at=d["started_at"],
            finished_at=d["finished_at"],
        )


@dataclass(frozen=True)
class MetricCalibration:
    """What the A/A trials say of one metric of one runner: the smallest ``--fail-on``
    limit none of them would have tripped, and one with headroom
    (``scenarios.calibrate.calibrate_metric`` works them out)."""

    runner: str
    metric: str
    #: the trials that compared it
    trials: int
    #: trials whose change was beyond noise, either way
    beyond_noise: int
    #: trials that a limit of 0% trips: worse, and beyond noise (or not testable)
    worse_beyond_noise: int
    #: trials where a side had no value: a gate never passes on those
    missing: int
    #: the largest change of any trial, either way, as a fraction (None: none compared)
    largest_change: float | None
    #: the smallest limit with no false alarm in these trials: the largest worsening of
    #: a trial beyond noise (0 when none was); None when a trial had no value
    smallest: float | None
    #: a limit with headroom (``scenarios.calibrate.HEADROOM``), a whole per cent
    suggested: float | None
    #: False for p95 and p99 below ``diffing.TAIL_REPETITIONS`` repetitions a side: a
    #: limit they break only warns
    gates: bool

    def to_document(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_document(cls, d: Mapping[str, Any]) -> MetricCalibration:
        return cls(**{f.name: d[f.name] for f in dataclasses.fields(cls)})


@dataclass(frozen=True)
class CalibrationResult(_Measured):
    """``dbbench calibrate``: A/A trials of the user's own settings, and the smallest
    ``--fail-on`` limits their noise allows, per runner and metric."""

    #: ``"saved"`` (two runs diffed, unpaired) or ``"duet"`` (two variants of one run,
    #: paired): ``scenarios.calibrate_args.RECIPES``
    recipe: str
    #: the trials asked for (``--trials``)
    trials_asked: int
    trials: tuple[CalibrationTrial, ...]
    calibrations: tuple[MetricCalibration, ...]
    #: ``suggested`` is this many times the largest change, rounded up to a whole per cent
    headroom: float
    #: the confidence of ``false_alarm_bound``
    confidence: float
    #: with no false alarm in the trials done, the ``confidence`` upper bound of the
    #: false-alarm rate: ``1 - (1 - confidence) ** (1 / trials)``; None with no trial
    false_alarm_bound: float | None
    settings: SettingsSummary
    environment: Environment
    started_at: str | None
    finished_at: str | None
    complete: bool
    #: what ended the calibration early, or what else is worth a word
    notes: tuple[str, ...] = ()
    upgraded_from: int | None = None
    schema_version: int = SCHEMA_VERSION
    command: ClassVar[str] = "calibrate"

    @property
    def runner_names(self) -> tuple[str, ...]:
        """The runners calibrated, in the order measured."""
        return tuple(dict.fromkeys(c.runner for c in self.calibrations))

    def gate_limit(self, metric: str) -> float | None:
        """The suggested limit of ``metric`` for a gate over every runner: the largest of
        the runners' (a threshold trips on any runner); None when a runner has none."""
        limits = [c.suggested for c in self.calibrations if c.metric == metric]
        if not limits or any(limit is None for limit in limits):
            return None
        return max(limit for limit in limits if limit is not None)

    def to_document(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            **({"upgraded_from": self.upgraded_from} if self.upgraded_from else {}),
            "command": "calibrate",
            "complete": self.complete,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "settings": self.settings.to_document(),
            "environment": self.environment.to_document(),
            "recipe": self.recipe,
            "trials_asked": self.trials_asked,
            "headroom": self.headroom,
            "confidence": self.confidence,
            "false_alarm_bound": self.false_alarm_bound,
            "calibrations": [c.to_document() for c in self.calibrations],
            "trials": [t.to_document() for t in self.trials],
            "notes": list(self.notes),
        }

    @classmethod
    def from_document(cls, d: Mapping[str, Any]) -> CalibrationResult:
        return cls(
            recipe=d["recipe"],
            trials_asked=d["trials_asked"],
            trials=tuple(CalibrationTrial.from_document(t) for t in d["trials"]),
            calibrations=tuple(MetricCalibration.from_document(c) for c in d["calibrations"]),
            headroom=d["headroom"],
            confidence=d["confidence"],
            false_alarm_bound=d["false_alarm_bound"],
            settings=SettingsSummary.from_document(d["settings"]),
            environment=Environment.from_document(d["environment"]),
            started_at=d["started_at"],
            finished_at=d["finished_at"],
            complete=d["complete"],
            notes=tuple(d["notes"]),
            upgraded_from=d.get("upgraded_from"),
            schema_version=d["schema_version"],
        )


# --- reading a file ----------------------------------------------------------


def _fill_summary(target: dict[str, Any], histogram: Mapping[str, Any] | None) -> None:
    """Statistics an older file lacks: from its histogram when it kept one, else null."""
    missing = [key for key in SUMMARY_KEYS if f"{key}_us" not in target]
    if not missing:
        return
    decoded = (
        LatencyHistogram.from_dict(dict(histogram)) if histogram and histogram["count"] else None
    )
    for key in missing:
        value: float | None = None
        if decoded is not None:
            quantile = _QUANTILE_KEYS.get(key)
            value = decoded.percentile(quantile) if quantile else getattr(decoded, f"{key}_ns")
        target[f"{key}_us"] = us_from_ns(value)


def _complete_runner(runner: dict[str, Any]) -> None:
    histograms = runner.setdefault("histograms", {})
    histograms.setdefault("latency", None)
    histograms.setdefault("checkout", None)
    runner.setdefault("n", 0)
    runner.setdefault("errors", 0)
    if "errors_by_kind" not in runner:
        runner["errors_by_kind"] = {"unknown": runner["errors"]} if runner["errors"] else {}
    runner.setdefault("error_timeline", None)
    runner.setdefault("warmup_errors", 0)
    _fill_summary(runner, histograms["latency"])
    runner.setdefault("ops_per_s", None)
    runner.setdefault("measured_s", 0.0)
    runner.setdefault("first_op_us", None)
    runner.setdefault("target_rate_per_s", None)
    runner.setdefault("achieved_rate_per_s", None)
    runner.setdefault("checkout", None)
    if runner["checkout"] is not None:
        _fill_summary(runner["checkout"], histograms["checkout"])
    runner.setdefault("pool", None)
    runner.setdefault("connections_opened", 0)


def _complete_run(run: dict[str, Any]) -> None:
    for key, default in (
        ("complete", True),
        ("stopped", None),
        ("started_at", None),
        ("finished_at", None),
        ("settings", {}),
        ("environment", {}),
        ("results", []),
        ("speedups", []),
        ("server", None),
        ("notes", []),
        # version 4 added repetitions: an older run was one repetition
        ("repetitions", []),
    ):
        run.setdefault(key, default)
    if isinstance(run["settings"].get("benchmark"), dict):
        run["settings"]["benchmark"].setdefault("repeat", 1)
    # version 1 had no server vendor; other entries stay as the file has them
    run["environment"].setdefault("server_vendor", None)
    for runner in run["results"]:
        _complete_runner(runner)
    for speedup in run["speedups"]:
        speedup.setdefault("repetitions", 1)  # version 4: before, within one run always
    for repetition in run["repetitions"]:
        for runner in repetition.get("results", []):
            _complete_runner(runner)


def _complete_stale(stale: dict[str, Any]) -> None:
    for key, default in (
        ("complete", True),
        ("started_at", None),
        ("finished_at", None),
        ("settings", {}),
        ("environment", {}),
    ):
        stale.setdefault(key, default)
    for case in stale.get("cases", []):
        case.setdefault("init_command", None)
        for key in ("latency", "baseline"):
            _fill_summary(case.setdefault(key, {"n": 0}), None)
        # written since the test was added; computed from the two summaries the file keeps
        if "after_idle" not in case:
            case["after_idle"] = _comparison_to_document(StaleCase.from_document(case).after_idle)


def upgrade(document: Mapping[str, Any], source: str) -> dict[str, Any]:
    """Bring a document of an older schema version to the current one, or say why not.

    Version 1 (run/compare/sweep/stale) had no histograms and no server vendor:
    statistics stay as recorded, and percentiles cannot be recomputed from it.
    Version 2 documents are complete as they are, but files written by early
    dbbench versions (or trimmed by hand) may lack fields: those are filled in,
    from the histograms where the file has them, else as null.
    """
    version = schema_version(document, source)
    if version == SCHEMA_VERSION and "schema_version" in document:
        return dict(document)
    upgraded = json.loads(json.dumps(document))
    runs = _run_documents(upgraded)
    for run in runs:
        _complete_run(run)
        run["schema_version"] = SCHEMA_VERSION
        run["upgraded_from"] = version
    if upgraded.get("command") == "sweep":
        for key, default in (("complete", True), ("started_at", None), ("finished_at", None)):
            upgraded.setdefault(key, default)
        upgraded.setdefault("settings", {})
        upgraded.setdefault("environment", runs[0]["environment"] if runs else {})
        upgraded.setdefault("recommendations", [])
        for recommendation in upgraded["recommendations"]:
            # version 4 tested the cells against the best's noise; older files did not
            recommendation.setdefault("within_noise", [])
            recommendation.setdefault("noise", "not tested")
            recommendation.setdefault("clean_cells", 0)
    if upgraded.get("command") == "explain":
        upgraded.setdefault("complete", True)
    if upgraded.get("command") == "diff":
        upgraded.setdefault("caveats", [])  # kept since version 3; the table's only before
        upgraded.setdefault("warned", [])  # version 4: tail percentiles may only warn
        for runner in upgraded.get("diffs", []):
            for change in runner.get("changes", []):
                # version 4 tested between repetitions too; older diffs within runs only
                change.setdefault("repetitions", None)
                change.setdefault("change_interval", None)
    if upgraded.get("command") == "stale":
        _complete_stale(upgraded)
    upgraded["schema_version"] = SCHEMA_VERSION
    upgraded["upgraded_from"] = version
    return upgraded


def schema_version(document: Mapping[str, Any], source: str) -> int:
    """The version of a document read from ``source`` (2 for an unversioned one of
    ``UNVERSIONED_COMMANDS``), if this dbbench reads it; else ``ResultFileError`` saying why."""
    version = document.get("schema_version")
    if version is None and document.get("command") in UNVERSIONED_COMMANDS:
        return 2  # written before version 3 gave these documents a schema_version
    if version is None:
        raise ResultFileError(f"{source}: not a dbbench result file (no schema_version)")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ResultFileError(
            f"{source}: schema_version: expected a whole number, got {validation.shown(version)}"
        )
    if version > SCHEMA_VERSION:
        raise ResultFileError(
            f"{source}: schema_version {version} was written by a newer dbbench "
            f"(this one reads up to {SCHEMA_VERSION}); upgrade dbbench to read it"
        )
    if version < 1:
        raise ResultFileError(f"{source}: schema_version {version} is not one dbbench wrote")
    return version


def _run_documents(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The run documents inside a document: itself, or a sweep's cells."""
    if document.get("command") == "sweep":
        return [cell["result"] for cell in document.get("cells", [])]
    if document.get("command") in RUN_COMMANDS:
        return [document]
    return []


def read_document(path: Path) -> dict[str, Any]:
    """Read, check and upgrade a result file: its document, of the current schema version.

    A file is untrusted input: its text is used only once it is a document dbbench could
    have written (``checked_document``); else ``ResultFileError``, one line naming the file
    and the key."""
    try:
        text = safeio.read_text(path, limit=safeio.RESULT_LIMIT, what="a result file")
    except safeio.FileProblem as exc:
        reason = "no such result file" if exc.missing else exc.reason
        raise ResultFileError(f"{path}: {reason}") from None
    return checked_document(validation.parse(text, str(path)), str(path))


def checked_document(document: dict[str, Any], source: str) -> dict[str, Any]:
    """A document read from ``source`` (``validation.parse``), of the current schema
    version: checked against the schema (an older version's loosely, before it is
    upgraded), and for what the formats rely on; else ``ResultFileError`` saying where."""
    version = schema_version(document, source)
    kind = validation.kind_of(document.get("command"), source)
    if version < SCHEMA_VERSION:
        validation.check(document, kind, source, loose=True)
        try:
            document = upgrade(document, source)
        except (LookupError, TypeError, ValueError, AttributeError, ArithmeticError) as exc:
            raise ResultFileError(
                f"{source}: a version {version} {document['command']} document dbbench "
                f"cannot upgrade ({type(exc).__name__}: {validation.clip(str(exc))})"
            ) from None
    validation.check(document, kind, source)
    return document


Result = RunResult | SweepResult | StaleResult | Explanation | DiffResult | CalibrationResult


def from_document(document: Mapping[str, Any], source: str = "the document") -> Any:
    """The typed result of an upgraded document: a ``RunResult``, a ``SweepResult``..."""
    command = document.get("command")
    try:
        if command in RUN_COMMANDS:
            return RunResult.from_document(document)
        if command == "sweep":
            return SweepResult.from_document(document)
        if command == "explain":
            return Explanation.from_document(document)
        if command == "stale":
            return StaleResult.from_document(document)
        if command == "runs":
            return RunsListing.from_document(document)
        if command == "diff":
            return DiffResult.from_document(document)
        if command == "calibrate":
            return CalibrationResult.from_document(document)
    except (KeyError, TypeError, ValueError) as exc:
        raise ResultFileError(
            f"{source}: not a {command} document dbbench can read ({type(exc).__name__}: {exc})"
        ) from None
    if command is None:
        raise ResultFileError(f"{source}: not a dbbench result file (no command)")
    raise ResultFileError(f"{source}: a {command!r} document is not one this dbbench knows")


# --- the saved runs ------------------------------------------------------------------


@dataclass(frozen=True)
class SavedRunEntry:
    """One saved run as ``dbbench runs`` lists it: what it is, or why it cannot be read."""

    number: int
    name: str | None
    #: relative to the working directory
    path: str
    started_at: str | None = None
    command: str | None = None
    #: the runners it measured ("raw, pool"), or "3 cases" for a stale run
    runners: str = ""
    complete: bool = False
    #: the one line saying why the file cannot be read; None when it can
    error: str | None = None

    def to_document(self) -> dict[str, Any]:
        entry = {"number": self.number, "name": self.name, "path": self.path}
        if self.error is not None:
            return {**entry, "error": self.error}
        return {
            **entry,
            "started_at": self.started_at,
            "command": self.command,
            "runners": self.runners,
            "complete": self.complete,
            "error": None,
        }

    @classmethod
    def from_document(cls, d: Mapping[str, Any]) -> SavedRunEntry:
        return cls(
            number=d["number"],
            name=d["name"],
            path=d["path"],
            started_at=d.get("started_at"),
            command=d.get("command"),
            runners=d.get("runners", ""),
            complete=d.get("complete", False),
            error=d["error"],
        )

    @classmethod
    def of(cls, number: int, name: str | None, path: str, result: Result) -> SavedRunEntry:
        """The entry of a saved run read into ``result``."""
        if isinstance(result, SweepResult):
            names = {r.runner for _, run in result.cells for r in run.runners}
        elif isinstance(result, StaleResult):
            names = set()
        elif isinstance(result, CalibrationResult):
            names = set(result.runner_names)
        else:
            names = {r.runner for r in result.runners}
        runners = ", ".join(sorted(names))
        if isinstance(result, StaleResult) and result.cases:
            runners = f"{len(result.cases)} cases"
        return cls(
            number, name, path, result.started_at, result.command, runners, bool(result.complete)
        )


@dataclass(frozen=True)
class RunsListing:
    """``dbbench runs``: the runs kept under .dbbench/runs/, in order."""

    runs: tuple[SavedRunEntry, ...]
    upgraded_from: int | None = None
    schema_version: int = SCHEMA_VERSION
    command: ClassVar[str] = "runs"

    def to_document(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            **({"upgraded_from": self.upgraded_from} if self.upgraded_from else {}),
            "command": "runs",
            "runs": [entry.to_document() for entry in self.runs],
        }

    @classmethod
    def from_document(cls, d: Mapping[str, Any]) -> RunsListing:
        return cls(
            tuple(SavedRunEntry.from_document(e) for e in d["runs"]),
            upgraded_from=d.get("upgraded_from"),
            schema_version=d["schema_version"],
        )


def load_result(path: Path) -> Any:
    """Read a result file into its typed result (read, upgrade, ``from_document``)."""
    return from_document(read_document(path), str(path))
