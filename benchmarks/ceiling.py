"""Ceiling: dbbench's best throughput next to a C client's, same server, same run.

How close does dbbench (Python, PyMySQL) get to what the server can serve?
For each concurrency, ``dbbench run --processes 2 --duration 5s --json`` (runners
persistent and pool) and then ``mariadb-slap`` (the C client) run ``SELECT 1``
against the same server, alternately (dbbench c=2, slap c=2, dbbench c=4, ...)
so that drift on a shared machine falls on both.  It prints the throughputs and
dbbench's best / mariadb-slap's best.  A figure, not a pass/fail: on a small
machine client and server share the cores, and a Python client spends more of
them per query.

mariadb-slap's ``--number-of-queries`` is the total over all clients: each of
the C clients runs number-of-queries // C of them (``client_limit =
num_of_query / concurrency`` in client/mysqlslap.c), and it prints that as
"Average number of queries per client".  Its "Average number of seconds to run
all queries" runs from waking the client threads until all have finished, so
it includes each client's connect and close (a millisecond against seconds),
with millisecond resolution.  Throughput = clients x queries per client /
seconds.  Q is sized per concurrency from a short calibration run so that the
measured run takes about as long as dbbench's ``--duration``.

    python benchmarks/ceiling.py                       # the configured server
    python benchmarks/ceiling.py --server local        # a throwaway server, started once
    python benchmarks/ceiling.py --concurrency 2,4,8,16 --duration 10s
    python benchmarks/ceiling.py --config nossl.toml   # settings file passed through

**PostgreSQL.**  With ``--dialect postgresql`` (or a ``postgresql://`` ``--url``)
the C client is ``pgbench`` (``benchmarks/pgbench.py``): ``pgbench -n -c C -j C
-T S -f query.sql`` against the same server, alternately with dbbench as above,
its clients each on one connection with a thread of its own (as mariadb-slap's
are), given the libpq parameters dbbench's psycopg connections get (sslmode,
the startup options, read-only sessions as ``dbbench run`` makes them without
``--allow-writes``).  Its throughput is the ``tps`` it prints "without initial
connection time".  dbbench's persistent runner on psycopg runs its operations in
the one transaction its first BEGIN opened; each of pgbench's ``SELECT 1`` is a
transaction of its own: one round trip per query on both sides.

    python benchmarks/ceiling.py --server local --dialect postgresql
    python benchmarks/ceiling.py --url postgresql://root@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from typing import Any

import pgbench  # benchmarks/pgbench.py, beside this script

from dbbench.config.settings import Settings, find_config_path, load_settings
from dbbench.parsing import parse_duration_s
from dbbench.scenarios.benchmark import local_server

#: operations of the calibration run that sizes mariadb-slap's measured run
CALIBRATION_QUERIES = 20_000


@dataclass
class SlapResult:
    concurrency: int
    clients: int
    per_client: int
    seconds: float

    @property
    def queries(self) -> int:
        return self.clients * self.per_client

    @property
    def ops_per_s(self) -> float:
        return self.queries / self.seconds


def run_dbbench(
    concurrency: int, args: argparse.Namespace, env: dict[str, str]
) -> list[dict[str, Any]]:
    """One ``dbbench run`` with every runner; its per-runner results from the JSON."""
    cmd = [
        sys.executable,
        "-m",
        "dbbench",
        "run",
        "--runner",
        args.runner,
        "--processes",
        str(args.processes),
        "--concurrency",
        str(concurrency),
        "--duration",
        args.duration,
        "--query",
        args.query,
        "--quiet",
        "--json",
    ]
    if args.config is not None:
        cmd += ["--config", args.config]
    if args.url is not None and args.server != "local":
        cmd += ["--url", args.url]  # a throwaway server's address is in env instead
    if args.dialect is not None:
        cmd += ["--dialect", args.dialect]
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env)
    if proc.returncode not in (0, 3):  # 3: ran, but some operations failed
        sys.exit(
            f"ceiling.py: {' '.join(cmd)} exited with status {proc.returncode}:\n{proc.stderr}"
        )
    document = json.loads(proc.stdout)
    if not document.get("complete"):
        sys.exit(f"ceiling.py: {' '.join(cmd)} did not complete")
    return document["results"]


def slap_command(
    slap: str, settings: Settings, schema: str, concurrency: int, queries: int, query: str
) -> tuple[list[str], dict[str, str]]:
    """mariadb-slap's arguments and environment for the server dbbench uses; no password."""
    db = settings.database
    cmd = [
        slap,
        "--no-defaults",  # no /etc/mysql/my.cnf, ~/.my.cnf: only the settings dbbench uses
        f"--user={db.user}",
        f"--concurrency={concurrency}",
        "--iterations=1",
        f"--number-of-queries={queries}",
        f"--query={query}",
        f"--create-schema={schema}",
        "--no-drop",  # never drop the schema (it would only with --create; belt and braces)
    ]
    if db.unix_socket:
        cmd += ["--protocol=socket", f"--socket={db.unix_socket}"]
    else:
        cmd += ["--protocol=tcp", f"--host={db.host}", f"--port={db.port}"]
    ssl = db.ssl
    if ssl.get("ssl_disabled"):
        cmd.append("--skip-ssl")
    for key in ("ssl_ca", "ssl_cert", "ssl_key"):
        if ssl.get(key):
            cmd.append(f"--{key.replace('_', '-')}={ssl[key]}")
    if ssl.get("ssl_verify_cert") or ssl.get("ssl_verify_identity"):
        cmd.append("--ssl-verify-server-cert")
    if db.init_command:
        cmd.append(f"--init-command={db.init_command}")
    env = dict(os.environ)
    env.pop("MYSQL_PWD", None)
    if db.password:
        env["MYSQL_PWD"] = db.password  # the environment, never the command line
    return cmd, env


