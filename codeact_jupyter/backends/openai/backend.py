"""Any OpenAI-compatible chat-completions endpoint: OpenAI itself, or a local server
(vLLM, llama.cpp server, Ollama, LM Studio) given by ``base_url``.

The ``openai`` SDK is imported inside methods, so importing this module stays cheap.
"""
from __future__ import annotations

import itertools
import os
import time
from contextlib import contextmanager
from typing import Any, Iterator
from urllib.parse import urlparse

from ..base import BackendConfig, BackendError, Message, ThinkingText, Usage, Waiting, approx_tokens
from .reply import ReplyReader, web_page_message
from .retry import MAX_WAIT, NOTICE_WAIT, duration, retry_after, retry_wait, waiting_reason

OPENAI_URL = "https://api.openai.com/v1"
DEFAULT_OPENAI_MODEL = "gpt-4o-mini"
# Local servers ignore the key, but the SDK refuses to build a client without one.
PLACEHOLDER_KEY = "sk-no-key-required"
MAX_STOP = 4  # OpenAI's API rejects more; the rest are applied here, on the streamed text.
START_HINT = ("Is the server running, and is `--base-url` right? (Ollama: `ollama serve`; "
              "llama.cpp: `llama-server -m MODEL.gguf --port 8080`; vLLM: `vllm serve MODEL`.)")


