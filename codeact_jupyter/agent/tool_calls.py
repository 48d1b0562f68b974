"""Tool calls as code actions: a model that calls a code tool runs a step, like ``<execute>``.

Two shapes arrive. OpenAI ``tool_calls`` (from an endpoint's tool parser, streamed as
deltas; backends/openai/reply.py joins them) are answered the OpenAI way: the assistant
message keeps its ``tool_calls`` and each call gets a ``tool`` message with its id. Hermes /
Qwen text, ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>`` (local models, and
servers without a tool parser), is answered as Qwen's chat template renders a tool's
result: a user turn holding ``<tool_response>…</tool_response>``, which every template and
endpoint accepts.

A call to a code tool (``python``, ``execute``, ``run_code``, ``code_interpreter``, ...)
runs its code; any other tool gets an observation naming the tool to use.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

# Names models give their code tool (the one codeact declares is "python").
CODE_TOOLS = ("python", "execute", "run_code", "code_interpreter", "ipython", "run_python",
              "execute_code", "execute_python", "jupyter")
_CODE_KEYS = ("code", "source", "script", "cell", "input", "python")
TOOL_NAME = "python"
ACTIONS = ("code", "tools")

# Declared to the endpoint with ``--actions tools``.
PYTHON_TOOL = {
    "type": "function",
    "function": {
        "name": TOOL_NAME,
        "description": ("Run Python code in the user's live Jupyter kernel (IPython: magics and "
                        "!shell lines work) and return what it printed and displayed."),
        "parameters": {
            "type": "object",
            "properties": {"code": {"type": "string", "description": "The Python code to run."}},
            "required": ["code"],
        },
    },
}

def system_prompt(actions: str) -> str:
    """The system prompt's file for an action format: one small file each."""
    return "system_tools.md" if actions == "tools" else "system.md"


_TEXT_CALL = re.compile(r"<tool_call>\s*(?P<body>.*?)\s*(?:</tool_call>|\Z)", re.S)
# gpt-oss (harmony) without a server parser: a commentary message addressed to a tool,
# ``<|start|>assistant<|channel|>commentary to=functions.python <|constrain|>json<|message|>{...}``
# (the recipient may also stand before the channel); reasoning.py has taken out <|call|>.
_HARMONY_CALL = re.compile(
    r"(?:<\|start\|>\s*assistant\s*)?(?:to=(?P<before>[\w.]+)\s*)?<\|channel\|>\s*commentary"
    r"(?:\s+to=(?P<after>[\w.]+))?[^<]*(?:<\|constrain\|>\s*\w+\s*)?<\|message\|>(?P<body>.*?)"
    r"(?=<\|start\|>|\Z)", re.S)


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # as the model wrote them: JSON text (or, for some models, the bare code)
    from_text: bool = False  # written as <tool_call> text, not sent as OpenAI tool_calls

    @property
    def is_code_tool(self) -> bool:
        return self.name.strip().lower().split(".")[-1] in CODE_TOOLS

    def code(self) -> str | None:
        """The code to run; None when the arguments hold none (the model is told)."""
        try:
            args = json.loads(self.arguments) if self.arguments.strip() else {}
        except ValueError:  # some models send the code itself; cut JSON is no code
            looks_json = self.arguments.lstrip().startswith(("{", '"'))
            return self.arguments if self.arguments.strip() and not looks_json else None
        if isinstance(args, str):
            return args if args.strip() else None
        if isinstance(args, dict):
            for key in _CODE_KEYS:
                if isinstance(args.get(key), str) and args[key].strip():
                    return args[key]
            strings = [v for v in args.values() if isinstance(v, str) and v.strip()]
            if len(strings) == 1:
                return strings[0]
        return None

    def to_openai(self) -> dict:
        return {"id": self.id, "type": "function",
                "function": {"name": self.name, "arguments": self.arguments}}


def text_tool_calls(text: str) -> tuple[tuple[ToolCall, ...], str]:
    """Hermes/Qwen ``<tool_call>`` blocks in a reply (an unclosed last one included, as a
    stop string may cut it) and gpt-oss's commentary calls, and the text before the first:
    the thought."""
    calls: list[ToolCall] = []
    first = None
    for match in _HARMONY_CALL.finditer(text):
        name = match.group("before") or match.group("after")
        if name:
            calls.append(ToolCall(id=f"call_{len(calls) + 1}", name=name, arguments=match.group("body").strip(),
                                  from_text=True))
            first = match.start() if first is None else first
    for match in _TEXT_CALL.finditer(text):
        call = _from_json(match.group("body"), len(calls) + 1)
        if call is not None:
            calls.append(call)
            first = match.start() if first is None else first
    if not calls:
        return _llama3_call(text)
    return tuple(calls), (text[:first].strip() if first is not None else "")


