"""Reading one streamed chat completion from an OpenAI-compatible server, and saying in
plain words what is wrong when the answer is not one: a web page, chunks that are not
JSON, chunks without choices, or a stream kept open with keep-alive comments and no
tokens (``request_timeout`` bounds the time without model output, not each socket read).
"""
from __future__ import annotations

import json
import time
from typing import Any, Iterator
from urllib.parse import urlparse

from ..base import BackendError, CalledTool, ThinkingText

CHECK = "Check the URL and the server's log."


class QuietTooLong(Exception):
    """Raised inside the SDK's byte stream when no model output came for too long."""


class ReplyReader:
    """The text of one reply from the SDK's ``Stream``, with ``ThinkingText`` for reasoning
    deltas; ``usage``, ``finish_reason`` (why the reply ended: "stop", "length", ...) and
    ``tool_calls`` are set once it is read."""

    def __init__(self, stream: Any, url: str, quiet_limit: float):
        self.stream = stream
        self.url = url
        self.quiet_limit = quiet_limit
        self.usage: Any = None
        self.finish_reason: str | None = None
        self._last_output = time.monotonic()
        self._calls: dict[int, dict[str, str]] = {}  # by the delta's index: id, name, arguments

    @property
    def tool_calls(self) -> list[CalledTool]:
        """The reply's tool calls, each joined from its deltas (a call's first delta names it;
        its arguments come in pieces, and parallel calls interleave by index)."""
        return [CalledTool(id=c["id"] or f"call_{i}", name=c["name"], arguments=c["arguments"])
                for i, c in sorted(self._calls.items()) if c["name"]]

    def _add_calls(self, calls: Any) -> None:
        for n, call in enumerate(calls or ()):
            index = _field(call, "index")
            entry = self._calls.setdefault(n if index is None else index,
                                           {"id": "", "name": "", "arguments": ""})
            function = _field(call, "function")
            entry["id"] = entry["id"] or (_field(call, "id") or "")
            entry["name"] += _field(function, "name") or ""
            entry["arguments"] += _field(function, "arguments") or ""

    def deltas(self) -> Iterator[str | ThinkingText]:
        http = self.stream.response
        kind = http.headers.get("content-type", "")
        if "text/html" in kind:
            raise BackendError(web_page_message(self.url))
        if "json" in kind:  # the server ignored `stream: true` and sent the whole reply
            yield from self._whole(http)
            return
        self._watch(http)
        events = choices = 0
        try:
            for chunk in self.stream:
                events += 1
                self.usage = getattr(chunk, "usage", None) or self.usage
                for choice in getattr(chunk, "choices", None) or ():
                    choices += 1
                    delta = getattr(choice, "delta", None)
                    if _has_output(choice, delta):
                        self._last_output = time.monotonic()
                    if getattr(choice, "index", 0) != 0:
                        continue
                    self.finish_reason = getattr(choice, "finish_reason", None) or self.finish_reason
                    thinking = _thinking(delta)
                    if thinking:
                        yield ThinkingText(thinking)
                    self._add_calls(getattr(delta, "tool_calls", None))
                    text = getattr(delta, "content", None)
                    if text:
                        yield text
        except json.JSONDecodeError as exc:
            raise BackendError(
                f"The server at {self.url} sent a reply chunk that is not valid JSON "
                f"({_excerpt(exc.doc)}): it does not speak the OpenAI streaming format. {CHECK}") from None
        except QuietTooLong:
            raise BackendError(
                f"The model server at {self.url} kept the connection open but sent no output "
                f"for {self.quiet_limit:g} s. The model may be stuck or overloaded: check the "
                f"server's log, or raise the request timeout "
                f"(`%config CodeActMagics.request_timeout = 300`).") from None
        if not choices:
            what = (f"{events} chunks, none with a choice in it (`choices: []`)" if events
                    else f"no reply chunks (content type {kind or 'not given'!r})")
            raise BackendError(f"The server at {self.url} answered with {what}: it is not "
                               f"answering chat completions the OpenAI way. {CHECK}")

    def close(self) -> None:
        self.stream.close()

    def _watch(self, http: Any) -> None:
        """Check the time since the last model output whenever bytes arrive: keep-alive
        comments reset the HTTP read timeout, and the SDK's parser swallows them."""
        read = http.iter_bytes

        def iter_bytes(*args, **kwargs):
            for data in read(*args, **kwargs):
                if time.monotonic() - self._last_output > self.quiet_limit:
                    raise QuietTooLong()
                yield data

        http.iter_bytes = iter_bytes  # read lazily by the SDK's stream, from its first chunk

    def _whole(self, http: Any) -> Iterator[str | ThinkingText]:
        try:
            body = json.loads(http.read())
        except ValueError:
            raise BackendError(f"The server at {self.url} answered with a body that is not "
                               f"valid JSON ({_excerpt(http.text)}). {CHECK}") from None
        body = body if isinstance(body, dict) else {}
        error = body.get("error")
        if error:
            said = error.get("message") if isinstance(error, dict) else error
            raise BackendError(f"The model server at {self.url} reported an error: {said}")
        choices = body.get("choices") or []
        message = choices[0].get("message") if choices and isinstance(choices[0], dict) else None
        if not isinstance(message, dict):
            raise BackendError(f"The server at {self.url} answered with JSON that holds no "
                               f"chat completion (no `choices[0].message`). {CHECK}")
        self.usage = body.get("usage")
        self.finish_reason = choices[0].get("finish_reason")
        self._add_calls(message.get("tool_calls"))
        thinking = _thinking(message)
        if thinking:
            yield ThinkingText(thinking)
        yield message.get("content") or ""


def web_page_message(url: str) -> str:
    if urlparse(url).path.rstrip("/").endswith("/v1"):
        return f"{url} serves a web page, not an OpenAI-compatible API. {CHECK}"
    return (f"{url} serves a web page, not an OpenAI-compatible API: did you forget /v1 "
            f"(`--base-url {url}/v1`)?")


def _has_output(choice: Any, delta: Any) -> bool:
    """Tokens of any kind (text, reasoning, tool calls) or the end of the reply; not a
    role-only or empty delta, which servers also use as a heartbeat."""
    if getattr(choice, "finish_reason", None):
        return True
    return any(getattr(delta, name, None) for name in
               ("content", "reasoning_content", "reasoning", "refusal", "tool_calls"))


def _thinking(delta: Any) -> str:
    """Reasoning sent apart from the text: ``reasoning_content`` (vLLM's reasoning parsers,
    DeepSeek, LM Studio) or ``reasoning`` (Ollama, OpenRouter, gpt-oss on vLLM)."""
    for name in ("reasoning_content", "reasoning"):
        value = _field(delta, name)
        if isinstance(value, str) and value:
            return value
    return ""


def _field(value: Any, name: str) -> Any:
    if isinstance(value, dict):
        return value.get(name)
    found = getattr(value, name, None)
    if found is None:  # the SDK keeps fields it does not know in model_extra
        extra = getattr(value, "model_extra", None)
        found = extra.get(name) if isinstance(extra, dict) else None
    return found


def _excerpt(text: str) -> str:
    text = " ".join(str(text).split())
    return repr(text if len(text) <= 80 else text[:77] + "...")
