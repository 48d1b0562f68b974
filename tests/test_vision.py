"""Plots reach the model: descriptions in a real kernel's observations, images as OpenAI
content parts for vision models (the test chat server records what it was sent), and
everything that reads messages copes with content parts."""
from __future__ import annotations

import base64
import json
import struct
import sys

import pytest

import codeact_jupyter
from chat_server import ChatServer
from codeact_jupyter.backends.base import approx_tokens
from codeact_jupyter.backends.messages import IMAGE_TOKENS, content_text, text_only
from codeact_jupyter.context.redaction import Redactor
from codeact_jupyter.agent.run import Run
from codeact_jupyter.agent.transcript_fit import IMAGES_MARKER, fit_to_context
from codeact_jupyter.figures.vision import accepts_images
from kernels import run_cell, run_json, running_kernel

PLOT_STEP = ("<execute>\nimport matplotlib.pyplot as plt\nfig, ax = plt.subplots()\n"
             "ax.plot([1, 2, 3], [10, 20, 15], label='visits')\nax.set_title('Visits per day')\n"
             "ax.set_xlabel('day')\nax.set_ylabel('visits')\nax.legend()\nplt.show()\n</execute>")


def png_size(data_url: str) -> tuple[int, int]:
    raw = base64.b64decode(data_url.split("base64,", 1)[1])
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", raw[16:24])


@pytest.fixture(scope="module")
def kernel():
    with running_kernel() as (km, kc):
        reply, text = run_cell(kc, "%load_ext codeact_jupyter")
        assert reply["status"] == "ok", text
        yield kc


def test_a_plotting_step_in_a_kernel_gives_the_model_its_title_and_labels(kernel, tmp_path):
    replies = tmp_path / "plot.json"
    replies.write_text(json.dumps([PLOT_STEP, "Plotted."]))
    reply, text = run_cell(kernel, f"%%codeact --backend replay --model {replies} plot the visits\n")
    assert reply["status"] == "ok", text
    seen = run_json(kernel, "import codeact_jupyter, json\nrun = codeact_jupyter.last_run()\n"
                            "print(json.dumps([run.steps[0].observation, run.messages[3]['content']]))")
    observation, sent = seen
    assert observation == sent  # a text model is sent the text itself
    assert "[Figure shown to the user (image/png, " in observation
    for fact in ('Axes 1 "Visits per day"', 'x: "day"', 'y: "visits"', 'legend: "visits"',
                 '"visits": 3 points, x 1 to 3, y 10 to 20'):
        assert fact in observation
    assert "iVBOR" not in observation and "<Figure size" not in observation
    # Under the step, collapsed, the user can read what the model read.
    assert '[What the model read about this figure:]\nFigure 640x480 px, 1 axes\nAxes 1 "Visits per day"' in text


def test_several_figures_of_one_step_are_each_described(kernel, tmp_path):
    step = ("<execute>\nimport matplotlib.pyplot as plt\nplt.figure()\nplt.bar(['a', 'b'], [4, 7])\n"
            "plt.title('First')\nplt.figure()\nplt.scatter([1, 2, 3], [3, 1, 2])\nplt.title('Second')\n</execute>")
    replies = tmp_path / "two.json"
    replies.write_text(json.dumps([step, "Two plots."]))
    reply, text = run_cell(kernel, f"%%codeact --backend replay --model {replies} two plots\n")
    assert reply["status"] == "ok", text
    observation = run_json(kernel, "import codeact_jupyter, json\n"
                                   "print(json.dumps(codeact_jupyter.last_run().steps[0].observation))")
    assert observation.count("[Figure shown to the user (image/png") == 2
    assert '"First"\n  x: no label, categories a, b\n' in observation and "2 bars: a=4, b=7" in observation
    assert '"Second"' in observation and "scatter: 3 points, x 1 to 3, y 1 to 3" in observation
    assert "[What the model read about these 2 figures:]" in text


def test_in_jupyterlab_the_step_cell_gets_the_description_with_the_figure(kernel, tmp_path):
    from test_lab_bridge import announce, events_of, run

    replies = tmp_path / "plot.json"
    replies.write_text(json.dumps([PLOT_STEP, "Plotted."]))
    announce(kernel)
    reply, comms, _ = run(kernel, f"%%codeact --backend replay --model {replies} plot the visits\n")
    assert reply["content"]["status"] == "ok"
    [observation] = [e for e in events_of(comms) if e["type"] == "observation"]
    figure, view = observation["outputs"][-2:]
    assert "image/png" in figure["data"]
    assert figure["metadata"]["codeact"]["description"].startswith('Figure 640x480 px, 1 axes\nAxes 1 "Visits')
    assert view["data"]["text/html"].startswith('<details style="opacity:0.8;font-size:90%"><summary>What the model read')