class OpenAIBackend:
    name = "openai"
    context_size: int | None = None  # remote endpoints do not say
    # Observations may carry image parts (vision.py): the messages go to the endpoint as
    # they are, OpenAI content parts included.
    sends_images = True
    declares_tools = True  # --actions tools: the python tool goes in the request's `tools`
    tool_messages = True  # a transcript may hold `tool_calls` and `tool` messages (OpenAI's protocol)

    def __init__(self, config: BackendConfig) -> None:
        self.config = config
        self.last_usage: Usage | None = None
        self.base_url = (config.base_url or os.environ.get("OPENAI_BASE_URL") or OPENAI_URL).rstrip("/")
        self.is_openai = urlparse(self.base_url).hostname == "api.openai.com"
        key = config.api_key or os.environ.get("OPENAI_API_KEY")
        if not key and self.is_openai:
            raise BackendError(
                f"No API key for {self.base_url}. Set the OPENAI_API_KEY environment variable or "
                f"`%config CodeActMagics.api_key = '...'`, or point `base_url` at a local server.")
        self._api_key = key or PLACEHOLDER_KEY
        self._model = config.model or (DEFAULT_OPENAI_MODEL if self.is_openai else None)
        self._client: Any = None
        self._send_stream_options = True  # cleared once a server rejects stream_options
        self._receiving = False  # True while reading a reply: a lost connection then is a crash
        self._sent_images = False  # the last request held image parts

    # -- the Backend protocol -------------------------------------------------------------

    @property
    def model(self) -> str:
        if self._model is None:
            self._model = self._first_served_model()
        return self._model

    @property
    def model_name(self) -> str | None:
        """The model's name where it is known without asking the server (profiles.py)."""
        return self._model

    def describe(self) -> str:
        return f"openai · {self.model} · {self.base_url}"

    def count_tokens(self, text: str) -> int:
        return approx_tokens(text)

    def stream(self, messages: list[Message], stop: list[str],
               tools: list[dict] | None = None) -> Iterator[str | Waiting]:
        self.last_usage = None
        self._sent_images = any(isinstance(m.get("content"), list) for m in messages)
        started = time.perf_counter()
        cut = _StopCutter(stop)
        self._receiving = False
        with self._errors_mapped():
            response = yield from self._open_patiently(messages, stop, tools)
            self._receiving = True
            reply = ReplyReader(response, self.base_url, self.config.request_timeout)
            try:  # close the HTTP stream on any exit: done, stop hit, KeyboardInterrupt, close()
                for delta in reply.deltas():
                    if isinstance(delta, ThinkingText):
                        yield delta
                        continue
                    text = cut.feed(delta)
                    if text:
                        yield text
                    if cut.done:
                        break
                rest = cut.flush()
                if rest:
                    yield rest
                yield from reply.tool_calls
            finally:
                reply.close()
        self._receiving = False
        self.last_usage = _usage(reply.usage, time.perf_counter() - started, reply.finish_reason)

    # -- helpers ------------------------------------------------------------------------------

    def _open_patiently(self, messages: list[Message], stop: list[str], tools: list[dict] | None):
        """Open the stream; when the server answers that it is busy (429, 503, ...), wait as
        it asks and try again, yielding a ``Waiting`` first so the user knows why."""
        import openai

        for attempt in itertools.count():
            try:
                return self._open_stream(messages, stop, tools)
            except openai.APIStatusError as exc:
                wait = retry_wait(exc, attempt, self._max_retries)
                if wait is None:
                    raise
                if wait >= NOTICE_WAIT:
                    yield Waiting(waiting_reason(exc, wait, self.base_url, _said(_server_message(exc))))
                time.sleep(wait)  # Ctrl-C / the Stop button ends the task here

    def _open_stream(self, messages: list[Message], stop: list[str], tools: list[dict] | None) -> Any:
        import openai

        kwargs: dict[str, Any] = dict(
            model=self.model, messages=messages, stream=True,
            temperature=self.config.temperature, max_tokens=self.config.max_tokens)
        if stop:
            kwargs["stop"] = list(stop[:MAX_STOP])
        if tools:
            kwargs["tools"] = tools
        if self._send_stream_options:
            try:
                return self.client.chat.completions.create(
                    **kwargs, stream_options={"include_usage": True})
            except openai.BadRequestError:
                pass  # older servers reject the parameter: ask once more without it
        response = self.client.chat.completions.create(**kwargs)
        self._send_stream_options = False
        return response

    @property
    def client(self) -> Any:
        if self._client is None:
            import openai

            timeout = self.config.request_timeout
            self._client = openai.OpenAI(
                api_key=self._api_key, base_url=self.base_url,
                # Fail fast on an unreachable host; wait `request_timeout` for a slow model.
                timeout=openai.Timeout(timeout, connect=min(10.0, timeout)),
                max_retries=0)  # retried in _open_patiently, where a wait can be shown
        return self._client

    @property
    def _max_retries(self) -> int:
        return int(self.config.extras.get("max_retries", 1))

    def _first_served_model(self) -> str:
        with self._errors_mapped():
            raw = self.client.models.with_raw_response.list()
            if "text/html" in raw.headers.get("content-type", ""):
                raise BackendError(web_page_message(self.base_url))
            ids = [m.id for m in getattr(raw.parse(), "data", None) or ()]
        if not ids:
            raise BackendError(
                f"The server at {self.base_url} lists no models (GET /models). Load a model "
                f"into it, or name one with `--model` / `%config CodeActMagics.model`.")
        return ids[0]

    @contextmanager
    def _errors_mapped(self) -> Iterator[None]:
        """The SDK's exceptions become one BackendError saying what to check; anything else
        (KeyboardInterrupt, GeneratorExit, our own errors) passes through untouched."""
        import openai

        try:
            yield
        except openai.OpenAIError as exc:
            message = _explain(exc, self)
            self._receiving = False
            # A server may echo the key. Short ones ("EMPTY", vLLM's habit) are no secret,
            # and replacing them would garble ordinary words.
            if len(self._api_key) >= 8 and self._api_key != PLACEHOLDER_KEY:
                message = message.replace(self._api_key, "***")
            raise BackendError(message) from None


