"""Tool calls as code actions: a call to a code tool runs as a step, and its result goes back
the way the call's protocol expects."""
import json

import pytest

import codeact_jupyter
from chat_server import ChatServer, Reply, ToolCallReply
from codeact_jupyter.agent.profiles import by_name
from codeact_jupyter.agent.replies import parse_reply
from codeact_jupyter.agent.settings import TaskSettings
from codeact_jupyter.agent.task import run_task
from codeact_jupyter.agent.tool_calls import PYTHON_TOOL, ToolCall
from codeact_jupyter.backends.base import BackendConfig
from codeact_jupyter.events import CodeAction, Notice, Observation


def hermes(name: str, **arguments) -> str:
    return f"<tool_call>\n{json.dumps({'name': name, 'arguments': arguments})}\n</tool_call>"


def test_hermes_tool_call_text_is_a_step():
    reply = parse_reply(f"I will add.\n{hermes('python', code='x = 1 + 1')}")
    assert reply.code is None and reply.thought == "I will add."
    assert reply.tool_calls == (ToolCall("call_1", "python", '{"code": "x = 1 + 1"}', from_text=True),)
    assert reply.tool_calls[0].code() == "x = 1 + 1"


@pytest.mark.parametrize("name, arguments, code", [
    ("python", '{"code": "a = 1"}', "a = 1"),
    ("execute", '{"source": "a = 1"}', "a = 1"),
    ("run_code", '"a = 1"', "a = 1"),
    ("code_interpreter", "a = 1", "a = 1"),  # some models send the code itself
    ("functions.python", '{"code": "a = 1"}', "a = 1"),
    ("python", '{"code": ""}', None),
    ("python", '{"code": "a = ', None),  # cut at the token limit: never half a step
])
def test_the_code_of_a_code_tools_call(name, arguments, code):
    call = ToolCall("c", name, arguments)
    assert call.is_code_tool and call.code() == code


def test_a_hermes_call_cut_by_a_stop_string_still_runs_and_a_think_block_call_never_does():
    cut = parse_reply('<tool_call>\n{"name": "python", "arguments": {"code": "y = 2"}}')
    assert cut.tool_calls[0].code() == "y = 2"
    drafted = parse_reply(f"<think>{hermes('python', code='rm = 1')}</think>The answer is 1.")
    assert drafted.tool_calls == () and drafted.answer == "The answer is 1."


def run(ip, settings_backend, task="do it", **settings):
    events = []
    record = run_task(ip, task, TaskSettings(**settings_backend, **settings), [events.append])
    return record, events


def openai(server, model="qwen2.5-coder"):
    return {"backend": "openai", "backend_config": BackendConfig(base_url=server.base_url, model=model)}


def test_a_hermes_call_runs_and_its_result_goes_back_as_a_tool_response_turn(ip, replay):
    path = replay([f"Counting.\n{hermes('python', code='n = len([1, 2, 3])' + chr(10) + 'print(n)')}",
                   "There are 3."])
    record, events = run(ip, {"backend": "replay", "backend_config": BackendConfig(model=str(path))})
    assert ip.user_ns["n"] == 3
    assert [e.thought for e in events if isinstance(e, CodeAction)] == ["Counting."]
    assert record.messages[2:4] == [
        {"role": "assistant", "content": f"Counting.\n{hermes('python', code='n = len([1, 2, 3])' + chr(10) + 'print(n)')}"},
        {"role": "user", "content": "<tool_response>\n3\n[defined: n (int)]\n</tool_response>"}]
    assert record.answer == "There are 3."


def test_openai_tool_calls_streamed_in_pieces_run_and_are_answered_with_their_id(ip):
    call = ToolCallReply("python", json.dumps({"code": "total = sum(range(5))\nprint(total)"}), id="call_abc")
    with ChatServer([Reply("", tool_calls=(call,)), "The total is 10."], chunk_size=3) as server:
        record, events = run(ip, openai(server))
    assert ip.user_ns["total"] == 10
    sent = server.requests[1]["messages"]
    assert sent[2:] == [
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "call_abc", "type": "function",
             "function": {"name": "python", "arguments": call.arguments}}]},
        {"role": "tool", "tool_call_id": "call_abc", "content": "10\n[defined: total (int)]"}]
    assert record.answer == "The total is 10."
    assert not any(isinstance(e, Notice) and "empty" in e.text for e in events)


