"""Memory: does a dbbench run's peak memory stay flat as the number of operations grows?

Latencies go into fixed-size HdrHistograms, so a run of 10^6 operations should
need no more memory than a run of 10^4.  The target: the peak RSS of the large
run is at most 1.2x that of the small one.  Each size runs as its own
``python -m dbbench run ... --quiet --json`` process, and that process's peak
RSS is read exactly with ``os.wait4`` (``ru_maxrss``) on its pid -- not
RUSAGE_CHILDREN, which would mix all our children together.  The JSON output
also gives the throughput and lets us check that every operation is accounted
for (n + errors == operations, per runner).

    python benchmarks/memory.py                          # the configured server
    python benchmarks/memory.py --server local           # a throwaway server, started once
    python benchmarks/memory.py --runner pool --concurrency 8 --large 200000
    python benchmarks/memory.py --config nossl.toml      # settings file passed through
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any

from dbbench.config.settings import find_config_path, load_settings
from dbbench.runners import RUNNER_NAMES
from dbbench.server.local import LocalServer

#: the large run's peak RSS may be at most this many times the small run's
TARGET_RATIO = 1.2
#: dbbench's exit statuses after which there is a JSON document: success, some operations failed
STATUSES_WITH_RESULTS = (0, 3)


@dataclass
class Measurement:
    operations: int
    wall_s: float
    peak_rss_kib: int
    document: dict[str, Any]


def max_rss_to_mib(ru_maxrss: int) -> float:
    # Linux reports KiB, macOS bytes
    return ru_maxrss / (1024 * 1024) if sys.platform == "darwin" else ru_maxrss / 1024


def measure(
    operations: int, args: argparse.Namespace, env: dict[str, str], config: str | None
) -> Measurement:
    """One dbbench run of ``operations`` operations in a child process, and its peak RSS."""
    cmd = [
        sys.executable,
        "-m",
        "dbbench",
        "run",
        "--runner",
        args.runner,
        "--iterations",
        str(operations),
        "--concurrency",
        str(args.concurrency),
        # one process: ru_maxrss of the child is then the whole run's memory
        "--processes",
        "1",
        "--quiet",
        "--json",
    ]
    if config is not None:
        cmd += ["--config", config]
    with tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr, env=env
        )
        assert proc.stdout is not None
        out = proc.stdout.read()  # the JSON is printed at the end; read until EOF
        proc.stdout.close()
        _, status, usage = os.wait4(proc.pid, 0)
        wall_s = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # we reaped it, not Popen
        if proc.returncode not in STATUSES_WITH_RESULTS:
            stderr.seek(0)
            text = stderr.read().decode(errors="replace").strip()
            sys.exit(f"memory.py: {' '.join(cmd)} exited with status {proc.returncode}:\n{text}")
    try:
        document = json.loads(out)
    except json.JSONDecodeError as exc:
        sys.exit(f"memory.py: {' '.join(cmd)} printed no JSON document ({exc}): {out[:500]!r}")
    return Measurement(operations, wall_s, usage.ru_maxrss, document)


def accounting(m: Measurement) -> tuple[bool, str]:
    """Whether n + errors == operations for every runner, and the figures."""
    parts = []
    ok = bool(m.document.get("complete")) and bool(m.document["results"])
    for r in m.document["results"]:
        total = r["n"] + r["errors"]
        ok = ok and total == m.operations
        parts.append(f"{r['runner']} {r['n']}+{r['errors']}={total}")
    if not m.document.get("complete"):
        parts.append("(incomplete)")
    return ok, ", ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", help="dbbench settings file, passed to each run")
    parser.add_argument("--server", choices=["configured", "local"], default="configured")
    parser.add_argument("--runner", default="persistent", help=f"one or more of {RUNNER_NAMES}")
    parser.add_argument("--concurrency", type=int, default=4, help="worker threads")
    parser.add_argument("--small", type=int, default=10_000, help="operations, small run")
    parser.add_argument("--large", type=int, default=1_000_000, help="operations, large run")
    args = parser.parse_args()

    env = dict(os.environ)
    with contextlib.ExitStack() as stack:
        if args.server == "local":
            # Read here only to refuse what the environment cannot override.
            settings = load_settings(find_config_path(args.config))
            if settings.database.unix_socket:
                sys.exit("memory.py: --server local cannot override [database] unix_socket")
            address = stack.enter_context(LocalServer()).address
            env.update(address.environment())
            print(f"started a throwaway server on {address.host}:{address.port}")
        results = [measure(n, args, env, args.config) for n in (args.small, args.large)]

    first = results[0].document
    db = first["settings"]["database"]
    bench = first["settings"]["benchmark"]
    print(
        f"dbbench run --runner {args.runner} --concurrency {args.concurrency} --processes 1, "
        f"query {bench['query']!r} on {db['user']}@{db['host']}:{db['port']} "
        f"({first['environment']['server_version']}), python {first['environment']['python']}"
    )
    print(
        f"{'operations':>11} {'wall s':>8} {'ops/s':>9} {'peak RSS MiB':>13}"
        f"  n + errors == operations"
    )
    all_accounted = True
    for m in results:
        ops = " / ".join(f"{r['ops_per_s']:,.0f}" for r in m.document["results"])
        ok, detail = accounting(m)
        all_accounted = all_accounted and ok
        print(
            f"{m.operations:>11,} {m.wall_s:>8.1f} {ops:>9} {max_rss_to_mib(m.peak_rss_kib):>13.1f}"
            f"  {'yes' if ok else 'NO'}: {detail}"
        )
    small, large = results
    ratio = large.peak_rss_kib / small.peak_rss_kib
    print(
        f"peak RSS {large.operations:,} / {small.operations:,} operations: {ratio:.3f} "
        f"(target ≤ {TARGET_RATIO}: {'met' if ratio <= TARGET_RATIO else 'NOT met'})"
    )
    print(f"every operation accounted for: {'yes' if all_accounted else 'NO'}")


if __name__ == "__main__":
    main()
