"""``dbbench explain``: where each runner's operation spends its time, and its round trips.

Three passes, all against the real server:

1. round trips: a few operations of each runner through a ``CountingRelay``,
   every phase charged the turns of the conversation it waited for;
2. phases and whole: ``iterations`` rounds in which every runner runs its
   operation instrumented (each phase timed), instrumented with every phase
   timed twice over (what the clock itself costs in there), and exactly as
   ``dbbench run`` times it (the whole), in sets in mirrored orders, so that
   drift and the instrumentation's own cost show up side by side;
3. findings: known costs, recognised from the figures, in plain language.

``--rtt`` projects each runner onto a network: measured median + round trips
× RTT.  The measured time already holds this machine's own round trips
(tens of microseconds each on loopback); the projection adds the network's
on top.  It is a floor: it leaves out bandwidth (large results), and that
client and server idle through each round trip and wake slower than when
busy back to back (tests/integration/test_projection.py measures the whole
within a few percent at a 40 ms RTT).
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dbbench import databases
from dbbench.config.schema import command_default, mentioned
from dbbench.config.settings import DatabaseSettings, Settings
from dbbench.config.tls import TlsSettings
from dbbench.drivers.diagnosis import operation_error
from dbbench.drivers.libpq import socket_host_port
from dbbench.errors import DbbenchError, Mentioning, mention
from dbbench.numbers import duration_from_ns as _duration
from dbbench.parsing import bad_value
from dbbench.results.model import (
    ADDS_UP_WITHIN,
    GAP_CONFIDENCE,
    Explanation,
    PhaseResult,
    ProjectedRunner,
    RunnerExplanation,
    RunProjection,
    RunResult,
    projected_ns,
)
from dbbench.runners import EXPLAIN_DEFAULT_RUNNERS, EXPLAIN_RUNNERS, runner_class
from dbbench.scenarios.backend import LIVE, Backend
from dbbench.scenarios.phases import driver_module, layer_phases, pool_phases, statement_watch
from dbbench.scenarios.phases.clock import PhaseClock, entry_cost_ns
from dbbench.scenarios.phases.roundtrips import CountingRelay
from dbbench.scenarios.summary import capture_environment, iso_utc
from dbbench.stats import sample_quantile_interval, summarize_samples
from dbbench.workload import Workload, workload_for

#: operations counted through the relay per runner; the count should not vary
COUNT_REPETITIONS = 3
#: a phase taking at least this share of an operation earns a finding
NOTABLE_SHARE = 0.2
#: sets of operations per round for the runners much cheaper than raw (and a cheap connect)
CHEAP_SETS = 4
#: a connect this fast (the warm-up's median) is run ``CHEAP_SETS`` sets a round too
CHEAP_CONNECT_NS = 4_000_000

#: (clock) -> None: one instrumented operation
Operation = Callable[[PhaseClock], None]


# --- the operations -------------------------------------------------------------


class _Subject:
    """One runner's operation, instrumented and plain; pool and persistent share one runner."""

    def __init__(self, name: str, settings: Settings, backend: Backend = LIVE) -> None:
        self.name = name
        self._clock_ns = backend.clock_ns
        create_runner = backend.create_runner
        workload = Workload(settings.benchmark.query)
        database = settings.database
        self.phase_order: tuple[str, ...]
        self.descriptions: dict[str, str]
        self.tcp_phase: str | None
        self.greeting_phase: str | None
        self._runners: list[Any] = []
        #: the layered operation (``core``, ``session``): its statements and cache hits
        self.layered: layer_phases.LayeredOperation | None = None
        runner = runner_class(name)
        self.explained_as = runner.explained_as
        self.operation = runner.operation
        #: one connect per operation: far slower than the others, so fewer pairs a round
        self.connects = runner.connects_per_operation
        module = driver_module(database.driver)
        statement_phases, watch = statement_watch(module)
        pooled_phases = pool_phases.phases(statement_phases)
        descriptions = {**module.DESCRIPTIONS, **pool_phases.DESCRIPTIONS}
        pooled_descriptions = {name: descriptions[name] for name in pooled_phases}
        if runner.explained_as == "connect":
            self.plain = self._open(create_runner(name, settings))
            self.instrumented: Operation = lambda clock: module.connect_operation(
                database, workload, clock
            )
            self.phase_order, self.descriptions = module.PHASES, module.DESCRIPTIONS
            self.tcp_phase, self.greeting_phase = module.TCP_PHASE, module.GREETING_PHASE
        elif runner.explained_as == "checkout":
            # one pool for both: two pools' connections differ more (a server
            # thread's luck, measured at up to 20%) than the instrumentation costs
            self.plain = self._open(create_runner(name, settings))
            self.instrumented = pool_phases.PooledOperation(self.plain, watch).run
            self.phase_order, self.descriptions = pooled_phases, pooled_descriptions
            self.tcp_phase = pool_phases.TCP_PHASE
            self.greeting_phase = pool_phases.GREETING_PHASE
        elif runner.explained_as == "reuse":
            self.plain = self._open(create_runner(name, settings))
            self.instrumented = pool_phases.PersistentOperation(self.plain, watch).run
            self.phase_order, self.descriptions = pooled_phases, pooled_descriptions
            # its one connect is in the warm-up
            self.tcp_phase = self.greeting_phase = None
        elif runner.explained_as == "layers":
            self.plain = self._open(create_runner(name, settings))
            self.layered = layer_phases.LayeredOperation(self.plain, watch)
            self.instrumented = self.layered.run
            self.phase_order = layer_phases.phases(self.plain, statement_phases)
            self.descriptions = {**descriptions, **layer_phases.DESCRIPTIONS}
            # a pool connects inside the checkout (only when it grows)
            self.tcp_phase = self.greeting_phase = layer_phases.CHECKOUT
        else:
            raise ValueError(f"no phase breakdown for runner {name!r}")

    def _open(self, runner: Any) -> Any:
        runner.open()
        self._runners.append(runner)
        return runner

    def time_plain(self) -> int:
        start = self._clock_ns()
        self.plain.run_once()
        return self._clock_ns() - start

    def close(self) -> None:
        for runner in self._runners:
            runner.close()


