"""A throwaway, private PostgreSQL server for ``--server local --dialect postgresql`` and the tests.

``LocalPostgreSQLServer`` is ``dbbench.server.local.LocalServer`` for PostgreSQL,
with the same interface (a context manager; ``address``, a ``ServerAddress``;
``start``, ``stop``, ``kill``, ``restart``, ``cleanup``; ``cached_template``).
It finds ``initdb`` and ``postgres`` on ``PATH`` or else under
``/usr/lib/postgresql/*/bin`` (Debian's layout, which puts neither on ``PATH``;
the newest version first), gives the server a data directory in a new
temporary directory and starts it on a free TCP port of 127.0.0.1::

    postgres -D DIR/data -p PORT -k SOCKETDIR -c listen_addresses=127.0.0.1
             -c fsync=off -c synchronous_commit=off -c full_page_writes=off ...

The data directory is made by ``initdb --auth=trust -U root -E UTF8 --locale=C``
(trust for every local and 127.0.0.1 connection, ``root`` the superuser, as on
the throwaway MariaDB; nothing asks for a password) and a ``test`` database
created in it by ``postgres --single`` (single-user mode: no connection, no
driver).  Nothing is read from ``/etc/postgresql``: the server's configuration
is initdb's ``postgresql.conf`` in the data directory, overridden by ``-c``;
no ``PG*`` or ``DBBENCH_*`` variable (``PGPASSWORD``, ``PGDATA``, ...) is in
its environment.

Layout of the temporary directory::

    data/            the data directory (kept by stop() and kill())
    tls/             the server's certificate and key, copied (owned by the server's user)
    initdb.log       output of initdb and postgres --single
    server.log       the server's stderr: its log (log_destination=stderr)
    .s.PGSQL.PORT    the Unix socket (in a short temp dir if this path would be too long)

**Root.**  PostgreSQL refuses to run as root ("root" execution of the PostgreSQL
server is not permitted).  When dbbench runs as root, initdb and postgres run as
the ``postgres`` system user (the Debian/Ubuntu packages create it), else as
``nobody``: ``subprocess.Popen(user=..., group=..., extra_groups=[])``, with the
temporary directory and everything in it given to that user (``chown``).  That
user must be able to enter every directory above it: ``TMPDIR`` under ``/root``
(mode 0700) is refused in one line naming the directory; ``/tmp`` works.

**Ready.**  The server is ready when its ``postmaster.pid`` (in the data directory,
written by the postmaster itself) holds our process's pid and the status
``ready``: what ``pg_ctl start --wait`` checks, it needs no driver (psycopg is
an extra) and cannot be fooled by another server that took the port.  A port
lost to another process between ``free_port()`` and the bind ("could not create
any TCP/IP sockets") is retried on a fresh port.

**Stop.**  ``stop()`` asks for a fast shutdown (SIGINT: open sessions are
ended, a clean checkpoint is written; SIGTERM would be a smart shutdown that
waits for every client to leave), then SIGKILL after a timeout.  The server runs
in its own session, so a Ctrl-C in the terminal reaches only dbbench, whose
``cleanup()`` (``__exit__``, also on KeyboardInterrupt, SIGTERM and SIGHUP: see
``dbbench.interruption``) stops it and removes the temporary directory; a second
signal does not cut that short.  If dbbench is killed (SIGKILL), the postmaster
gets SIGQUIT from the kernel (``PR_SET_PDEATHSIG``): an immediate shutdown, in
which it ends its backends and removes its shared memory (a SIGKILLed postmaster
would leave its System V segment behind).  The temporary directory is left then,
as for MariaDB.  A forgotten server is stopped and removed at garbage collection
or interpreter exit (``weakref.finalize``).

**Process code.**  The process handling is ``dbbench.server.process``
(``ThrowawayServer``, whose steps this class fills in), shared with the MariaDB
server, not mirakuru: mirakuru's executors stop with SIGTERM and wait
for a TCP port or an output line (neither tells that *our* postmaster is ready,
which its pid file does), know nothing of dbbench's signal rules
(``interruption.held`` around starting and stopping) or of running as another
user, and set no parent-death signal; what would be left of it is ``Popen`` and
a loop, which the shared module already has, tested on MariaDB.

**Template.**  ``initdb`` takes 4.4 s here (2 cores, loaded; ``--no-sync``), a
copy of its 46 MB result 1.1 s: so, as for MariaDB, the data directory (with
its ``test`` database) is initialised once per server version and recipe, kept
in ``$XDG_CACHE_HOME/dbbench`` (``~/.cache/dbbench``), and copied (``cached_template``).
Where that cannot be written, each server initialises its own.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from dbbench.errors import ServerError
from dbbench.server.process import (
    RunAs,
    ServerAddress,
    ThrowawayServer,
    cache_dir,
    cached_directory,
    check_reachable,
    give,
    meaningful_line,
    read_from,
    run_as_user,
    server_environment,
    version_digest,
)

__all__ = ["LocalPostgreSQLServer", "find_postgresql_binaries"]

#: Searched after PATH, newest version first: Debian/Ubuntu's packages install here.
_SEARCH_GLOB = "/usr/lib/postgresql/*/bin"
#: Ports we never use: the usual PostgreSQL and MySQL ports.
_FORBIDDEN_PORTS = frozenset({5432, 3306, 33060})
_INSTALL_TIMEOUT_S = 120.0
#: Bumped when what ``_initialise`` puts in a data directory changes: a new cached template.
_TEMPLATE_FORMAT = 1
#: How messages name the server, and why it does not run as root.
_WHAT = "local PostgreSQL"
_WHY_NOT_ROOT = "PostgreSQL refuses to run as root"

_USER = "root"
_DATABASE = "test"

_INITDB_OPTS = ("--auth=trust", f"--username={_USER}", "--encoding=UTF8", "--locale=C", "--no-sync")
#: The server's settings; extra_args come after these, so they override them.
_SERVER_SETTINGS = (
    "listen_addresses=127.0.0.1",
    # a throwaway server's data need not survive a crash of the machine
    "fsync=off",
    "synchronous_commit=off",
    "full_page_writes=off",
    # room for a run through the throwaway PgBouncer (--pooler): direct and its two
    # pools, each with every runner's connections at once (scenarios.pooler)
    "max_connections=500",
    "shared_buffers=32MB",
    "logging_collector=off",
    "log_destination=stderr",
)


@dataclass(frozen=True)
class PostgreSQLBinaries:
    initdb: str
    postgres: str


# --------------------------------------------------------------------------- discovery


def _version_key(directory: str) -> tuple[int, ...]:
    """/usr/lib/postgresql/15/bin -> (15,); 9.6 -> (9, 6); a name that is no version sorts last."""
    name = Path(directory).parent.name
    if not re.fullmatch(r"\d+(\.\d+)*", name):
        return ()
    return tuple(int(part) for part in name.split("."))


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def find_postgresql_binaries() -> PostgreSQLBinaries:
    """``initdb`` and ``postgres`` of one installation: PATH's ``postgres`` (with the
    ``initdb`` beside its real file, else PATH's), else the newest under
    ``/usr/lib/postgresql/*/bin``.  Raises ServerError, one line, when none is found."""
    postgres = shutil.which("postgres")
    if postgres:
        beside = Path(os.path.realpath(postgres)).parent / "initdb"
        initdb = str(beside) if _executable(beside) else shutil.which("initdb")
        if initdb:
            return PostgreSQLBinaries(initdb=initdb, postgres=postgres)
    for directory in sorted(glob.glob(_SEARCH_GLOB), key=_version_key, reverse=True):
        initdb_path, postgres_path = Path(directory) / "initdb", Path(directory) / "postgres"
        if _executable(initdb_path) and _executable(postgres_path):
            return PostgreSQLBinaries(initdb=str(initdb_path), postgres=str(postgres_path))
    raise ServerError(
        f"cannot start a local PostgreSQL: initdb and postgres not found on PATH or in "
        f"{_SEARCH_GLOB}; install them with: apt-get install postgresql"
    )


def _run_as() -> RunAs | None:
    """Whom initdb and postgres run as: None (ourselves) unless we are root."""
    return run_as_user(_WHAT, _WHY_NOT_ROOT)


# --------------------------------------------------------------------------- logs

#: log_line_prefix '%m [%p] ': "2026-12-03 07:37:26.741 UTC [11064] "
_LOG_PREFIX = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? \S+ \[\d+\] ")
_SEVERE = re.compile(r"\b(?:FATAL|PANIC|ERROR):")


def _meaningful_line(text: str) -> str:
    """The log line that best says why the server failed: the first FATAL, PANIC or
    ERROR line (the ones after it are consequences), else the last non-empty one."""
    return meaningful_line(text, _SEVERE.search, _LOG_PREFIX)


def _is_bind_error(text: str) -> bool:
    return "could not create any TCP/IP sockets" in text or "Address already in use" in text


def _pid_file_ready(data: Path, pid: int) -> bool:
    """Whether ``data/postmaster.pid`` says postmaster ``pid`` accepts connections
    (line 1 the pid, line 8 the status: "starting", "ready", "stopping")."""
    try:
        lines = (data / "postmaster.pid").read_text().splitlines()
    except (OSError, UnicodeDecodeError):
        return False
    return len(lines) >= 8 and lines[0].strip() == str(pid) and lines[7].strip() == "ready"


# --------------------------------------------------------------------------- the server


class LocalPostgreSQLServer(ThrowawayServer):
    """A private PostgreSQL server in a temporary directory.

    Use as a context manager::

        with LocalPostgreSQLServer() as server:
            a = server.address
            psycopg.connect(host=a.host, port=a.port, user=a.user, dbname=a.database)

    ``start()`` initialises and starts it, ``stop()`` shuts it down (fast
    shutdown), ``kill()`` SIGKILLs the postmaster (both keep the data directory;
    after a kill its backends notice and exit, and the last moment's commits may
    be lost: ``synchronous_commit=off``), ``restart()`` starts it again on the
    same port and data directory, and ``cleanup()`` stops it and removes the
    temporary directory.

    ``extra_args`` are appended to the server's command line (so they override
    our settings, e.g. ``["-c", "max_connections=10"]``).

    ``tls`` (``dbbench.server.certificates.CertificateFiles``) starts it with
    ``ssl=on`` and those files (``ssl_cert_file``, ``ssl_key_file``,
    ``ssl_ca_file``); clients verify it against ``tls.ca``.

    ``datadir_template`` (from ``cached_template``) is an initialised data
    directory that start() copies instead of running initdb.
    """

    _what = _WHAT
    _prefix = "dbbench-postgresql-"
    _log_names = ("server.log",)
    _dropped_on_failure = ("data", "tls")
    _forbidden_ports = _FORBIDDEN_PORTS
    # immediate shutdown when dbbench dies: the backends end, the shared memory is removed
    _death_signal = signal.SIGQUIT

    _stop_signal = signal.SIGINT  # fast shutdown
    _why_not_root = _WHY_NOT_ROOT
    _binaries: PostgreSQLBinaries | None = None

    # ----------------------------------------------------------------- properties

    @property
    def kind(self) -> str | None:
        """"postgresql", once started (``LocalServer.kind`` says "mariadb" or "mysql")."""
        return "postgresql" if self._binaries is not None else None

    @staticmethod
    def initialise_template(directory: str | os.PathLike[str]) -> Path:
        """Initialise a data directory (with its ``test`` database) into ``directory``
        and return its path; no server is left running.

        initdb runs in a temporary directory of its own (as root: one the server's
        user can reach, which ``directory``, say under ``/root/.cache``, may not be),
        whose data directory is then copied."""
        binaries = find_postgresql_binaries()
        run_as = _run_as()
        target = Path(directory)
        target.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix="dbbench-postgresql-initdb-"))
        try:
            if run_as is not None:
                check_reachable(work, run_as, _WHAT, _WHY_NOT_ROOT)
            give(work, run_as)
            _initialise(binaries, work, run_as)
            shutil.copytree(work / "data", target / "data", symlinks=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return target / "data"

    @staticmethod
    def cached_template(cache: str | os.PathLike[str] | None = None) -> Path:
        """The data directory ``start()`` copies by default, initialised on first use.

        Kept in ``cache`` (default ``cache_dir()``) under a name that holds the
        server's version and the recipe, so an upgraded server gets its own; safe
        when several processes initialise it at once (``cached_directory``)."""
        binaries = find_postgresql_binaries()
        cache_path = Path(cache) if cache is not None else cache_dir()
        final = cache_path / f"datadir-postgresql-{_template_key(binaries)}"
        cached_directory(final, LocalPostgreSQLServer.initialise_template)
        return final / "data"

    # ----------------------------------------------------------------- steps

    def _find(self) -> None:
        self._binaries = find_postgresql_binaries()
        self._find_run_as()

    def _prepare(self, root: Path) -> None:
        run_as = self._run_as
        self._place_socket(root, ".s.PGSQL.65535.lock")
        template = self._datadir_template or _cached_template_or_none()
        assert self._binaries is not None
        if template is None:
            give(root, run_as)
            _initialise(self._binaries, root, run_as)
        else:
            shutil.copytree(template, root / "data", symlinks=True)
        self._copy_tls(root)
        give(root, run_as)

    def _address_for(self, port: int) -> ServerAddress:
        assert self._socket_parent is not None
        return ServerAddress(
            host="127.0.0.1",
            port=port,
            user=_USER,
            password="",
            database=_DATABASE,
            unix_socket=str(self._socket_parent / f".s.PGSQL.{port}"),
        )

    def _server_command(self) -> list[str]:
        assert self._binaries is not None and self._address is not None
        root = self._state.root
        assert root is not None and self._socket_parent is not None
        cmd = [
            self._binaries.postgres,
            "-D", str(root / "data"),
            "-p", str(self._address.port),
            "-k", str(self._socket_parent),
        ]  # fmt: skip
        for setting in (*_SERVER_SETTINGS, *self._tls_settings(root)):
            cmd += ["-c", setting]
        return [*cmd, *self._extra_args]

    def _ready(self) -> bool:
        root, proc = self._state.root, self._state.proc
        assert root is not None and proc is not None
        return _pid_file_ready(root / "data", proc.pid)

    def _meaningful_line(self, text: str) -> str:
        return _meaningful_line(text)

    def _is_bind_error(self, text: str) -> bool:
        return _is_bind_error(text)

    # ----------------------------------------------------------------- internals

    def _copy_tls(self, root: Path) -> None:
        """Copy the certificate and key where the server's user owns them: PostgreSQL
        refuses a key file that is not its own (or root's, 0640) with mode 0600 or less."""
        if self.tls is None:
            return
        (root / "tls").mkdir(mode=0o700)
        for name, source in (
            ("server-cert.pem", self.tls.server_cert),
            ("server-key.pem", self.tls.server_key),
            ("ca.pem", self.tls.ca),
        ):
            shutil.copyfile(source, root / "tls" / name)
            (root / "tls" / name).chmod(0o600)

    def _tls_settings(self, root: Path) -> list[str]:
        if self.tls is None:
            return []
        tls = root / "tls"
        return [
            "ssl=on",
            f"ssl_cert_file={tls / 'server-cert.pem'}",
            f"ssl_key_file={tls / 'server-key.pem'}",
            f"ssl_ca_file={tls / 'ca.pem'}",
        ]


def _initialise(binaries: PostgreSQLBinaries, root: Path, run_as: RunAs | None) -> None:
    """initdb into ``root/data``, then ``CREATE DATABASE test`` in single-user mode."""
    datadir = root / "data"
    log = root / "initdb.log"
    steps = [
        ([binaries.initdb, f"--pgdata={datadir}", *_INITDB_OPTS], b""),
        (
            [binaries.postgres, "--single", "-D", str(datadir), "-F",
             "-c", "exit_on_error=on", "postgres"],
            f"CREATE DATABASE {_DATABASE};\n".encode(),
        ),
    ]  # fmt: skip
    with log.open("wb") as out:
        for cmd, stdin in steps:
            try:
                result = subprocess.run(
                    cmd,
                    input=stdin,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    cwd=root,
                    env={**server_environment(), "TMPDIR": str(root)},
                    timeout=_INSTALL_TIMEOUT_S,
                    start_new_session=True,
                    check=False,
                    **(run_as.popen() if run_as is not None else {}),
                )
            except subprocess.TimeoutExpired:
                raise ServerError(
                    f"cannot initialise a PostgreSQL data directory: {Path(cmd[0]).name} "
                    f"did not finish in {_INSTALL_TIMEOUT_S:.0f} s; see {log}"
                ) from None
            except OSError as exc:
                raise ServerError(f"cannot run {cmd[0]}: {exc.strerror}") from None
            if result.returncode != 0:
                out.flush()
                line = _meaningful_line(read_from(log, 0)) or f"exit status {result.returncode}"
                raise ServerError(
                    f"cannot initialise a PostgreSQL data directory with "
                    f"{Path(cmd[0]).name}: {line} (log kept in {log})"
                )


def _template_key(binaries: PostgreSQLBinaries) -> str:
    """A digest of the server's ``--version`` and what a data directory is initialised with."""
    recipe = (_TEMPLATE_FORMAT, binaries, _INITDB_OPTS, _DATABASE)
    return version_digest([binaries.postgres, "--version"], recipe)


def _cached_template_or_none() -> Path | None:
    """``LocalPostgreSQLServer.cached_template()``, or None where the cache cannot be written."""
    try:
        return LocalPostgreSQLServer.cached_template()
    except OSError:
        return None
