"""%%codeact against a real OpenAI-compatible HTTP server on 127.0.0.1."""
import codeact_jupyter
from chat_server import ChatServer, Fault, Reply, free_port


def test_the_whole_loop_through_an_openai_compatible_endpoint(ip):
    replies = ["I'll compute it.\n<execute>\nsquares = [i * i for i in range(5)]\nprint(sum(squares))\n</execute>",
               "The sum of the first five squares is **30**."]
    with ChatServer(replies) as server:
        result = ip.run_cell(f"%%codeact --base-url {server.base_url} --model scripted-model sum of squares\n")
    assert result.error_in_exec is None
    assert ip.user_ns["squares"] == [0, 1, 4, 9, 16]
    run = codeact_jupyter.last_run()
    assert run.answer == "The sum of the first five squares is **30**."
    # What the server received is exactly the run's transcript, turn by turn.
    assert server.requests[1]["messages"] == run.messages[:4]
    assert server.requests[1]["messages"][3]["content"] == ("Observation:\n30\n"
                                                                  "[defined: squares (list, 5 items)]")
    assert "</execute>" in server.requests[0]["stop"]
    assert server.requests[0]["stream"] is True


def test_an_unreachable_endpoint_gives_one_clear_message_and_leaves_the_kernel_alone(ip, capsys):
    ip.user_ns["precious"] = [1, 2, 3]
    url = f"http://127.0.0.1:{free_port()}/v1"
    result = ip.run_cell(f"%codeact --backend openai --base-url {url} --model m do something")
    shown = capsys.readouterr().out
    assert result.error_in_exec is None
    assert "codeact: " in shown and "127.0.0.1" in shown
    assert "Traceback" not in shown
    assert ip.user_ns["precious"] == [1, 2, 3]
    assert codeact_jupyter.last_run().done_reason == "error"


def test_a_server_error_mid_task_keeps_the_steps_already_done(ip):
    with ChatServer(["<execute>\nfirst = 1\n</execute>"]) as server:
        server.enqueue(*[Reply("", fault=Fault.server_error())] * 3)
        ip.run_cell(f"%codeact --base-url {server.base_url} --model m go")
    run = codeact_jupyter.last_run()
    assert ip.user_ns["first"] == 1
    assert run.done_reason == "error"
    assert server.base_url in run.error and "500" in run.error


def test_a_rate_limited_endpoint_shows_that_it_waits_and_why_then_goes_on(ip, capsys):
    with ChatServer([Reply(fault=Fault.rate_limited(retry_after=1.2)), "Answered after the wait."]) as server:
        result = ip.run_cell(f"%codeact --base-url {server.base_url} --model m say hi")
    shown = capsys.readouterr().out
    assert result.error_in_exec is None
    line = f"[Rate limited by {server.base_url} (HTTP 429: Rate limit reached, please retry later): " \
           "waiting 1 s as it asks, then trying again. Press Stop (interrupt the kernel) to give up.]"
    assert line in shown
    assert shown.index(line) < shown.index("Answered after the wait.")
    assert codeact_jupyter.last_run().answer == "Answered after the wait."


def test_a_web_page_instead_of_an_api_says_what_to_fix(ip, capsys):
    with ChatServer(fault=Fault.web_page()) as server:
        url = server.base_url.removesuffix("/v1")
        ip.run_cell(f"%codeact --base-url {url} say hi")
    shown = capsys.readouterr().out
    assert f"codeact: {url} serves a web page, not an OpenAI-compatible API: did you forget /v1" in shown
    assert "empty reply" not in shown and "Traceback" not in shown
