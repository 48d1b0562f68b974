"""A scripted OpenAI-compatible chat-completions server for tests and demos.

It is a real HTTP server (stdlib ``http.server``) on 127.0.0.1, so the client under test goes
through the whole stack: the SDK, httpx, sockets, SSE parsing. Each chat request takes the next
scripted reply and streams it back in small chunks, as vLLM, llama.cpp server or Ollama would::

    with ChatServer(["Thought: add.\\n```python\\n1 + 1\\n```", "The answer is 2."]) as server:
        config = BackendConfig(base_url=server.base_url)
        ...
        assert server.requests[0]["messages"][-1]["content"] == "what is 1 + 1?"

Failures are scripted too, for one reply (``Reply("", fault=Fault.server_error())``) or for the
whole server (``ChatServer(fault=Fault.unauthorized())``); see ``Fault`` for the kinds: HTTP
errors (500, 503 with Retry-After, 429, 401, 404), a slow or stalled stream, a dropped
connection, a web page instead of an API, a chunk that is not JSON, chunks without choices,
keep-alive comments forever, and a server that ignores ``stream: true``.
"""
from __future__ import annotations

import json
import socket
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterable


@dataclass(frozen=True)
class Fault:
    """Something going wrong on the server side. Build one with the class methods."""

    status: int | None = None        # answer with this HTTP status and an OpenAI-style error body
    message: str = ""
    error_type: str = "server_error"
    retry_after: float | None = None  # Retry-After header, in seconds
    delay: float = 0.0                # seconds to sleep: before the headers, or after `after_chunks`
    after_chunks: int | None = None   # chunks streamed before the stall (delay) or the drop
    drop: bool = False                # cut the TCP connection mid-stream, after `after_chunks`
    page: str | None = None           # answer every request with this HTML page, status 200
    bad_chunk: str | None = None      # a `data:` line that is not JSON, sent after `after_chunks`
    no_choices: bool = False          # every chunk carries `choices: []`
    keep_alive: float | None = None   # after `after_chunks`, send SSE comments this often, forever
    ignore_stream: bool = False       # answer a streaming request with one JSON completion

    @classmethod
    def server_error(cls, message: str = "CUDA out of memory") -> Fault:
        return cls(status=500, message=message)

    @classmethod
    def rate_limited(cls, retry_after: float = 1.0) -> Fault:
        return cls(status=429, message="Rate limit reached, please retry later.",
                   error_type="rate_limit_exceeded", retry_after=retry_after)

    @classmethod
    def unauthorized(cls) -> Fault:
        return cls(status=401, message="Incorrect API key provided.", error_type="invalid_request_error")

    @classmethod
    def model_not_found(cls) -> Fault:
        # The message names the requested model, filled in per request.
        return cls(status=404, message="The model `{model}` does not exist.",
                   error_type="invalid_request_error")

    @classmethod
    def slow(cls, seconds: float, after_chunks: int | None = None) -> Fault:
        """Sleep ``seconds`` before answering, or mid-stream after ``after_chunks`` chunks."""
        return cls(delay=seconds, after_chunks=after_chunks)

    @classmethod
    def dropped(cls, after_chunks: int = 2) -> Fault:
        """Close the connection after ``after_chunks`` content chunks (the reply must be longer),
        leaving the chunked body unfinished, as a crashed server would."""
        return cls(drop=True, after_chunks=after_chunks)

    @classmethod
    def unavailable(cls, retry_after: float) -> Fault:
        """503 while the server loads its model, saying when to come back."""
        return cls(status=503, message="Loading model", error_type="unavailable_error",
                   retry_after=retry_after)

    @classmethod
    def web_page(cls) -> Fault:
        """A web server, not an API: every path answers 200 with an HTML page (a UI's
        catch-all route, or the base URL without /v1)."""
        return cls(page="<!DOCTYPE html>\n<html><head><title>Chat UI</title></head>"
                        "<body><div id=\"app\"></div></body></html>\n")

    @classmethod
    def invalid_json(cls, after_chunks: int = 1) -> Fault:
        return cls(bad_chunk='{"choices": [{"delta": {"content": "cut', after_chunks=after_chunks)

    @classmethod
    def empty_choices(cls) -> Fault:
        return cls(no_choices=True)

    @classmethod
    def keep_alive_forever(cls, interval: float = 0.1, after_chunks: int = 0) -> Fault:
        """After ``after_chunks`` chunks, keep the stream open with `: keep-alive` comments and
        never send another token (a proxy or server waiting on a stuck model)."""
        return cls(keep_alive=interval, after_chunks=after_chunks)

    @classmethod
    def not_streamed(cls) -> Fault:
        """Ignore ``stream: true`` and answer with one JSON chat completion."""
        return cls(ignore_stream=True)


