"""Hostile result files through the real CLI: every command that reads one says what is wrong
in one line naming the file and the key, and ``dbbench runs`` lists the rest.

Each case is a file dbbench did not write (a wrong type at some key, a key missing, NaN, a
number too large, a corrupt histogram, deep nesting, a wrong schema_version, not JSON at
all...) and the message it must give.  Each goes through ``show``, ``diff`` (as BASE, and
as NEW), ``report`` and ``runs`` (saved beside a good run) via click's CliRunner.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import re
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hdrh.histogram import HdrHistogram

from dbbench.cli import Env, cli
from dbbench.histogram import LatencyHistogram
from dbbench.results.store import RunStore, write_atomic
from tests.result_files import NO_SERVER, old_documents, written_documents

PASSWORD = "canary-pw-4711"


@pytest.fixture(scope="module")
def documents() -> dict[str, dict[str, Any]]:
    return written_documents()


# --- building hostile files ---------------------------------------------------------------


def changed(document: dict[str, Any], *changes: tuple[tuple[Any, ...], Any]) -> dict[str, Any]:
    """``document`` with each (path, value) set; the value ``DROP`` deletes the key."""
    document = copy.deepcopy(document)
    for path, value in changes:
        parent = document
        for key in path[:-1]:
            parent = parent[key]
        if value is DROP:
            del parent[path[-1]]
        else:
            parent[path[-1]] = value
    return document


DROP = object()


def encoded(values: list[int]) -> str:
    histogram = LatencyHistogram()
    for value in values:
        histogram.record(value)
    return histogram.to_dict()["hdr"]


def foreign_histogram() -> str:
    """A valid HdrHistogram, of other settings than dbbench's (1 to 1,000, 2 digits)."""
    other = HdrHistogram(1, 1000, 2)
    other.record_value(20)
    return other.encode().decode("ascii")


def inflating_histogram() -> str:
    """A valid header over 64 MB of zeros compressed to some 64 KB: inflated whole by hdrh."""
    payload = zlib.compress(b"\0" * (64 * 1024 * 1024), 9)
    return base64.b64encode(struct.pack(">II", 0x1C849314, len(payload)) + payload).decode()


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def text_of(document: dict[str, Any]) -> str:
    return json.dumps(document)


@dataclass(frozen=True)
class Case:
    name: str
    #: the file's content, made from the valid documents (``written_documents``)
    make: Callable[[dict[str, dict[str, Any]]], dict[str, Any] | str | bytes]
    #: what follows "dbbench: error: FILE: " (a regular expression when a Pattern)
    message: str | re.Pattern[str]


def run_with(*changes):
    return lambda docs: changed(docs["run"], *changes)


