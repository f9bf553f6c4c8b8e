"""A clock that splits one operation into named phases, and what the clock itself costs."""

from __future__ import annotations

import time
from collections.abc import Callable


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

    def __init__(self, probe: Callable[[], int] | None = None, *, doubled: bool = False) -> None:
        self._probe = probe
        #: every phase timed twice over, the second inside the first: ``entry_cost_ns``
        self._doubled = doubled
        #: phase -> nanoseconds, in the order the phases first ran
        self.durations_ns: dict[str, int] = {}
        #: phase -> round trips (all 0 without a probe)
        self.round_trips: dict[str, int] = {}
        #: the phases running, innermost last: (name, resumed at ns, trips at resume)
        self._stack: list[tuple[str, int, int]] = []
        #: phase -> times entered: what the clock's own cost is charged by
        self.entries: dict[str, int] = {}

    def net_durations_ns(self, entry_ns: float) -> dict[str, int]:
        """Each phase's time less ``entry_ns`` (``entry_cost_ns``) per time it was entered,
        never below 0: the phases as the operation spends them, untimed."""
        return {
            name: max(0, round(elapsed_ns - self.entries[name] * entry_ns))
            for name, elapsed_ns in self.durations_ns.items()
        }

    def phase(self, name: str) -> _Phase:
        """A context manager: the block's time (and round trips) go to phase ``name``."""
        return _Doubled(self, name) if self._doubled else _Phase(self, name)


def entry_cost_ns(single: PhaseClock, doubled: PhaseClock) -> float:
    """What entering a phase adds to the phases, from one operation timed by each clock.

    Measured inside the operation itself, not in a loop of empty phases: after
    each of the driver's calls (a system call, the server's reply) the clock's
    code and the ``with`` statement around it run with cold caches, and cost a
    phase 1-2 µs there where a loop, all in cache, makes it 0.2 µs (PyMySQL,
    here).  ``doubled`` entered every phase twice, so what it charged beyond
    ``single``, per extra entry, is one entry's cost, in the same code path.
    """
    extra = sum(doubled.entries.values()) - sum(single.entries.values())
    if extra <= 0:
        return 0.0
    return (sum(doubled.durations_ns.values()) - sum(single.durations_ns.values())) / extra


class _Phase:
    """``with clock.phase(name):``.

    A class, not a generator, with the clock's work inlined: it runs inside
    the operation being timed, so every call it saves is time not added to
    the phases (about 2 µs a phase less than a generator here).  The clock's
    own bookkeeping runs between two readings, charged to no phase: a phase's
    time starts at the last thing ``__enter__`` does and ends at the first
    thing ``__exit__`` does.  What is left inside (the ``with`` statement's
    calls, a reading) is measured where it runs: ``entry_cost_ns``.
    """

    __slots__ = ("_clock", "_name")

    def __init__(self, clock: PhaseClock, name: str) -> None:
        self._clock = clock
        self._name = name

    def __enter__(self) -> None:
        clock = self._clock
        stack = clock._stack
        if stack:  # stop the outer phase's clock
            stopped_ns = time.perf_counter_ns()
            outer, resumed_ns, trips_then = stack[-1]
            clock.durations_ns[outer] = clock.durations_ns.get(outer, 0) + stopped_ns - resumed_ns
        trips = clock._probe() if clock._probe else 0
        if stack:
            clock.round_trips[outer] = clock.round_trips.get(outer, 0) + trips - trips_then
        clock.entries[self._name] = clock.entries.get(self._name, 0) + 1
        stack.append((self._name, time.perf_counter_ns(), trips))

    def __exit__(self, *exc_info: object) -> None:
        now_ns = time.perf_counter_ns()
        clock = self._clock
        stack = clock._stack
        name, resumed_ns, trips_then = stack.pop()
        # dicts keep insertion order: a phase is listed where it was first charged
        clock.durations_ns[name] = clock.durations_ns.get(name, 0) + now_ns - resumed_ns
        trips = clock._probe() if clock._probe else 0
        clock.round_trips[name] = clock.round_trips.get(name, 0) + trips - trips_then
        if stack:  # the outer phase's clock runs again, from now
            stack[-1] = (stack[-1][0], time.perf_counter_ns(), trips)


class _Doubled(_Phase):
    """A phase timed twice over, the second inside the first (``PhaseClock(doubled=True)``):
    the block is charged to ``name`` as before, plus one more entry's cost."""

    __slots__ = ("_shadow",)

    def __init__(self, clock: PhaseClock, name: str) -> None:
        super().__init__(clock, name)
        self._shadow = _Phase(clock, name)

    def __enter__(self) -> None:
        _Phase.__enter__(self)
        self._shadow.__enter__()

    def __exit__(self, *exc_info: object) -> None:
        self._shadow.__exit__(*exc_info)
        _Phase.__exit__(self, *exc_info)
