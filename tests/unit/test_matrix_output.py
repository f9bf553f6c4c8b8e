"""The sweep matrix as a reader sees it at 120 columns."""

import pytest
from rich.console import Console
from rich.text import Text

from dbbench.output import matrix
from dbbench.results.model import SweepCell
from dbbench.scenarios.sweep import grid, recommend

#: concurrency -> (pool_size, max_overflow) -> (ops/s, p99 µs[, errors, timeouts])
MEASURED = {
    1: {
        (1, 0): (2_100, 610),
        (1, 3): (2_090, 640),
        (5, 0): (2_080, 650),
        (5, 3): (2_110, 600),
        (10, 0): (2_070, 660),
        (10, 3): (2_060, 700),
        (20, 0): (2_050, 720),
        (20, 3): (2_040, 730),
    },
    8: {
        (1, 0): (1_900, 9_800),
        (1, 3): (6_100, 2_900),
        (5, 0): (7_400, 2_100),
        (5, 3): (8_050, 1_800),
        (10, 0): (8_120, 1_750),
        (10, 3): (8_200, 1_700),
        (20, 0): (8_150, 1_720),
        (20, 3): (8_100, 1_760),
    },
    32: {
        (1, 0): (None, None, 400, 400),
        (1, 3): (3_100, 41_000, 17, 17),
        (5, 0): (5_200, 30_500, 3, 0),
        (5, 3): (7_700, 15_000),
        (10, 0): (8_600, 12_000),
        (10, 3): (8_900, 11_100),
        (20, 0): (9_100, 10_400),
        (20, 3): (9_050, 10_900),
    },
}


def sample_cells() -> list[SweepCell]:
    cells = []
    for concurrency, pool_size, max_overflow in grid([1, 8, 32], [1, 5, 10, 20], [0, 3]):
        ops, p99, *failed = MEASURED[concurrency][(pool_size, max_overflow)]
        errors, timeouts = failed or (0, 0)
        cells.append(
            SweepCell(concurrency, pool_size, max_overflow, ops, p99, errors, timeouts, 400)
        )
    return cells


def render(cells: list[SweepCell]) -> str:
    console = Console(width=120, record=True)
    matrix.write(cells, recommend(cells), console)
    return console.export_text()


@pytest.fixture
def text() -> str:
    return render(sample_cells())


def flat(text: str) -> str:
    return " ".join(text.split())


