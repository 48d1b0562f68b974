"""Errors that end a task, written for the person (or model) who reads them.

Views show ``str(error)`` as it is: one clear sentence that says what to do, never a
traceback through our files. ``backends.base.BackendError`` is one kind.
"""
from __future__ import annotations


class TaskError(Exception):
    """A fatal problem of one task (a setting, a trace, a front end), worded for its fixer."""


class SettingsError(TaskError, ValueError):
    """A setting a task cannot run with; the message names every way of setting it (magic
    option, ``%config`` trait, panel setting)."""


def json_kind(value) -> str:
    """What a JSON value is, as a message about a file names it: "a number", "null"..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return {int: "a number", float: "a number", str: "a string", list: "a list",
            dict: "an object"}.get(type(value), type(value).__name__)
