"""dbbench.server.local_pgbouncer.LocalPgBouncer against the real pgbouncer, in front of the
session's PostgreSQL, and dbbench.databases.pgbouncer_status reading its admin console.

What it promises: psycopg through its session and transaction pools (TCP and the Unix
socket) reaches the backend's database; ``SHOW STATS`` counts what was done (N transactions,
N more in ``total_xact_count``); transaction pooling serves 8 clients on at most
``pool_size`` server connections, a client beyond them waiting (``cl_waiting``) until one
is released; nothing left behind after the block, an exception in it, a stop signal, or a
SIGKILL of the process that started it; a SIGKILLed PgBouncer, a bad setting and a taken
port are each one line; as root, it runs as the unprivileged user.

Clients through PgBouncer connect with ``prepare_threshold=None``: psycopg prepares a
statement run five times, and PgBouncer (before 1.21) counts the Parse as a query of its
own and, in transaction mode, may run the prepared statement on a server that never saw it.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from dbbench.databases import pgbouncer_status as status
from dbbench.errors import ConnectError, ServerError
from dbbench.server import process
from dbbench.server.local_pgbouncer import LocalPgBouncer
from dbbench.server.process import ServerAddress
from tests.integration.conftest import gone, process_uids

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="what root does differently")

#: a bound on a hang, never a timing assertion
PATIENCE_S = 60


def connect(address: ServerAddress, **kwargs) -> psycopg.Connection:
    """A psycopg client of a PgBouncer pool (autocommit, no server-side prepare)."""
    kwargs.setdefault("host", address.host)
    kwargs.setdefault("prepare_threshold", None)
    return psycopg.connect(
        port=address.port, user=address.user, dbname=address.database, autocommit=True,
        connect_timeout=10, **kwargs,
    )  # fmt: skip


def console(bouncer: LocalPgBouncer) -> psycopg.Connection:
    a = bouncer.admin_address
    return status.connect_console(a.host, a.port, a.user)


@pytest.fixture
def base_dir() -> Iterator[Path]:
    """A directory for a start that fails (whose log is kept), removed after the test; one
    the unprivileged user PgBouncer runs as can enter (pytest's tmp_path, under a 0700
    directory of root's, is not)."""
    directory = Path(tempfile.mkdtemp(prefix="dbbench-test-"))
    directory.chmod(0o755)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def status_of(bouncer: LocalPgBouncer, database: str) -> status.PoolRow:
    """``database``'s pool, read on a console connection of its own."""
    with console(bouncer) as admin:
        return status.read_snapshot(admin).pool(database)


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + PATIENCE_S
    while not condition():
        assert time.monotonic() < deadline, f"not within {PATIENCE_S} s: {what}"
        time.sleep(0.02)


def test_both_pools_reach_the_backends_database_on_tcp_and_the_socket(local_pgbouncer):
    with local_pgbouncer() as bouncer:
        assert bouncer.version >= (1,)
        assert bouncer.address.port not in (6432, 5432)
        for mode in ("session", "transaction"):
            address = bouncer.address_for(mode)
            assert address.database == f"test_{mode}"
            for host in (address.host, str(bouncer.socket_dir)):
                with connect(address, host=host) as client:
                    database, user = client.execute(
                        "SELECT current_database(), current_user"
                    ).fetchone()
                    assert (database, user) == ("test", "root"), (mode, host)
        with console(bouncer) as admin:
            (version,) = status.show(admin, "VERSION")[0].values()
            assert version.startswith("PgBouncer")
            modes = {p.database: p.pool_mode for p in status.read_pools(admin)}
            assert modes == {"test_session": "session", "test_transaction": "transaction"}


@pytest.mark.parametrize("mode", ["session", "transaction"])
def test_n_transactions_add_n_to_total_xact_count(local_pgbouncer, mode):
    with local_pgbouncer() as bouncer, console(bouncer) as admin:
        address = bouncer.address_for(mode)
        with connect(address) as client:
            client.execute("SELECT 1")  # the pool and its stats row exist from here
            before = status.read_snapshot(admin)
            for n in range(20):
                client.execute("SELECT %s", (n,))  # autocommit: one transaction, one query
            for _ in range(5):
                with client.transaction():
                    client.execute("SELECT 1")
                    client.execute("SELECT 2")
            after = status.read_snapshot(admin)
        delta = status.snapshot_delta(before, after, address.database)
        assert delta.xact_count == 25
        # PgBouncer counts BEGIN and COMMIT as queries of the transaction too
        assert delta.query_count == 20 + 5 * 4
        assert delta.xact_time_us >= delta.query_time_us > 0
        # the other pool saw none of it
        other = bouncer.database_for("session" if mode == "transaction" else "transaction")
        assert status.snapshot_delta(before, after, other).xact_count == 0


def test_transaction_pooling_serves_8_clients_on_at_most_pool_size_servers(
    local_pgbouncer, postgresql_server
):
    with local_pgbouncer(pool_size=2) as bouncer, console(bouncer) as admin:
        address = bouncer.address_for("transaction")
        before = status.read_snapshot(admin)
        clients = [connect(address) for _ in range(8)]
        try:
            backends = set()
            for _ in range(3):
                for client in clients:
                    backends.add(client.execute("SELECT pg_backend_pid()").fetchone()[0])
            assert 1 <= len(backends) <= 2
            pool = status.read_snapshot(admin).pool(address.database)
            assert pool.cl_active == 8 and pool.cl_waiting == 0
            assert pool.servers <= 2
            servers = [
                s for s in status.show(admin, "SERVERS") if s["database"] == address.database
            ]
            assert {s["remote_pid"] for s in servers} == backends
            # the backend sees PgBouncer's server connections, not 8 clients
            with postgresql_server.connect() as direct:
                seen = direct.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (list(backends),)
                ).fetchone()[0]
            assert seen == len(backends)

            # two transactions left open hold both servers: a third client waits for one
            held = clients[:2]
            for client in held:
                client.execute("BEGIN")
                client.execute("SELECT 1")
            answer: list[int] = []
            waiter = threading.Thread(
                target=lambda: answer.append(clients[2].execute("SELECT 42").fetchone()[0])
            )
            waiter.start()
            try:
                wait_until(
                    lambda: status.read_snapshot(admin).pool(address.database).cl_waiting == 1,
                    "a client waiting for a server connection",
                )
                waiting = status.read_snapshot(admin).pool(address.database)
                assert waiting.sv_active == 2 and answer == []
            finally:
                held[0].execute("COMMIT")  # a server back in the pool: the waiter gets it
                waiter.join(PATIENCE_S)
            assert answer == [42]
            held[1].execute("COMMIT")
            after = status.read_snapshot(admin)
        finally:
            for client in clients:
                client.close()
        delta = status.snapshot_delta(before, after, address.database)
        assert delta.xact_count == 8 * 3 + 2 + 1
        assert delta.wait_time_us > 0  # the waiter's wait, at least
        if delta.server_assignment_count is not None:  # PgBouncer 1.23 and later
            assert delta.mean_wait_us is not None and delta.mean_wait_us > 0
        change = status.snapshot_pool_change(before, after, address.database)
        assert change.cl_active == 8 and change.cl_waiting == 0


