"""The one deadline thread every step shares (watchdog.py): it fires when time is up, never
after a disarm, and a new earlier deadline wakes it."""
from __future__ import annotations

import threading
import time

from codeact_jupyter.kernel.watchdog import Watchdog


def test_it_fires_once_when_the_time_is_up():
    dog, fired = Watchdog(), threading.Event()
    started = time.monotonic()
    dog.arm(0.2, fired.set)
    assert fired.wait(5)
    assert time.monotonic() - started >= 0.19


def test_a_disarmed_deadline_never_fires_and_a_later_one_still_does():
    dog, calls = Watchdog(), []
    for _ in range(200):  # steps that end in time: no thread per step, nothing fires
        dog.disarm(dog.arm(0.05, lambda: calls.append("early")))
    done = threading.Event()
    dog.arm(0.3, lambda: (calls.append("late"), done.set()))
    assert done.wait(5)
    time.sleep(0.1)
    assert calls == ["late"]


def test_an_earlier_deadline_wakes_a_thread_waiting_for_a_later_one():
    dog, fired = Watchdog(), threading.Event()
    dog.disarm(dog.arm(60, lambda: None))  # the thread now waits up to a minute
    started = time.monotonic()
    dog.arm(0.1, fired.set)
    assert fired.wait(5) and time.monotonic() - started < 2


def test_disarming_with_an_old_token_keeps_the_new_deadline():
    dog, fired = Watchdog(), threading.Event()
    old = dog.arm(60, lambda: None)
    dog.arm(0.1, fired.set)
    dog.disarm(old)
    assert fired.wait(5)
