"""Answer scoring (M3ToolEval: exact match after numeric coercion and whitespace
normalisation), as a table of what a model might write."""
import pytest

from codeact_jupyter.cli.scoring import extract_answer, match

CASES = [
    ("Answer: 42", 42, None, True),
    ("The total is 42.\n\nAnswer: **42.0**", 42, None, True),
    ("Answer: 42.5", 42, None, False),
    ("answer:   1,234.50 ", 1234.5, None, True),
    ("Answer: $1,234.50", 1234.5, None, True),
    ("Answer: 12.5%", 12.5, None, True),
    ("Answer: 9.683", 9.68, 0.01, True),
    ("Answer: 9.70", 9.68, 0.01, False),
    ("Answer: about 42", 42, None, False),
    ("I don't know.", 42, None, False),
    ("42", 42, None, True),
    ("Answer: `2024-05`.", "2024-05", None, True),
    ("Answer: north", "North", None, True),
    ("Answer: north-east", "north", None, False),
    ("Answer: glue, drill,  fan", ["glue", "drill", "fan"], None, True),
    ("Answer: drill, glue, fan", ["glue", "drill", "fan"], None, False),
    ("Answer: glue, drill", ["glue", "drill", "fan"], None, False),
    ("Answer: US, 23.72", ["US", 23.72], 0.01, True),
    ("Answer: yes", True, None, True),
    ("Answer: No", True, None, False),
    ("First guess. Answer: 1\nThen: Answer: 2", 2, None, True),
    (None, 42, None, False),
]


@pytest.mark.parametrize("reply, expected, tolerance, ok", CASES)
def test_match(reply, expected, tolerance, ok):
    assert match(reply, expected, tolerance)[0] is ok


def test_a_mismatch_says_what_was_expected_and_what_came():
    assert match("Answer: 41.5", 42) == (False, "expected 42, got 41.5")
    assert match("Answer: lots", 42)[1] == "expected the number 42, got 'lots'"


def test_the_answer_is_the_last_answer_line_without_markup():
    assert extract_answer("Thinking...\n**Answer:** `7`.\nThanks") == "7"


def test_a_long_wrong_answer_is_cut_in_the_reason():
    ok, why = match("Answer: " + "blah " * 100, 42)
    assert not ok and len(why) < 120 and why.endswith("…'")
