"""One script through pgbench and through dbbench, in one run, as ratios.

The same pgbench-style script file goes, in rounds that alternate short runs of
each side (the order rotating every round, so that drift on a shared machine
falls on all sides alike), through:

* ``pgbench -n -r -f FILE -c 1 -T S -C`` (a new connection per transaction), with
  ``-M simple`` (its default) and ``-M extended``, and ``dbbench run --script FILE
  --runner raw`` (a new connection per operation);
* ``pgbench -n -r -f FILE -c 1 -T S --log`` (one connection), with ``-M simple``,
  ``-M extended`` and ``-M prepared``, and dbbench's ``persistent`` runner (one
  connection), both runners in one ``dbbench run``;
* a hand-written psycopg loop on one connection and cursor (``psycopg_loop``): the
  least any Python client on psycopg does with the script, the floor dbbench stands on.

It prints each round's mean script per side, their medians and the ratios (the
median of the rounds' ratios; the target is at most 1.3), the same for the median
script (p50: pgbench's from its ``--log``, dbbench's ``p50_us``, the loop's own),
then each statement's latency on both sides (pgbench's ``-r`` next to dbbench's).

**Like for like.**  Both sides get the same libpq parameters
(``pgbench.conninfo``: ``sslmode=disable``, the startup ``options`` with
``default_transaction_read_only=on`` as ``dbbench run`` sets without
``--allow-writes``, the keepalives).  pgbench sends each statement outside a
``BEGIN`` in its own implicit transaction; dbbench is run with ``--autocommit``
so that its driver sends no ``BEGIN`` either.  pgbench's mean is its ``latency
average`` (the run's wall time / transactions, so with ``-C`` each transaction's
connect and close as well); dbbench's is its mean operation (the whole script,
connect and close included for ``raw``).

**The protocol.**  pgbench's default, ``-M simple``, sends each statement as text with
its values written in; psycopg sends a statement with parameters by the extended
protocol (Parse/Bind/Describe/Execute/Sync, the unnamed statement: ``-M extended``),
one without by the simple one, and prepares a statement once it ran
``prepare_threshold`` times on a connection (5, its default, which dbbench's connect
keeps), sending only Bind/Execute/Sync from then on (``-M prepared``).  So ``raw``
(each statement once per connection) speaks ``-C -M extended``'s protocol and
``persistent`` ``-M prepared``'s; those are the ratios marked "the matching protocol",
the others printed beside them.

Measured 2026-12-04 (``--rounds 6 --seconds 2``, the default script, a loaded 2-core
machine): raw / pgbench -C -M extended 1.18 (met); persistent / pgbench -M prepared
2.52 by the means, 2.30 by the medians (missed), where the psycopg loop alone is 1.80x
pgbench (the floor through psycopg) and persistent 1.27x the loop;
docs/measurements/2026-12-04-pgbench-script.md has the run and the discussion.

    python benchmarks/pgbench_script.py                      # a built-in SELECT abs(:id)
    python benchmarks/pgbench_script.py --rounds 6 --seconds 2
    python benchmarks/pgbench_script.py --script my.sql --url postgresql://root@db/test
    python benchmarks/pgbench_script.py --data-set           # point-select on dbbench_data
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pgbench  # benchmarks/pgbench.py, beside this script

from dbbench.config.settings import Settings, find_config_path, load_settings
from dbbench.errors import ConfigError

#: the script run when none is given: one statement, no table, a new value every time
DEFAULT_SCRIPT = "\\set id random(1, 100000)\nSELECT abs(:id);\n"
DEFAULT_URL = "postgresql://root@127.0.0.1:5432/test"
#: pgbench's sides, by column: (-C, -M) of each (None: its default, simple)
PGBENCH_SIDES: dict[str, tuple[bool, str | None]] = {
    "-C simple": (True, None),
    "-C extended": (True, "extended"),
    "simple": (False, None),
    "extended": (False, "extended"),
    "prepared": (False, "prepared"),
}
#: the sides of a round, in the order of round 0; "dbbench" runs raw, then persistent
SIDES = (*PGBENCH_SIDES, "dbbench", "psycopg loop")
TARGET = 1.3
#: psycopg's default: a statement run this many times on a connection is prepared
PSYCOPG_PREPARE_THRESHOLD = 5
#: what pgbench defines for every script (dbbench's ``ScriptWorkload`` too)
PGBENCH_VARIABLES = ("scale", "client_id", "random_seed", "default_seed")


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


def matching_protocols(text: str, name: str, prepare_threshold: int | None) -> dict[str, str]:
    """Which pgbench column speaks to the server as psycopg does for ``raw`` and for
    ``persistent``, by what psycopg does with a statement:

    * with parameters, ``PQsendQueryParams`` (Parse/Bind/Describe/Execute/Sync, the
      unnamed statement): ``-M extended``; without, ``PQsendQuery``: ``-M simple``;
    * once it ran ``prepare_threshold`` times on a connection (5, psycopg's default;
      None: never), prepared (``_pg3_0``) and from then on ``PQsendQueryPrepared``
      (Bind/Execute/Sync): ``-M prepared``.  ``persistent`` runs each statement on one
      connection operation after operation: prepared from its sixth; ``raw`` on a new
      connection each time: never (a script repeating one statement that often aside).

    A script of statements with and without parameters is matched against extended,
    and said to be "mixed"."""
    from dbbench.scripts.parse import parse_script

    script = parse_script(text, name, dialect="postgresql", variables=PGBENCH_VARIABLES)
    kinds = {bool(statement.references) for statement in script.statements}
    unprepared = "extended" if True in kinds else "simple"
    return {
        "raw": f"-C {unprepared}",
        "persistent": unprepared if prepare_threshold is None else "prepared",
        "mixed": "mixed" if len(kinds) > 1 else unprepared,
    }


def psycopg_loop(
    parameters: dict, text: str, name: str, seconds: int
) -> tuple[float, float] | None:
    """The least a Python client on psycopg does with the script: a hand-written loop on
    one connection in autocommit (dbbench's connect parameters) and one cursor, each
    ``\\set`` evaluated (dbbench's compiled expression), each statement executed with
    its parameters and its rows fetched, nothing recorded per statement; the mean ns
    per script over ``seconds`` (wall time / scripts, as pgbench's latency average) and
    the median script's, or None for a script with a ``\\sleep`` (left out: its think
    time is no client's cost)."""
    import random
    import time

    import psycopg

    from dbbench.scripts.bind import bind
    from dbbench.scripts.parse import SetVariable, Statement, parse_script
    from dbbench.workload_script import SCALE

    script = parse_script(text, name, dialect="postgresql", variables=PGBENCH_VARIABLES)
    steps: list[tuple[str, Any]] = []
    for command in script.commands:
        if isinstance(command, Statement):
            bound = bind(command, "format", name)
            steps.append((bound.sql, bound.names))
        elif isinstance(command, SetVariable):
            steps.append((command.name, command.expression.compile()))
        else:
            return None
    rng = random.Random(1)
    values: dict[str, Any] = {
        "scale": SCALE, "client_id": 0, "random_seed": 1, "default_seed": rng.getrandbits(63),
    }  # fmt: skip
    with psycopg.connect(**{**parameters, "autocommit": True}) as connection:
        cursor = connection.cursor()
        latencies: list[int] = []
        clock = time.perf_counter_ns
        started = before = clock()
        end = started + seconds * 1_000_000_000
        while before < end:
            for first, second in steps:
                if callable(second):  # \set: the variable, its expression
                    values[first] = second(values, rng)
                    continue
                if second:  # a statement with parameters: its SQL, their names
                    cursor.execute(first, tuple([values[n] for n in second]))
                else:
                    cursor.execute(first)
                if cursor.pgresult is not None and cursor.pgresult.ntuples:
                    cursor.fetchall()
            after = clock()
            latencies.append(after - before)
            before = after
        return (before - started) / len(latencies), statistics.median(latencies)


#: ``psycopg_loop_process``'s program: its arguments on stdin, its figures on stdout
_LOOP_PROGRAM = """
import json, sys
sys.path.insert(0, sys.argv[1])
import pgbench_script
arguments = json.load(sys.stdin)
print(json.dumps(pgbench_script.psycopg_loop(**arguments)))
"""


def psycopg_loop_process(
    parameters: dict, text: str, name: str, seconds: int
) -> tuple[float, float] | None:
    """``psycopg_loop`` in a Python process of its own, started for it as ``dbbench run``
    is: on a busy machine a process that has just imported its modules is scheduled
    less kindly than one that has mostly slept, such as this one waiting on the others
    (the same loop ran here gave a steadier and lower figure than dbbench beside it).
    The connect parameters go on stdin, never in the arguments."""
    arguments = {"parameters": parameters, "text": text, "name": name, "seconds": seconds}
    proc = subprocess.run(
        [sys.executable, "-c", _LOOP_PROGRAM, str(Path(__file__).parent)],
        input=json.dumps(arguments), capture_output=True, text=True,
    )  # fmt: skip
    if proc.returncode != 0:
        sys.exit(f"pgbench_script.py: the psycopg loop exited {proc.returncode}:\n{proc.stderr}")
    figures = json.loads(proc.stdout)
    return None if figures is None else (figures[0], figures[1])


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


def print_table(title: str, columns: dict[str, list[float]], unit_ns: float) -> None:
    """Each round's figures, a column per side, and their medians, in ms."""
    median = statistics.median
    scale = unit_ns / 1e6
    print(title)
    print(f"{'round':>6}" + "".join(f" {name:>12}" for name in columns))
    for i in range(len(next(iter(columns.values())))):
        print(f"{i + 1:>6}" + "".join(f" {v[i] * scale:>12.4f}" for v in columns.values()))
    print(f"{'median':>6}" + "".join(f" {median(v) * scale:>12.4f}" for v in columns.values()))


def label(column: str) -> str:
    """A pgbench column's command line: ``-C simple`` is ``pgbench -C -M simple``."""
    connect, _, protocol = column.rpartition(" ")
    return f"pgbench {connect} -M {protocol}".replace("  ", " ")


def print_ratios(
    columns: dict[str, list[float]], pairs: list[tuple[str, str]], matching: set[str]
) -> None:
    """``top / bottom`` for each pair: the median of the rounds' ratios, each round's in
    brackets; a dbbench runner over a pgbench column is judged against the target, the
    column that speaks psycopg's protocol marked."""
    median = statistics.median
    for top, bottom in pairs:
        ratios = [a / b for a, b in zip(columns[top], columns[bottom], strict=True)]
        note = ""
        if top in ("raw", "persistent") and bottom in PGBENCH_SIDES:
            note = "  within" if median(ratios) <= TARGET else "  OUTSIDE"
            note += f" the {TARGET} target"
            if f"{top}:{bottom}" in matching:
                note += " (the matching protocol)"
        mine = f"dbbench {top}" if top in ("raw", "persistent") else top
        theirs = label(bottom) if bottom in PGBENCH_SIDES else bottom
        print(
            f"  {mine} / {theirs} = {median(ratios):.2f} "
            f"[{' '.join(f'{r:.2f}' for r in ratios)}]{note}"
        )


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
        script_text = script.read_text()
        log_prefix = str(Path(directory, "pgbench_log"))
        theirs: dict[str, list[pgbench.PgbenchResult]] = {side: [] for side in PGBENCH_SIDES}
        ours: list[dict[str, dict]] = []
        #: the mean script (ns) of each side, and on one connection the median's
        means: dict[str, list[float]] = {}
        p50s: dict[str, list[float]] = {side: [] for side in PGBENCH_SIDES if "-C" not in side}
        dbbench_cmd = dbbench_command(args, script)

        def run_pgbench(side: str) -> None:
            connect_each, protocol = PGBENCH_SIDES[side]
            cmd, env = pgbench.command(
                binary, parameters, str(script), seconds=args.seconds,
                connect_each=connect_each, per_statement=True, protocol=protocol,
                log_prefix=None if connect_each else log_prefix,
            )  # fmt: skip
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if proc.returncode != 0:
                sys.exit(f"pgbench_script.py: pgbench exited {proc.returncode}:\n{proc.stderr}")
            try:
                theirs[side].append(pgbench.parse_report(proc.stdout))
                if not connect_each:
                    logged = pgbench.logged_latencies_us(log_prefix)
                    p50s[side].append(statistics.median(logged) * 1e3)
            except pgbench.PgbenchError as error:
                sys.exit(f"pgbench_script.py: {error}")

        def run_loop() -> None:
            figures = psycopg_loop_process(parameters, script_text, script.name, args.seconds)
            if figures is not None:
                means.setdefault("psycopg loop", []).append(figures[0])
                p50s.setdefault("psycopg loop", []).append(figures[1])

        sides: dict[str, Callable[[], None]] = {
            side: functools.partial(run_pgbench, side) for side in PGBENCH_SIDES
        }
        sides["dbbench"] = lambda: ours.append(run_dbbench(dbbench_cmd))
        sides["psycopg loop"] = run_loop
        for round_number in range(args.rounds):
            shift = round_number % len(SIDES)
            for side in SIDES[shift:] + SIDES[:shift]:
                sides[side]()

    threshold = parameters.get("prepare_threshold", PSYCOPG_PREPARE_THRESHOLD)
    match = matching_protocols(script_text, script.name, threshold)
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
    print(
        f"protocol: psycopg sends this script's statements {match['mixed']} (with "
        "parameters: extended, Parse/Bind/Describe/Execute/Sync; without: simple) and, "
        f"once one ran {threshold} times on a connection (prepare_threshold), prepared: "
        f"raw matches {label(match['raw'])}, persistent {label(match['persistent'])}"
    )
    print(f"pgbench: {version.strip()}; dbbench: {' '.join(dbbench_cmd[2:])}")
    print(
        "psycopg loop: a hand-written loop on dbbench's connect, one cursor, nothing recorded"
        + ("" if "psycopg loop" in means else " (left out: the script sleeps)")
    )
    columns = {side: [r.latency_ns for r in theirs[side]] for side in PGBENCH_SIDES}
    columns["raw"] = [o["raw"]["mean_us"] * 1e3 for o in ours]
    columns["persistent"] = [o["persistent"]["mean_us"] * 1e3 for o in ours]
    columns.update(means)
    p50s["persistent"] = [o["persistent"]["p50_us"] * 1e3 for o in ours]
    matching = {f"raw:{match['raw']}", f"persistent:{match['persistent']}"}
    loop = "psycopg loop" in means
    print_table("mean ms per script, pgbench's by -C and -M, dbbench's by runner:", columns, 1)
    print("ratios of the means (the median of the rounds' ratios; each round's in brackets):")
    pairs = [("raw", side) for side in PGBENCH_SIDES if "-C" in side]
    pairs += [("persistent", side) for side in PGBENCH_SIDES if "-C" not in side]
    if loop:
        pairs += [("psycopg loop", match["persistent"]), ("persistent", "psycopg loop")]
    print_ratios(columns, pairs, matching)
    print_table("median script (p50) ms on one connection (pgbench's from its --log):", p50s, 1)
    print("ratios of the medians:")
    pairs = [("persistent", side) for side in PGBENCH_SIDES if "-C" not in side]
    if loop:
        pairs += [("psycopg loop", match["persistent"]), ("persistent", "psycopg loop")]
    print_ratios(p50s, pairs, matching)
    for runner in ("raw", "persistent"):
        print_statements(
            f"dbbench {runner} next to {label(match[runner])}",
            theirs[match[runner]],
            [o[runner] for o in ours],
        )


if __name__ == "__main__":
    main()
