"""``%%codeact --backend llama`` in a real ipykernel, with a generated GGUF model.

The model has random weights, so its code is gibberish; it is the "tags" variant that likes
its ``<execute>`` tokens, run with the grammar, so its replies are steps that the kernel runs
(and that fail with a SyntaxError, which goes back to the model as an observation). The
tests check structure: steps ran as cells, the task ended cleanly, the per-turn figures,
and that the model host, its model and its cache carry over from one task to the next in the
same kernel, which never loads llama.cpp itself.
"""
from __future__ import annotations

import json
import re

import pytest
from jupyter_client.manager import start_new_kernel
from kernels import run_cell
from tiny_gguf import write_tiny_gguf

STEP_OR_ANSWER = re.compile(
    r"^(?:(?!<execute>).)*(?:<execute>\n(?:(?!<execute>|</execute>).)*\n</execute>)?$", re.DOTALL)

REPORT = """
import json, sys, codeact_jupyter
from codeact_jupyter.backends.llama.host import current_host
run = codeact_jupyter.last_run()
print(json.dumps({
    "done": run.done_reason, "error": run.error, "backend": run.backend,
    "steps": [{"status": s.status, "count": s.execution_count} for s in run.steps],
    "stats": [[t.turn, t.prompt_tokens, t.evaluated_tokens, t.generated_tokens] for t in run.stats],
    "finish": [t.finish_reason for t in run.stats],
    "replies": run.replies(),
    "host": current_host().pid,
    "llama_cpp_in_kernel": "llama_cpp" in sys.modules,
}))
"""


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return write_tiny_gguf(tmp_path_factory.mktemp("gguf") / "tags.gguf",
                           token_logits={"<execute>": 4.0, "</execute>": 3.0})


@pytest.fixture
def kernel():
    km, kc = start_new_kernel(kernel_name="python3")
    yield kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def last_run(kc) -> dict:
    reply, text = run_cell(kc, REPORT)
    assert reply["status"] == "ok", text
    return json.loads(text.strip().splitlines()[-1])


def test_grammar_constrained_steps_run_in_a_real_kernel(kernel, model):
    run_cell(kernel, "%load_ext codeact_jupyter")
    run_cell(kernel, "%config CodeActMagics.temperature = 1.0")
    run_cell(kernel, "%config CodeActMagics.max_tokens = 160")
    reply, shown = run_cell(
        kernel, f"%%codeact --backend llama --model {model} --grammar --max-turns 3\n"
                "add two and two")
    assert reply["status"] == "ok", shown
    assert "llama · tiny-codeact · F32 ·" in shown and "· grammar" in shown

    run = last_run(kernel)
    assert run["error"] is None
    assert run["llama_cpp_in_kernel"] is False  # llama.cpp runs in the model host only
    assert run["done"] in {"answered", "turn_limit"}
    assert run["steps"], "the model's steps ran"
    assert all(step["status"] in {"ok", "error"} and step["count"] for step in run["steps"])
    # Each reply is a well-formed step or answer, or was cut at the token limit (and then
    # kept as written, its half step not run).
    assert all(STEP_OR_ANSWER.match(text) or finish == "length"
               for text, finish in zip(run["replies"], run["finish"])), run["replies"]

    turns = run["stats"]
    assert [t[0] for t in turns] == list(range(1, len(turns) + 1))
    assert all(prompt > 0 and generated > 0 for _, prompt, _, generated in turns)
    first, *later = turns
    assert first[2] == first[1]  # a cold cache evaluates the whole first prompt
    # While the model read it, the cell said so (the turn's text then took its place).
    assert first[2] >= 256 and f"Reading the prompt: {first[2]:,} new tokens…" in shown
    assert later and all(evaluated < prompt / 3 for _, prompt, evaluated, _ in later)

    # Downloads in a notebook kernel would show an ipywidgets progress bar.
    _, shown = run_cell(kernel, "from codeact_jupyter.backends.llama.hub import _progress_bar\n"
                                "print(_progress_bar().__module__)")
    assert shown.strip() == "tqdm.notebook"

    # A second task in the same kernel: same model host and loaded model, and the shared start of the
    # prompt (system message) comes from the cache.
    reply, shown = run_cell(
        kernel, f"%%codeact --backend llama --model {model} --grammar --max-turns 1\n"
                "now add three and three")
    assert reply["status"] == "ok", shown
    again = last_run(kernel)
    assert again["host"] == run["host"]
    _, prompt, evaluated, _ = again["stats"][0]
    assert evaluated < prompt
