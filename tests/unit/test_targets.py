"""Targets (``--target NAME=URL``): endpoints measured side by side, each given whole by
its URL; on fakes, what the settings, the guard and the result make of them."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from dbbench import databases, guard
from dbbench.cli import cli
from dbbench.config.settings import load_settings, parse_target, parse_variant
from dbbench.errors import ConfigError
from dbbench.results.model import VariantSummary
from dbbench.scenarios import benchmark
from tests.unit.test_variant_runs import NO_SERVER_VARIABLES, Fakes

SCHEMA = json.loads((Path(__file__).parents[2] / "schema/dbbench-result.schema.json").read_text())
PG = "direct=postgresql://app@db.internal:5432/orders"
BOUNCER = "bouncer=postgresql://app@db.internal:6432/orders"
MARIA = "maria=mysql://root@127.0.0.1/test"


def targets(*texts: str, env: dict[str, str] | None = None, flags=None):
    return load_settings(
        None, env=env or {}, flags=flags, targets=[parse_target(text) for text in texts]
    )


def test_each_target_is_its_url_whole_and_the_run_is_the_first():
    settings = targets(PG, BOUNCER, MARIA)
    assert [v.name for v in settings.variants] == ["direct", "bouncer", "maria"]
    assert [v.path for v in settings.variants] == [None] * 3
    direct, bouncer, maria = (settings.variant(v.name).database for v in settings.variants)
    assert (direct.dialect, direct.driver, direct.host, direct.port) == (
        "postgresql", "psycopg", "db.internal", 5432,
    )
    assert (bouncer.port, bouncer.user, bouncer.database) == (6432, "app", "orders")
    # a URL silent about its port and driver takes its dialect's, not the run's
    assert (maria.dialect, maria.driver, maria.port) == ("mysql", "pymysql", 3306)
    assert settings.database == settings.variants[0].database
    assert settings.dialects() == ("postgresql", "mysql")


def test_the_runs_own_endpoint_is_not_a_targets():
    env = {"DBBENCH_PORT": "3307", "DBBENCH_HOST": "elsewhere", "DBBENCH_PASSWORD": "pw"}
    settings = targets("a=mysql://root@127.0.0.1/test", "b=postgresql://root@h/test", env=env)
    a, b = (settings.variant(name).database for name in ("a", "b"))
    assert (a.host, a.port, b.port) == ("127.0.0.1", 3306, 5432)
    # what is not the endpoint is the run's: the password, for every target
    assert a.password == b.password == "pw"


@pytest.mark.parametrize(
    ("texts", "flags", "expected"),
    [
        ((PG,), None, "--target: one target (direct=postgresql://app@db.internal:5432/orders) "
         "has nothing to be compared with: give two or more"),
        ((PG, PG), None, "--target: target 'direct' is given twice"),
        (("a b=mysql://h", MARIA), None, "a variant's NAME is 1 to 40 letters, digits"),
        (("a=postgresql://app:s3cret@h/db", MARIA), None, "--target a = "
         "postgresql://app:***@h/db holds a password"),
        (("a=nosuch://h", MARIA), None, "--target a = 'nosuch://h': unknown database 'nosuch'"),
        ((PG, MARIA), {"database": {"host": "x"}}, "--host and --target direct both say which "
         "host to reach"),
        ((PG, MARIA), {"database": {"dialect": "mysql"}}, "--dialect and --target direct"),
    ],
)
def test_a_bad_target_is_one_line_without_its_password(texts, flags, expected):
    with pytest.raises(ConfigError) as caught:
        targets(*texts, flags=flags)
    assert expected in str(caught.value)
    assert "s3cret" not in str(caught.value) and "\n" not in str(caught.value)


def test_parse_target_needs_a_name_and_a_url():
    assert parse_target(" a = mysql://h ") == ("a", "mysql://h")
    for text in ("a", "a=", "=mysql://h"):
        with pytest.raises(ConfigError):
            parse_target(text)
    with pytest.raises(ConfigError) as caught:
        parse_target("postgresql://app:s3cret@h/db")
    assert "s3cret" not in str(caught.value)


def test_variants_and_targets_are_one_or_the_other(tmp_path):
    (tmp_path / "a.toml").write_text("[pool]\npool_size = 2\n")
    (tmp_path / "b.toml").write_text("[pool]\npool_size = 3\n")
    with pytest.raises(ConfigError, match="--variant and --target both"):
        load_settings(
            None,
            env={},
            variants=[("a", tmp_path / "a.toml"), ("b", tmp_path / "b.toml")],
            targets=[parse_target(PG), parse_target(MARIA)],
        )


def test_the_query_is_judged_in_every_targets_dialect_and_sessions_read_only_where_they_can():
    settings = targets(PG, MARIA)
    # a lock only PostgreSQL's reading knows: refused though the first target is MySQL
    mixed = targets(MARIA, PG)
    for run in (settings, mixed):
        query = dataclasses.replace(run.benchmark, query="SELECT pg_advisory_lock(1)")
        bad = dataclasses.replace(run, benchmark=query)
        with pytest.raises(ConfigError, match="pg_advisory_lock"):
            guard.check_settings(bad, allow_writes=False)
    read_only = databases.read_only_sessions(settings, allow_writes=False)
    assert [v.database.read_only for v in read_only.variants] == [True, False]
    assert databases.read_only_sessions(settings, allow_writes=True) is settings


def run_of_two_targets():
    """Two MySQL targets measured on fakes: (the fakes, the result)."""
    fakes = Fakes()
    flags = {"benchmark": {"iterations": "20", "warmup": "2"}}
    settings = load_settings(
        None, env={}, flags=flags,
        targets=[parse_target("a=mysql://root@127.0.0.1/test"),
                 parse_target("b=mysql://root@127.0.0.2:3307/test")],
    )
    return fakes, benchmark.run_benchmark(settings, ["raw", "pool"], backend=fakes.backend)


def test_a_run_of_targets_records_each_url_and_server_and_labels_runners_by_target():
    fakes, result = run_of_two_targets()
    assert [r.runner for r in result.runners] == ["raw@a", "raw@b", "pool@a", "pool@b"]
    assert [host for _, host in fakes.checked] == ["127.0.0.1", "127.0.0.2"]
    assert fakes.settings["raw@b"].database.port == 3307
    recorded = result.settings.variants
    assert [(v.name, v.path, v.url, v.kind) for v in recorded] == [
        ("a", None, "mysql://root@127.0.0.1/test", "target"),
        ("b", None, "mysql://root@127.0.0.2:3307/test", "target"),
    ]
    document = result.to_document()
    jsonschema.validate(document, SCHEMA)
    assert "path" not in document["settings"]["variants"][0]
    server = result.target_server(recorded[1])
    assert server == "10.11.0-Fake-pymysql"
    # the line leaves out what the URL says, and shows the server
    assert recorded[1].describe(server) == (
        "b (mysql://root@127.0.0.2:3307/test, 10.11.0-Fake-pymysql): as the run"
    )
    assert VariantSummary(name="n", path="n.toml").kind == "variant"


def test_what_targets_do_not_run_with_yet_names_the_target_flag():
    runner = CliRunner()
    result = runner.invoke(
        cli,
        ["compare", "--target", PG, "--target", MARIA, "--rtt", "1ms", "-n", "5"],
        env=NO_SERVER_VARIABLES,
    )
    assert result.exit_code == 2, result.output
    assert "--target does not run with" in result.output
    assert "Traceback" not in result.output


def test_each_runner_on_a_target_is_said_beside_the_same_runner_on_the_first():
    from rich.console import Console

    from dbbench.output import findings, table

    fakes, result = run_of_two_targets()
    lines = findings.target_findings(result)
    # the fakes cost the same on both targets, with no spread: no verdict can be claimed
    assert lines == [
        "raw: a new connection per operation costs 2.000 ms on b against 2.000 ms on a: "
        "no difference beyond noise (95% CI of its time over the other's 1.00–1.00, noise "
        "within this one run only)",
        "pool: with an application pool in front, an operation costs 0.050 ms on b against "
        "0.050 ms on a: no difference beyond noise (95% CI of its time over the other's "
        "1.00–1.00, noise within this one run only)",
    ]
    console = Console(width=400, record=True)
    table.write(result, console)
    assert f"finding: {lines[0]}" in console.export_text()


def test_a_difference_beyond_noise_is_said_as_less_or_more_with_the_interval_of_what_is_said():
    from dbbench.output.findings import verdict
    from dbbench.stats import Speedup

    # the target 9.19 times faster: the interval is of the "less"
    assert verdict(Speedup(9.19, 7.9, 10.8, 0.95), -5_400_000) == (
        "-5.400 ms per operation, 9.19× less (95% CI 7.90–10.80, noise within this one run "
        "only)"
    )
    # the target twice as slow (speedup 0.5, 0.4–0.6): 2.00× more, 1/0.6–1/0.4
    assert verdict(Speedup(0.5, 0.4, 0.6, 0.95, repetitions=5), 850_000) == (
        "+0.850 ms per operation; by the repetitions' ratios (geometric mean), 2.00× more "
        "(95% CI 1.67–2.50, between 5 repetitions)"
    )
    assert verdict(Speedup(1.1, 0.9, 1.3, 0.95), 0) == (
        "no difference beyond noise (95% CI of its time over the other's 0.77–1.11, noise "
        "within this one run only)"
    )
    assert verdict(Speedup(1.1, None, None, 0.95), 0).startswith("no verdict: too few samples")


def _through_a_pooler(result, servers_opened_per_client: float):
    """``result`` as if target ``b`` went through a PgBouncer that opened this many server
    connections per client connection made through it."""
    from dbbench.results.model import CrossCheck, PooledSummary, PoolerSummary

    opened = {"raw@a": 100, "raw@b": 100, "pool@a": 4, "pool@b": 4}
    runners = [dataclasses.replace(r, connections_opened=opened[r.runner]) for r in result.runners]
    own, clients = 104 + 1, 104  # the monitor's connection among dbbench's own
    server = dataclasses.replace(
        result.server,
        cross_check=CrossCheck(
            server_connections=own + round(servers_opened_per_client * clients),
            dbbench_connections=own,
        ),
        pooler=PoolerSummary(kind="pgbouncer", pools=(PooledSummary(target="b"),)),
    )
    return dataclasses.replace(result, server=server, runners=runners), clients


def test_a_pooler_that_opened_a_server_connection_per_client_says_why():
    from dbbench.output import findings

    _, result = run_of_two_targets()
    pooled, clients = _through_a_pooler(result, 1.0)
    found = findings.target_findings(pooled)
    # right after raw's own line, before the pool's
    raw, why, pool = found[:3]
    assert raw.startswith("raw: ") and pool.startswith("pool: ")
    assert why == (
        f"PgBouncer opened {clients} server connections for raw's 100 client connections "
        "through it (104 clients' in all), so raw's connect through it cost a new server "
        "connection as well: a client that closes with its transaction still open (the "
        "driver's autocommit off) leaves it a server connection it cannot reuse, and it "
        "closes that one; run nullpool beside it (--runner raw,nullpool) for a connect that "
        "ends it; --autocommit measures a raw that leaves nothing open"
    )
    # a pooler that reused its server connections: nothing to explain
    reused, _ = _through_a_pooler(result, 0.1)
    said = findings.target_findings(reused)
    assert not [line for line in said if "server connections for" in line]
    # the question itself: a pooler alone against an application pool alone
    assert (
        "PgBouncer alone against an application pool alone: a new connection per operation "
        "through b (raw@b) costs 2.000 ms, an operation of the application pool on a "
        "(pool@a) 0.050 ms: the application pool: -1.950 ms per operation, 40.0× less"
    ) in "\n".join(found)
    # and what one process leaves out
    assert found[-1].startswith("one process: what a server-side pooler is for")


def test_a_sweep_of_targets_says_each_points_findings_under_its_matrices():
    from rich.console import Console

    from dbbench.output import findings
    from dbbench.output.formats import get_format

    fakes = Fakes()
    settings = load_settings(
        None, env={}, flags={"benchmark": {"iterations": "20", "warmup": "2"}},
        targets=[parse_target("a=mysql://root@127.0.0.1/test"),
                 parse_target("b=mysql://root@127.0.0.2:3307/test")],
    )
    sweep = benchmark.run_sweep(settings, ["raw", "pool"], [1, 2], [5], [10], backend=fakes.backend)
    points = findings.sweep_findings(sweep)
    assert [point for point, _, _ in points] == [
        "concurrency 1, pool_size=5 max_overflow=10",
        "concurrency 2, pool_size=5 max_overflow=10",
    ]
    for (_, seen, said), run in zip(points, sweep.points, strict=True):
        assert seen == []  # no pooler
        assert said == findings.target_findings(run)
        assert [line.split(":")[0] for line in said] == ["raw", "pool"]
    console = Console(width=400, record=True)
    get_format("table").sweep(sweep, console)
    text = console.export_text()
    assert "concurrency 2, pool_size=5 max_overflow=10:\n  finding: raw: " in text
    # every runner on every target at each point, in one grid, under the matrices
    from dbbench.output.target_grid import target_grid

    grid = target_grid(sweep)
    assert grid.columns == ("c=1", "c=2")
    assert [(runner, target) for runner, target, _ in grid.rows] == [
        ("raw", "a"), ("raw", "b"), ("pool", "a"), ("pool", "b"),
    ]
    assert grid.rows[0][2] == ("2.000", "2.000") and grid.rows[2][2] == ("0.050", "0.050")
    assert "each runner on each target: mean latency (ms)" in text
    import io

    written = io.StringIO()
    get_format("markdown").sweep(sweep, Console(file=written, width=400))
    assert "| raw | b | 2.000 | 2.000 |" in written.getvalue()
    # a sweep read back keeps the cells' views only: no findings, and no error; the grid
    from dbbench.results.model import from_document

    back = from_document(sweep.to_document())
    assert findings.sweep_findings(back) == []
    assert target_grid(back) == grid


def test_a_pooled_target_of_one_runner_says_how_many_clients_shared_a_server_connection():
    from dbbench.output import findings
    from dbbench.results.model import PooledSummary

    _, result = run_of_two_targets()
    pooled, _ = _through_a_pooler(result, 0.0)
    pools = (PooledSummary(target="b", peak_clients=16, peak_servers=4),)
    pooled = dataclasses.replace(
        pooled, server=dataclasses.replace(
            pooled.server, pooler=dataclasses.replace(pooled.server.pooler, pools=pools)
        ),
    )
    # raw and pool both through b: the peaks are theirs together, no finding of one
    assert not [line for line in findings.target_findings(pooled) if "held at most" in line]
    alone = dataclasses.replace(
        pooled, runners=[r for r in pooled.runners if r.runner.startswith("pool")]
    )
    assert findings.target_findings(alone)[-2] == (
        "pool on b: PgBouncer held at most 4 server connections for at most 16 clients "
        "(4.0 per server connection, in samples of its console)"
    )


def test_a_target_or_variant_name_longer_than_40_characters_is_refused_by_its_start(tmp_path):
    long = "x" * 10_000
    targets("x" * 40 + "=" + MARIA.partition("=")[2], PG)  # 40: taken
    for refuse, flag in (
        (lambda: targets(f"{long}={MARIA.partition('=')[2]}", PG), "--target"),
        (lambda: parse_variant(f"{long}=new.toml"), "--variant"),
        (lambda: load_settings(None, env={}, variants=[(long, tmp_path / "a.toml")] * 2),
         "variants"),
    ):
        with pytest.raises(ConfigError) as caught:
            refuse()
        message = str(caught.value)
        assert message.startswith(f"{flag} = 'xxxxxxxxxxxxxxxxxxxx… (10000 characters)="), message
        assert "1 to 40 letters" in message and len(message) < 300 and "\n" not in message


def test_no_verdict_where_a_side_failed_more_than_one_percent_of_its_operations():
    from dbbench.output import findings
    from dbbench.output.table import describe_speedup

    _, result = run_of_two_targets()
    runners = [
        dataclasses.replace(r, errors_by_kind={"Error": 250}) if r.runner == "pool@b" else r
        for r in result.runners
    ]
    failing = dataclasses.replace(result, runners=runners)
    pool_line = next(
        line for line in findings.target_findings(failing) if line.startswith("pool: ")
    )
    assert pool_line.endswith(
        "no verdict: pool@b failed 250 of 270 operations (its figures are of the ones that "
        "succeeded)"
    )
    lines = findings.speedup_lines(failing, describe_speedup)
    assert "pool@b against raw@b: no verdict: pool@b failed 250 of 270 operations" in lines[1]
    assert lines[0] == describe_speedup(*_speedup_of(result, "pool@a"))
    # none failed: verdicts again
    runners = [
        dataclasses.replace(r, errors_by_kind={"Error": 0}) for r in result.runners
    ]
    assert "no verdict" not in " ".join(
        findings.target_findings(dataclasses.replace(result, runners=runners))
    )


def _speedup_of(result, runner):
    s = next(s for s in result.speedups if s.runner == runner)
    return s.runner, s.baseline, s.speedup


def test_the_server_line_of_a_run_through_a_pooler_leaves_the_count_to_the_pooler_note():
    from dbbench.output.table import server_line

    _, result = run_of_two_targets()
    pooled, _ = _through_a_pooler(result, 1.0)
    line = server_line(pooled)
    assert line.endswith(
        "; dbbench opened 105 of them itself (direct, its monitor's), the pooler the others "
        "(the note below)"
    )
    assert "does not match" not in line and "may lag" not in line


def test_the_html_report_has_the_pooler_lines_the_findings_and_the_grid():
    from dbbench.output import findings, report

    _, result = run_of_two_targets()
    pooled, _ = _through_a_pooler(result, 1.0)
    page = report.build_report([("pooled", pooled)])
    assert "<h3>Findings</h3>" in page and "<h3>What the pooler saw</h3>" in page
    for line in findings.target_findings(pooled):
        assert report.tables.escape(line) in page
    sweep = benchmark.run_sweep(
        load_settings(
            None, env={}, flags={"benchmark": {"iterations": "20", "warmup": "2"}},
            targets=[parse_target("a=mysql://root@127.0.0.1/test"),
                     parse_target("b=mysql://root@127.0.0.2:3307/test")],
        ),
        ["raw", "pool"], [1, 2], [5], [10], backend=Fakes().backend,
    )
    page = report.build_report([("swept", sweep)])
    assert "Each runner on each target: mean latency (ms)" in page


def test_each_runners_own_pool_has_its_own_pooler_line_and_the_findings_say_each_once():
    from dbbench.output import findings
    from dbbench.results.model import PooledSummary

    _, result = run_of_two_targets()
    pooled, _ = _through_a_pooler(result, 0.0)
    pools = (
        PooledSummary(target="b", runner="raw", pool_mode="session", peak_clients=1,
                      peak_servers=1),
        PooledSummary(target="b", runner="pool", pool_mode="session", peak_clients=8,
                      peak_servers=2),
    )
    pooled = dataclasses.replace(
        pooled, server=dataclasses.replace(
            pooled.server, pooler=dataclasses.replace(pooled.server.pooler, pools=pools)
        ),
    )
    raw_line, pool_line = findings.pooler_lines(pooled)
    assert "saw, for raw on b (session pool)" in raw_line and "from 100 client" in raw_line
    # connects that failed (a pooler gone) are not client connections it saw
    failing = dataclasses.replace(pooled, runners=[
        dataclasses.replace(r, connects_failed=7) if r.runner == "raw@b" else r
        for r in pooled.runners
    ])
    assert "from 93 client connections (7 more connects to it failed);" in (
        findings.pooler_lines(failing)[0]
    )
    assert "saw, for pool on b (session pool)" in pool_line and "from 4 client" in pool_line
    said = findings.target_findings(pooled)
    assert len([line for line in said if "alone against an application pool" in line]) == 1
    # the pool's own pool: one runner's, so its peaks are its own
    assert "pool on b: PgBouncer held at most 2 server connections for at most 8 clients " \
        "(4.0 per server connection, in samples of its console)" in said
    assert not [line for line in said if line.startswith("raw on b: PgBouncer held")]
