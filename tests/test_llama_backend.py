"""The llama backend on real llama-cpp-python, with tiny random-weight GGUF models generated
per test session (tests/tiny_gguf.py). Random weights write gibberish, so the tests check
structure: prompts byte for byte, stops, token counts, cache reuse, errors."""
from __future__ import annotations

import ctypes
import math
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import llama_cpp
import pytest
from tiny_gguf import MODEL_NAME, write_tiny_gguf, write_tiny_gguf_without_template

from codeact_jupyter.backends import BackendConfig, BackendError, create_backend
from codeact_jupyter.agent.replies import parse_reply
from codeact_jupyter.backends.llama.engine import LlamaEngine, default_grammar, unload
from codeact_jupyter.backends.llama.hub import DEFAULT_MODEL_FILE, DEFAULT_MODEL_REPO
from codeact_jupyter.agent.transcript_fit import fit_to_context

REPO_ROOT = Path(__file__).resolve().parents[1]
GPU_BUILD = bool(llama_cpp.llama_supports_gpu_offload())
STEP = re.compile(r"^(?:(?!<execute>).)*(?:<execute>(?:(?!</execute>).)*)?$", re.DOTALL)


@pytest.fixture(scope="session")
def models(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("gguf")
    return {
        "chatml": write_tiny_gguf(folder / "tiny.gguf"),
        "plain": write_tiny_gguf_without_template(folder / "plain.gguf"),
        "custom": write_tiny_gguf(folder / "custom.gguf", chat_template=(
            "{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}\n{% endfor %}"
            "{% if add_generation_prompt %}[assistant] {% endif %}")),
        "long": write_tiny_gguf(folder / "long.gguf", context_length=32768),
        "short": write_tiny_gguf(folder / "short.gguf", context_length=512),
        # SentencePiece vocabulary, BOS first, a space before each text fragment (like Mistral).
        "spm": write_tiny_gguf(folder / "spm.gguf", tokenizer="spm"),
        "ends": write_tiny_gguf(folder / "ends.gguf", end_of_turn_logit=40.0),
        # Likes its "<execute>" and "</execute>" tokens: without a grammar it opens blocks at will.
        "tags": write_tiny_gguf(folder / "tags.gguf",
                                token_logits={"<execute>": 4.0, "</execute>": 3.0}),
    }


@pytest.fixture(autouse=True)
def fresh_model_cache():
    unload()
    yield
    unload()


def backend(path: Path, **extras) -> LlamaEngine:
    options = {k: extras.pop(k) for k in ("max_tokens", "temperature") if k in extras}
    return LlamaEngine(BackendConfig(model=str(path), extras=extras, **options))


def conversation(turns: int = 0) -> list[dict]:
    messages = [{"role": "system", "content": "You run Python for the user."},
                {"role": "user", "content": "What is 2 + 2?"}]
    for n in range(turns):
        step = f"Let me see.\n<execute>\nprint({n})\n</execute>"
        messages += [{"role": "assistant", "content": step},
                     {"role": "user", "content": f"Execution Output:\n{n}\n"}]
    return messages


def reply(b: LlamaEngine, messages: list[dict], stop: list[str] | None = None) -> str:
    return "".join(b.stream(messages, ["</execute>"] if stop is None else stop))


# -- describing, context size, template ------------------------------------------------------

def test_describe_names_model_quantization_device_and_context(models):
    line = backend(models["chatml"]).describe()
    device = r"CUDA \(all layers\)|Metal \(all layers\)|\w+ \(all layers\)" if GPU_BUILD else "CPU"
    assert re.fullmatch(rf"llama · {MODEL_NAME} · F32 · ({device}) · \d+ threads · ctx 4096 · "
                        r"template: from the file", line), line


def test_found_by_name_as_the_llama_backend(models):
    from codeact_jupyter.backends.llama.backend import LlamaBackend

    b = create_backend("llama", BackendConfig(model=str(models["chatml"])))
    assert isinstance(b, LlamaBackend) and b.name == "llama"  # the kernel's side of the host


@pytest.mark.parametrize("model, cap, expected", [
    ("chatml", None, 4096), ("long", None, 8192), ("long", 16384, 16384), ("short", None, 512),
    ("chatml", 1024, 1024),
])
def test_context_size_is_the_trained_length_capped(models, model, cap, expected):
    b = backend(models[model], **({"n_ctx_cap": cap} if cap else {}))
    assert b.context_size == expected == b.llm.n_ctx()


CHATML_EXPECTED = (
    "<|im_start|>system\nYou run Python for the user.<|im_end|>\n"
    "<|im_start|>user\nWhat is 2 + 2?<|im_end|>\n"
    "<|im_start|>assistant\nLet me see.\n<execute>\nprint(0)\n</execute><|im_end|>\n"
    "<|im_start|>user\nExecution Output:\n0\n<|im_end|>\n"
    "<|im_start|>assistant\n"
)


@pytest.mark.parametrize("model", ["chatml", "plain"])
def test_prompt_is_chatml_byte_for_byte(models, model):
    """The GGUF's own ChatML template, or ChatML guessed from the vocabulary when the file
    has no template."""
    b = backend(models[model])
    assert b.template.label == {"chatml": "from the file", "plain": "chatml (guessed)"}[model]
    text = b.prompt.render(conversation(1))
    assert text.encode() == CHATML_EXPECTED.encode()
    tokens = b.prompt.tokens(text)
    assert b.llm.detokenize(tokens, special=True) == CHATML_EXPECTED.encode()
    im_start, im_end = (b.llm.tokenize(t.encode(), add_bos=False, special=True)
                        for t in ("<|im_start|>", "<|im_end|>"))
    assert len(im_start) == len(im_end) == 1  # control tokens, not text
    assert tokens.count(im_start[0]) == 5 and tokens.count(im_end[0]) == 4


def test_the_models_own_template_is_used(models):
    b = backend(models["custom"])
    assert b.prompt.render(conversation(0)) == (
        "[system] You run Python for the user.\n[user] What is 2 + 2?\n[assistant] ")
    assert b.prompt.end_of_turn_stops() == ["<|im_end|>"]  # the model's end-of-sequence token


# -- streaming and stops ----------------------------------------------------------------------

def test_stream_yields_printable_text_in_chunks(models):
    b = backend(models["chatml"], max_tokens=40, temperature=0.0)
    chunks = list(b.stream(conversation(), []))
    assert len(chunks) > 5
    text = "".join(chunks)
    assert text and all(c == "\n" or " " <= c <= "~" for c in text)
    usage = b.last_usage
    assert usage.generated_tokens == 40 and usage.prompt_tokens == usage.evaluated_tokens
    assert usage.seconds > 0 and usage.tokens_per_second > 0


def test_stop_text_ends_the_reply_and_is_not_in_it(models):
    b = backend(models["chatml"], max_tokens=60, temperature=1.0)  # seeded: same reply again
    full = reply(b, conversation(), stop=[])
    cut = next(k for k in range(10, len(full) - 3) if full.find(full[k:k + 3]) == k)
    stop = full[cut:cut + 3]
    unload()  # the same reply from a cold start
    b = backend(models["chatml"], max_tokens=60, temperature=1.0)
    text = reply(b, conversation(), stop=[stop])
    assert text == full[:cut] and stop not in text
    assert b.last_usage.generated_tokens < 60


def test_end_of_turn_token_ends_the_reply(models):
    b = backend(models["ends"], max_tokens=30)
    assert reply(b, conversation()) == ""
    assert b.last_usage.generated_tokens == 1  # the <|im_end|> it sampled, nothing after it


# -- load once, reuse, unload -----------------------------------------------------------------

def test_same_file_and_options_share_one_loaded_model(models):
    first = backend(models["chatml"])
    second = backend(models["chatml"], max_tokens=7)  # not a load option
    assert second.llm is first.llm


def test_other_options_reload_and_free_the_old_model(models):
    first = backend(models["chatml"])
    old = first.llm
    second = backend(models["chatml"], n_ctx_cap=1024)
    assert second.llm is not old and second.context_size == 1024
    assert old._model.model is None  # freed by llama-cpp-python's close()
    third = backend(models["plain"], n_ctx_cap=1024)
    assert third.llm is not second.llm and second.llm._model.model is None


def test_unload_frees_the_model(models):
    b = backend(models["chatml"])
    llm = b.llm
    assert unload() is True
    assert llm._model.model is None and llm._ctx.ctx is None
    assert unload() is False
    assert backend(models["chatml"]).llm is not llm


# -- the KV cache across turns ----------------------------------------------------------------

# The longest token text in the tiny vocabularies ("</execute>") is 10 bytes.
LAST_TOKEN_SLACK = 10


def decoded_tokens(b: LlamaEngine) -> int:
    perf = llama_cpp.llama_perf_context(b.llm._ctx.ctx)
    return perf.n_p_eval + perf.n_eval


def test_each_turn_evaluates_only_the_new_tokens(models):
    # The "tags" model writes "<execute>" as one token, which re-tokenizing its text would not.
    b = backend(models["tags"], max_tokens=24, temperature=1.0)
    messages = conversation()
    reply_text = reply(b, messages)
    assert b.last_usage.evaluated_tokens == b.last_usage.prompt_tokens
    for turn in range(3):
        previous = b.prompt.render(messages) + reply_text
        messages += [{"role": "assistant", "content": reply_text},
                     {"role": "user", "content": f"Execution Output:\n{turn * 1234}\n"}]
        new_text = b.prompt.render(messages)[len(previous):]
        before = decoded_tokens(b)
        reply_text = reply(b, messages)
        usage = b.last_usage
        # What llama.cpp really decoded: the evaluated prompt tokens plus each generated token
        # but the last (it is sampled, never fed back).
        assert decoded_tokens(b) - before == usage.evaluated_tokens + usage.generated_tokens - 1
        # Only the new text, plus the previous reply's last token, which was sampled but never
        # fed back: its text is tokenized afresh (up to LAST_TOKEN_SLACK tokens).
        new = b.count_tokens(new_text)
        assert new <= usage.evaluated_tokens <= new + LAST_TOKEN_SLACK
        assert usage.prompt_tokens > 3 * usage.evaluated_tokens or turn == 0


def test_reply_tokens_are_kept_as_generated_not_retokenized(models):
    """With a byte-level vocabulary the reply 'the' may be generated as t,h,e; re-tokenizing
    the prompt would give a different sequence and lose the cache from there. The "tags" model
    writes "<execute>" as one token; the tokenizer would split that text in three."""
    b = backend(models["tags"], max_tokens=32, temperature=1.0)
    messages = conversation()
    prompt = b.prompt.render(messages)
    reply_text = reply(b, messages)
    assert "<execute>" in reply_text
    in_context = b.llm.input_ids[: b.llm.n_tokens].tolist()
    messages += [{"role": "assistant", "content": reply_text}, {"role": "user", "content": "ok"}]
    tokens = b.prompt.tokens(b.prompt.render(messages))
    assert tokens[: len(in_context)] == in_context
    assert b.llm.detokenize(tokens, special=True).decode() == b.prompt.render(messages)
    assert prompt.endswith("assistant\n")


@pytest.mark.parametrize("closing_tag", ["", "</execute>"])
@pytest.mark.parametrize("model", ["spm", "tags"])
def test_reuse_keeps_the_text_exact(models, model, closing_tag):
    """Over several turns, whether the loop stores the reply as streamed or with its closing
    tag put back: the prompt tokens spell what tokenizing the whole prompt would, and each
    turn evaluates about as many tokens as the new text has."""
    b = backend(models[model], max_tokens=24, temperature=1.0)
    head = [b.llm.token_bos()] if model == "spm" else []
    messages = conversation()
    for turn in range(5):
        text = reply(b, messages) + closing_tag
        if turn:
            assert b.last_usage.evaluated_tokens <= new + LAST_TOKEN_SLACK
        previous = b.prompt.render(messages) + text
        messages += [{"role": "assistant", "content": text},
                     {"role": "user", "content": f"Execution Output:\n{turn}\n"}]
        prompt = b.prompt.render(messages)
        new = b.count_tokens(prompt[len(previous):]) + b.count_tokens(closing_tag)
        tokens = b.prompt.tokens(prompt)
        whole = head + b.llm.tokenize(prompt.encode(), add_bos=False, special=True)
        assert tokens[: len(head)] == head
        assert b.llm.detokenize(tokens, special=True) == b.llm.detokenize(whole, special=True)


# -- context overflow -------------------------------------------------------------------------

def long_transcript(turns: int) -> list[dict]:
    messages = conversation()
    for n in range(turns):
        messages += [{"role": "assistant", "content": f"<execute>\nprint('{n}' * 40)\n</execute>"},
                     {"role": "user", "content": f"Execution Output:\n{str(n) * 40}\n"}]
    return messages


def test_overflowing_transcript_is_an_error_not_a_crash(models):
    b = backend(models["short"], max_tokens=32)
    with pytest.raises(BackendError, match="context window of 512 tokens"):
        reply(b, long_transcript(12))


def test_fitted_transcript_runs_within_the_context(models):
    b = backend(models["short"], max_tokens=32)
    messages = long_transcript(12)
    fitted, notice = fit_to_context(messages, b.context_size - 32, b.count_tokens)
    assert notice is not None and "context window" in notice
    reply(b, fitted)
    usage = b.last_usage
    assert usage.prompt_tokens <= b.context_size - 32
    assert usage.generated_tokens == 32
    assert fitted[-1] == messages[-1] and fitted[1] == messages[1]


# -- grammar ----------------------------------------------------------------------------------

def grammar_allows(llm, grammar: str, text: str) -> bool:
    """Does llama.cpp's grammar sampler let ``text`` be written, and end there?"""
    sampler = llama_cpp.llama_sampler_init_grammar(llm._model.vocab, grammar.encode(), b"root")
    assert sampler

    def allowed(token: int) -> bool:
        data = (llama_cpp.llama_token_data * 1)()
        data[0].id, data[0].logit, data[0].p = token, 0.0, 0.0
        candidates = llama_cpp.llama_token_data_array(data=data, size=1, selected=-1, sorted=False)
        llama_cpp.llama_sampler_apply(sampler, ctypes.byref(candidates))
        return not math.isinf(data[0].logit)

    try:
        for token in llm.tokenize(text.encode(), add_bos=False, special=False):
            if not allowed(token):
                return False
            llama_cpp.llama_sampler_accept(sampler, token)
        return allowed(llm.token_eos())
    finally:
        llama_cpp.llama_sampler_free(sampler)


@pytest.mark.parametrize("text, ok", [
    ("The answer is 4.", True),
    ("Let me compute it.\n<execute>\nprint(2 + 2)\n</execute>", True),
    ("<execute>x = 1 if a < b else 2</execute>", True),
    ("a <exec is not a tag, <<execute>y</execute>", True),
    ("<execute>print('<p>')</execute>", True),
    ("one <execute>a</execute> two <execute>b</execute>", False),
    ("<execute>a\n<execute>b</execute>", False),
    ("<execute>a</execute> and text after the block", False),
    ("<execute>a</execute></execute>", False),
    ("<execute>unfinished code", False),
])
def test_packaged_grammar_allows_one_step_or_an_answer(models, text, ok):
    llm = backend(models["chatml"]).llm
    assert grammar_allows(llm, default_grammar(), text) is ok


@pytest.mark.parametrize("text, ok", [
    ("<think>Try <execute>a</execute>? No.</think>\n<execute>\nprint(1)\n</execute>", True),
    ("<think>\n\n</think>\n\nThe answer is 4.", True),
    ("<think>a </thin b < c</think>The answer.", True),
    ("<think>one</think><think>two</think>The answer.", True),  # the second is the answer's text
    ("<think>x</think><execute>a</execute> and after", False),
])
def test_packaged_grammar_allows_one_think_block_before_the_step(models, text, ok):
    llm = backend(models["chatml"]).llm
    assert grammar_allows(llm, default_grammar(), text) is ok


@pytest.mark.parametrize("text, ok", [
    ('I will add.<tool_call>\n{"name": "python", "arguments": {"code": "print(1 + 1)\\nx = \\"a\\""}}\n</tool_call>', True),
    ('<think>maybe</think><tool_call>\n{"name": "python", "arguments": {"code": "x"}}\n</tool_call>', True),
    ("The answer is 4.", True),
    ('<tool_call>\n{"name": "get_weather", "arguments": {"code": "x"}}\n</tool_call>', False),
    ('<tool_call>\n{"name": "python", "arguments": {"code": "a\nb"}}\n</tool_call>', False),  # raw newline: not JSON
    ('<tool_call>\n{"name": "python", "arguments": {"code": "x"}}\n</tool_call> more', False),
])
def test_the_tools_grammar_allows_one_python_call_or_an_answer(models, text, ok):
    llm = backend(models["chatml"]).llm
    assert grammar_allows(llm, default_grammar("tools"), text) is ok
    if ok and "<tool_call>" in text:
        assert parse_reply(text).tool_calls[0].code() is not None


def tag_replies(b: LlamaEngine, count: int = 12) -> list[str]:
    return [reply(b, conversation() + [{"role": "assistant", "content": f"{n}"},
                                       {"role": "user", "content": "again"}])
            for n in range(count)]


def one_step_or_answer(text: str) -> bool:
    return bool(STEP.match(text)) and text.count("<execute>") <= 1


def test_grammar_constrained_replies_match_the_pattern(models):
    b = backend(models["tags"], grammar=True, max_tokens=48, temperature=1.0)
    assert b.describe().endswith(" · grammar")
    replies = tag_replies(b)
    assert all(one_step_or_answer(text) for text in replies), replies
    assert any("<execute>" in text for text in replies)  # the step branch is taken
    # The same model, unconstrained, breaks the pattern: the grammar is what holds it.
    unload()
    free = tag_replies(backend(models["tags"], max_tokens=48, temperature=1.0))
    assert not all(one_step_or_answer(text) for text in free)


def test_grammar_with_its_closing_tag_still_stops_at_the_tag(models):
    forced = 'root ::= "<execute>" [a-z]{1,4} "</execute>"'
    b = backend(models["chatml"], grammar=forced, max_tokens=40, temperature=1.0)
    text = reply(b, conversation())
    assert re.fullmatch(r"<execute>[a-z]{1,4}", text), text
    assert b.last_usage.generated_tokens < 40


@pytest.mark.parametrize("bad", ["root ::= (", 'start ::= "a"', "root ::= undefined-rule"])
def test_invalid_grammar_is_refused_before_it_can_crash(models, bad):
    with pytest.raises(BackendError, match="not valid GBNF"):
        backend(models["chatml"], grammar=bad)
    b = backend(models["chatml"], max_tokens=4)  # the process is fine
    assert len(reply(b, conversation())) > 0


def test_grammar_file_path_option(models, tmp_path):
    path = tmp_path / "answer.gbnf"
    path.write_text('root ::= "4"\n')
    b = backend(models["chatml"], grammar=str(path), max_tokens=10)
    assert reply(b, conversation()) == "4"


# -- errors the user can act on ---------------------------------------------------------------

def test_missing_file_says_where_it_looked(tmp_path):
    missing = tmp_path / "nowhere" / "model.gguf"
    with pytest.raises(BackendError) as info:
        LlamaEngine(BackendConfig(model=str(missing)))
    message = str(info.value)
    assert str(missing) in message and "--model /path/to/model.gguf" in message
    assert "owner/repo:file.gguf" in message


def test_relative_missing_path_names_the_working_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BackendError, match=re.escape(f"relative to {tmp_path}")):
        LlamaEngine(BackendConfig(model="models/x.gguf"))


