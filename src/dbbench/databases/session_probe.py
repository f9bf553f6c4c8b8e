"""Does session state survive between transactions on one client connection?

Through PostgreSQL itself, or a pooler in session mode, a client's connection is
one server session from its connect to its close; a pooler in transaction mode
(PgBouncer's ``pool_mode = transaction``) may run each transaction of the
client on another server connection, and what the first left in its session is
not where the second runs.  ``probe_session_state(database)`` finds out, on a
real endpoint, for three kinds of state an application keeps:

* ``SET`` of a setting of dbbench's own (``SET dbbench.probe = '...'``, a
  custom GUC: no server setting changes), read back with
  ``current_setting('dbbench.probe', true)``;
* a session advisory lock (``pg_try_advisory_lock(key1, key2)``, a random
  second key), looked for in ``pg_locks`` as the next transaction's backend's;
* a temporary table (``CREATE TEMPORARY TABLE``), looked for with
  ``to_regclass('pg_temp.NAME')``; only with writes allowed: a read-only session
  (``default_transaction_read_only``, a run given no ``--allow-writes``) refuses
  to create one, so it is "not probed (read-only session)".  ``SET`` and
  advisory locks work in a read-only transaction.

The client connects with psycopg (autocommit, ``prepare_threshold=None``: a
prepared statement of psycopg's own would break the probe itself through a
transaction pool).  The first transaction sets all three and notes its
backend's pid; then a second client begins a transaction and runs a statement,
holding a server connection (the one just released, for a pooler that hands
out the most recent first, as PgBouncer does); then the first client's second
transaction reads all three and its backend's pid, while the second still
holds its server, for up to ``HOLD_S`` (a pool of one server would otherwise
wait for it forever), and the second commits.  A different pid says the pooler
moved the client to another server.

What it leaves: through a transaction pool, the lock and the temporary table
stay on the server connection the first transaction ran on, until the pooler
closes it or resets it (PgBouncer's ``server_reset_query``, ``DISCARD ALL``, runs
in session mode only); the lock's key is random and the table's name unique,
so they stand in no one's way.  Where the state survived, the probe releases
the lock and drops the table itself.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from dbbench.errors import ConfigError, mention

if TYPE_CHECKING:
    from dbbench.config.settings import DatabaseSettings

#: the setting of dbbench's own the probe sets (a custom GUC: a name with a dot)
PROBE_SETTING = "dbbench.probe"
#: the first key of the probe's advisory lock ("dbbe" as a 32-bit number); the second is random
LOCK_KEY = 0x64626265
#: how long the second client holds its server while the first reads its state
HOLD_S = 2.0

Outcome = Literal["kept", "lost", "not probed"]

#: the kinds of state probed, as findings name them
SET_STATE, LOCK_STATE, TEMP_TABLE_STATE = "SET", "advisory lock", "temporary table"


@dataclass(frozen=True)
class StateFinding:
    """What became of one kind of session state in the next transaction."""

    #: ``SET``, ``advisory lock`` or ``temporary table``
    state: str
    outcome: Outcome
    #: why, in words ("read back 'x' ...", "read-only session")
    detail: str


@dataclass(frozen=True)
class SessionProbe:
    """What the probe found on one endpoint."""

    #: where it probed, ``user@host:port``
    where: str
    #: the backend pids of the client's first and second transactions
    first_pid: int
    second_pid: int
    findings: tuple[StateFinding, ...]

    @property
    def same_server(self) -> bool:
        """Whether both transactions ran on one server session."""
        return self.first_pid == self.second_pid

    @property
    def lost(self) -> tuple[str, ...]:
        """The kinds of state the second transaction did not find."""
        return tuple(f.state for f in self.findings if f.outcome == "lost")

    def describe(self) -> str:
        """The finding in one sentence."""
        server = (
            "both transactions ran on one server session"
            if self.same_server
            else f"the second transaction ran on another server session (pid {self.first_pid}, "
            f"then {self.second_pid})"
        )
        said = "; ".join(f"{f.state} {f.outcome} ({f.detail})" for f in self.findings)
        if self.lost:
            verdict = (
                f"session state does not survive between transactions here: "
                f"{', '.join(self.lost)} lost"
            )
        else:
            verdict = "session state survives between transactions here"
        return f"{self.where}: {verdict}; {server}: {said}"


def probe_session_state(database: DatabaseSettings, *, allow_writes: bool = False) -> SessionProbe:
    """Probe ``database`` (PostgreSQL, or a pooler in front of it) as the module says; the
    temporary table only with ``allow_writes`` and a session that is not read-only."""
    if database.dialect != "postgresql":
        raise ConfigError(
            f"the session-state probe speaks PostgreSQL, and {mention('[database] dialect')} "
            f"is {database.dialect!r}"
        )
    from dbbench.drivers import get_driver

    connect = get_driver("psycopg").connector(database, autocommit=True, prepare_threshold=None)
    writes = allow_writes and not database.read_only
    token = secrets.token_hex(4)
    lock_key = int(token, 16) & 0x7FFFFFFF
    table = f"dbbench_probe_{token}"
    with connect() as client, connect() as other:
        with client.transaction():
            client.execute(f"SET {PROBE_SETTING} = '{token}'")
            locked = client.execute(
                "SELECT pg_try_advisory_lock(%s, %s)", (LOCK_KEY, lock_key)
            ).fetchone()[0]
            if writes:
                client.execute(f"CREATE TEMPORARY TABLE {table} (n integer)")
            first_pid = client.execute("SELECT pg_backend_pid()").fetchone()[0]
        with other.transaction():
            other.execute("SELECT 1")
            second = _in_thread(lambda: _read_state(client, lock_key, table, writes), HOLD_S)
        read = second()
        findings = (
            _set_finding(token, read["setting"]),
            _lock_finding(bool(locked), read["lock_held"]),
            _table_finding(writes, database.read_only, read["table"]),
        )
        _clean_up(client, findings, lock_key, table)
    return SessionProbe(database.describe(), first_pid, read["pid"], findings)


def _read_state(client: Any, lock_key: int, table: str, writes: bool) -> dict[str, Any]:
    with client.transaction():
        setting = client.execute(
            "SELECT current_setting(%s, true)", (PROBE_SETTING,)
        ).fetchone()[0]
        held = client.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = %s "
            "AND objid = %s AND objsubid = 2 AND pid = pg_backend_pid() AND granted",
            (LOCK_KEY, lock_key),
        ).fetchone()[0]
        found = None
        if writes:
            regclass = client.execute("SELECT to_regclass(%s)", (f"pg_temp.{table}",))
            found = regclass.fetchone()[0] is not None
        pid = client.execute("SELECT pg_backend_pid()").fetchone()[0]
    return {"setting": setting, "lock_held": held > 0, "table": found, "pid": pid}


def _in_thread(work: Callable[[], dict[str, Any]], wait_s: float) -> Callable[[], dict[str, Any]]:
    """Start ``work`` in a thread and wait up to ``wait_s`` for it; the function returned
    waits for the rest and gives its value (or raises its exception)."""
    done: dict[str, Any] = {}

    def run() -> None:
        try:
            done["value"] = work()
        except BaseException as exc:  # handed to the caller
            done["error"] = exc

    thread = threading.Thread(target=run, name="dbbench-session-probe", daemon=True)
    thread.start()
    thread.join(wait_s)

    def result() -> dict[str, Any]:
        thread.join()
        if "error" in done:
            raise done["error"]
        return done["value"]

    return result


def _set_finding(token: str, read: str | None) -> StateFinding:
    if read == token:
        return StateFinding(SET_STATE, "kept", f"{PROBE_SETTING} read back as set")
    shown = "unset" if not read else repr(read)
    return StateFinding(SET_STATE, "lost", f"{PROBE_SETTING} was set to {token!r}, read {shown}")


def _lock_finding(locked: bool, held: bool) -> StateFinding:
    if not locked:  # someone holds that very key: nothing to learn
        return StateFinding(LOCK_STATE, "not probed", "pg_try_advisory_lock found it taken")
    if held:
        return StateFinding(LOCK_STATE, "kept", "held by the next transaction's session")
    return StateFinding(
        LOCK_STATE, "lost", "taken in one transaction, not held by the next one's session"
    )


def _table_finding(writes: bool, read_only: bool, found: bool | None) -> StateFinding:
    if not writes:
        why = "read-only session" if read_only else "writes not allowed"
        return StateFinding(TEMP_TABLE_STATE, "not probed", why)
    if found:
        return StateFinding(TEMP_TABLE_STATE, "kept", "found by the next transaction")
    return StateFinding(
        TEMP_TABLE_STATE, "lost", "created in one transaction, not found by the next"
    )


def _clean_up(
    client: Any, findings: tuple[StateFinding, ...], lock_key: int, table: str
) -> None:
    """Release the lock and drop the table where the client's session still has them."""
    kept = {f.state for f in findings if f.outcome == "kept"}
    if LOCK_STATE in kept:
        client.execute("SELECT pg_advisory_unlock(%s, %s)", (LOCK_KEY, lock_key))
    if TEMP_TABLE_STATE in kept:
        client.execute(f"DROP TABLE IF EXISTS pg_temp.{table}")
