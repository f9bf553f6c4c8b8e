"""The counting relay against a tiny scripted server: turns the client waits for, and no others."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import pytest

from dbbench.scenarios.phases.roundtrips import CountingRelay


def _read(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


@pytest.fixture
def scripted_server() -> Iterator[tuple[str, int]]:
    """Greets with b"hi!"; answers b"req" with b"ok!", and b"fin" with b"tkt" (unasked for)."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        with contextlib.closing(listener):
            connection, _ = listener.accept()
            with connection:
                connection.sendall(b"hi!")
                while message := _read(connection, 3):
                    connection.sendall(b"ok!" if message == b"req" else b"tkt")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[:2]
    thread.join(5)


def test_counts_each_answer_waited_for_and_the_greeting_apart(scripted_server):
    with CountingRelay(scripted_server) as relay:
        client = socket.create_connection(relay.address)
        assert _read(client, 3) == b"hi!"
        for _ in range(3):
            client.sendall(b"req")
            assert _read(client, 3) == b"ok!"
        client.close()
        assert (relay.connections, relay.greetings, relay.round_trips) == (1, 1, 3)


def test_data_the_client_did_not_wait_for_is_no_turn(scripted_server):
    # as a TLS 1.3 client does: Finished, then its next packet at once; the
    # server's session tickets cross it, and only the answer is waited for
    with CountingRelay(scripted_server) as relay:
        client = socket.create_connection(relay.address)
        assert _read(client, 3) == b"hi!"
        client.sendall(b"fin")
        client.sendall(b"req")
        assert _read(client, 6) == b"tktok!"
        client.close()
        # whichever way the bytes interleave at the relay, one wait: for b"ok!"
        assert (relay.greetings, relay.round_trips) == (1, 1)


def test_what_the_server_sends_after_the_client_closed_its_side_is_no_turn(scripted_server):
    # as PostgreSQL's Terminate over TLS: the client's close_notify, its side shut, and the
    # server's close_notify after it, which no one waits for
    with CountingRelay(scripted_server) as relay:
        client = socket.create_connection(relay.address)
        assert _read(client, 3) == b"hi!"
        client.sendall(b"req")
        assert _read(client, 3) == b"ok!"
        client.sendall(b"bye")
        client.shutdown(socket.SHUT_WR)
        assert _read(client, 3) == b"tkt"  # forwarded, so already judged
        client.close()
        assert (relay.greetings, relay.round_trips) == (1, 1)
