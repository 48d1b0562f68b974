"""Execution counts read like cells run in order: task cell [n], its steps [n+1]..., the
user's next cell after the last step; a step's result is Out[k] under In[k]. Checked on the
messages a real kernel sends, which front ends mirror (JupyterLab takes a cell's number from
its execute_reply, the extension takes a step's from the observation event)."""
from __future__ import annotations

import pytest
from jupyter_client.manager import start_new_kernel


@pytest.fixture
def kernel():
    km, kc = start_new_kernel(kernel_name="python3")
    yield km, kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def execute(kc, code, on_output=None):
    messages = []

    def hook(msg):
        messages.append(msg)
        if on_output:
            on_output(msg)

    reply = kc.execute_interactive(code, timeout=120, output_hook=hook)
    return reply["content"], messages


def counts(messages, msg_type):
    return [m["content"]["execution_count"] for m in messages if m["msg_type"] == msg_type]


def result(messages):
    return next(m["content"]["data"]["text/plain"] for m in messages if m["msg_type"] == "execute_result")


def announce_mirror(kc) -> None:
    """Say what the JupyterLab extension says before a %%codeact cell: this client mirrors
    runs into cells, so the kernel sends it the run's events."""
    import uuid

    kc.shell_channel.send(kc.session.msg("comm_open", {
        "comm_id": uuid.uuid4().hex, "target_name": "codeact_mirror", "data": {}}))


def observed(messages):
    """(step, execution_count, counts of its recorded execute_results) per observation event
    the extension received."""
    events = [event for m in messages if m["msg_type"] == "comm_msg"
              for event in m["content"]["data"].get("events", [])]
    return [(e["step"], e["execution_count"],
             [o["execution_count"] for o in e["outputs"] if o["output_type"] == "execute_result"])
            for e in events if e["type"] == "observation"]


def no_history_clash(messages):
    text = "".join(str(m["content"]) for m in messages)
    return "not unique" not in text and "IntegrityError" not in text


def test_task_cell_keeps_its_number_steps_follow_and_the_next_cell_comes_after(kernel, replay):
    km, kc = kernel
    path = replay(["<execute>\na = 40 + 2\na\n</execute>",
                   "<execute>\n1 / 0\n</execute>",
                   "<execute>\nprint('third')\n</execute>",
                   "Done."])
    execute(kc, "%load_ext codeact_jupyter")                                       # [1]
    execute(kc, "x = 0")                                                           # [2]
    reply, messages = execute(kc, f"%%codeact --backend replay --model {path} go\n")
    assert counts(messages, "execute_input") == [3]
    assert reply["execution_count"] == 3  # the number a notebook shows on the task cell
    # Out[4] under In[4], live in the task cell (no extension here: the cell is complete).
    assert counts(messages, "execute_result") == [4]
    reply, messages = execute(kc, "In[4], In[5], In[6], Out[4], len(In)")
    assert counts(messages, "execute_input") == [7] and reply["execution_count"] == 7
    assert result(messages) == "('a = 40 + 2\\na', '1 / 0', \"print('third')\", 42, 8)"
    reply, messages = execute(kc, "%history -n 3-7")
    history = "".join(m["content"].get("text", "") for m in messages)
    assert "4:\na = 40 + 2" in history and "6: print('third')" in history
    assert no_history_clash(messages)
    # And in the run's record, which the extension mirrors into step cells.
    reply, messages = execute(kc, "import codeact_jupyter\n[(s.execution_count, [o['execution_count'] "
                                  "for o in s.outputs if o['output_type'] == 'execute_result'])"
                                  " for s in codeact_jupyter.last_run().steps]")
    assert result(messages) == "[(4, [4]), (5, []), (6, [])]"


def test_tasks_without_steps_with_two_in_one_cell_and_stopped_ones_keep_the_order(kernel, replay):
    km, kc = kernel
    answer_only = replay(["Nothing to run."], name="answer.json")
    one_step = replay(["<execute>\nb = 1\n</execute>", "Done."], name="one.json")
    sleeps = replay(["<execute>\nimport time\nprint('sleeping', flush=True)\ntime.sleep(30)\n</execute>"],
                    name="sleeps.json")
    execute(kc, "%load_ext codeact_jupyter")                                        # [1]
    announce_mirror(kc)
    reply, _ = execute(kc, f"%codeact --backend replay --model {answer_only} go")   # [2], no step
    assert reply["execution_count"] == 2
    reply, messages = execute(kc, f"%codeact --backend replay --model {one_step} go\n"
                                  f"%codeact --backend replay --model {one_step} go")  # [3]: steps 4, 5
    assert reply["execution_count"] == 3
    assert [o[1] for o in observed(messages)] == [4, 5]

    def stop_when_sleeping(msg):
        if msg["content"].get("text", "").startswith("sleeping"):
            km.interrupt_kernel()  # the Stop button

    reply, messages = execute(kc, f"%codeact --backend replay --model {sleeps} go", on_output=stop_when_sleeping)
    assert reply["execution_count"] == 6 and [o[1] for o in observed(messages)] == [7]
    reply, messages = execute(kc, "'next'")
    assert counts(messages, "execute_result") == [8] and reply["execution_count"] == 8
    reply, messages = execute(kc, "%history -n 1-8")
    assert no_history_clash(messages)


def test_run_all_with_the_next_cell_already_queued_keeps_the_order(kernel, replay):
    """As JupyterLab's Run All: the next request waits in the kernel while the task runs."""
    km, kc = kernel
    path = replay(["<execute>\nimport time\ntime.sleep(0.5)\nc = 1\n</execute>",
                   "<execute>\nc += 1\n</execute>", "Done."])
    execute(kc, "%load_ext codeact_jupyter")                                        # [1]
    task = kc.execute(f"%%codeact --backend replay --model {path} go\n")           # [2], steps 3, 4
    after = kc.execute("c, len(In)")                                                # [5]
    replies = {}
    while len(replies) < 2:
        msg = kc.get_shell_msg(timeout=60)
        replies[msg["parent_header"]["msg_id"]] = msg["content"]
    assert replies[task]["execution_count"] == 2
    assert replies[after]["execution_count"] == 5 and replies[after]["status"] == "ok"
    reply, messages = execute(kc, "c, len(In), In[5]")
    assert result(messages) == "(2, 7, 'c, len(In)')"
