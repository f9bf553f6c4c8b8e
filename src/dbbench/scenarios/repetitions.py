"""``--repeat K``: K results of the same run, each measured afresh, as one result.

A repetition is a whole run (``execute_run``): its runners, pools and, with
``--processes``, processes opened anew, measured in turns.  ``combine`` keeps
each repetition's runners apart (``RunResult.repetitions``: the variation
between them is what every verdict of a repeated run rests on) and merges them
into the run's runners: histograms added exactly, counts summed, measured time
added, so the merged percentiles are those of every operation of every
repetition.  The first operation is the first repetition's: the cold start of
the run; each repetition's own is in its runners.

Pure: results in, a result out.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from dbbench.engine.timeline import ErrorTimeline
from dbbench.histogram import LatencyHistogram
from dbbench.results.model import (
    ClusterSummary,
    ConnectionMemorySummary,
    CrossCheck,
    Distribution,
    PoolCounters,
    PooledSummary,
    PoolerSummary,
    Repetition,
    RunnerResult,
    RunResult,
    Scratch,
    ScriptSummary,
    ServerSummary,
    SpeedupResult,
    TimelineSummary,
    WorkerRunner,
)
from dbbench.runners import baseline_for
from dbbench.scenarios import pooler
from dbbench.stats import summarize


def combine(parts: Sequence[RunResult], repeat: int) -> RunResult:
    """The ``repeat`` repetitions of a run (``parts``, in the order they ran) as one result.

    Fewer parts than ``repeat`` (a repetition stopped by ``--max-errors`` or Ctrl-C,
    the rest never run) make an incomplete result.  One part of one is returned as it is.
    """
    if not parts:
        raise ValueError("no repetitions to combine")
    first, last = parts[0], parts[-1]
    if repeat == 1 and len(parts) == 1:
        return first
    order = {r.runner: i for i, r in enumerate(first.runners)}
    origin = _instant(first.started_at)
    offsets = [_offset_s(origin, part.started_at) for part in parts]
    runners = [
        merge_runners([r for part in parts if (r := part.runner(name.runner)) is not None], offsets)
        for name in first.runners
    ]
    combined = dataclasses.replace(
        first,
        runners=runners,
        speedups=speedups_between(parts),
        complete=len(parts) == repeat and all(part.complete for part in parts),
        stopped=next((part.stopped for part in parts if part.stopped), None),
        finished_at=last.finished_at,
        server=merge_servers([part.server for part in parts]),
        scratch=_scratch([part.scratch for part in parts]),
        cluster=merge_clusters([part.cluster for part in parts if part.cluster is not None]),
        repetitions=tuple(
            Repetition(
                number=number,
                # in the run's order, whatever order this repetition ran them in
                runners=sorted(part.runners, key=lambda r: order.get(r.runner, len(order))),
                complete=part.complete,
                started_at=part.started_at,
                finished_at=part.finished_at,
            )
            for number, part in enumerate(parts, start=1)
        ),
    )
    return dataclasses.replace(combined, notes=_notes(parts, combined))


#: how a process ended, the worst of its repetitions' first
_STATUS_ORDER = ("lost", "failed", "stopped", "running", "finished")


def merge_clusters(parts: Sequence[ClusterSummary]) -> ClusterSummary | None:
    """The repetitions' runs on a Dask cluster as one: each process's runners summed over
    them (counts and measured time added, histograms merged exactly, as the run's own
    runners are), its worst ending, the widest start skew."""
    if not parts:
        return None
    workers = []
    for process in sorted({w.process for part in parts for w in part.workers}):
        own = [w for part in parts for w in part.workers if w.process == process]
        names = list(dict.fromkeys(r.runner for w in own for r in w.runners))
        runners = []
        for name in names:
            found = [r for w in own for r in w.runners if r.runner == name]
            histogram = LatencyHistogram()
            for r in found:
                if r.latency is not None:
                    histogram.merge(r.latency.histogram)
            runners.append(
                WorkerRunner(
                    name,
                    sum(r.n for r in found),
                    sum(r.errors for r in found),
                    sum(r.measured_s for r in found),
                    Distribution.of(histogram),
                )
            )
        worst = min(own, key=lambda w: _STATUS_ORDER.index(w.status))
        workers.append(dataclasses.replace(worst, runners=tuple(runners)))
    skews = [part.start_skew_s for part in parts if part.start_skew_s is not None]
    return ClusterSummary(parts[0].scheduler, max(skews) if skews else None, tuple(workers))


def _notes(parts: Sequence[RunResult], combined: RunResult) -> list[Any]:
    """Each repetition's notes once; its own count of the server's connections against
    the pooler's clients (``pooler.note_of``) replaced by one of the whole run, from the
    counts summed over the repetitions."""
    own = {note for part in parts if (note := pooler.note_of(part)) is not None}
    notes = _unique(note for part in parts for note in part.notes if str(note) not in own)
    whole = pooler.note_of(combined)
    return notes + ([whole] if own and whole is not None else [])


def speedups_between(parts: Sequence[RunResult]) -> list[SpeedupResult]:
    """Each runner's speedup over its baseline (``raw`` of its driver), from the two
    runners' mean latencies in each repetition, paired (they ran in the same turns):
    ``significance.speedup_between_repetitions``, its interval the variation between
    repetitions.  A runner is left out where either side had no success in a repetition."""
    # scipy: imported only when repetitions are compared
    from dbbench.significance import paired_speedup

    speedups = []
    for runner in parts[0].runners:
        name = runner.runner
        baseline = baseline_for(name)
        if baseline == name:
            continue
        speedup = paired_speedup(parts, baseline, name)
        if speedup is not None:
            speedups.append(SpeedupResult(name, baseline, speedup))
    return speedups


def merge_runners(parts: Sequence[RunnerResult], offsets_s: Sequence[float]) -> RunnerResult:
    """One runner's repetitions, one after another, as one: every operation of each.

    ``offsets_s`` are the repetitions' starts, in seconds after the first one's: each
    repetition's error timeline counts from its own start, the merged one from the first's.
    """
    first = parts[0]
    latency = _merged([p.latency for p in parts])
    checkout = _merged([p.checkout_latency for p in parts])
    counters = [p.pool for p in parts if p.pool is not None]
    errors: Counter[str] = Counter()
    for part in parts:
        errors.update(part.errors_by_kind)
    return RunnerResult(
        runner=first.runner,
        summary=summarize(latency) if latency is not None and latency.count else None,
        checkout=summarize(checkout) if checkout is not None and checkout.count else None,
        errors_by_kind=dict(errors),
        warmup_errors=sum(p.warmup_errors for p in parts),
        first_op_ns=first.first_op_ns,
        measured_s=sum(p.measured_s for p in parts),
        pool=_pool(counters),
        connections_opened=sum(p.connections_opened for p in parts),
        connects_failed=sum(p.connects_failed for p in parts),
        target_rate_per_s=first.target_rate_per_s,
        error_timeline=_timeline(parts, offsets_s),
        latency=Distribution.of(latency) if latency is not None else None,
        checkout_latency=Distribution.of(checkout)
        if checkout is not None and checkout.count
        else None,
        scripts=merge_scripts([p.scripts for p in parts]),
    )


def merge_scripts(
    parts: Sequence[tuple[ScriptSummary, ...] | None],
) -> tuple[ScriptSummary, ...] | None:
    """A run of scripts' per-script and per-statement figures over its repetitions: the
    operations, think time and failures added up, each statement's histograms merged
    exactly.  The repetitions ran the same scripts in the same order (one settings)."""
    present = [p for p in parts if p is not None]
    if not present:
        return None
    merged = []
    for number, first in enumerate(present[0]):
        same = [p[number] for p in present]
        statements = []
        for index, statement in enumerate(first.statements):
            each = [s.statements[index] for s in same]
            latency = _merged([s.latency for s in each])
            counted = latency is not None and latency.count > 0
            statements.append(
                dataclasses.replace(
                    statement,
                    n=sum(s.n for s in each),
                    errors=sum(s.errors for s in each),
                    summary=summarize(latency) if counted else None,
                    latency=Distribution.of(latency) if counted else None,
                )
            )
        merged.append(
            dataclasses.replace(
                first,
                operations=sum(s.operations for s in same),
                think_s=sum(s.think_s for s in same),
                statements=tuple(statements),
            )
        )
    return tuple(merged)


def _pool(counters: Sequence[PoolCounters]) -> PoolCounters | None:
    """Pools of repetitions one after another: their events added, and the most checked out
    at once the highest of them (they never held connections at the same time)."""
    if not counters:
        return None
    total = sum(counters, PoolCounters.ZERO)
    return dataclasses.replace(total, peak_checked_out=max(c.peak_checked_out for c in counters))


def merge_servers(parts: Sequence[ServerSummary | None]) -> ServerSummary | None:
    """What the server saw over every repetition: counters added, the peak the highest,
    and the cross-check of dbbench's connections against the server's over them all."""
    known = [p for p in parts if p is not None]
    if not known:
        return None
    deltas: Counter[str] = Counter()
    for part in known:
        deltas.update(part.deltas or {})
    checks = [p.cross_check for p in known if p.cross_check is not None]
    return ServerSummary(
        deltas=dict(deltas) if any(p.deltas is not None for p in known) else None,
        threads_connected_before=known[0].threads_connected_before,
        threads_connected_peak=_highest(p.threads_connected_peak for p in known),
        samples=_total(p.samples for p in known),
        max_connections=known[0].max_connections,
        monitor_connections=_total(p.monitor_connections for p in known),
        complete=all(bool(p.complete) for p in known),
        error=next((p.error for p in known if p.error), None),
        cross_check=_cross_check(checks) if checks else None,
        backends_before=known[0].backends_before,
        backends_peak=_highest(p.backends_peak for p in known),
        superuser_reserved_connections=known[0].superuser_reserved_connections,
        numbackends_before=known[0].numbackends_before,
        numbackends_after=known[-1].numbackends_after,
        stats_settled=_settled(p.stats_settled for p in known),
        pooler=merge_poolers([p.pooler for p in known]),
        connection_memory=_memory([p.connection_memory for p in known]),
    )


def merge_poolers(parts: Sequence[PoolerSummary | None]) -> PoolerSummary | None:
    """What the server-side pooler saw over every repetition (each read its console
    afresh): each pool's counts added, its peaks the highest, the server connections it
    kept after the last one's; complete only if every repetition's was."""
    known = [p for p in parts if p is not None]
    if not known:
        return None
    first = known[0]
    pools = tuple(
        _pooled([
            found for p in known
            if (found := p.pool_of(pool.target, pool.runner)) is not None
        ])
        for pool in first.pools or ()
    )
    return PoolerSummary(
        kind=first.kind,
        version=first.version,
        samples=_total(p.samples for p in known),
        complete=len(known) == len(parts) and all(bool(p.complete) for p in known),
        error=next((p.error for p in known if p.error), None),
        pools=pools if first.pools is not None else None,
    )


def _pooled(parts: Sequence[PooledSummary]) -> PooledSummary:
    """One pool over the repetitions; a count one of them lacks (its console lost) is
    unknown, not the others' sum."""
    first, last = parts[0], parts[-1]
    transactions = _sum_all(p.transactions for p in parts)
    wait_us = _sum_all(p.wait_us for p in parts)
    return PooledSummary(
        target=first.target,
        runner=first.runner,
        database=first.database,
        pool_mode=first.pool_mode,
        peak_clients=_highest(p.peak_clients for p in parts),
        peak_waiting=_highest(p.peak_waiting for p in parts),
        peak_servers=_highest(p.peak_servers for p in parts),
        peak_active_servers=_highest(p.peak_active_servers for p in parts),
        servers_after=last.servers_after,
        transactions=transactions,
        queries=_sum_all(p.queries for p in parts),
        wait_us=wait_us,
        mean_wait_us=_mean_wait_us(parts, wait_us),
        mean_transaction_us=_mean_transaction_us(parts, transactions),
    )


