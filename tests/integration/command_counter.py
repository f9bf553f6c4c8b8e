"""Counting the commands clients send a MySQL server, by command byte, on the wire.

Given what the client side of each connection sends (``DelayProxy(upstream, 0.0,
watch=counter.connection)``), read as MySQL packets (3 bytes of length, 1 of sequence
number, the payload): each packet that starts a command (sequence number 0; the login's
packets are 1 and up) is counted by its first byte, ``COM_PING`` for a ping,
``COM_QUERY`` for a statement.  Plain text only: a connection that switches to TLS
cannot be read after the switch (give ``--ssl-mode disabled``).
"""

from __future__ import annotations

import collections
from collections.abc import Callable

COM_QUERY = 0x03
COM_PING = 0x0E


class CommandCounter:
    def __init__(self) -> None:
        #: command byte -> how many clients sent, over every connection so far
        self.commands: collections.Counter[int] = collections.Counter()

    def connection(self) -> Callable[[bytes], None]:
        """What reads one new connection's client side, chunk by chunk."""
        pending = bytearray()

        def observe(data: bytes) -> None:
            pending.extend(data)
            while len(pending) >= 4:
                length = int.from_bytes(pending[:3], "little")
                if len(pending) < 4 + length:
                    return
                sequence, payload = pending[3], pending[4 : 4 + length]
                if sequence == 0 and payload:
                    self.commands[payload[0]] += 1
                del pending[: 4 + length]

        return observe
