"""What a run of several configurations says, in plain words -- targets (``--target``,
``--pooler``) or variants (``--variant``): each runner on every other one beside the same
runner on the first (``direct``), and what the server-side pooler saw.  The table and
Markdown print the same lines.

A verdict ("more", "less") is said only beyond the noise that would change it: the
repetitions' with ``--repeat``, else the noise within the run (which a rerun can exceed,
and the line says so).  The interval is always of the figure the sentence gives: "1.30×
more (95% CI 1.22–1.39)" bounds how many times more, "2.96× less (95% CI 2.80–3.12)" how
many times less.

The pooler's figures are of its pools: each runner's own of each target (a file of an
older dbbench: one per target, every runner's together).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from dbbench.config.settings import split_label
from dbbench.numbers import (
    MISSING,
    count,
    ms_from_ns,
    overflow,
    ratio,
    ratio_digits,
    signed_ms_from_ns,
)
from dbbench.results.model import PoolerSummary, RunnerResult, RunResult, SweepResult
from dbbench.runners import RunnerLabel, runner_class
from dbbench.stats import Speedup, speedup

#: the pooler kinds as their makers spell them
POOLER_NAMES = {"pgbouncer": "PgBouncer"}
#: a pooler that opened at least this share of server connections per client connection
#: made through it reused few of them: the raw runner's finding says why
MOSTLY_NEW_SERVERS = 0.5


def target_findings(result: RunResult) -> list[str]:
    """Each runner on every other configuration beside the same runner on the first --
    after raw's, why a connect through the pooler cost a new server connection when it
    did -- then a connect through each pooled target against the application pool on the
    first, the clients a pooled target's server connections held, and what a run of one
    process leaves out.

    e.g. "raw: a new connection per operation costs 0.662 ms on pgbouncer-session
    against 6.083 ms on direct: -5.421 ms per operation, 9.19× less (95% CI 7.90–10.80, noise
    within this one run only)"; "pool: with an application pool in front, an operation
    costs 0.794 ms on pgbouncer-session against 0.632 ms on direct: +0.162 ms per
    operation, 1.26× more (...)".  No verdict where either side failed more than
    ``FAILED_SHARE`` of its operations: the figures are not of the same work then.
    """
    targets = [v.name for v in result.settings.variants or () if v.name is not None]
    if len(targets) < 2:
        return []
    first, *others = targets
    lines = []
    closing_inside = False
    for runner in result.runners:
        label = RunnerLabel.parse(runner.runner)
        if label.variant not in others:
            continue
        base_label = str(dataclasses.replace(label, variant=first))
        base = result.runner(base_label)
        if base is None or base.summary is None or runner.summary is None:
            continue
        here, there = runner.summary.mean_ns, base.summary.mean_ns
        failing = failed_too_often(runner) or failed_too_often(base)
        said = failing or verdict(between(result, base_label, runner.runner), here - there)
        if closing_inside and not _connects(runner.runner, resetting=False):
            lines.extend(_new_server_connections(result))
            closing_inside = False
        lines.append(
            f"{label.kind}: {_subject(label.kind)} costs {ms_from_ns(here)} ms on "
            f"{label.variant} against {ms_from_ns(there)} ms on {first}: {said}"
        )
        closing_inside = closing_inside or _connects(runner.runner, resetting=False)
    if closing_inside:
        lines.extend(_new_server_connections(result))
    lines.extend(_pooler_against_pool(result, first))
    lines.extend(_held(result))
    lines.extend(_one_process(result))
    return lines


#: a runner that failed more than this share of its operations gets no verdict
FAILED_SHARE = 0.01


def failed_too_often(runner: RunnerResult) -> str | None:
    """Why no verdict can be said of ``runner``'s figures: "no verdict: raw@b failed
    250 of 300 operations"; None when it failed at most ``FAILED_SHARE`` of them."""
    attempted = runner.n + runner.errors
    if not attempted or runner.errors <= FAILED_SHARE * attempted:
        return None
    return (
        f"no verdict: {runner.runner} failed {count(runner.errors)} of {count(attempted)} "
        "operations (its figures are of the ones that succeeded)"
    )


