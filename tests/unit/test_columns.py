"""output.columns: one column spec, the same values from a live result and from its document."""

from __future__ import annotations

import json

import pytest

from dbbench.output import columns
from dbbench.results.model import RunResult
from tests.unit.test_formats import fake_run


@pytest.mark.parametrize("spec", [columns.RUNNER_COLUMNS, columns.POOL_COLUMNS])
def test_a_result_and_its_document_read_back_give_every_column_the_same_value(spec):
    result = fake_run()
    read_back = RunResult.from_document(json.loads(json.dumps(result.to_document())))
    compared = 0
    for runner, again in zip(result.runners, read_back.runners, strict=True):
        assert again.runner == runner.runner
        for column in spec:
            if spec is columns.POOL_COLUMNS and runner.pool is None:
                continue
            assert column.get(again) == pytest.approx(column.get(runner)), column.header
            compared += 1
    assert compared >= len(spec)  # the pool runner at least


def test_headers_and_keys_are_unique():
    for spec in (columns.RUNNER_COLUMNS, columns.POOL_COLUMNS, columns.STALE_CASE_COLUMNS):
        assert len({c.header for c in spec}) == len(spec)
    keys = [c.key for c in (*columns.RUNNER_COLUMNS, *columns.POOL_COLUMNS)]
    assert len(set(keys)) == len(keys)


def test_spread_needs_two_successes():
    (stddev,) = [c for c in columns.RUNNER_COLUMNS if c.key == "stddev_us"]
    runner = fake_run().runners[0]
    assert stddev.value(runner) == runner.summary.stddev_ns
    one = type("One", (), {"summary": type("S", (), {"n": 1, "stddev_ns": 0.0})()})()
    assert stddev.value(one) is None
    assert stddev.get(one) == 0.0  # CSV writes what was measured


class Cell:
    def __init__(self, ops_per_s, operations, errors=0, timeouts=0):
        self.ops_per_s, self.operations = ops_per_s, operations
        self.errors, self.timeouts = errors, timeouts


def test_sweep_cell_words():
    def rate(value):
        return f"{value:g}/s"

    words = columns.cell_words(Cell(120.0, 100, errors=4, timeouts=1), rate)
    assert words == columns.CellWords("120/s", True, "⏱ 1 timeout", "✗ 3 other errors")
    words = columns.cell_words(Cell(None, 2_000, errors=2_000), rate)
    assert words == columns.CellWords("no successes", False, None, "✗ 2,000 errors")
    assert columns.cell_words(Cell(None, 0), rate).throughput == "nothing ran"


def test_marks_of_the_best_and_the_recommended_cells():
    class Pick:
        def __init__(self, best, chosen, within_noise=()):
            self.best, self.chosen, self.within_noise = best, chosen, within_noise
            self.concurrency = best.concurrency if best else None

    class At:
        def __init__(self, concurrency, pool_size, max_overflow):
            self.concurrency, self.pool_size, self.max_overflow = (
                concurrency,
                pool_size,
                max_overflow,
            )

    picks = [Pick(At(8, 10, 3), At(8, 5, 3), ((5, 3), (10, 3))), Pick(None, None)]
    best, chosen, near = columns.marked(picks)
    assert best == {(8, 10, 3)} and chosen == {(8, 5, 3)}
    assert near == {(8, 5, 3)}  # the best is not "near" itself
    assert columns.marks(best=True, chosen=True) == "★ ▲ "
    assert columns.marks(best=False, chosen=True, near=True) == "★ ≈ "
    assert columns.marks(best=True, chosen=False, near=True) == "▲ "
    assert columns.marks(best=False, chosen=False) == ""
