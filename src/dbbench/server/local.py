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
it dies if this Python process is killed with SIGKILL (see
``dbbench.server.process.pdeathsig_preexec``).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pymysql

from dbbench.errors import ServerError
from dbbench.server.process import (
    MAX_SOCKET_PATH,
    ServerAddress,
    ThrowawayServer,
    cache_dir,
    cached_directory,
    meaningful_line,
    read_from,
    server_environment,
    short_socket_dir,
    version_digest,
)

__all__ = ["LocalServer", "ServerAddress", "find_server_kind", "refuses_connections"]

#: Extra directories searched after PATH: an ordinary user's PATH often lacks them.
_EXTRA_DIRS = ("/usr/sbin", "/usr/local/sbin")
#: Ports we never use: the usual server port and MySQL's X protocol port.
_FORBIDDEN_PORTS = frozenset({3306, 33060})
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
    return meaningful_line(text, _is_cause, _TIMESTAMP)


def _is_cause(line: str) -> bool:
    return "[ERROR]" in line and not _BOILERPLATE.search(line)


def _same_dir(a: str, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _is_bind_error(text: str) -> bool:
    return "Address already in use" in text or "Bind on TCP/IP port" in text


# --------------------------------------------------------------------------- the server


class LocalServer(ThrowawayServer):
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

    _what = "local server"
    _prefix = "dbbench-server-"
    _log_names = ("error.log", "server.log")
    _dropped_on_failure = ("data", "tmp")
    _forbidden_ports = _FORBIDDEN_PORTS

    _binaries: _Binaries | None = None
    _unix_socket: Path | None = None

    @property
    def kind(self) -> str | None:
        """The kind of server ("mariadb" or "mysql"), once started."""
        return self._binaries.kind if self._binaries is not None else None

    # ----------------------------------------------------------------- steps

    def _find(self) -> None:
        self._binaries = _find_binaries()

    def _prepare(self, root: Path) -> None:
        (root / "tmp").mkdir()
        self._unix_socket = self._socket_path(root)
        template = self._datadir_template or _cached_template_or_none()
        assert self._binaries is not None
        if template is None:
            self._initialise(self._binaries, root)
        else:
            shutil.copytree(template, root / "data", symlinks=True)

    def _address_for(self, port: int) -> ServerAddress:
        return ServerAddress(
            host="127.0.0.1",
            port=port,
            user=_USER,
            password=_PASSWORD,
            database=_DATABASE,
            unix_socket=str(self._unix_socket),
        )

    def _started(self) -> None:
        self._create_database()

    def _before_launch(self) -> None:
        # A stale socket or pid file from a killed server is harmless, but remove it.
        root = self._state.root
        assert root is not None and self._address is not None
        for stale in (Path(self._address.unix_socket), root / "mysqld.pid"):
            with contextlib.suppress(OSError):
                stale.unlink()

    def _ready(self) -> bool:
        return self._ping()

    def _meaningful_line(self, text: str) -> str:
        return _meaningful_line(text)

    def _is_bind_error(self, text: str) -> bool:
        return _is_bind_error(text)

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
        cached_directory(final, LocalServer.initialise_template)
        return final / "data"

    # ----------------------------------------------------------------- internals

    def _socket_path(self, root: Path) -> Path:
        path = root / "mysqld.sock"
        if len(str(path)) <= MAX_SOCKET_PATH:
            return path
        self._socket_dir = short_socket_dir("mysqld.sock")
        return self._socket_dir / "mysqld.sock"

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
                    env={**server_environment(), "TMPDIR": str(root / "tmp")},
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
            line = _meaningful_line(read_from(log, 0)) or f"exit status {result.returncode}"
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
        if self.tls is not None:
            tls = self.tls
            cmd += [
                f"--ssl-ca={tls.ca}", f"--ssl-cert={tls.server_cert}", f"--ssl-key={tls.server_key}"
            ]  # fmt: skip
        cmd += self._extra_args
        return cmd

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


def _template_key(binaries: _Binaries) -> str:
    """A digest of the server's ``--version`` and what a data directory is initialised with."""
    recipe = (_TEMPLATE_FORMAT, binaries, _MARIADB_INNODB_OPTS, LocalServer._user_args())
    return version_digest([binaries.server, "--no-defaults", "--version"], recipe)


def _cached_template_or_none() -> Path | None:
    """``LocalServer.cached_template()``, or None where the cache cannot be written."""
    try:
        return LocalServer.cached_template()
    except OSError:
        return None
