"""``--repeat K``: each repetition measured afresh and kept apart, and merged exactly."""

from __future__ import annotations

import dataclasses
import json

import pytest

from dbbench.config.settings import BenchmarkSettings, Settings
from dbbench.engine.timeline import ErrorTimeline
from dbbench.histogram import LatencyHistogram
from dbbench.results.model import RunResult, from_document, upgrade
from dbbench.scenarios.benchmark import run_benchmark, run_sweep
from dbbench.scenarios.repetitions import combine
from tests.fakes import FakeClock, FakeRunner, fake_backend

SETTINGS = Settings(benchmark=BenchmarkSettings(iterations=10, warmup=2, repeat=3))


def fakes(costs_ns, fail=None):
    """A backend whose runners of a kind cost ``costs_ns[kind][repetition]``: every runner
    created is one repetition's, as each repetition opens its runners afresh."""
    clock, created = FakeClock(), []

    def create(label, settings):
        repetition = sum(1 for runner in created if runner.name == label)
        runner = FakeRunner(
            label,
            [],
            clock=clock,
            cost_ns=costs_ns[label][repetition],
            fail=fail if label == "raw" else None,
        )
        created.append(runner)
        return runner

    return fake_backend(create, clock), created


def test_each_repetition_opens_its_runners_afresh_and_keeps_its_own_figures():
    backend, created = fakes({"raw": [2_000, 3_000, 4_000], "pool": [100, 100, 200]})
    result = run_benchmark(SETTINGS, ["raw", "pool"], backend=backend)
    # every other repetition opens and turns its runners in the reverse order
    assert [r.name for r in created] == ["raw", "pool", "pool", "raw", "raw", "pool"]
    assert all(r.closed for r in created)
    assert [rep.number for rep in result.repetitions] == [1, 2, 3]
    assert [r.summary.p50_ns for r in result.per_repetition("raw")] == [2_000, 3_000, 4_000]
    raw = result.runner("raw")
    # the merge holds every operation of every repetition, its histogram exactly theirs
    assert raw.n == 30 and raw.summary.min_ns == 2_000 and raw.summary.max_ns == 4_000
    assert raw.summary.mean_ns == 3_000
    assert [r.runner for r in result.repetitions[1].runners] == ["raw", "pool"]  # run's order
    assert raw.measured_s == sum(r.measured_s for r in result.per_repetition("raw"))
    # the first operation is the run's cold start: the first repetition's
    assert raw.first_op_ns == result.per_repetition("raw")[0].first_op_ns
    assert result.complete and result.settings.benchmark.repeat == 3


def test_a_repeated_run_goes_to_its_document_and_back():
    backend, _ = fakes({"raw": [2_000, 3_000, 4_000], "pool": [100, 150, 200]})
    result = run_benchmark(SETTINGS, ["raw", "pool"], backend=backend)
    document = json.loads(json.dumps(result.to_document()))
    assert len(document["repetitions"]) == 3
    assert document["repetitions"][1]["results"][0]["histograms"]["latency"]["count"] == 10
    again = from_document(document)
    assert isinstance(again, RunResult)
    assert [r.summary.p50_ns for r in again.per_repetition("pool")] == [100, 150, 200]
    assert again.to_document() == document


def test_a_file_older_than_repetitions_reads_as_one_repetition():
    backend, _ = fakes({"raw": [2_000], "pool": [100]})
    one = run_benchmark(
        dataclasses.replace(SETTINGS, benchmark=BenchmarkSettings(iterations=5)),
        ["raw", "pool"],
        backend=backend,
    )
    document = one.to_document()
    assert document["repetitions"] == []
    old = {**document, "schema_version": 3}
    del old["repetitions"]
    del old["settings"]["benchmark"]["repeat"]
    upgraded = upgrade(old, "old.json")
    assert upgraded["repetitions"] == [] and upgraded["upgraded_from"] == 3
    assert upgraded["settings"]["benchmark"]["repeat"] == 1
    assert from_document(upgraded).repetitions == ()


