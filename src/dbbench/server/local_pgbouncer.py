"""A throwaway, private PgBouncer in front of a PostgreSQL server: the server-side pooler
issue 14 sets beside the application's own pool, and the tests' view of it.

``LocalPgBouncer(backend)`` is a ``dbbench.server.process.ThrowawayServer`` (a context
manager; ``start``, ``stop``, ``kill``, ``restart``, ``cleanup``) for PgBouncer, the
PostgreSQL server it pools being ``backend`` (a ``ServerAddress``: host, or a Unix
socket directory as libpq's ``host``; port; user; database).  It finds ``pgbouncer`` on
``PATH`` or else in ``/usr/sbin`` (Debian's package puts it there; ``scripts/ensure-pgbouncer``
installs it), writes its configuration into a new temporary directory and starts it
in the foreground on a free TCP port of 127.0.0.1 (never 6432, the packaged service's)::

    pgbouncer DIR/pgbouncer.ini

Nothing is read from ``/etc/pgbouncer``.  Layout of the temporary directory::

    pgbouncer.ini    the configuration (below)
    userlist.txt     the auth_file: the backend's user, with no password
    pgbouncer.pid    written by PgBouncer itself, removed at its clean exit
    server.log       its stderr: its log (no logfile is set)
    .s.PGSQL.PORT    its Unix socket (in a short temp dir if this path would be too long)

**One process, both pool modes.**  ``[databases]`` holds one alias per pool mode, each
with its own ``pool_mode=``, all pointing at the backend's database::

    test_session     = host=... port=... dbname=test user=root pool_mode=session
    test_transaction = host=... port=... dbname=test user=root pool_mode=transaction

(``<database>_<mode>``: ``address_for("transaction")``).  PgBouncer keeps a pool per
(database, user) and ``SHOW POOLS`` / ``SHOW STATS`` a row per database, so the two
modes' pools and counters stay apart in one process just as in two, at one start, one
port and one admin console; the measurements run one mode at a time, so they never
share PgBouncer's single thread.  Two processes would double all that for nothing a
run can see.  With ``pool_names``, each mode has a pool of each name too
(``<database>_<mode>_<name>``): dbbench gives each runner its own (``scenarios.pooler``),
so that runners interleaved in one run share no server connection and each pool's
counters are one runner's.  ``pool_size`` (``default_pool_size``) bounds each pool's
server connections, ``max_client_conn`` the clients of all pools together.

**Authentication.**  ``auth_type = trust``: the backend is a trust server (the throwaway
PostgreSQL's), and PgBouncer still admits only the users its ``auth_file`` lists, here
the backend's user, which is also ``admin_users``: the admin console (database
``pgbouncer``: ``SHOW POOLS``, ``SHOW STATS``, ``SHOW SERVERS``, ``SHOW CLIENTS``; read
by ``dbbench.databases.pgbouncer_status``) takes the same login as the pools.  A backend
with a password is refused in one line: PgBouncer would need it in a file, and dbbench
writes no password to any.

**Settings.**  ``stats_period = 1`` (the ``avg_*`` figures are a second's, not a minute's),
``log_connections = 0`` and ``log_disconnections = 0`` (a benchmark's thousands of
connects would otherwise each be a log line written by the thread that serves them),
``server_login_retry = 1`` (not 15 s of refusals after one failed login to the backend),
``ignore_startup_parameters = extra_float_digits`` (which some drivers send and PgBouncer
would refuse); ``settings`` adds to or overrides these.

**Root.**  PgBouncer refuses to run as root ("PgBouncer should not run as root"); as for
PostgreSQL (``dbbench.server.local_postgresql``), when dbbench runs as root it runs as the
``postgres`` system user (Debian's pgbouncer package runs its service as that user too),
else ``nobody``, through ``subprocess.Popen(user=..., group=..., extra_groups=[])``, with
the temporary directory given to that user, which must be able to enter every directory
above it: ``ThrowawayServer._find_run_as`` and ``_place_socket``, shared with PostgreSQL.
Not PgBouncer's own ``-u USER``: that switches user after start-up, its files made as root.

**Ready.**  PgBouncer does not exit when it cannot bind its TCP port: it logs ``WARNING
cannot listen on 127.0.0.1:PORT: bind(): Address already in use`` and serves its Unix
socket alone, so a connection to the port would reach whoever took it.  It is ready when
its own log (lines with its pid) says ``listening on 127.0.0.1:PORT`` and then the admin
console on that port answers ``SHOW VERSION`` (a few bytes of the simple query protocol
spoken here: psycopg is an extra, and the start needs no driver).  A ``cannot listen``
line is a port lost between ``free_port()`` and the bind: the process is ended and the
start retried on a fresh port.  A start that fails is one line: PgBouncer missing, or its
log's first ERROR or FATAL line ("invalid value ... for parameter ...").

**Stop.**  ``stop()`` asks for an immediate shutdown, open client and server connections
closed: SIGTERM up to PgBouncer 1.22, SIGQUIT from 1.23, where SIGTERM became a "super safe
shutdown" that waits for every client to leave (and SIGQUIT, before 1.23, is not handled);
the version is read from ``pgbouncer --version``.  The same signal is its parent-death
signal (``PR_SET_PDEATHSIG``): if dbbench is SIGKILLed, PgBouncer exits too, removing its
socket and pid file (the temporary directory is left, as for the servers).  ``cleanup()``
(``__exit__``, and on KeyboardInterrupt, SIGTERM, SIGHUP through ``dbbench.interruption``)
stops it and removes the temporary directory; a forgotten one is stopped at garbage
collection or interpreter exit.

**Process code.**  ``dbbench.server.process.ThrowawayServer``, as for PostgreSQL and
MariaDB, not mirakuru, for PostgreSQL's reasons and one of PgBouncer's own: mirakuru's
``TCPExecutor`` waits for the port to accept, which here a stranger's listener on the
lost port does while our PgBouncer serves only its socket; its ``OutputExecutor`` waits
for a line on stdout, and the readiness wanted is "our log says we listen on the port and
the console there answers".  Nor does it run a process as another user, set a parent-death
signal, or follow dbbench's signal rules (``interruption.held`` around start and stop).
The ``pgbouncer`` package on PyPI (a test fixture) is mirakuru's executors with a
configuration of its own, so it has the same gaps.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import struct
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from dbbench.errors import ServerError
from dbbench.server.process import (
    BindError,
    ServerAddress,
    ThrowawayServer,
    file_size,
    give,
    meaningful_line,
    read_from,
    server_environment,
)

__all__ = ["ADMIN_DATABASE", "POOL_MODES", "LocalPgBouncer", "find_pgbouncer"]

#: Searched after PATH: Debian/Ubuntu's package installs it here, off a user's PATH.
_SEARCH_DIRS = ("/usr/sbin", "/usr/local/sbin")
#: The packaged service's port, and the servers' usual ones: never ours.
_FORBIDDEN_PORTS = frozenset({6432, 5432, 3306, 33060})
_WHAT = "local PgBouncer"
_WHY_NOT_ROOT = "PgBouncer refuses to run as root"
#: PgBouncer's pool modes, and its admin console's database.
POOL_MODES = ("session", "transaction", "statement")
ADMIN_DATABASE = "pgbouncer"
#: From this version SIGTERM waits for every client; SIGQUIT is the immediate shutdown.
_SIGQUIT_SINCE = (1, 23)
#: What a name in pgbouncer.ini or its auth_file may hold, unquoted (host: a socket path too).
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_.-]+")
_PLAIN_HOST = re.compile(r"[A-Za-z0-9_.:/-]+")
_SETTING_NAME = re.compile(r"[a-z_]+")

#: Our [pgbouncer] settings; ``settings`` adds to or overrides them.
_SETTINGS: dict[str, str] = {
    "auth_type": "trust",
    "pool_mode": "session",
    "stats_period": "1",
    "log_connections": "0",
    "log_disconnections": "0",
    "server_login_retry": "1",
    "ignore_startup_parameters": "extra_float_digits",
}
#: what a pool's own name may hold (``pool_names``): it is part of a database alias
_POOL_NAME = re.compile(r"[A-Za-z0-9_]{1,40}")
#: PgBouncer's own default_pool_size; max_client_conn higher than its 100, for many clients.
DEFAULT_POOL_SIZE = 20
DEFAULT_MAX_CLIENT_CONN = 500
_CONSOLE_TIMEOUT_S = 2.0


def find_pgbouncer() -> str:
    """The ``pgbouncer`` binary: PATH's, else ``/usr/sbin``'s.  ServerError, one line,
    when there is none."""
    found = shutil.which("pgbouncer")
    if found:
        return found
    for directory in _SEARCH_DIRS:
        path = Path(directory) / "pgbouncer"
        if path.is_file() and shutil.which(str(path)):
            return str(path)
    raise ServerError(
        f"cannot start a {_WHAT}: pgbouncer not found on PATH or in {', '.join(_SEARCH_DIRS)}; "
        "install it with: apt-get install pgbouncer (or scripts/ensure-pgbouncer)"
    )


def pgbouncer_version(binary: str) -> tuple[int, ...]:
    """``pgbouncer --version``'s "PgBouncer 1.18.0" as (1, 18, 0); () when unreadable."""
    try:
        out = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=30,
            env=server_environment(), check=False,
        ).stdout  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ServerError(f"cannot run {binary} --version: {exc}") from None
    match = re.search(r"PgBouncer (\d+(?:\.\d+)*)", out)
    return tuple(int(part) for part in match.group(1).split(".")) if match else ()