@dataclass(frozen=True)
class ToolCallReply:
    """A tool call the server sends in ``tool_calls`` deltas: its first delta names it, then
    its JSON ``arguments`` come in pieces of ``chunk_size`` characters."""

    name: str
    arguments: str
    id: str = ""


@dataclass(frozen=True)
class Reply:
    """One scripted answer. ``usage`` overrides the token counts the server reports
    (keys ``prompt_tokens``, ``completion_tokens``, ``cached_tokens``).

    ``reasoning`` streams first, in the delta field ``reasoning_field`` (vLLM's reasoning
    parsers and DeepSeek use ``reasoning_content``; Ollama and gpt-oss on vLLM ``reasoning``).
    ``tool_calls`` stream after the text, their argument pieces interleaved when there are
    several (parallel calls); the reply then ends with ``finish_reason: "tool_calls"``.
    ``finish_reason`` is otherwise "stop" ("length": cut at the token limit)."""

    text: str = ""
    fault: Fault | None = None
    usage: dict[str, int] | None = None
    reasoning: str = ""
    reasoning_field: str = "reasoning_content"
    tool_calls: tuple[ToolCallReply, ...] = ()
    finish_reason: str = "stop"


@dataclass(frozen=True)
class Call:
    """Any request the server saw (chat, models, anything else)."""

    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: dict[str, Any] | None


