"""What the model reads after each step."""
import pytest

from codeact_jupyter.kernel.outputs_text import NOTHING_PRINTED, format_observation, output_text, truncate_middle


def stream(text, name="stdout"):
    return {"output_type": "stream", "name": name, "text": text}


CASES = [
    ([stream("hello\n")], "ok", "hello"),
    ([stream("a\n"), stream("warn\n", "stderr")], "ok", "a\nwarn"),
    ([{"output_type": "execute_result", "data": {"text/plain": "42"}, "metadata": {}}], "ok", "42"),
    ([{"output_type": "error", "ename": "ZeroDivisionError", "evalue": "division by zero",
       "traceback": ["\x1b[0;31mZeroDivisionError\x1b[0m: division by zero"]}], "error",
     "ZeroDivisionError: division by zero"),
    ([{"output_type": "display_data", "data": {"image/png": "iVBOR...", "text/plain": "<Figure size 640x480 with 1 Axes>"}}],
     "ok", "[image/png image, 6 bytes, shown to the user: <Figure size 640x480 with 1 Axes>]"),
    # The browser's notebook document leaves image data out: no size rather than a false one.
    ([{"output_type": "display_data", "data": {"image/png": "", "text/plain": "<PIL.Image.Image image mode=RGB size=64x64>"}}],
     "ok", "[image/png image, shown to the user: <PIL.Image.Image image mode=RGB size=64x64>]"),
    ([{"output_type": "display_data", "data": {"text/html": "<b>x</b>", "text/plain": "<IPython.core.display.HTML object>"}}],
     "ok", "[text/html output shown to the user]"),
    # A DataFrame: its text form is what a text-only model should read.
    ([{"output_type": "execute_result", "data": {"text/html": "<table>", "text/plain": "   a\n0  1"}}], "ok", "   a\n0  1"),
    ([], "ok", NOTHING_PRINTED),
    ([], "skipped", "[The user declined to run this step. Do not retry it unchanged.]"),
]


@pytest.mark.parametrize("outputs, status, expected", CASES)
def test_observation_text(outputs, status, expected):
    assert format_observation(outputs, status, limit=4000) == f"Observation:\n{expected}"


def test_timeout_says_so_and_keeps_what_was_printed():
    text = format_observation([stream("step 1\n")], "timeout", limit=4000, timeout=5)
    assert text.startswith("Observation:\nstep 1\n")
    assert "stopped after 5 s" in text


def test_long_output_is_cut_head_and_tail_with_a_marker():
    body = "".join(f"line {i}\n" for i in range(10_000))
    text = format_observation([stream(body)], "ok", limit=1000)
    assert text.startswith("Observation:\nline 0\n")
    assert text.rstrip().endswith("line 9999")
    assert "characters cut" in text
    assert len(text) < 1200


def test_truncate_reports_how_much_was_cut():
    cut = truncate_middle("a" * 100 + "b" * 100, 20)
    assert cut == "a" * 10 + "\n[... 180 characters cut ...]\n" + "b" * 10
    assert truncate_middle("short", 20) == "short"


def test_ansi_codes_are_removed_from_streams():
    assert output_text(stream("\x1b[1;32mgreen\x1b[0m")) == "green"
