"""The model host: llama.cpp runs in a child process of the kernel, so whatever happens to
it (a segfault, an abort, the out-of-memory killer, a kill by hand) the kernel and its
variables live on. Generated tiny GGUF models keep these tests fast and exact; the
real-model tier (test_real_models.py) repeats the essentials with real quantized files."""
from __future__ import annotations

import os
import signal
import threading
import time

import pytest
from kernels import gone, run_cell, run_json, running_kernel, until
from tiny_gguf import write_tiny_gguf

from codeact_jupyter.backends import BackendConfig, BackendError
from codeact_jupyter.backends.llama.backend import LlamaBackend, unload
from codeact_jupyter.backends.llama.host import HostDied, current_host, get_host
from codeact_jupyter.backends.llama.host.logs import tail

MESSAGES = [{"role": "system", "content": "You run Python for the user."},
            {"role": "user", "content": "Count the rows of df."}]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gguf")
    return {
        "tiny": write_tiny_gguf(folder / "tiny.gguf"),
        # Big enough that a long reply takes seconds: room to stop or kill it midway.
        "slow": write_tiny_gguf(folder / "slow.gguf", hidden=512, layers=8, heads=8,
                                context_length=8192),
    }


@pytest.fixture(autouse=True)
def fresh_host():
    unload()
    yield
    unload()


def backend(path, **extras) -> LlamaBackend:
    options = {k: extras.pop(k) for k in ("max_tokens", "temperature") if k in extras}
    return LlamaBackend(BackendConfig(model=str(path), extras=extras, **options))


def interrupt_main_after(seconds: float) -> list[float]:
    """Send this process's main thread a real SIGINT later (the user's Stop); return a
    list that gets the moment it was sent."""
    sent: list[float] = []

    def fire():
        sent.append(time.perf_counter())
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

    threading.Timer(seconds, fire).start()
    return sent


def test_the_model_runs_in_a_child_process_that_stays_between_tasks(models):
    first = backend(models["tiny"], max_tokens=8)
    "".join(first.stream(MESSAGES, []))
    host = current_host()
    assert host.pid != os.getpid() and host.alive()
    second = backend(models["tiny"], max_tokens=8)
    "".join(second.stream(MESSAGES, []))
    assert current_host() is host
    assert second.last_usage.evaluated_tokens == 1  # the KV cache carried over


def test_stop_returns_at_once_and_the_host_keeps_its_cache(models):
    b = backend(models["slow"], max_tokens=6000, temperature=0.0)
    chunks = b.stream(MESSAGES, [])
    next(chunks)  # the reply has begun
    sent = interrupt_main_after(0.3)
    with pytest.raises(KeyboardInterrupt):
        for _ in chunks:
            pass
    returned = time.perf_counter()
    assert returned - sent[0] < 0.5
    host = current_host()
    assert host.alive()
    b2 = backend(models["slow"], max_tokens=4)
    "".join(b2.stream(MESSAGES, []))
    assert current_host() is host
    assert b2.last_usage.evaluated_tokens == 1  # the prompt was still in the cache


@pytest.mark.parametrize("sig, words", [
    (signal.SIGKILL, "killed (SIGKILL): most often the system's out-of-memory killer"),
    (signal.SIGSEGV, "crashed inside llama.cpp (segmentation fault)"),
    (signal.SIGABRT, "llama.cpp aborted"),
])
def test_a_host_that_dies_mid_reply_ends_the_task_with_a_clear_message(models, sig, words):
    b = backend(models["slow"], max_tokens=6000)
    chunks = b.stream(MESSAGES, [])
    next(chunks)
    os.kill(current_host().pid, sig)
    with pytest.raises(HostDied) as info:
        for _ in chunks:
            pass
    message = str(info.value)
    assert words in message
    assert "Your kernel and its variables are untouched" in message
    assert current_host().log_path in message
    assert "Last lines of its log" in message  # llama.cpp's own lines, for a bug report
    # The next task starts a fresh host.
    again = backend(models["tiny"], max_tokens=4)
    assert "".join(again.stream(MESSAGES, [])) is not None
    assert current_host().alive()
    assert again.notices == []  # the death was told once, by the task it ended