def speedup_lines(result: RunResult, describe: Callable[[str, str, Speedup], str]) -> list[str]:
    """The run's speedups over raw as ``describe`` says each, but for a runner or baseline
    that failed more than ``FAILED_SHARE`` of its operations: no verdict for those."""
    lines = []
    for s in result.speedups:
        sides = (result.runner(s.runner), result.runner(s.baseline))
        failing = next((why for r in sides if r is not None and (why := failed_too_often(r))), None)
        if failing:
            lines.append(f"{s.runner} against {s.baseline}: {failing}")
        else:
            lines.append(describe(s.runner, s.baseline, s.speedup))
    return lines


def _pooler_against_pool(result: RunResult, first: str) -> list[str]:
    """The question itself: the cheapest connect per operation through each pooled target
    (a server-side pooler alone) against the cheapest application pool on the first (an
    application pool alone)."""
    pooler = _pooler(result)
    if pooler is None:
        return []
    pools = _cheapest(result, first, lambda label: _holds_pool(label))
    if pools is None:
        return []
    lines = []
    for target in dict.fromkeys(pool.target for pool in pooler.pools or ()):
        connects = _cheapest(
            result, target, lambda label: _connects(label, resetting=True)
            or _connects(label, resetting=False),
        )
        if connects is None:
            continue
        here, there = connects.summary.mean_ns, pools.summary.mean_ns
        failing = failed_too_often(connects) or failed_too_often(pools)
        said = failing or verdict(between(result, connects.runner, pools.runner), there - here)
        lines.append(
            f"{_name(pooler)} alone against an application "
            f"pool alone: a new connection per operation through {target} "
            f"({connects.runner}) costs {ms_from_ns(here)} ms, an operation of the "
            f"application pool on {first} ({pools.runner}) {ms_from_ns(there)} ms: the "
            f"application pool: {said}"
        )
    return lines


def _cheapest(result: RunResult, target: str | None, kind_of: Callable[[str], bool]):
    """The runner on ``target`` of the lowest mean among those ``kind_of`` takes."""
    found = [
        r for r in result.runners
        if split_label(r.runner)[1] == target and kind_of(r.runner) and r.summary is not None
    ]
    return min(found, key=lambda r: r.summary.mean_ns, default=None)


def _holds_pool(label: str) -> bool:
    runner = _traits(RunnerLabel.parse(label).kind)
    return bool(runner and runner.holds_pool)


def _one_process(result: RunResult) -> list[str]:
    """What a run of one process through a pooler does not show: what a pooler is for."""
    if _pooler(result) is None or result.settings.benchmark.processes != 1:
        return []
    return [
        "one process: what a server-side pooler is for, many processes and hosts sharing "
        "few server connections, is not exercised here; --processes 4 -c 32 --runner pool "
        "--rate 500 --duration 10s (an open loop, whose clients wait between requests as "
        "an application's do) shows how many server connections it holds for their pools"
    ]


def _held(result: RunResult) -> list[str]:
    """For each application pool's own pool of the pooler, how many of its clients shared
    how many server connections at most (the pooler's peaks, in samples of its console:
    a pool that one runner alone went through, as each runner's is now; of an older
    file, a target's pool that one runner alone went through)."""
    pooler = _pooler(result)
    if pooler is None:
        return []
    kind = _name(pooler)
    lines = []
    for pool in pooler.pools or ():
        runners = [r.runner for r in _runners_of(result, pool)]
        if len(runners) != 1 or not pool.peak_clients or not pool.peak_servers:
            continue
        if pool.peak_clients < pool.peak_servers:  # peaks of two moments: no ratio
            continue
        if not _holds_pool(runners[0]):
            continue
        lines.append(
            f"{split_label(runners[0])[0]} on {pool.target}: {kind} held at most "
            f"{pool.peak_servers} server connections for at most {pool.peak_clients} clients "
            f"({pool.peak_clients / pool.peak_servers:.1f} per server connection, in samples "
            "of its console)"
        )
    return lines


def _runners_of(result: RunResult, pool) -> list[RunnerResult]:
    """The runners that went through ``pool``: its runner's alone where it is a runner's
    own, else every runner on its target."""
    return [
        r for r in result.runners
        if split_label(r.runner)[1] == pool.target
        and (pool.runner is None or split_label(r.runner)[0] == pool.runner)
    ]


