"""A throwaway, private MariaDB/MySQL server for ``--server local`` and the tests.

``LocalServer`` initialises a fresh data directory in a new temporary
directory, starts the server binary found on ``PATH`` (or in ``/usr/sbin``,
``/usr/local/sbin``) on a free TCP port of 127.0.0.1, and waits until
``SELECT 1`` works.  Nothing is read from ``/etc/mysql`` (every program gets
``--no-defaults``), nothing is written outside the temporary directory but
the cached data directory below, and the server's output goes to log files
there, never to our terminal.  (Only a Unix socket path too long for
sun_path moves the socket to a short temp dir.)

The data directory is a copy of one initialised once per server version
(mariadb-install-db takes 5-9 s here, a copy under 1 s) and kept in
``$XDG_CACHE_HOME/dbbench`` (``~/.cache/dbbench``): see ``cached_template``.
Where that cannot be written, each server initialises its own.

Layout of the temporary directory::

    data/          the data directory (kept by stop() and kill())
    tmp/           the server's --tmpdir
    install.log    output of mariadb-install-db / mysqld --initialize-insecure
    error.log      the server's --log-error
    server.log     the server's stdout and stderr (normally almost empty)
    mysqld.sock    the Unix socket (elsewhere if this path would be too long)
    mysqld.pid     the server's --pid-file

The server runs in its own session, so a Ctrl-C in the terminal (or a hang-up)
reaches only us; ``cleanup()`` (called by ``__exit__``, even on KeyboardInterrupt)
stops it, and a second signal does not cut that short (``interruption.held``).
A server that is forgotten is stopped and its directory removed when the
``LocalServer`` is garbage collected or, at the latest, at interpreter exit
(``weakref.finalize``).  On Linux the server also gets ``PR_SET_PDEATHSIG`` so
it dies if this Python process is killed with SIGKILL (see ``_pdeathsig_preexec``).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pymysql

from dbbench import interruption
from dbbench.errors import ServerError

if TYPE_CHECKING:
    from dbbench.server.certificates import CertificateFiles

__all__ = ["LocalServer", "ServerAddress", "find_server_kind", "refuses_connections"]

#: Extra directories searched after PATH: an ordinary user's PATH often lacks them.
_EXTRA_DIRS = ("/usr/sbin", "/usr/local/sbin")
#: Ports we never use: the usual server port and MySQL's X protocol port.
_FORBIDDEN_PORTS = frozenset({3306, 33060})
#: How many fresh ports start() tries when the server cannot bind its port.
_PORT_ATTEMPTS = 3
#: Longest Unix socket path we use (sun_path is 108 bytes including the NUL).
_MAX_SOCKET_PATH = 100
#: Seconds stop() waits after SIGTERM before it sends SIGKILL.
_STOP_TIMEOUT_S = 20.0
_POLL_INTERVAL_S = 0.05
_INSTALL_TIMEOUT_S = 120.0
#: Bumped when what ``_initialise`` puts in a data directory changes: a new cached template.
_TEMPLATE_FORMAT = 1

#: ER_ACCESS_DENIED_ERROR, ER_ACCESS_DENIED_NO_PASSWORD_ERROR, ER_HOST_NOT_PRIVILEGED
_LOGIN_REFUSED = frozenset({1045, 1698, 1130})

_USER = "root"
_PASSWORD = ""
_DATABASE = "test"

#: Options for both the data directory initialisation and the server (MariaDB).
_MARIADB_INNODB_OPTS = ("--innodb-buffer-pool-size=16M", "--innodb-log-file-size=8M")
#: Options for the server only.  extra_args come after these, so they override them.
_COMMON_SERVER_OPTS = (
    "--bind-address=127.0.0.1",
    "--skip-name-resolve",
    "--skip-log-bin",
    "--max-connections=200",
)


@dataclass(frozen=True)
class ServerAddress:
    """Where a LocalServer listens and how to log in to it."""

    host: str
    port: int
    user: str
    password: str = field(repr=False)
    database: str
    #: the server's Unix socket, when it is on this machine
    unix_socket: str | None = None

    def environment(self) -> dict[str, str]:
        """The ``DBBENCH_*`` variables that point a ``dbbench`` process at this server."""
        return {
            "DBBENCH_HOST": self.host,
            "DBBENCH_PORT": str(self.port),
            "DBBENCH_USER": self.user,
            "DBBENCH_PASSWORD": self.password,
            "DBBENCH_DATABASE": self.database,
        }


@dataclass(frozen=True)
class _Binaries:
    kind: str  # "mariadb" or "mysql"
    server: str
    install_db: str | None  # mariadb-install-db; None for MySQL (mysqld --initialize-insecure)


# --------------------------------------------------------------------------- discovery


def _which(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for directory in _EXTRA_DIRS:
        candidate = os.path.join(directory, name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def _is_mariadb_binary(path: str) -> bool:
    try:
        out = subprocess.run(
            [path, "--no-defaults", "--version"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return "mariadb" in out.lower()


def _find_binaries() -> _Binaries:
    install_db = _which("mariadb-install-db")
    mariadbd = _which("mariadbd")
    mysqld = _which("mysqld")
    if install_db and mariadbd:
        return _Binaries("mariadb", mariadbd, install_db)
    if mysqld:
        # mysqld may be MariaDB's compatibility name (a symlink to mariadbd).
        if not _is_mariadb_binary(mysqld):
            return _Binaries("mysql", mysqld, None)
        if install_db:
            return _Binaries("mariadb", mysqld, install_db)
        missing = "mariadb-install-db"
    elif mariadbd:
        missing = "mariadb-install-db"
    elif install_db:
        missing = "mariadbd"
    else:
        missing = "mariadb-install-db and mariadbd (or MySQL's mysqld)"
    where = ", ".join(("PATH", *_EXTRA_DIRS))
    raise ServerError(
        f"cannot start a local server: {missing} not found on {where}; "
        "install a server with: apt-get install mariadb-server"
    )


def find_server_kind() -> str:
    """Return "mariadb" or "mysql", the kind of server LocalServer would start.

    Raises ServerError naming what is missing when neither can be found.
    """
    return _find_binaries().kind


def refuses_connections(host: str, port: int, timeout_s: float = 2.0) -> bool:
    """Whether ``host:port`` refuses a TCP connection: nothing listens there.

    A timeout or any other failure is not a refusal: something may be there, and
    connecting to it properly will say what is wrong."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


