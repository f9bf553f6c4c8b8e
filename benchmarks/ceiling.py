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
from dataclasses import dataclass
from typing import Any

from dbbench.config.settings import Settings, find_config_path, load_settings
from dbbench.parsing import parse_duration_s
from dbbench.scenarios.benchmark import settings_for_server
from dbbench.server.local import LocalServer

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
    args = parser.parse_args()

    concurrencies = [int(c) for c in args.concurrency.split(",") if c.strip()]
    if min(concurrencies) < args.processes:
        parser.error(f"each concurrency must be at least --processes ({args.processes})")
    slap_seconds = args.slap_seconds or parse_duration_s(args.duration)
    slap = args.slap or shutil.which("mariadb-slap") or shutil.which("mysqlslap")
    if slap is None:
        sys.exit("ceiling.py: neither mariadb-slap nor mysqlslap is on PATH")
    settings = load_settings(find_config_path(args.config))
    env = dict(os.environ)
    runners = [r.strip() for r in args.runner.split(",") if r.strip()]

    with contextlib.ExitStack() as stack:
        if args.server == "local":
            if settings.database.unix_socket:
                sys.exit("ceiling.py: --server local cannot override [database] unix_socket")
            address = stack.enter_context(LocalServer()).address
            settings = settings_for_server(settings, address)
            env.update(address.environment())
            print(f"started a throwaway server on {address.host}:{address.port}")
        # a schema that exists; information_schema always does, and cannot be dropped
        schema = settings.database.database or "information_schema"
        print(
            f"{args.query!r} on {settings.database.describe()}; dbbench --processes "
            f"{args.processes} --duration {args.duration} per runner; {os.path.basename(slap)} "
            f"runs of about {slap_seconds:g} s, --create-schema={schema}"
        )
        head = "".join(f"{'dbbench ' + r:>20}" for r in runners)
        print(f"{'concurrency':>11}{head}{'slap queries':>14}{'slap s':>8}{'mariadb-slap':>14}")
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
            print(f"{c:>11}{cells}{s.queries:>14,}{s.seconds:>8.3f}{s.ops_per_s:>14,.0f}")
    print("throughput in operations per second, all clients together")
    if errors:
        print(f"note: {errors} dbbench operations failed (counted in n + errors, not in ops/s)")
    best, runner, conc = dbbench_best
    print(
        f"dbbench best {best:,.0f} ops/s ({runner}, concurrency {conc}) / mariadb-slap best "
        f"{slap_best[0]:,.0f} ops/s (concurrency {slap_best[1]}) = {best / slap_best[0]:.2f}"
    )


if __name__ == "__main__":
    main()
