"""Tool-call action modes for ``codeact eval --action-mode json|text``, as in the CodeAct
paper's comparison (M3ToolEval): instead of writing Python, the model calls one tool per
turn, either as JSON ``{"tool": "get_price", "args": ["drill"]}`` or as a text line
``get_price, drill``. Same tasks, same tools, same loop.

A backend that wraps the real one (kernel side). For the model it swaps the system prompt
for the mode's, listing the tools with their signatures and docstrings; each reply it gets
is turned into one step that calls the tool and prints the result's repr (or prints why
the action could not be parsed), so the loop runs it like any step. Replies that call no
tool are answers. The run's transcript (``last_run().messages``, the trace) is kept as the
model saw it: the system prompt of the mode and the model's own actions, not the
generated calls (these are in the steps).
"""
from __future__ import annotations

import ast
import json
import re
from typing import Iterator

MODES = ("code", "json", "text")
NAME = "tool-actions"  # the wrapper's backend name, registered only for a headless run

PROMPTS = {
    "json": ('To act, call exactly one tool per reply with a JSON object and nothing else: '
             '{"tool": "NAME", "args": [ARG1, ARG2, ...]} (arguments in the order of the '
             'tool\'s parameters, as JSON values).'),
    "text": ("To act, call exactly one tool per reply with one line and nothing else: "
             "NAME, ARG1, ARG2, ... (arguments in the order of the tool's parameters; strings "
             "without quotes, numbers as numbers)."),
}


def system_prompt(mode: str, tools: list[dict]) -> str:
    listed = "\n".join(f"- {t['name']}{t['signature']}: {t['doc']}" for t in tools)
    return (f"You solve the user's task with the tools below. {PROMPTS[mode]} The tool's "
            "result comes back as an \"Observation:\". You cannot write or run code. When you "
            f"know the answer, reply in plain words without a tool call.\n\nTools:\n{listed}")


def describe_tools(ns: dict, names: list[str]) -> list[dict]:
    """Name, signature and docstring of each tool function in the kernel's namespace."""
    import inspect

    tools = []
    for name in names:
        fn = ns.get(name)
        if not callable(fn):
            continue
        doc = " ".join((inspect.getdoc(fn) or "").split())
        tools.append({"name": name, "signature": str(inspect.signature(fn)), "doc": doc})
    return tools


def parse_action(reply: str, mode: str, names: list[str]) -> tuple[str, list] | str | None:
    """(tool, args) for a call; a message for the model when the reply tried to act but
    cannot be read; None for an answer."""
    if mode == "json":
        return _json_action(reply, names)
    return _text_action(reply, names)


def _json_action(reply: str, names: list[str]):
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", reply):
        try:
            value, _ = decoder.raw_decode(reply, match.start())
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict) and "tool" in value:
            args = value.get("args", [])
            if not isinstance(args, list):
                return 'The "args" of a tool call must be a JSON list: {"tool": "NAME", "args": [...]}.'
            return _known(str(value["tool"]), args, names)
    if re.search(r'"tool"\s*:', reply):
        return 'Your tool call is not valid JSON. Write {"tool": "NAME", "args": [ARG1, ...]}.'
    return None


def _text_action(reply: str, names: list[str]):
    for line in reply.strip().splitlines():
        parts = [p.strip() for p in line.strip().strip("`").split(",")]
        if parts and parts[0] in names:
            return _known(parts[0], [_literal(p) for p in parts[1:] if p != ""], names)
    return None


def _known(tool: str, args: list, names: list[str]):
    if tool not in names:
        return f"There is no tool {tool!r}. The tools are: {', '.join(names)}."
    return tool, args


def _literal(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text.strip("'\"")


def step_code(action) -> str:
    """The step that performs a parsed action: the call, its result printed as a repr; or
    the message for a reply that could not be read."""
    if isinstance(action, str):
        return f"print({action!r})"
    tool, args = action
    return f"print(repr({tool}({', '.join(repr(a) for a in args)})))"


def oracle_actions(task, mode: str) -> list[str]:
    """The tool calls the task's reference solution makes, in order, written as ``mode``
    actions: the solution runs here with its tools wrapped to record each call."""
    import contextlib
    import io

    ns: dict = {}
    calls: list[tuple[str, tuple]] = []

    def recording(name, fn):
        def call(*args):
            calls.append((name, args))
            return fn(*args)
        return call

    with contextlib.redirect_stdout(io.StringIO()):
        for code in task.setup:
            exec(code, ns)
        for name in task.tools:
            ns[name] = recording(name, ns[name])
        for code in task.solution:
            exec(code, ns)
    if mode == "json":
        return [json.dumps({"tool": name, "args": list(args)}) for name, args in calls]
    return [", ".join([name, *map(str, args)]) for name, args in calls]


def parse_reply(text: str):
    from ..agent.replies import parse_reply as parse

    return parse(text)


def with_action_mode(settings, mode: str, tools: list[dict]):
    """The task's settings with the configured backend wrapped for a tool-call mode."""
    from dataclasses import replace

    from .. import backends

    # Known for this kernel's headless runs only: never listed to users of the magic.
    backends.register_backend(NAME, f"{__name__}:ToolActionBackend")
    config = settings.backend_config
    extras = {**config.extras, "action_mode": mode, "tools": tools, "inner_backend": settings.backend}
    return replace(settings, backend=NAME, backend_config=replace(config, extras=extras))


class ToolActionBackend:
    """Wraps the configured backend (``extras["inner_backend"]``) for a tool-call mode
    (``extras["action_mode"]``, with ``extras["tools"]`` from :func:`describe_tools`)."""

    name = NAME
    declares_tools = tool_messages = False  # its own tool format, never the inner backend's

    def __init__(self, config):
        from dataclasses import replace

        from ..backends import create_backend

        extras = dict(config.extras)
        self.mode = extras.pop("action_mode")
        self.tools = extras.pop("tools")
        self.names = [t["name"] for t in self.tools]
        self.inner = create_backend(extras.pop("inner_backend"), replace(config, extras=extras))
        self.context_size = getattr(self.inner, "context_size", None)
        self.last_usage = None
        self._said: dict[str, str] = {}  # the step's reply as the loop keeps it -> the model's reply

    def describe(self) -> str:
        return f"{self.inner.describe()} · {self.mode} actions"

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def __getattr__(self, name):  # notices, after_step... are the inner backend's
        inner = self.__dict__.get("inner")
        if inner is None:
            raise AttributeError(name)
        return getattr(inner, name)

    def stream(self, messages: list[dict], stop: list[str]) -> Iterator:
        # The transcript is the run's own list: what it keeps is what the model was sent.
        if messages[0]["role"] == "system":  # (a profile may put its instructions in the task)
            messages[0]["content"] = system_prompt(self.mode, self.tools)
        for message in messages:
            if message["role"] == "assistant" and message["content"] in self._said:
                message["content"] = self._said.pop(message["content"])
        stop = [s for s in stop if "execute" not in s]
        chunks = []
        for chunk in self.inner.stream(messages, stop):
            if isinstance(chunk, str):
                chunks.append(chunk)
            else:
                yield chunk
        self.last_usage = self.inner.last_usage
        reply = "".join(chunks)
        action = parse_action(reply, self.mode, self.names)
        if action is None and parse_reply(reply).code is not None:
            action = f"Code cannot run here. {PROMPTS[self.mode]} Or answer in plain words."
        if action is None:
            yield reply
            return
        step = f"<execute>\n{step_code(action)}\n</execute>"
        self._said[step] = reply
        yield step
