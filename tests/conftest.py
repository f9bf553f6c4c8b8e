"""What every test shares: SIGINT as a terminal has it; no server without the marker."""

from __future__ import annotations

import signal
import socket
from typing import Any

import pytest

from dbbench.server.local import LocalServer
from dbbench.server.local_postgresql import LocalPostgreSQLServer

# A session started where SIGINT is ignored (nohup, `make test &`, a background job)
# would keep it ignored: the Ctrl-C tests' signal.raise_signal(SIGINT) would do
# nothing, and every dbbench they start would inherit SIG_IGN (exec keeps it; a
# Python handler becomes SIG_DFL), so their runs would never stop.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def _refuse(self: LocalServer | LocalPostgreSQLServer) -> None:
    raise AssertionError(
        f"a test without the integration marker started a {type(self).__name__}: "
        "move it to tests/integration (marked there for -m 'not integration')"
    )


#: where a server of the machine's listens: the usual ports (MySQL's X protocol's too), the
#: sockets (mysqld.sock, PostgreSQL's .s.PGSQL.5432)
_SERVER_PORTS = frozenset({3306, 33060, 5432})
_real_connect = socket.socket.connect


def _connect_to_no_server(sock: socket.socket, address: Any) -> None:
    """``socket.connect`` for an unmarked test: a fake's port, never a real server's."""
    is_server_port = isinstance(address, tuple) and address[1] in _SERVER_PORTS
    if is_server_port or str(address).endswith(".sock") or ".s.PGSQL." in str(address):
        raise AssertionError(
            f"a test without the integration marker connected to a server at {address!r}: "
            "move it to tests/integration, or give it a fake"
        )
    _real_connect(sock, address)


@pytest.fixture(autouse=True)
def _no_server_without_the_marker(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``pytest -m "not integration"`` must start no server and reach none (the
    machine's, at port 3306 or a Unix socket, through any pure-Python driver): a test
    that tries fails."""
    if request.node.get_closest_marker("integration") is None:
        monkeypatch.setattr(LocalServer, "start", _refuse)
        monkeypatch.setattr(LocalPostgreSQLServer, "start", _refuse)
        monkeypatch.setattr(socket.socket, "connect", _connect_to_no_server)


@pytest.fixture(autouse=True)
def _sighup_not_ignored():
    """Run each test with SIGHUP at its default even under ``nohup``.

    dbbench keeps a SIGHUP that was ignored at start ignored (``nohup dbbench ...``), so
    the tests of how it stops on SIGHUP would fail when the suite itself runs under nohup.
    """
    import signal

    previous = signal.getsignal(signal.SIGHUP)
    if previous == signal.SIG_IGN:
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
    yield
    if previous == signal.SIG_IGN:
        signal.signal(signal.SIGHUP, previous)