def _llama3_call(text: str) -> tuple[tuple[ToolCall, ...], str]:
    """Llama 3.x: a reply that is one JSON call, ``{"name": ..., "parameters": {...}}``, or
    code after ``<|python_tag|>`` (its built-in code interpreter)."""
    tag = text.find("<|python_tag|>")
    if tag >= 0:
        code = text[tag + len("<|python_tag|>"):].split("<|eom_id|>")[0].strip()
        if not code.startswith("{"):
            return ((ToolCall("call_1", "code_interpreter", code, from_text=True),) if code else (),
                    text[:tag].strip())
        text = code
    stripped = text.strip()
    if stripped.startswith("{") and stripped.endswith("}"):
        call = _from_json(stripped, 1)
        if call is not None and call.is_code_tool:  # a JSON answer is not a call of another tool
            return (call,), ""
    return (), ""


def _from_json(body: str, number: int) -> ToolCall | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        return None
    args = data.get("arguments", data.get("parameters", {}))
    arguments = args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)
    return ToolCall(id=f"call_{number}", name=data["name"], arguments=arguments, from_text=True)


def as_text(call: ToolCall) -> str:
    """The call in Hermes text, as it is kept in a replay file."""
    try:
        arguments = json.loads(call.arguments)
    except ValueError:
        arguments = call.arguments
    return f"<tool_call>\n{json.dumps({'name': call.name, 'arguments': arguments}, ensure_ascii=False)}\n</tool_call>"


def assistant_message(text: str, calls: tuple[ToolCall, ...]) -> dict:
    """The reply as it goes back: OpenAI calls in ``tool_calls``; text calls in the text."""
    if calls and not calls[0].from_text:
        return {"role": "assistant", "content": text, "tool_calls": [c.to_openai() for c in calls]}
    return {"role": "assistant", "content": text}


def redacted(message: dict, redact) -> dict:
    """An assistant message with its text and its calls' arguments passed through ``redact``."""
    out = {**message, "content": redact(message["content"])}
    if "tool_calls" in message:
        out["tool_calls"] = [{**c, "function": {**c["function"], "arguments": redact(c["function"]["arguments"])}}
                             for c in message["tool_calls"]]
    return out


def declared(actions: str, backend) -> dict:
    """``stream``'s keyword for ``--actions tools``, to a backend that declares tools."""
    if actions == "tools" and getattr(backend, "declares_tools", False):
        return {"tools": [PYTHON_TOOL]}
    return {}


def result_message(call: ToolCall, observation: str, template_turns: bool = False) -> dict:
    """A call's result, by its protocol's rule (the observation without its heading): a
    ``tool`` message with the call's id (OpenAI); for a text call, a ``tool`` message where
    a local model's chat template writes its own tool-response turn (``template_turns``),
    else the turn Qwen's template would write."""
    body = observation.removeprefix("Observation:\n")
    if call.from_text and template_turns:
        return {"role": "tool", "content": body}
    if call.from_text:
        return {"role": "user", "content": f"<tool_response>\n{body}\n</tool_response>"}
    return {"role": "tool", "tool_call_id": call.id, "content": body}


def portable(messages: list[dict], backend) -> list[dict]:
    """An earlier transcript made valid for ``backend`` (a follow-up on another one)."""
    if getattr(backend, "tool_messages", False):  # OpenAI: every tool message has its call's id
        return [m if m.get("role") != "tool" or m.get("tool_call_id") else _response_turn(m)
                for m in messages]
    return as_text_calls(messages, keep_tool_turns=bool(getattr(backend, "template_tool_turns", False)))


def _response_turn(message: dict) -> dict:
    return {"role": "user", "content": f"<tool_response>\n{message.get('content') or ''}\n</tool_response>"}


def as_text_calls(messages: list[dict], keep_tool_turns: bool = False) -> list[dict]:
    """An earlier transcript for a backend that takes no OpenAI tool messages (a GGUF's chat
    template, a replay): calls become ``<tool_call>`` text, results ``<tool_response>`` turns
    (or id-less ``tool`` messages, for a template that writes its own tool turns)."""
    out = []
    for m in messages:
        if m.get("tool_calls"):
            calls = [as_text(ToolCall(c["id"], c["function"]["name"], c["function"]["arguments"]))
                     for c in m["tool_calls"]]
            text = "\n".join([m.get("content") or "", *calls]).strip()
            out.append({"role": "assistant", "content": text})
        elif m.get("role") == "tool":
            out.append({"role": "tool", "content": m.get("content") or ""} if keep_tool_turns
                       else _response_turn(m))
        else:
            out.append(m)
    return out


def unknown_tool(call: ToolCall) -> str:
    return (f"Observation:\n[There is no tool named {call.name!r} here; nothing ran. To run "
            f"Python code, call the `{TOOL_NAME}` tool with {{\"code\": \"...\"}}.]")


def no_code(call: ToolCall) -> str:
    return (f"Observation:\n[Your call to `{call.name}` held no code, so nothing ran. Pass the "
            f"Python code to run as {{\"code\": \"...\"}}.]")


def not_run_notice(call: ToolCall) -> str:
    if call.is_code_tool:
        return f"The model's call to `{call.name}` held no code; it was told, and nothing ran."
    return f"The model called a tool named {call.name!r}, which does not exist; it was told to use `{TOOL_NAME}`."


def images_turn(parts: list[dict]) -> dict:
    """The images of the tool results just sent (a ``tool`` message holds text only)."""
    return {"role": "user", "content": [{"type": "text", "text": "[The images of the tool results above.]"}, *parts]}
