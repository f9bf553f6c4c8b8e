"""The runner table on a narrow console (a pipe: 80 columns): the least important columns
left out first, the runner's label folded if it still cannot fit, never a figure cut."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from dbbench.output import table
from dbbench.output.columns import POOL_COLUMNS, TABLE, shown_in
from dbbench.results.model import from_document, upgrade

RUN = Path(__file__).parents[1] / "data" / "results" / "run.json"
#: the labels of a run of two drivers through --pooler
LONG = {
    "raw": "raw/psycopg2@pgbouncer-transaction",
    "pool": "pool/psycopg@pgbouncer-session",
    "persistent": "persistent/psycopg2@pgbouncer-transaction",
    "nullpool": "psycopg-pool/psycopg2@pgbouncer-transaction",
}
#: their own names
SHORT = {name: name for name in LONG}


def _result(labels: dict[str, str], scale: float):
    """run.json's result with its runners renamed and their times and rates ``scale`` times
    as large: wider figures (``24,310.512``, ``1,276,661``)."""
    document = json.loads(RUN.read_text())
    for runner in document["results"]:
        runner["runner"] = labels[runner["runner"]]
        for key, value in list(runner.items()):
            if (key.endswith("_us") or key == "ops_per_s") and isinstance(value, float):
                runner[key] = value * scale
    for speedup in document["speedups"]:
        speedup["runner"] = labels[speedup["runner"]]
        speedup["baseline"] = labels[speedup["baseline"]]
    return from_document(upgrade(document, "a file"))


def _printed(result, width: int) -> tuple[list[str], str]:
    """The headers of the table built for ``width``, and the table as a console that wide
    prints it."""
    built = table.build_table(result, width)
    console = Console(width=width, record=True)
    console.print(built)
    return [str(column.header) for column in built.columns], console.export_text()


@pytest.mark.parametrize("width", [80, 100, 140, 200])
@pytest.mark.parametrize(("labels", "scale"), [(LONG, 100.0), (LONG, 1.0), (SHORT, 100.0)])
def test_every_figure_of_the_kept_columns_is_printed_whole(width, labels, scale):
    result = _result(labels, scale)
    headers, text = _printed(result, width)
    assert "…" not in text
    header_line = next(line for line in text.splitlines() if " mean " in line)
    assert header_line.split() == " ".join(headers).split()
    lines = text.splitlines()
    for runner in result.runners:
        columns = [table._COLUMNS[name] for name in headers[1:-1]]
        figures = [table.rich_cell(column, runner) for column in columns]
        figures.append(table.vs_raw(result, runner))
        # the row's figures, whole and in order, at the end of a line (the label may fold)
        assert any(line.split()[-len(figures):] == figures for line in lines), (figures, text)
        # the label whole, folded or not
        assert runner.runner in "".join(line.strip().split(" ")[0] for line in lines)


def test_a_narrow_table_leaves_out_the_least_important_columns_first_and_fits():
    wide, _ = _printed(_result(SHORT, 1.0), 200)
    assert wide[1:] == [*table._COLUMNS, "vs raw"]
    headers, text = _printed(_result(SHORT, 1.0), 100)
    dropped = {name for name in table._COLUMNS if name not in headers}
    assert dropped and dropped == set(table._DROP_ORDER[: len(dropped)])
    assert max(len(line.rstrip()) for line in text.splitlines()) <= 100
    # 80 columns and 43-character labels: the six columns of the drop order are gone, the
    # label folds, the table still fits
    headers, text = _printed(_result(LONG, 100.0), 80)
    assert [h for h in headers if h in table._DROP_ORDER] == []
    assert max(len(line.rstrip()) for line in text.splitlines()) <= 80


def test_the_pool_table_folds_its_labels_and_headers_never_a_figure():
    result = _result(LONG, 100.0)
    console = Console(width=80, record=True)
    console.print(table._pool_rows(result.runners))
    lines = console.export_text().splitlines()
    columns = shown_in(POOL_COLUMNS, TABLE)
    for runner in (r for r in result.runners if r.pool is not None):
        figures = [table.rich_cell(column, runner) for column in columns]
        assert any(line.split()[-len(figures):] == figures for line in lines), lines
    assert "…" not in "\n".join(lines)
