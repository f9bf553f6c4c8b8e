"""Counting client-server round trips on the wire, whatever the driver.

``CountingRelay`` sits between the client and the server on 127.0.0.1 and
forwards bytes both ways unchanged.  A round trip is a turn of the
conversation the client waits for: the server sends after the client did
(or first, as MySQL's greeting does) and the client says nothing until it
has the answer.  Each such turn costs the client one network round-trip time;
bytes it sends without waiting for an answer (PyMySQL's COM_QUIT at close,
the request to switch to TLS) add none.

Whether the client waited is seen, not assumed: the relay holds each new
burst from the server for ``hold_s`` and counts it only if the client stayed
silent meanwhile.  A burst the client did not wait for, such as the session
tickets a TLS 1.3 server sends after the handshake while the client already
sends its next packet, is not a turn: on a network the client would not
have waited for it either.  Nor is what the server sends after the client
closed its side (a TLS server's close_notify answering the client's, after
PostgreSQL's ``Terminate``): nobody is left to wait for it.

What the server sends unasked (MySQL's greeting, right after the connect) is
counted apart (``greetings``), for the caller to charge to the phase that
reads it; ``round_trips`` counts only answers.

What a relay cannot see is TCP's own handshake: the kernel answers the
client's SYN before the relay's ``accept()`` returns.  Each connection the
relay accepts is counted apart (``connections``); it costs one round trip
before the client's ``connect()`` returns, and the server's greeting can only
leave after the client's final ACK arrived, so the greeting is a turn of its own.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time

#: how much one ``recv`` reads; any size works, turns are counted per direction change
CHUNK_BYTES = 65536
#: how long a new burst from the server is held to see whether the client waits for it;
#: far longer than a client takes between two packets it sends without waiting
HOLD_S = 0.02

_TO_SERVER, _TO_CLIENT = "to server", "to client"


class _Conversation:
    """The direction of the last bytes on one relayed connection."""

    def __init__(self, client: socket.socket, server: socket.socket) -> None:
        self.last: str | None = None
        #: the client sent after the server's last burst began (see ``_answer``)
        self.client_spoke = False
        #: the client shut its side: nothing from the server after that is waited for
        self.client_done = False
        self.sockets = (client, server)
        #: pumps still running; the last one to stop closes both sockets
        self.pumps = 2


class CountingRelay:
    """A TCP relay on 127.0.0.1 that counts round trips; a context manager.

    ``upstream`` is the server's ``(host, port)``, or a Unix socket path.
    """

    def __init__(self, upstream: tuple[str, int] | str, hold_s: float = HOLD_S) -> None:
        self._upstream = upstream
        self._hold_s = hold_s
        self._lock = threading.Lock()
        self._turns = 0
        self._greetings = 0
        self._connections = 0
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._closed = False

    @property
    def address(self) -> tuple[str, int]:
        """Where clients connect instead of the server."""
        host, port = self._listener.getsockname()[:2]
        return host, port

    @property
    def round_trips(self) -> int:
        """Answers so far, all connections: greetings and TCP handshakes not included."""
        with self._lock:
            return self._turns

    @property
    def greetings(self) -> int:
        """Turns the server took before the client sent anything (one greeting per connection)."""
        with self._lock:
            return self._greetings

    @property
    def connections(self) -> int:
        """Connections accepted so far: one TCP handshake (one round trip) each."""
        with self._lock:
            return self._connections

    def __enter__(self) -> CountingRelay:
        self._start(self._accept_loop)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _start(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True, name="dbbench-relay")
        self._threads.append(thread)
        thread.start()

    def _connect_upstream(self) -> socket.socket:
        if isinstance(self._upstream, str):
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(self._upstream)
            return upstream
        upstream = socket.create_connection(self._upstream)
        upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return upstream

    def _accept_loop(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                server = self._connect_upstream()
            except OSError:
                client.close()  # the client sees the connection drop, as it would
                continue
            with self._lock:
                self._connections += 1
                self._sockets += [client, server]
            conversation = _Conversation(client, server)
            self._start(self._pump, client, server, _TO_SERVER, conversation)
            self._start(self._pump, server, client, _TO_CLIENT, conversation)

    def _pump(
        self, source: socket.socket, target: socket.socket, direction: str, talk: _Conversation
    ) -> None:
        try:
            while data := source.recv(CHUNK_BYTES):
                if direction == _TO_SERVER:
                    with self._lock:
                        talk.last, talk.client_spoke = _TO_SERVER, True
                else:
                    self._answer(talk)
                # counted before forwarding: the client cannot see an answer uncounted
                target.sendall(data)
        except OSError:
            pass
        if direction == _TO_SERVER:
            with self._lock:
                talk.client_done = True
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)
        with self._lock:
            talk.pumps -= 1
            finished = talk.pumps == 0
            if finished:
                self._sockets = [s for s in self._sockets if s not in talk.sockets]
        if finished:
            for sock in talk.sockets:
                sock.close()

    def _answer(self, talk: _Conversation) -> None:
        """Count bytes from the server as a turn if they start one the client waits for."""
        with self._lock:
            starts = talk.last != _TO_CLIENT
            first = talk.last is None
            talk.client_spoke = False
        if not starts:
            return  # more of an answer already counted
        time.sleep(self._hold_s)
        with self._lock:
            if talk.client_spoke or talk.client_done:
                return  # the client went on without it, or left: no wait, no turn
            if first:
                self._greetings += 1
            else:
                self._turns += 1
            talk.last = _TO_CLIENT

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        for thread in self._threads:
            thread.join(timeout=2)