def sweep_findings(sweep: SweepResult) -> list[tuple[str, list[str], list[str]]]:
    """Of a live sweep of targets, what the pooler saw at each point and the findings
    there, after what the point was ("concurrency 4, pool_size=5 max_overflow=10"): how the
    targets compare as the concurrency (or the pool) grows.  A sweep read from a file
    keeps the cells' views only (``SweepResult.points``): none."""
    found = []
    for point in sweep.points:
        seen, said = pooler_lines(point), target_findings(point)
        if not seen and not said:
            continue
        bench, pool = point.settings.benchmark, point.settings.pool
        found.append((
            f"concurrency {bench.concurrency}, pool_size={pool.pool_size} "
            f"max_overflow={overflow(pool.max_overflow)}",
            seen,
            said,
        ))
    return found


def _traits(kind: str) -> type | None:
    """The runner class of ``kind``; None for a kind of a newer dbbench, read from a file."""
    try:
        return runner_class(kind)
    except Exception:
        return None


def _subject(kind: str) -> str:
    """What one operation of a runner of ``kind`` is, in a finding's words."""
    runner = _traits(kind)
    if runner is None:
        return "an operation"
    if runner.connects_per_operation:
        if runner.resets_before_close:
            return "a new connection per operation (its transaction ended before it closes)"
        return "a new connection per operation"
    if runner.holds_connection_per_worker:
        return "on one connection kept open, an operation"
    if runner.holds_pool:
        return "with an application pool in front, an operation"
    return "an operation"


def _connects(label: str, *, resetting: bool) -> bool:
    """Whether the runner of ``label`` connects for every operation, and ends its
    transaction before it closes (``resetting``) or not."""
    runner = _traits(RunnerLabel.parse(label).kind)
    return bool(runner and runner.connects_per_operation) and (
        runner.resets_before_close == resetting
    )


def between(result: RunResult, base: str, other: str) -> Speedup:
    """``other``'s speedup over ``base``: between repetitions, or within the run."""
    if result.repetitions:
        from dbbench.significance import paired_speedup  # scipy: only with repetitions

        repeated = paired_speedup(result.repetitions, base, other)
        if repeated is not None:
            return repeated
    base_summary, other_summary = result.runner(base).summary, result.runner(other).summary
    assert base_summary is not None and other_summary is not None
    return speedup(base_summary, other_summary)


def verdict(s: Speedup, difference_ns: float) -> str:
    """"-5.421 ms per operation, 9.19× less (95% CI 7.90–10.80, ...)", "+0.850 ms per
    operation, 2.00× more (95% CI 1.67–2.50, ...)", or no difference beyond noise.

    ``s`` is the speedup of the target over the first (ratio > 1: the target is faster);
    the interval is turned round with the sentence, so that it bounds the figure said.
    """
    basis = (
        f"between {s.repetitions} repetitions" if s.repetitions > 1
        else "noise within this one run only"
    )
    if s.ci_low is None or s.ci_high is None:
        return f"no verdict: too few samples for a confidence interval ({basis})"
    if s.beyond_noise is not True:
        low, high = 1 / s.ci_high, 1 / s.ci_low  # the target's time over the first's
        return (
            f"no difference beyond noise (95% CI of its time over the other's "
            f"{_range(low, high)}, {basis})"
        )
    change = f"{signed_ms_from_ns(difference_ns)} ms per operation"
    # between repetitions the ratio is the geometric mean of each repetition's, which the
    # means of all repetitions merged (the figures said before it) need not give
    by = ", " if s.repetitions <= 1 else "; by the repetitions' ratios (geometric mean), "
    if s.ratio > 1:
        return f"{change}{by}{ratio(s.ratio)} less ({_interval(s.ci_low, s.ci_high)}, {basis})"
    more = ratio(1 / s.ratio)
    return f"{change}{by}{more} more ({_interval(1 / s.ci_high, 1 / s.ci_low)}, {basis})"


def _interval(low: float, high: float) -> str:
    return f"95% CI {_range(low, high)}"


def _range(low: float, high: float) -> str:
    digits = ratio_digits(low)
    return f"{low:.{digits}f}–{high:.{digits}f}"


