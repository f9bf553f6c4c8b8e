"""What dbbench reads of a database server besides the measured operations: one plug-in per
dialect (``mysql.py``, ``postgresql.py``), chosen by ``[database] dialect``.

A run goes through four seams that talk to the server (``scenarios.backend.Backend``):
the server check before anything is measured, the monitor of what the server saw while it
was measured, the server's ``max_connections`` for the budget warning, and a write
workload's scratch table.  Each is SQL of the server's own (``SHOW GLOBAL STATUS`` against
``pg_stat_database``, ``AUTO_INCREMENT`` against an identity column), so each is a method
here, and the callers never ask which server it is: ``databases.get_database(dialect)``
gives the plug-in, and ``Backend``'s defaults dispatch through it.

A plug-in reads the server on dbbench's own connections (``drivers.side``), made with the
run's driver, so a login the runners can use works for them too.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

if TYPE_CHECKING:
    from dbbench.config.settings import DatabaseSettings
    from dbbench.databases.dataset import DataSetSql
    from dbbench.databases.idle_timeout import IdleTimeout
    from dbbench.server.preflight import ServerInfo
    from dbbench.workload import Workload


class Monitor(Protocol):
    """What the server saw during a run: ``start()`` before it, ``stop()`` after, which
    never raises and returns the activity (``server.status.ServerActivity`` for MySQL,
    ``databases.postgresql_status.PostgresActivity`` for PostgreSQL): its ``to_dict()``
    is the result file's ``server`` section, its ``new_connections`` the server's count
    of connections the cross-check compares with dbbench's, ``monitor_connections`` the
    monitor's own share of them, ``complete`` whether the reads are whole."""

    def start(self) -> None: ...

    def stop(self) -> Any: ...


class ScratchTable(Protocol):
    """A write workload's table, dbbench's own: ``create()``, ``count_rows()``, ``drop()``
    (a note when it failed), ``name``, ``database``, ``created``."""

    name: str
    created: bool

    def create(self) -> None: ...

    def count_rows(self) -> int: ...

    def drop(self) -> str | None: ...


class Database(ABC):
    """One dialect's ways of reading its server; stateless (one instance per dialect)."""

    #: ``[database] dialect``'s value
    dialect: ClassVar[str]
    #: the server's name in messages ("MySQL/MariaDB", "PostgreSQL")
    title: ClassVar[str]
    #: whether a connect can make its session read-only at no extra round trip (PostgreSQL's
    #: startup packet carries ``default_transaction_read_only``; MySQL's handshake has no
    #: such field, and a ``SET SESSION TRANSACTION READ ONLY`` is one more statement): a run
    #: given no --allow-writes then asks for it (``scenarios.benchmark.read_only_sessions``)
    read_only_at_connect: ClassVar[bool] = False
    #: what closes a pooled connection left idle, for advice on ``pool_recycle`` (explain's
    #: pre-ping finding: "pool_recycle below <this> also avoids stale connections")
    idle_limit: ClassVar[str]
    #: what the codes in this dialect's error kinds mean, for people reading a report's
    #: error timeline (``engine.timeline.describe_kind``): the code as a kind shows it in
    #: parentheses (``OperationalError(2013)``, ``OperationalError(57P01)``) -> a few words
    error_codes: ClassVar[Mapping[str, str]] = {}

    @abstractmethod
    def check_server(self, database: DatabaseSettings, workload: Workload | None) -> ServerInfo:
        """Connect with ``database.driver``, read the server's version, run ``workload``
        once (refusing a result too large to fetch thousands of times); raise a one-line
        ``DbbenchError`` when the server cannot be used."""

    @abstractmethod
    def monitor(self, database: DatabaseSettings) -> Monitor:
        """A monitor of the server's own counters (see ``Monitor``), not started."""

    @abstractmethod
    def read_max_connections(self, database: DatabaseSettings) -> int:
        """How many connections the server lets ``database.user`` open at once, on a
        connection of its own."""

    @abstractmethod
    def scratch_table(self, database: DatabaseSettings, name: str) -> ScratchTable:
        """The write workloads' table ``name`` in ``database.database``, not created yet."""

    @abstractmethod
    def insert_statement(self, table: str) -> str:
        """The ``insert`` workload's statement: one row into ``table``, recording which
        connection (the server's id for it) wrote it."""

    @abstractmethod
    def idle_timeout(self) -> IdleTimeout:
        """How ``dbbench stale`` makes this server close a session left idle
        (``idle_timeout.IdleTimeout``: MySQL's ``wait_timeout``, PostgreSQL's
        ``idle_session_timeout``); its module is imported on first use."""

    @abstractmethod
    def data_set_sql(self, database: DatabaseSettings) -> DataSetSql:
        """The SQL of the data set ``dbbench prepare`` makes in ``database``
        (``databases.dataset``: the table dbbench_data, its mark, its rows made by the
        server)."""