def _mean_transaction_us(parts: Sequence[PooledSummary], transactions: int | None) -> float | None:
    """The mean time a transaction held its server connection, over every repetition's
    transactions (each repetition's mean weighted by its count)."""
    if not transactions:
        return None
    held = [(p.mean_transaction_us, p.transactions) for p in parts if p.transactions]
    if any(mean is None for mean, _ in held):
        return None
    return sum(mean * count for mean, count in held) / transactions


def _mean_wait_us(parts: Sequence[PooledSummary], wait_us: int | None) -> float | None:
    """The mean wait per assignment over every repetition: the waits added over the
    assignments added, each repetition's assignments its wait over its mean.  None where a
    repetition's mean is not known, or its assignments cannot be told (no wait: a mean
    of 0 says nothing of how many there were) while another's can."""
    means = [p.mean_wait_us for p in parts]
    if wait_us is None or any(mean is None for mean in means):
        return None
    if wait_us == 0:
        return 0.0
    if any(not mean for mean in means):
        return None
    assignments = sum(
        (p.wait_us or 0) / mean for p, mean in zip(parts, means, strict=True) if mean
    )
    return wait_us / assignments


def _memory(
    readings: Sequence[ConnectionMemorySummary | None],
) -> ConnectionMemorySummary | None:
    """The memory reading of the repetition at the highest peak (of those at it, the one
    that read the most connections, the latest of those), as each repetition's is of its
    own peak; else the first's reason for having none."""
    known = [r for r in readings if r is not None]
    read = [r for r in known if r.measures]
    if read:
        return max(reversed(read), key=lambda r: (r.backends or 0, r.connections or 0))
    return known[0] if known else None