def stop_signal_for(version: Sequence[int]) -> int:
    """The immediate shutdown of that PgBouncer version (SIGQUIT from 1.23, else SIGTERM)."""
    return signal.SIGQUIT if tuple(version) >= _SIGQUIT_SINCE else signal.SIGTERM


# --------------------------------------------------------------------------- logs

#: "2026-12-03 18:02:25.604 UTC [5323] "
_LOG_PREFIX = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? \S+ \[(\d+)\] ")
_SEVERE = re.compile(r"\] (?:FATAL|ERROR) ")


def _meaningful_line(text: str) -> str:
    """The log line that best says why PgBouncer failed: the first ERROR or FATAL one (a
    FATAL "cannot load config file" follows the ERROR naming the setting), else the last."""
    return meaningful_line(text, _SEVERE.search, _LOG_PREFIX)


def _is_bind_error(text: str) -> bool:
    return "cannot listen on" in text or "Address already in use" in text


def _own_lines(text: str, pid: int) -> list[str]:
    """The lines of the log that process ``pid`` wrote, without their prefix."""
    own = []
    for line in text.splitlines():
        match = _LOG_PREFIX.match(line)
        if match and int(match.group(1)) == pid:
            own.append(line[match.end() :])
    return own


# --------------------------------------------------------------------------- the console


