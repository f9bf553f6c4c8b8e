"""The CLI through click's CliRunner, with fake runners instead of a database."""

import dataclasses
import io
import json
import re
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from rich.console import Console

from dbbench.cli import Env, cli
from dbbench.config.settings import DatabaseSettings
from dbbench.errors import ConnectError, ExitStatus
from dbbench.results.model import SCHEMA_VERSION
from dbbench.scenarios.backend import Backend
from tests.fakes import FakeClock, FakeRunner, LeftBehind, fake_backend

COSTS_NS = {"raw": 2_000_000, "pool": 50_000, "persistent": 20_000}


#: the backend the fake_runners fixture made for this test, handed to every invoke()
_BACKEND: dict[str, Backend] = {}


@pytest.fixture
def fake_runners(monkeypatch, tmp_path):
    """Replace the database: each runner's operation costs its fake time on a FakeClock;
    the server check always passes.  The CLI gets them as its ``Env``'s backend."""
    created: dict[str, FakeRunner] = {}
    clock = FakeClock()

    def create(name, settings):
        fail = None
        if name == "raw" and "fail" in settings.benchmark.query:
            fail = lambda call: None if call % 2 else RuntimeError("boom")  # noqa: E731
        if name == "pool" and "timeout" in settings.benchmark.query:  # a checkout gives up
            fail = lambda call: None if call % 2 else TimeoutError("QueuePool limit")  # noqa: E731
        created[name] = FakeRunner(name, [], clock=clock, cost_ns=COSTS_NS[name], fail=fail)
        created[name].settings = settings
        return created[name]

    monkeypatch.setitem(_BACKEND, "backend", fake_backend(create, clock))
    monkeypatch.chdir(tmp_path)
    for variable in (
        "DBBENCH_HOST",
        "DBBENCH_PORT",
        "DBBENCH_USER",
        "DBBENCH_PASSWORD",
        "DBBENCH_DATABASE",
        "MYSQL_PWD",
    ):
        monkeypatch.delenv(variable, raising=False)
    created["_dir"] = tmp_path
    return created


def invoke(*args, env=None):
    return CliRunner().invoke(cli, list(args), env=env, obj=Env(backend=_BACKEND.get("backend")))


def test_run_prints_table_and_speedups(fake_runners):
    result = invoke("run", "--iterations", "20")
    assert result.exit_code == 0, result.output
    for name in ("raw", "pool", "persistent"):
        assert name in result.stdout
    assert "pool is " in result.stdout and "× faster than raw (95% CI " in result.stdout
    assert "10.11.0-Fake" in result.stdout
    assert fake_runners["raw"].calls == 1 + 5 + 20  # cold + default warm-up + iterations


def consoles() -> tuple[Env, io.StringIO, io.StringIO]:
    """An Env whose stdout and stderr are consoles writing into strings."""

    out, err = io.StringIO(), io.StringIO()
    env = Env(
        stdout=Console(file=out, width=140),
        stderr=Console(file=err, width=140),
        backend=_BACKEND.get("backend"),
    )
    return env, out, err


def test_the_consoles_are_the_env_s(fake_runners):
    env, out, err = consoles()
    result = CliRunner().invoke(cli, ["run", "-n", "20", "--json"], obj=env)
    assert result.exit_code == 0, result.output
    assert result.stdout == "" and json.loads(out.getvalue())["results"][0]["n"] == 20
    # the fake clock: every operation took exactly its runner's cost
    latencies = {r["runner"]: r["p50_us"] for r in json.loads(out.getvalue())["results"]}
    assert latencies == {"raw": 2000.0, "pool": 50.0, "persistent": 20.0}


def test_the_progress_display_runs_on_the_backend_s_clock(fake_runners):
    # 1,000 of raw's 2 ms fake operations: 2 s on the fake clock, past the display's
    # delay (progress.SHOW_AFTER_S), in a few real milliseconds
    env, out, err = consoles()
    terminal = Console(file=err, width=140, force_terminal=True)
    args = ["run", "-n", "1000", "--warmup", "0", "--runner", "raw", "--json"]
    result = CliRunner().invoke(cli, args, obj=dataclasses.replace(env, stderr=terminal))
    assert result.exit_code == 0, result.output
    assert "dbbench run · measuring raw" in err.getvalue()


