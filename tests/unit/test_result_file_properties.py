"""Property tests of reading result files: valid documents of every kind, mutated by
hypothesis (a key dropped, a value of another type or another key's value put in its
place, NaN, Infinity, numbers out of range, the text itself cut or changed).

Whatever the file, the loader gives a result or one ``ResultFileError`` line naming the
file: never another exception, never the catch-all of ``model.from_document`` (what the
schema and the checks let through, the model reads).  And every format (table, JSON,
CSV, Markdown, the HTML report) draws every result the loader accepts.
"""

from __future__ import annotations

import copy
import functools
import io
import json
import math
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from rich.console import Console

from dbbench import diffing
from dbbench.errors import ConfigError, DbbenchError, ResultFileError
from dbbench.output.base import show
from dbbench.output.formats import FORMAT_NAMES, get_format
from dbbench.output.report import build_report, charts
from dbbench.results import validation
from dbbench.results.model import RunResult, RunsListing, checked_document, from_document
from tests import result_files
from tests.result_files import old_documents, written_documents

SOURCE = "hostile.json"
#: the documents mutated: those dbbench writes, and the test data files as they are
NAMES = sorted(
    [
        *result_files.NAMES,
        *(f"old {name}" for name in result_files.NAMES[len(result_files.WRITTEN) :]),
    ]
)


@functools.cache
def _documents() -> str:
    """Written when first asked for, by a test: not while pytest collects the tests."""
    old = {f"old {name}": document for name, document in old_documents().items()}
    return json.dumps({**written_documents(), **old})


def document_of(name: str) -> dict[str, Any]:
    return json.loads(_documents())[name]


#: examples per property; DBBENCH_PROPERTY_EXAMPLES=5000 for a longer search (and
#: DBBENCH_CHART_EXAMPLES for the report's charts, which take longer to draw)
EXAMPLES = int(os.environ.get("DBBENCH_PROPERTY_EXAMPLES", "150"))
CHART_EXAMPLES = int(os.environ.get("DBBENCH_CHART_EXAMPLES", "12"))
PROPERTIES = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def load(text: str) -> Any:
    """What ``model.load_result`` does with a file's text."""
    return from_document(checked_document(validation.parse(text, SOURCE), SOURCE), SOURCE)


def paths(document: Any) -> list[tuple[Any, ...]]:
    """Every place in ``document`` a value is kept, the top excluded."""
    found: list[tuple[Any, ...]] = []
    stack: list[tuple[tuple[Any, ...], Any]] = [((), document)]
    while stack:
        path, value = stack.pop()
        if path:
            found.append(path)
        if isinstance(value, dict):
            stack.extend(((*path, key), item) for key, item in value.items())
        elif isinstance(value, list):
            stack.extend(((*path, index), item) for index, item in enumerate(value))
    return sorted(found, key=repr)


def leaves(document: Any) -> list[Any]:
    """The values of ``document``, to put where another one was (plausible, but not its)."""
    values: list[Any] = []
    for path in paths(document)[:400]:
        value = at(document, path)
        if not isinstance(value, dict | list):
            values.append(value)
    return values or [None]


def at(document: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        document = document[key]
    return document


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=3),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([2**63, 2**63 - 1, 10**45, -1, 0]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e-300, 1e308, 0.5, 2.5]),
    st.text(max_size=8),
    st.sampled_from(["", "raw", "pool", "0", "NaN", "\x1b[2J", "[red]x", "p99:10%", "\ud800"]),
)
VALUES = st.one_of(
    SCALARS,
    st.lists(SCALARS, max_size=3),
    st.dictionaries(st.text(max_size=4), SCALARS, max_size=3),
)