def _via(database: DatabaseSettings, relay: CountingRelay) -> DatabaseSettings:
    host, port = relay.address
    return dataclasses.replace(database, host=host, port=port, unix_socket=None)


def _upstream(database: DatabaseSettings) -> tuple[str, int] | str:
    """What the relay connects to: the socket file (libpq's socket directory is
    ``/dir/.s.PGSQL.PORT`` to connect(2)), else the host and port."""
    if not database.unix_socket:
        return (database.host, database.port)
    if database.dialect == "postgresql":
        directory, port = socket_host_port(database.unix_socket, database.port)
        return os.path.join(directory, f".s.PGSQL.{port}")
    return database.unix_socket


def count_round_trips(
    settings: Settings, runner_names: Sequence[str], backend: Backend = LIVE
) -> dict[str, dict[str, int]]:
    """Runner -> phase -> round trips one operation waits for with the configured
    driver, counted on the wire (the runners ``backend`` makes, through a relay).

    Each phase's count is the median over ``COUNT_REPETITIONS`` operations,
    after a warm-up operation (a pool's first connect, the persistent connect).
    TCP's handshake, unseen by the relay, is added to the phase that connects,
    and the server's greeting to the phase that reads it.
    """
    try:
        return _count(settings, runner_names, backend)
    except DbbenchError:
        raise
    except Exception as exc:
        raise operation_error(exc, settings.database, settings.benchmark.query) from exc


def _count(
    settings: Settings, runner_names: Sequence[str], backend: Backend
) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    with CountingRelay(_upstream(settings.database)) as relay:
        relayed = dataclasses.replace(settings, database=_via(settings.database, relay))
        for name in runner_names:
            subject = _Subject(name, relayed, backend)
            try:
                subject.instrumented(PhaseClock())  # warm-up
                per_phase: dict[str, list[int]] = {}
                for _ in range(COUNT_REPETITIONS):
                    connections_before, greetings_before = relay.connections, relay.greetings
                    clock = PhaseClock(probe=lambda: relay.round_trips)
                    subject.instrumented(clock)
                    trips = dict(clock.round_trips)
                    unseen = (
                        (subject.tcp_phase, relay.connections - connections_before),
                        (subject.greeting_phase, relay.greetings - greetings_before),
                    )
                    for phase, count in unseen:
                        if count and phase:
                            trips[phase] = trips.get(phase, 0) + count
                    for phase, count in trips.items():
                        per_phase.setdefault(phase, []).append(count)
                counts[name] = {p: round(statistics.median(c)) for p, c in per_phase.items()}
            finally:
                subject.close()
    return counts


