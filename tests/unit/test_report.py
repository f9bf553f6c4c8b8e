"""The HTML report, from real result files (tests/data/results: written by dbbench runs
against a local MariaDB) and from documents changed by hand."""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest

from dbbench.errors import ConfigError, ExitStatus
from dbbench.histogram import LatencyHistogram
from dbbench.output import report
from dbbench.output.report import charts, tables
from dbbench.results import store as resultfile
from dbbench.results.model import SCHEMA_VERSION, Distribution, RunnerResult, from_document
from dbbench.stats import Summary, summarize

DATA = Path(__file__).resolve().parent.parent / "data" / "results"


def load(name: str) -> dict:
    return resultfile.load(DATA / name)


def build(documents: list[tuple[str, dict]]) -> str:
    """The report of (label, document) pairs, each document read into the result model."""
    return report.build_report([(label, from_document(doc)) for label, doc in documents])


def svg_count(page: str) -> int:
    return page.count("<svg")


#: every kind of result file, so the page has every kind of section and chart
ALL_FILES = ("run.json", "run2.json", "sweep.json", "stale.json")


@dataclass(frozen=True)
class Builds:
    """The page of ``ALL_FILES`` built twice, and matplotlib's settings around both builds."""

    first: str
    second: str
    rc_before: dict
    rc_after: dict
    pyplot_imported: bool


@pytest.fixture(scope="module")
def builds() -> Builds:
    """Built once for the module: each build of this page draws five charts."""
    import matplotlib

    # dict's own view: reading rcParams["backend"] would import pyplot to resolve it
    before = dict(dict.items(matplotlib.rcParams))
    first, second = (build([(name, load(name)) for name in ALL_FILES]) for _ in range(2))
    after = dict(dict.items(matplotlib.rcParams))
    return Builds(first, second, before, after, "matplotlib.pyplot" in sys.modules)


@pytest.fixture(scope="module")
def full_page(builds: Builds) -> str:
    return builds.first


def v1_document() -> dict:
    """run.json as schema 1 wrote it: no histograms, no server vendor."""
    document = json.loads((DATA / "run.json").read_text())
    document["schema_version"] = 1
    del document["environment"]["server_vendor"]
    for runner in document["results"]:
        del runner["histograms"]
    return document


# --- charts: one SVG per chart ------------------------------------------------


def test_one_chart_per_run_file_plus_the_overlay(full_page: str) -> None:
    # all runs overlaid; run.json; run2.json; the sweep against concurrency and pool size;
    # the stale file has no chart
    assert svg_count(full_page) == 5
    assert full_page.count("<figure>") == 5
    assert svg_count(build([("run.json", load("run.json"))])) == 1
    assert svg_count(build([("stale.json", load("stale.json"))])) == 0


def test_a_sweep_over_one_concurrency_draws_only_against_pool_size() -> None:
    sweep = load("sweep.json")
    sweep["cells"] = [c for c in sweep["cells"] if c["concurrency"] == 4]
    page = build([("sweep.json", sweep)])
    assert svg_count(page) == 1
    assert "Every cell has concurrency 4: no line to draw against it." in page


def test_cells_with_timeouts_are_marked_and_named_last_in_the_legend() -> None:
    sweep = load("sweep.json")
    sweep["cells"][4]["timeouts"] = 3  # concurrency 4, pool_size 1, max_overflow 0
    page = build([("sweep.json", sweep)])
    against_concurrency = page[: page.index("Against pool size")]
    legend = re.findall(r"<!-- ((?:pool_size|errors)[^>]*) -->", against_concurrency)
    assert legend[-1] == "errors or timeouts"
    assert legend[:-1] == [
        f"pool_size {size}, max_overflow {overflow}" for size in (1, 4) for overflow in (0, 2)
    ]


def test_charts_have_ids_of_their_own(full_page: str) -> None:
    ids = re.findall(r'\bid="([^"]+)"', full_page)
    assert len(ids) == len(set(ids))
    # every internal reference points at an id of the page
    references = re.findall(r'href="#([^"]+)"', full_page) + re.findall(
        r"url\(#([^)]+)\)", full_page
    )
    assert references and set(references) <= set(ids)
    # matplotlib's style sheet is scoped to its chart, not the page
    assert '<style type="text/css">*{' not in full_page
    assert '<style type="text/css">#chart1 *{' in full_page


