"""Where one operation's time goes: a clock that splits it into named phases.

Each driver has its own module that times a connect-per-query operation
phase by phase (``pymysql_phases``; ``opaque_phases`` for drivers whose
connect is one call that cannot be split from outside); the pooled operation is timed through
SQLAlchemy's dialect hooks, the same for every driver (``pool_phases``).
``driver_module(name)`` picks the driver's module.
"""

from __future__ import annotations

import importlib
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

from dbbench.errors import ConfigError
from dbbench.settings_schema import mentioned

#: driver name -> the module that splits its connect into phases
DRIVER_MODULES = {
    "pymysql": "dbbench.phases.pymysql_phases",
    "mysqlclient": "dbbench.phases.opaque_phases",
    "mysql-connector": "dbbench.phases.opaque_phases",
}


def driver_module(driver: str) -> ModuleType:
    """The phase module of ``driver``; it has ``connect_operation`` and ``PHASES``."""
    try:
        return importlib.import_module(DRIVER_MODULES[driver])
    except KeyError:
        choices = ", ".join(DRIVER_MODULES)
        raise ConfigError(
            f"{mentioned('database', 'driver')} = {driver!r}: no phase breakdown for this "
            f"driver; choose from {choices}"
        ) from None


class PhaseClock:
    """Times named phases of one operation, and the round trips each one made.

    Phases nest: a driver may run one step inside another (PyMySQL does the
    TLS handshake inside its authentication, and builds its SSL context
    inside the connection's constructor).  Each phase is charged only its
    own time: while an inner phase runs, the outer one's clock is stopped.
    So the phases never overlap and their sum is the time spent inside any.

    ``probe``, when given, returns the round trips seen so far on the wire
    (``roundtrips.CountingRelay.round_trips``); each phase is charged those
    that happened while it was the innermost one.  A phase entered twice adds up.
    """

    def __init__(self, probe: Callable[[], int] | None = None) -> None:
        self._probe = probe
        #: phase -> nanoseconds, in the order the phases first ran
        self.durations_ns: dict[str, int] = {}
        #: phase -> round trips (all 0 without a probe)
        self.round_trips: dict[str, int] = {}
        #: the phases running, innermost last: (name, resumed at ns, trips at resume)
        self._stack: list[tuple[str, int, int]] = []
        #: phase -> times entered, and phases run inside it: what the clock's own cost is
        #: charged by (see ``ClockOverhead``)
        self.entries: dict[str, int] = {}
        self.inner_entries: dict[str, int] = {}

    def net_durations_ns(self, overhead: ClockOverhead) -> dict[str, int]:
        """Each phase's time with the clock's own cost inside it taken out (never below 0)."""
        return {
            name: max(
                0,
                elapsed_ns
                - self.entries.get(name, 0) * overhead.phase_ns
                - self.inner_entries.get(name, 0) * overhead.inner_ns,
            )
            for name, elapsed_ns in self.durations_ns.items()
        }

    def phase(self, name: str) -> _Phase:
        """A context manager: the block's time (and round trips) go to phase ``name``."""
        return _Phase(self, name)


class _Phase:
    """``with clock.phase(name):``.

    A class, not a generator, with the clock's work inlined: it runs inside
    the operation being timed, so every call it saves is time not added to
    the phases (about 2 µs a phase less than a generator here).
    """

    __slots__ = ("_clock", "_name")

    def __init__(self, clock: PhaseClock, name: str) -> None:
        self._clock = clock
        self._name = name

    def __enter__(self) -> None:
        clock = self._clock
        now_ns = time.perf_counter_ns()
        trips = clock._probe() if clock._probe else 0
        stack = clock._stack
        clock.entries[self._name] = clock.entries.get(self._name, 0) + 1
        if stack:  # stop the outer phase's clock
            outer, resumed_ns, trips_then = stack[-1]
            clock.inner_entries[outer] = clock.inner_entries.get(outer, 0) + 1
            clock.durations_ns[outer] = clock.durations_ns.get(outer, 0) + now_ns - resumed_ns
            clock.round_trips[outer] = clock.round_trips.get(outer, 0) + trips - trips_then
        stack.append((self._name, now_ns, trips))

    def __exit__(self, *exc_info: object) -> None:
        clock = self._clock
        now_ns = time.perf_counter_ns()
        trips = clock._probe() if clock._probe else 0
        stack = clock._stack
        name, resumed_ns, trips_then = stack.pop()
        # dicts keep insertion order: a phase is listed where it was first charged
        clock.durations_ns[name] = clock.durations_ns.get(name, 0) + now_ns - resumed_ns
        clock.round_trips[name] = clock.round_trips.get(name, 0) + trips - trips_then
        if stack:  # the outer phase's clock runs again, from now
            stack[-1] = (stack[-1][0], now_ns, trips)


@dataclass(frozen=True)
class ClockOverhead:
    """What a ``PhaseClock`` adds to the phases it times, measured on this machine now.

    ``phase_ns``: charged to a phase for being timed at all (its share of the
    two clock readings); ``inner_ns``: charged to a phase for each phase timed
    inside it (the inner one's entry and exit, as far as the outer sees them).
    """

    phase_ns: int
    inner_ns: int


def calibrate(repetitions: int = 2000) -> ClockOverhead:
    """Time empty phases, flat and nested, and return the medians of what they were charged."""
    alone, outer = [], []
    for _ in range(repetitions):
        clock = PhaseClock()
        with clock.phase("alone"):
            pass
        with clock.phase("outer"), clock.phase("inner"):
            pass
        alone.append(clock.durations_ns["alone"])
        outer.append(clock.durations_ns["outer"])
    phase_ns = round(statistics.median(alone))
    return ClockOverhead(phase_ns, max(0, round(statistics.median(outer)) - phase_ns))