@pytest.mark.parametrize("content, hint", [
    (b"PK\x03\x04" + b"\0" * 100, "PyTorch or safetensors"),
    (b"version https://git-lfs.github.com/spec/v1\n", "Git LFS pointer"),
    (b"\0" * 64, "does not start with the bytes 'GGUF'"),
])
def test_a_file_that_is_not_gguf_is_refused_before_loading(tmp_path, content, hint):
    path = tmp_path / "model.gguf"
    path.write_bytes(content)
    with pytest.raises(BackendError, match="is not a GGUF model file") as info:
        LlamaEngine(BackendConfig(model=str(path)))
    assert hint in str(info.value)


def test_damaged_header_is_reported(tmp_path):
    path = tmp_path / "model.gguf"
    path.write_bytes(b"GGUF\x03\0\0\0" + b"\xff" * 30)
    with pytest.raises(BackendError, match="header is damaged"):
        LlamaEngine(BackendConfig(model=str(path)))


def test_load_failure_suggests_memory_remedies(models, tmp_path):
    path = tmp_path / "truncated.gguf"
    data = models["chatml"].read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(BackendError, match="could not load") as info:
        LlamaEngine(BackendConfig(model=str(path)))
    message = str(info.value)
    for remedy in ("smaller quantization", "fewer layers", "smaller context", "incomplete"):
        assert remedy in message