def test_parallel_tool_calls_each_run_in_order_and_each_gets_its_result(ip):
    calls = (ToolCallReply("python", '{"code": "a = 1"}', id="call_1"),
             ToolCallReply("python", '{"code": "b = a + 1\\nprint(b)"}', id="call_2"))
    with ChatServer([Reply("Two steps.", tool_calls=calls), "b is 2."], chunk_size=2) as server:
        record, events = run(ip, openai(server))
    assert (ip.user_ns["a"], ip.user_ns["b"]) == (1, 2)
    assert [e.code for e in events if isinstance(e, Observation)] == ["a = 1", "b = a + 1\nprint(b)"]
    sent = server.requests[1]["messages"]
    assert [m["role"] for m in sent[2:]] == ["assistant", "tool", "tool"]
    assert [m["tool_call_id"] for m in sent[3:]] == ["call_1", "call_2"]
    assert sent[4]["content"] == "2\n[defined: b (int)]"


def test_a_call_to_an_unknown_tool_is_told_which_tool_to_use(ip):
    call = ToolCallReply("get_weather", '{"city": "Oslo"}', id="call_w")
    with ChatServer([Reply("", tool_calls=(call,)), "I cannot check the weather."]) as server:
        record, events = run(ip, openai(server))
    assert not record.steps
    assert server.requests[1]["messages"][3] == {
        "role": "tool", "tool_call_id": "call_w",
        "content": "[There is no tool named 'get_weather' here; nothing ran. To run Python code, "
                   "call the `python` tool with {\"code\": \"...\"}.]"}
    assert any(isinstance(e, Notice) and "'get_weather', which does not exist" in e.text for e in events)


def test_with_actions_tools_the_python_tool_is_declared_and_the_prompt_says_to_call_it(ip):
    call = ToolCallReply("python", '{"code": "z = 9"}')
    with ChatServer([Reply("", tool_calls=(call,)), "z is 9."]) as server:
        ip.run_cell(f"%codeact --base-url {server.base_url} --model llama-3.1-8b --actions tools set z")
    assert ip.user_ns["z"] == 9
    first = server.requests[0]
    assert first["tools"] == [PYTHON_TOOL]
    assert first["messages"][0]["content"] == by_name("llama3").system_prompt("tools")
    assert "<execute>" not in first["messages"][0]["content"]


def test_without_actions_tools_no_tool_is_declared(ip):
    with ChatServer(["Nothing to do."]) as server:
        ip.run_cell(f"%codeact --base-url {server.base_url} --model m hello")
    assert "tools" not in server.requests[0]
    ip.run_cell("%config CodeActMagics.actions = 'tools'")
    with ChatServer(["Nothing to do."]) as server:
        ip.run_cell(f"%codeact --base-url {server.base_url} --model m hello")
    assert server.requests[0]["tools"] == [PYTHON_TOOL]


def test_a_run_with_openai_tool_calls_saves_a_replay_that_runs_the_same_steps(ip, tmp_path):
    call = ToolCallReply("python", '{"code": "saved = 7"}', id="call_s")
    with ChatServer([Reply("", tool_calls=(call,)), "Saved."]) as server:
        record, _ = run(ip, openai(server))
    path = record.save_replay(tmp_path / "tools.json")
    ip.run_cell("del saved")
    replayed, _ = run(ip, {"backend": "replay", "backend_config": BackendConfig(model=str(path))})
    assert ip.user_ns["saved"] == 7 and replayed.answer == "Saved."


def test_a_follow_up_after_tool_calls_sends_a_valid_transcript(ip):
    call = ToolCallReply("python", '{"code": "f = 1"}', id="call_f")
    with ChatServer([Reply("", tool_calls=(call,)), "Set.", "Still 1."]) as server:
        ip.run_cell(f"%codeact --base-url {server.base_url} --model m set f")
        ip.run_cell(f"%codeact -c --base-url {server.base_url} --model m what is f?")
    sent = server.requests[2]["messages"]
    ids = [c["id"] for m in sent for c in m.get("tool_calls", [])]
    assert ids == ["call_f"] and [m["tool_call_id"] for m in sent if m["role"] == "tool"] == ["call_f"]


def test_a_follow_up_on_a_local_model_gets_the_endpoints_tool_calls_as_text_turns(ip, replay):
    call = ToolCallReply("python", '{"code": "g = 3"}', id="call_g")
    with ChatServer([Reply("", tool_calls=(call,)), "Set g."]) as server:
        ip.run_cell(f"%codeact --base-url {server.base_url} --model m set g")
    path = replay(["g is 3."])
    ip.run_cell(f"%codeact -c --backend replay --model {path} what is g?")
    sent = codeact_jupyter.last_run().messages
    assert all(m["role"] in ("system", "user", "assistant") and set(m) == {"role", "content"} for m in sent)
    assert sent[2]["content"] == '<tool_call>\n{"name": "python", "arguments": {"code": "g = 3"}}\n</tool_call>'
    assert sent[3]["content"] == ("<tool_response>\n[The code ran successfully and printed nothing.]\n"
                                  "[defined: g (int)]\n</tool_response>")


