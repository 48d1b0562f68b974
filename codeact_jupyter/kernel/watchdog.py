"""One long-lived thread that calls back when a step's time is up.

A ``threading.Timer`` per step started a thread per step: about 0.5 ms, and the start
hands the interpreter to other threads (IPython's history writer takes its lock then, and
the next step waits on it): a few ms per turn in all. This thread is started once and
is woken only when a deadline earlier than the one it waits for is set.
"""
from __future__ import annotations

import math
import threading
import time
from typing import Callable


class Watchdog:
    def __init__(self):
        self._cond = threading.Condition()
        self._due: tuple[float, Callable[[], None], object] | None = None
        self._waiting_until = math.inf
        self._thread: threading.Thread | None = None

    def arm(self, seconds: float, fire: Callable[[], None]) -> object:
        """Call ``fire()`` in ``seconds`` unless disarmed; returns the token for disarm."""
        token = object()
        when = time.monotonic() + seconds
        with self._cond:
            self._due = (when, fire, token)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="codeact-deadline", daemon=True)
                self._thread.start()
            elif when < self._waiting_until:
                self._cond.notify()
        return token

    def disarm(self, token: object) -> None:
        with self._cond:
            if self._due is not None and self._due[2] is token:
                self._due = None  # the thread finds nothing due when it wakes

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    due = self._due
                    left = math.inf if due is None else due[0] - time.monotonic()
                    if left <= 0:
                        self._due, self._waiting_until = None, math.inf
                        break
                    self._waiting_until = time.monotonic() + left
                    self._cond.wait(None if left == math.inf else left)
            due[1]()  # outside the lock: the callback takes its own


WATCHDOG = Watchdog()