def run_isolated(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter: huggingface_hub reads its settings at import."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), **env}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=full_env,
                          capture_output=True, text=True, timeout=120)


def test_default_model_offline_explains_how_to_get_it(tmp_path):
    result = run_isolated("""
        from codeact_jupyter.backends import BackendConfig, BackendError
        from codeact_jupyter.backends.llama.backend import LlamaBackend
        try:
            LlamaBackend(BackendConfig())
        except BackendError as exc:
            print(exc)
    """, {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")})
    message = result.stdout
    url = f"https://huggingface.co/{DEFAULT_MODEL_REPO}/resolve/main/{DEFAULT_MODEL_FILE}"
    assert url in message, result.stderr
    assert "offline mode" in message and "7.7 GB" in message
    assert f"--model /path/to/{DEFAULT_MODEL_FILE}" in message
    assert str(tmp_path / "hf" / "hub") in message  # the cache it would have used
    assert not list((tmp_path / "hf").rglob("*.gguf"))


@pytest.mark.parametrize("server", ["refuses", "never answers"])
def test_an_unreachable_hub_fails_within_3_seconds_with_one_message(tmp_path, server):
    """No 20 seconds of retry warnings: one short probe, then how to get the file by hand."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    if server == "refuses":
        listener.close()
    else:
        listener.listen(8)  # connections complete, but nothing is ever read or answered
    try:
        result = run_isolated("""
            import time
            import huggingface_hub
            from codeact_jupyter.backends import BackendConfig, BackendError
            from codeact_jupyter.backends.llama.backend import LlamaBackend
            started = time.monotonic()
            try:
                LlamaBackend(BackendConfig())
            except BackendError as exc:
                print(exc)
            print(time.monotonic() - started)
        """, {"HF_ENDPOINT": f"http://127.0.0.1:{port}", "HF_HOME": str(tmp_path / "hf")})
    finally:
        listener.close()
    *lines, elapsed = result.stdout.strip().splitlines()
    message = "\n".join(lines)
    assert "could not be reached" in message, result.stderr
    url = f"http://127.0.0.1:{port}/{DEFAULT_MODEL_REPO}/resolve/main/{DEFAULT_MODEL_FILE}"
    assert url in message and str(tmp_path / "hf" / "hub") in message
    assert f"--model /path/to/{DEFAULT_MODEL_FILE}" in message
    assert "Retry" not in result.stderr and "Traceback" not in result.stderr
    assert float(elapsed) < 3.0


def test_a_hub_reference_already_in_the_cache_needs_no_network(models, tmp_path):
    commit = "0" * 40
    repo = tmp_path / "hf" / "hub" / "models--someone--tiny-gguf"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    (repo / "snapshots" / commit).mkdir(parents=True)
    (repo / "snapshots" / commit / "tiny.gguf").write_bytes(models["chatml"].read_bytes())
    result = run_isolated("""
        from codeact_jupyter.backends import BackendConfig
        from codeact_jupyter.backends.llama.backend import LlamaBackend
        print(LlamaBackend(BackendConfig(model="someone/tiny-gguf:tiny.gguf")).describe())
    """, {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")})
    assert f"llama · {MODEL_NAME} · F32 ·" in result.stdout, result.stderr


def test_gpu_request_needs_a_gpu_build(models):
    if GPU_BUILD:
        b = backend(models["chatml"], device="gpu")
        assert "(all layers)" in b.describe() and "CPU" not in b.describe()
    else:
        with pytest.raises(BackendError) as info:
            backend(models["chatml"], device="gpu")
        message = str(info.value)
        assert 'CMAKE_ARGS="-DGGML_CUDA=on"' in message
        assert 'CMAKE_ARGS="-DGGML_METAL=on"' in message
        assert "abetlen.github.io/llama-cpp-python/whl" in message


def test_download_progress_is_text_outside_a_notebook():
    from codeact_jupyter.backends.llama.hub import _progress_bar

    assert _progress_bar().__module__ == "tqdm.std"


def test_cpu_device_and_layer_counts(models):
    assert " · CPU · " in backend(models["chatml"], device="cpu").describe()
    b = backend(models["chatml"], n_gpu_layers=1)
    assert (" · CPU · " in b.describe()) is not GPU_BUILD
    with pytest.raises(BackendError, match="Unknown device 'tpu'"):
        backend(models["chatml"], device="tpu")