# --------------------------------------------------------------------------- helpers


#: environment variables that may hold a password: never handed to the server
_SECRET_VARIABLES = ("MYSQL_PWD",)
_SECRET_PREFIXES = ("DBBENCH_",)


def _server_environment() -> dict[str, str]:
    """Our environment without anything that may carry a password (/proc/PID/environ)."""
    return {
        name: value
        for name, value in os.environ.items()
        if name not in _SECRET_VARIABLES and not name.startswith(_SECRET_PREFIXES)
    }


def _free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (never 3306)."""
    for _ in range(20):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in _FORBIDDEN_PORTS:
            return port
    raise ServerError("cannot start a local server: no free TCP port found on 127.0.0.1")


_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d[ T]+\d{1,2}:\d\d:\d\d(?:\.\d+)?Z?\s+(?:\d+\s+)?")
_BOILERPLATE = re.compile(
    r"\[ERROR\] (?:\[[^\]]*\] )*(?:Aborting|Do you already have another server running)",
    re.IGNORECASE,
)


def _meaningful_line(text: str) -> str:
    """The line of a server log that best says why it failed.

    The first [ERROR] line is usually the cause; the ones after it ("Aborting",
    "Do you already have another server running ...") are consequences.  Without
    an [ERROR] line, the last non-empty line.
    """
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if "[ERROR]" in line and not _BOILERPLATE.search(line)]
    line = errors[0] if errors else (lines[-1] if lines else "")
    return _TIMESTAMP.sub("", line)[:300]


def _read_from(path: Path, offset: int) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(offset)
            return fh.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _same_dir(a: str, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _is_bind_error(text: str) -> bool:
    return "Address already in use" in text or "Bind on TCP/IP port" in text


def _load_prctl():  # pragma: no cover - platform dependent
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    return prctl


_PRCTL = _load_prctl()
_PR_SET_PDEATHSIG = 1


def _pdeathsig_preexec():
    """A preexec_fn that makes the server get SIGKILL when its parent dies, or None.

    Caveats:
    * Linux delivers the signal when the *thread* that forked the child exits,
      not the process.  Starting from a worker thread that ends later would
      kill the server then, so we only do this from the main thread, whose
      life is the interpreter's.
    * preexec_fn runs Python code between fork and exec, which the subprocess
      documentation calls unsafe when other threads run (a lock held by another
      thread at fork time stays held in the child).  The function below only
      calls an already-loaded C function with small ints and os.getppid/os.kill,
      which allocate nothing; no deadlock has been seen, but that is the risk.
    """
    if _PRCTL is None or threading.current_thread() is not threading.main_thread():
        return None
    prctl = _PRCTL
    parent = os.getpid()
    sigkill = int(signal.SIGKILL)

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, sigkill, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), sigkill)

    return preexec


class _State:
    """What the finalizer needs to clean up; holds no reference to the LocalServer."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.root: Path | None = None
        self.lock = threading.RLock()

    def terminate(self, timeout_s: float = _STOP_TIMEOUT_S) -> None:
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
            try:
                proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                proc.wait()
        self.proc = None

    def kill(self) -> None:
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait()
        self.proc = None

    def remove_root(self) -> None:
        root, self.root = self.root, None
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)

    def finalize(self) -> None:
        """Called at garbage collection or interpreter exit: stop and remove all."""
        try:
            self.terminate(timeout_s=10.0)
        finally:
            self.remove_root()


