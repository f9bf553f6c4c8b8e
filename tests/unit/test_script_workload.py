"""``--script FILE[@WEIGHT]``: the setting, its refusals, and the workload that picks a
script by weight and records each statement (no database: a recording connection)."""

from __future__ import annotations

import random
import time
from collections import Counter

import pytest

from dbbench.config.schema import ScriptSpec, script_spec
from dbbench.config.settings import load_settings
from dbbench.engine.turn import Steps, Tally, Turn, error_kind, run_sync, work
from dbbench.errors import ConfigError
from dbbench.guard.common import shown
from dbbench.scenarios.benchmark import check_script_runners, check_sql
from dbbench.scripts.run import StatementFailed
from dbbench.workload import workload_for
from dbbench.workload_script import ScriptWorkload, StatementTally

TX = "\\set id random(1, 1000)\nBEGIN;\nSELECT :id;\nSELECT :id + 1;\nSELECT :id * 2;\nCOMMIT;\n"


class Failing(Exception):
    """The driver's error, as a recording connection raises it."""


class Recording:
    """A DB-API connection that notes what it ran; ``fail`` names SQL that raises."""

    def __init__(self, fail: str | None = None) -> None:
        self.calls: list[tuple[str, tuple | None]] = []
        self._autocommit = False
        self.autocommit_set = 0
        self.fail = fail
        self.cursors_opened = self.cursors_closed = 0

    @property
    def autocommit(self) -> bool:
        return self._autocommit

    @autocommit.setter
    def autocommit(self, value: bool) -> None:
        self.autocommit_set += 1
        self._autocommit = value

    def cursor(self) -> Recording:
        self.cursors_opened += 1
        return self

    def execute(self, sql: str, parameters: tuple | None = None) -> None:
        self.calls.append((sql, parameters))
        if self.fail is not None and sql.startswith(self.fail):
            raise Failing("duplicate key")

    def fetchall(self) -> list[tuple]:
        return [(1,)] if self.calls[-1][0].startswith("SELECT") else []

    def close(self) -> None:
        self.cursors_closed += 1


@pytest.fixture
def tx(tmp_path):
    path = tmp_path / "tx.sql"
    path.write_text(TX)
    return path


def loaded(*scripts: str, **flags):
    return load_settings(None, env={}, flags={"benchmark": {"scripts": scripts, **flags}})


def test_a_script_without_weight_weighs_one_and_with_one_its_weight(tx):
    settings = loaded(str(tx), f"{tx}@3")
    assert [(f.path, f.weight) for f in settings.benchmark.scripts] == [(str(tx), 1), (str(tx), 3)]
    assert [s.sql for s in settings.benchmark.scripts[0].script.statements] == [
        "BEGIN", "SELECT :id", "SELECT :id + 1", "SELECT :id * 2", "COMMIT"
    ]  # fmt: skip
    assert settings.public_dict()["benchmark"]["scripts"] == [
        {"path": str(tx), "weight": 1},
        {"path": str(tx), "weight": 3},
    ]


def test_a_run_of_the_query_records_no_scripts():
    assert "scripts" not in load_settings(None, env={}).public_dict()["benchmark"]


def test_a_run_of_scripts_connects_in_autocommit_and_a_run_of_the_query_as_configured(tx):
    assert loaded(str(tx)).database.autocommit is True
    assert load_settings(None, env={}).database.autocommit is False


def test_a_connection_in_autocommit_already_is_sent_nothing():
    from dbbench.scripts.run import autocommit

    connection = Recording()
    connection._autocommit = True  # as the connect left it (psycopg, mysql-connector)
    autocommit(connection)
    assert connection.autocommit_set == 0


@pytest.mark.parametrize(
    ("text", "spec"),
    [("a.sql", ScriptSpec("a.sql")), ("a.sql@7", ScriptSpec("a.sql", 7)),
     ("x@y.sql", ScriptSpec("x@y.sql"))],
)  # fmt: skip
def test_script_spec(text, spec):
    assert script_spec(text) == spec


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("a.sql@0", "--script = 'a.sql@0': the weight must be at least 1"),
        ("@2", "--script = '@2': names no file before its @WEIGHT"),
    ],
)
def test_a_bad_weight_is_one_line_naming_the_flag(given, message):
    with pytest.raises(ConfigError) as caught:
        loaded(given)
    assert str(caught.value) == message


@pytest.mark.parametrize("weight", ["1.5", "abc", "1e3", "0x10", " 2.0"])
def test_a_weight_not_a_whole_number_is_said_so(tmp_path, tx, weight):
    with pytest.raises(ConfigError) as caught:
        loaded(f"{tx}@{weight}")
    assert str(caught.value) == (
        f"--script = '{tx}@{weight}': the weight {weight!r} is not a whole number"
    )