def test_run_json_document(fake_runners):
    result = invoke(
        "run",
        "--iterations",
        "10",
        "--warmup",
        "2",
        "--json",
        env={"DBBENCH_PASSWORD": "canary-pw-123"},
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["schema_version"] == SCHEMA_VERSION
    assert doc["complete"] is True
    assert doc["environment"]["server_version"] == "10.11.0-Fake"
    for key in ("python", "pymysql", "sqlalchemy", "dbbench"):
        assert key in doc["environment"]
    assert [r["runner"] for r in doc["results"]] == ["raw", "pool", "persistent"]
    raw = doc["results"][0]
    for key in (
        "n",
        "errors",
        "mean_us",
        "stddev_us",
        "min_us",
        "p50_us",
        "p95_us",
        "p99_us",
        "max_us",
        "ops_per_s",
        "first_op_us",
    ):
        assert key in raw
    assert raw["n"] == 10 and raw["errors"] == 0
    assert raw["min_us"] <= raw["p50_us"] <= raw["p95_us"] <= raw["p99_us"] <= raw["max_us"]
    assert raw["mean_us"] >= 2000  # the fake raw spins 2 ms
    speedups = {s["runner"]: s for s in doc["speedups"]}
    assert set(speedups) == {"pool", "persistent"}
    assert speedups["pool"]["ci_low"] <= speedups["pool"]["ratio"] <= speedups["pool"]["ci_high"]
    assert doc["settings"]["benchmark"]["warmup"] == 2
    assert doc["settings"]["database"]["password_set"] is True
    assert "canary-pw-123" not in result.output


def test_runner_subset_and_order(fake_runners):
    result = invoke("run", "--iterations", "5", "--runner", "pool,raw", "--json")
    assert result.exit_code == 0, result.output
    assert [r["runner"] for r in json.loads(result.stdout)["results"]] == ["pool", "raw"]
    assert "persistent" not in fake_runners


def test_compare_applies_pool_flags_and_shows_them(fake_runners, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text("[pool]\npool_size = 2\nmax_overflow = 7\npool_recycle = 60\n")
    result = invoke(
        "compare",
        "--config",
        str(config),
        "--pool-size",
        "10",
        "--max-overflow",
        "3",
        "--pre-ping",
        "--iterations",
        "5",
    )
    assert result.exit_code == 0, result.output
    pool = fake_runners["pool"].settings.pool
    assert (pool.pool_size, pool.max_overflow, pool.pool_pre_ping) == (10, 3, True)
    assert pool.pool_recycle_s == 60  # from the file: no flag given
    assert "pool_size=10 max_overflow=3" in result.stdout


def test_operation_errors_are_reported_and_set_the_exit_status(fake_runners):
    result = invoke("run", "--iterations", "10", "--query", "SELECT 'fail'")
    assert result.exit_code == 3
    assert "raw: 5 failed operations: RuntimeError × 5" in result.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", "--iterations", "0"], "--iterations = '0': must be at least 1"),
        (["run", "--iterations", "abc"], "--iterations = 'abc': must be a whole number"),
        (["run", "--runner", "raw,bogus"], "unknown runner 'bogus'"),
        (["run", "--port", "70000"], "--port = '70000': must be at most 65535"),
        (["compare", "--pool-size", "0"], "--pool-size = '0': must be at least 1"),
        (["compare", "--pool-size", "5,x"], "--pool-size = '5,x': 'x' must be a whole number"),
        (["run", "--concurrency", "0"], "--concurrency = '0': must be at least 1"),
        (["run", "--duration", "30x"], "--duration = '30x': must be a duration such as 30s"),
        (["run", "--rate", "fast"], "--rate = 'fast': must be operations per second"),
        (["run", "--processes", "3", "--concurrency", "2"], "each process needs at least one"),
        (["run", "--iterations", "5", "--duration", "1s"], "are both given"),
        (["run", "--config", "/nonexistent/dbbench.toml"], "configuration file not found"),
        (["run", "--server", "remote"], "'remote' is not one of"),
        (["run", "--nope"], "No such option '--nope'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(fake_runners, args, expected):
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("dbbench: error: ")
    assert expected in lines[0]
    assert "Traceback" not in result.output


def test_bad_config_key_names_file_and_key(fake_runners, tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text("[database]\nprot = 3306\n")
    result = invoke("run", "--config", str(config))
    assert result.exit_code == 2
    assert f"{config}: unknown key 'prot' in [database] (did you mean 'port'?)" in result.stderr


def test_dbbench_toml_in_working_directory_is_used(fake_runners):
    import pathlib

    pathlib.Path(fake_runners["_dir"], "dbbench.toml").write_text("[benchmark]\niterations = 7\n")
    result = invoke("run", "--json", "--quiet")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["results"][0]["n"] == 7


def test_connect_failure_is_one_line_exit_1_and_debug_shows_traceback(fake_runners, monkeypatch):
    def refuse(db, wl):
        raise ConnectError(f"cannot connect to {db.describe()}: connection refused")

    refusing = dataclasses.replace(_BACKEND["backend"], check_server=refuse)
    monkeypatch.setitem(_BACKEND, "backend", refusing)
    result = invoke("run", "--port", "3999")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "dbbench: error: cannot connect to root@127.0.0.1:3999: connection refused"
    )
    debug = invoke("--debug", "run", "--port", "3999")
    assert debug.exit_code == 1
    assert "Traceback" in debug.stderr


def test_errors_tracebacks_and_bare_help_go_to_the_env_s_consoles(fake_runners):
    env, out, err = consoles()
    bad = CliRunner().invoke(cli, ["--debug", "run", "--iterations", "0"], obj=env)
    assert bad.exit_code == 2 and bad.stdout == "" and bad.stderr == ""
    assert "Traceback" in err.getvalue()
    assert err.getvalue().splitlines()[-1].startswith("dbbench: error: --iterations")
    bare = CliRunner().invoke(cli, [], obj=env)
    assert bare.exit_code == 0 and bare.stdout == ""
    assert "Measure what database connections cost" in out.getvalue()


def test_a_scratch_table_left_behind_is_a_warning_on_the_env_s_stderr(fake_runners):
    def broken(label, settings):
        raise RuntimeError("the runner could not start")

    failing = dataclasses.replace(
        _BACKEND["backend"], scratch_table=LeftBehind, create_runner=broken
    )
    env, out, err = consoles()
    args = ["run", "--workload", "insert", "--allow-writes", "--database", "test", "-n", "5"]
    result = CliRunner().invoke(cli, args, obj=dataclasses.replace(env, backend=failing))
    assert result.exit_code == 1 and result.stderr == ""
    warning, error = err.getvalue().splitlines()[-2:]
    assert warning.startswith("dbbench: warning: could not drop the scratch table dbbench_scratch_")
    assert error.startswith("dbbench: error: unexpected RuntimeError: the runner could not start")


def test_a_command_puts_back_the_sigterm_handler_it_found(fake_runners):
    import signal

    def before(signum, frame):
        pass

    previous = signal.signal(signal.SIGTERM, before)
    try:
        assert invoke("run", "-n", "5", "--quiet").exit_code == 0
        assert invoke("run", "--iterations", "0").exit_code == 2
        assert signal.getsignal(signal.SIGTERM) is before
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_help_has_examples():
    for command in ("run", "compare"):
        result = invoke(command, "--help")
        assert result.exit_code == 0
        assert "Example" in result.output and f"dbbench {command}" in result.output


def test_version():
    result = invoke("--version")
    assert result.exit_code == 0


def _ssl_notes(result) -> list[str]:
    return [note for note in json.loads(result.stdout)["notes"] if "SSL context" in note]


def test_tls_default_note_only_without_ssl_settings(fake_runners, tmp_path):
    assert _ssl_notes(invoke("run", "--iterations", "5", "--json"))
    config = tmp_path / "c.toml"
    config.write_text("[database]\nssl_disabled = true\n")
    assert not _ssl_notes(invoke("run", "--iterations", "5", "--json", "--config", str(config)))
    config.write_text("[database]\nssl_disabled = false\n")  # still PyMySQL's default
    assert _ssl_notes(invoke("run", "--iterations", "5", "--json", "--config", str(config)))
    assert not _ssl_notes(invoke("run", "--iterations", "5", "--json", "--runner", "pool"))


def test_tls_default_note_names_the_flag_that_turns_it_off(fake_runners):
    # the document names the setting; the command line, its flag
    (note,) = _ssl_notes(invoke("run", "--iterations", "5", "--json"))
    assert 'Set [database] ssl_mode to "disabled"' in note and "[database] ssl_ca" in note
    table = " ".join(invoke("run", "--iterations", "5").stdout.split())
    assert 'Set --ssl-mode to "disabled", or to "verify_ca" with [database] ssl_ca' in table


def test_pool_settings_note_with_one_worker(fake_runners):
    notes = json.loads(invoke("compare", "--pool-size", "3", "-n", "5", "--json").stdout)["notes"]
    # the document names settings as the settings file does; the table, as this command's flags
    assert any("raise [benchmark] concurrency" in note for note in notes)
    assert not any("--" in note for note in notes)
    table = " ".join(invoke("compare", "--pool-size", "3", "-n", "5").stdout.split())
    assert "--pool-size, --max-overflow and --pool-timeout change nothing here" in table
    assert "raise --concurrency" in table
    notes = json.loads(invoke("compare", "-c", "2", "-n", "5", "--json").stdout)["notes"]
    assert not any("concurrency" in note for note in notes)


def test_no_arguments_shows_help():
    result = invoke()
    assert result.exit_code == 0
    assert "Commands:" in result.output and "dbbench: error" not in result.output


def test_markup_in_the_query_is_shown_literally(fake_runners):
    result = invoke("run", "-n", "5", "-q", "--query", "SELECT '[/x]' AS [red]a[/red]")
    assert result.exit_code == 0, result.output
    assert "SELECT '[/x]' AS [red]a[/red]" in result.stdout


DATA = Path(__file__).resolve().parents[1] / "data"
SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "schema" / "dbbench-result.schema.json").read_text()
)


def test_diff_gate_exit_codes():
    base, new = str(DATA / "diff_base.json"), str(DATA / "diff_new.json")
    passed = invoke("diff", base, new)
    assert passed.exit_code == 0, passed.output
    assert "nothing gated" in passed.stdout
    # persistent's p99 rose ~42% beyond noise between these two files
    tripped = invoke("diff", base, new, "--fail-on", "p99:10%", "--fail-on", "mean:50%")
    assert tripped.exit_code == 4, tripped.output
    assert "p99 of persistent rose" in tripped.stdout
    # the same limit the other way round: an improvement never trips
    assert invoke("diff", new, base, "--fail-on", "p99:10%").exit_code == 0
    # NEW lacks BASE's nullpool runner: a gate must not pass on what it did not compare
    lacking = invoke("diff", base, new, "--fail-on", "p99:50%")
    assert (
        lacking.exit_code == 4 and "lacks what" in lacking.stdout and "nullpool" in lacking.stdout
    )


def test_diff_bad_input():
    base = str(DATA / "diff_base.json")
    bad = invoke("diff", base, base, "--fail-on", "p99:10")
    assert bad.exit_code == 2 and "needs a '%'" in bad.stderr
    missing = invoke("diff", base, "nope.json")
    assert missing.exit_code == 1 and "no such result file" in missing.stderr
    mixed = invoke("diff", base, str(DATA / "diff_sweep_base.json"))
    assert mixed.exit_code == 2 and "compares a run with a run" in mixed.stderr


def test_report_command_writes_a_page(tmp_path):
    page = tmp_path / "report.html"
    result = invoke("report", str(DATA / "results" / "run.json"), "-o", str(page))
    assert result.exit_code == 0, result.output
    assert "<svg" in page.read_text()
    same = invoke("report", str(page), "-o", str(page))
    assert same.exit_code in (1, 2) and "dbbench: error:" in same.stderr


def test_diff_in_every_format():
    base, new = str(DATA / "diff_base.json"), str(DATA / "diff_new.json")
    document = json.loads(invoke("diff", base, new, "--format", "json").stdout)
    assert document["command"] == "diff" and document["failed"] is False
    pool = next(d for d in document["diffs"] if d["runner"] == "pool")
    assert [c["metric"] for c in pool["changes"]] == ["mean", "p50", "p95", "p99", "ops_per_s"]
    gated = invoke("diff", base, new, "--format", "json", "--fail-on", "p99:10%")
    assert gated.exit_code == 4 and json.loads(gated.stdout)["failed"] is True
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(invoke("diff", base, new, "--format", "csv").stdout)))
    assert {r["metric"] for r in rows if r["runner"] == "raw"} == {
        "mean",
        "p50",
        "p95",
        "p99",
        "ops_per_s",
    }
    assert any(r["only_in"] == "base" for r in rows)  # nullpool: reported, not dropped
    assert invoke("diff", base, new, "--format", "markdown").stdout.startswith("### dbbench diff")
    assert document["schema_version"] == SCHEMA_VERSION
    jsonschema.Draft202012Validator(SCHEMA).validate(document)