def _new_server_connections(result: RunResult) -> list[str]:
    """Why a new connection through the pooler saved little or nothing, when the figures
    show it: the pooler opened about a server connection per client connection.  A
    client that closes with its transaction open (the raw runner's, autocommit off: the
    drivers' implicit BEGIN) leaves PgBouncer a server connection it cannot reuse, and
    it closes that one too; the next client's costs a new backend."""
    pooler = _pooler(result)
    check = result.server.cross_check if result.server else None
    if pooler is None or check is None:
        return []
    opened, own = check.server_connections, check.dbbench_connections
    through = {pool.target for pool in pooler.pools or ()}
    made = [r for r in result.runners if split_label(r.runner)[1] in through]
    clients = sum(r.connections_made for r in made)
    closing = [r for r in made if _connects(r.runner, resetting=False)]
    left_open = sum(r.connections_made for r in closing)
    if opened is None or own is None or not left_open:
        return []
    servers = max(0, opened - own)
    if servers < MOSTLY_NEW_SERVERS * left_open:
        return []
    kind = _name(pooler)
    names = " and ".join(sorted({split_label(r.runner)[0] for r in closing}))
    line = (
        f"{kind} opened {servers} server connections for {names}'s {left_open} client "
        f"connections through it ({clients} clients' in all), so {names}'s connect through "
        "it cost a new server connection as well: a client that closes with its "
        "transaction still open (the driver's autocommit off) leaves it a server "
        "connection it cannot reuse, and it closes that one"
    )
    ended = [r for r in made if _connects(r.runner, resetting=True) and r.summary is not None]
    if ended:
        said = ", ".join(
            f"{r.runner} {ms_from_ns(r.summary.mean_ns)} ms" for r in ended
        )
        line += f"; a connect that ends its transaction before it closes cost {said}"
    else:
        line += "; run nullpool beside it (--runner raw,nullpool) for a connect that ends it"
    line += "; --autocommit measures a raw that leaves nothing open"
    return [line]


def pooler_lines(result: RunResult) -> list[str]:
    """What the server-side pooler saw (``--pooler``), a line per pool a target went
    through: what it served, the clients it held on how many server connections, the wait.
    """
    pooler = _pooler(result)
    if pooler is None:
        return []
    kind = _name(pooler, MISSING)
    lines = []
    for pool in pooler.pools or ():
        through = _runners_of(result, pool)
        connects = sum(r.connections_made for r in through)
        failed = sum(r.connects_failed for r in through)
        # a runner's own pool; a file of an older dbbench: the target's, every runner's
        which = f"{pool.runner} on {pool.target}" if pool.runner else pool.target
        held = f"at most {_known(pool.peak_clients)} clients on {_known(pool.peak_servers)} " \
            "server connections"
        if pool.peak_clients and pool.peak_servers and pool.peak_clients >= pool.peak_servers:
            # peaks of samples, not always of one moment: more servers than clients would
            # be a ratio of two moments
            held += f" ({pool.peak_clients / pool.peak_servers:.1f} per server connection)"
        waited = (
            f"{_known(pool.peak_waiting)} waiting at most (for a server connection, the "
            "opening of a new one included)"
            + (f", {pool.wait_us / 1e6:.3g} s of waiting in all" if pool.wait_us else "")
        )
        lines.append(
            f"{kind} {pooler.version or MISSING} saw, for {which} ({pool.pool_mode} "
            f"pool): {_known(pool.transactions)} transactions, {_known(pool.queries)} queries "
            f"from {connects} client connections"
            + (f" ({failed} more connects to it failed)" if failed else "")
            + f"; {held}; {waited}; "
            f"{_known(pool.servers_after)} server connections kept after"
        )
    if pooler.complete is False:
        lines.append(
            f"{kind}'s console was lost during the run: {pooler.error or MISSING}; its "
            "counts stop where it was lost"
        )
    return lines


def _pooler(result: RunResult) -> PoolerSummary | None:
    """What the server-side pooler saw of the run (``--pooler``); None without one."""
    return result.server.pooler if result.server else None


def _name(pooler: PoolerSummary, unknown: str = "the pooler") -> str:
    """The pooler as its makers spell it ("PgBouncer"), its kind as recorded else."""
    return POOLER_NAMES.get(pooler.kind or "", pooler.kind or unknown)


def _known(value: object) -> str:
    """A value a file recorded, or MISSING when it lacks it."""
    return count(value, grouped=False)
