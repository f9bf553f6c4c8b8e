"""Stopping on a signal at any moment, keeping what was measured and leaving nothing behind.

SIGINT (Ctrl-C), SIGTERM (``kill``, a CI job's timeout) and SIGHUP (a closed
terminal, a dropped ssh session) stop a command alike (``STOP_SIGNALS``).
``stop_on_signals()`` handles them -- the command line's around every command,
and each worker process's (``--processes``) -- by these rules:

1. The first raises ``KeyboardInterrupt`` in the main thread, where it lands, as
   Ctrl-C does: the run stops, and every ``finally`` and ``with`` on the way out
   cleans up (the scratch table dropped, the worker processes joined, the
   throwaway server stopped and its directory removed).
2. Once one was raised, later ones are noted, never raised.  A stop takes a
   moment (operations in flight end, worker processes send what they measured, a
   server shuts down), and a second Ctrl-C, or the TERM after a TERM, raised in
   the middle of it would break the clean-up half-way and lose what was measured.
3. What was measured is kept: once a stretch of measuring (``interruptible()``)
   is over, a signal is noted, not raised, until the next stretch begins, so the
   results are summarised, written and printed.  A stretch never begins once a
   stop was asked for: ``interruptible()``, like ``check()``, raises
   ``KeyboardInterrupt`` at once (a sweep's next cell, a repetition, a stale case).
4. ``held()`` marks a few statements a signal must not cut in two (creating the
   scratch table and knowing that it exists; dropping it; starting and joining
   worker processes; starting and stopping the throwaway server): a signal is
   noted there and acted on at their end (or by the next ``interruptible()`` or
   ``check()``).
5. A command during which a stop signal arrived exits 130 (``requested()``),
   however far it got.

A signal ignored when the command starts stays ignored (``nohup`` ignores SIGHUP).

Worker processes are started inside ``spawning()``: they begin with the stop
signals blocked, so one that reaches them while their interpreter starts up (a
terminal's Ctrl-C goes to the whole process group) waits, instead of being raised
in the middle of their imports; their ``stop_on_signals(worker=True)`` unblocks
them once its handlers are in.

Outside ``stop_on_signals()`` (the library called from a script), ``held()`` holds
the signals off and delivers the first at its end, to the handler it would have met;
the rest does nothing.  Only the main thread handles signals: elsewhere all of this
does nothing (``spawning()`` still blocks the signals for the processes it starts).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import TextIO

from dbbench.errors import ExitStatus

#: the signals that stop a command: Ctrl-C, kill/a CI timeout, a closed terminal
STOP_SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


class _Stop:
    """The stop signals of one command (one ``stop_on_signals()``), and what to do next."""

    def __init__(self) -> None:
        #: every stop signal received, in order
        self.received: list[int] = []
        #: a KeyboardInterrupt was raised (or diverted): none is raised while a signal lands
        self.raised = False
        #: how deep in ``held()``
        self.holding = 0
        #: how deep in ``interruptible()``
        self.stretches = 0
        #: a stretch of measuring is over: a signal now lets its results be kept
        self.keeping = False
        #: called with every stop signal (worker processes are told of it)
        self.listeners: list[Callable[[int], None]] = []
        #: what the first signal does instead of raising, where it is set (``diverted``)
        self.diversion: Callable[[], None] | None = None

    def handle(self, signum: int, frame: object) -> None:
        self.received.append(signum)
        for listener in list(self.listeners):
            listener(signum)
        self.act()

    def act(self) -> None:
        """Stop here, if a stop was asked for and is due: raise KeyboardInterrupt (or
        divert it), unless one was raised, a block holds signals, or results are kept."""
        if not self.received or self.raised or self.holding or self.keeping:
            return
        self.raised = True
        if self.diversion is not None:
            self.diversion()
            return
        raise KeyboardInterrupt


#: the main thread's ``stop_on_signals()``, while it lasts
_active: _Stop | None = None


def _stop() -> _Stop | None:
    """The command's stop state, for the main thread (which alone handles signals)."""
    return _active if threading.current_thread() is threading.main_thread() else None


@contextlib.contextmanager
def stop_on_signals(
    *,
    worker: bool = False,
    then: Callable[[int], None] | None = None,
    last: bool = False,
) -> Iterator[None]:
    """Stop on SIGINT, SIGTERM and SIGHUP by the module's rules; the handlers before
    are back afterwards.  ``then(signum)`` is called with every stop signal meanwhile.
    Inside another ``stop_on_signals()``, that one's handlers go on (``then`` added).

    ``worker``: a worker process's, started by ``spawning()``: SIGINT is handled even
    where it was ignored (it is how the parent stops it), and the stop signals are
    unblocked (one that came meanwhile is noted now, and acted on by ``interruptible()``).

    ``last``: the process ends with the block (a command line's, a worker's): afterwards
    the stop signals are ignored, not handled as before, so that the TERM after a TERM
    does not kill it on its way out, its status said.
    """
    global _active
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if _active is not None:
        with _listening(_active, then):
            yield
        return
    stop = _Stop()
    previous = {}
    for number in STOP_SIGNALS:
        handler = signal.getsignal(number)
        if handler == signal.SIG_IGN and not (worker and number == signal.SIGINT):
            continue  # nohup's SIGHUP, a background job's SIGINT
        previous[number] = handler
        signal.signal(number, stop.handle)
    _active = stop
    try:
        if worker:
            # the handlers of signals pending since the start run in this call: noted
            with held(then_act=False):
                signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        with _listening(stop, then):
            yield
    finally:
        _active = None
        for number, handler in previous.items():
            if last:
                signal.signal(number, signal.SIG_IGN)
            elif handler is not None:  # None: set outside Python, which cannot be put back
                signal.signal(number, handler)