def test_psycopgs_automatic_prepare_breaks_on_a_transaction_pool_before_pgbouncer_1_21(
    local_pgbouncer,
):
    """Why the clients here set ``prepare_threshold=None``: psycopg prepares a statement on
    its sixth run, on the server connection it has then; PgBouncer before 1.21 knows nothing
    of prepared statements, so the next run, given another server, finds none there."""
    with local_pgbouncer(pool_size=2) as bouncer:
        if bouncer.version >= (1, 21):
            pytest.skip(f"PgBouncer {bouncer.version} can track prepared statements")
        address = bouncer.address_for("transaction")
        with connect(address) as other, connect(address, prepare_threshold=5) as client:
            for n in range(6):  # the sixth prepares "_pg3_0" on the pool's one server
                assert client.execute("SELECT %s::int", (n,)).fetchone() == (n,)
            assert status_of(bouncer, address.database).servers == 1
            # another client's transaction holds that server: the next run gets a new one
            other.execute("BEGIN")
            other.execute("SELECT 1")
            with pytest.raises(psycopg.errors.InvalidSqlStatementName, match="_pg3_0"):
                client.execute("SELECT %s::int", (7,))
            other.execute("COMMIT")


def test_session_pooling_gives_each_client_its_own_server(local_pgbouncer):
    with local_pgbouncer(pool_size=4) as bouncer, console(bouncer) as admin:
        address = bouncer.address_for("session")
        clients = [connect(address) for _ in range(3)]
        try:
            backends = [c.execute("SELECT pg_backend_pid()").fetchone()[0] for c in clients]
            again = [c.execute("SELECT pg_backend_pid()").fetchone()[0] for c in clients]
            assert len(set(backends)) == 3 and again == backends
            pool = status.read_snapshot(admin).pool(address.database)
            assert pool.sv_active == 3 and pool.cl_active == 3
        finally:
            for client in clients:
                client.close()
        # a closed client's server goes back to the pool, idle, still connected (after its
        # server_reset_query, DISCARD ALL, during which it is sv_tested)
        def parked() -> bool:
            pool = status.read_snapshot(admin).pool(address.database)
            return pool.cl_active == 0 and pool.sv_idle + pool.sv_used == 3

        wait_until(parked, "the three servers back in the pool")
        assert status.read_snapshot(admin).pool(address.database).servers == 3