def _settled(values: Iterable[bool | None]) -> bool | None:
    """Whether every repetition's statistics were settled; None when none said."""
    known = [v for v in values if v is not None]
    return all(known) if known else None


def _cross_check(checks: Sequence[CrossCheck]) -> CrossCheck:
    by_runner: Counter[str] = Counter()
    for check in checks:
        by_runner.update(check.by_runner or {})
    return CrossCheck(
        server_connections=_total(c.server_connections for c in checks),
        dbbench_connections=_total(c.dbbench_connections for c in checks),
        by_runner=dict(by_runner),
        matches=all(bool(c.matches) for c in checks),
    )


def _merged(distributions: Iterable[Distribution | None]) -> LatencyHistogram | None:
    present = [d for d in distributions if d is not None]
    if not present:
        return None
    merged = LatencyHistogram()
    for distribution in present:
        merged.merge(distribution.histogram)
    return merged


def _timeline(parts: Sequence[RunnerResult], offsets_s: Sequence[float]) -> TimelineSummary | None:
    merged: ErrorTimeline | None = None
    for part, offset_s in zip(parts, offsets_s, strict=True):
        if part.error_timeline is None:
            continue
        shifted = ErrorTimeline.from_dict(part.error_timeline.to_document()).shifted(offset_s)
        if merged is None:
            merged = shifted
        else:
            merged.merge(shifted)
    return None if merged is None else TimelineSummary.from_document(merged.to_dict())