def test_the_same_files_give_the_same_page(builds: Builds) -> None:
    assert builds.second == builds.first


# --- self-contained: nothing to fetch -----------------------------------------


class _References(HTMLParser):
    """Every attribute that could make a browser fetch something, and every tag."""

    FETCHING = {"src", "href", "xlink:href", "srcset", "action", "poster", "data", "background"}

    def __init__(self) -> None:
        super().__init__()
        self.references: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.references += [value or "" for name, value in attrs if name in self.FETCHING]


def test_nothing_outside_the_page_is_referenced(full_page: str) -> None:
    parser = _References()
    parser.feed(full_page)
    # links within the page (#file-1) and SVG references (#chart1-DejaVuSans-31) only
    assert parser.references and all(ref.startswith("#") for ref in parser.references)
    assert not parser.tags & {"script", "link", "img", "iframe", "object", "embed", "image"}
    assert "@import" not in full_page
    assert re.findall(r"url\((?!#)", full_page) == []
    # the only URLs: the SVG and XLink namespace names, which are names, never fetched
    namespaces = re.compile(r' xmlns(?::xlink)?="http://www\.w3\.org/(?:2000/svg|1999/xlink)"')
    assert len(namespaces.findall(full_page)) == 2 * svg_count(full_page)
    rest = namespaces.sub("", full_page)
    assert "http://" not in rest and "https://" not in rest and "//www." not in rest
    assert "default-src 'none'" in full_page  # and the browser is told to refuse any fetch


# --- what the page shows --------------------------------------------------------


def test_runner_names_and_files_are_shown(full_page: str) -> None:
    for runner in ("raw", "pool", "persistent", "nullpool"):
        assert f"<td>{runner}</td>" in full_page
        assert f"<!-- {runner} · run.json -->" in full_page  # the overlay's legend
    assert "<!-- pool · run2.json -->" in full_page
    for name in ("run.json", "run2.json", "sweep.json", "stale.json"):
        assert f"<h2>{name}: " in full_page
    assert "<title>dbbench report: run.json, run2.json, sweep.json, stale.json</title>" in full_page
    assert "2026-11-24 07:04:51" in full_page  # run.json's start, as a date and time
    assert "<td>0.1.0</td>" in full_page  # the dbbench that wrote it


def test_pool_counters_and_the_server_are_tables(full_page: str) -> None:
    run = full_page[full_page.index('<section id="file-1">') : full_page.index('id="file-2"')]
    # run.json: pool 4 connects, 2,201 checkouts, peak 4; the server saw +4,411 connections
    pool_row = re.search(r"<tr><td>pool</td>(.*?)</tr>", run[run.index("What the pool did") :])
    cells = re.findall(r'<td class="num">([^<]*)</td>', pool_row.group(1))
    assert cells == ["0.005", "0.017", "0.059", "0", "4", "0", "2,201", "2,201", "0", "4"]
    assert '<td>Connections (change)</td><td class="num">+4,411</td>' in run
    assert '<td>Threads_connected peak</td><td class="num">13</td>' in run
    assert '<td>matches</td><td class="num">yes</td>' in run
    assert '<td>by nullpool</td><td class="num">2,201</td>' in run


def test_the_sweep_grid_marks_the_recommendation(full_page: str) -> None:
    # concurrency 4: pool_size=4 max_overflow=2 is both recommended and best (14,139/s)
    assert '<td class="num">★ ▲ 14,139</td>' in full_page
    assert "<td>pool_size=4 max_overflow=0</td>" in full_page  # recommended at concurrency 1


def test_stale_cases_are_a_table(full_page: str) -> None:
    stale = full_page[full_page.index('<section id="file-4">') :]
    rows = re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td>", stale)
    assert rows == [
        ("none", "OperationalError(2006) × 2"),
        ("pool_recycle=1s", "–"),
        ("pool_pre_ping", "–"),
    ]
    assert '<td class="num">20.0%</td><td class="num">0.598</td>' in stale  # error rate, first op
    # the mean after the idle period against the baseline's, tested as the table output does
    assert (
        "<li>pool_pre_ping: mean 3.519 ms after the idle period against 0.218 ms before: 16.1× "
        "slower (95% CI 3.67–71.03, noise within this one run only; Welch&#x27;s t-test, "
        "p = 0.002)</li>"
    ) in stale
    assert "stale runs once, so the noise between runs is not measured" in stale