def test_a_killed_pgbouncer_is_one_line_and_cleanup_leaves_nothing(local_pgbouncer):
    with local_pgbouncer() as bouncer:
        root, pid, admin_address = bouncer.base_path, bouncer.pid, bouncer.admin_address
        admin = console(bouncer)
        client = connect(bouncer.address_for("transaction"))
        os.kill(pid, signal.SIGKILL)  # kill -9, not through the object
        wait_until(lambda: not bouncer.running, "pgbouncer dead")
        with pytest.raises(ConnectError) as on_open:
            status.read_snapshot(admin)
        with pytest.raises(ConnectError) as on_new:
            status.connect_console(admin_address.host, admin_address.port, admin_address.user)
        for caught in (on_open, on_new):
            message = str(caught.value)
            assert "\n" not in message and "PgBouncer's admin console" in message, message
        assert f"127.0.0.1:{admin_address.port}" in str(on_new.value)
        with pytest.raises(psycopg.OperationalError):
            client.execute("SELECT 1")
        admin.close()
        client.close()
    assert not root.exists() and gone(pid) and bouncer.pid is None


def test_kill_then_restart_on_the_same_port(local_pgbouncer):
    with local_pgbouncer() as bouncer:
        port = bouncer.address.port
        bouncer.kill()  # leaves its socket and pid file behind: restart removes them
        assert not bouncer.running
        bouncer.restart()
        assert bouncer.address.port == port
        with connect(bouncer.address_for("session"), host=str(bouncer.socket_dir)) as client:
            assert client.execute("SELECT 1").fetchone() == (1,)
        bouncer.stop()
        assert not bouncer.running
        assert not (bouncer.base_path / "pgbouncer.pid").exists()  # a clean exit removes it


def test_its_directory_is_removed_after_an_exception_in_the_block(local_pgbouncer):
    with pytest.raises(RuntimeError, match="inside"), local_pgbouncer() as bouncer:
        root, pid = bouncer.base_path, bouncer.pid
        raise RuntimeError("inside the block")
    assert not root.exists() and gone(pid)


_STARTER = textwrap.dedent(
    """
    import sys, time
    from dbbench import interruption
    from dbbench.server.local_pgbouncer import LocalPgBouncer
    from dbbench.server.process import ServerAddress
    backend = ServerAddress(sys.argv[1], int(sys.argv[2]), sys.argv[3], "", sys.argv[4])
    try:
        with interruption.stop_on_signals(), LocalPgBouncer(backend) as bouncer:
            print(bouncer.pid, bouncer.base_path, flush=True)
            while True:
                time.sleep(0.05)
    except KeyboardInterrupt:
        sys.exit(130)
    """
)