def test_a_file_named_with_an_at_is_read(tmp_path):
    (tmp_path / "x@y.sql").write_text("SELECT 1;\n")
    (tmp_path / "x").write_text("SELECT 2;\n")  # x exists too: x@y.sql is the file given
    (file,) = loaded(str(tmp_path / "x@y.sql")).benchmark.scripts
    assert (file.path, file.weight) == (str(tmp_path / "x@y.sql"), 1)


def test_the_settings_file_takes_a_list(tmp_path, tx):
    config = tmp_path / "dbbench.toml"
    config.write_text(f'[benchmark]\nscripts = ["{tx}@2"]\n')
    settings = load_settings(config, env={})
    assert [f.weight for f in settings.benchmark.scripts] == [2]
    config.write_text("[benchmark]\nscripts = [3]\n")
    with pytest.raises(ConfigError, match=r"\[benchmark\] scripts = \[3\]: each script must be"):
        load_settings(config, env={})


def test_a_script_that_does_not_parse_is_one_line_naming_file_and_line(tmp_path):
    path = tmp_path / "bad.sql"
    path.write_text("SELECT 1;\n\\gset\n")
    with pytest.raises(ConfigError) as caught:
        loaded(str(path))
    assert str(caught.value).startswith(f"{path}:2: unsupported meta-command \\gset")
    with pytest.raises(ConfigError, match=f"^--script: {tmp_path / 'missing.sql'}: no such file"):
        loaded(str(tmp_path / "missing.sql"))
    config = tmp_path / "dbbench.toml"
    config.write_text('[benchmark]\nscripts = "30s"\n')
    with pytest.raises(ConfigError, match=r"^\S*dbbench.toml: \[benchmark\] scripts: 30s: no such"):
        load_settings(config, env={})


@pytest.mark.parametrize("dialect", ["mysql", "postgresql"])
def test_the_guard_judges_every_statement_naming_file_and_line(tmp_path, tx, dialect):
    writes = tmp_path / "w.sql"
    writes.write_text("BEGIN;\nSELECT 1;\nUPDATE t SET a = 1;\nCOMMIT;\n")
    database = {"dialect": dialect}
    flags = {"benchmark": {"scripts": (str(tx),)}, "database": database}
    ok = load_settings(None, env={}, flags=flags)
    check_sql(ok, allow_writes=False)  # BEGIN, SELECTs, COMMIT: nothing written
    settings = load_settings(
        None, env={}, flags={"benchmark": {"scripts": (str(tx), str(writes))}, "database": database}
    )
    with pytest.raises(ConfigError) as caught:
        check_sql(settings, allow_writes=False)
    assert str(caught.value).startswith(f"{writes}:3 = 'UPDATE t SET a = 1' may change data")
    assert "allow-writes" in str(caught.value) or "allow_writes" in str(caught.value)
    check_sql(settings, allow_writes=True)


@pytest.mark.parametrize("dialect", ["mysql", "postgresql"])
@pytest.mark.parametrize(
    "begin",
    [
        "BEGIN READ WRITE",
        "begin  read\twrite",
        "BEGIN TRANSACTION READ WRITE",
        "BEGIN WORK READ WRITE",
        "START TRANSACTION READ WRITE",
        "start transaction read write, with consistent snapshot",
        "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ WRITE",
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ WRITE",
        "BEGIN ISOLATION LEVEL READ COMMITTED, READ WRITE, NOT DEFERRABLE",
        "SET TRANSACTION READ WRITE",
        "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
    ],
)
def test_a_writable_transaction_is_refused_as_a_write(tmp_path, dialect, begin):
    # BEGIN READ WRITE undoes PostgreSQL's read-only session: a function that writes,
    # called in it, committed its writes without --allow-writes
    script = tmp_path / "rw.sql"
    script.write_text(f"\\set x 1\n{begin};\nSELECT wr();\nCOMMIT;\n")
    flags = {"benchmark": {"scripts": (str(script),)}, "database": {"dialect": dialect}}
    settings = load_settings(None, env={}, flags=flags)
    with pytest.raises(ConfigError) as caught:
        check_sql(settings, allow_writes=False)
    assert str(caught.value).startswith(f"{script}:2 = {shown(begin)} may change data")
    assert "allow-writes" in str(caught.value) or "allow_writes" in str(caught.value)
    check_sql(settings, allow_writes=True)


