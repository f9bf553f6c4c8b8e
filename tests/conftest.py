"""What every test shares: SIGINT as a terminal has it; no server without the marker."""

from __future__ import annotations

import signal

import pytest

from dbbench.server import LocalServer

# A session started where SIGINT is ignored (nohup, `make test &`, a background job)
# would keep it ignored: the Ctrl-C tests' signal.raise_signal(SIGINT) would do
# nothing, and every dbbench they start would inherit SIG_IGN (exec keeps it; a
# Python handler becomes SIG_DFL), so their runs would never stop.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def _refuse(self: LocalServer) -> None:
    raise AssertionError(
        "a test without the integration marker started a LocalServer: "
        "move it to tests/integration (marked there for -m 'not integration')"
    )


@pytest.fixture(autouse=True)
def _no_server_without_the_marker(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``pytest -m "not integration"`` must start no server: a test that tries fails."""
    if request.node.get_closest_marker("integration") is None:
        monkeypatch.setattr(LocalServer, "start", _refuse)