def free_port() -> int:
    """A TCP port on 127.0.0.1 with nothing listening (for 'connection refused' tests)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ChatServer:
    """Scripted OpenAI-compatible server. Options:

    - ``replies``: strings or ``Reply`` objects, one per chat request, in order (``enqueue`` adds more).
    - ``fault``: applied to every chat request (the queue is left alone when it answers an error).
    - ``models``: ids listed by ``GET /v1/models``; an empty tuple lists none.
    - ``chunk_size`` characters per streamed chunk; ``chunk_delay`` seconds between chunks.
    - ``send_usage``: send a usage chunk when the request asks for ``include_usage``.
    - ``reject_params``: request keys answered with 400 (servers that reject ``stream_options``).
    - ``keep_stop``: end the reply *with* the matched stop string (a server bug some clients meet).

    Attributes: ``base_url`` (``http://127.0.0.1:PORT/v1``), ``requests`` (chat request bodies),
    ``calls`` (every request, as ``Call``), ``hangups`` (replies the client hung up on).
    """

    def __init__(self, replies: Iterable[str | Reply] = (), *, fault: Fault | None = None,
                 models: Iterable[str] = ("scripted-model",), chunk_size: int = 4,
                 chunk_delay: float = 0.0, send_usage: bool = True,
                 reject_params: Iterable[str] = (), keep_stop: bool = False) -> None:
        self._queue: list[Reply] = []
        self.enqueue(*replies)
        self.fault = fault
        self.models = list(models)
        self.chunk_size = chunk_size
        self.chunk_delay = chunk_delay
        self.send_usage = send_usage
        self.reject_params = set(reject_params)
        self.keep_stop = keep_stop
        self.requests: list[dict[str, Any]] = []
        self.calls: list[Call] = []
        self.hangups = 0  # replies the client stopped reading before the end
        self._lock = threading.Lock()
        # Set on close, so sleeping handlers (slow faults) wake up instead of holding threads.
        self._closing = threading.Event()
        self._httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.chat = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def enqueue(self, *replies: str | Reply) -> None:
        self._queue.extend(r if isinstance(r, Reply) else Reply(r) for r in replies)

    def start(self) -> ChatServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True,
                                        name=f"ChatServer:{self.port}")
        self._thread.start()
        return self

    def close(self) -> None:
        self._closing.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
        self._httpd.server_close()

    def __enter__(self) -> ChatServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)
            if call.path.rstrip("/").endswith("/chat/completions"):
                self.requests.append(call.body or {})

    def _next(self) -> tuple[Reply, Fault | None]:
        """The reply and fault for the next chat request."""
        with self._lock:
            if self.fault is not None and (self.fault.status is not None or self.fault.page):
                return Reply(), self.fault  # an error answer leaves the queue alone
            if self._queue:
                reply = self._queue.pop(0)
                return reply, reply.fault or self.fault
            if self.fault is not None:
                return Reply(), self.fault
            n = len(self.requests)
            return Reply(), Fault.server_error(f"ChatServer: no scripted reply left for request {n}")


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True    # a handler stalled by a slow fault must not keep the process alive
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that time out or hang up are part of the script; real bugs still print.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def cut_at_stop(text: str, stop: list[str], keep_stop: bool = False) -> str:
    """The reply up to the first stop string, as a server returns it."""
    hits = [(text.find(s), s) for s in stop if s and s in text]
    if not hits:
        return text
    index, matched = min(hits)
    return text[: index + len(matched)] if keep_stop else text[:index]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # chunked transfer, so a dropped stream is detectably unfinished
    timeout = 30

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # keep test output clean

    @property
    def chat(self) -> ChatServer:
        return self.server.chat  # type: ignore[attr-defined]

    def do_GET(self) -> None:
        self.chat._record(self._call(None))
        if self.chat.fault is not None and self.chat.fault.page:
            self._page(self.chat.fault.page)
        elif self.path.rstrip("/").endswith("/models"):
            data = [{"id": m, "object": "model", "created": 0, "owned_by": "chat-server"}
                    for m in self.chat.models]
            self._json(200, {"object": "list", "data": data})
        else:
            self._error(404, f"No route for GET {self.path}", "not_found")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        self.chat._record(self._call(body))
        if not self.path.rstrip("/").endswith("/chat/completions"):
            return self._error(404, f"No route for POST {self.path}", "not_found")
        rejected = sorted(self.chat.reject_params & body.keys())
        if rejected:
            return self._error(400, f"Unrecognized request argument supplied: {rejected[0]}",
                               "invalid_request_error")
        reply, fault = self.chat._next()
        try:
            self._answer(body, reply, fault or Fault())
        except ConnectionError:  # the client hung up: a timeout, Ctrl-C, or it had enough
            with self.chat._lock:
                self.chat.hangups += 1
            self.close_connection = True

    def _call(self, body: dict[str, Any] | None) -> Call:
        return Call(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)

    def _answer(self, body: dict[str, Any], reply: Reply, fault: Fault) -> None:
        if fault.delay and fault.after_chunks is None and self.chat._closing.wait(fault.delay):
            return
        if fault.page:
            return self._page(fault.page)
        if fault.status is not None:
            message = fault.message.replace("{model}", str(body.get("model")))
            headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
            return self._error(fault.status, message, fault.error_type, headers)
        stop = body.get("stop") or []
        text = cut_at_stop(reply.text, [stop] if isinstance(stop, str) else stop, self.chat.keep_stop)
        size = self.chat.chunk_size
        pieces = [text[i:i + size] for i in range(0, len(text), size)]
        usage = self._usage(body, reply, len(pieces))
        if not body.get("stream") or fault.ignore_stream:
            return self._json(200, {
                "id": "chatcmpl-scripted", "object": "chat.completion", "created": int(time.time()),
                "model": body.get("model"), "usage": usage,
                "choices": [{"index": 0, "finish_reason": reply.finish_reason,
                             "message": self._message(reply, text)}]})
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = self._chunk if not fault.no_choices else self._chunk_without_choices
        self._event(chunk(body, {"role": "assistant", "content": ""}))
        for i in range(0, len(reply.reasoning), size):
            self._event(chunk(body, {reply.reasoning_field: reply.reasoning[i:i + size]}))
        for n, piece in enumerate(pieces + [""]):
            if n == fault.after_chunks:
                if fault.bad_chunk is not None:
                    self._write_chunk(f"data: {fault.bad_chunk}\n\n".encode())
                if fault.keep_alive:
                    while not self.chat._closing.wait(fault.keep_alive):
                        self._write_chunk(b": keep-alive\n\n")
                    return
                if fault.drop:
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)  # no final 0-length chunk
                    self.close_connection = True
                    return
                if fault.delay and self.chat._closing.wait(fault.delay):
                    return
            if n == len(pieces):
                break
            if self.chat.chunk_delay:
                time.sleep(self.chat.chunk_delay)
            self._event(chunk(body, {"content": piece}))
        for delta in self._tool_call_deltas(reply):
            self._event(chunk(body, {"tool_calls": delta}))
        finish = "tool_calls" if reply.tool_calls and reply.finish_reason == "stop" else reply.finish_reason
        self._event(chunk(body, {}, finish_reason=finish))
        if self.chat.send_usage and (body.get("stream_options") or {}).get("include_usage"):
            self._event({**self._chunk(body, {}), "choices": [], "usage": usage})
        self._write_chunk(b"data: [DONE]\n\n")
        self._write_chunk(b"")

    def _tool_call_deltas(self, reply: Reply) -> list[list[dict[str, Any]]]:
        """Each call's opening delta, then the argument pieces, round robin over the calls."""
        size = self.chat.chunk_size
        deltas = [[{"index": n, "id": call.id or f"call_{n}_scripted", "type": "function",
                    "function": {"name": call.name, "arguments": ""}}]
                  for n, call in enumerate(reply.tool_calls)]
        pieces = [[call.arguments[i:i + size] for i in range(0, len(call.arguments), size)]
                  for call in reply.tool_calls]
        for k in range(max((len(p) for p in pieces), default=0)):
            deltas += [[{"index": n, "function": {"arguments": p[k]}}]
                       for n, p in enumerate(pieces) if k < len(p)]
        return deltas

    def _usage(self, body: dict[str, Any], reply: Reply, pieces: int) -> dict[str, Any]:
        given = reply.usage or {}
        chars = sum(len(str(m.get("content", ""))) for m in body.get("messages", []))
        prompt = given.get("prompt_tokens", (chars + 3) // 4)
        completion = given.get("completion_tokens", pieces)  # one "token" per chunk
        return {"prompt_tokens": prompt, "completion_tokens": completion,
                "total_tokens": prompt + completion,
                "prompt_tokens_details": {"cached_tokens": given.get("cached_tokens", 0)}}

    @staticmethod
    def _message(reply: Reply, text: str) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": text}
        if reply.reasoning:
            message[reply.reasoning_field] = reply.reasoning
        if reply.tool_calls:
            message["tool_calls"] = [{"id": c.id or f"call_{n}_scripted", "type": "function",
                                      "function": {"name": c.name, "arguments": c.arguments}}
                                     for n, c in enumerate(reply.tool_calls)]
        return message

    @staticmethod
    def _chunk(body: dict[str, Any], delta: dict[str, Any], finish_reason: str | None = None) -> dict:
        return {"id": "chatcmpl-scripted", "object": "chat.completion.chunk", "created": 0,
                "model": body.get("model"),
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]}

    @classmethod
    def _chunk_without_choices(cls, body: dict[str, Any], delta: dict[str, Any],
                               finish_reason: str | None = None) -> dict:
        return {**cls._chunk(body, delta, finish_reason), "choices": []}

    def _page(self, html: str) -> None:
        data = html.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _event(self, data: dict[str, Any]) -> None:
        self._write_chunk(f"data: {json.dumps(data)}\n\n".encode())

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, error_type: str,
               headers: dict[str, str] | None = None) -> None:
        code = {401: "invalid_api_key", 404: "model_not_found", 429: "rate_limit_exceeded"}.get(status)
        self._json(status, {"error": {"message": message, "type": error_type, "param": None,
                                      "code": code}}, headers)
