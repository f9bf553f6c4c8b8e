"""What every throwaway server process of dbbench's needs, whichever database it runs.

``dbbench.server.local`` (MariaDB/MySQL) and ``dbbench.server.local_postgresql``
start a server binary of their own in a temporary directory; this module holds
what the two do alike, so that each says only what its database does differently:

* ``ServerAddress``: where a server listens and how to log in;
* ``server_environment()``: our environment without what may carry a password
  (a server's environment is readable in ``/proc/PID/environ``) or point a
  server's own programs elsewhere (``PGDATA``, ``PGPORT``, ...);
* ``free_port()``: a TCP port of 127.0.0.1 that was free a moment ago;
* ``pdeathsig_preexec()``: the server gets a signal when this process dies,
  even by SIGKILL (Linux's ``PR_SET_PDEATHSIG``);
* ``ServerProcess``: the running process and its temporary directory, stopped
  and removed by a finalizer that holds no reference to the server object;
* ``short_socket_dir()``: a directory for a Unix socket whose path fits in
  ``sun_path``;
* ``run_as_user()``, ``check_reachable()``, ``give()``: as root, the unprivileged
  user a server that refuses root (PostgreSQL, PgBouncer) runs as, and its files;
* ``cached_directory()``: a directory built once and renamed into a cache,
  safe when several processes build it at once; ``version_digest()``, its name;
* ``meaningful_line()``: the line of a failed server's log that says why;
* ``cache_dir()``, ``read_from()``, ``file_size()``;
* ``ThrowawayServer``: the life of such a server (start on a free port, retried
  when another process takes it; wait until ready; stop, kill, restart, clean
  up, as a context manager), which each database's class fills in.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import hashlib
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from dbbench import interruption
from dbbench.errors import ServerError

if TYPE_CHECKING:
    from dbbench.server.certificates import CertificateFiles

#: Seconds a stop waits after the stop signal before it sends SIGKILL.
STOP_TIMEOUT_S = 20.0
#: Longest Unix socket path we use (sun_path is 108 bytes including the NUL).
MAX_SOCKET_PATH = 100

#: environment variables that may hold a password: never handed to a server
_SECRET_VARIABLES = ("MYSQL_PWD",)
#: ... nor any of dbbench's own, nor libpq's (PGPASSWORD; PGDATA, PGPORT, ... would
#: point PostgreSQL's programs elsewhere; no MariaDB program reads them)
_SECRET_PREFIXES = ("DBBENCH_", "PG")


@dataclass(frozen=True)
class ServerAddress:
    """Where a throwaway server listens and how to log in to it."""

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


#: The unprivileged users a server started by root runs as, the first that exists
#: (Debian/Ubuntu's postgresql and pgbouncer packages create ``postgres``).
RUN_AS_USERS = ("postgres", "nobody")


@dataclass(frozen=True)
class RunAs:
    """The unprivileged user a server runs as when we are root (PostgreSQL and
    PgBouncer refuse to run as root)."""

    name: str
    uid: int
    gid: int

    def popen(self) -> dict[str, object]:
        return {"user": self.uid, "group": self.gid, "extra_groups": []}


def run_as_user(what: str, why: str) -> RunAs | None:
    """Whom a server that refuses root runs as: None (ourselves) unless we are root, else
    the first of ``RUN_AS_USERS`` that exists.  ``what`` names the server in the one-line
    ServerError when none does ("local PostgreSQL"), ``why`` says why it cannot be root."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None
    for name in RUN_AS_USERS:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return RunAs(name, entry.pw_uid, entry.pw_gid)
    raise ServerError(
        f"cannot start a {what} as root ({why}) and "
        f"there is no {' or '.join(RUN_AS_USERS)} user to run it as; create one: "
        "useradd --system postgres"
    )


def check_reachable(root: Path, run_as: RunAs, what: str, why: str) -> None:
    """Refuse, in one line, a temporary directory ``run_as`` cannot reach (a 0700 parent)."""
    for directory in root.parents:
        try:
            st = directory.stat()
        except OSError:
            continue
        if st.st_uid == run_as.uid:
            allowed = st.st_mode & stat.S_IXUSR
        elif st.st_gid == run_as.gid:
            allowed = st.st_mode & stat.S_IXGRP
        else:
            allowed = st.st_mode & stat.S_IXOTH
        if not allowed:
            raise ServerError(
                f"cannot start a {what} in {root}: the user it runs as ({run_as.name}; "
                f"{why}) cannot enter {directory} "
                f"(mode {stat.S_IMODE(st.st_mode):o}); set TMPDIR to a directory it can reach, "
                "such as /tmp"
            )