def test_a_host_that_died_between_tasks_is_replaced_and_the_user_told(models):
    backend(models["tiny"])
    dead = current_host()
    os.kill(dead.pid, signal.SIGKILL)
    # Until it can be reaped: its main thread shows as a zombie in /proc while llama.cpp's
    # threads still exit, and a task starting in that instant meets a dying host.
    assert until(lambda: not dead.alive())
    again = backend(models["tiny"], max_tokens=4)
    assert current_host() is not dead
    assert again.notices[0].startswith("The model process had stopped since the last task "
                                       "(it was killed (SIGKILL)")
    assert backend(models["tiny"]).notices == []  # said once


def test_llama_cpp_logs_go_to_the_log_file(models):
    b = backend(models["tiny"], max_tokens=4)
    "".join(b.stream(MESSAGES, []))
    lines = open(current_host().log_path, encoding="utf-8", errors="replace").read()
    assert "llama_model_loader" in lines or "load_tensors" in lines
    assert tail(current_host().log_path)


def test_load_errors_come_back_as_messages_not_crashes(models, tmp_path):
    broken = tmp_path / "truncated.gguf"
    data = models["tiny"].read_bytes()
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(BackendError, match="could not load") as info:
        backend(broken)
    assert not isinstance(info.value, HostDied)
    assert f"llama.cpp's log: {current_host().log_path}" in str(info.value)
    assert get_host()[0].alive()


def test_threads_default_to_physical_cores_and_the_setting_overrides(models):
    from codeact_jupyter.backends.llama.cpu_threads import physical_cores

    assert f"· {physical_cores()} threads ·" in backend(models["tiny"]).describe()
    assert "· 1 threads ·" in backend(models["tiny"], threads=1).describe()


def test_unload_model_ends_the_host(models):
    import codeact_jupyter

    backend(models["tiny"])
    pid = current_host().pid
    assert codeact_jupyter.unload_model() is True
    assert gone(pid) and current_host() is None
    assert codeact_jupyter.unload_model() is False


def test_a_killed_kernel_leaves_no_model_process_behind(models):
    with running_kernel() as (km, kc):
        run_cell(kc, "%load_ext codeact_jupyter")
        reply, shown = run_cell(kc, f"%%codeact --backend llama --model {models['tiny']} "
                                    "--max-turns 1\nsay hello")
        assert reply["status"] == "ok", shown
        pids = run_json(kc, "import json, os, codeact_jupyter.backends.llama.host as h\n"
                            "print(json.dumps({'host': h.current_host().pid, 'kernel': os.getpid()}))")
        host = pids["host"]
        assert not gone(host, within=0.2)
        os.kill(pids["kernel"], signal.SIGKILL)  # no atexit, no cleanup in the kernel
        assert gone(host), "the model host outlived its kernel"


def test_a_dead_host_costs_no_variable_in_a_real_kernel(models, tmp_path):
    with running_kernel(CODEACT_LOG_DIR=str(tmp_path)) as (km, kc):
        run_cell(kc, "%load_ext codeact_jupyter\nprecious = list(range(10))")
        run_cell(kc, "%config CodeActMagics.max_tokens = 6000")
        code = f"%%codeact --backend llama --model {models['slow']} --max-turns 1\nwrite a lot"
        msg_id = kc.execute(code)
        pid = None
        deadline = time.monotonic() + 60
        while pid is None and time.monotonic() < deadline:  # the host starts with the task
            for line in _log_lines(tmp_path):
                if "started, pid" in line:
                    pid = int(line.rsplit("pid", 1)[1].split(",")[0])
            time.sleep(0.1)
        time.sleep(1.0)  # into the reply
        os.kill(pid, signal.SIGKILL)
        reply = kc.get_shell_msg(timeout=60)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = kc.get_shell_msg(timeout=60)
        assert reply["content"]["status"] == "ok"
        state = run_json(kc, "import json, codeact_jupyter\nr = codeact_jupyter.last_run()\n"
                             "print(json.dumps({'error': r.error, 'done': r.done_reason, "
                             "'precious': precious}))")
        assert state["precious"] == list(range(10))
        assert state["done"] == "error" and "The model process stopped" in state["error"]
        reply, shown = run_cell(kc, f"%%codeact --backend llama --model {models['tiny']} "
                                    "--max-turns 1\nagain")
        assert reply["status"] == "ok" and "The model process stopped" not in shown