def start_elsewhere(backend: ServerAddress) -> tuple[subprocess.Popen, int, Path]:
    starter = subprocess.Popen(
        [sys.executable, "-c", _STARTER, backend.host, str(backend.port), backend.user,
         backend.database],
        stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    pid_text, root = starter.stdout.readline().split()
    return starter, int(pid_text), Path(root)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_stops_pgbouncer_and_removes_its_directory(postgresql_server, signum):
    starter, pid, root = start_elsewhere(postgresql_server)
    try:
        assert not gone(pid)
        starter.send_signal(signum)
        assert starter.wait(timeout=PATIENCE_S) == 130
        assert gone(pid) and not root.exists()
    finally:
        if starter.poll() is None:
            starter.kill()
            starter.wait()


def test_pgbouncer_dies_with_the_process_that_started_it(postgresql_server):
    starter, pid, root = start_elsewhere(postgresql_server)
    try:
        starter.send_signal(signal.SIGKILL)
        starter.wait()
        wait_until(lambda: gone(pid), f"pgbouncer {pid} ended after its parent's SIGKILL")
        # its own clean exit (the parent-death signal is its immediate shutdown, not
        # SIGKILL) removed its socket and pid file; the directory is left, as documented
        assert not (root / "pgbouncer.pid").exists()
        assert not list(root.glob(".s.PGSQL.*"))
    finally:
        if starter.poll() is None:
            starter.kill()
            starter.wait()
        shutil.rmtree(root, ignore_errors=True)


def test_a_taken_port_is_retried_on_another(local_pgbouncer, monkeypatch):
    with local_pgbouncer() as squatter:  # a listener on the first port handed out
        taken = squatter.address.port
        handed_out = iter([taken])
        real = process.free_port
        monkeypatch.setattr(
            process, "free_port", lambda forbidden=(): next(handed_out, None) or real(forbidden)
        )
        with local_pgbouncer() as bouncer:
            assert bouncer.address.port != taken
            log = (bouncer.base_path / "server.log").read_text()
            assert f"cannot listen on 127.0.0.1:{taken}" in log
            with connect(bouncer.address_for("session")) as client:
                assert client.execute("SELECT 1").fetchone() == (1,)


def test_a_port_taken_every_time_is_one_line(local_pgbouncer, monkeypatch, base_dir):
    with local_pgbouncer() as squatter:
        taken = squatter.address.port
        monkeypatch.setattr(process, "free_port", lambda forbidden=(): taken)
        with pytest.raises(ServerError) as caught:
            local_pgbouncer(base_dir=base_dir).start()
    message = str(caught.value)
    assert "\n" not in message
    assert f"could not take port {taken}" in message and "server.log" in message, message


def test_a_bad_setting_is_one_line_naming_it_and_the_log(local_pgbouncer, base_dir):
    with pytest.raises(ServerError) as caught:
        local_pgbouncer(settings={"auth_type": "nonsense"}, base_dir=base_dir).start()
    message = str(caught.value)
    assert "\n" not in message
    assert "auth_type" in message and "nonsense" in message and "server.log" in message, message
    # the log is kept for the user to read, with the configuration it names
    (kept,) = base_dir.iterdir()
    assert {"server.log", "pgbouncer.ini"} <= {p.name for p in kept.iterdir()}


def test_no_password_variable_reaches_pgbouncer(local_pgbouncer, monkeypatch):
    monkeypatch.setenv("PGPASSWORD", "s3cret-pg")
    monkeypatch.setenv("DBBENCH_PASSWORD", "s3cret-db")
    with local_pgbouncer() as bouncer:
        environ = Path(f"/proc/{bouncer.pid}/environ").read_bytes()
        files = b"".join(p.read_bytes() for p in bouncer.base_path.iterdir() if p.is_file())
    for secret in (b"s3cret-pg", b"s3cret-db"):
        assert secret not in environ and secret not in files


@as_root
def test_as_root_it_runs_as_the_unprivileged_user(local_pgbouncer):
    with local_pgbouncer() as bouncer:
        assert bouncer.run_as in ("postgres", "nobody")
        expected = pwd.getpwnam(bouncer.run_as)
        assert process_uids(bouncer.pid) == [expected.pw_uid] * 4
        assert (bouncer.base_path / "pgbouncer.ini").stat().st_uid == expected.pw_uid