def _scratch(parts: Sequence[Scratch | None]) -> Scratch | None:
    """Each repetition wrote into a scratch table of its own: the first one named, the rows
    of them all counted (unknown if any count is), dropped only if all were."""
    known = [p for p in parts if p is not None]
    if not known:
        return None
    rows = [p.rows for p in known]
    return Scratch(
        table=known[0].table,
        database=known[0].database,
        rows=None if None in rows else sum(r for r in rows if r is not None),
        dropped=all(p.dropped for p in known),
    )


def _instant(iso: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(iso) if iso else None


def _offset_s(origin: dt.datetime | None, iso: str | None) -> float:
    """Seconds from the first repetition's start to this one's (to the second: the
    documents keep times to the second)."""
    start = _instant(iso)
    return (start - origin).total_seconds() if origin and start else 0.0


def _unique(notes: Iterable[Any]) -> list[Any]:
    """Each note once, in the order first said (every repetition finds the same ones)."""
    seen: set[str] = set()
    kept = []
    for note in notes:
        if str(note) not in seen:
            seen.add(str(note))
            kept.append(note)
    return kept


def _total(values: Iterable[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def _sum_all(values: Iterable[int | None]) -> int | None:
    """The sum, or None when any value is unknown."""
    listed = list(values)
    return None if None in listed else sum(v for v in listed if v is not None)


def _highest(values: Iterable[int | None]) -> int | None:
    return max((v for v in values if v is not None), default=None)


__all__ = ["combine", "merge_poolers", "merge_runners", "merge_servers", "speedups_between"]