@dataclass
class _Samples:
    """One runner's measurements: per phase, the plain whole, and per round the gap between."""

    phases: dict[str, list[int]] = dataclasses.field(default_factory=dict)
    gaps: list[int] = dataclasses.field(default_factory=list)
    wholes: list[int] = dataclasses.field(default_factory=list)

    def add_round(self, sets: Sequence[tuple[dict[str, int], int]]) -> None:
        """One round's sets, each an instrumented operation's phases and the plain one's whole.

        The round's gap is its fastest instrumented operation's phases added up minus
        its fastest plain operation.  On a busy machine a good share of operations wait
        for a CPU (here, under two busy loops on two cores, a connect's 75th percentile
        was 4 times its median), and the instrumented one, with more to do, waits more
        often: a median of single differences then charges it that wait (+17 to +22%
        of raw's 0.5 ms connect), a mean any outlier.  The fastest of a few, each kind
        in the same places of the round (``_set_order``), is the operation undisturbed.
        """
        for durations_ns, whole_ns in sets:
            self._add(durations_ns, whole_ns)
        fastest_ns = min(sum(durations_ns.values()) for durations_ns, _ in sets)
        self.gaps.append(fastest_ns - min(whole_ns for _, whole_ns in sets))

    def _add(self, durations_ns: dict[str, int], whole_ns: int) -> None:
        done = len(self.wholes)
        self.wholes.append(whole_ns)
        for phase, elapsed_ns in durations_ns.items():
            # a phase missing from earlier operations took 0 ns in them
            self.phases.setdefault(phase, [0] * done).append(elapsed_ns)
        for values in self.phases.values():
            if len(values) == done:
                values.append(0)


def _step(subject: _Subject, step: str, clocks: dict[str, PhaseClock]) -> int:
    """One operation of a set: the plain one returns its time, the others fill their clock."""
    if step == "plain":
        return subject.time_plain()
    subject.instrumented(clocks[step])
    return 0


def _clocks() -> dict[str, PhaseClock]:
    return {"timed": PhaseClock(), "doubled": PhaseClock(doubled=True)}


#: the orders the three operations of a set run in, one a round in turn
_ORDERS = tuple(itertools.permutations(("plain", "timed", "doubled")))


def _set_order(round_number: int, index: int) -> tuple[str, ...]:
    """The order of a round's ``index``-th set: the round's order, then mirrored, then
    mirrored again (ABBA): each operation's mean place in the round is the same, so a
    drift within the round (a connect's server thread warming up, a neighbour's burst)
    falls on the plain and the instrumented operations alike."""
    order = _ORDERS[round_number % len(_ORDERS)]
    return order[::-1] if index % 4 in (1, 2) else order


def _sets_per_round(subject: _Subject, warmup_wholes_ns: Sequence[int]) -> int:
    """``CHEAP_SETS`` sets a round for pool and persistent, and for raw when its connect is
    cheap (``CHEAP_CONNECT_NS`` in the warm-up); 2 when it is not, the fewest in mirrored
    orders."""
    if not subject.connects:
        return CHEAP_SETS
    cheap = bool(warmup_wholes_ns) and statistics.median(warmup_wholes_ns) <= CHEAP_CONNECT_NS
    return CHEAP_SETS if cheap else 2