def _field(pattern: str, text: str, cmd: list[str]) -> str:
    match = re.search(pattern, text)
    if match is None:
        sys.exit(f"ceiling.py: no {pattern!r} in the output of {' '.join(cmd)}:\n{text}")
    return match.group(1)


def run_slap(
    slap: str, settings: Settings, schema: str, concurrency: int, queries: int, query: str
) -> SlapResult:
    queries = max(concurrency, queries - queries % concurrency)  # a whole share per client
    cmd, env = slap_command(slap, settings, schema, concurrency, queries, query)
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env)
    # a failing client thread prints to stderr and calls exit(0): check both
    if proc.returncode != 0 or proc.stderr.strip():
        sys.exit(f"ceiling.py: {' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    out = proc.stdout
    result = SlapResult(
        concurrency=concurrency,
        clients=int(_field(r"Number of clients running queries: (\d+)", out, cmd)),
        per_client=int(_field(r"Average number of queries per client: (\d+)", out, cmd)),
        seconds=float(_field(r"Average number of seconds to run all queries: ([\d.]+)", out, cmd)),
    )
    if result.clients != concurrency or result.queries != queries:
        sys.exit(
            f"ceiling.py: {' '.join(cmd)}: ran {result.clients} x {result.per_client} queries, "
            f"expected {concurrency} x {queries // concurrency}"
        )
    if result.seconds <= 0:
        sys.exit(f"ceiling.py: {' '.join(cmd)}: 0 seconds reported; raise the queries")
    return result


def run_pgbench(binary: str, settings: Settings, concurrency: int, seconds: float,
                script: str) -> SlapResult:
    """pgbench's throughput at ``concurrency`` clients, as a ``SlapResult``."""
    parameters = pgbench.libpq_parameters(settings.database)
    cmd, env = pgbench.command(
        binary, parameters, script, seconds=max(1, round(seconds)), clients=concurrency
    )
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        sys.exit(f"ceiling.py: pgbench exited with status {proc.returncode}:\n{proc.stderr}")
    report = pgbench.parse_report(proc.stdout)
    return SlapResult(concurrency, report.clients, report.transactions // report.clients,
                      report.transactions / report.tps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", help="dbbench settings file (also read for mariadb-slap)")
    parser.add_argument("--server", choices=["configured", "local"], default="configured")
    parser.add_argument("--runner", default="persistent,pool", help="dbbench runners")
    parser.add_argument("--concurrency", default="2,4,8", help="comma-separated concurrencies")
    parser.add_argument("--processes", type=int, default=2, help="dbbench processes")
    parser.add_argument("--duration", default="5s", help="dbbench's --duration, per runner")
    parser.add_argument(
        "--slap-seconds", type=float, help="target length of a slap run [default: --duration]"
    )
    parser.add_argument("--query", default="SELECT 1")
    parser.add_argument("--slap", help="the C client [default: mariadb-slap, else mysqlslap]")
    parser.add_argument("--url", help="the database's URL, as dbbench's --url")
    parser.add_argument("--dialect", choices=["mysql", "postgresql"])
    parser.add_argument("--pgbench", help="PostgreSQL's C client [default: PATH, /usr/lib]")
    args = parser.parse_args()

    concurrencies = [int(c) for c in args.concurrency.split(",") if c.strip()]
    if min(concurrencies) < args.processes:
        parser.error(f"each concurrency must be at least --processes ({args.processes})")
    slap_seconds = args.slap_seconds or parse_duration_s(args.duration)
    database = {"url": args.url, "dialect": args.dialect}
    settings = load_settings(find_config_path(args.config), overrides={"database": database})
    postgresql = settings.database.dialect == "postgresql"
    if postgresql:
        slap = pgbench.find(args.pgbench)
        settings = settings.with_read_only_sessions()  # as dbbench run without --allow-writes
    else:
        slap = args.slap or shutil.which("mariadb-slap") or shutil.which("mysqlslap")
    if slap is None:
        sys.exit("ceiling.py: neither mariadb-slap nor mysqlslap is on PATH")
    env = dict(os.environ)
    runners = [r.strip() for r in args.runner.split(",") if r.strip()]

    client = os.path.basename(slap)
    with contextlib.ExitStack() as stack:
        script = os.path.join(stack.enter_context(tempfile.TemporaryDirectory()), "query.sql")
        with open(script, "w", encoding="utf-8") as file:
            file.write(args.query.rstrip().rstrip(";") + ";\n")
        if args.server == "local":
            if settings.database.unix_socket:
                sys.exit("ceiling.py: --server local cannot override [database] unix_socket")
            server, settings = stack.enter_context(local_server(settings))
            address = server.address
            env.update(address.environment())
            print(f"started a throwaway server on {address.host}:{address.port}")
        # a schema that exists; information_schema always does, and cannot be dropped
        schema = settings.database.database or "information_schema"
        print(
            f"{args.query!r} on {settings.database.describe()}; dbbench --processes "
            f"{args.processes} --duration {args.duration} per runner; {client} "
            f"runs of about {slap_seconds:g} s"
            + ("" if postgresql else f", --create-schema={schema}")
        )
        head = "".join(f"{'dbbench ' + r:>20}" for r in runners)
        tag, width = ("pgbench", 17) if postgresql else ("slap", 14)
        print(
            f"{'concurrency':>11}{head}{tag + ' queries':>{width}}{tag + ' s':>{width - 6}}"
            f"{client:>14}"
        )
        dbbench_best: tuple[float, str, int] = (0.0, "", 0)
        slap_best: tuple[float, int] = (0.0, 0)
        errors = 0
        for c in concurrencies:
            results = {r["runner"]: r for r in run_dbbench(c, args, env)}
            for name in runners:
                r = results[name]
                errors += r["errors"]
                if r["ops_per_s"] and r["ops_per_s"] > dbbench_best[0]:
                    dbbench_best = (r["ops_per_s"], name, c)
            if postgresql:
                s = run_pgbench(slap, settings, c, slap_seconds, script)
            else:
                calibration = run_slap(slap, settings, schema, c, CALIBRATION_QUERIES, args.query)
                queries = int(calibration.ops_per_s * slap_seconds)
                s = run_slap(slap, settings, schema, c, queries, args.query)
            if s.ops_per_s > slap_best[0]:
                slap_best = (s.ops_per_s, c)
            cells = "".join(
                f"{results[r]['ops_per_s']:>20,.0f}"
                + ("" if not results[r]["errors"] else f" ({results[r]['errors']} errors)")
                for r in runners
            )
            print(
                f"{c:>11}{cells}{s.queries:>{width},}{s.seconds:>{width - 6}.3f}"
                f"{s.ops_per_s:>14,.0f}"
            )
    print("throughput in operations per second, all clients together")
    if errors:
        print(f"note: {errors} dbbench operations failed (counted in n + errors, not in ops/s)")
    best, runner, conc = dbbench_best
    print(
        f"dbbench best {best:,.0f} ops/s ({runner}, concurrency {conc}) / {client} best "
        f"{slap_best[0]:,.0f} ops/s (concurrency {slap_best[1]}) = {best / slap_best[0]:.2f}"
    )


if __name__ == "__main__":
    main()