def _log_lines(folder) -> list[str]:
    return [line for log in folder.glob("model-host-*.log")
            for line in log.read_text(errors="replace").splitlines()]


def test_a_host_stuck_after_a_stop_is_replaced_by_the_next_task(models, monkeypatch):
    """A Stop while the host is inside one long native call (a huge prompt, a hang) cannot
    reach it until the call returns; the next task waits a little, then starts afresh."""
    from codeact_jupyter.backends.llama.host import client

    monkeypatch.setattr(client, "FINISH_SECONDS", 1.0)
    b = backend(models["slow"], max_tokens=6000)
    chunks = b.stream(MESSAGES, [])
    next(chunks)
    stuck = current_host()
    os.kill(stuck.pid, signal.SIGSTOP)  # frozen mid-reply, as in a call that never returns
    interrupt_main_after(0.2)
    with pytest.raises(KeyboardInterrupt):
        for _ in chunks:
            pass
    started = time.monotonic()
    again = backend(models["tiny"], max_tokens=4)
    "".join(again.stream(MESSAGES, []))
    assert current_host() is not stuck and gone(stuck.pid)
    assert time.monotonic() - started < 1.0 + 3.0


def test_a_relative_grammar_file_is_found_after_the_kernel_changes_folder(models, tmp_path,
                                                                       monkeypatch):
    backend(models["tiny"])  # the host starts here, in this folder
    (tmp_path / "step.gbnf").write_text('root ::= "ok"')
    monkeypatch.chdir(tmp_path)
    b = backend(models["tiny"], grammar="step.gbnf", max_tokens=8)
    assert "".join(b.stream(MESSAGES, [])) == "ok"


def test_without_llama_cpp_the_message_says_how_to_install_it(models, tmp_path, monkeypatch):
    """The host runs the kernel's Python; where llama_cpp cannot be imported there, the task
    says what to install instead of showing an import traceback."""
    (tmp_path / "llama_cpp").mkdir()
    (tmp_path / "llama_cpp" / "__init__.py").write_text("raise ImportError('not built')\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    with pytest.raises(BackendError) as info:
        backend(models["tiny"])
    message = str(info.value)
    assert "llama-cpp-python cannot be imported" in message and "%pip install llama-cpp-python" in message


def test_before_a_long_prompt_the_host_says_how_many_tokens_the_model_reads(models):
    """A caller that asks (the loop, for the panel's "Reading the prompt: N new tokens…")
    hears, before the reply, how many new tokens the model reads; a reused prompt reads
    one token and is not announced; a caller that did not ask gets text only."""
    from codeact_jupyter.backends.base import Reading
    from codeact_jupyter.backends.llama.engine import READING_TOLD

    long_messages = [MESSAGES[0], {"role": "user", "content": "Count the rows of df. " * 120}]
    b = backend(models["tiny"], max_tokens=4)
    chunks = list(b.stream(long_messages, [], reading=True))
    assert isinstance(chunks[0], Reading) and all(isinstance(c, str) for c in chunks[1:])
    assert chunks[0].tokens == b.last_usage.evaluated_tokens >= READING_TOLD
    again = list(b.stream(long_messages, [], reading=True))
    assert not any(isinstance(c, Reading) for c in again)  # read from the KV cache
    unasked = list(backend(models["tiny"], max_tokens=4).stream(
        [MESSAGES[0], {"role": "user", "content": "Sum the rows. " * 120}], []))
    assert all(isinstance(c, str) for c in unasked)
    short = list(b.stream(MESSAGES, [], reading=True))  # under READING_TOLD new tokens
    assert all(isinstance(c, str) for c in short)