def _measure(
    subjects: Sequence[_Subject], iterations: int, warmup: int, on_round: Callable[[int], None]
) -> dict[str, _Samples]:
    """Interleaved rounds: each runner's operation plain, instrumented, and instrumented with
    every phase doubled (``PhaseClock(doubled=True)``), side by side, in sets in mirrored
    orders (``_set_order``).

    A round runs ``_sets_per_round`` sets of each runner: raw (a connect per operation)
    two when its connect is slow (16 ms with PyMySQL's SSL context), the others and a
    cheap connect ``CHEAP_SETS`` (their medians need more samples to settle on a busy
    machine).  What the doubled operation charged beyond the instrumented one is the
    clock's own cost per phase entered, in the same code path and under the same load
    (``entry_cost_ns``); its median over the sets is taken out of every phase.  The gap
    between the phases and the plain whole is kept per round, fastest against fastest
    (``_Samples.add_round``); its median over the rounds is the phases-add-up check.
    """
    # a connect per operation is slow: one that is explained beside a cheap runner
    # borrows its cost per phase entered, the same driver and clock in the same rounds,
    # rather than connect a third time every set
    borrowed = any(not s.connects for s in subjects)
    rounds: dict[str, list[list[tuple[PhaseClock, int]]]] = {s.name: [] for s in subjects}
    entry_costs: dict[str, list[float]] = {s.name: [] for s in subjects}
    warmup_wholes_ns: dict[str, list[int]] = {s.name: [] for s in subjects}
    warmup = max(warmup, 1)  # the persistent runner connects in its first operation
    for round_number in range(warmup + iterations):
        measuring = round_number >= warmup
        for subject in subjects:
            sets = _sets_per_round(subject, warmup_wholes_ns[subject.name]) if measuring else 2
            this_round = []
            for index in range(sets):
                clocks = _clocks()
                whole_ns = 0
                order = _set_order(round_number, index)
                if subject.connects and borrowed:
                    order = tuple(step for step in order if step != "doubled")
                for step in order:
                    if not subject.connects:
                        # each after an untimed twin: an operation right after different
                        # code runs with cold caches (~35 µs slower here after another
                        # runner's, a few µs after the plain one), which would fall on
                        # some kinds more than others; raw's connect is cold anyway
                        _step(subject, step, _clocks())
                    whole_ns += _step(subject, step, clocks)
                if not measuring:
                    warmup_wholes_ns[subject.name].append(whole_ns)
                    continue
                this_round.append((clocks["timed"], whole_ns))
                if "doubled" in order:
                    entry_costs[subject.name].append(
                        entry_cost_ns(clocks["timed"], clocks["doubled"])
                    )
            if measuring:
                rounds[subject.name].append(this_round)
        on_round(round_number + 1)
    cheap_costs = [c for s in subjects if not s.connects for c in entry_costs[s.name]]
    measured = {}
    for subject in subjects:
        costs = cheap_costs if subject.connects and borrowed else entry_costs[subject.name]
        entry_ns = statistics.median(costs) if costs else 0.0
        samples = measured[subject.name] = _Samples()
        for sets in rounds[subject.name]:
            samples.add_round([(clock.net_durations_ns(entry_ns), whole) for clock, whole in sets])
    return measured


def _summaries(subject: _Subject, measured: _Samples, trips: dict[str, int]) -> RunnerExplanation:
    rank = {name: i for i, name in enumerate(subject.phase_order)}
    results = []
    for name in sorted(measured.phases, key=lambda n: rank.get(n, len(rank))):
        summary = summarize_samples(measured.phases[name])
        results.append(
            PhaseResult(
                name=name,
                description=subject.descriptions.get(name, ""),
                median_ns=summary.p50_ns,
                p95_ns=summary.p95_ns,
                round_trips=trips.get(name, 0),
            )
        )
    whole = summarize_samples(measured.wholes)
    gap_low_ns, gap_high_ns = sample_quantile_interval(measured.gaps, 0.5, GAP_CONFIDENCE)
    return RunnerExplanation(
        runner=subject.name,
        operation=subject.operation,
        iterations=len(measured.wholes),
        phases=tuple(results),
        whole_median_ns=whole.p50_ns,
        whole_p95_ns=whole.p95_ns,
        gap_median_ns=round(statistics.median(measured.gaps)),
        gap_low_ns=gap_low_ns,
        gap_high_ns=gap_high_ns,
    )


def check_arguments(runner_names: Sequence[str], driver: str) -> None:
    """An unknown driver, or a runner explain cannot split, fails before any connection."""
    driver_module(driver)
    for name in runner_names:
        if name not in EXPLAIN_RUNNERS:
            raise bad_value(
                mention("runner_names"),
                ",".join(runner_names),
                f"explain splits {', '.join(EXPLAIN_RUNNERS)}, not {name!r}",
            )


