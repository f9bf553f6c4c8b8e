"""A real server for the integration tests.

With ``DBBENCH_TEST_URL`` (``mysql://user:password@host:port/database``) the
tests use that server (the GitHub workflow's MySQL container); otherwise the
session starts its own throwaway server with ``dbbench.server.local.LocalServer``.
Likewise for PostgreSQL (``postgresql_server``): ``DBBENCH_TEST_POSTGRESQL_URL``
(``postgresql://user:password@host:port/database``), else a throwaway one from
``dbbench.server.local_postgresql.LocalPostgreSQLServer``.  ``local_pgbouncer`` makes a
throwaway PgBouncer (``dbbench.server.local_pgbouncer.LocalPgBouncer``) in front of that
PostgreSQL, whichever it is.
No server means failing tests, never skipped ones.

Every test in this folder carries the ``integration`` marker (given here, not
per file), so ``pytest -m "not integration"`` starts no server and no browser.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import functools
import json
import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import psycopg
import pymysql
import pytest

from dbbench.config.settings import DatabaseSettings
from dbbench.server.local import LocalServer, ServerAddress
from dbbench.server.local_pgbouncer import LocalPgBouncer
from dbbench.server.local_postgresql import LocalPostgreSQLServer

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test of this folder ``integration`` (the hook sees the whole session's items)."""
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.integration)


def clean_environment() -> dict[str, str]:
    """This process's environment without what would change what a ``dbbench`` process
    measures or prints: its own variables (``DBBENCH_*``, ``MYSQL_*``, libpq's ``PG*``), and
    the terminal size a test runner may set (pytest-xdist sets ``COLUMNS=80``), so that piped
    output has its own width, whoever runs the suite."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DBBENCH_", "MYSQL_", "PG")) and k not in ("COLUMNS", "LINES")
    }


@dataclass(frozen=True)
class TestServer(ServerAddress):
    __test__ = False  # not a test class, whatever pytest thinks of the name

    #: the LocalServer when this session started one (fault tests need it)
    local: LocalServer | None = None

    def connect(self, **kwargs) -> pymysql.connections.Connection:
        return pymysql.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            database=self.database,
            **kwargs,
        )

    def env(self) -> dict[str, str]:
        """Environment for a ``dbbench`` subprocess pointed at this server."""
        env = clean_environment()
        env.update(self.environment())
        return env


@dataclass(frozen=True)
class PostgreSQLTestServer(ServerAddress):
    """The session's PostgreSQL (``postgresql_server``): its address, ``connect()`` with
    psycopg, ``env()`` for a ``dbbench`` process (with ``--dialect postgresql``)."""

    __test__ = False

    #: the LocalPostgreSQLServer when this session started one (fault tests need it)
    local: LocalPostgreSQLServer | None = None

    def connect(self, **kwargs) -> psycopg.Connection:
        """A psycopg connection (autocommit unless ``autocommit=False`` is given)."""
        kwargs.setdefault("autocommit", True)
        kwargs.setdefault("connect_timeout", 10)
        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password or None,
            dbname=self.database,
            **kwargs,
        )

    def env(self) -> dict[str, str]:
        """Environment for a ``dbbench`` subprocess pointed at this server, the dialect
        included (``DBBENCH_DIALECT``)."""
        env = clean_environment()
        env.update(self.environment())
        env["DBBENCH_DIALECT"] = "postgresql"
        return env


def database_for(address: ServerAddress) -> DatabaseSettings:
    """``DatabaseSettings`` for a server's address (the session's or a test's own)."""
    return DatabaseSettings(
        host=address.host,
        port=address.port,
        user=address.user,
        password=address.password,
        database=address.database,
    )


def _from_url(url: str, cls: type[ServerAddress] = TestServer) -> Any:
    """The server of ``DBBENCH_TEST_URL`` (``mysql://``), or ``DBBENCH_TEST_POSTGRESQL_URL``
    (``postgresql://``) with ``cls=PostgreSQLTestServer``."""
    mysql = cls is TestServer
    schemes, port = (("mysql", "mariadb"), 3306) if mysql else (("postgresql", "postgres"), 5432)
    parts = urlsplit(url)
    if parts.scheme not in schemes or not parts.hostname:
        variable = "DBBENCH_TEST_URL" if mysql else "DBBENCH_TEST_POSTGRESQL_URL"
        raise pytest.UsageError(
            f"{variable} must look like {schemes[0]}://user@host:port/db, got {parts.scheme}://..."
        )
    return cls(
        host=parts.hostname,
        port=parts.port or port,
        user=unquote(parts.username or "root"),
        password=unquote(parts.password or ""),
        database=parts.path.lstrip("/") or "test",
    )