def test_diff_refuses_an_explain_document_in_one_line():
    explained = invoke("diff", str(DATA / "results" / "explain.json"), str(DATA / "diff_base.json"))
    assert explained.exit_code == 2
    assert explained.stderr.strip().splitlines() == [
        "dbbench: error: "
        f"{DATA / 'results' / 'explain.json'} is a 'explain' document: "
        "dbbench diff compares run, compare and sweep results"
    ]


def test_runs_in_every_format(tmp_path, monkeypatch):
    from dbbench.results.store import RunStore, write_atomic

    monkeypatch.chdir(tmp_path)
    document = json.loads((DATA / "results" / "run.json").read_text())
    write_atomic(RunStore().next_path("first"), document)
    listing = json.loads(invoke("runs", "--format", "json").stdout)
    jsonschema.Draft202012Validator(SCHEMA).validate(listing)
    listed = listing["runs"]
    assert [(r["number"], r["name"], r["complete"]) for r in listed] == [(1, "first", True)]
    assert "first" in invoke("runs", "--format", "csv").stdout
    assert "| 1 | first |" in invoke("runs", "--format", "markdown").stdout
    assert "first" in invoke("runs").stdout


def test_a_query_that_may_write_needs_allow_writes(fake_runners, tmp_path):
    refused = invoke("run", "-n", "5", "--query", "UPDATE t SET a = 1")
    assert refused.exit_code == 2
    assert "--allow-writes" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    assert "raw" not in fake_runners  # refused before anything ran
    allowed = invoke("run", "-n", "5", "-q", "--query", "UPDATE t SET a = 1", "--allow-writes")
    assert allowed.exit_code == 0, allowed.output
    config = tmp_path / "w.toml"
    config.write_text('[benchmark]\nquery = "DELETE FROM t"\n')
    from_file = invoke("compare", "--config", str(config))
    assert from_file.exit_code == 2 and "[benchmark] query" in from_file.stderr
    stale = invoke("stale", "--query", "DELETE FROM t")
    assert stale.exit_code == 2 and "--allow-writes" in stale.stderr