def explain(
    settings: Settings,
    runner_names: Sequence[str] = EXPLAIN_DEFAULT_RUNNERS,
    *,
    iterations: int = command_default("explain", "benchmark", "iterations"),
    warmup: int = command_default("explain", "benchmark", "warmup"),
    rtt_s: float | None = None,
    on_round: Callable[[int], None] = lambda done: None,
    on_start: Callable[[], None] = lambda: None,
    backend: Backend = LIVE,
    allow_writes: bool = False,
) -> Explanation:
    """Split each runner's operation into phases against the configured server,
    with the configured driver (``[database] driver``).

    ``on_start`` is called once the server has been checked, before the rounds.
    ``backend``: the server check, the runners (each runner's plain operation; the
    instrumented ones connect with the driver itself), the clock the plain
    operation is timed on and the wall clock of the timestamps, as for ``run``.
    A query or init_command that may write is refused unless ``allow_writes``.
    """
    settings = databases.guarded(settings, allow_writes)
    driver = settings.database.driver
    check_arguments(runner_names, driver)
    workload = Workload(settings.benchmark.query)
    database = settings.database
    started_at = iso_utc(backend.wall_clock_s())
    server = backend.check_server(database, workload)
    on_start()
    try:
        trips = count_round_trips(settings, runner_names, backend)
        subjects: list[_Subject] = []
        try:
            for name in runner_names:
                subjects.append(_Subject(name, settings, backend))
            measured = _measure(subjects, iterations, warmup, on_round)
        finally:
            for subject in subjects:
                subject.close()
    except DbbenchError:
        raise
    except Exception as exc:
        raise operation_error(exc, database, workload.query) from exc
    runners = tuple(_summaries(s, measured[s.name], trips[s.name]) for s in subjects)
    cache_hits = {
        s.name: (s.layered.cache_hits, s.layered.executions) for s in subjects if s.layered
    }
    return Explanation(
        driver=driver,
        database=database.public_dict(),
        query=workload.query,
        pool=settings.pool.describe(),
        rtt_s=rtt_s,
        runners=runners,
        findings=tuple(findings(runners, settings, rtt_s, cache_hits)),
        environment=capture_environment(server.version),
        started_at=started_at,
        finished_at=iso_utc(backend.wall_clock_s()),
    )


# --- findings ---------------------------------------------------------------------


def _tls_off_setting() -> str:
    """The setting that turns TLS off, as a finding names it (the flag on the command line)."""
    return f'{mentioned("database", "ssl_mode")} to "disabled"'


def findings(
    runners: Sequence[RunnerExplanation],
    settings: Settings,
    rtt_s: float | None,
    cache_hits: Mapping[str, tuple[int, int]] | None = None,
) -> list[str]:
    """Plain-language notes on the known costs the figures show.

    ``cache_hits``: per layered runner (``core``, ``session``), its executions whose
    compilation the engine's ``compiled_cache`` held, and all its executions."""
    notes: list[str] = []
    # each set of findings reads the phases of one breakdown: a connect's, then a checkout's
    explained_as = {r.runner: runner_class(r.runner).explained_as for r in runners}
    # the driver's own statements (psycopg's BEGIN): work a pool does too, not connecting
    statements, _ = statement_watch(driver_module(settings.database.driver))
    for runner in runners:
        if explained_as[runner.runner] == "connect":
            notes += _connect_findings(runner, settings.database.tls, statements)
    notes += _begin_findings(runners, explained_as)
    for runner in runners:
        if explained_as[runner.runner] == "checkout":
            notes += _pool_findings(runner, settings)
    layered = [r for r in runners if explained_as[r.runner] == "layers"]
    notes += _layer_findings(layered, cache_hits or {})
    for runner in runners:
        if not runner.adds_up:
            notes.append(_gap_finding(runner))
    if rtt_s is not None:
        notes.append(_projection_finding(runners, rtt_s))
    return notes


def _gap_finding(runner: RunnerExplanation) -> str:
    """A median gap beyond ADDS_UP_WITHIN: a finding when its interval is beyond it too,
    else one line that it is within the noise of the rounds."""
    gap = (
        f"{runner.runner}: an operation's phases, added up, differ from the whole operation "
        f"timed beside it by {_duration(abs(runner.gap_median_ns))} (median), more than "
        f"{ADDS_UP_WITHIN:.0%} of its {_duration(runner.whole_median_ns)}"
    )
    interval = runner.describe_gap_interval()
    if interval is not None and runner.may_add_up:
        return f"{gap}, but within noise ({interval} of it, reaching inside {ADDS_UP_WITHIN:.0%})"
    return (
        f"{gap}{f' ({interval} of it)' if interval else ''}: read the shares with care "
        "(a busy machine, or the instrumentation's own cost)"
    )