@pytest.mark.parametrize("dialect", ["mysql", "postgresql"])
def test_a_read_only_or_plain_transaction_passes(tmp_path, dialect):
    script = tmp_path / "ro.sql"
    script.write_text(
        "BEGIN;\nCOMMIT;\nBEGIN READ ONLY;\nEND;\nSTART TRANSACTION READ ONLY, WITH "
        "CONSISTENT SNAPSHOT;\nROLLBACK;\nBEGIN ISOLATION LEVEL SERIALIZABLE;\nCOMMIT;\n"
    )
    flags = {"benchmark": {"scripts": (str(script),)}, "database": {"dialect": dialect}}
    check_sql(load_settings(None, env={}, flags=flags), allow_writes=False)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"query": "SELECT 2"}, "both say what an operation runs: give one"),
        ({"workload": "insert"}, "workload = 'insert' both say what an operation runs"),
    ],
)
def test_a_script_and_a_query_or_workload_are_refused(tx, flags, message):
    with pytest.raises(ConfigError, match=message):
        check_sql(loaded(str(tx), **flags), allow_writes=True)


def test_a_runner_that_runs_no_script_is_refused(tx):
    settings = loaded(str(tx))
    check_script_runners(settings, ["raw", "pool", "persistent", "nullpool"])
    with pytest.raises(ConfigError, match="which runner core, session does not give"):
        check_script_runners(settings, ["raw", "core", "session"])


def scripts(tmp_path, *weights: int):
    paths = []
    for number, weight in enumerate(weights):
        path = tmp_path / f"s{number}.sql"
        path.write_text(f"SELECT {number};\n")
        paths.append(f"{path}@{weight}")
    return loaded(*paths).benchmark.scripts


def test_the_choice_follows_the_weights_and_a_seed_repeats_it(tmp_path):
    files = scripts(tmp_path, 1, 3, 0 + 6)
    workload = ScriptWorkload(files, seed=7)
    rng = random.Random(1)
    picks = Counter(workload.pick(rng) for _ in range(10_000))
    # 1:3:6 of 10,000, the seed fixed: the same counts every time
    assert sorted(picks) == [0, 1, 2]
    assert 800 < picks[0] < 1200 and 2700 < picks[1] < 3300 and 5700 < picks[2] < 6300
    again = ScriptWorkload(files, seed=7)
    first = Recording()
    second = Recording()
    for _ in range(50):
        workload.run_on(first)
        again.run_on(second)
    assert first.calls == second.calls


def test_an_operation_sets_autocommit_once_per_connection_and_records_each_statement(tx):
    workload = workload_for(loaded(str(tx)).benchmark)
    assert isinstance(workload, ScriptWorkload)
    connection = Recording()
    for _ in range(5):
        assert workload.run_on(connection) == 3  # three SELECTs' rows
    assert connection.autocommit is True and connection.autocommit_set == 1
    ids = [parameters[0] for sql, parameters in connection.calls if sql == "SELECT %s"]
    assert len(ids) == 5 and all(1 <= i <= 1000 for i in ids)
    tally = workload.take()
    assert tally.operations == {0: 5}
    assert {key: f.latency.count for key, f in tally.statements.items()} == {
        (0, i): 5 for i in range(5)
    }
    assert workload.take().operations == {}  # taken: cleared


def test_a_connection_keeps_one_cursor_until_a_statement_fails_on_it(tx):
    workload = workload_for(loaded(str(tx)).benchmark)
    connection, flaky = Recording(), Recording(fail="SELECT %s + 1")
    for _ in range(3):
        workload.run_on(connection)
    assert (connection.cursors_opened, connection.cursors_closed) == (1, 0)
    for _ in range(2):  # the failed cursor closed, the next operation opens its own
        with pytest.raises(StatementFailed):
            workload.run_on(flaky)
    # each failure: the script's cursor, then its ROLLBACK's, both closed
    assert (flaky.cursors_opened, flaky.cursors_closed) == (4, 4)
    workload.run_on(connection)  # another connection than the last: a new cursor
    assert (connection.cursors_opened, connection.cursors_closed) == (2, 0)


def test_an_operation_leaves_its_statements_to_settle_after_its_timing(tx):
    workload = workload_for(loaded(str(tx)).benchmark)
    connection = Recording()
    workload.run_on(connection)
    workload.run_on(connection)
    tally = workload._thread()[1]
    assert tally.statements == {} and len(tally.pending) == 2  # nothing counted yet
    workload.settle()
    assert tally.pending == [] and tally.operations == {0: 2}
    assert {key: f.latency.count for key, f in tally.statements.items()} == {
        (0, i): 2 for i in range(5)
    }
    workload.run_on(connection)  # left pending: take() counts it
    assert workload.take().operations == {0: 3}