def test_checkout_timeouts_name_the_pool_settings_that_stop_them(fake_runners):
    args = ["compare", "-q", "--runner", "pool", "--query", "SELECT 'timeout'", "-n", "20"]
    args += ["-c", "4", "--pool-size", "1", "--max-overflow", "0", "--pool-timeout", "0.001"]
    table = " ".join(invoke(*args).stdout.split())
    assert (
        "pool: 10 checkouts waited 0.001 s (--pool-timeout) for a free connection and gave up "
        "(TimeoutError): 4 workers shared at most 1 connection (--pool-size 1 + --max-overflow 0);"
        " raise --pool-size or --max-overflow, or give --pool-timeout a longer wait"
    ) in table
    assert re.search(r"TimeoutError pool checkout timed out, [0-9.–]+ s into the run", table)
    notes = json.loads(invoke(*args, "--json").stdout)["notes"]
    assert any("raise [pool] pool_size or [pool] max_overflow" in note for note in notes)
    # run takes the pool's settings from the settings file: it names them there
    run = invoke("run", "-q", "--runner", "pool", "--query", "SELECT 'timeout'").stdout
    run = " ".join(run.split())
    assert "raise [pool] pool_size or [pool] max_overflow, or give [pool] pool_timeout" in run


def test_max_errors_stops_with_exit_3_and_says_why(fake_runners, tmp_path):
    result = invoke("run", "-n", "1000", "-q", "--query", "SELECT 'fail'", "--max-errors", "4")
    assert result.exit_code == 3, result.output
    # the table names the flag the user typed; the document, the setting
    assert "stopped after 4 failed operations (--max-errors = 4)" in result.stdout
    path = tmp_path / "stopped.json"
    failing = ("-n", "1000", "-q", "--query", "SELECT 'fail'", "--max-errors", "4")
    invoke("run", *failing, "-o", str(path))
    document = json.loads(path.read_text())
    assert document["stopped"] == "stopped after 4 failed operations ([benchmark] max_errors = 4)"
    assert all("--" not in note for note in document["notes"])
    # show prints the file as run printed it: the settings as run's flags
    assert "(--max-errors = 4)" in invoke("show", str(path)).stdout
    assert "([benchmark] max_errors = 4)" in invoke("show", str(path), "--format", "json").stdout
    bad = invoke("run", "--max-errors", "0")
    assert bad.exit_code == 2 and "--max-errors = '0': must be at least 1" in bad.stderr


