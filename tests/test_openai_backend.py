"""The OpenAI-compatible backend, against a real HTTP server scripted with replies and faults."""
from __future__ import annotations

import email.utils
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from chat_server import ChatServer, Fault, Reply, free_port
from codeact_jupyter.backends import BackendConfig, BackendError, create_backend
from codeact_jupyter.backends.base import Waiting
from codeact_jupyter.backends.openai.backend import OpenAIBackend
from codeact_jupyter.backends.openai.retry import retry_after

REPO = Path(__file__).resolve().parents[1]
SECRET = "sk-test-SECRET-0123456789"
ASK = [{"role": "system", "content": "You write Python."},
       {"role": "user", "content": "What is 6 * 7?"}]


@pytest.fixture(autouse=True)
def no_openai_env(monkeypatch):
    """The user's own OPENAI_* variables must not leak into these tests."""
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_CUSTOM_HEADERS"):
        monkeypatch.delenv(name, raising=False)


def backend_for(server: ChatServer, **config) -> OpenAIBackend:
    config = {"api_key": SECRET, "model": "scripted-model", **config}
    return OpenAIBackend(BackendConfig(base_url=server.base_url, **config))


def wait_for(condition, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


# -- streaming ----------------------------------------------------------------------------------

def test_the_reply_arrives_in_several_chunks_that_join_to_the_text():
    reply = "Thought: multiply.\n```python\n6 * 7\n```"
    with ChatServer([reply], chunk_size=5) as server:
        chunks = list(backend_for(server).stream(ASK, stop=[]))
    assert len(chunks) > 3
    assert "".join(chunks) == reply


def test_the_exact_messages_and_settings_are_sent():
    with ChatServer(["42"]) as server:
        list(backend_for(server, temperature=0.3, max_tokens=99).stream(ASK, stop=["</code>"]))
    sent = server.requests[0]
    assert sent["messages"] == ASK
    assert (sent["model"], sent["stream"], sent["temperature"], sent["max_tokens"]) == \
        ("scripted-model", True, 0.3, 99)
    assert sent["stop"] == ["</code>"]
    assert server.calls[0].headers["authorization"] == f"Bearer {SECRET}"


def test_a_stop_string_ends_the_reply_and_is_not_part_of_it():
    with ChatServer(["print(1)\n```\nObservation: made up"]) as server:
        text = "".join(backend_for(server).stream(ASK, stop=["Observation:"]))
    assert text == "print(1)\n```\n"


def test_a_stop_string_echoed_by_the_server_is_stripped_even_across_chunks():
    with ChatServer(["print(1)\nObservation: made up"], keep_stop=True, chunk_size=3) as server:
        text = "".join(backend_for(server).stream(ASK, stop=["Observation:"]))
    assert text == "print(1)\n"


def test_only_four_stop_strings_are_sent_and_the_rest_apply_on_our_side():
    stops = ["<a>", "<b>", "<c>", "<d>", "<end>"]
    with ChatServer(["answer<end>tail"]) as server:
        text = "".join(backend_for(server).stream(ASK, stop=stops))
    assert server.requests[0]["stop"] == stops[:4]
    assert text == "answer"


def test_usage_comes_from_the_servers_usage_chunk():
    usage = {"prompt_tokens": 500, "cached_tokens": 450, "completion_tokens": 12}
    with ChatServer([Reply("42", usage=usage)]) as server:
        backend = backend_for(server)
        list(backend.stream(ASK, stop=[]))
    assert server.requests[0]["stream_options"] == {"include_usage": True}
    got = backend.last_usage
    assert (got.prompt_tokens, got.evaluated_tokens, got.generated_tokens) == (500, 50, 12)
    assert got.seconds > 0


def test_a_server_that_rejects_stream_options_is_asked_again_without_and_seconds_are_still_timed():
    with ChatServer(["one", "two"], reject_params=["stream_options"]) as server:
        backend = backend_for(server)
        assert "".join(backend.stream(ASK, stop=[])) == "one"
        first_usage = backend.last_usage
        assert "".join(backend.stream(ASK, stop=[])) == "two"
    # Rejected once, then never sent again.
    assert ["stream_options" in r for r in server.requests] == [True, False, False]
    assert first_usage.generated_tokens is None and first_usage.seconds > 0


def test_a_transient_server_error_is_retried_once():
    with ChatServer([Reply(fault=Fault.server_error()), "recovered"]) as server:
        assert "".join(backend_for(server).stream(ASK, stop=[])) == "recovered"
    assert len(server.requests) == 2


# -- endpoint, key and model ---------------------------------------------------------------------

def test_the_model_is_the_first_one_the_server_lists_when_none_is_given():
    with ChatServer(["hi"], models=["qwen2.5-coder-7b", "other"]) as server:
        backend = backend_for(server, model=None)
        assert backend.describe() == f"openai · qwen2.5-coder-7b · {server.base_url}"
        list(backend.stream(ASK, stop=[]))
    assert server.requests[0]["model"] == "qwen2.5-coder-7b"


def test_a_server_listing_no_models_is_a_clear_error():
    with ChatServer(models=()) as server, pytest.raises(BackendError) as error:
        backend_for(server, model=None).describe()
    assert server.base_url in str(error.value) and "--model" in str(error.value)


def test_a_local_server_needs_no_key_and_the_url_may_come_from_the_environment(monkeypatch):
    with ChatServer(["hi"]) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        backend = OpenAIBackend(BackendConfig(model="m"))
        assert "".join(backend.stream(ASK, stop=[])) == "hi"
    assert server.calls[0].headers["authorization"].startswith("Bearer ")


def test_openai_itself_without_a_key_says_how_to_set_one():
    with pytest.raises(BackendError) as error:
        OpenAIBackend(BackendConfig())
    assert "OPENAI_API_KEY" in str(error.value) and "CodeActMagics.api_key" in str(error.value)


def test_openai_itself_defaults_to_a_small_model():
    backend = OpenAIBackend(BackendConfig(api_key=SECRET))
    assert backend.describe() == "openai · gpt-4o-mini · https://api.openai.com/v1"


# -- failures: one clear message naming the endpoint and what to do -------------------------------

FAULTS = [
    pytest.param({"fault": Fault.server_error("CUDA out of memory")},
                 ["HTTP 500", "CUDA out of memory", "log"], id="500"),
    pytest.param({"fault": Fault.rate_limited(retry_after=0.1)},
                 ["429", "Wait", "quota"], id="429"),
    pytest.param({"fault": Fault.unauthorized()}, ["401", "API key", "OPENAI_API_KEY"], id="401"),
    pytest.param({"fault": Fault.model_not_found()},
                 ["404", "'scripted-model'", "--model", "/models"], id="404"),
    pytest.param({"fault": Fault.slow(5)}, ["did not answer within 0.5 s", "timeout"], id="slow"),
    pytest.param({"fault": Fault.slow(5, after_chunks=2), "replies": ["x" * 40]},
                 ["did not answer within 0.5 s", "timeout"], id="stalls-mid-stream"),
    pytest.param({"fault": Fault.dropped(after_chunks=2), "replies": ["x" * 40]},
                 ["broke off", "log"], id="dropped-mid-stream"),
    pytest.param({"replies": [Reply("x" * 40, fault=Fault.invalid_json(after_chunks=2))]},
                 ["not valid JSON", '{"choices"'], id="invalid-json-chunk"),
    pytest.param({"fault": Fault.web_page()}, ["serves a web page"], id="web-page"),
    pytest.param({"replies": ["x" * 40], "fault": Fault.empty_choices()}, ["`choices: []`"], id="no-choices"),
    pytest.param({"replies": ["x" * 40], "fault": Fault.keep_alive_forever(0.05, after_chunks=1)},
                 ["no output for 0.5 s", "request_timeout"], id="keep-alive-comments"),
]


@pytest.mark.parametrize(("options", "words"), FAULTS)
def test_a_server_fault_becomes_one_clear_backend_error(options, words):
    with ChatServer(**options) as server, pytest.raises(BackendError) as error:
        list(backend_for(server, request_timeout=0.5).stream(ASK, stop=[]))
    message = str(error.value)
    for word in [server.base_url, *words]:
        assert word in message
    assert "Traceback" not in message and "\n" not in message
    assert SECRET not in message


def test_the_timeout_bounds_silence_not_a_slow_steady_reply():
    # 0.1 s between chunks, 4 s in all, with a 0.5 s timeout: every chunk is output.
    with ChatServer(["y" * 160], chunk_size=4, chunk_delay=0.1) as server:
        started = time.monotonic()
        text = "".join(backend_for(server, request_timeout=0.5).stream(ASK, stop=[]))
    assert text == "y" * 160 and time.monotonic() - started > 3


def test_keep_alive_comments_do_not_defeat_the_timeout():
    with ChatServer(["x" * 40], fault=Fault.keep_alive_forever(0.05)) as server:
        started = time.monotonic()
        with pytest.raises(BackendError):
            list(backend_for(server, request_timeout=0.5).stream(ASK, stop=[]))
        took = time.monotonic() - started
        assert wait_for(lambda: server.hangups == 1)  # and we hung up
    assert took < 1.5


def test_a_rate_limit_is_announced_then_waited_out_then_retried():
    with ChatServer([Reply(fault=Fault.rate_limited(retry_after=1.2)), "after the wait"]) as server:
        started = time.monotonic()
        chunks = backend_for(server).stream(ASK, stop=[])
        first = next(chunks)
        announced = time.monotonic() - started
        rest = "".join(chunks)
        took = time.monotonic() - started
    assert isinstance(first, Waiting)
    assert first.reason.startswith(f"Rate limited by {server.base_url} (HTTP 429: Rate limit reached")
    assert "waiting 1 s as it asks" in first.reason
    assert announced < 1.0 <= took  # said before the wait, not after
    assert rest == "after the wait" and len(server.requests) == 2


def test_short_backoffs_pass_unannounced():
    with ChatServer([Reply(fault=Fault.server_error()), "recovered"]) as server:
        chunks = list(backend_for(server).stream(ASK, stop=[]))
    assert chunks and not any(isinstance(c, Waiting) for c in chunks)


def test_a_server_asking_for_more_than_two_minutes_is_not_waited_for():
    with ChatServer(fault=Fault.rate_limited(retry_after=600)) as server, pytest.raises(BackendError) as error:
        started = time.monotonic()
        list(backend_for(server).stream(ASK, stop=[]))
    assert time.monotonic() - started < 2
    assert "asks to wait 10 min" in str(error.value) and len(server.requests) == 1


def test_ctrl_c_during_a_rate_limit_wait_stops_at_once():
    with ChatServer([Reply(fault=Fault.rate_limited(retry_after=30)), "never"]) as server:
        chunks = backend_for(server).stream(ASK, stop=[])
        assert isinstance(next(chunks), Waiting)
        started = time.monotonic()
        threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()
        with pytest.raises(KeyboardInterrupt):
            next(chunks)
    assert time.monotonic() - started < 2 and len(server.requests) == 1


def test_a_web_page_instead_of_the_model_list_is_named():
    with ChatServer(fault=Fault.web_page()) as server, pytest.raises(BackendError) as error:
        url = server.base_url.removesuffix("/v1")
        OpenAIBackend(BackendConfig(base_url=url)).describe()
    assert str(error.value) == (f"{url} serves a web page, not an OpenAI-compatible API: "
                                f"did you forget /v1 (`--base-url {url}/v1`)?")


def test_a_server_that_ignores_stream_gives_its_whole_reply_and_usage():
    with ChatServer([Reply("all at once", usage={"prompt_tokens": 30, "completion_tokens": 3})],
                    fault=Fault.not_streamed()) as server:
        backend = backend_for(server)
        assert list(backend.stream(ASK, stop=[])) == ["all at once"]
    assert (backend.last_usage.prompt_tokens, backend.last_usage.generated_tokens) == (30, 3)


def test_nothing_listening_suggests_starting_the_server():
    url = f"http://127.0.0.1:{free_port()}/v1"
    backend = OpenAIBackend(BackendConfig(base_url=url, model="m", api_key=SECRET))
    with pytest.raises(BackendError) as error:
        list(backend.stream(ASK, stop=[]))
    message = str(error.value)
    assert url in message and "running" in message and "ollama serve" in message
    assert SECRET not in message


def test_the_api_key_is_never_shown_even_when_the_server_echoes_it():
    echo = Fault(status=401, message=f"Incorrect API key provided: {SECRET}.")
    with ChatServer(fault=echo) as server, pytest.raises(BackendError) as error:
        list(backend_for(server).stream(ASK, stop=[]))
    assert "Incorrect API key provided" in str(error.value)
    assert SECRET not in str(error.value)


def test_ctrl_c_while_waiting_for_the_model_propagates_and_closes_the_stream():
    with ChatServer(["x" * 400], fault=Fault.slow(1.0, after_chunks=1)) as server:
        chunks = backend_for(server, request_timeout=30).stream(ASK, stop=[])
        next(chunks)  # streaming has begun; the server now stalls
        threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()
        with pytest.raises(KeyboardInterrupt):
            next(chunks)
        # The server notices that we hung up when it next writes.
        assert wait_for(lambda: server.hangups == 1)


def test_ctrl_c_while_a_chunk_is_being_shown_closes_the_stream_at_once():
    with ChatServer(["x" * 400], chunk_delay=0.01) as server:
        chunks = backend_for(server).stream(ASK, stop=[])
        next(chunks)
        with pytest.raises(KeyboardInterrupt) as interrupted:
            chunks.throw(KeyboardInterrupt)
        # `interrupted` keeps the generator's frame alive, so only an explicit close hangs up.
        assert wait_for(lambda: server.hangups == 1), interrupted


# -- the registry and import cost ---------------------------------------------------------------

def test_an_unknown_backend_name_lists_the_available_ones():
    with pytest.raises(BackendError) as error:
        create_backend("nope", BackendConfig())
    assert "'nope'" in str(error.value)
    assert all(name in str(error.value) for name in ("llama", "openai", "replay"))


def test_the_openai_name_creates_this_backend():
    backend = create_backend("openai", BackendConfig(base_url="http://127.0.0.1:9/v1", model="m"))
    assert isinstance(backend, OpenAIBackend) and backend.name == "openai"


def test_importing_the_backend_does_not_import_the_sdk():
    code = ("import sys, codeact_jupyter.backends.openai.backend; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('openai', 'httpx', 'httpx2')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(REPO)}, check=True)
    assert out.stdout.strip() == "[]"


# -- the test server itself also answers without streaming, for other tests and demos -----------

def test_the_chat_server_answers_non_streaming_requests_too():
    with ChatServer(["Hello. STOP here"]) as server:
        response = httpx.post(f"{server.base_url}/chat/completions", json={
            "model": "m", "messages": ASK, "stop": ["STOP"]})
    assert response.json()["choices"][0]["message"]["content"] == "Hello. "


@pytest.mark.parametrize(("headers", "seconds"), [
    ({"retry-after": "50"}, 50.0),
    ({"retry-after": "1.5"}, 1.5),
    ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
    ({"retry-after": "an HTTP date 30 s from now"}, 30.0),
    ({"retry-after": "soon"}, None),
    ({"retry-after": "nan"}, None),
    ({}, None),
])
def test_retry_after_is_read_in_seconds_milliseconds_or_as_a_date(headers, seconds):
    if headers.get("retry-after", "").startswith("an HTTP date"):
        headers = {"retry-after": email.utils.formatdate(time.time() + 30, usegmt=True)}
    error = SimpleNamespace(response=httpx.Response(429, headers=headers))
    got = retry_after(error)
    assert got == seconds if seconds is None or seconds < 10 else abs(got - seconds) < 2