def give(path: Path, run_as: RunAs | None) -> None:
    """Make ``path`` and everything in it ``run_as``'s (nothing to do when that is us)."""
    if run_as is None:
        return
    os.chown(path, run_as.uid, run_as.gid, follow_symlinks=False)
    for top, dirs, files in os.walk(path):
        for name in (*dirs, *files):
            os.chown(os.path.join(top, name), run_as.uid, run_as.gid, follow_symlinks=False)


def version_digest(version_command: Sequence[str], recipe: object) -> str:
    """A digest of a server's ``--version`` output and ``recipe`` (what its data directory
    is initialised with): the name of a cached template."""
    try:
        version = subprocess.run(
            list(version_command),
            capture_output=True,
            env=server_environment(),
            timeout=30,
            check=False,
        ).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ServerError(f"cannot run {' '.join(version_command)}: {exc}") from None
    return hashlib.sha256(version + repr(recipe).encode()).hexdigest()[:16]


def server_environment() -> dict[str, str]:
    """Our environment without anything that may carry a password (/proc/PID/environ)."""
    return {
        name: value
        for name, value in os.environ.items()
        if name not in _SECRET_VARIABLES and not name.startswith(_SECRET_PREFIXES)
    }


def free_port(forbidden: Collection[int] = ()) -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (never one of ``forbidden``)."""
    for _ in range(20):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in forbidden:
            return port
    raise ServerError("cannot start a local server: no free TCP port found on 127.0.0.1")


def read_from(path: Path, offset: int) -> str:
    """The text of ``path`` from byte ``offset`` on ('' if it cannot be read)."""
    try:
        with path.open("rb") as fh:
            fh.seek(offset)
            return fh.read().decode("utf-8", "replace")
    except OSError:
        return ""


def meaningful_line(text: str, severe: Callable[[str], object], prefix: re.Pattern[str]) -> str:
    """The line of a server's log that best says why it failed: the first that ``severe``
    accepts (the cause; the lines after it are usually its consequences), else the last
    non-empty one; without its ``prefix`` (a timestamp), at most 300 characters."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    chosen = next((line for line in lines if severe(line)), lines[-1] if lines else "")
    return prefix.sub("", chosen)[:300]


def file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def cache_dir() -> Path:
    """Where dbbench keeps what it can rebuild: ``$XDG_CACHE_HOME/dbbench``, else
    ``~/.cache/dbbench``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "dbbench"


def cached_directory(final: Path, build: Callable[[Path], None], marker: str = "data") -> Path:
    """``final``, built by ``build(directory)`` into a new directory and renamed into
    place unless ``final/marker`` is there already.  Safe under concurrency: each
    process builds in a directory of its own; one that loses the race uses the winner's."""
    if (final / marker).is_dir():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=".building-", dir=final.parent))
    try:
        build(building)
        try:
            building.rename(final)
        except OSError:
            if not (final / marker).is_dir():  # not another process's, done first
                raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return final


def short_socket_dir(name: str) -> Path:
    """A new directory (made under ``interruption.held``) short enough for a socket
    ``name`` in it, for when the temporary directory's own path is too long for ``sun_path``."""
    for parent in (tempfile.gettempdir(), "/tmp"):
        with interruption.held():  # made and known, or not made
            short = Path(tempfile.mkdtemp(prefix="dbbench-", dir=parent))
            if len(str(short / name)) <= MAX_SOCKET_PATH:
                return short
            short.rmdir()
    raise ServerError("cannot start a local server: no directory short enough for a Unix socket")


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


def pdeathsig_preexec(signum: int = signal.SIGKILL):
    """A preexec_fn that makes the server get ``signum`` when its parent dies, or None.

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
    * The kernel clears the setting when the process's user changes; Popen's
      ``user=`` takes effect before preexec_fn runs, so a server run as another
      user keeps it.
    """
    if _PRCTL is None or threading.current_thread() is not threading.main_thread():
        return None
    prctl = _PRCTL
    parent = os.getpid()
    signum = int(signum)

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), signum)

    return preexec


