"""pgbench, PostgreSQL's own C client, as the other side of fidelity.py and ceiling.py.

What this module owns: finding ``pgbench``, giving it the very connection
parameters dbbench's psycopg connections get, and reading its report.  No
timing happens here; the parsing is pure and unit-tested
(tests/unit/test_pgbench_output.py).

**Like for like.**  pgbench is given, as a conninfo string in place of the
database name (pgbench hands it to libpq with ``expand_dbname``), the libpq
parameters ``PsycopgDriver.connector`` passes to ``psycopg.connect``:
host, port, user, dbname, ``sslmode``, ``connect_timeout``, the keepalives and
``tcp_user_timeout``, and ``options`` (``-c statement_timeout=...``, and
``-c default_transaction_read_only=on`` where the run's sessions are
read-only), so both sides send the same startup packet and ask for TLS, or
not, alike.  The password goes in ``PGPASSWORD``, never on the command line.

**What pgbench reports** (PostgreSQL 15's pgbench, ``-n -c 1 -T S -f FILE``):
``number of transactions actually processed: N``, ``latency average = L ms``
(the run's wall time x clients / N, so with ``-C`` it holds each
transaction's connect and close as well), with ``-C`` ``average connection
time = C ms`` (PQconnectdb alone) and ``tps = T (including reconnection
times)``, without it ``initial connection time = C ms`` and ``tps = T
(without initial connection time)``; with ``-r``, after ``statement latencies in
milliseconds and failures:``, a line per script line: its mean latency in ms, its
failures and its text (pgbench 14 and older print no failures column, nor "and
failures" in the heading).  A script ending inside a transaction
is refused ("end of script reached without completing the last
transaction"), so pgbench cannot be made to send psycopg's BEGIN without a
COMMIT after it: fidelity.py separates BEGIN's round trip on the Python side
instead.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dbbench.drivers import get_driver

if TYPE_CHECKING:
    from dbbench.config.settings import DatabaseSettings

#: the report's lines this module reads, by the name it gives each value
_FIELDS = {
    "clients": r"number of clients: (\d+)",
    "transactions": r"number of transactions actually processed: (\d+)",
    "latency_ms": r"latency average = ([\d.]+) ms",
    "connection_ms": r"(?:average|initial) connection time = ([\d.]+) ms",
    "tps": r"tps = ([\d.]+)",
}
#: libpq parameters pgbench is not given: the password goes in the environment
_NOT_IN_CONNINFO = frozenset({"password"})


#: -r's heading; "and failures" from pgbench 15 on, with a failures column under it
_STATEMENTS_HEADING = re.compile(r"^statement latencies in milliseconds( and failures)?:$", re.M)


class PgbenchError(Exception):
    """pgbench could not be found, failed, or printed something this module cannot read."""


@dataclass(frozen=True)
class StatementLatency:
    """One script line's figures from ``-r``: a ``\\set`` line's too, as pgbench prints them."""

    #: as printed, to the microsecond
    latency_ms: float
    #: None where pgbench prints no failures column (14 and older)
    failures: int | None
    #: the line as pgbench prints it, ``SELECT abs(:id);``
    text: str


@dataclass(frozen=True)
class PgbenchResult:
    clients: int
    transactions: int
    #: as printed, to the microsecond
    latency_ms: float
    #: -C: the mean PQconnectdb of every transaction; else the clients' initial connects
    connection_ms: float | None
    tps: float
    #: with ``-r``, each script line's latency, in the script's order; else empty
    statements: tuple[StatementLatency, ...] = ()

    @property
    def latency_ns(self) -> float:
        """The latency average from ``tps`` (clients / tps, which is how pgbench computes
        the latency it prints, with six digits more than its three decimals of a ms)."""
        return self.clients * 1e9 / self.tps


def parse_report(text: str) -> PgbenchResult:
    """pgbench's report (its standard output) as numbers; ``PgbenchError`` naming the line
    that is missing, or the abort pgbench reported."""
    if "Run was aborted" in text or "client 0 aborted" in text:
        raise PgbenchError(f"pgbench aborted its run:\n{text.strip()}")
    found: dict[str, str | None] = {}
    for name, pattern in _FIELDS.items():
        match = re.search(pattern, text)
        if match is None and name != "connection_ms":
            raise PgbenchError(f"no {pattern!r} in pgbench's report:\n{text.strip()}")
        found[name] = match.group(1) if match else None
    transactions = int(found["transactions"] or 0)
    if transactions <= 0 or not float(found["tps"] or 0):
        raise PgbenchError(f"pgbench processed no transaction:\n{text.strip()}")
    return PgbenchResult(
        clients=int(found["clients"] or 0),
        transactions=transactions,
        latency_ms=float(found["latency_ms"] or 0),
        connection_ms=float(found["connection_ms"]) if found["connection_ms"] else None,
        tps=float(found["tps"] or 0),
        statements=parse_statement_latencies(text),
    )


def parse_statement_latencies(text: str) -> tuple[StatementLatency, ...]:
    """``-r``'s lines under its heading, in the script's order; () when the report has no
    such heading; ``PgbenchError`` naming a line under it that is not one."""
    heading = _STATEMENTS_HEADING.search(text)
    if heading is None:
        return ()
    with_failures = heading.group(1) is not None
    line_pattern = re.compile(
        r"\s*([\d.]+)\s+(\d+)\s+(\S.*)" if with_failures else r"\s*([\d.]+)\s+(\S.*)"
    )
    statements = []
    for line in text[heading.end() :].splitlines():
        if not line.strip():
            continue
        match = line_pattern.fullmatch(line)
        if match is None:
            raise PgbenchError(f"not a statement's latency in pgbench's report: {line.strip()!r}")
        failures = int(match.group(2)) if with_failures else None
        statements.append(
            StatementLatency(float(match.group(1)), failures, match.group(match.lastindex or 0))
        )
    return tuple(statements)


def mean_latency_ns(results: Sequence[PgbenchResult]) -> float:
    """The mean latency over several runs: each run's weighted by its transactions."""
    total = sum(r.transactions for r in results)
    return sum(r.latency_ns * r.transactions for r in results) / total