@contextlib.contextmanager
def _listening(stop: _Stop, listener: Callable[[int], None] | None) -> Iterator[None]:
    if listener is None:
        yield
        return
    stop.listeners.append(listener)
    try:
        yield
    finally:
        stop.listeners.remove(listener)


def handling() -> bool:
    """Whether ``stop_on_signals()`` handles the stop signals here (the main thread)."""
    return _stop() is not None


def requested() -> bool:
    """Whether a stop signal has arrived during this command."""
    stop = _stop()
    return stop is not None and bool(stop.received)


def first_signal() -> str | None:
    """The name of the first stop signal received (``SIGTERM``), or None."""
    stop = _stop()
    if stop is None or not stop.received:
        return None
    return signal.Signals(stop.received[0]).name


def check() -> None:
    """Raise ``KeyboardInterrupt`` if a stop signal has arrived: nothing new starts then."""
    stop = _stop()
    if stop is not None and stop.received:
        stop.raised = True
        raise KeyboardInterrupt


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """A stretch of measuring (and the checks before it): it does not begin once a stop
    was asked for (``KeyboardInterrupt`` at once); inside, the first stop signal raises
    ``KeyboardInterrupt``; once it is over, signals are noted so that its results are
    kept, until the next stretch begins."""
    stop = _stop()
    if stop is None:
        yield
        return
    check()
    stop.keeping = False
    stop.stretches += 1
    try:
        yield
    finally:
        stop.stretches -= 1
        if stop.stretches == 0:
            stop.keeping = True


@contextlib.contextmanager
def held(*, then_act: bool = True) -> Iterator[None]:
    """A few statements a stop signal must not cut in two: one arriving inside is noted,
    and acted on at the end, where a signal arriving then would be (``KeyboardInterrupt``,
    unless one was raised or results are being kept).  ``then_act=False``: only noted,
    for the next ``interruptible()`` or ``check()`` to act on -- for a block whose end
    must not raise (a note returned, a message read, results being gathered).  Outside
    ``stop_on_signals()``, the signals are held off here and the first is delivered at
    the end, to the handler it would have met (Ctrl-C: ``KeyboardInterrupt``)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    stop = _active
    if stop is not None:
        stop.holding += 1
        try:
            yield
        finally:
            stop.holding -= 1
        if then_act:
            stop.act()
        return
    pending: list[int] = []
    previous = {}
    for number in STOP_SIGNALS:
        handler = signal.getsignal(number)
        if handler is None or handler == signal.SIG_IGN:
            continue
        previous[number] = handler
        signal.signal(number, lambda signum, frame: pending.append(signum))
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    if pending:  # delivered now, as it would have been: to the handler it found
        signal.raise_signal(pending[0])


@contextlib.contextmanager
def spawning() -> Iterator[None]:
    """Processes started inside begin with the stop signals blocked (a worker's
    ``stop_on_signals(worker=True)`` unblocks them), and a signal arriving meanwhile is
    held (``held()``)."""
    with held():
        before = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            yield
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, before)


@contextlib.contextmanager
def diverted(action: Callable[[], None]) -> Iterator[bool]:
    """Inside, the first stop signal calls ``action()`` instead of raising
    ``KeyboardInterrupt`` where it lands (an event loop cancels its task, which ends
    cleanly, and its caller raises).  Gives whether it does: False outside
    ``stop_on_signals()``."""
    stop = _stop()
    if stop is None:
        yield False
        return
    before, stop.diversion = stop.diversion, action
    try:
        yield True
    finally:
        stop.diversion = before


def exit_status(status: int | None, say: Callable[[str], None]) -> int:
    """A command's exit status: 130 when a stop signal arrived during it, whatever it got to
    (``say`` tells why when the command finished all the same, the signal having come
    after its measuring, or failed meanwhile); else ``status``.  After a stop, standard
    output and error that can take no more (a closed terminal) are let go, rather than
    fail the exit."""
    if not requested():
        return int(status or 0)
    finished = (ExitStatus.SUCCESS, ExitStatus.RUN_ERRORS, ExitStatus.THRESHOLD)
    with contextlib.suppress(OSError):
        if (status or 0) in finished:
            say(
                f"dbbench: interrupted ({first_signal()}) after it had measured: what it "
                "printed and wrote is complete"
            )
        elif status != ExitStatus.INTERRUPTED:  # it failed too, and said why
            say(f"dbbench: interrupted ({first_signal()})")
    for stream in (sys.stdout, sys.stderr):
        _flush_or_let_go(stream)
    _forget_interrupt_in_exec()
    return ExitStatus.INTERRUPTED


def _forget_interrupt_in_exec() -> None:
    """CPython (3.11) notes a KeyboardInterrupt that leaves an ``exec()`` of a string as
    unhandled, even once it is handled, and ``python -m`` then ends the process by SIGINT
    rather than with its status.  Generated code runs that way at import time
    (dataclasses, SQLAlchemy), where a signal often lands; an ``exec()`` that ends
    normally clears the note."""
    exec("pass")  # noqa: S102 - a constant


def _flush_or_let_go(stream: TextIO | None) -> None:
    """Flush ``stream``, or point it at /dev/null when it cannot be written (a terminal
    hung up): the interpreter would fail its exit on the flush (status 120)."""
    if stream is None:
        return
    try:
        stream.flush()
    except (OSError, ValueError):
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, stream.fileno())
            finally:
                os.close(devnull)
