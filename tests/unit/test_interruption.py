"""The rules of ``dbbench.interruption``, signal by signal (raised in this process)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading

import pytest

from dbbench import interruption
from dbbench.errors import ExitStatus

pytestmark = pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread(), reason="signals need it"
)

STOPS = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP]


@pytest.fixture(autouse=True)
def handlers_kept():
    """Every test leaves the handlers as it found them."""
    before = {number: signal.getsignal(number) for number in STOPS}
    yield
    for number, handler in before.items():
        assert signal.getsignal(number) is handler
        signal.signal(number, handler)


@pytest.mark.parametrize("first", STOPS, ids=lambda s: s.name)
def test_the_first_stop_signal_raises_and_later_ones_are_only_noted(first):
    with interruption.stop_on_signals():
        assert not interruption.requested()
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(first)
        for later in STOPS:  # the stop under way is not cut short
            signal.raise_signal(later)
        assert interruption.requested()
        assert interruption.first_signal() == first.name


def test_a_signal_in_a_held_block_is_raised_at_its_end():
    ran = []
    with interruption.stop_on_signals():
        with pytest.raises(KeyboardInterrupt), interruption.held():
            signal.raise_signal(signal.SIGTERM)
            ran.append("the rest of the block")
        assert ran == ["the rest of the block"]
        signal.raise_signal(signal.SIGTERM)  # raised once: no more


def test_a_block_whose_end_must_not_raise_leaves_the_signal_to_the_next_check():
    with interruption.stop_on_signals():
        with interruption.held(then_act=False):
            signal.raise_signal(signal.SIGTERM)
        assert interruption.requested()
        with pytest.raises(KeyboardInterrupt):
            interruption.check()


def test_once_a_stretch_of_measuring_is_over_a_signal_lets_its_results_be_kept():
    with interruption.stop_on_signals():
        with interruption.interruptible():
            pass
        signal.raise_signal(signal.SIGHUP)  # summarising, writing, printing: not cut
        with pytest.raises(KeyboardInterrupt), interruption.interruptible():
            raise AssertionError("the next stretch must not begin")


def test_inside_a_stretch_the_first_signal_raises():
    with interruption.stop_on_signals():
        with interruption.interruptible():
            pass
        with pytest.raises(KeyboardInterrupt), interruption.interruptible():
            signal.raise_signal(signal.SIGTERM)


def test_every_stop_signal_is_told_to_the_listeners():
    heard = []
    with (
        interruption.stop_on_signals(),
        interruption.stop_on_signals(then=heard.append),
        interruption.held(then_act=False),
    ):
        for number in STOPS:
            signal.raise_signal(number)
    assert heard == STOPS


def test_the_first_signal_can_be_diverted():
    done = []
    with interruption.stop_on_signals():
        with interruption.diverted(lambda: done.append(True)) as diverting:
            assert diverting
            signal.raise_signal(signal.SIGTERM)  # no KeyboardInterrupt here
        assert done == [True]
    with interruption.diverted(lambda: None) as diverting:
        assert not diverting  # no handler of ours: nothing to divert


def test_a_signal_ignored_at_the_start_stays_ignored_but_a_worker_hears_sigint():
    previous = {number: signal.signal(number, signal.SIG_IGN) for number in STOPS}
    try:
        with interruption.stop_on_signals():
            assert all(signal.getsignal(number) == signal.SIG_IGN for number in STOPS)
        with interruption.stop_on_signals(worker=True):
            assert signal.getsignal(signal.SIGINT) != signal.SIG_IGN
            assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN  # nohup's
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def test_the_last_block_of_a_process_leaves_the_signals_ignored():
    previous = {number: signal.getsignal(number) for number in STOPS}
    try:
        with interruption.stop_on_signals(last=True):
            pass
        assert all(signal.getsignal(number) == signal.SIG_IGN for number in STOPS)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def test_held_without_our_handlers_delivers_the_signal_at_its_end():
    ran = []
    with pytest.raises(KeyboardInterrupt), interruption.held():  # SIGINT's handler: Python's
        signal.raise_signal(signal.SIGINT)
        ran.append("the rest of the block")
    assert ran == ["the rest of the block"]


def test_children_started_while_spawning_begin_with_the_signals_blocked():
    probe = "import json, signal; print(json.dumps(list(map(int, signal.pthread_sigmask(0, [])))))"
    with (
        interruption.stop_on_signals(),
        pytest.raises(KeyboardInterrupt),
        interruption.spawning(),
    ):
        signal.raise_signal(signal.SIGTERM)  # held meanwhile, raised at the end
        child = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert {int(number) for number in STOPS} <= set(json.loads(child.stdout))
    outside = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert not {int(number) for number in STOPS} & set(json.loads(outside.stdout))


def test_the_exit_status_is_130_once_a_stop_signal_came():
    said = []
    with interruption.stop_on_signals():
        assert interruption.exit_status(ExitStatus.RUN_ERRORS, said.append) == 3
        with interruption.interruptible():
            pass
        signal.raise_signal(signal.SIGTERM)  # after the measuring: the results whole
        assert interruption.exit_status(ExitStatus.SUCCESS, said.append) == 130
        assert interruption.exit_status(ExitStatus.INTERRUPTED, said.append) == 130
        assert interruption.exit_status(ExitStatus.ERROR, said.append) == 130
    assert said == [
        "dbbench: interrupted (SIGTERM) after it had measured: what it printed and wrote is "
        "complete",
        "dbbench: interrupted (SIGTERM)",
    ]
