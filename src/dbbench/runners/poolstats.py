"""Counting what a SQLAlchemy pool does, from the pool's own events.

Latency alone does not say *why* a pool was slow: a pool that opens and closes
connections all the time ("churn", e.g. overflow connections closed at every
checkin) costs almost what connect-per-operation costs.  ``PoolInstrument``
listens to the pool's events and counts physical connects and closes next to
checkouts and checkins, so a result can show that churn.

Which events fire, checked against SQLAlchemy 2.x ``pool/base.py`` and
``pool/impl.py`` (QueuePool, ``engine.raw_connection()`` + ``.close()``):

* every physical connection opened: ``connect`` (``_ConnectionRecord.__connect``),
  after the engine's own first-connect set-up has run on it;
* an overflow connection returned to a full pool: ``reset``, ``checkin``, then
  ``close`` (``QueuePool._do_return_conn`` catches ``Full`` and calls
  ``record.close()``);
* ``pool_recycle`` expiring a connection at checkout: ``close`` then ``connect``
  (``_ConnectionRecord.get_connection``), no ``invalidate``;
* ``pool_pre_ping`` finding a dead connection: ``invalidate``, ``close``, then
  ``connect`` (``_ConnectionFairy._checkout`` catches the
  ``InvalidatePoolError``); the pool's invalidation time moves too, so other
  idle connections older than that are recycled (``close`` + ``connect``) at
  their next checkout;
* ``engine.dispose()``: one ``close`` per idle connection (``QueuePool.dispose``);
  the new pool inherits these listeners (``Pool.recreate`` passes ``_dispatch``);
* a checkout that raises ``TimeoutError`` (``QueuePool._do_get``): no event at all;
* a checkout whose connect fails: a ``checkin`` without a ``checkout``
  (``_ConnectionRecord._checkin_failed``), which is why checkins are matched to
  checkouts below.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import sqlalchemy
from sqlalchemy import event
from sqlalchemy.pool import ConnectionPoolEntry

from dbbench.results.model import PoolCounters


class PoolInstrument:
    """Counts the events of ``engine.pool`` (and of the pools ``engine.dispose()`` makes).

    The handlers run inside the pool's checkout and checkin, in whichever
    thread checks out, so they are kept to a lock and a few additions: their
    cost lands in the timed operation.

    "Checked out" is tracked per connection record rather than as
    checkouts - checkins, so that a ``checkin`` the pool emits without a
    ``checkout`` (a checkout whose connect failed) cannot push it below zero.
    A connection detached from the pool (``detach`` event) stops counting as
    checked out; its later close is a ``close_detached``.
    """

    def __init__(self, engine: sqlalchemy.Engine) -> None:
        self._lock = threading.Lock()
        self._connects = 0
        self._closes = 0
        self._checkouts = 0
        self._checkins = 0
        self._invalidations = 0
        self._peak = 0
        self._out: set[ConnectionPoolEntry] = set()
        # The pool the listeners were added to; event.remove needs this same target,
        # and removes the copies a dispose() handed to the new pool as well.
        self._target = engine.pool
        self._listeners: list[tuple[str, Callable[..., None]]] = [
            ("connect", self._on_connect),
            ("close", self._on_close),
            ("close_detached", self._on_close_detached),
            ("checkout", self._on_checkout),
            ("checkin", self._on_checkin),
            ("detach", self._on_detach),
            ("invalidate", self._on_invalidate),
            ("soft_invalidate", self._on_invalidate),
        ]
        for name, handler in self._listeners:
            event.listen(self._target, name, handler)

    @property
    def checked_out(self) -> int:
        """Connections checked out right now, as far as the events say."""
        with self._lock:
            return len(self._out)

    def snapshot(self) -> PoolCounters:
        """A consistent copy of the counters: all taken under one lock."""
        with self._lock:
            return PoolCounters(
                connects=self._connects,
                closes=self._closes,
                checkouts=self._checkouts,
                checkins=self._checkins,
                invalidations=self._invalidations,
                peak_checked_out=self._peak,
            )

    def reset_peak(self) -> None:
        """Forget the peak so far (e.g. of the warm-up); it restarts at the current count."""
        with self._lock:
            self._peak = len(self._out)

    def detach(self) -> None:
        """Remove the listeners; counting stops.  Safe to call twice."""
        listeners, self._listeners = self._listeners, []
        for name, handler in listeners:
            if event.contains(self._target, name, handler):
                event.remove(self._target, name, handler)

    # --- event handlers: called by SQLAlchemy, keep them tiny -------------------

    def _on_connect(self, dbapi_connection: Any, connection_record: ConnectionPoolEntry) -> None:
        with self._lock:
            self._connects += 1

    def _on_close(self, dbapi_connection: Any, connection_record: ConnectionPoolEntry) -> None:
        with self._lock:
            self._closes += 1

    def _on_close_detached(self, dbapi_connection: Any) -> None:
        with self._lock:
            self._closes += 1

    def _on_checkout(
        self, dbapi_connection: Any, connection_record: ConnectionPoolEntry, connection_proxy: Any
    ) -> None:
        with self._lock:
            self._checkouts += 1
            self._out.add(connection_record)
            if len(self._out) > self._peak:
                self._peak = len(self._out)

    def _on_checkin(self, dbapi_connection: Any, connection_record: ConnectionPoolEntry) -> None:
        with self._lock:
            if connection_record in self._out:
                self._out.remove(connection_record)
                self._checkins += 1

    def _on_detach(self, dbapi_connection: Any, connection_record: ConnectionPoolEntry) -> None:
        with self._lock:
            self._out.discard(connection_record)

    def _on_invalidate(
        self,
        dbapi_connection: Any,
        connection_record: ConnectionPoolEntry,
        exception: BaseException | None,
    ) -> None:
        with self._lock:
            self._invalidations += 1