@pytest.fixture(scope="session", autouse=True)
def cache_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``XDG_CACHE_HOME`` for the session, the ``dbbench`` processes its tests start
    included: ``--server local`` copies the session's template from there (not
    initialised anew in each test), and nothing is written to the user's cache."""
    path = tmp_path_factory.mktemp("cache-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(path))
        yield path


@pytest.fixture(scope="session")
def datadir_template(cache_home: Path) -> Path:
    """One data directory initialised for the session (in ``cache_home``, where
    ``--server local`` finds it too): each LocalServer copies it."""
    return LocalServer.cached_template()


@pytest.fixture(scope="session")
def local_server(datadir_template: Path) -> Callable[..., LocalServer]:
    """``LocalServer(...)`` started from the session's template, not mariadb-install-db."""
    return functools.partial(LocalServer, datadir_template=datadir_template)


@pytest.fixture(scope="session")
def server(request: pytest.FixtureRequest) -> Iterator[TestServer]:
    url = os.environ.get("DBBENCH_TEST_URL")
    if url:
        yield _from_url(url)
        return
    with request.getfixturevalue("local_server")() as local:
        yield TestServer(**dataclasses.asdict(local.address), local=local)


@pytest.fixture(scope="session")
def postgresql_template(cache_home: Path) -> Path:
    """One PostgreSQL data directory initialised for the session (in ``cache_home``,
    where ``--server local --dialect postgresql`` finds it too): each server copies it."""
    return LocalPostgreSQLServer.cached_template()


@pytest.fixture(scope="session")
def local_postgresql(postgresql_template: Path) -> Callable[..., LocalPostgreSQLServer]:
    """``LocalPostgreSQLServer(...)`` started from the session's template, not initdb:
    ``with local_postgresql(tls=..., extra_args=["-c", "max_connections=10"]) as server``."""
    return functools.partial(LocalPostgreSQLServer, datadir_template=postgresql_template)


@pytest.fixture(scope="session")
def postgresql_server(request: pytest.FixtureRequest) -> Iterator[PostgreSQLTestServer]:
    """The session's PostgreSQL, running: ``DBBENCH_TEST_POSTGRESQL_URL``'s, else a
    throwaway one (``local_postgresql``), user ``root``, database ``test``, trust auth."""
    url = os.environ.get("DBBENCH_TEST_POSTGRESQL_URL")
    if url:
        yield _from_url(url, PostgreSQLTestServer)
        return
    with request.getfixturevalue("local_postgresql")() as local:
        yield PostgreSQLTestServer(**dataclasses.asdict(local.address), local=local)


@pytest.fixture(scope="session")
def local_pgbouncer(postgresql_server: PostgreSQLTestServer) -> Callable[..., LocalPgBouncer]:
    """``LocalPgBouncer(...)`` in front of the session's PostgreSQL, not started:
    ``with local_pgbouncer(pool_size=2) as bouncer``, then ``bouncer.address_for("transaction")``
    for a client and ``bouncer.admin_address`` for its console."""
    return functools.partial(LocalPgBouncer, postgresql_server)


def gone(pid: int) -> bool:
    """No such process, or a zombie nobody reaped yet (a container's init may not)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in status


def process_uids(pid: int) -> list[int]:
    """A process's real, effective, saved and filesystem user ids (``/proc/PID/status``)."""
    status = Path(f"/proc/{pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("Uid:"))
    return [int(uid) for uid in line.split()[1:]]


@contextlib.contextmanager
def reaped(process: subprocess.Popen) -> Iterator[subprocess.Popen]:
    """Kill ``process`` if it still runs when the block ends: a failed test leaves no
    ``dbbench run -n 100000000`` behind, loading the machine for the tests after it."""
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def com_select(address: ServerAddress) -> int:
    """The server's count of SELECTs so far (``SHOW GLOBAL STATUS`` itself is not one)."""
    with pymysql.connect(
        host=address.host, port=address.port, user=address.user, password=address.password,
        connect_timeout=5, ssl_disabled=True,
    ) as connection, connection.cursor() as cursor:  # fmt: skip
        cursor.execute("SHOW GLOBAL STATUS LIKE 'Com_select'")
        return int(cursor.fetchone()[1])


def wait_for_selects(
    address: ServerAddress, at_least: int, process: subprocess.Popen, timeout_s: float = 120
) -> None:
    """Poll until the server has counted ``at_least`` SELECTs: a run measures, whatever the
    machine's load did to its start-up (a fixed sleep before a signal can fall in the imports)."""
    deadline = time.monotonic() + timeout_s
    while com_select(address) < at_least:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"fewer than {at_least} SELECTs in {timeout_s:g} s"
        time.sleep(0.1)


def wait_for_result(
    path: Path, ready: Callable[[dict], bool], process: subprocess.Popen, timeout_s: float = 120
) -> dict:
    """Poll the result file a run rewrites at each checkpoint until ``ready(document)``."""
    deadline = time.monotonic() + timeout_s
    while True:
        if path.exists():
            document = json.loads(path.read_text())  # replaced whole, never half-written
            if ready(document):
                return document
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{path.name} not ready in {timeout_s:g} s"
        time.sleep(0.1)


def side_by_side(*commands: Callable[[], Any], workers: int = 4) -> list[Any]:
    """Run each command (a function that checks its own result) in threads, four at a
    time, and return their results in order; the first failure is raised as it was.

    For a test's independent ``dbbench`` processes: they mostly wait (for their
    imports, the server, an idle time), so on 2 cores four side by side take about
    half as long as one after another."""
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        return [future.result() for future in [pool.submit(command) for command in commands]]


def run_dbbench(
    *args: str, env: dict[str, str], timeout_s: float = 120, **popen: Any
) -> subprocess.CompletedProcess:
    """``python -m dbbench ARGS`` as a user would run it: a real process, real output.

    ``popen`` goes to ``subprocess.run`` (``cwd``, ``start_new_session``, ...)."""
    return subprocess.run(
        [sys.executable, "-m", "dbbench", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        stdin=subprocess.DEVNULL,
        **popen,
    )


def typed_at_prompt(
    args: list[str],
    *,
    env: dict[str, str],
    cwd: Path,
    prompt: bytes,
    answer: str,
    timeout_s: float = 120,
) -> tuple[int, bytes]:
    """Run ``args`` with a pseudo-terminal as its controlling terminal, type ``answer``
    once ``prompt`` shows (typed earlier, a prompt's switch to echo off would discard
    it), and return its exit code and all it wrote to the terminal."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: its controlling terminal is the pty
        try:
            os.chdir(cwd)
            os.execve(args[0], args, env)
        finally:
            os._exit(127)
    output, answered = b"", False
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            if not select.select([fd], [], [], 0.5)[0]:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
            if not answered and prompt in output:
                os.write(fd, answer.encode() + b"\n")
                answered = True
        else:
            os.kill(pid, 9)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    return os.waitstatus_to_exitcode(status), output


def free_port() -> int:
    """A TCP port nothing listens on now, for a process of the test's own to take."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class DaskCluster:
    """A Dask scheduler and its workers on loopback, each a process of its own (the
    project's ``dask`` command), started and stopped by mirakuru: ready once it listens.

    The workers run without a nanny (``--no-nanny``): the process started is the worker
    itself, so that a test can kill it as a lost host would be; and each has one thread
    (``--nthreads 1``), as the issue's set-up has."""

    address: str
    logs: Path
    scheduler: Any = None
    workers: dict[str, Any] = dataclasses.field(default_factory=dict)

    DASK = str(Path(sys.executable).with_name("dask"))

    @classmethod
    @contextlib.contextmanager
    def started(
        cls, logs: Path, names: tuple[str, ...] = ("w1", "w2"), preload: Path | None = None
    ) -> Iterator[DaskCluster]:
        from mirakuru import TCPExecutor

        port = free_port()
        cluster = cls(f"tcp://127.0.0.1:{port}", logs)
        logs.mkdir(parents=True, exist_ok=True)
        try:
            cluster.scheduler = cluster._executor(
                TCPExecutor,
                "scheduler",
                [cls.DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                 "--dashboard-address", ":0", "--no-show"],
                port,
            )  # fmt: skip
            for name in names:
                cluster.start_worker(name, preload)
            cluster.wait_for_workers(len(names))
            yield cluster
        finally:
            for worker in cluster.workers.values():
                worker.stop()
            if cluster.scheduler is not None:
                cluster.scheduler.stop()

    def _executor(self, kind: Any, name: str, command: list[str], port: int) -> Any:
        log = (self.logs / f"{name}.log").open("ab")
        executor = kind(
            command,
            host="127.0.0.1",
            port=port,
            timeout=120,
            stdout=log,
            stderr=subprocess.STDOUT,
            envvars={"PATH": os.environ["PATH"]},
        )
        executor.start()
        return executor

    def start_worker(self, name: str, preload: Path | None = None) -> None:
        from mirakuru import TCPExecutor

        port = free_port()
        command = [
            self.DASK, "worker", self.address, "--name", name, "--nworkers", "1",
            "--nthreads", "1", "--no-nanny", "--host", "127.0.0.1", "--worker-port", str(port),
            "--no-dashboard",
            *(["--preload", str(preload)] if preload is not None else []),
        ]  # fmt: skip
        self.workers[name] = self._executor(TCPExecutor, name, command, port)

    def client(self) -> Any:
        from distributed import Client

        return Client(self.address, timeout=30, set_as_default=False)

    def wait_for_workers(self, count: int) -> None:
        with self.client() as client:
            client.wait_for_workers(count, timeout=120)

    def kill(self, name: str) -> None:
        """End worker ``name`` at once (SIGKILL), as a host that goes away would."""
        self.workers.pop(name).kill()

    def log_text(self) -> str:
        return "".join(path.read_text(errors="replace") for path in self.logs.glob("*.log"))


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskCluster]:
    """A scheduler and two workers, w1 and w2, for the tests of one module."""
    with DaskCluster.started(tmp_path_factory.mktemp("dask")) as cluster:
        yield cluster