def test_a_turn_settles_its_workload_after_each_operation(tx):
    workload = workload_for(loaded(str(tx)).benchmark)
    connection = Recording()

    class Runner:
        def __init__(self) -> None:
            self.workload = workload

        def run_once(self, worker: int = 0) -> None:
            workload.run_on(connection)

    runner = Runner()
    turn = Turn(runner, quota=3, duration_ns=None, rate_per_s=None, clock=time.perf_counter_ns)
    run_sync(work(turn, 0, Tally(), Steps.called(runner)))  # type: ignore[arg-type]
    assert workload._thread()[1].pending == []
    assert workload.take().operations == {0: 3}


def test_a_failed_statement_is_recorded_and_named_in_its_kind(tx):
    workload = workload_for(loaded(str(tx)).benchmark)
    connection = Recording(fail="SELECT %s + 1")
    with pytest.raises(StatementFailed) as caught:
        workload.run_on(connection)
    assert connection.calls[-1] == ("ROLLBACK", None)
    assert error_kind(caught.value) == f"Failing at {tx}:4"
    tally = workload.take()
    assert tally.statements[(0, 2)].errors == 1
    # counted as a runner's operations are: the failure is an error, not in n or latencies
    assert tally.statements[(0, 2)].latency.count == 0
    assert tally.statements[(0, 1)].latency.count == 1 and tally.statements[(0, 1)].errors == 0
    assert (0, 3) not in tally.statements  # never ran
    assert StatementTally.from_dict(tally.to_dict()).to_dict() == tally.to_dict()


def recorded(tx, runs: int) -> StatementTally:
    workload = workload_for(loaded(str(tx)).benchmark)
    connection = Recording()
    for _ in range(runs):
        workload.run_on(connection)
    return workload.take()


def test_processes_records_of_statements_merge_exactly(tx):
    from dbbench.engine.harness import RunnerRecord

    first, second = RunnerRecord("pool"), RunnerRecord("pool")
    first.add_statements(recorded(tx, 3))
    second.add_statements(recorded(tx, 4))
    sent = RunnerRecord.from_dict(second.to_dict())  # as a worker process sends it
    first.merge(sent)
    assert first.statements is not None
    assert first.statements.operations == {0: 7}
    assert {k: f.latency.count for k, f in first.statements.statements.items()} == {
        (0, i): 7 for i in range(5)
    }
    assert RunnerRecord.from_dict(RunnerRecord("raw").to_dict()).statements is None


def test_the_result_carries_each_statement_and_an_old_file_none(tx):
    from dbbench.engine.harness import RunnerRecord
    from dbbench.results.model import RunnerResult
    from dbbench.scenarios.summary import runner_result

    record = RunnerRecord("persistent")
    record.add_statements(recorded(tx, 6))
    result = runner_result(record, None)
    ((script,),) = [result.scripts]
    assert (script.script, script.weight, script.operations) == (str(tx), 1, 6)
    assert [(s.line, s.sql, s.n, s.errors) for s in script.statements][:2] == [
        (2, "BEGIN", 6, 0), (3, "SELECT :id", 6, 0)
    ]  # fmt: skip
    document = result.to_document()
    again = RunnerResult.from_document(document)
    assert again.to_document() == document
    old = {key: value for key, value in document.items() if key != "scripts"}
    assert RunnerResult.from_document(old).scripts is None


def test_the_statement_table_shows_text_literally_and_shortened(tx):
    from rich.console import Console

    from dbbench.engine.harness import RunnerRecord
    from dbbench.output.table import statement_rows
    from dbbench.scenarios.summary import runner_result
    from dbbench.text import shortened

    assert shortened("SELECT  a,\n  b FROM t") == "SELECT a, b FROM t"
    assert shortened("x" * 50, 10) == "x" * 9 + "…"
    record = RunnerRecord("pool")
    tally = recorded(tx, 2)
    tally.texts[(0, 1)] = (3, "SELECT '[red]x[/red]'")
    record.add_statements(tally)
    result = runner_result(record, None)
    assert statement_rows([runner_result(RunnerRecord("raw"), None)]) is None
    console = Console(width=200, record=True)
    console.print(statement_rows([result]))
    text = console.export_text()
    assert "SELECT '[red]x[/red]'" in text
    assert "100.0%" in text and str(tx) in text