def test_a_traced_run_with_openai_tool_calls_replays_from_its_trace(ip):
    from codeact_jupyter.backends.replay.from_trace import script_from_trace
    from codeact_jupyter.trace.build import run_trace

    call = ToolCallReply("python", '{"code": "traced = 5"}', id="call_t")
    with ChatServer([Reply("Setting it.", tool_calls=(call,)), "Set."]) as server:
        record, _ = run(ip, openai(server))
    trace = run_trace(record)
    assert trace["messages"][2]["tool_calls"][0]["id"] == "call_t"
    assert trace["messages"][3] == {"role": "tool", "tool_call_id": "call_t",
                                    "content": "[The code ran successfully and printed nothing.]\n"
                                               "[defined: traced (int)]"}
    script = script_from_trace(trace, "a notebook")
    assert script.replies == ['Setting it.\n<tool_call>\n{"name": "python", "arguments": {"code": "traced = 5"}}\n</tool_call>',
                              "Set."]


def test_a_gpt_oss_harmony_call_in_the_text_runs_after_its_analysis_is_taken_out():
    reply = parse_reply("<|channel|>analysis<|message|>Use python: ```python\nbad = 1\n```<|end|>"
                        "<|start|>assistant<|channel|>commentary to=functions.python <|constrain|>json"
                        '<|message|>{"code": "good = 2"}<|call|>')
    assert "bad = 1" in reply.reasoning
    assert [(c.name, c.code()) for c in reply.tool_calls] == [("functions.python", "good = 2")]
    assert reply.tool_calls[0].is_code_tool


def test_a_transcript_is_made_valid_for_each_backend():
    from types import SimpleNamespace

    from codeact_jupyter.agent.tool_calls import portable

    openai_call = {"role": "assistant", "content": "", "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "python", "arguments": '{"code": "a = 1"}'}}]}
    local_result = {"role": "tool", "content": "ok"}  # from a GGUF template's tool turn: no id
    messages = [{"role": "user", "content": "go"}, openai_call, {"role": "tool", "tool_call_id": "c1", "content": "1"},
                {"role": "assistant", "content": hermes("python", code="b = 2")}, local_result]
    endpoint = portable(messages, SimpleNamespace(tool_messages=True))
    assert endpoint[1:3] == messages[1:3] and endpoint[4] == {"role": "user", "content": "<tool_response>\nok\n</tool_response>"}
    qwen_gguf = portable(messages, SimpleNamespace(template_tool_turns=True))
    assert [m["role"] for m in qwen_gguf] == ["user", "assistant", "tool", "assistant", "tool"]
    assert "tool_calls" not in qwen_gguf[1] and "tool_call_id" not in qwen_gguf[2]
    plain = portable(messages, SimpleNamespace())
    assert [m["role"] for m in plain] == ["user", "assistant", "user", "assistant", "user"]


@pytest.mark.parametrize("text, code", [
    ('{"name": "python", "parameters": {"code": "c = 3"}}', "c = 3"),  # Llama 3.x JSON calling
    ("<|python_tag|>c = 3<|eom_id|>", "c = 3"),  # Llama 3.1's built-in code interpreter
    ('<|python_tag|>{"name": "python", "parameters": {"code": "c = 3"}}', "c = 3"),
])
def test_llama3_tool_calls_in_the_text_are_steps(text, code):
    reply = parse_reply(text)
    assert [c.code() for c in reply.tool_calls] == [code]


def test_a_json_answer_is_not_a_tool_call():
    assert parse_reply('{"name": "Ada", "age": 36}').answer == '{"name": "Ada", "age": 36}'


def test_a_tool_call_cut_at_the_token_limit_never_runs_half_a_step(ip):
    call = ToolCallReply("python", '{"code": "import shutil; shutil.rmtree(', id="call_cut")
    with ChatServer([Reply("", tool_calls=(call,), finish_reason="length"), "Stopping here."]) as server:
        record, events = run(ip, openai(server))
    assert not record.steps
    sent = server.requests[1]["messages"][3]
    assert sent["role"] == "tool" and sent["tool_call_id"] == "call_cut"
    assert "reached the limit of 1024 tokens before its code block ended, so the code was not run" in sent["content"]


def test_a_vision_model_gets_a_tool_steps_images_in_a_turn_after_the_results(ip):
    from test_vision import tiny_png

    ip.user_ns["PNG"] = tiny_png(20, 10)
    code = "from IPython.display import display\ndisplay({'image/png': PNG, 'text/plain': 'a plot'}, raw=True)"
    calls = (ToolCallReply("python", json.dumps({"code": code}), id="call_img"),)
    with ChatServer([Reply("", tool_calls=calls), "I see it."]) as server:
        run(ip, openai(server, model="gpt-4o"))
    tool, images = server.requests[1]["messages"][3:5]
    assert tool["role"] == "tool" and isinstance(tool["content"], str)
    assert "1 image of this output attached below" in tool["content"]
    assert images["role"] == "user" and [p["type"] for p in images["content"]] == ["text", "image_url"]
