"""What every test of the suite shares: outside the integration folder, no server starts."""

from __future__ import annotations

import pytest

from dbbench.server import LocalServer


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
