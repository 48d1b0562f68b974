"""An eval task's verdict, computed in the task's kernel after the run.

The expected answer, if any, is scored first (scoring.py); then the task's checker, if
any: Python source defining ``check(ns, answer)``, called with the kernel's user namespace
and the answer text (None when the run ended without one). It returns True/False, or
(passed, reason); an exception it raises is a failure whose reason is the exception.
Beside ``check`` the source sees ``expected``, ``setup`` (the setup cells' code) and
``rerun(number=None)``: runs setup cell ``number`` (1-based; default: the task's failing
cell) again in the namespace and returns None, or the error it raised as ``Type: message``.
"""
from __future__ import annotations

import json
from typing import Any

from .scoring import match


def verdict(ns: dict, spec: dict, answer: str | None) -> dict:
    """``spec``: expected, tolerance, checker, setup, failing_cell. Returns
    ``{"passed": bool, "reason": str}``."""
    if spec.get("expected") is not None:
        ok, why = match(answer, spec["expected"], spec.get("tolerance"))
        if not ok:
            return {"passed": False, "reason": f"answer: {why}"}
    source = spec.get("checker")
    if not source:
        return {"passed": True, "reason": ""}
    scope: dict[str, Any] = {"expected": spec.get("expected"), "setup": list(spec.get("setup") or []),
                             "rerun": _rerun(ns, spec), "__name__": "codeact_checker"}
    try:
        exec(compile(source, "<checker>", "exec"), scope)
        result = scope["check"](ns, answer)
    except Exception as exc:
        return {"passed": False, "reason": f"checker: {type(exc).__name__}: {exc}"}
    if isinstance(result, tuple):
        passed, reason = bool(result[0]), str(result[1]) if len(result) > 1 else ""
    else:
        passed, reason = bool(result), ""
    if not passed and not reason:
        reason = "the checker said no"
    return {"passed": passed, "reason": f"checker: {reason}" if not passed else reason}


def _rerun(ns: dict, spec: dict):
    cells = list(spec.get("setup") or [])

    def rerun(number: int | None = None) -> str | None:
        number = number or spec.get("failing_cell")
        if not number:
            raise ValueError("rerun() needs a cell number: this task has no failing_cell")
        try:
            exec(compile(cells[number - 1], f"<setup cell {number}>", "exec"), ns)
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"
        return None
    return rerun


def check_in_kernel(request_json: str) -> None:
    """Called by the command after the run: the verdict goes back over the comm."""
    from IPython import get_ipython

    from .in_kernel import Channel

    request = json.loads(request_json)
    channel = Channel()
    try:
        channel.send("check", result=verdict(get_ipython().user_ns, request["spec"], request.get("answer")))
    finally:
        channel.close()
