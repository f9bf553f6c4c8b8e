"""The cached data directory ``--server local`` copies, with the initialisation faked."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from dbbench.server import local as server
from dbbench.server.local import LocalServer


@pytest.fixture
def initialised(monkeypatch) -> list[Path]:
    """Fake binaries and ``initialise_template``: each call is recorded, none runs a server."""
    calls: list[Path] = []
    monkeypatch.setattr(server, "_find_binaries", lambda: server._Binaries("mariadb", "s", "i"))
    monkeypatch.setattr(server, "_template_key", lambda binaries: "0123")

    def initialise(directory: Path) -> Path:
        calls.append(Path(directory))
        (Path(directory) / "data" / "mysql").mkdir(parents=True)
        return Path(directory) / "data"

    monkeypatch.setattr(LocalServer, "initialise_template", staticmethod(initialise))
    return calls


def test_the_template_is_initialised_once_then_reused(tmp_path, initialised):
    first = LocalServer.cached_template(tmp_path)
    assert first == tmp_path / "datadir-mariadb-0123" / "data"
    assert LocalServer.cached_template(tmp_path) == first
    assert len(initialised) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["datadir-mariadb-0123"]


def test_two_processes_initialising_at_once_both_get_the_one_that_landed(
    tmp_path, initialised, monkeypatch
):
    both_building = threading.Barrier(2, timeout=10)
    real = LocalServer.initialise_template

    def initialise(directory: Path) -> Path:
        both_building.wait()  # neither finds the template: both build one
        return real(directory)

    monkeypatch.setattr(LocalServer, "initialise_template", staticmethod(initialise))
    found: list[Path] = []
    threads = [
        threading.Thread(target=lambda: found.append(LocalServer.cached_template(tmp_path)))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(initialised) == 2 and initialised[0] != initialised[1]
    assert found == [tmp_path / "datadir-mariadb-0123" / "data"] * 2
    # the loser's copy is gone, nothing half-built is left
    assert [p.name for p in tmp_path.iterdir()] == ["datadir-mariadb-0123"]


def test_the_cache_follows_xdg_cache_home(tmp_path, monkeypatch, initialised):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert server.cache_dir() == tmp_path / "xdg" / "dbbench"
    assert LocalServer.cached_template().is_relative_to(tmp_path / "xdg" / "dbbench")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert server.cache_dir() == tmp_path / "home" / ".cache" / "dbbench"


def test_a_cache_that_cannot_be_written_means_no_template(tmp_path, monkeypatch, initialised):
    """start() then initialises the server's own data directory, as before the cache."""
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))
    assert server._cached_template_or_none() is None
    assert initialised == []
