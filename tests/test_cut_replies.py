"""Replies cut by the token limit: a code block that never closed is not run, a cut answer
is marked as cut, and no absurd speed is shown for replies too short to time. The model is
a generated GGUF whose reply a grammar fixes word for word, so the cut falls where we say."""
from __future__ import annotations

import pytest
from tiny_gguf import write_tiny_gguf

from codeact_jupyter.backends import BackendConfig
from codeact_jupyter.backends.base import Usage
from codeact_jupyter.backends.llama.backend import unload
from codeact_jupyter.events import Answer, Notice, Observation
from codeact_jupyter.agent.task import run_task
from codeact_jupyter.agent.settings import TaskSettings

STEP = 'root ::= "Let me count.\\n<execute>\\nprint(sum(range(1000000)))\\n</execute>"'
ANSWER = 'root ::= "The answer is that the numbers add up to four hundred and ninety nine."'


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = write_tiny_gguf(tmp_path_factory.mktemp("gguf") / "tiny.gguf")
    yield path
    unload()


def run(ip, model, grammar: str, max_tokens: int):
    events = []
    config = BackendConfig(model=str(model), max_tokens=max_tokens, extras={"grammar": grammar})
    record = run_task(ip, "count", TaskSettings(backend="llama", backend_config=config,
                                                max_turns=2, context_budget=300),
                      [events.append])
    return record, events


def test_a_code_block_cut_by_the_token_limit_is_not_run(ip, model):
    record, events = run(ip, model, STEP, max_tokens=20)
    assert record.error is None, record.error
    assert not record.steps and not any(isinstance(e, Observation) for e in events)
    assert [s.finish_reason for s in record.stats] == ["length", "length"]
    notices = [e.text for e in events if isinstance(e, Notice)]
    assert any("cut at the token limit (20) before its code ended; the code was not run" in n
               for n in notices)
    told = record.messages[3]["content"]
    assert told.startswith("Observation:") and "code was not run" in told
    assert record.messages[2]["content"] == record.replies()[0]  # kept as written: the cache holds


def test_a_block_that_closed_runs_even_at_the_limit(ip, model):
    record, _ = run(ip, model, STEP, max_tokens=200)
    assert [s.status for s in record.steps][:1] == ["ok"]
    assert record.stats[0].finish_reason == "stop"


def test_a_cut_answer_is_marked_as_cut(ip, model):
    record, events = run(ip, model, ANSWER, max_tokens=20)
    answer = next(e for e in events if isinstance(e, Answer))
    assert answer.cut and record.answer_cut and record.done_reason == "answered"
    whole = "The answer is that the numbers add up to four hundred and ninety nine."
    assert record.answer.startswith("The answer is") and len(record.answer) < len(whole)
    assert any("The answer above was cut at the token limit (20)" in e.text
               for e in events if isinstance(e, Notice))


@pytest.mark.parametrize("usage", [
    Usage(generated_tokens=0, seconds=0.5, prompt_seconds=0.5),
    Usage(generated_tokens=1, seconds=0.5, prompt_seconds=0.49999),  # the 500,000 tok/s case
    Usage(generated_tokens=2, seconds=0.100002, prompt_seconds=0.1),
    Usage(generated_tokens=3, seconds=1e-6),
])
def test_no_speed_is_shown_for_replies_too_short_to_time(usage):
    assert usage.tokens_per_second is None


def test_a_real_reply_has_a_plausible_speed():
    usage = Usage(generated_tokens=65, seconds=2.1, prompt_seconds=0.1)
    assert usage.tokens_per_second == pytest.approx(32.0)