def test_a_runner_stopped_before_its_turn_gets_no_rate_shortfall_note(fake_runners):
    # raw fails every other operation: the run stops in raw's turn, persistent never runs
    args = ("run", "--runner", "raw,persistent", "-n", "20", "--rate", "300", "-q")
    result = invoke(*args, "--query", "SELECT 'fail'", "--max-errors", "4", "--json")
    assert result.exit_code == ExitStatus.RUN_ERRORS, result.output
    document = json.loads(result.stdout)
    persistent = next(r for r in document["results"] if r["runner"] == "persistent")
    assert persistent["n"] == 0 and persistent["errors"] == 0
    assert not any(note.startswith("persistent reached") for note in document["notes"])


@pytest.mark.parametrize("command", ["run", "explain"])
def test_rtt_needs_a_unit(fake_runners, command):
    result = invoke(command, "-n", "5", "--rtt", "1")
    assert result.exit_code == 2
    assert result.stderr == (
        "dbbench: error: --rtt = '1': give a unit, such as 1ms, 250us or 20ms\n"
    )
    assert "raw" not in fake_runners  # refused before anything ran


@pytest.mark.parametrize("format_name", ["table", "markdown", "csv", "json"])
@pytest.mark.parametrize(
    "args",
    [
        ["run", "-n", "20", "--runner", "raw,pool"],
        ["compare", "-n", "5", "--pool-size", "2,3"],
    ],
    ids=["run", "sweep"],
)
def test_show_prints_a_saved_result_as_the_live_command_did(fake_runners, args, format_name):
    ran = invoke(*args, "-q", "--format", format_name, "--save")
    assert ran.exit_code == 0, ran.output
    if format_name in ("table", "markdown") and args[0] == "run":
        assert "pool: pool_size=" in ran.stdout  # the pool's settings: kept in the document
    shown = invoke("show", "latest", "--format", format_name)
    assert shown.exit_code == 0, shown.output
    assert shown.stdout == ran.stdout
    document = json.loads(invoke("show", "latest", "--format", "json").stdout)
    run = document["cells"][0]["result"] if args[0] == "compare" else document
    assert run["pool_description"].startswith("pool_size=")