def _connect_findings(
    raw: RunnerExplanation, tls: TlsSettings, statements: Sequence[str] = ()
) -> list[str]:
    notes = []
    context = raw.phase("SSL context")
    handshake = raw.phase("TLS handshake")
    if context is not None and raw.share(context) >= NOTABLE_SHARE:
        unused = (
            " The server did not offer TLS, so the context was never used."
            if handshake is None
            else ""
        )
        if tls.mode == "preferred":
            why = "with no ssl_* setting PyMySQL tries TLS ('preferred') and builds"
        else:
            why = f"with ssl_mode {tls.mode} PyMySQL builds"
        store = "ssl_ca" if tls.ca is not None else "the system's CA store"
        notes.append(
            Mentioning(
                f"SSL context creation takes {_duration(context.median_ns)} of "
                f"{_duration(raw.whole_median_ns)} per connect ({raw.share(context):.0%}): {why} "
                f"a new context, loading {store}, in every connect.{unused} "
                f"Set {_tls_off_setting()} when "
                "the network is trusted; for TLS, pass one prebuilt ssl.SSLContext (ssl=...) "
                "so it is built once; or use a pool, which pays it once per connection."
            )
        )
    if handshake is not None and raw.share(handshake) >= NOTABLE_SHARE:
        notes.append(
            f"the TLS handshake takes {_duration(handshake.median_ns)} and "
            f"{handshake.round_trips} round trip(s) per connect ({raw.share(handshake):.0%}): "
            "a pool or a persistent connection pays it once per connection."
        )
    autocommit = raw.phase("SET AUTOCOMMIT")
    if autocommit is not None and autocommit.round_trips:
        notes.append(
            f"PyMySQL's default autocommit=False sends SET AUTOCOMMIT = 0 in every connect: "
            f"{autocommit.round_trips} round trip(s), {_duration(autocommit.median_ns)} here, one "
            "RTT each on a network. Code that runs single statements can pass "
            "autocommit=True (the server's default: nothing is sent); a pool pays it once "
            "per connection."
        )
    negotiation = raw.phase("TLS")
    if negotiation is not None:
        notes.append(_tls_finding(raw, negotiation))
    resolution = raw.phase("name resolution")
    if resolution is not None and resolution.median_ns >= 1_000_000:
        notes.append(
            f"name resolution takes {_duration(resolution.median_ns)} per connect: connect by "
            "IP address, or run a local resolver cache."
        )
    query = raw.phase("query")
    if query is not None and raw.whole_median_ns:
        work = [query, *(p for p in map(raw.phase, statements) if p is not None)]
        connecting = max(raw.whole_median_ns - sum(p.median_ns for p in work), 0)
        but = " and ".join(["the query", *(p.name for p in work[1:])])
        notes.append(
            f"raw: everything but {but} (connecting and closing) is "
            f"{connecting / raw.whole_median_ns:.0%} of its operation "
            f"({_duration(connecting)} of {_duration(raw.whole_median_ns)}) and "
            f"{raw.round_trips - sum(p.round_trips for p in work)} of its {raw.round_trips} "
            "round trips: that is what a pool saves on every request."
        )
    return notes


def _all_phases(runner: RunnerExplanation, *names: str) -> list[PhaseResult] | None:
    """The runner's phases of these names, in that order; None when one is missing."""
    found = [runner.phase(name) for name in names]
    return None if None in found else found  # type: ignore[return-value]