class ServerProcess:
    """A server's process and temporary directory: what a finalizer needs to clean up,
    holding no reference to the server object.

    ``stop_signal`` is the server's clean, prompt shutdown (MariaDB's SIGTERM;
    PostgreSQL's fast shutdown is SIGINT, its SIGTERM waits for every client)."""

    def __init__(self, stop_signal: int = signal.SIGTERM) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.root: Path | None = None
        self.lock = threading.RLock()
        self.stop_signal = stop_signal

    def terminate(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(self.stop_signal)
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


class BindError(ServerError):
    """The server could not bind its port (another process took it)."""


#: How many fresh ports start() tries when the server cannot bind its port.
PORT_ATTEMPTS = 3
POLL_INTERVAL_S = 0.05


class ThrowawayServer:
    """The life of a throwaway server, whichever database: what ``LocalServer``
    (MariaDB/MySQL) and ``LocalPostgreSQLServer`` share.

    A subclass says what its database does differently, in these steps:

    * ``_find()``: find the binaries (ServerError, one line, if missing), before
      any directory is made;
    * ``_prepare(root)``: fill the new temporary directory (a data directory:
      initialised, or the template copied);
    * ``_address_for(port)``: the ``ServerAddress`` of a server on ``port``;
    * ``_server_command()``: the server's command line for ``self._address``;
    * ``_ready()``: whether the started server is ready (may raise ServerError
      when waiting cannot help);
    * ``_started()``: what to do once it is (say, create a database);
    * ``_meaningful_line(text)``, ``_is_bind_error(text)``: reading its logs;

    and in attributes: ``_what`` (how messages name it), ``_prefix`` (of the
    temporary directory), ``_log_names`` (the logs a failure is read from, the
    first one named in messages; the server's stdout and stderr go to
    ``server.log``), ``_dropped_on_failure`` (what a failed start removes; the
    logs are kept), ``_forbidden_ports``, ``_stop_signal`` (its clean, prompt
    shutdown), ``_death_signal`` (what the server gets when we die), and
    ``_why_not_root`` (set for a server that refuses to run as root: why, in its
    messages; as root it then runs as ``run_as_user()``'s user, found by
    ``_find_run_as()``, its directory checked and its socket placed by ``_place_socket()``).
    """

    _what = "local server"
    _prefix = "dbbench-server-"
    _log_names: tuple[str, ...] = ("server.log",)
    _dropped_on_failure: tuple[str, ...] = ("data",)
    _forbidden_ports: frozenset[int] = frozenset()
    _death_signal: int = signal.SIGKILL

    _stop_signal: int = signal.SIGTERM
    _why_not_root: str | None = None
    _run_as: RunAs | None = None
    #: the directory of the Unix socket (the temporary directory, or a short one)
    _socket_parent: Path | None = None

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
        self._extra_args = tuple(extra_args)
        self._datadir_template = Path(datadir_template) if datadir_template is not None else None
        self.tls = tls
        self._address: ServerAddress | None = None
        self._socket_dir: Path | None = None  # a separate short dir, when needed
        self._state = ServerProcess(self._stop_signal)
        self._finalizer = weakref.finalize(self, ServerProcess.finalize, self._state)

    # ----------------------------------------------------------------- properties

    @property
    def address(self) -> ServerAddress:
        if self._address is None:
            raise ServerError(f"the {self._what} has not been started")
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
        return root / self._log_names[0] if root is not None else None

    @property
    def socket_dir(self) -> Path | None:
        """The directory of the Unix socket: libpq's ``host`` for a socket connection."""
        if self._address is None or self._address.unix_socket is None:
            return None
        return Path(self._address.unix_socket).parent

    @property
    def run_as(self) -> str | None:
        """The user the server runs as when we are root, else None (ourselves)."""
        return self._run_as.name if self._run_as is not None else None

    def __repr__(self) -> str:
        where = f"127.0.0.1:{self._address.port}" if self._address else "not started"
        return f"<{type(self).__name__} {where} pid={self.pid}>"

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> ServerAddress:
        """Initialise a data directory, start the server and wait until it answers."""
        with self._state.lock:
            if self._state.root is not None:
                raise ServerError(f"the {self._what} was already started; use restart()")
            self._find()
            if self._base_dir is not None:
                os.makedirs(self._base_dir, exist_ok=True)
            with interruption.held():  # made and known (cleanup removes it), or not made
                root = Path(tempfile.mkdtemp(prefix=self._prefix, dir=self._base_dir))
                self._state.root = root
            try:
                self._prepare(root)
                last_error: ServerError | None = None
                for _attempt in range(PORT_ATTEMPTS):
                    self._address = self._address_for(free_port(self._forbidden_ports))
                    try:
                        self._launch_and_wait(log_kept=True)
                    except BindError as exc:
                        last_error = exc
                        continue
                    self._started()
                    return self._address
                assert last_error is not None
                raise last_error
            except ServerError:
                # Keep the (small) logs for debugging, drop the data directory.
                self._state.kill()
                self._state.root = None
                self._address = None
                for name in self._dropped_on_failure:
                    shutil.rmtree(root / name, ignore_errors=True)
                self._remove_socket_dir()
                raise
            except BaseException:
                self._state.kill()
                self._state.remove_root()
                self._address = None
                self._remove_socket_dir()
                raise

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Shut the server down (its clean shutdown, then SIGKILL after timeout_s); keep
        its data."""
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
                raise ServerError(f"the {self._what} was not started (or was cleaned up)")
            self._state.terminate()
            try:
                self._launch_and_wait(log_kept=False)
            except BindError:
                raise ServerError(
                    f"cannot restart the {self._what}: port {self._address.port} is now taken "
                    f"by another process (see {self.error_log})"
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

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.cleanup()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.cleanup()

    # ----------------------------------------------------------------- steps

    def _find(self) -> None:
        raise NotImplementedError

    def _prepare(self, root: Path) -> None:
        raise NotImplementedError

    def _address_for(self, port: int) -> ServerAddress:
        raise NotImplementedError

    def _server_command(self) -> list[str]:
        raise NotImplementedError

    def _ready(self) -> bool:
        raise NotImplementedError

    def _started(self) -> None:
        """Nothing, unless a subclass has more to do once the server is ready."""

    def _before_launch(self) -> None:
        """Nothing, unless a subclass removes what a killed server left (a socket)."""

    def _meaningful_line(self, text: str) -> str:
        raise NotImplementedError

    def _is_bind_error(self, text: str) -> bool:
        raise NotImplementedError

    def _popen_user(self) -> dict[str, Any]:
        return self._run_as.popen() if self._run_as is not None else {}

    def _find_run_as(self) -> None:
        """Whom a server that refuses root runs as (``_why_not_root``): None unless we are root."""
        if self._why_not_root is not None:
            self._run_as = run_as_user(self._what, self._why_not_root)

    def _place_socket(self, root: Path, longest: str) -> None:
        """Check that the server's user can reach ``root``; put the Unix socket (whose
        longest name is ``longest``) in it, or in a short directory of its own (that
        user's) when the path would be too long for ``sun_path``."""
        run_as = self._run_as
        if run_as is not None:
            assert self._why_not_root is not None
            check_reachable(root, run_as, self._what, self._why_not_root)
        if len(str(root / longest)) <= MAX_SOCKET_PATH:
            self._socket_parent = root
        else:
            self._socket_dir = self._socket_parent = short_socket_dir(longest)
            give(self._socket_dir, run_as)

    # ----------------------------------------------------------------- internals

    def _remove_socket_dir(self) -> None:
        socket_dir, self._socket_dir = self._socket_dir, None
        if socket_dir is not None:
            shutil.rmtree(socket_dir, ignore_errors=True)

    def _launch_and_wait(self, *, log_kept: bool) -> None:
        """Start the server on self._address and wait until it is ready.

        On failure, raise ServerError naming the log; log_kept says whether start()
        keeps the log after the failure (restart() leaves that to cleanup()).
        """
        root = self._state.root
        assert root is not None and self._address is not None
        logs = [root / name for name in self._log_names]
        offsets = [file_size(path) for path in logs]
        self._before_launch()
        command = self._server_command()
        # held: a signal between the fork and the assignment would leave a server
        # no one knows to stop
        with (root / "server.log").open("ab") as out, interruption.held():
            try:
                self._state.proc = subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    cwd=root,
                    env=server_environment(),
                    start_new_session=True,
                    preexec_fn=pdeathsig_preexec(self._death_signal),
                    **self._popen_user(),
                )
            except OSError as exc:
                raise ServerError(f"cannot run {command[0]}: {exc.strerror}") from None

        def new_output() -> str:
            pairs = zip(logs, offsets, strict=True)
            return "\n".join(read_from(path, offset) for path, offset in pairs)

        def failure(reason: str) -> str:
            line = self._meaningful_line(new_output())
            detail = f"{reason}: {line}" if line else reason
            where = f"log kept in {logs[0]}" if log_kept else f"see {logs[0]}"
            return f"{self._what} on port {self._address.port} {detail} ({where})"

        proc = self._state.proc
        deadline = time.monotonic() + self._startup_timeout_s
        while True:
            code = proc.poll()
            if code is not None:
                self._state.proc = None
                message = failure(f"exited with status {code}")
                if self._is_bind_error(new_output()):
                    raise BindError(message)
                raise ServerError(message)
            if self._ready():
                return
            if time.monotonic() >= deadline:
                self._state.kill()
                raise ServerError(failure(f"did not answer within {self._startup_timeout_s:g} s"))
            time.sleep(POLL_INTERVAL_S)