def test_markdown_shows_each_statement_in_a_table_of_its_own(tx):
    from types import SimpleNamespace

    from dbbench.engine.harness import RunnerRecord
    from dbbench.output.markdown import _statement_table
    from dbbench.scenarios.summary import runner_result

    record = RunnerRecord("persistent")
    tally = recorded(tx, 4)
    tally.texts[(0, 1)] = (3, "SELECT 'a|b'")
    record.add_statements(tally)
    lines = _statement_table(SimpleNamespace(runners=[runner_result(record, None)]))
    assert lines[0] == "**Per statement** (measured operations; milliseconds)"
    assert lines[2].startswith("| runner | script | line | statement | share |")
    assert lines[5].startswith(f"| **persistent** | {tx} | 3 | `SELECT 'a\\|b'` | 100.0% | 4 | 0 |")
    plain = SimpleNamespace(runners=[runner_result(RunnerRecord("raw"), None)])
    assert _statement_table(plain) == []


TRICKY = "SELECT a, '<b> & c'\nFROM t"


def scripted_runners(tx):
    """A runner of 4 operations of ``tx`` (its line 3 holds ``TRICKY``), one of none."""
    from dbbench.engine.harness import RunnerRecord
    from dbbench.scenarios.summary import runner_result

    record = RunnerRecord("persistent")
    tally = recorded(tx, 4)
    tally.texts[(0, 1)] = (3, TRICKY)
    record.add_statements(tally)
    return [runner_result(record, None), runner_result(RunnerRecord("raw"), None)]


def test_csv_adds_a_row_per_statement_after_its_runner(tx):
    import csv
    import io
    from types import SimpleNamespace

    from rich.console import Console

    from dbbench.output import csv_format

    out = io.StringIO()
    run = SimpleNamespace(runners=scripted_runners(tx), speedups=[], cluster=None)
    csv_format.write_run(run, Console(file=out))
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert list(rows[0]) == [
        "row", *csv_format.RUN_COLUMNS, *csv_format.STATEMENT_COLUMNS
    ]  # fmt: skip
    assert [(r["row"], r["runner"], r["line"]) for r in rows] == [
        ("runner", "persistent", ""),
        *(("statement", "persistent", str(line)) for line in range(2, 7)),
        ("runner", "raw", ""),
    ]
    runner, begin, tricky = rows[:3]
    assert runner["script"] == "" and runner["statement"] == ""
    assert (begin["statement"], begin["n"], begin["errors"]) == ("BEGIN", "4", "0")
    assert (begin["script"], begin["weight"], begin["script_operations"]) == (str(tx), "1", "4")
    assert float(begin["share"]) == 1.0 and float(begin["mean_us"]) > 0
    assert float(begin["p50_us"]) <= float(begin["p99_us"])
    assert begin["ops_per_s"] == "" and begin["first_op_us"] == ""  # a runner's only
    # the whole text, one cell: the comma quoted, the newline escaped (a row is one line)
    assert tricky["statement"] == "SELECT a, '<b> & c'\\nFROM t"
    assert out.getvalue().count("\n") == 1 + 7


def test_csv_of_a_run_without_scripts_keeps_its_columns():
    import csv
    import io
    from types import SimpleNamespace

    from rich.console import Console

    from dbbench.engine.harness import RunnerRecord
    from dbbench.output import csv_format
    from dbbench.scenarios.summary import runner_result

    out = io.StringIO()
    runners = [runner_result(RunnerRecord("raw"), None)]
    run = SimpleNamespace(runners=runners, speedups=[], cluster=None)
    csv_format.write_run(run, Console(file=out))
    assert next(csv.reader(io.StringIO(out.getvalue()))) == list(csv_format.RUN_COLUMNS)


def test_the_report_has_a_statements_table_with_the_text_escaped(tx):
    import html
    import re

    from dbbench.output.report.sections import _statement_table

    markup = _statement_table(scripted_runners(tx))
    assert markup.startswith("<h3>Statements</h3>")
    head = re.search(r"<thead>(.*?)</thead>", markup).group(1)
    assert re.findall(r"<th[^>]*>(.*?)</th>", head) == [
        "runner", "script", "share", "line", "statement", "n", "errors", "mean", "p50", "p99"
    ]  # fmt: skip
    rows = re.findall(r"<tr>(.*?)</tr>", re.search(r"<tbody>(.*?)</tbody>", markup).group(1))
    assert len(rows) == 5  # the persistent runner's statements; raw ran no script
    cells = [html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", rows[1])]
    flat = "SELECT a, '<b> & c' FROM t"  # shortened: one line
    assert cells[:7] == ["persistent", str(tx), "100.0%", "3", flat, "4", "0"]
    assert "&lt;b&gt; &amp; c" in rows[1] and "<b>" not in markup
    assert all(cell != "–" for cell in cells[7:])  # mean, p50, p99 measured
    assert _statement_table(scripted_runners(tx)[1:]) == ""
