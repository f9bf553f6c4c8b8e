"""One script through pgbench and through dbbench, in one run, as ratios.

The same pgbench-style script file goes, in rounds that alternate short runs of
each side (the order rotating every round, so that drift on a shared machine
falls on all sides alike), through:

* ``pgbench -n -r -f FILE -c 1 -T S -C`` (a new connection per transaction) and
  ``dbbench run --script FILE --runner raw`` (a new connection per operation);
* ``pgbench -n -r -f FILE -c 1 -T S`` (one connection) and dbbench's
  ``persistent`` runner (one connection), both runners in one ``dbbench run``.

It prints each round's figures, their medians, and the ratios dbbench raw /
pgbench -C and dbbench persistent / pgbench (the target is at most 1.3), then
each statement's latency on both sides (pgbench's ``-r`` next to dbbench's
per-statement figures).

**Like for like.**  Both sides get the same libpq parameters
(``pgbench.conninfo``: ``sslmode=disable``, the startup ``options`` with
``default_transaction_read_only=on`` as ``dbbench run`` sets without
``--allow-writes``, the keepalives).  pgbench sends each statement outside a
``BEGIN`` in its own implicit transaction; dbbench is run with ``--autocommit``
so that its driver sends no ``BEGIN`` either (a script's connection is put in
autocommit anyway; ``--autocommit`` makes ``raw``'s connect the same from the
start).  pgbench's figure is its ``latency average`` (the run's wall time /
transactions, so with ``-C`` each transaction's connect and close as well);
dbbench's is its mean operation (the whole script, connect and close included
for ``raw``).

    python benchmarks/pgbench_script.py                      # a built-in SELECT abs(:id)
    python benchmarks/pgbench_script.py --rounds 6 --seconds 2
    python benchmarks/pgbench_script.py --script my.sql --url postgresql://root@db/test
    python benchmarks/pgbench_script.py --data-set           # point-select on dbbench_data
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pgbench  # benchmarks/pgbench.py, beside this script

from dbbench.config.settings import Settings, find_config_path, load_settings
from dbbench.errors import ConfigError

#: the script run when none is given: one statement, no table, a new value every time
DEFAULT_SCRIPT = "\\set id random(1, 100000)\nSELECT abs(:id);\n"
DEFAULT_URL = "postgresql://root@127.0.0.1:5432/test"
#: the sides of a round, in the order of round 0; "dbbench" runs raw, then persistent
SIDES = ("pgbench -C", "pgbench", "dbbench")


def data_set_script(settings: Settings) -> str:
    """The built-in point-select on the data set ``dbbench prepare`` made, its ``:rows``
    written in (pgbench knows no ``rows``), so that both sides draw ids alike."""
    from dbbench.databases import read_data_set
    from dbbench.scripts.builtin import POINT_SELECT, ROWS

    return POINT_SELECT.replace(f":{ROWS}", str(read_data_set(settings.database)))


def dbbench_command(args: argparse.Namespace, script: Path) -> list[str]:
    """``dbbench run`` of ``script`` with raw and persistent, one worker, as JSON."""
    cmd = [sys.executable, "-m", "dbbench", "run"]
    if args.config:
        cmd += ["--config", args.config]
    return cmd + [
        "--url", args.url, "--ssl-mode", "disabled", "--autocommit",
        "--script", str(script), "--runner", "raw,persistent", "-c", "1",
        "--duration", f"{args.seconds}s", "--json", "-q",
    ]  # fmt: skip


def run_dbbench(cmd: list[str]) -> dict[str, dict]:
    """Each runner's result (``results[]`` of dbbench's JSON document), by runner."""
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"pgbench_script.py: dbbench exited with {proc.returncode}:\n{proc.stderr}")
    return {result["runner"]: result for result in json.loads(proc.stdout)["results"]}


def statement_means_ms(result: dict) -> list[tuple[str, float]]:
    """dbbench's per-statement means (ms) of its one script, in the script's order."""
    return [(s["sql"], s["mean_us"] / 1e3) for s in result["scripts"][0]["statements"]]


def print_statements(
    title: str, theirs: list[pgbench.PgbenchResult], ours: list[dict]
) -> None:
    """Each SQL statement's median latency over the rounds, pgbench's ``-r`` next to
    dbbench's (pgbench's ``\\set`` lines left out: dbbench times statements only)."""
    pg_rounds = [[s for s in r.statements if not s.text.startswith("\\")] for r in theirs]
    db_rounds = [statement_means_ms(result) for result in ours]
    print(f"{title}, per statement (median of the rounds):")
    for i, (sql, _) in enumerate(db_rounds[0]):
        pg = statistics.median(r[i].latency_ms for r in pg_rounds if len(r) > i)
        db = statistics.median(r[i][1] for r in db_rounds)
        print(f"  {pg:>8.3f} ms pgbench  {db:>8.3f} ms dbbench  {db / pg:>6.2f}x  {sql}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--script", help="pgbench-style script file [default: SELECT abs(:id)]")
    parser.add_argument(
        "--data-set", action="store_true", help="the point-select on dbbench prepare's data set"
    )
    parser.add_argument("--url", default=DEFAULT_URL, help=f"PostgreSQL [default: {DEFAULT_URL}]")
    parser.add_argument("--config", help="dbbench settings file (both sides read it)")
    parser.add_argument("--rounds", type=int, default=6, help="alternating rounds [default: 6]")
    parser.add_argument("--seconds", type=int, default=2, help="seconds per side and round")
    parser.add_argument("--pgbench", help="pgbench to run [default: PATH, /usr/lib/postgresql]")
    args = parser.parse_args()
    if args.script and args.data_set:
        parser.error("--script and --data-set are two scripts: give one")
    if args.rounds < 1 or args.seconds < 1:
        parser.error("--rounds and --seconds must be at least 1")

    overrides = {"database": {"url": args.url, "ssl_mode": "disabled", "autocommit": True}}
    try:
        settings = load_settings(find_config_path(args.config), overrides=overrides)
        if settings.database.dialect != "postgresql":
            sys.exit(f"pgbench_script.py: {args.url!r} is not PostgreSQL; pgbench needs it")
        settings = settings.with_read_only_sessions()  # as dbbench run without --allow-writes
        parameters = pgbench.libpq_parameters(settings.database)
        binary = pgbench.find(args.pgbench)
        text = data_set_script(settings) if args.data_set else DEFAULT_SCRIPT
    except (ConfigError, pgbench.PgbenchError) as error:
        sys.exit(f"pgbench_script.py: {error}")
    try:
        version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    except OSError as error:
        sys.exit(f"pgbench_script.py: --pgbench {binary}: {error.strerror}")

    with tempfile.TemporaryDirectory(prefix="dbbench-pgbench-script-") as directory:
        if args.script:
            script = Path(args.script)
            if not script.is_file():
                sys.exit(f"pgbench_script.py: --script {args.script}: no such file")
        else:
            script = Path(directory, "point-select.sql" if args.data_set else "abs.sql")
            script.write_text(text)

        def run_pgbench(connect_each: bool) -> pgbench.PgbenchResult:
            cmd, env = pgbench.command(
                binary, parameters, str(script), seconds=args.seconds,
                connect_each=connect_each, per_statement=True,
            )  # fmt: skip
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if proc.returncode != 0:
                sys.exit(f"pgbench_script.py: pgbench exited {proc.returncode}:\n{proc.stderr}")
            try:
                return pgbench.parse_report(proc.stdout)
            except pgbench.PgbenchError as error:
                sys.exit(f"pgbench_script.py: {error}")

        with_c: list[pgbench.PgbenchResult] = []
        plain: list[pgbench.PgbenchResult] = []
        ours: list[dict[str, dict]] = []
        dbbench_cmd = dbbench_command(args, script)
        sides: dict[str, Callable[[], None]] = {
            "pgbench -C": lambda: with_c.append(run_pgbench(True)),
            "pgbench": lambda: plain.append(run_pgbench(False)),
            "dbbench": lambda: ours.append(run_dbbench(dbbench_cmd)),
        }
        for round_number in range(args.rounds):
            shift = round_number % len(SIDES)
            for side in SIDES[shift:] + SIDES[:shift]:
                sides[side]()
        script_text = script.read_text()

    print(
        f"{args.rounds} rounds x {args.seconds} s per side, alternating, one client, on "
        f"{settings.database.describe()}"
    )
    print(f"script {script.name}: {' | '.join(script_text.strip().splitlines())}")
    print(f"both sides: sslmode={parameters['sslmode']}, options={parameters['options']!r}")
    print(
        "autocommit: pgbench sends each statement in its own implicit transaction; "
        "dbbench runs with --autocommit (no BEGIN) alike"
    )
    print(f"pgbench: {version.strip()}; dbbench: {' '.join(dbbench_cmd[2:])}")
    print(
        f"{'round':>5} {'pgbench -C':>11} {'dbbench raw':>12} {'ratio':>6}"
        f" {'pgbench':>9} {'persistent':>11} {'ratio':>6}   (mean ms per script)"
    )
    raw_ratios, persistent_ratios = [], []
    for i, (c, p, o) in enumerate(zip(with_c, plain, ours, strict=True)):
        raw_ms, persistent_ms = o["raw"]["mean_us"] / 1e3, o["persistent"]["mean_us"] / 1e3
        c_ms, p_ms = c.latency_ns / 1e6, p.latency_ns / 1e6
        raw_ratios.append(raw_ms / c_ms)
        persistent_ratios.append(persistent_ms / p_ms)
        print(
            f"{i + 1:>5} {c_ms:>11.3f} {raw_ms:>12.3f} {raw_ratios[-1]:>6.2f}"
            f" {p_ms:>9.3f} {persistent_ms:>11.3f} {persistent_ratios[-1]:>6.2f}"
        )
    median = statistics.median
    print(
        f"{'median':>6}{median(c.latency_ns for c in with_c) / 1e6:>11.3f}"
        f" {median(o['raw']['mean_us'] for o in ours) / 1e3:>12.3f}"
        f" {median(raw_ratios):>6.2f}"
        f" {median(p.latency_ns for p in plain) / 1e6:>9.3f}"
        f" {median(o['persistent']['mean_us'] for o in ours) / 1e3:>11.3f}"
        f" {median(persistent_ratios):>6.2f}"
    )
    pairs = (("raw / pgbench -C", raw_ratios), ("persistent / pgbench", persistent_ratios))
    for name, ratios in pairs:
        verdict = "within" if median(ratios) <= 1.3 else "OUTSIDE"
        print(f"dbbench {name} = {median(ratios):.2f} median ({verdict} the 1.3 target)")
    print_statements("dbbench raw next to pgbench -C", with_c, [o["raw"] for o in ours])
    print_statements("dbbench persistent next to pgbench", plain, [o["persistent"] for o in ours])


if __name__ == "__main__":
    main()