def _layer_findings(
    layered: Sequence[RunnerExplanation], cache_hits: Mapping[str, tuple[int, int]]
) -> list[str]:
    """What SQLAlchemy's layers over the pool cost: Core's statement handling over the
    DB-API call, a Session's own work, and the pool's second ROLLBACK after a Session."""
    notes = []
    for runner in layered:
        found = _all_phases(runner, layer_phases.STATEMENT, layer_phases.RESULT, layer_phases.DBAPI)
        if found is None:
            continue
        statement, result, call = found
        handling_ns = statement.median_ns + result.median_ns
        hits, executions = cache_hits.get(runner.runner, (0, 0))
        cache = ""
        if executions:
            cache = (
                f"; the compiled statement was found in the engine's compiled_cache in {hits} "
                f"of {executions} executions"
            )
            if executions - hits == 1:
                cache += " (the first compiled it)"
            elif executions - hits > 1:
                cache += ": it was compiled again on the others (a statement made anew, or a "
                cache += "cache too small: the engine's query_cache_size)"
        notes.append(
            f"{runner.runner}: Core's statement handling (the statement: compiled_cache lookup, "
            f"autobegin, execution context, {_duration(statement.median_ns)}; the result: "
            f"CursorResult and rows, {_duration(result.median_ns)}) adds "
            f"{_duration(handling_ns)} per operation over the DB-API execute's "
            f"{_duration(call.median_ns)} ({handling_ns / runner.whole_median_ns:.0%} of its "
            f"{_duration(runner.whole_median_ns)}){cache}. A hot path that runs one fixed "
            "statement can drop to the pool's DB-API connection (engine.raw_connection(), as "
            "the pool runner) and do without it."
        )
    for runner in layered:
        found = _all_phases(
            runner, layer_phases.NEW_SESSION, layer_phases.SESSION_EXECUTE, layer_phases.CLOSE
        )
        if found is None:
            continue
        created, own, close = found
        session_ns = created.median_ns + own.median_ns
        core = next((r for r in layered if r.phase(layer_phases.CHECKIN)), None)
        reset = runner.phase(layer_phases.RESET)
        reset_ns = reset.median_ns if reset is not None else 0
        beside = ""
        # dropping to Core is advised with the figure of what it leaves out, measured
        # beside core in this run; without core, the run has no such figure to give
        drop = (
            "; explain --runner core,session measures what dropping to Core "
            "(engine.connect()) would leave out"
        )
        checkin = core.phase(layer_phases.CHECKIN) if core is not None else None
        if checkin is not None:
            # the layers a Session has and Core has not, phase by phase: the wholes of two
            # runners differ by their server connections' luck too (up to ×2 under load)
            beyond_ns = max(close.median_ns - checkin.median_ns, 0)
            over_core = _duration(session_ns + reset_ns + beyond_ns)
            beside = (
                f" ({core.runner}'s checkin {_duration(checkin.median_ns)}); with the pool's "
                f"reset-on-return ({_duration(reset_ns)}) and its close beyond that checkin "
                f"({_duration(beyond_ns)}), a Session per operation costs "
                f"{over_core} over Core's layers"
            )
            drop = f", or drop to Core (engine.connect()) on a hot path, without those {over_core}"
        notes.append(
            f"{runner.runner}: a Session per operation adds {_duration(session_ns)} of its "
            f"own (Session() {_duration(created.median_ns)}, its execute's own work "
            f"{_duration(own.median_ns)}), and its close takes {_duration(close.median_ns)} "
            f"with the Connection's close and the checkin{beside}. Session() and its close, "
            f"{_duration(created.median_ns + close.median_ns)} here, come once per Session "
            "however many statements it runs: reuse one Session for the statements of a "
            f"request rather than one per statement{drop}."
        )
        if reset is not None and reset.round_trips:
            notes.append(
                Mentioning(
                    f"{runner.runner}: Session.close() rolls the transaction back, then the "
                    f"pool's reset-on-return sends a second ROLLBACK at checkin "
                    f"({_duration(reset.median_ns)} and {reset.round_trips} round trip(s) per "
                    "operation here, one RTT on a network): the Session ends the transaction "
                    "apart from closing its Connection, so the pool is not told it was "
                    "reset. When every checkout goes through a Session or a Connection that "
                    f"ends its transaction, {mentioned('pool', 'pool_reset_on_return')} none "
                    "removes it; keep it if any code path returns a connection "
                    "mid-transaction."
                )
            )
    return notes


def _tls_finding(raw: RunnerExplanation, negotiation: PhaseResult) -> str:
    """TLS's share of a libpq connect, next to the rest of it: what a plain connect keeps."""
    return Mentioning(
        f"TLS (the SSLRequest, and the handshake when the server agrees) takes "
        f"{_duration(negotiation.median_ns)} of {raw.runner}'s "
        f"{_duration(raw.whole_median_ns)} operation ({raw.share(negotiation):.0%}) and "
        f"{negotiation.round_trips} of its {raw.round_trips} round trips; a plain connect "
        f"({_tls_off_setting()}) does without its round trips, leaving "
        f"{raw.round_trips - negotiation.round_trips}, but not all of its time: the new "
        "backend answers the SSLRequest, so its start is in this phase, and a plain connect "
        "waits for it in its startup instead (measure both to see what is saved); a pool "
        "pays it once per connection."
    )


def _begin_findings(
    runners: Sequence[RunnerExplanation], explained_as: dict[str, str | None]
) -> list[str]:
    """psycopg's BEGIN, once, where the operations explained send one."""
    sending = [
        (r.runner, p) for r in runners if (p := r.phase("BEGIN")) is not None and p.round_trips
    ]
    if not sending:
        return []
    each = "; ".join(f"{name} {_duration(p.median_ns)}" for name, p in sending)
    first = (
        ": on a new connection it is the new backend's first statement, which warms its caches"
        if any(explained_as[name] == "connect" for name, _ in sending)
        else ""
    )
    return [
        "psycopg's default autocommit=False sends BEGIN before the first statement of every "
        f"transaction, a round trip of its own per operation ({each} here{first}), one RTT "
        "each on a network. Code whose statements stand alone can connect with "
        'autocommit=True (SQLAlchemy: isolation_level="AUTOCOMMIT"): nothing is sent.'
    ]


