"""How replies from real models become a code step or an answer."""
import pytest

from codeact_jupyter.agent.replies import parse_reply

# (reply, expected code, expected answer, expected thought)
CASES = [
    ("<execute>\nprint(1)\n</execute>", "print(1)", None, ""),
    ("Let me look.\n<execute>\nprint(1)\n</execute>", "print(1)", None, "Let me look."),
    # The server dropped the stop string: no closing tag, the code must still run.
    ("Let me look.\n<execute>\nprint(1)\n", "print(1)", None, "Let me look."),
    ("<execute>print(1)", "print(1)", None, ""),
    # Cut inside the closing tag.
    ("<execute>\nx = 1\n</", "x = 1", None, ""),
    ("<execute>\nx = 1\n</execute", "x = 1", None, ""),
    # Several blocks: only the first runs now; the model sees its output before the next.
    ("<execute>a = 1</execute>\n<execute>b = 2</execute>", "a = 1", None, ""),
    # Fences inside the tags.
    ("<execute>\n```python\nprint(2)\n```\n</execute>", "print(2)", None, ""),
    # Models not trained on the tags.
    ("Here:\n```python\nprint(3)\n```\nThat prints 3.", "print(3)", None, "Here:"),
    ("```py\nimport os\n```", "import os", None, ""),
    ("```\nprint(4)\n```", "print(4)", None, ""),
    ("```python\nprint(5)", "print(5)", None, ""),
    # Other languages are examples, not actions.
    ("Run this in a shell:\n```bash\nls -la\n```", None, "Run this in a shell:\n```bash\nls -la\n```", ""),
    ("```json\n{\"a\": 1}\n```", None, "```json\n{\"a\": 1}\n```", ""),
    # Answers.
    ("The answer is 42.", None, "The answer is 42.", ""),
    ("<solution>42</solution>", None, "42", ""),
    ("So the total is\n<solution> 17 apples </solution>", None, "17 apples", "So the total is"),
    ("<solution>cut off at the stop", None, "cut off at the stop", ""),
    ("  \n\n The mean is **3.5**.\n ", None, "The mean is **3.5**.", ""),
    # Empty replies and empty actions.
    ("", None, "", ""),
    ("   \n", None, "", ""),
    # Upper case and spacing some models produce.
    ("<EXECUTE>\nprint(6)\n</EXECUTE>", "print(6)", None, ""),
    ("<execute >\nprint(7)\n</execute >", "print(7)", None, ""),
    # IPython magics and shell commands are code too.
    ("<execute>\n!pip install tabulate\n%timeit sum(range(10))\n</execute>",
     "!pip install tabulate\n%timeit sum(range(10))", None, ""),
    # Indentation inside the block is kept.
    ("<execute>\nfor i in range(2):\n    print(i)\n</execute>", "for i in range(2):\n    print(i)", None, ""),
    # The tags win over a fence elsewhere in the reply.
    ("Example: ```python\nno()\n```\n<execute>\nyes()\n</execute>", "yes()", None, "Example: ```python\nno()\n```"),
]


@pytest.mark.parametrize("reply, code, answer, thought", CASES)
def test_reply_shapes(reply, code, answer, thought):
    parsed = parse_reply(reply)
    assert parsed.code == code
    assert parsed.answer == answer
    if code is not None:
        assert parsed.thought == thought


def test_transcript_keeps_a_well_formed_step_even_when_the_tag_was_cut():
    parsed = parse_reply("Checking.\n<execute>\nprint(1)")
    assert parsed.transcript_text() == "Checking.\n<execute>\nprint(1)\n</execute>"


def test_only_the_first_of_several_blocks_enters_the_transcript():
    parsed = parse_reply("<execute>a = 1</execute>\nObservation: made up\n<execute>b = 2</execute>")
    assert parsed.transcript_text() == "<execute>\na = 1\n</execute>"


def test_an_empty_reply_is_recognised():
    assert parse_reply("").is_empty
    assert not parse_reply("ok").is_empty


def test_an_empty_execute_block_is_a_problem_told_to_the_model_not_an_answer():
    parsed = parse_reply("Let me check.\n<execute>\n  \n</execute>")
    assert parsed.code is None and parsed.answer is None
    assert "empty" in parsed.problem.for_model
    assert not parsed.is_empty
    assert parsed.transcript_text() == "Let me check.\n<execute>\n</execute>"