def test_no_password_is_shown() -> None:
    document = load("run.json")
    document["settings"]["database"]["password"] = "hunter2-in-the-settings"
    document["settings"]["database"]["ssl"]["ssl_key_password"] = "hunter3-ssl"
    document["environment"]["PASSWORD"] = "hunter4-env"
    document["settings"]["password"] = {"nested": "hunter5-nested"}
    page = build([("run.json", document)])
    assert "hunter" not in page
    # the flag that says whether one was set is shown; no key named like a password is
    assert "<td>password_set</td><td>false</td>" in page
    assert re.findall(r"password(?!_set)", page, flags=re.IGNORECASE) == []


def test_a_schema_1_document_falls_back_to_its_percentiles(tmp_path: Path) -> None:
    path = tmp_path / "old.json"
    path.write_text(json.dumps(v1_document()))
    output = tmp_path / "report.html"
    report.write_report([path], output)
    page = output.read_text()
    assert svg_count(page) == 1
    notice = re.search(r'<p class="notice fallback">(.*?)</p>', page).group(1)
    assert notice.startswith(
        "No latency histogram in old.json (written with schema version 1, which kept no "
        "histograms): raw, pool, persistent, nullpool."
    )
    assert "join the stored percentiles p50, p90, p95, p99, p99.9 and max" in notice
    assert "<!-- pool (percentiles only) -->" in page
    assert f"{SCHEMA_VERSION} (upgraded from 1)" in page


def test_a_run_without_successes_draws_nothing_but_says_so() -> None:
    document = load("run2.json")
    for runner in document["results"]:
        runner.update(n=0, histograms={"latency": None, "checkout": None})
        for key, _ in charts.PERCENTILE_KEYS:
            runner[key.replace("_ns", "_us")] = None
    page = build([("run2.json", document)])
    assert svg_count(page) == 0
    assert "No runner has successful operations to draw." in page


def test_an_interrupted_run_is_marked() -> None:
    document = load("run.json")
    document["complete"] = False
    page = build([("run.json", document)])
    assert "Interrupted before the end" in page and "no (interrupted)" in page


def test_text_from_the_files_is_escaped() -> None:
    document = load("run2.json")
    document["settings"]["benchmark"]["query"] = "SELECT '<b>' & 1"
    document["results"][0]["runner"] = "<script>x</script>"
    page = build([("<i>.json", document)])
    assert "<script>" not in page and "<i>.json" not in page
    assert "SELECT &#x27;&lt;b&gt;&#x27; &amp; 1" in page


# --- the numbers ----------------------------------------------------------------


def runner_with(values_ns: list[int]) -> RunnerResult:
    histogram = LatencyHistogram()
    for value in values_ns:
        histogram.record(value)
    summary = summarize(histogram)
    return RunnerResult("raw", summary, None, {}, 0, None, 1.0, latency=Distribution.of(histogram))


def test_cdf_points_from_a_histogram() -> None:
    # 1 and 2 µs are exact buckets; 4 µs's bucket tops out past the maximum: clamped to it
    xs, ys, exact = charts.cdf_points(runner_with([1000, 2000, 2000, 4000]))
    assert (xs, ys, exact) == ([0.001, 0.002, 0.004], [0.25, 0.75, 1.0], True)


def test_cdf_points_without_a_histogram_are_the_percentiles() -> None:
    summary = Summary(6, 50_000, 300_000.0, 1.0, 100_000, 200_000, 300_000, 400_000, 500_000, 10**6)
    runner = RunnerResult("raw", summary, None, {}, 0, None, 1.0)
    xs, ys, exact = charts.cdf_points(runner)
    assert xs == [0.1, 0.2, 0.3, 0.4, 0.5, 1.0]
    assert ys == [0.5, 0.9, 0.95, 0.99, 0.999, 1.0] and not exact


def test_thin_keeps_the_ends_and_drops_what_the_chart_cannot_show() -> None:
    # log10 steps: 1 → 1.001 is 0.0004 (dropped at resolution 0.01), 1.5 is 0.176, 10 the end
    xs, ys = charts.thin([1.0, 1.001, 1.5, 1.51, 10.0], [0.1, 0.2, 0.5, 0.6, 1.0], 0.01)
    assert (xs, ys) == ([1.0, 1.5, 10.0], [0.1, 0.5, 1.0])