def test_failures_of_earlier_repetitions_count_toward_max_errors():
    backend, created = fakes(
        {"raw": [1_000] * 3, "pool": [100] * 3},
        fail=lambda call: RuntimeError("boom") if call > 1 else None,
    )
    settings = dataclasses.replace(
        SETTINGS, benchmark=dataclasses.replace(SETTINGS.benchmark, max_errors=20)
    )
    result = run_benchmark(settings, ["raw", "pool"], backend=backend)
    # each repetition's raw fails all 12 of its operations after the cold start (2 warm-up,
    # 10 measured): the second reaches 20 in all and the third never runs
    assert len(result.repetitions) == 2 and result.stopped and not result.complete
    assert result.runner("raw").errors + result.runner("raw").warmup_errors <= 20 + 1
    assert [r.name for r in created] == ["raw", "pool", "pool", "raw"]


def test_a_sweep_runs_the_whole_grid_once_per_repetition():
    labels = []
    backend, _ = fakes({"pool": [100, 200, 300, 400]})
    settings = dataclasses.replace(
        SETTINGS, benchmark=dataclasses.replace(SETTINGS.benchmark, repeat=2)
    )
    sweep = run_sweep(settings, ["pool"], [1], [1, 5], [0], backend=backend, on_cell=labels.append)
    assert [label.split(":")[0] for label in labels] == [
        "repetition 1/2, cell 1/2",
        "repetition 1/2, cell 2/2",
        "repetition 2/2, cell 1/2",
        "repetition 2/2, cell 2/2",
    ]
    # the runners were created in that order: cell 1 had the 1st and 3rd
    first, second = (result for _, result in sweep.cells)
    assert [r.summary.p50_ns for r in first.per_repetition("pool")] == [100, 300]
    assert [r.summary.p50_ns for r in second.per_repetition("pool")] == [200, 400]
    assert sweep.complete


def test_combine_merges_histograms_exactly_and_shifts_error_times():
    backend, _ = fakes({"raw": [1_000, 5_000], "pool": [100, 100]})
    two = dataclasses.replace(SETTINGS, benchmark=dataclasses.replace(SETTINGS.benchmark, repeat=2))
    result = run_benchmark(two, ["raw", "pool"], backend=backend)
    expected = LatencyHistogram()
    for part in result.per_repetition("raw"):
        expected.merge(part.latency.histogram)
    assert result.runner("raw").latency.histogram.to_dict() == expected.to_dict()
    # a repetition alone is returned as it is
    alone = dataclasses.replace(result, repetitions=())
    assert combine([alone], 1) is alone


