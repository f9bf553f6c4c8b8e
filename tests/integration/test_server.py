"""dbbench.server.local.LocalServer against the real server binaries on this machine.

These tests start their own servers (not the session's ``server`` fixture),
because they kill and restart them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest

from dbbench.errors import ServerError
from dbbench.server.local import LocalServer, ServerAddress, find_server_kind


def connect(address: ServerAddress, **kwargs) -> pymysql.connections.Connection:
    return pymysql.connect(
        host=address.host,
        port=address.port,
        user=address.user,
        password=address.password,
        connect_timeout=2,
        ssl_disabled=True,
        **kwargs,
    )


def query(address: ServerAddress, sql: str, **kwargs) -> list[tuple]:
    with connect(address, **kwargs) as connection, connection.cursor() as cursor:
        cursor.execute(sql)
        return list(cursor.fetchall())


def process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # Still in the process table: only acceptable as a zombie nobody reaped yet.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] == "Z"


@pytest.fixture(scope="module")
def shared(local_server) -> Iterator[LocalServer]:
    """One server for the tests that only read from it."""
    # MariaDB clamps max_connections to at least 10, so 17 rather than something smaller.
    with local_server(extra_args=["--max-connections=17", "--wait-timeout=77"]) as server:
        yield server


def test_find_server_kind():
    assert find_server_kind() in ("mariadb", "mysql")


def test_start_answers_select_1_and_has_test_database(shared):
    address = shared.address
    assert address.host == "127.0.0.1"
    assert address.port not in (0, 3306)
    assert (address.user, address.password, address.database) == ("root", "", "test")
    assert "password" not in repr(address)
    assert shared.running and shared.pid is not None

    assert query(address, "SELECT 1") == [(1,)]
    assert query(address, "SELECT DATABASE()", database="test") == [("test",)]
    # The Unix socket works too.
    with (
        pymysql.connect(
            unix_socket=address.unix_socket, user=address.user, password=address.password
        ) as connection,
        connection.cursor() as cursor,
    ):
        cursor.execute("SELECT @@port")
        assert cursor.fetchone() == (address.port,)


def test_extra_args_are_applied_and_override_defaults(shared):
    rows = query(
        shared.address,
        "SHOW VARIABLES WHERE Variable_name IN ('max_connections', 'wait_timeout')",
    )
    assert sorted(rows) == [("max_connections", "17"), ("wait_timeout", "77")]


def test_no_password_in_server_arguments(shared):
    with open(f"/proc/{shared.pid}/cmdline", "rb") as cmdline:
        args = cmdline.read().split(b"\0")
    assert not [arg for arg in args if b"password" in arg.lower()]
    assert b"--no-defaults" in args


def test_kill_restart_stop_cleanup(local_server, shared, tmp_path):
    server = local_server(base_dir=tmp_path)
    try:
        address = server.start()
        base = server.base_path
        assert base is not None and base.parent == tmp_path
        with (
            connect(address, database="test", autocommit=True) as connection,
            connection.cursor() as cursor,
        ):
            cursor.execute("CREATE TABLE survivor (id INT PRIMARY KEY) ENGINE=InnoDB")
            cursor.execute("INSERT INTO survivor VALUES (1), (2), (3)")
        # a copy of the session's template, like shared: what one writes the other lacks
        assert query(shared.address, "SHOW TABLES FROM test") == []

        pid = server.pid
        server.kill()
        assert not server.running and server.pid is None
        assert process_gone(pid)
        with pytest.raises(pymysql.err.OperationalError):
            connect(address)

        server.restart()
        assert server.running and server.pid != pid
        assert server.address == address  # same port, same socket
        assert query(address, "SELECT COUNT(*) FROM test.survivor") == [(3,)]

        server.stop()
        assert not server.running
        assert (base / "data").is_dir()  # stop() keeps the data
        server.restart()
        assert query(address, "SELECT SUM(id) FROM test.survivor") == [(6,)]

        pid = server.pid
        server.cleanup()
        assert process_gone(pid)
        assert not base.exists()
        assert server.base_path is None and not server.running
        server.cleanup()  # idempotent
        with pytest.raises(ServerError):
            server.restart()
    finally:
        server.cleanup()
    assert list(tmp_path.iterdir()) == []


def test_context_manager_cleans_up_when_body_raises(local_server, tmp_path):
    seen = {}
    with pytest.raises(RuntimeError, match="boom"), local_server(base_dir=tmp_path) as server:
        seen.update(pid=server.pid, base=server.base_path)
        assert query(server.address, "SELECT 1") == [(1,)]
        raise RuntimeError("boom")
    assert process_gone(seen["pid"])
    assert not seen["base"].exists()
    assert list(tmp_path.iterdir()) == []


def test_failed_start_is_one_line_naming_the_cause_and_log(local_server, tmp_path):
    server = local_server(base_dir=tmp_path, extra_args=["--no-such-option-dbbench=1"])
    with pytest.raises(ServerError) as excinfo:
        server.start()
    message = str(excinfo.value)
    assert "\n" not in message
    assert "no-such-option-dbbench" in message
    assert "error.log" in message
    assert not server.running
    # The logs are kept for the user to read, the data directory is not.
    (kept,) = tmp_path.iterdir()
    assert (kept / "error.log").is_file()
    assert not (kept / "data").exists()
    server.cleanup()  # harmless after a failed start


def test_the_server_does_not_inherit_passwords_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DBBENCH_PASSWORD", "canary-env-secret")
    monkeypatch.setenv("MYSQL_PWD", "canary-env-secret")
    # an empty cache: the template is initialised here, not copied from the session's
    # (mariadb-install-db runs with the same environment), and this is the test that
    # initialisation works at all, and that the template lands in the cache
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    with LocalServer(base_dir=tmp_path) as local:
        environ = Path(f"/proc/{local.pid}/environ").read_bytes()
        cmdline = Path(f"/proc/{local.pid}/cmdline").read_bytes()
    assert b"canary-env-secret" not in environ
    assert b"canary-env-secret" not in cmdline
    (template,) = (cache / "dbbench").iterdir()  # nothing half-built left beside it
    assert template.name.startswith(f"datadir-{find_server_kind()}-")
    assert (template / "data" / "mysql").is_dir()
    assert LocalServer.cached_template() == template / "data"