def _message(sock: socket.socket) -> tuple[bytes, bytes]:
    """One backend message: (type byte, body)."""
    head = _receive(sock, 5)
    (length,) = struct.unpack("!I", head[1:])
    return head[:1], _receive(sock, length - 4)


def _receive(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the connection was closed")
        data += chunk
    return data


def _error_text(body: bytes) -> str:
    """The ErrorResponse's message field (M)."""
    for field in body.split(b"\0"):
        if field[:1] == b"M":
            return field[1:].decode("utf-8", "replace")
    return "error"


def console_version(host: str, port: int, user: str, timeout_s: float = _CONSOLE_TIMEOUT_S) -> str:
    """``SHOW VERSION`` on the admin console at host:port, in the simple query protocol
    (startup, trust's AuthenticationOk, one Query), with no driver.  OSError when nothing
    answers there; ServerError, one line, when PgBouncer refuses the login or the query."""
    with socket.create_connection((host, port), timeout=timeout_s) as sock:
        params = b"user\0" + user.encode() + b"\0database\0" + ADMIN_DATABASE.encode() + b"\0\0"
        sock.sendall(struct.pack("!II", 8 + len(params), 196608) + params)
        sent_query = False
        version = ""
        while True:
            kind, body = _message(sock)
            if kind == b"E":
                raise ServerError(f"the {_WHAT}'s admin console refused: {_error_text(body)}")
            if kind == b"R" and body[:4] != b"\0\0\0\0":
                raise ServerError(f"the {_WHAT}'s admin console asks for a password")
            if kind == b"D":  # DataRow: int16 count, then int32 length and the value
                (length,) = struct.unpack("!i", body[2:6])
                version = body[6 : 6 + length].decode("utf-8", "replace")
            if kind == b"Z":  # ReadyForQuery
                if sent_query:
                    sock.sendall(b"X\0\0\0\4")  # Terminate
                    return version
                query = b"SHOW VERSION\0"
                sock.sendall(b"Q" + struct.pack("!I", 4 + len(query)) + query)
                sent_query = True


# --------------------------------------------------------------------------- the pooler


class LocalPgBouncer(ThrowawayServer):
    """A private PgBouncer in a temporary directory, in front of ``backend``.

    Use as a context manager::

        with LocalPgBouncer(postgresql.address, pool_size=4) as bouncer:
            a = bouncer.address_for("transaction")
            psycopg.connect(host=a.host, port=a.port, user=a.user, dbname=a.database)

    ``address`` is the first pool mode's (session, by default), ``admin_address`` the
    admin console's (database ``pgbouncer``).  ``pool_modes`` are the aliases made, one
    per mode; ``pool_size`` is each pool's ``default_pool_size``; ``settings`` go into
    ``[pgbouncer]`` after ours (``{"server_reset_query": ""}``).  ``stop()`` shuts it down
    at once, ``kill()`` SIGKILLs it, ``restart()`` starts it again on the same port, and
    ``cleanup()`` stops it and removes the temporary directory.
    """

    _what = _WHAT
    _prefix = "dbbench-pgbouncer-"
    _log_names = ("server.log",)
    _dropped_on_failure = ()
    _forbidden_ports = _FORBIDDEN_PORTS

    _why_not_root = _WHY_NOT_ROOT
    _binary: str | None = None
    _version: tuple[int, ...] = ()

    def __init__(
        self,
        backend: ServerAddress,
        *,
        pool_modes: Sequence[str] = ("session", "transaction"),
        pool_size: int = DEFAULT_POOL_SIZE,
        max_client_conn: int = DEFAULT_MAX_CLIENT_CONN,
        pool_names: Sequence[str] = (),
        settings: Mapping[str, str | int] | None = None,
        base_dir: str | os.PathLike[str] | None = None,
        startup_timeout_s: float = 30.0,
    ) -> None:
        if isinstance(pool_modes, str):
            raise TypeError("pool_modes must be a sequence of strings, not a string")
        unknown = [mode for mode in pool_modes if mode not in POOL_MODES]
        if unknown or not pool_modes:
            raise ValueError(f"pool_modes must be some of {POOL_MODES}, got {tuple(pool_modes)}")
        if pool_size < 1 or max_client_conn < 1:
            raise ValueError("pool_size and max_client_conn must be at least 1")
        if isinstance(pool_names, str):
            raise TypeError("pool_names must be a sequence of strings, not a string")
        bad = [name for name in pool_names if not _POOL_NAME.fullmatch(name)]
        if bad:
            raise ValueError(f"pool names are letters, digits and _ only, got {bad}")
        extra = {str(k): str(v) for k, v in (settings or {}).items()}
        for name, value in extra.items():
            if not _SETTING_NAME.fullmatch(name) or any(c in value for c in "\r\n"):
                raise ValueError(f"not a PgBouncer setting: {name!r} = {value!r}")
        super().__init__(base_dir=base_dir, startup_timeout_s=startup_timeout_s)
        self.backend = backend
        self.pool_modes = tuple(dict.fromkeys(pool_modes))
        self.pool_size = pool_size
        self.max_client_conn = max_client_conn
        self.pool_names = tuple(dict.fromkeys(pool_names))
        self._settings = extra
        self._log_offset = 0

    # ----------------------------------------------------------------- properties

    def database_for(self, pool_mode: str, name: str | None = None) -> str:
        """The alias of the backend's database whose pool has ``pool_mode``; with ``name``
        (one of ``pool_names``), that pool's own of that mode."""
        if pool_mode not in self.pool_modes:
            raise ValueError(f"this PgBouncer has no {pool_mode} pool (it has {self.pool_modes})")
        if name is None:
            return f"{self.backend.database}_{pool_mode}"
        if name not in self.pool_names:
            raise ValueError(f"this PgBouncer has no pool named {name!r} ({self.pool_names})")
        return f"{self.backend.database}_{pool_mode}_{name}"

    def address_for(self, pool_mode: str, name: str | None = None) -> ServerAddress:
        """Where a client connects to the ``pool_mode`` pool (of ``name``: ``database_for``)
        (host 127.0.0.1; ``unix_socket`` too, whose directory is libpq's ``host``)."""
        return self._at(self.database_for(pool_mode, name))

    @property
    def admin_address(self) -> ServerAddress:
        """The admin console: database ``pgbouncer``, the backend's user (``admin_users``)."""
        return self._at(ADMIN_DATABASE)

    @property
    def version(self) -> tuple[int, ...]:
        """PgBouncer's version, (1, 18, 0), once started."""
        return self._version

    def _at(self, database: str) -> ServerAddress:
        address = self.address
        return ServerAddress(
            host=address.host,
            port=address.port,
            user=address.user,
            password="",
            database=database,
            unix_socket=address.unix_socket,
        )

    # ----------------------------------------------------------------- steps

    def _find(self) -> None:
        backend = self.backend
        if backend.password:
            raise ServerError(
                f"cannot start a {_WHAT} in front of a server with a password: PgBouncer "
                "would need it in its auth_file, and dbbench writes no password to a file"
            )
        for what, value, pattern in (
            ("host", backend.host, _PLAIN_HOST),
            ("user", backend.user, _PLAIN_NAME),
            ("database", backend.database, _PLAIN_NAME),
        ):
            if not pattern.fullmatch(value):
                raise ServerError(
                    f"cannot start a {_WHAT} in front of {what} {value!r}: only letters, "
                    "digits and _ . - are written unquoted into pgbouncer.ini"
                )
        self._binary = find_pgbouncer()
        self._version = pgbouncer_version(self._binary)
        self._state.stop_signal = stop_signal_for(self._version)
        self._death_signal = self._state.stop_signal
        self._find_run_as()

    def _prepare(self, root: Path) -> None:
        self._place_socket(root, ".s.PGSQL.65535")
        (root / "userlist.txt").write_text(f'"{self.backend.user}" ""\n')
        give(root, self._run_as)

    def _address_for(self, port: int) -> ServerAddress:
        assert self._socket_parent is not None
        return ServerAddress(
            host="127.0.0.1",
            port=port,
            user=self.backend.user,
            password="",
            database=self.database_for(self.pool_modes[0]),
            unix_socket=str(self._socket_parent / f".s.PGSQL.{port}"),
        )

    def _before_launch(self) -> None:
        """Write the configuration for this port; remove what a killed PgBouncer left."""
        root = self._state.root
        assert root is not None and self._address is not None
        Path(self._address.unix_socket or root / "none").unlink(missing_ok=True)
        (root / "pgbouncer.pid").unlink(missing_ok=True)
        config = root / "pgbouncer.ini"
        config.write_text(self._config(root))
        give(config, self._run_as)
        self._log_offset = file_size(root / "server.log")

    def _config(self, root: Path) -> str:
        backend, address = self.backend, self._address
        assert address is not None and self._socket_parent is not None
        target = (
            f"host={backend.host} port={backend.port} dbname={backend.database} "
            f"user={backend.user}"
        )
        lines = ["[databases]"]
        lines += [
            f"{self.database_for(mode, name)} = {target} pool_mode={mode}"
            for mode in self.pool_modes
            for name in (None, *self.pool_names)
        ]
        settings = {
            "listen_addr": address.host,
            "listen_port": str(address.port),
            "unix_socket_dir": str(self._socket_parent),
            "pidfile": str(root / "pgbouncer.pid"),
            "auth_file": str(root / "userlist.txt"),
            "admin_users": backend.user,
            "default_pool_size": str(self.pool_size),
            "max_client_conn": str(self.max_client_conn),
            **_SETTINGS,
            **self._settings,
        }
        lines += ["", "[pgbouncer]", *(f"{name} = {value}" for name, value in settings.items())]
        return "\n".join(lines) + "\n"

    def _server_command(self) -> list[str]:
        assert self._binary is not None and self._state.root is not None
        return [self._binary, str(self._state.root / "pgbouncer.ini")]

    def _ready(self) -> bool:
        root, proc, address = self._state.root, self._state.proc, self._address
        assert root is not None and proc is not None and address is not None
        own = _own_lines(read_from(root / "server.log", self._log_offset), proc.pid)
        where = f"{address.host}:{address.port}"
        lost = [line for line in own if f"cannot listen on {where}" in line]
        if lost:
            self._state.kill()
            raise BindError(
                f"{_WHAT} could not take port {address.port}: {lost[0]} "
                f"(log kept in {root / 'server.log'})"
            )
        if not any(f"listening on {where}" in line for line in own):
            return False
        try:
            version = console_version(address.host, address.port, address.user)
        except OSError:
            return False
        return version.startswith("PgBouncer")

    def _meaningful_line(self, text: str) -> str:
        return _meaningful_line(text)

    def _is_bind_error(self, text: str) -> bool:
        return _is_bind_error(text)