def test_a_later_repetitions_error_times_count_from_the_first_ones_start():
    timeline = ErrorTimeline()
    timeline.error("OperationalError")
    timeline.success()
    first_s = timeline.kinds["OperationalError"].first_s
    shifted = timeline.shifted(10.0)
    span = shifted.kinds["OperationalError"]
    assert span.first_s == first_s + 10.0 and span.count == 1
    assert shifted.recovered_s == timeline.recovered_s + 10.0
    assert [index for index, _ in shifted.buckets] == [int((first_s + 10.0) // 1.0)]


@pytest.mark.parametrize(
    ("costs_ns", "chosen", "none_differs"),
    [
        # the two settings alike but for jitter: nothing to choose, the smaller wins
        (
            [100_000, 101_000, 102_000, 100_000, 101_000, 99_000, 100_000, 102_000] + [100_000] * 2,
            1,
            True,
        ),
        # pool_size 5 twice as fast in every repetition: beyond noise, it is chosen
        (
            [100_000, 50_000, 101_000, 51_000, 100_000, 50_000, 102_000, 49_000, 100_000, 50_000],
            5,
            False,
        ),
    ],
)
def test_a_repeated_sweep_tells_cells_apart_by_the_noise_between_repetitions(
    costs_ns, chosen, none_differs
):
    backend, _ = fakes({"pool": costs_ns})
    settings = dataclasses.replace(
        SETTINGS, benchmark=dataclasses.replace(SETTINGS.benchmark, repeat=5)
    )
    sweep = run_sweep(settings, ["pool"], [1], [1, 5], [0], backend=backend)
    (recommendation,) = sweep.recommendations
    assert recommendation.noise == "between 5 repetitions"
    assert recommendation.chosen.pool_size == chosen
    assert recommendation.none_differs is none_differs
    again = from_document(json.loads(json.dumps(sweep.to_document())))
    assert again.recommendations == sweep.recommendations


def test_speedups_rest_on_the_repetitions_paired():
    backend, _ = fakes({"raw": [2_000, 3_000, 4_000], "pool": [100, 100, 200]})
    result = run_benchmark(SETTINGS, ["raw", "pool"], backend=backend)
    (speedup,) = result.speedups
    # the geometric mean of each repetition's raw / pool: 20, 30 and 20
    assert speedup.speedup.ratio == pytest.approx((20 * 30 * 20) ** (1 / 3))
    assert speedup.speedup.repetitions == 3
    assert speedup.speedup.ci_low < speedup.speedup.ratio < speedup.speedup.ci_high
    assert speedup.speedup.beyond_noise


def test_a_sweep_with_too_few_repetitions_to_tell_cells_apart_keeps_the_95_percent_rule():
    # pool_size 1 at half the best's throughput: 2 repetitions cannot show it beyond noise,
    # which must not make it "within noise" of the best
    backend, _ = fakes({"pool": [100_000, 50_000, 100_000, 50_000]})
    settings = dataclasses.replace(
        SETTINGS, benchmark=dataclasses.replace(SETTINGS.benchmark, repeat=2)
    )
    (recommendation,) = run_sweep(
        settings, ["pool"], [1], [1, 5], [0], backend=backend
    ).recommendations
    assert recommendation.chosen.pool_size == 5 and recommendation.within_noise == ()
    assert recommendation.noise.startswith("not tested: 2 repetitions are too few")


def test_the_peak_checked_out_of_repetitions_one_after_another_is_the_highest():
    from dbbench.results.model import PoolCounters
    from dbbench.scenarios.repetitions import merge_runners

    backend, _ = fakes({"raw": [1_000] * 3, "pool": [100] * 3})
    result = run_benchmark(SETTINGS, ["raw", "pool"], backend=backend)
    parts = [
        dataclasses.replace(r, pool=PoolCounters(1, 0, 10, 10, 0, peak))
        for r, peak in zip(result.per_repetition("pool"), [2, 3, 1], strict=True)
    ]
    merged = merge_runners(parts, [0.0, 1.0, 2.0]).pool
    assert merged.peak_checked_out == 3 and merged.checkouts == 30 and merged.connects == 3


def test_a_repetition_that_cannot_start_keeps_those_measured():
    from dbbench.errors import ConnectError, ExitStatus

    backend, _ = fakes({"raw": [1_000] * 3, "pool": [100] * 3})
    checks = []

    def check(database, workload):
        checks.append(1)
        if len(checks) == 3:
            raise ConnectError("the server went away")
        return original(database, workload)

    original = backend.check_server
    backend = dataclasses.replace(backend, check_server=check)
    result = run_benchmark(SETTINGS, ["raw", "pool"], backend=backend)
    assert len(result.repetitions) == 2 and result.runner("pool").n == 20
    assert "repetition 3 of 3 could not run: the server went away" in result.stopped
    assert result.exit_status == ExitStatus.RUN_ERRORS


def test_what_the_pooler_saw_is_merged_over_the_repetitions_and_its_note_said_once():
    from dbbench.results.model import CrossCheck, PooledSummary, PoolerSummary, ServerSummary
    from dbbench.scenarios import pooler

    two = dataclasses.replace(SETTINGS, benchmark=dataclasses.replace(SETTINGS.benchmark, repeat=2))
    backend, _ = fakes({"raw": [1_000, 1_000], "pool": [100, 100]})
    result = run_benchmark(two, ["raw", "pool"], backend=backend)
    labels = {"raw": "raw@direct", "pool": "pool@pgbouncer-transaction"}
    seen = [  # (transactions, queries, wait_us, mean_transaction_us, peak_servers, after)
        (100, 300, 2_000, 50.0, 4, 2),
        (300, 900, 6_000, 150.0, 3, 1),
    ]
    parts = []
    for (xacts, queries, wait_us, mean_us, peak, after), server_count, part in zip(
        seen, [70, 90], result.repetitions, strict=True
    ):
        runners = [  # as if through the pooler: 12 connects each
            dataclasses.replace(r, runner=labels[r.runner], connections_opened=12)
            for r in part.runners
        ]
        run = dataclasses.replace(result, runners=runners, repetitions=(), speedups=[])
        pool = PooledSummary(
            target="pgbouncer-transaction", database="test_transaction",
            pool_mode="transaction", peak_clients=peak + 1, peak_waiting=1, peak_servers=peak,
            servers_after=after, transactions=xacts, queries=queries, wait_us=wait_us,
            mean_wait_us=wait_us / 10, mean_transaction_us=mean_us,
        )
        server = ServerSummary(
            cross_check=CrossCheck(server_connections=server_count, dbbench_connections=30),
            pooler=PoolerSummary(
                kind="pgbouncer", version="1.18.0", samples=5, complete=True, pools=(pool,)
            ),
        )
        run = dataclasses.replace(run, server=server)
        own = pooler.note_of(run)
        assert own is not None and own.startswith(f"the server counted {server_count} new")
        parts.append(dataclasses.replace(run, notes=["a note of every repetition", own]))
    combined = combine(parts, 2)
    merged = combined.server.pooler
    assert (merged.kind, merged.samples, merged.complete) == ("pgbouncer", 10, True)
    (pool,) = merged.pools
    assert (pool.transactions, pool.queries, pool.wait_us) == (400, 1_200, 8_000)
    assert (pool.peak_servers, pool.peak_clients, pool.servers_after) == (4, 5, 1)
    assert pool.mean_transaction_us == (100 * 50.0 + 300 * 150.0) / 400  # 125
    assert pool.mean_wait_us == 8_000 / 20  # 10 assignments in each
    # one note for the whole run: 160 counted by the server, 60 of them dbbench's own,
    # for pool@pgbouncer-transaction's 12 connects in each repetition
    counted = [n for n in combined.notes if str(n).startswith("the server counted")]
    assert counted == [
        "the server counted 160 new connections: 60 dbbench's own (direct, its monitor's), "
        "so 100 the pooler's, for the 24 client connections made through it (a pooler that "
        "drops a server connection left in a transaction, or one it could not reset, opens a "
        "new one)"
    ]
    assert combined.notes.count("a note of every repetition") == 1
    # a repetition whose console was lost: its counts unknown, the merge incomplete
    lost = dataclasses.replace(
        parts[1].server.pooler, complete=False, error="console lost",
        pools=(dataclasses.replace(pool, transactions=None, queries=None, wait_us=None),),
    )
    server = dataclasses.replace(parts[1].server, pooler=lost)
    parts[1] = dataclasses.replace(parts[1], server=server)
    merged = combine(parts, 2).server.pooler
    assert (merged.complete, merged.error) == (False, "console lost")
    assert merged.pools[0].transactions is None and merged.pools[0].peak_servers == 4


def _script(latencies_ns, errors, operations, think_s):
    from dbbench.results.model import Distribution, ScriptSummary, StatementSummary
    from dbbench.stats import summarize

    statements = []
    for line, values in latencies_ns:
        histogram = LatencyHistogram()
        for value in values:
            histogram.record(value)
        statements.append(
            StatementSummary(
                line,
                f"SELECT {line}",
                len(values),
                errors,
                summarize(histogram) if values else None,
                Distribution.of(histogram) if values else None,
            )
        )
    return (ScriptSummary("tx.sql", 2, operations, think_s, tuple(statements)),)


def test_a_run_of_scripts_keeps_its_statements_figures_over_repetitions():
    from dbbench.scenarios.repetitions import merge_scripts

    first = _script([(2, [1_000, 2_000]), (3, [5_000])], errors=0, operations=2, think_s=0.5)
    second = _script([(2, [3_000]), (3, [])], errors=1, operations=1, think_s=0.25)
    (merged,) = merge_scripts([first, second])
    assert (merged.script, merged.weight) == ("tx.sql", 2)
    assert merged.operations == 3 and merged.think_s == 0.75
    line2, line3 = merged.statements
    assert (line2.line, line2.n, line2.errors) == (2, 3, 1)
    # the histograms added, bucket by bucket: the percentiles are the whole run's
    assert line2.latency.count == 3 and line2.summary.max_ns == pytest.approx(3_000, rel=0.01)
    assert line2.summary.min_ns == pytest.approx(1_000, rel=0.01)
    assert (line3.n, line3.errors, line3.latency.count) == (1, 1, 1)
    assert merge_scripts([None, None]) is None
