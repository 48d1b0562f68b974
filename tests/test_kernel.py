"""%%codeact in a real ipykernel, as a notebook front end drives it."""

import nbformat
from jupyter_client.manager import start_new_kernel
from nbclient import NotebookClient

import pytest
from kernels import cell_text as outputs_text




def test_a_notebook_runs_a_task_through_nbclient(tmp_path, replay):
    path = replay([
        "Let me add them up.\n<execute>\ntotal = sum(prices)\nprint('total is', total)\n</execute>",
        "The prices add up to **60**.",
    ])
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("prices = [10, 20, 30]"),
        nbformat.v4.new_code_cell("%load_ext codeact_jupyter"),
        nbformat.v4.new_code_cell(f"%%codeact --backend replay --model {path} add up the prices"),
        nbformat.v4.new_code_cell("print(total * 2)"),
    ])
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    saved = tmp_path / "task.ipynb"
    nbformat.write(nb, saved)
    nb = nbformat.read(saved, as_version=4)
    task_output = outputs_text(nb.cells[2])
    assert "total is 60" in task_output  # the step's output, shown live
    assert "The prices add up to **60**." in task_output  # the answer, as Markdown
    assert "```python\ntotal = sum(prices)" in task_output  # the step, highlighted
    assert not any(o.output_type == "error" for o in nb.cells[2].outputs)
    assert outputs_text(nb.cells[3]) == "120\n"  # the step's variables stay for the user
    assert "not unique" not in task_output  # no clash in the history database


@pytest.fixture
def kernel():
    km, kc = start_new_kernel(kernel_name="python3")
    kc.execute_interactive("%load_ext codeact_jupyter", timeout=60)
    yield km, kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def collect(kc, code, timeout=60, stdin_answers=(), on_output=None):
    """Run code like a front end; answer input requests in order; return (reply, outputs)."""
    outputs = []
    answers = list(stdin_answers)
    prompts = []

    def stdin_hook(msg):
        prompts.append(msg["content"]["prompt"])
        kc.input(answers.pop(0))

    def output_hook(msg):
        outputs.append(msg)
        if on_output:
            on_output(msg)

    reply = kc.execute_interactive(code, timeout=timeout, allow_stdin=True, stdin_hook=stdin_hook,
                                   output_hook=output_hook)
    return reply, outputs, prompts


def text_of(messages):
    parts = []
    for msg in messages:
        content = msg["content"]
        parts.append(content.get("text") or content.get("data", {}).get("text/plain", "")
                     or "\n".join(content.get("traceback", [])))
    return "\n".join(parts)


def test_steps_take_their_own_execution_counts_and_the_next_cell_follows(kernel, replay):
    km, kc = kernel
    path = replay(["<execute>\na = 1\n</execute>", "<execute>\nb = 2\n</execute>", "Done."])
    reply, _, _ = collect(kc, f"%%codeact --backend replay --model {path} go\n")  # cell 2
    reply, outputs, _ = collect(kc, "import codeact_jupyter\n"
                                    "[s.execution_count for s in codeact_jupyter.last_run().steps], In[3], In[4]")
    assert reply["content"]["execution_count"] == 5
    assert text_of(outputs).strip() == "([3, 4], 'a = 1', 'b = 2')"


def test_confirm_asks_through_the_kernel_standard_input(kernel, replay):
    km, kc = kernel
    path = replay(["<execute>\nskipped = 1\n</execute>", "<execute>\nconfirmed = 2\n</execute>", "Done."])
    reply, outputs, prompts = collect(kc, f"%%codeact --backend replay --model {path} --confirm go\n",
                                      stdin_answers=["skip", "run"])
    assert reply["content"]["status"] == "ok"
    assert len(prompts) == 2 and prompts[0].startswith("codeact confirm")
    _, outputs, _ = collect(kc, "print('skipped' in globals(), confirmed)")
    assert text_of(outputs).strip() == "False 2"


def test_the_stop_button_during_a_step_ends_the_task_cleanly(kernel, replay):
    km, kc = kernel
    path = replay(["<execute>\nbefore = 'kept'\n</execute>",
                   "<execute>\nimport time\nprint('sleeping', flush=True)\ntime.sleep(60)\n</execute>", "never"])

    def interrupt_when_sleeping(msg):
        if msg["content"].get("text", "").startswith("sleeping"):
            km.interrupt_kernel()

    reply, outputs, _ = collect(kc, f"%%codeact --backend replay --model {path} go\n", on_output=interrupt_when_sleeping)
    assert reply["content"]["status"] == "ok"
    shown = text_of(outputs)
    assert "Task stopped." in shown
    assert "codeact_jupyter" not in shown  # no traceback from our internals
    _, outputs, _ = collect(kc, "print(before)")
    assert text_of(outputs).strip() == "kept"


def test_magics_and_shell_commands_work_inside_a_step(kernel, replay):
    km, kc = kernel
    path = replay(["<execute>\n!echo from-the-shell\n%time squared = 12 ** 2\nprint(squared)\n</execute>", "Done."])
    reply, _, _ = collect(kc, f"%%codeact --backend replay --model {path} go\n")
    _, outputs, _ = collect(kc, "import codeact_jupyter; print(codeact_jupyter.last_run().steps[0].observation)")
    observation = text_of(outputs)
    assert "from-the-shell" in observation
    assert "Wall time" in observation
    assert "144" in observation