def mean_connection_ms(results: Sequence[PgbenchResult]) -> float | None:
    """The mean connect time over several -C runs, weighted likewise; None without -C."""
    timed = [r for r in results if r.connection_ms is not None]
    if not timed:
        return None
    total = sum(r.transactions for r in timed)
    return sum((r.connection_ms or 0) * r.transactions for r in timed) / total


def libpq_parameters(database: DatabaseSettings) -> dict[str, Any]:
    """The libpq parameters dbbench's connections to ``database`` get (its driver's, which
    must be over libpq), the read-only option included where its sessions are read-only."""
    driver = get_driver(database.driver)
    if driver.name not in ("psycopg", "psycopg2"):
        raise PgbenchError(f"pgbench is libpq; driver {driver.name!r} is not (use psycopg)")
    parameters = driver.connect_kwargs(database)
    return driver.read_only_kwargs(parameters) if database.read_only else parameters


def conninfo_value(value: Any) -> str:
    """A value as libpq's conninfo syntax takes it: quoted when it holds a space, a quote,
    a backslash or nothing, with ``\\`` and ``'`` escaped."""
    text = str(value)
    if text and not re.search(r"[\s'\\]", text):
        return text
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def conninfo(parameters: Mapping[str, Any]) -> str:
    """libpq's keyword/value connection string for ``parameters``, without the password."""
    return " ".join(
        f"{key}={conninfo_value(value)}"
        for key, value in parameters.items()
        if key not in _NOT_IN_CONNINFO and value is not None
    )


def command(
    pgbench: str,
    parameters: Mapping[str, Any],
    script: str,
    *,
    seconds: int,
    clients: int = 1,
    connect_each: bool = False,
    per_statement: bool = False,
    protocol: str | None = None,
    log_prefix: str | None = None,
) -> tuple[list[str], dict[str, str]]:
    """pgbench's arguments and environment: ``script`` for ``seconds`` with ``clients``
    clients (a thread each), a new connection per transaction when ``connect_each``
    (``-C``), each statement's latency reported when ``per_statement`` (``-r``), the
    query protocol ``protocol`` (``-M simple|extended|prepared``; None: pgbench's
    default, simple), each transaction's latency logged to ``log_prefix.PID`` when
    ``log_prefix`` (``--log``; ``logged_latencies_us`` reads them back); no vacuum
    (``-n``: there are no pgbench tables).  No ``PG*`` variable of the caller's reaches
    it but the password, which only the environment carries."""
    cmd = [pgbench, "-n", "-c", str(clients), "-j", str(clients), "-T", str(seconds)]
    if connect_each:
        cmd.append("-C")
    if per_statement:
        cmd.append("-r")
    if protocol is not None:
        cmd += ["-M", protocol]
    if log_prefix is not None:
        cmd += ["--log", f"--log-prefix={log_prefix}"]
    cmd += ["-f", script, conninfo(parameters)]
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    if parameters.get("password"):
        env["PGPASSWORD"] = str(parameters["password"])
    return cmd, env


def logged_latencies_us(prefix: str) -> list[int]:
    """Each transaction's latency (µs) from the logs of ``--log --log-prefix=prefix``
    (one file per pgbench process, ``prefix.PID``; a line ``client transaction latency
    script epoch µs``, the third field the latency), the files removed once read."""
    latencies: list[int] = []
    for path in sorted(Path(prefix).parent.glob(Path(prefix).name + ".*")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            fields = line.split()
            if len(fields) < 3 or not fields[2].isdigit():
                raise PgbenchError(f"{path}:{number}: not a transaction's log line: {line!r}")
            latencies.append(int(fields[2]))
        path.unlink()
    return latencies


def find(given: str | None = None) -> str:
    """The pgbench to run: ``given``, else on PATH, else the newest under
    ``/usr/lib/postgresql/*/bin`` (Debian's layout)."""
    if given:
        return given
    found = shutil.which("pgbench")
    if found:
        return found
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pgbench"),
        key=lambda path: [int(part) for part in re.findall(r"\d+", path)],
    )
    if not candidates:
        raise PgbenchError("pgbench is neither on PATH nor under /usr/lib/postgresql/*/bin")
    return candidates[-1]