def test_with_vision_on_the_endpoint_receives_a_bounded_image_and_the_text(kernel):
    run_cell(kernel, "%config CodeActMagics.vision_image_size = 200")
    with ChatServer([PLOT_STEP, "A line that peaks on day 2."]) as server:
        reply, text = run_cell(kernel, f"%%codeact --base-url {server.base_url} --model scripted-model "
                                       "--vision on plot the visits\n")
    assert reply["status"] == "ok", text
    content = server.requests[1]["messages"][3]["content"]
    assert isinstance(content, list) and [p["type"] for p in content] == ["text", "image_url"]
    assert 'Axes 1 "Visits per day"' in content[0]["text"]
    assert "1 image of this output attached below" in content[0]["text"]
    url = content[1]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    assert max(png_size(url)) == 200  # 640x480 downscaled to 200 on its longer side
    assert "images of each step's output" in text  # the user is told once


def test_with_vision_off_no_image_is_sent(kernel):
    with ChatServer([PLOT_STEP, "Done."]) as server:
        reply, text = run_cell(kernel, f"%%codeact --base-url {server.base_url} --model gpt-4o "
                                       "--vision off plot the visits\n")
    assert reply["status"] == "ok", text
    content = server.requests[1]["messages"][3]["content"]
    assert isinstance(content, str) and 'Axes 1 "Visits per day"' in content
    assert "image_url" not in json.dumps(server.requests)


def test_a_follow_up_on_a_text_only_model_carries_the_earlier_images_as_their_descriptions(kernel):
    with ChatServer([PLOT_STEP, "A line that peaks on day 2."]) as vision_server:
        run_cell(kernel, f"%%codeact --base-url {vision_server.base_url} --model gpt-4o plot the visits\n")
    assert isinstance(vision_server.requests[1]["messages"][3]["content"], list)
    with ChatServer(["It peaks on day 2, at 20."]) as text_server:
        reply, text = run_cell(kernel, f"%%codeact -c --base-url {text_server.base_url} "
                                       "--model qwen2.5-coder --vision off when is the peak?\n")
    assert reply["status"] == "ok" and "HTTP 400" not in text, text
    sent = text_server.requests[0]["messages"]
    assert "image_url" not in json.dumps(sent)
    observation = sent[3]["content"]
    assert 'Axes 1 "Visits per day"' in observation
    assert "its images are not attached for this model, which reads text only" in observation


# In this process: images published raw, as a kernel's inline backend would publish them.

def tiny_png(width: int = 900, height: int = 300) -> str:
    from PIL import Image
    import io

    out = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode()


def show_images(count: int) -> str:
    return ("<execute>\nfrom IPython.display import display\n"
            f"for _ in range({count}):\n    display({{'image/png': PNG, 'text/plain': 'an image'}}, raw=True)\n"
            "</execute>")


def test_auto_sends_images_only_to_a_vision_model_and_keeps_to_the_limits(ip):
    ip.user_ns["PNG"] = tiny_png()
    ip.run_cell("%config CodeActMagics.vision_images_per_step = 2")
    ip.run_cell("%config CodeActMagics.vision_images_per_task = 3")
    with ChatServer([show_images(3), show_images(2), "Seen."]) as server:
        ip.run_cell(f"%codeact --base-url {server.base_url} --model gpt-4o-mini look")
    first, second = server.requests[1]["messages"][3]["content"], server.requests[2]["messages"][5]["content"]
    assert [p["type"] for p in first] == ["text", "image_url", "image_url"]
    assert "1 more image not attached (at most 2 per step and 3 per task)" in first[0]["text"]
    assert [p["type"] for p in second] == ["text", "image_url"]  # the task's third and last
    assert max(png_size(first[1]["image_url"]["url"])) == 768
    # The transcript is append-only: the first observation reads the same in the last request.
    assert server.requests[2]["messages"][3]["content"] == first
    assert codeact_jupyter.last_run().messages == server.requests[2]["messages"] + [
        {"role": "assistant", "content": "Seen."}]

    with ChatServer([show_images(1), "Seen."]) as server:
        ip.run_cell(f"%codeact --base-url {server.base_url} --model scripted-model look")
    assert isinstance(server.requests[1]["messages"][3]["content"], str)  # auto: not a vision model