# --------------------------------------------------------------------------- the server


class LocalServer:
    """A private MariaDB/MySQL server in a temporary directory.

    Use as a context manager::

        with LocalServer() as server:
            a = server.address
            pymysql.connect(host=a.host, port=a.port, user=a.user, password=a.password)

    ``start()`` initialises and starts it, ``stop()`` shuts it down cleanly,
    ``kill()`` SIGKILLs it (both keep the data directory), ``restart()``
    starts it again on the same port and data directory, and ``cleanup()``
    stops it and removes the temporary directory.

    ``extra_args`` are appended to the server's command line (so they override
    our defaults, e.g. ``["--max-connections=10", "--wait-timeout=2"]``); they
    are not given to the data directory initialisation.

    ``tls`` (``dbbench.server.certificates.CertificateFiles``) starts it with TLS:
    ``--ssl-ca``, ``--ssl-cert`` and ``--ssl-key`` from those files.

    ``datadir_template`` (from ``LocalServer.initialise_template``) is an
    initialised data directory that start() copies instead of initialising
    one: a copy takes a tenth of a second, mariadb-install-db several seconds,
    which adds up in a test suite that starts a dozen servers.
    """

    def __init__(
        self,
        *,
        base_dir: str | os.PathLike[str] | None = None,
        startup_timeout_s: float = 30.0,
        extra_args: Sequence[str] = (),
        tls: CertificateFiles | None = None,
        datadir_template: str | os.PathLike[str] | None = None,
    ) -> None:
        if isinstance(extra_args, str):
            raise TypeError("extra_args must be a sequence of strings, not a string")
        self._base_dir = os.fspath(base_dir) if base_dir is not None else None
        self._startup_timeout_s = startup_timeout_s
        self._datadir_template = Path(datadir_template) if datadir_template is not None else None
        tls_args = (
            (f"--ssl-ca={tls.ca}", f"--ssl-cert={tls.server_cert}", f"--ssl-key={tls.server_key}")
            if tls is not None
            else ()
        )
        self.tls = tls
        self._extra_args = (*tls_args, *extra_args)
        self._binaries: _Binaries | None = None
        self._address: ServerAddress | None = None
        self._socket_dir: Path | None = None  # a separate short dir, when needed
        self._state = _State()
        self._finalizer = weakref.finalize(self, _State.finalize, self._state)

    # ----------------------------------------------------------------- properties

    @property
    def address(self) -> ServerAddress:
        if self._address is None:
            raise ServerError("the local server has not been started")
        return self._address

    @property
    def running(self) -> bool:
        proc = self._state.proc
        return proc is not None and proc.poll() is None

    @property
    def pid(self) -> int | None:
        proc = self._state.proc
        return proc.pid if proc is not None and proc.poll() is None else None

    @property
    def base_path(self) -> Path | None:
        """The temporary directory (None before start() and after cleanup())."""
        return self._state.root

    @property
    def error_log(self) -> Path | None:
        root = self._state.root
        return root / "error.log" if root is not None else None

    @property
    def kind(self) -> str | None:
        """The kind of server ("mariadb" or "mysql"), once started."""
        return self._binaries.kind if self._binaries is not None else None

    def __repr__(self) -> str:
        where = f"127.0.0.1:{self._address.port}" if self._address else "not started"
        return f"<LocalServer {where} pid={self.pid}>"

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> ServerAddress:
        """Initialise a data directory, start the server and wait until it answers."""
        with self._state.lock:
            if self._state.root is not None:
                raise ServerError("the local server was already started; use restart()")
            binaries = _find_binaries()
            if self._base_dir is not None:
                os.makedirs(self._base_dir, exist_ok=True)
            with interruption.held():  # made and known (cleanup removes it), or not made
                root = Path(tempfile.mkdtemp(prefix="dbbench-server-", dir=self._base_dir))
                self._state.root = root
            self._binaries = binaries
            try:
                (root / "tmp").mkdir()
                unix_socket = self._socket_path(root)
                template = self._datadir_template or _cached_template_or_none()
                if template is None:
                    self._initialise(binaries, root)
                else:
                    shutil.copytree(template, root / "data", symlinks=True)
                last_error: ServerError | None = None
                for _attempt in range(_PORT_ATTEMPTS):
                    port = _free_port()
                    self._address = ServerAddress(
                        host="127.0.0.1",
                        port=port,
                        user=_USER,
                        password=_PASSWORD,
                        database=_DATABASE,
                        unix_socket=str(unix_socket),
                    )
                    try:
                        self._launch_and_wait(log_kept=True)
                    except _BindError as exc:
                        last_error = exc
                        continue
                    self._create_database()
                    return self._address
                assert last_error is not None
                raise last_error
            except ServerError:
                # Keep the (small) logs for debugging, drop the data directory.
                self._state.kill()
                self._state.root = None
                self._address = None
                shutil.rmtree(root / "data", ignore_errors=True)
                shutil.rmtree(root / "tmp", ignore_errors=True)
                self._remove_socket_dir()
                raise
            except BaseException:
                self._state.kill()
                self._state.remove_root()
                self._address = None
                self._remove_socket_dir()
                raise

    def stop(self, timeout_s: float = _STOP_TIMEOUT_S) -> None:
        """Shut the server down (SIGTERM, then SIGKILL after timeout_s); keep its data."""
        with self._state.lock:
            self._state.terminate(timeout_s)

    def kill(self) -> None:
        """SIGKILL the server (for fault tests); keep its data."""
        with self._state.lock:
            self._state.kill()

    def restart(self) -> None:
        """Start the server again on the same port and data directory; wait until ready.

        Stops it first if it is still running.
        """
        with self._state.lock:
            if self._state.root is None or self._address is None:
                raise ServerError("the local server was not started (or was cleaned up)")
            self._state.terminate()
            try:
                self._launch_and_wait(log_kept=False)
            except _BindError:
                raise ServerError(
                    f"cannot restart the local server: port {self._address.port} is now taken "
                    f"by another process (see {self._state.root / 'error.log'})"
                ) from None
            except BaseException:
                self._state.kill()
                raise

    def cleanup(self) -> None:
        """Stop the server if it runs and remove the temporary directory. Idempotent.

        A stop signal meanwhile waits until it is done (``interruption.held``)."""
        with self._state.lock, interruption.held():
            try:
                self._state.terminate()
            finally:
                self._state.remove_root()
                self._remove_socket_dir()

    @staticmethod
    def initialise_template(directory: str | os.PathLike[str]) -> Path:
        """Initialise a data directory in ``directory`` for ``datadir_template``
        and return its path; no server is left running."""
        root = Path(directory)
        (root / "tmp").mkdir(parents=True, exist_ok=True)
        LocalServer._initialise(_find_binaries(), root)
        return root / "data"

    @staticmethod
    def cached_template(cache: str | os.PathLike[str] | None = None) -> Path:
        """The data directory ``start()`` copies by default, initialised on first use.

        It is kept in ``cache`` (default ``cache_dir()``), under a name that
        holds the server's version and the options it was initialised with, so
        an upgraded server gets a template of its own.  Safe under concurrency:
        each process initialises in a directory of its own and renames it into
        place; one that loses the race uses the winner's.
        """
        binaries = _find_binaries()
        cache_path = Path(cache) if cache is not None else cache_dir()
        final = cache_path / f"datadir-{binaries.kind}-{_template_key(binaries)}"
        if not (final / "data").is_dir():
            cache_path.mkdir(parents=True, exist_ok=True)
            building = Path(tempfile.mkdtemp(prefix=".building-", dir=cache_path))
            try:
                LocalServer.initialise_template(building)
                try:
                    building.rename(final)
                except OSError:
                    if not (final / "data").is_dir():  # not another process's, done first
                        raise
            finally:
                shutil.rmtree(building, ignore_errors=True)
        return final / "data"

    def __enter__(self) -> LocalServer:
        try:
            self.start()
        except BaseException:
            self.cleanup()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.cleanup()

    # ----------------------------------------------------------------- internals

    def _socket_path(self, root: Path) -> Path:
        path = root / "mysqld.sock"
        if len(str(path)) <= _MAX_SOCKET_PATH:
            return path
        for parent in (tempfile.gettempdir(), "/tmp"):
            with interruption.held():  # made and known, or not made
                short = Path(tempfile.mkdtemp(prefix="dbbench-", dir=parent))
                if len(str(short / "mysqld.sock")) <= _MAX_SOCKET_PATH:
                    self._socket_dir = short
                    return short / "mysqld.sock"
                short.rmdir()
        raise ServerError(f"cannot start a local server: socket path too long: {path}")

    def _remove_socket_dir(self) -> None:
        socket_dir, self._socket_dir = self._socket_dir, None
        if socket_dir is not None:
            shutil.rmtree(socket_dir, ignore_errors=True)

    @staticmethod
    def _user_args() -> list[str]:
        # As root, the server refuses to start unless told to run as root.
        return ["--user=root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []

    @staticmethod
    def _initialise(binaries: _Binaries, root: Path) -> None:
        datadir = root / "data"
        log = root / "install.log"
        if binaries.kind == "mariadb":
            assert binaries.install_db is not None
            cmd = [
                binaries.install_db,
                "--no-defaults",
                f"--datadir={datadir}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--skip-name-resolve",
                *LocalServer._user_args(),
                *_MARIADB_INNODB_OPTS,
            ]
            # mariadb-install-db finds mariadbd on its own; tell it where ours is if
            # it is not the packaged /usr/sbin/mariadbd (e.g. a /usr/local install).
            server = Path(binaries.server)
            if server.parent.name == "sbin" and str(server.parent.parent) != "/usr":
                cmd.insert(2, f"--basedir={server.parent.parent}")
        else:
            # MySQL creates root@localhost only, which does not match TCP connections
            # from 127.0.0.1 under --skip-name-resolve: add root@127.0.0.1.
            init_sql = root / "init.sql"
            init_sql.write_text(
                "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';\n"
                "GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;\n"
            )
            cmd = [
                binaries.server,
                "--no-defaults",
                "--initialize-insecure",
                f"--datadir={datadir}",
                f"--init-file={init_sql}",
                f"--secure-file-priv={root / 'tmp'}",
                "--innodb-buffer-pool-size=16M",
                *LocalServer._user_args(),
            ]
        with log.open("wb") as out:
            try:
                result = subprocess.run(
                    cmd,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    cwd=root,
                    # A private TMPDIR: bootstraps started at the same moment by
                    # several sessions otherwise collide in /tmp.
                    env={**_server_environment(), "TMPDIR": str(root / "tmp")},
                    timeout=_INSTALL_TIMEOUT_S,
                    start_new_session=True,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                raise ServerError(
                    f"cannot initialise a data directory: {Path(cmd[0]).name} did not finish "
                    f"in {_INSTALL_TIMEOUT_S:.0f} s; see {log}"
                ) from None
            except OSError as exc:
                raise ServerError(f"cannot run {cmd[0]}: {exc.strerror}") from None
        if result.returncode != 0:
            line = _meaningful_line(_read_from(log, 0)) or f"exit status {result.returncode}"
            raise ServerError(
                f"cannot initialise a data directory with {Path(cmd[0]).name}: {line} "
                f"(log kept in {log})"
            )

    def _server_command(self) -> list[str]:
        assert self._binaries is not None and self._address is not None
        root = self._state.root
        assert root is not None
        cmd = [
            self._binaries.server,
            "--no-defaults",
            f"--datadir={root / 'data'}",
            f"--tmpdir={root / 'tmp'}",
            f"--socket={self._address.unix_socket}",
            f"--port={self._address.port}",
            f"--pid-file={root / 'mysqld.pid'}",
            f"--log-error={root / 'error.log'}",
            *self._user_args(),
            *_COMMON_SERVER_OPTS,
        ]
        if self._binaries.kind == "mariadb":
            cmd += [*_MARIADB_INNODB_OPTS, "--loose-feedback=OFF"]
        else:
            cmd += [
                "--innodb-buffer-pool-size=16M",
                "--loose-mysqlx=OFF",  # MySQL 8 would listen on 33060 as well
                f"--secure-file-priv={root / 'tmp'}",
            ]
        cmd += self._extra_args
        return cmd

    def _launch_and_wait(self, *, log_kept: bool) -> None:
        """Start the server on self._address and wait until it answers.

        On failure, raise ServerError naming the error log; log_kept says whether
        start() keeps the log after the failure (restart() leaves that to cleanup()).
        """
        root = self._state.root
        assert root is not None and self._address is not None
        error_log = root / "error.log"
        server_log = root / "server.log"
        error_offset = _file_size(error_log)
        server_offset = _file_size(server_log)
        # A stale socket or pid file from a killed server is harmless, but remove it.
        for stale in (Path(self._address.unix_socket), root / "mysqld.pid"):
            with contextlib.suppress(OSError):
                stale.unlink()
        # held: a signal between the fork and the assignment would leave a server
        # no one knows to stop
        with server_log.open("ab") as out, interruption.held():
            try:
                self._state.proc = subprocess.Popen(
                    self._server_command(),
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    cwd=root,
                    env=_server_environment(),
                    start_new_session=True,
                    preexec_fn=_pdeathsig_preexec(),
                )
            except OSError as exc:
                raise ServerError(
                    f"cannot run {self._binaries.server if self._binaries else 'server'}: "
                    f"{exc.strerror}"
                ) from None

        def failure(reason: str) -> str:
            line = _meaningful_line(new_output())
            detail = f"{reason}: {line}" if line else reason
            where = f"log kept in {error_log}" if log_kept else f"see {error_log}"
            return f"local server on port {self._address.port} {detail} ({where})"

        def new_output() -> str:
            return (
                _read_from(error_log, error_offset) + "\n" + _read_from(server_log, server_offset)
            )

        proc = self._state.proc
        deadline = time.monotonic() + self._startup_timeout_s
        while True:
            code = proc.poll()
            if code is not None:
                self._state.proc = None
                message = failure(f"exited with status {code}")
                if _is_bind_error(new_output()):
                    raise _BindError(message)
                raise ServerError(message)
            if self._ping():
                return
            if time.monotonic() >= deadline:
                self._state.kill()
                raise ServerError(failure(f"did not answer within {self._startup_timeout_s:g} s"))
            time.sleep(_POLL_INTERVAL_S)

    def _connect(self, timeout_s: float = 1.0) -> pymysql.connections.Connection:
        address = self._address
        assert address is not None
        # read_timeout matters: whatever else listens on the port (a lost race for
        # it) may accept the connection and never send a handshake.
        return pymysql.connect(
            host=address.host,
            port=address.port,
            user=address.user,
            password=address.password,
            connect_timeout=timeout_s,
            read_timeout=timeout_s,
            write_timeout=timeout_s,
            ssl_disabled=True,
        )

    def _ping(self) -> bool:
        """True once SELECT 1 works on *our* server; False while it starts up.

        Checks @@datadir: after a lost race for the port, something else (say
        another LocalServer) may answer on it until our server gives up.
        """
        try:
            conn = self._connect()
        except pymysql.err.MySQLError as exc:
            code = exc.args[0] if exc.args else None
            if code not in _LOGIN_REFUSED:
                return False
            # A server is up but will not let root in.  If it is ours, waiting will
            # not help; if ours exits soon, it lost the port to that other server.
            time.sleep(0.2)
            proc = self._state.proc
            if proc is None or proc.poll() is not None:
                return False
            raise ServerError(
                f"local server on port {self.address.port} refused {_USER!r} "
                f"without a password: {exc.args[-1]}"
            ) from None
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT 1, @@datadir")
                row = cur.fetchone()
        except pymysql.err.MySQLError:
            return False
        finally:
            with contextlib.suppress(Exception):
                conn.close()
        root = self._state.root
        assert root is not None
        return row is not None and _same_dir(str(row[1]), root / "data")

    def _create_database(self) -> None:
        try:
            conn = self._connect(timeout_s=30.0)
            try:
                with conn.cursor() as cur:
                    cur.execute(f"CREATE DATABASE IF NOT EXISTS `{_DATABASE}`")
            finally:
                conn.close()
        except pymysql.err.MySQLError as exc:
            raise ServerError(
                f"local server on port {self.address.port}: cannot create database "
                f"{_DATABASE!r}: {exc}"
            ) from None


def cache_dir() -> Path:
    """Where dbbench keeps what it can rebuild: ``$XDG_CACHE_HOME/dbbench``, else
    ``~/.cache/dbbench``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "dbbench"


def _template_key(binaries: _Binaries) -> str:
    """A digest of the server's ``--version`` and what a data directory is initialised with."""
    try:
        version = subprocess.run(
            [binaries.server, "--no-defaults", "--version"],
            capture_output=True,
            env=_server_environment(),
            timeout=30,
            check=False,
        ).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ServerError(f"cannot run {binaries.server} --version: {exc}") from None
    recipe = repr((_TEMPLATE_FORMAT, binaries, _MARIADB_INNODB_OPTS, LocalServer._user_args()))
    return hashlib.sha256(version + recipe.encode()).hexdigest()[:16]


def _cached_template_or_none() -> Path | None:
    """``LocalServer.cached_template()``, or None where the cache cannot be written."""
    try:
        return LocalServer.cached_template()
    except OSError:
        return None


class _BindError(ServerError):
    """The server could not bind its port (another process took it)."""