def table_lines(text: str) -> list[str]:
    """The lines of the table body: from the header rule to the legend."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if "───" in line)
    end = next(i for i, line in enumerate(lines) if line.startswith(matrix.RECOMMENDED))
    return lines[start + 1 : end]


def test_nothing_is_wider_than_the_console(text):
    assert all(len(line.rstrip()) <= 120 for line in text.splitlines())


def test_each_setting_is_one_row_with_every_concurrency_on_its_first_line(text):
    lines = text.splitlines()
    header = next(line for line in lines if "pool_size" in line and "concurrency 32" in line)
    assert header.split() == [
        "pool_size",
        "max_overflow",
        "concurrency",
        "1",
        "concurrency",
        "8",
        "concurrency",
        "32",
    ]
    body = table_lines(text)
    first_lines = [line for line in body if line[:30].split()]
    assert [line.split()[:2] for line in first_lines] == [
        ["1", "0"],
        ["1", "3"],
        ["5", "0"],
        ["5", "3"],
        ["10", "0"],
        ["10", "3"],
        ["20", "0"],
        ["20", "3"],
    ]
    # every row has exactly one throughput per concurrency column on its first line...
    assert [line.count("/s") + line.count("no successes") for line in first_lines] == [3] * 8
    # ...and the p99 values together on the next line; (1, 0) at 32 has none: nothing succeeded
    p99_lines = [line for line in body if "p99" in line]
    assert [line.count("p99") for line in p99_lines] == [2, 3, 3, 3, 3, 3, 3, 3]


def test_cells_show_throughput_and_p99(text):
    row = next(line for line in table_lines(text) if line.split()[:2] == ["5", "3"])
    assert row.split() == ["5", "3", "▲", "2,110/s", "★", "8,050/s", "7,700/s"]
    assert "p99 0.600 ms" in text  # 600 µs
    assert "p99 1.80 ms" in text  # 1,800 µs
    assert "p99 41.0 ms" in text  # 41,000 µs


def test_marks_for_timeouts_errors_best_and_recommended(text):
    body = "\n".join(table_lines(text))
    assert "⏱ 400 timeouts" in body
    assert "⏱ 17 timeouts" in body
    assert "✗ 3 errors" in body
    assert "no successes" in body
    # recommended: (1, 0) at 1, (5, 3) at 8, (10, 3) at 32
    assert "★ 2,100/s" in body and "★ 8,050/s" in body and "★ 8,900/s" in body
    assert body.count("★") == 3
    # best: (5, 3) at 1, (10, 3) at 8, (20, 0) at 32
    assert "▲ 2,110/s" in body and "▲ 8,200/s" in body and "▲ 9,100/s" in body
    assert body.count("▲") == 3


def test_best_cell_is_bold():
    cells = sample_cells()
    table = matrix.build_matrix(cells, recommend(cells))
    column_8 = list(table.columns[3].cells)  # pool_size, max_overflow, concurrency 1, 8, 32
    best = column_8[5]  # the sixth row: pool_size 10, max_overflow 3
    other = column_8[3]
    assert isinstance(best, Text) and isinstance(other, Text)
    assert "8,200/s" in best.plain
    assert any(span.style == "bold" for span in best.spans)
    assert not any(span.style == "bold" for span in other.spans if span.end > 2)


def test_legend_explains_every_mark(text):
    legend = flat(text[text.index(matrix.RECOMMENDED + " recommended") :])
    for mark in ("★ recommended", "▲ bold: highest throughput", "⏱ pool timeouts", "✗ other"):
        assert mark in legend


def test_recommendation_lines(text):
    assert (
        "concurrency 1: pool_size=1 max_overflow=0 reaches 99% of the best throughput "
        "(pool_size=5 max_overflow=3: 2,110/s) with no timeouts or errors; "
        "rule of thumb: pool_size 1–5 for concurrency 1, max_overflow 0–5 — agrees"
    ) in flat(text)
    # 8,050 / 8,200 = 0.9817
    assert (
        "concurrency 8: pool_size=5 max_overflow=3 reaches 98% of the best throughput "
        "(pool_size=10 max_overflow=3: 8,200/s) with no timeouts or errors; "
        "rule of thumb: pool_size 5–16 for concurrency 8, max_overflow 0–5 — agrees"
    ) in flat(text)
    # 8,900 / 9,100 = 0.978; (5, 3) at 7,700 is only 84.6%
    assert (
        "concurrency 32: pool_size=10 max_overflow=3 reaches 97% of the best throughput "
        "(pool_size=20 max_overflow=0: 9,100/s) with no timeouts or errors; "
        "rule of thumb: pool_size 5–20 for concurrency 32, max_overflow 0–5 — agrees"
    ) in flat(text)


def test_each_recommendation_takes_two_unbroken_lines(text):
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("concurrency 8:"))
    assert lines[first].rstrip().endswith("(pool_size=10 max_overflow=3: 8,200/s)")
    assert lines[first + 1].strip().startswith("with no timeouts or errors;")
    assert lines[first + 1].rstrip().endswith("— agrees")
    assert lines[first + 2].startswith("concurrency 32:")


def test_no_qualifying_setting_because_of_timeouts():
    cells = [
        SweepCell(64, 5, 0, 100.0, 90_000.0, 40, 40, 400),
        SweepCell(64, 10, 0, None, None, 400, 400, 400),
    ]
    assert (
        "concurrency 64: no setting ran without timeouts or errors; "
        "raise pool_size or pool_timeout; "
        "rule of thumb: pool_size 5–20 for concurrency 64, max_overflow 0–5"
    ) in flat(render(cells))


def test_no_qualifying_setting_because_of_other_errors():
    cells = [SweepCell(8, 5, 0, 10.0, 1_000.0, 7, 0, 400)]
    rendered = flat(render(cells))
    assert "concurrency 8: no setting ran without errors, and none were pool timeouts" in rendered
    assert "check the server and the query rather than the pool" in rendered
    assert "✗ 7 errors" in rendered


def test_chosen_equal_to_best_and_disagreeing_with_the_rule():
    cells = [SweepCell(8, 20, 0, 5_000.0, 2_000.0, 0, 0, 400)]
    assert (
        "concurrency 8: pool_size=20 max_overflow=0 has the best throughput (5,000/s) "
        "with no timeouts or errors; rule of thumb: pool_size 5–16 for concurrency 8, "
        "max_overflow 0–5 — disagrees (pool_size 20 is above 16)"
    ) in flat(render(cells))


def test_exactly_95_percent_is_shown_as_95():
    cells = [SweepCell(8, 5, 0, 4.693, 1_000.0, 0, 0, 10), SweepCell(8, 20, 0, 4.94, 1.0, 0, 0, 10)]
    assert "reaches 95% of the best throughput (pool_size=20 max_overflow=0: 4.9/s)" in flat(
        render(cells)
    )


def test_missing_cells_and_unlimited_overflow():
    cells = [
        SweepCell(1, 5, -1, 1_000.0, 500.0, 0, 0, 400),
        SweepCell(8, 5, 0, 2_000.0, 900.0, 0, 0, 400),
    ]
    rendered = render(cells)
    assert "unlimited" in rendered
    assert "not run" in rendered
    assert "pool_size=5 max_overflow=unlimited has the best throughput" in flat(rendered)
    assert "— disagrees (max_overflow -1 (unlimited) is not bounded)" in flat(rendered)


def test_nothing_measured_at_a_concurrency():
    cells = [SweepCell(4, 5, 0, None, None, 0, 0, 0)]
    rendered = render(cells)
    assert "nothing ran" in rendered
    assert "concurrency 4: nothing was measured; rule of thumb: pool_size 4–8" in flat(rendered)
