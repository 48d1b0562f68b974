"""A follow-up says only what is true and shared: its "what changed" message comes from what
the model was shown, never names what the user keeps from it (private cells, unticked
variables, a ``--context none`` task), and never calls a hidden name gone. Asserted on the
request bodies a real OpenAI-compatible test server received."""
import json

from chat_server import ChatServer
from codeact_jupyter.panel import run_panel_task


def codeact(ip, server, options: str, task: str) -> None:
    result = ip.run_cell(f"%codeact {options} --base-url {server.base_url} --model m {task}")
    assert result.error_in_exec is None


def follow_ups(server) -> list[str]:
    return [request["messages"][-1]["content"] for request in server.requests[1:]]


def test_a_private_cell_is_neither_news_nor_gone(ip, forget_cells):
    ip.run_cell("clinic_code = 'A-1'\npatient_name = 'Ann'\nvisits = 3", store_history=True)
    with ChatServer(["First.", "Second."]) as server:
        codeact(ip, server, "", "one")
        assert "clinic_code" in json.dumps(server.requests[0])  # shown while it was shared
        ip.run_cell("# codeact: private\nclinic_code = 'CLN-4471-PRIV'\npatient_name = 'Ada Q. Lovelace'\n"
                    "visits = 4\ndel visits", store_history=True)  # gone, but by a private cell's doing
        codeact(ip, server, "-c", "two")
    (message,) = follow_ups(server)
    for hidden in ("clinic_code", "patient_name", "visits", "No longer defined", "CLN-4471", "Ada Q."):
        assert hidden not in message, hidden


def test_a_context_none_follow_up_names_nothing_and_the_next_one_repeats_nothing(ip, forget_cells):
    ip.run_cell("shared_total = 777\ndropped_later = 1", store_history=True)
    with ChatServer(["First.", "Second.", "Third."]) as server:
        codeact(ip, server, "", "one")
        ip.run_cell("del dropped_later", store_history=True)
        codeact(ip, server, "-c --context none", "two")
        codeact(ip, server, "-c", "three")
    second, third = follow_ups(server)
    assert "shared_total" not in second and "dropped_later" not in second and "No longer defined" not in second
    assert "The user does not share the notebook's cells." in second
    # The model saw shared_total = 777 in the first task: the third says what really changed.
    assert "shared_total = 777" not in third
    assert "del dropped_later" in third and "No longer defined: dropped_later" in third


def test_an_unticked_variable_is_never_reported_gone(ip, forget_cells):
    ip.run_cell("kept_var = 1\nunticked_var = 2", store_history=True)
    with ChatServer(["First.", "Second."]) as server:
        settings = {"backend": "openai", "base_url": server.base_url, "model": "m"}
        run_panel_task(json.dumps({"task": "one", "settings": settings}))
        conversation = __import__("codeact_jupyter").last_run().conversation_id
        run_panel_task(json.dumps({"task": "two", "settings": settings, "conversation": conversation,
                                   "exclude": ["var:unticked_var"]}))
    (message,) = follow_ups(server)
    assert "unticked_var" not in message and "No longer defined" not in message