HISTOGRAM = ("results", 0, "histograms", "latency")
POOL = dict.fromkeys(
    ("connects", "closes", "checkouts", "checkins", "invalidations", "peak_checked_out"), 1
)
CASES = [
    # --- not JSON, or not an object
    Case("empty", lambda docs: "", "empty, not a result file"),
    Case("blank", lambda docs: " \n\t\n", "empty, not a result file"),
    Case("binary", lambda docs: bytes(range(256)) * 4, re.compile(r".*UTF-8", re.IGNORECASE)),
    Case("nul-bytes", lambda docs: "\0\0\0", re.compile(r"not JSON \(Expecting value, line 1\)")),
    Case("truncated", lambda docs: text_of(docs["run"])[:500], re.compile(r"not JSON \(")),
    Case("top-level-list", lambda docs: "[1, 2]", "not a dbbench result file (not a JSON object)"),
    Case("top-level-number", lambda docs: "4", "not a dbbench result file (not a JSON object)"),
    Case(
        "deep-brackets",
        lambda docs: "[" * 100_000,
        "not a dbbench result file (JSON nested too deeply: more than 64 levels)",
    ),
    Case(
        "deep-objects",
        lambda docs: '{"a":' * 100_000,
        "not a dbbench result file (JSON nested too deeply: more than 64 levels)",
    ),
    Case(
        "deep-inside",
        run_with((("server",), {"x": nested(200)})),
        "server.x[0][0][0][0][0][0][0][0]...[0][0]: nested too deeply (more than 64 levels)",
    ),
    # --- what strict JSON refuses
    Case(
        "nan",
        run_with((("results", 0, "mean_us"), float("nan"))),
        "results[0].mean_us: NaN (not a number JSON allows)",
    ),
    Case(
        "infinity",
        run_with((("results", 1, "measured_s"), float("inf"))),
        "results[1].measured_s: Infinity (not a number JSON allows)",
    ),
    Case(
        "minus-infinity",
        run_with((("speedups", 0, "ci_low"), float("-inf"))),
        "speedups[0].ci_low: -Infinity (not a number JSON allows)",
    ),
    Case(
        "float-overflow",
        lambda docs: text_of(changed(docs["run"], (("speedups", 0, "ratio"), 1.5))).replace(
            '"ratio": 1.5', '"ratio": 1e999', 1
        ),
        "speedups[0].ratio: 1e999 (beyond a float's range)",
    ),
    Case(
        "huge-int",
        run_with((("results", 0, "n"), 10**50)),
        "results[0].n: a whole number of 51 digits (at most 40 are read)",
    ),
    Case(
        "beyond-64-bits",
        run_with((("results", 0, "warmup_errors"), 2**64)),
        "results[0].warmup_errors: expected a number at most 9223372036854775807, "
        "got 18446744073709551616",
    ),
    Case(
        "duplicate-key",
        lambda docs: text_of(docs["run"]).replace(
            '"runner": "raw", ', '"runner": "raw", "runner": "pool", ', 1
        ),
        "results[0].runner: named twice in one object (which value is meant?)",
    ),
    Case(
        "lone-surrogate",
        run_with((("notes",), ["fine", "\ud800 no"])),
        'notes[1]: text that is not Unicode (an unpaired surrogate): "\\\\ud800 no"',
    ),
    Case(
        "byte-order-mark",
        lambda docs: "\ufeff" + text_of(docs["run"]),
        "not JSON (it starts with a byte-order mark, which JSON does not allow); dbbench "
        "writes its files without one, so this one was not written by it, or was changed since",
    ),
    Case(
        "utf-16",
        lambda docs: text_of(docs["run"]).encode("utf-16"),
        "not UTF-8 text (invalid start byte at byte 0)",
    ),
    Case(
        "huge-query",  # under the 64 MiB a file may be: a table took some 40 s to wrap it
        run_with((("settings", "benchmark", "query"), "SELECT 1 -- " + "x" * 30_000_000)),
        "settings.benchmark.query: text of 30,000,012 characters (dbbench writes at most "
        "2,097,152)",
    ),
    Case(
        "huge-key",
        run_with((("results", 0, "errors_by_kind"), {"k" * 3_000_000: 1})),
        "results[0].errors_by_kind: a key of 3,000,000 characters (dbbench writes at most "
        "2,097,152)",
    ),
    # --- version and command
    Case(
        "no-version",
        run_with((("schema_version",), DROP)),
        "not a dbbench result file (no schema_version)",
    ),
    Case(
        "version-text",
        run_with((("schema_version",), "4")),
        'schema_version: expected a whole number, got "4"',
    ),
    Case(
        "version-true",
        run_with((("schema_version",), True)),
        "schema_version: expected a whole number, got true",
    ),
    Case(
        "version-newer",
        run_with((("schema_version",), 5)),
        "schema_version 5 was written by a newer dbbench (this one reads up to 4); "
        "upgrade dbbench to read it",
    ),
    Case(
        "version-zero",
        run_with((("schema_version",), 0)),
        "schema_version 0 is not one dbbench wrote",
    ),
    Case("no-command", run_with((("command",), DROP)), "not a dbbench result file (no command)"),
    Case(
        "unknown-command",
        run_with((("command",), "bench")),
        'command: "bench" is not one this dbbench knows (run, compare, sweep, stale, '
        "explain, diff, runs, calibrate)",
    ),
    Case(
        "command-list",
        run_with((("command",), ["run"])),
        "command: an array of 1 is not one this dbbench knows (run, compare, sweep, stale, "
        "explain, diff, runs, calibrate)",
    ),
    # --- a runner
    Case(
        "runner-missing", run_with((("results", 1, "runner"), DROP)), "results[1].runner: missing"
    ),
    Case(
        "runner-number",
        run_with((("results", 1, "runner"), 42)),
        "results[1].runner: expected text, got 42",
    ),
    Case(
        "runner-unknown",
        run_with((("results", 0, "runner"), "[red]raw")),
        "results[0].runner: expected text matching ^(raw|pool|persistent|nullpool|async-pool|"
        "psycopg-pool|core|session|async-core|async-session)"
        "(/(pymysql|mysqlclient|mysql-connector|psycopg|psycopg2))?"
        '(@[A-Za-z0-9_-]+)?$, got "[red]raw"',
    ),
    Case(
        "results-object",
        run_with((("results",), {"raw": 1})),
        "results: expected an array, got an object",
    ),
    Case(
        "result-text",
        run_with((("results", 2), "persistent")),
        'results[2]: expected an object, got "persistent"',
    ),
    Case(
        "n-negative",
        run_with((("results", 0, "n"), -1)),
        "results[0].n: expected a number at least 0, got -1",
    ),
    Case(
        "n-fraction",
        run_with((("results", 0, "n"), 1.5)),
        "results[0].n: expected a whole number, got 1.5",
    ),
    Case(
        "n-true",
        run_with((("results", 0, "n"), True)),
        "results[0].n: expected a whole number, got true",
    ),
    Case(
        "mean-text",
        run_with((("results", 0, "mean_us"), "fast")),
        'results[0].mean_us: expected a number or null, got "fast"',
    ),
    Case(
        "mean-negative",
        run_with((("results", 2, "p50_us"), -3.5)),
        "results[2].p50_us: expected a number at least 0, got -3.5",
    ),
    Case(
        "percentiles-unordered",
        run_with((("results", 0, "p99_us"), 1.0)),
        re.compile(r"results\[0\]\.p99_us: 1\.0 is less than p95_us \(\d"),
    ),
    Case(
        "errors-do-not-add-up",
        run_with((("results", 0, "errors"), 5)),
        "results[0].errors: 5, but errors_by_kind adds up to 0",
    ),
    Case(
        "errors-by-kind-text",
        run_with((("results", 0, "errors_by_kind"), {"boom": "2"})),
        'results[0].errors_by_kind.boom: expected a whole number, got "2"',
    ),
    # a run of several variants takes each apart by name (diff, report): its environment must
    # name the variants of its settings (hypothesis found one that named "run")
    Case(
        "variant-named-otherwise",
        lambda docs: changed(docs["variants"], (("environment", "variants", 1, "name"), "run")),
        "environment.variants[1].name: \"run\" is no variant of settings.variants (base, new)",
    ),
    Case(
        "variant-without-its-environment",
        lambda docs: changed(
            docs["variants"],
            (("environment", "variants"), docs["variants"]["environment"]["variants"][:1]),
        ),
        "environment.variants: has no entry for variant \"new\"",
    ),
    Case(
        "pool-unknown-counter",
        run_with((("results", 1, "pool"), {**POOL, "leaks": 3})),
        "results[1].pool.leaks: not a key of results[1].pool (it has connects, closes, "
        "checkouts, checkins, invalidations, peak_checked_out, waits, wait_ms, lost, "
        "connect_errors)",
    ),
    Case(
        "checkout-list",
        run_with((("results", 1, "checkout"), [1])),
        "results[1].checkout: expected an object or null, got an array of 1",
    ),
    Case(
        "timeline-bucket",
        run_with(
            (
                ("results", 0, "error_timeline"),
                {
                    "bucket_s": 1,
                    "kinds": {},
                    "buckets": [[0, "boom"]],
                    "last_error_s": 0,
                    "recovered_s": None,
                },
            )
        ),
        "results[0].error_timeline.buckets[0]: expected at least 3 items, got an array of 2",
    ),
    Case(
        "repetition-runner",
        lambda docs: changed(docs["repeated"], (("repetitions", 1, "results", 0, "n"), "10")),
        'repetitions[1].results[0].n: expected a whole number, got "10"',
    ),
    # --- a histogram
    Case(
        "histogram-count",
        run_with(((*HISTOGRAM, "count"), 19)),
        re.compile(r"results\[0\]\.histograms\.latency\.(sum_ns|hdr): "),
    ),
    Case(
        "histogram-not-n",
        run_with(
            ((*HISTOGRAM, "count"), 5),
            ((*HISTOGRAM, "sum_ns"), 10_000_000),
            ((*HISTOGRAM, "sum_sq_ns"), str(5 * 2_000_000**2)),
            ((*HISTOGRAM, "hdr"), encoded([2_000_000] * 5)),
        ),
        "results[0].histograms.latency.count: 5, but n (the runner's operations) is 20",
    ),
    Case(
        "histogram-missing-key",
        run_with(((*HISTOGRAM, "count"), DROP)),
        "results[0].histograms.latency.count: missing",
    ),
    Case(
        "histogram-list",
        run_with(((*HISTOGRAM,), [])),
        "results[0].histograms.latency: expected an object or null, got an array of 0",
    ),
    Case(
        "hdr-not-base64",
        run_with(((*HISTOGRAM, "hdr"), "!!!")),
        "results[0].histograms.latency.hdr: expected text matching ^[A-Za-z0-9+/]*={0,2}$, "
        'got "!!!"',
    ),
    Case(
        "hdr-garbage",
        run_with(((*HISTOGRAM, "hdr"), "QUJDREVGR0g=")),
        "results[0].histograms.latency.hdr: not an HdrHistogram encoding "
        "(its header does not match)",
    ),
    Case(
        "hdr-inflates",
        run_with(((*HISTOGRAM, "hdr"), inflating_histogram())),
        re.compile(
            r"results\[0\]\.histograms\.latency\.hdr: inflates to more than a "
            r"histogram's [\d,]+ bytes"
        ),
    ),
    Case(
        "hdr-foreign",
        run_with(((*HISTOGRAM, "hdr"), foreign_histogram())),
        "results[0].histograms.latency.hdr: a histogram of 2 digits from 1 to 1000 ns, not "
        "dbbench's 3 digits from 1 to 3600000000000 ns",
    ),
    Case(
        "hdr-other-count",
        run_with(((*HISTOGRAM, "hdr"), encoded([2_000_000] * 5))),
        "results[0].histograms.latency.hdr: its buckets hold 5 values, but count is 20",
    ),
    Case(
        "histogram-min-above-max",
        run_with(((*HISTOGRAM, "min_ns"), 3_000_000)),
        "results[0].histograms.latency.min_ns: 3000000 is more than max_ns (2000000)",
    ),
    Case(
        "histogram-sum",
        run_with(((*HISTOGRAM, "sum_ns"), 1)),
        "results[0].histograms.latency.sum_ns: 1 is not what 20 values from 2000000 to "
        "2000000 ns add up to",
    ),
    Case(
        "histogram-squares",
        run_with(((*HISTOGRAM, "sum_sq_ns"), "7")),
        re.compile(r"results\[0\]\.histograms\.latency\.sum_sq_ns: 7 is not the sum of squares"),
    ),
    Case(
        "histogram-squares-huge",
        run_with(((*HISTOGRAM, "sum_sq_ns"), "9" * 100_000)),
        re.compile(
            r"results\[0\]\.histograms\.latency\.sum_sq_ns: expected text of at most "
            r"80 characters, got \"9{40}\.\.\.\""
        ),
    ),
    Case(
        "histogram-digits",
        run_with(((*HISTOGRAM, "significant_digits"), 2)),
        "results[0].histograms.latency.significant_digits: expected 3, got 2",
    ),
    # --- the sections and the rest of a run
    Case(
        "password",
        run_with((("settings", "database", "password"), PASSWORD)),
        "settings.database.password: a result file never holds a password "
        "(dbbench writes password_set)",
    ),
    Case(
        "settings-text",
        run_with((("settings",), "fast")),
        'settings: expected an object, got "fast"',
    ),
    Case(
        "iterations-text",
        run_with((("settings", "benchmark", "iterations"), "many")),
        'settings.benchmark.iterations: expected a whole number or null, got "many"',
    ),
    Case(
        "cpu-count",
        run_with((("environment", "cpu_count"), -3)),
        "environment.cpu_count: expected a number at least 1, got -3",
    ),
    Case(
        "control-key",
        run_with((("environment", "drivers"), {"\x1b[31m": 5})),
        'environment.drivers["\\u001b[31m"]: expected text, got 5',
    ),
    Case(
        "speedup-zero",
        run_with((("speedups", 0, "ratio"), 0)),
        "speedups[0].ratio: expected a number more than 0, got 0",
    ),
    Case(
        "speedup-missing",
        run_with((("speedups", 0, "confidence"), DROP)),
        "speedups[0].confidence: missing",
    ),
    Case(
        "started-number", run_with((("started_at",), 5)), "started_at: expected text or null, got 5"
    ),
    Case("notes-number", run_with((("notes",), [7])), "notes[0]: expected text, got 7"),
    Case(
        "runner-twice",
        run_with((("results", 2, "runner"), "raw")),
        "results[2]: the runner of results[0] a second time",
    ),
    Case(
        "repetition-runner-twice",
        lambda docs: changed(docs["repeated"], (("repetitions", 0, "results", 1, "runner"), "raw")),
        "repetitions[0].results[1]: the runner of repetitions[0].results[0] a second time",
    ),
    Case(
        "too-many-values",
        run_with((("notes",), ["x"] * 2_000_001)),
        "notes: more than 2,000,000 values in one document (dbbench writes fewer)",
    ),
    Case(
        "hdr-too-long",
        run_with(((*HISTOGRAM, "hdr"), "A" * 500_004)),
        re.compile(r"results\[0\]\.histograms\.latency\.hdr: expected text of at most 500000 "),
    ),
    # --- other kinds of document
    Case(
        "sweep-cell-twice",
        lambda docs: changed(
            docs["sweep"],
            (("cells", 1, "pool_size"), docs["sweep"]["cells"][0]["pool_size"]),
            (("cells", 1, "concurrency"), docs["sweep"]["cells"][0]["concurrency"]),
            (("cells", 1, "max_overflow"), docs["sweep"]["cells"][0]["max_overflow"]),
        ),
        "cells[1]: the setting of cells[0] a second time",
    ),
    Case(
        "stale-protection-twice",
        lambda docs: changed(docs["results/stale.json"], (("cases", 1, "protection"), "none")),
        "cases[1]: the protection of cases[0] a second time",
    ),
    Case(
        "sweep-cell",
        lambda docs: changed(docs["sweep"], (("cells", 1, "result", "results", 0, "n"), "x")),
        'cells[1].result.results[0].n: expected a whole number, got "x"',
    ),
    Case(
        "sweep-chosen",
        lambda docs: changed(docs["sweep"], (("recommendations", 0, "chosen"), 5)),
        "recommendations[0].chosen: expected an object or null, got 5",
    ),
    Case(
        "diff-trip",
        lambda docs: changed(docs["results/diff.json"], (("tripped", 0, "runner"), "nobody")),
        'tripped[0]: names a change the diff does not have (p99 of "nobody")',
    ),
    Case(
        "diff-threshold",
        lambda docs: changed(docs["results/diff.json"], (("thresholds", 0), "p99:abc%")),
        re.compile(r'thresholds\[0\]: expected text matching .*, got "p99:abc%"'),
    ),
    Case(
        "stale-pool",
        lambda docs: changed(
            docs["results/stale.json"], (("cases", 0, "pool_settings", "pool_size"), "5")
        ),
        'cases[0].pool_settings.pool_size: expected a whole number, got "5"',
    ),
    Case(
        "stale-unknown-setting",
        lambda docs: changed(
            docs["results/stale.json"], (("cases", 0, "pool_settings", "echo"), True)
        ),
        re.compile(r"cases\[0\]\.pool_settings\.echo: not a key of cases\[0\]\.pool_settings"),
    ),
    Case(
        "explain-phase",
        lambda docs: changed(
            docs["results/explain.json"], (("runners", 0, "phases", 0, "median_ns"), -5)
        ),
        "runners[0].phases[0].median_ns: expected a number at least 0, got -5",
    ),
    Case(
        "calibrate-confidence",
        lambda docs: changed(docs["calibrate"], (("confidence",), 2)),
        "confidence: expected a number less than 1, got 2",
    ),
    Case(
        "runs-number",
        lambda docs: changed(docs["runs"], (("runs", 0, "number"), 0)),
        "runs[0].number: expected a number at least 1, got 0",
    ),
    # --- older versions: checked before they are upgraded, and after
    Case(
        "v2-wrong-type",
        lambda docs: changed(old_documents()["results/run.json"], (("results", 0, "n"), "x")),
        'results[0].n: expected a whole number, got "x"',
    ),
    Case(
        "v2-no-runner",
        lambda docs: changed(old_documents()["results/run.json"], (("results", 0, "runner"), DROP)),
        "results[0].runner: missing",
    ),
    Case(
        "v2-histogram",
        lambda docs: changed(
            old_documents()["results/run.json"],
            (("results", 0, "histograms", "latency", "hdr"), "QUJDREVGR0g="),
        ),
        "results[0].histograms.latency.hdr: not an HdrHistogram encoding "
        "(its header does not match)",
    ),
    Case(
        "v1-section-text",
        lambda docs: {"schema_version": 1, "command": "run", "settings": "x", "results": []},
        'settings: expected an object, got "x"',
    ),
]
assert len({case.name for case in CASES}) == len(CASES)