def _pool_findings(pool: RunnerExplanation, settings: Settings) -> list[str]:
    notes = []
    reset = pool.phase(pool_phases.RESET)
    if reset is not None and pool.share(reset) >= NOTABLE_SHARE:
        notes.append(
            Mentioning(
                f"pool: reset-on-return ({settings.pool.pool_reset_on_return.upper()} at "
                f"checkin) takes {_duration(reset.median_ns)} of "
                f"{_duration(pool.whole_median_ns)} ({pool.share(reset):.0%}) and "
                f"{reset.round_trips} round trip(s): setting "
                f"{mentioned('pool', 'pool_reset_on_return')} to none removes it, but a "
                "connection returned mid-transaction then stays so; keep it unless every code "
                "path commits or rolls back."
            )
        )
    ping = pool.phase(pool_phases.PRE_PING)
    if ping is not None:
        notes.append(
            Mentioning(
                f"pool: pre-ping takes {_duration(ping.median_ns)} and {ping.round_trips} round "
                f"trip(s) per checkout; {mentioned('pool', 'pool_recycle')} below "
                f"{databases.database_for(settings.database).idle_limit} also avoids stale "
                "connections, without a round trip per request."
            )
        )
    return notes


def _projection_finding(runners: Sequence[RunnerExplanation], rtt_s: float) -> str:
    rtt_ns = rtt_s * 1e9
    parts = [
        f"{r.runner} {r.round_trips} × {_duration(rtt_ns)} → {_duration(r.projected_ns(rtt_ns))}"
        for r in runners
    ]
    return (
        f"at a round-trip time of {_duration(rtt_ns)}: " + "; ".join(parts) + " (median measured "
        "here + round trips × RTT: a floor, since both ends idle through each round trip "
        "and wake slower, and bandwidth is left out)"
    )


# --- --rtt on run and compare -------------------------------------------------------


def count_labelled_round_trips(
    settings: Settings,
    runner_names: Sequence[str],
    driver_names: Sequence[str],
    backend: Backend = LIVE,
) -> dict[str, dict[str, int]]:
    """``count_round_trips`` for ``dbbench run --driver a,b``: with several drivers,
    each driver's counts under the runners' labels (``raw/mysqlclient``, ...)."""
    if len(driver_names) <= 1:
        return count_round_trips(settings, runner_names, backend)
    counts: dict[str, dict[str, int]] = {}
    for driver in driver_names:
        database = dataclasses.replace(settings.database, driver=driver)
        per_driver = count_round_trips(
            dataclasses.replace(settings, database=database), runner_names, backend
        )
        counts.update({f"{name}/{driver}": phases for name, phases in per_driver.items()})
    return counts


def count_run_round_trips(
    settings: Settings,
    runner_names: Sequence[str],
    driver_names: Sequence[str] = (),
    *,
    backend: Backend = LIVE,
    allow_writes: bool = False,
) -> dict[str, dict[str, int]]:
    """For ``dbbench run --rtt``, before the run (its server counters must not see these):
    the round trips of the runners explain can split, per label; the others are left out.
    A query or init_command that may write is refused unless ``allow_writes``."""
    settings = databases.guarded(settings, allow_writes)
    backend.check_server(settings.database, workload_for(settings.benchmark))
    counted = [name for name in runner_names if name in EXPLAIN_RUNNERS]
    return count_labelled_round_trips(settings, counted, driver_names, backend)


def project_run(result: RunResult, trips: dict[str, dict[str, int]], rtt_s: float) -> RunProjection:
    """``result``'s medians with ``trips`` (``count_run_round_trips``)."""
    medians = {r.runner: r.summary.p50_ns for r in result.runners if r.summary}
    return RunProjection(rtt_s, tuple(run_projection(medians, trips, rtt_s)))


def run_projection(
    medians_ns: dict[str, int], trips: dict[str, dict[str, int]], rtt_s: float
) -> list[ProjectedRunner]:
    """For ``dbbench run --rtt``: each runner's median, its round trips and the projection."""
    rows = []
    for runner, median_ns in medians_ns.items():
        if runner not in trips:
            continue  # nullpool: explain does not count it
        count = sum(trips[runner].values())
        projected = round(projected_ns(median_ns, count, rtt_s * 1e9))
        rows.append(ProjectedRunner(runner, median_ns, count, projected))
    return rows