def test_is_secret() -> None:
    assert tables.is_secret("password") and tables.is_secret("ssl_key_password")
    assert tables.is_secret("API_TOKEN") and not tables.is_secret("password_set")
    assert not tables.is_secret("user")


# --- writing, and matplotlib ----------------------------------------------------


def test_write_report_writes_the_page_and_nothing_else(tmp_path: Path) -> None:
    output = tmp_path / "new" / "report.html"
    output.parent.mkdir()  # a missing one is refused, as by every command (test_file_paths.py)
    report.write_report([DATA / "stale.json", DATA / "run2.json"], output)
    assert output.read_text().startswith("<!DOCTYPE html>")
    assert output.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in output.parent.iterdir()] == ["report.html"]  # no temporary left


def test_write_report_will_not_overwrite_a_result_file(tmp_path: Path) -> None:
    result = tmp_path / "run.json"
    result.write_text((DATA / "run.json").read_text())
    linked = tmp_path / "linked.json"
    os.link(result, linked)
    for output in (result, linked):  # by its name, or by another (a hard link)
        with pytest.raises(ConfigError, match=f"is {result}, a file this command reads"):
            report.write_report([result], output)
    assert json.loads(result.read_text())["command"] == "run"


def test_files_with_one_name_are_told_apart_by_path(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "run.json").write_text((DATA / "run2.json").read_text())
    output = tmp_path / "report.html"
    report.write_report([DATA / "run.json", tmp_path / "a" / "run.json"], output)
    assert f"<!-- pool · {tmp_path / 'a' / 'run.json'} -->" in output.read_text()


def test_without_matplotlib_one_line_says_how_to_install_it(monkeypatch, tmp_path: Path) -> None:
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)  # import now fails, as if not installed
    with pytest.raises(charts.ReportError) as caught:
        report.write_report([tmp_path / "missing.json"], tmp_path / "report.html")
    message = str(caught.value)
    assert message == (
        "the HTML report needs matplotlib, which is not installed: pip install 'dbbench[report]'"
    )
    assert caught.value.exit_status == ExitStatus.ERROR == 1


def test_no_global_matplotlib_state_changes(builds: Builds) -> None:
    assert not builds.pyplot_imported  # no figure registry, no backend switch
    assert builds.rc_after == builds.rc_before


def test_an_explain_file_is_drawn_phase_by_phase() -> None:
    page = build([("explain.json", load("explain.json"))])
    section = page[page.index('<section id="file-1">') :]
    assert "explain.json: explain: where the time goes" in section
    assert "<h3>raw: connect, query, fetch, close (50 operations)</h3>" in section
    phases = re.findall(r"<tr><td>([^<]*)</td>", section)
    assert phases[:4] == ["driver set-up", "SSL context", "name resolution", "TCP connect"]
    assert "sum of phases" in phases and "whole operation" in phases
    assert "<h3>Findings</h3>" in section and "SSL context creation" in section
    assert "2 (upgraded from" not in page and f"{SCHEMA_VERSION} (upgraded from 2)" in page


def test_a_diff_file_is_drawn_with_its_verdict() -> None:
    page = build([("diff.json", load("diff.json"))])
    section = page[page.index('<section id="file-1">') :]
    assert "diff.json: diff: what changed, and the gate&#x27;s verdict" in section
    tables = re.findall(r"<h3>([^<]*)</h3>", section)
    assert tables == ["raw", "pool", "persistent"]  # nullpool is in base only
    assert '<td>✗ p99</td><td class="num">0.395 ms</td><td class="num">0.562 ms</td>' in section
    assert "only in tests/data/diff_base.json, not compared: nullpool" in section
    assert "✗ p99 of persistent rose 42.2% (limit 10%)" in section
    assert '<p class="notice"><strong>FAIL: 1 threshold tripped<br>FAIL: ' in section
    assert "Settings and environment" not in section  # a diff has none of its own
    assert f"{SCHEMA_VERSION} (upgraded from 2)" in page


def test_each_sweep_cell_shows_what_the_server_saw() -> None:
    page = build([("sweep.json", load("sweep.json"))])
    table = page[page.index("What the pool and the server did, per cell") :]
    first_row = re.search(r"<tbody><tr>(.*?)</tr>", table)
    assert first_row is not None
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", first_row.group(1))
    # the file's first cell: the server counted 2 new connections, peak 2, cross-check matched
    assert cells[-3:] == ["+2", "2", "yes"]