def test_show_prints_a_saved_run_as_the_run_did(fake_runners, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ran = invoke("run", "-n", "20", "-q", "--runner", "raw,pool", "--save", "first")
    assert ran.exit_code == 0, ran.output
    shown = invoke("show", "latest")
    assert shown.exit_code == 0, shown.output
    assert ran.stdout == shown.stdout
    assert json.loads(invoke("show", "1", "--format", "json").stdout) == json.loads(
        (tmp_path / ".dbbench" / "runs" / "0001-first.json").read_text()
    )


def test_show_prints_each_kind_of_file_or_says_why_not():
    for name, start in (
        ("run.json", "'SELECT 1': 2000 operations per runner"),
        ("sweep.json", "pool sweep: successful operations/s"),
        ("stale.json", "stale connections: server wait_timeout 2s"),
        ("explain.json", "where the time goes: 'SELECT 1' with pymysql"),
        ("diff.json", "raw"),
    ):
        shown = invoke("show", str(DATA / "results" / name))
        assert shown.exit_code == 0, shown.output
        assert shown.stdout.startswith(start), (name, shown.stdout[:200])
    markdown = invoke("show", str(DATA / "results" / "run.json"), "--format", "markdown")
    assert markdown.stdout.startswith("### dbbench run")
    diff = invoke("show", str(DATA / "results" / "diff.json"))
    assert diff.stdout.rstrip().endswith("(nullpool): nothing to gate on")
    assert "FAIL: 1 threshold tripped" in diff.stdout
    refused = invoke("show", str(DATA / "results" / "explain.json"), "--format", "csv")
    assert refused.exit_code == 2
    assert refused.stderr == "dbbench: error: --format csv cannot show an explanation\n"
    missing = invoke("show", "nope.json")
    assert missing.exit_code == 1
    assert missing.stderr == "dbbench: error: nope.json: no such result file\n"


def test_a_diff_written_as_json_is_shown_and_reported_as_the_diff_printed_it(tmp_path):
    base, new = str(DATA / "diff_base.json"), str(DATA / "diff_new.json")
    printed = invoke("diff", base, new, "--fail-on", "mean:5%")
    written = invoke("diff", base, new, "--fail-on", "mean:5%", "--format", "json")
    assert printed.exit_code == written.exit_code == ExitStatus.THRESHOLD
    document = tmp_path / "d.json"
    document.write_text(written.stdout)
    shown = invoke("show", str(document))
    assert shown.exit_code == 0 and shown.stdout == printed.stdout
    for name in ("csv", "markdown", "json"):
        again = invoke("show", str(document), "--format", name)
        assert (
            again.stdout
            == invoke("diff", base, new, "--fail-on", "mean:5%", "--format", name).stdout
        )
    pytest.importorskip("matplotlib")
    page = tmp_path / "r.html"
    reported = invoke("report", str(document), "-o", str(page))
    assert reported.exit_code == 0, reported.output
    assert "FAIL: 1 threshold tripped" in page.read_text()


def _failing_check(monkeypatch, error):
    """The server check raises ``error(database)``: a failure met before measuring."""

    def check(database, workload):
        raise error(database)

    monkeypatch.setitem(
        _BACKEND, "backend", dataclasses.replace(_BACKEND["backend"], check_server=check)
    )


def test_a_hint_names_the_flag_that_fixes_it(fake_runners, monkeypatch):
    """The library names the settings (test_diagnosis.py); the command line, their flags."""
    import pymysql

    from dbbench.drivers.diagnosis import connect_error, query_error

    no_db = pymysql.err.OperationalError(1046, "No database selected")
    _failing_check(monkeypatch, lambda db: query_error(no_db, db, "SELECT * FROM orders"))
    result = invoke("run", "--query", "SELECT * FROM orders")
    assert result.exit_code == 1
    assert result.stderr.strip().endswith(
        "No database selected; give --database (or DBBENCH_DATABASE), or name the table as "
        "database.table in --query"
    )
    no_tls = pymysql.err.OperationalError(2026, "the server did not offer TLS")
    _failing_check(monkeypatch, lambda db: connect_error(no_tls, db))
    result = invoke("run", "--ssl-mode", "required")
    assert result.exit_code == 1
    assert result.stderr.strip().endswith("enable TLS on the server or lower --ssl-mode")
    refused = pymysql.err.OperationalError(2003, "Can't connect to MySQL server (refused)")
    refused.original_exception = ConnectionRefusedError()
    _failing_check(monkeypatch, lambda db: connect_error(refused, db))
    result = invoke("run")
    assert result.stderr.strip().endswith("Or try a throwaway server (--server local)")
    library = str(connect_error(refused, DatabaseSettings()))
    assert library.endswith("Or try a throwaway server (dbbench.scenarios.benchmark.local_server)")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["run", "--processes", "2"],
            "each process needs at least one worker; raise --concurrency",
        ),
        (["run", "--runner", "raw,bogus"], "--runner = 'raw,bogus': unknown runner 'bogus'"),
        (["run", "--save", "1"], "--save = '1': a number, 'latest' or a name ending in .json"),
        (["run", "--query", "DELETE FROM t"], "so give --allow-writes if that is what you want"),
        (["run", "--workload", "insert"], "--workload = 'insert' writes"),
        (["explain", "--runner", "async-pool"], "--runner = 'async-pool': explain splits"),
        (["compare", "-c", "1,2", "--runner", "raw"], "--runner must include pool"),
    ],
)
def test_library_messages_name_flags_on_the_command_line(fake_runners, args, expected):
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert expected in result.stderr
    assert "\x02" not in result.stderr and "\x03" not in result.stderr


def test_diff_names_its_flag():
    base = str(DATA / "diff_base.json")
    bad = invoke("diff", base, base, "--fail-on", "p99:10")
    assert "--fail-on = 'p99:10': the limit needs a '%'" in bad.stderr


def test_a_projection_with_the_pooler_is_refused_naming_it_before_any_pgbouncer_starts(
    fake_runners,
):
    result = invoke("run", "--dialect", "postgresql", "--pooler", "pgbouncer", "--rtt", "1ms")
    assert result.exit_code == ExitStatus.USAGE, result.output
    # one line, no "started a throwaway PgBouncer" before it
    (line,) = result.stderr.splitlines()
    assert line.startswith("dbbench: error: --pooler does not run with --rtt yet: "), line
    assert "raw" not in fake_runners  # nothing ran