def test_a_declared_vision_model_gets_images(ip):
    ip.user_ns["PNG"] = tiny_png(20, 10)
    ip.run_cell("%config CodeActMagics.vision_models = ['house-vlm*']")
    with ChatServer([show_images(1), "Seen."]) as server:
        ip.run_cell(f"%codeact --base-url {server.base_url} --model house-vlm-2 look")
    content = server.requests[1]["messages"][3]["content"]
    assert png_size(content[1]["image_url"]["url"]) == (20, 10)  # small images are sent as they are


def test_without_pillow_no_image_is_sent_and_the_user_is_told(ip, capsys, monkeypatch):
    ip.user_ns["PNG"] = tiny_png(20, 10)
    monkeypatch.setitem(sys.modules, "PIL", None)  # import PIL now fails, as where it is missing
    with ChatServer([show_images(1), show_images(1), "Seen."]) as server:
        ip.run_cell(f"%codeact --base-url {server.base_url} --model gpt-4o --vision on look")
    content = server.requests[1]["messages"][3]["content"]
    assert isinstance(content, str) and "no image attached: Pillow is not installed in the kernel" in content
    assert capsys.readouterr().out.count("Pillow is not installed in the kernel (`pip install pillow`)") == 1


def test_vision_on_with_a_text_only_backend_says_so(ip, replay, capsys):
    ip.user_ns["PNG"] = tiny_png(20, 10)
    path = replay([show_images(1), "Seen."])
    ip.run_cell(f"%codeact --model {path} --vision on look")
    assert "the replay backend sends text only" in capsys.readouterr().out
    run = codeact_jupyter.last_run()
    assert all(isinstance(m["content"], str) for m in run.messages)


def test_known_vision_model_names():
    for name in ("gpt-4o-mini", "openai/gpt-4.1", "Qwen/Qwen2.5-VL-7B-Instruct", "llava:13b", "gemini-2.0-flash"):
        assert accepts_images(name), name
    for name in ("gpt-3.5-turbo", "o3-mini", "qwen2.5-coder", "scripted-model", None):
        assert not accepts_images(name), name
    assert accepts_images("house-vlm-2", ["house-vlm*"])


IMAGE = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}


def parts(text: str) -> list[dict]:
    return [{"type": "text", "text": text}, IMAGE]


def test_content_parts_are_read_by_token_counts_the_context_fit_and_text_only_backends():
    messages = [{"role": "system", "content": "sys"}, {"role": "user", "content": "task"},
                {"role": "assistant", "content": "step"}, {"role": "user", "content": parts("x" * 4000)},
                {"role": "assistant", "content": "step"}, {"role": "user", "content": "last"}]
    fitted, notice = fit_to_context(messages, 1000, approx_tokens)
    assert fitted[3]["content"].endswith(IMAGES_MARKER) and "shortened" in notice
    assert isinstance(messages[3]["content"], list)  # the input is left as it was
    fitted, notice = fit_to_context(messages, 1000 + IMAGE_TOKENS + 2000, approx_tokens)
    assert notice is None
    assert text_only(messages)[3] == {"role": "user", "content": "x" * 4000}
    assert content_text(parts("seen")) == "seen"


def test_redaction_masks_text_parts_and_leaves_images_alone():
    redactor = Redactor.for_task({"api_key": "sk-proj-abcdefghijklmnopqrstuvwx"})
    content = redactor.redact_content(parts("key is sk-proj-abcdefghijklmnopqrstuvwx"))
    assert content[0]["text"] == "key is [redacted: value of api_key]"
    assert content[1] is IMAGE


def test_a_run_with_images_saves_its_replies_and_is_json_safe(tmp_path):
    from codeact_jupyter.kernel.jsonsafe import jsonable

    run = Run(run_id="r", task="t", messages=[
        {"role": "user", "content": "t"}, {"role": "assistant", "content": "<execute>\n1\n</execute>"},
        {"role": "user", "content": parts("Observation:\n1")}, {"role": "assistant", "content": "Done."}])
    assert run.replies() == ["<execute>\n1\n</execute>", "Done."]
    saved = json.loads(run.save_replay(tmp_path / "r.json").read_text())
    assert [r["text"] if isinstance(r, dict) else r for r in saved["replies"]] == run.replies()
    assert jsonable(run.messages) is run.messages
