"""A stopped task leaves an honest transcript: what the model streamed before Stop is kept
exactly as it was, nothing of ours is put in its mouth, the follow-up tells the model in
our own words (a user message) that the user stopped it, and the stopped turn is counted
with its tokens. A real OpenAI-compatible test server streams the replies and records what
each request sent."""
from __future__ import annotations

import signal
import threading

from chat_server import ChatServer

from codeact_jupyter.agent.conversation import STOPPED_NOTE, forget_conversations
from codeact_jupyter.agent.settings import TaskSettings
from codeact_jupyter.agent.task import run_task
from codeact_jupyter.backends.base import BackendConfig
from codeact_jupyter.events import Done, Observation, TextDelta, TurnStats
from codeact_jupyter.trace.build import run_trace

LONG = "Let me think about the prices first. " * 60


def settings(server: ChatServer) -> TaskSettings:
    return TaskSettings(backend="openai", backend_config=BackendConfig(
        model="scripted", base_url=server.base_url, api_key="k"))


class StopAfter:
    """A sink that presses Stop (a real SIGINT to the main thread, as the kernel gets it)
    once the model has streamed ``deltas`` pieces: a stop mid-reply, at a known point."""

    def __init__(self, deltas: int):
        self.deltas, self.events = deltas, []

    def __call__(self, event) -> None:
        self.events.append(event)
        if isinstance(event, TextDelta):
            self.deltas -= 1
            if self.deltas == 0:
                signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)


def test_stop_mid_reply_keeps_what_streamed_and_the_follow_up_says_the_user_stopped_it(ip):
    forget_conversations()
    with ChatServer([LONG, "Sure, the total is 60."], chunk_size=8) as server:
        stop = StopAfter(deltas=5)
        stopped = run_task(ip, "add up the prices", settings(server), [stop])
        assert stopped.done_reason == "stopped"
        streamed = "".join(e.text for e in stop.events if isinstance(e, TextDelta))
        kept = stopped.messages[-1]
        assert kept["role"] == "assistant" and kept["content"] == streamed  # as it was, no more
        assert streamed and LONG.startswith(streamed)
        # The stopped turn counts: one turn, and the tokens it generated.
        stats = [e for e in stop.events if isinstance(e, TurnStats)]
        assert stats[-1].turn == 1 and stats[-1].generated_tokens > 0
        assert stats[-1].finish_reason == "cancelled"
        assert stop.events[-1] == Done(reason="stopped", turns=1)
        assert run_trace(stopped)["turns"][0]["generated_tokens"] == stats[-1].generated_tokens

        follow_up = run_task(ip, "go on", settings(server), [], conversation="last")
        assert follow_up.answer == "Sure, the total is 60."
        sent = server.requests[-1]["messages"]
        assert sent[:len(stopped.messages)] == stopped.messages  # append-only
        # Every assistant message sent is what the model wrote; our note is a user's.
        assert [m["content"] for m in sent if m["role"] == "assistant"] == [streamed]
        assert sent[-1]["role"] == "user" and STOPPED_NOTE in sent[-1]["content"]


def test_stop_after_a_step_leaves_the_models_next_turn_empty_not_ours(ip):
    """Stopped after a step's observation: the model had not begun its next reply, so the
    follow-up gives it an empty turn (chat templates want turns to alternate), never words."""
    forget_conversations()
    events = []

    def stop_after_the_step(event) -> None:
        events.append(event)
        if isinstance(event, Observation):
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

    with ChatServer(["<execute>\ntotal = 60\n</execute>", "Fine."]) as server:
        first = run_task(ip, "add up the prices", settings(server), [stop_after_the_step])
        assert first.done_reason == "stopped" and first.messages[-1]["role"] == "user"
        run_task(ip, "go on", settings(server), [], conversation="last")
        sent = server.requests[-1]["messages"]
    assert [m["content"] for m in sent if m["role"] == "assistant"] == ["<execute>\ntotal = 60\n</execute>", ""]
    assert STOPPED_NOTE in sent[-1]["content"]