def _explain(exc: Exception, backend: OpenAIBackend) -> str:
    import openai

    url = backend.base_url
    said = _server_message(exc)
    if isinstance(exc, openai.APITimeoutError):
        # The cause tells a connect timeout (host unreachable) from a slow answer.
        if type(exc.__cause__).__name__ == "ConnectTimeout":
            return f"Timed out connecting to the model server at {url}. {START_HINT}"
        return (f"The model server at {url} did not answer within {backend.config.request_timeout:g} s. "
                f"It may still be loading the model, or be too slow for this request: raise the "
                f"request timeout (`%config CodeActMagics.request_timeout = 300`).")
    if isinstance(exc, openai.APIConnectionError) and backend._receiving:
        return (f"The connection to the model server at {url} broke off mid-reply. Did the server "
                f"crash or restart? Check its log, then run the task again.")
    if isinstance(exc, openai.APIConnectionError):
        if backend.is_openai:
            return f"Could not reach {url}. Check the network connection and any proxy settings."
        return f"Could not connect to the model server at {url}. {START_HINT}"
    if isinstance(exc, (openai.AuthenticationError, openai.PermissionDeniedError)):
        return (f"The server at {url} refused the API key (HTTP {exc.status_code}{_said(said)}). "
                f"Check OPENAI_API_KEY or `%config CodeActMagics.api_key`.")
    if isinstance(exc, openai.NotFoundError) and backend._model is None:
        return (f"The server at {url} has no model list (GET /models: HTTP 404{_said(said)}). "
                f"Name the model with `--model` or `%config CodeActMagics.model`.")
    if isinstance(exc, openai.NotFoundError):
        return (f"The server at {url} does not know the model {backend._model!r} (HTTP 404{_said(said)}). "
                f"Check the model name (`--model`); `GET {url}/models` lists what it serves.")
    asked = retry_after(exc)
    if isinstance(exc, openai.RateLimitError) and asked is not None and asked > MAX_WAIT:
        return (f"Rate limited by {url} (HTTP 429{_said(said)}): it asks to wait {duration(asked)} "
                f"before the next request. Try again later, or check your plan's quota and billing.")
    if isinstance(exc, openai.RateLimitError):
        return (f"Rate limited by {url} (HTTP 429{_said(said)}). Wait a moment and retry, "
                f"or check your plan's quota and billing.")
    if isinstance(exc, openai.BadRequestError) and backend._sent_images:
        return (f"The server at {url} rejected the request (HTTP 400{_said(said)}). It held images of "
                f"the step's output: if {backend._model!r} does not accept images, run the task with "
                f"`--vision off` (or `%config CodeActMagics.vision = 'off'`).")
    if isinstance(exc, openai.APIStatusError):
        if exc.status_code >= 500:
            return (f"The model server at {url} failed with HTTP {exc.status_code}{_said(said)}. "
                    f"Check the server's log; retry once it is healthy.")
        return f"The server at {url} rejected the request (HTTP {exc.status_code}{_said(said)})."
    if isinstance(exc, openai.APIError):  # an error event inside the stream
        return f"The model server at {url} reported an error mid-reply{_said(said or exc.message)}."
    return f"The OpenAI client failed talking to {url}: {type(exc).__name__}: {exc}"


def _server_message(exc: Exception) -> str | None:
    body = getattr(exc, "body", None)
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return body["message"]
    if isinstance(body, str) and body.strip():
        return body.strip()[:300]
    return None


def _said(message: str | None) -> str:
    return f": {message.rstrip('.')}" if message else ""


def _usage(usage: Any, seconds: float, finish_reason: str | None = None) -> Usage:
    """From the SDK's usage object, or the plain dict of a server that did not stream."""
    if usage is None:
        return Usage(seconds=seconds, finish_reason=finish_reason)
    cached = _field(_field(usage, "prompt_tokens_details"), "cached_tokens")
    prompt = _field(usage, "prompt_tokens")
    return Usage(prompt_tokens=prompt,
                 evaluated_tokens=prompt - cached if prompt is not None and cached is not None else None,
                 generated_tokens=_field(usage, "completion_tokens"), seconds=seconds,
                 finish_reason=finish_reason)


def _field(value: Any, name: str) -> Any:
    return value.get(name) if isinstance(value, dict) else getattr(value, name, None)


class _StopCutter:
    """Applies stop strings to streamed text, for servers that ignore them, echo the matched
    one, or only accept four. Holds back just a tail that could begin a stop string."""

    def __init__(self, stop: list[str]) -> None:
        self.stop = [s for s in stop if s]
        self.pending = ""
        self.done = False

    def feed(self, text: str) -> str:
        self.pending += text
        hits = [i for i in (self.pending.find(s) for s in self.stop) if i >= 0]
        if hits:
            self.done = True
            out, self.pending = self.pending[: min(hits)], ""
            return out
        keep = max((n for s in self.stop for n in range(len(s) - 1, 0, -1)
                    if self.pending.endswith(s[:n])), default=0)
        out = self.pending[: len(self.pending) - keep]
        self.pending = self.pending[len(out):]
        return out

    def flush(self) -> str:
        out, self.pending = self.pending, ""
        return out