def near(value: Any) -> st.SearchStrategy[Any]:
    """Values of ``value``'s type around it: a count off by some, a time halved..."""
    if isinstance(value, bool):
        return st.just(not value)
    if isinstance(value, int):
        return st.integers(min_value=min(-1, value - 3), max_value=2 * abs(value) + 3)
    if isinstance(value, float):
        return st.floats(min_value=-1.0, max_value=2 * abs(value) + 1.0)
    if isinstance(value, str):
        return st.sampled_from([value[:-1], value + "x", "", value.upper(), "raw", "pool"])
    if isinstance(value, list):
        return st.just(value[::-1] + value[:1])
    if isinstance(value, dict):
        return st.just(dict(list(value.items())[: len(value) // 2]))
    return st.just(value)


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, str]:
    """A document's name, and the text of it with one to three mutations."""
    name = draw(st.sampled_from(NAMES))
    document = copy.deepcopy(document_of(name))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        places = paths(document)
        if not places:
            break
        path = draw(st.sampled_from(places))
        parent = at(document, path[:-1])
        action = draw(st.sampled_from(["drop", "value", "another", "near", "near", "nest"]))
        if action == "drop":
            del parent[path[-1]]  # from a list: the items after it move up
        elif action == "near":  # a value of the same type: plausible, perhaps inconsistent
            parent[path[-1]] = draw(near(parent[path[-1]]))
        elif action == "value":
            parent[path[-1]] = draw(VALUES)
        elif action == "another":  # another key's value: the right type, perhaps
            parent[path[-1]] = copy.deepcopy(draw(st.sampled_from(leaves(document))))
        else:
            parent[path[-1]] = [[[parent[path[-1]]]]]
    text = json.dumps(document, allow_nan=True)
    edit = draw(st.sampled_from(["none"] * 8 + ["cut", "insert"]))
    if edit == "cut":
        start = draw(st.integers(min_value=0, max_value=len(text)))
        text = text[:start] + text[start + draw(st.integers(min_value=1, max_value=20)) :]
    elif edit == "insert":
        start = draw(st.integers(min_value=0, max_value=len(text)))
        inserted = draw(
            st.sampled_from(["NaN", "-Infinity", "1e999", "[", "{", '"', ",", "\\u0000"])
        )
        text = text[:start] + inserted + text[start:]
    return name, text


def assert_read_or_refused(text: str) -> Any:
    """The result of ``text``, or None when it is refused in one line naming the file."""
    try:
        result = load(text)
    except ResultFileError as exc:
        event("refused")
        message = str(exc)
        assert message.startswith(f"{SOURCE}: ") and "\n" not in message, message
        # the schema and the checks caught it: not the model's catch-all
        assert "document dbbench can read" not in message, message
        assert len(message) < 600, message
        return None
    event("read")
    return result


@PROPERTIES
@given(mutated())
def test_a_mutated_document_is_read_or_refused_in_one_line(case):
    _, text = case
    assert_read_or_refused(text)


@PROPERTIES
@given(mutated())
def test_every_format_draws_every_document_the_loader_accepts(case):
    _, text = case
    result = assert_read_or_refused(text)
    if result is None:
        return
    for format_name in FORMAT_NAMES:
        output = io.StringIO()
        try:
            show(get_format(format_name), result, Console(file=output, width=120))
        except ConfigError as exc:  # a format that cannot show this kind says so
            assert "cannot show" in str(exc)
            continue
        assert output.getvalue().strip()


@PROPERTIES
@given(mutated())
def test_the_report_draws_every_document_the_loader_accepts(case):
    _, text = case
    result = assert_read_or_refused(text)
    if result is None or isinstance(result, RunsListing):  # refused by dbbench report
        return
    with pytest.MonkeyPatch.context() as patch:  # its text: the charts are drawn below
        patch.setattr(charts.Charts, "cdf", lambda self, runs, overlay: "<svg></svg>")
        patch.setattr(charts.Charts, "sweep", lambda self, *args, **kwargs: "<svg></svg>")
        assert "<html" in build_report([(SOURCE, result)])


@settings(max_examples=CHART_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_the_report_s_charts_draw_every_document_the_loader_accepts(case):
    _, text = case
    result = assert_read_or_refused(text)
    if result is not None and not isinstance(result, RunsListing):
        assert "<html" in build_report([(SOURCE, result)])


def test_the_documents_mutated_are_read_as_they_are():
    for name in NAMES:
        assert load(json.dumps(document_of(name))) is not None, name


def test_non_finite_numbers_are_found_wherever_they_are():
    for name in NAMES:
        for path in paths(document_of(name))[:50]:
            document = copy.deepcopy(document_of(name))
            at(document, path[:-1])[path[-1]] = math.nan
            with pytest.raises(ResultFileError, match="NaN"):
                load(json.dumps(document))


@PROPERTIES
@given(mutated(), st.sampled_from(NAMES))
def test_dbbench_diff_compares_every_document_the_loader_accepts(case, other_name):
    """As ``dbbench diff`` does: the mutated document against another, either way, and
    within itself; a pair that cannot be compared is one ``DbbenchError`` line."""
    _, text = case
    result = assert_read_or_refused(text)
    other = load(json.dumps(document_of(other_name)))
    if result is None:
        return
    thresholds = [diffing.parse_fail_on("mean:10%"), diffing.parse_fail_on("p99:10%")]
    for base, new in ((result, other), (other, result)):
        try:
            found = diffing.compare(
                diffing.comparable(base, "base"), diffing.comparable(new, "new"), thresholds
            )
        except DbbenchError as exc:
            assert "\n" not in str(exc)
            continue
        for format_name in FORMAT_NAMES:
            get_format(format_name).diff(found, Console(file=io.StringIO(), width=120))
    if isinstance(result, RunResult) and len(result.variant_names) > 1:
        try:
            diffing.compare_variants(result, thresholds)
        except DbbenchError as exc:
            assert "\n" not in str(exc)
