"""How a headless run's kernel talks to the ``codeact`` command.

The command sends ordinary execute requests (code calling :mod:`.in_kernel`); the kernel
answers over a comm on target :data:`TARGET`, opened by that request, so its messages carry
the request as parent and arrive on IOPub as they are sent, in order, never mixed with
what steps print. Each comm message's data is one of::

    {"kind": "event",  "event": {...}}      an event of the loop (events.py to_dict()),
                                            as it happens; text deltas are not sent
    {"kind": "record", "record": {...}}     the run's end: answer, done reason, figures, trace
    {"kind": "check",  "result": {...}}     an eval checker's verdict (checking.py)

JSON only: events are made JSON-safe (jsonsafe.py) before they go.
"""
from __future__ import annotations

TARGET = "codeact_headless"
