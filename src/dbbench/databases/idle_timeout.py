"""How ``dbbench stale`` makes the server close a session left idle: one plug-in per
dialect (``mysql_idle_timeout.py``, ``postgresql_idle_timeout.py``), given by the
dialect's ``Database`` (``base.Database.idle_timeout``), so the scenario never asks which
server it is.

MySQL closes a connection idle past the session's ``wait_timeout``; PostgreSQL (14+)
ends a session idle past its ``idle_session_timeout``.  Either is set on every connection
of the scenario's pools by ``init_command``, after the user's own, so that it wins, and
the server's global setting is left alone.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from dbbench.config.settings import DatabaseSettings
    from dbbench.server.preflight import ServerInfo
    from dbbench.workload import Workload

#: (database, workload) -> what the server said: ``Backend.check_server``
CheckServer = Callable[["DatabaseSettings", "Workload | None"], "ServerInfo"]


class IdleTimeout(ABC):
    """One dialect's idle timeout of a session; stateless."""

    #: the server's setting, as the scenario's messages and tables name it
    setting: ClassVar[str]

    @abstractmethod
    def session(self, database: DatabaseSettings, timeout_s: int) -> DatabaseSettings:
        """``database`` whose connections the server closes once idle for longer than
        ``timeout_s`` seconds, the user's ``init_command`` kept; ``ConfigError``, before
        anything connects, for one that cannot be kept."""

    def check_version(
        self, check: CheckServer, database: DatabaseSettings, workload: Workload | None
    ) -> None:
        """Raise a one-line ``DbbenchError`` when the server has no such setting (nothing
        to check by default)."""
        return None

    def check_server(
        self,
        check: CheckServer,
        database: DatabaseSettings,
        timeout_s: int,
        workload: Workload | None,
    ) -> ServerInfo:
        """The scenario's server check: ``check_version``, then ``check`` of the session
        its cases use (the user's ``init_command`` and the timeout's), raising as ``check``
        does."""
        self.check_version(check, database, workload)
        return check(self.session(database, timeout_s), workload)
