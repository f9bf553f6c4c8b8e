"""A TCP proxy that delays every byte by a fixed one-way time, both ways, in order.

The kernels here lack ``sch_netem``, so the tests put this between a client
and a server to stand for a network.  Each chunk read from one side is held
for ``delay_s`` and then written to the other, in the order read; each
direction has its own queue, so the two ways overlap as on a real link.

A client's connect to a proxy on 127.0.0.1 completes at once: the kernel
answers the SYN locally.  On a real network the server hears of a new
connection only after SYN, SYN-ACK and ACK have crossed (three one-way
trips), so the proxy waits that long before it connects to the server,
and the server's greeting then takes one more trip back.

asyncio runs on a ``select()`` loop in a thread of its own: its timers are
precise to microseconds, where epoll's are rounded up to milliseconds.
``late_s`` records how late each chunk was delivered all the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import selectors
import threading
import time
from collections.abc import Callable

#: one-way trips before the server accepts a connection: SYN, SYN-ACK, ACK
HANDSHAKE_TRIPS = 3
CHUNK_BYTES = 65536


class DelayProxy:
    """``with DelayProxy(("127.0.0.1", 3306), delay_s=0.005) as proxy: proxy.port``."""

    def __init__(
        self,
        upstream: tuple[str, int],
        delay_s: float,
        watch: Callable[[], Callable[[bytes], None]] | None = None,
    ) -> None:
        self._upstream = upstream
        self.delay_s = delay_s
        #: called for each connection: what it returns is given every chunk the client sends
        self._watch = watch
        self._loop = asyncio.SelectorEventLoop(selectors.SelectSelector())
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="delay-proxy")
        self._server: asyncio.Server | None = None
        self.port = 0
        #: how late each chunk was delivered, in seconds (the delay's own error)
        self.late_s: list[float] = []

    def __enter__(self) -> DelayProxy:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the delay proxy did not start")
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", 0)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._server.close()
            tasks = asyncio.all_tasks(self._loop)
            for task in tasks:
                task.cancel()
            # wait for the cancelled connections, so that none complains at exit
            self._loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            self._loop.close()

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter):
        await asyncio.sleep(HANDSHAKE_TRIPS * self.delay_s)
        try:
            server_r, server_w = await asyncio.open_connection(*self._upstream)
        except OSError:
            client_w.close()
            return
        await asyncio.gather(
            self._direction(client_r, server_w, self._watch() if self._watch else None),
            self._direction(server_r, client_w),
            return_exceptions=True,
        )
        for writer in (client_w, server_w):
            writer.close()

    async def _direction(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        observe: Callable[[bytes], None] | None = None,
    ):
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due_s, data = await queue.get()
                wait_s = due_s - time.perf_counter()
                if wait_s > 0:
                    await asyncio.sleep(wait_s)
                self.late_s.append(time.perf_counter() - due_s)
                if not data:  # end of stream, after everything before it
                    with contextlib.suppress(OSError):
                        writer.write_eof()
                    return
                writer.write(data)
                await writer.drain()

        delivering = asyncio.ensure_future(deliver())
        try:
            while data := await reader.read(CHUNK_BYTES):
                queue.put_nowait((time.perf_counter() + self.delay_s, data))
                if observe is not None:
                    observe(data)
        except OSError:
            pass
        queue.put_nowait((time.perf_counter() + self.delay_s, b""))
        await delivering