def write(path: Path, content: dict[str, Any] | str | bytes) -> Path:
    if isinstance(content, dict):
        content = text_of(content)
    if isinstance(content, str):
        content = content.encode("utf-8", "surrogatepass")
    path.write_bytes(content)
    return path


def dbbench(*args: str):
    return CliRunner().invoke(cli, list(args), env=NO_SERVER, obj=Env())


def assert_one_line(result, path: Path, message: str | re.Pattern[str]) -> None:
    assert result.exit_code == 1, (result.exit_code, result.output)
    assert result.stdout == "", result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    prefix = f"dbbench: error: {path}: "
    assert lines[0].startswith(prefix), lines[0]
    said = lines[0][len(prefix) :]
    if isinstance(message, re.Pattern):
        assert message.match(said), said
    else:
        assert said == message
    assert "Traceback" not in result.output and "unexpected" not in result.output
    assert PASSWORD not in result.output


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_a_hostile_file_is_one_line_naming_the_file_and_the_key(
    case, documents, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    bad = write(tmp_path / "bad.json", case.make(documents))
    good = write(tmp_path / "good.json", documents["run"])
    for args in (
        ["show", str(bad)],
        ["show", str(bad), "--format", "json"],
        ["diff", str(bad), str(good)],
        ["diff", str(good), str(bad)],
        ["diff", str(bad)],
        ["report", str(good), str(bad), "-o", "report.html"],
    ):
        assert_one_line(dbbench(*args), bad, case.message)
    assert not (tmp_path / "report.html").exists()
    # saved beside a good run: listed as unreadable, with the same line; the good one listed
    write_atomic(RunStore().next_path("good"), documents["run"])
    saved = write(RunStore().next_path("bad"), case.make(documents))
    listing = dbbench("runs", "--format", "json")
    assert listing.exit_code == 0 and listing.stderr == "", listing.output
    first, second = json.loads(listing.stdout)["runs"]
    assert (first["name"], first["error"], first["command"]) == ("good", None, "run")
    listed = os.path.relpath(saved)  # as the listing names it
    assert second["name"] == "bad" and second["error"].startswith(f"{listed}: ")
    said = second["error"][len(f"{listed}: ") :]
    assert message_matches(case.message, said), said
    table = dbbench("runs")
    assert table.exit_code == 0 and "good" in table.stdout and "cannot be" in table.stdout


def message_matches(message: str | re.Pattern[str], said: str) -> bool:
    return bool(message.match(said)) if isinstance(message, re.Pattern) else said == message


def test_every_valid_document_reads(documents, tmp_path, monkeypatch):
    """The cases above are made from these: each is read, shown and reported as it is."""
    monkeypatch.chdir(tmp_path)
    for name, document in documents.items():
        path = write(tmp_path / f"{name.replace('/', '-')}", document)
        result = dbbench("show", str(path), "--format", "json")
        assert result.exit_code == 0, (name, result.output)


def test_a_time_no_clock_can_show_is_shown_as_it_is(documents, tmp_path, monkeypatch):
    """Year 1 at UTC+5 is a valid ISO time that UTC cannot hold: the report shows it as
    written, not a traceback."""
    monkeypatch.chdir(tmp_path)
    early = write(
        tmp_path / "early.json",
        changed(documents["run"], (("started_at",), "0001-01-01T00:00:00+05:00")),
    )
    result = dbbench("report", str(early), "-o", "report.html")
    assert result.exit_code == 0, result.output
    assert "0001-01-01T00:00:00+05:00" in (tmp_path / "report.html").read_text()


def test_keys_dbbench_does_not_know_are_kept_whatever_they_hold(documents, tmp_path, monkeypatch):
    """A newer dbbench's keys, or a person's: read, shown and written back as they are."""
    monkeypatch.chdir(tmp_path)
    extra = {"histograms": {"latency": {}}, "nested": nested(20), "n": "text"}
    document = changed(documents["run"], (("server",), extra), (("environment", "extra"), extra))
    path = write(tmp_path / "extra.json", document)
    result = dbbench("show", str(path), "--format", "json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["server"] == extra and shown["environment"]["extra"] == extra


@pytest.mark.parametrize(
    "name", ["deep-brackets", "nan", "hdr-inflates", "lone-surrogate", "binary", "password"]
)
def test_the_command_itself_says_the_same(name, documents, tmp_path):
    """``python -m dbbench``, as a user runs it: its own interpreter, stack and stderr."""
    case = next(case for case in CASES if case.name == name)
    bad = write(tmp_path / "bad.json", case.make(documents))
    shown = subprocess.run(
        [sys.executable, "-m", "dbbench", "show", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if not k.startswith(("DBBENCH_", "MYSQL_"))},
    )
    assert shown.returncode == 1 and shown.stdout == ""
    (line,) = shown.stderr.splitlines()
    prefix = f"dbbench: error: {bad}: "
    assert line.startswith(prefix) and message_matches(case.message, line[len(prefix) :]), line
    assert PASSWORD not in shown.stderr


def test_variants_without_their_environments_diff_as_the_run_s(documents, tmp_path, monkeypatch):
    """A run of several variants whose environment recorded none of theirs (``variants``
    absent): each variant ran where the run ran; diff and report take it apart all the same
    (hypothesis found it failing with KeyError)."""
    monkeypatch.chdir(tmp_path)
    document = changed(documents["variants"], (("environment", "variants"), DROP))
    path = write(tmp_path / "variants.json", document)
    for args in (["diff", str(path)], ["report", str(path), "-o", "report.html"]):
        result = dbbench(*args)
        assert result.exit_code == 0, (args, result.output)
        assert "Traceback" not in result.output and "unexpected" not in result.output
