"""What the model reads about a plot: the describer on real matplotlib figures (Agg), the
observation and context it feeds, and a plotting step in a real kernel."""
from __future__ import annotations


import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from codeact_jupyter.figures.description import CUT_NOTE, describe_figure  # noqa: E402
from codeact_jupyter.figures.formatter import description_view  # noqa: E402
from codeact_jupyter.kernel.outputs_text import format_observation, output_text  # noqa: E402


def line_plot():
    fig, ax = plt.subplots()
    months = np.arange(1, 13)
    ax.plot(months, months * 10, label="revenue")
    ax.plot(months, months * 3, "o", label="costs")
    ax.set(title="Monthly sales", xlabel="month", ylabel="EUR")
    ax.legend()
    return fig


def bar_plot():
    fig, ax = plt.subplots()
    ax.bar(["apples", "pears", "kiwis"], [3, 5, 2])
    ax.set_title("Fruit sold")
    return fig


def histogram():
    fig, ax = plt.subplots()
    ax.hist(np.concatenate([np.zeros(30), np.ones(50), np.full(20, 2.0)]), bins=[-0.5, 0.5, 1.5, 2.5])
    return fig


def scatter():
    fig, ax = plt.subplots()
    ax.scatter([1, 2, 3, 4], [10, 40, 20, 30], c=[0.5, 1, 1.5, 2], label="samples")
    return fig


def heat_image():
    fig, ax = plt.subplots()
    image = ax.imshow(np.arange(12).reshape(3, 4), cmap="magma")
    fig.colorbar(image, ax=ax, label="level")
    return fig


def subplots():
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3))
    left.plot([0, 1], [0, 1])
    left.set_title("left one")
    right.bar([1, 2], [5, 6])
    right.set_title("right one")
    fig.suptitle("Side by side")
    return fig


def twin_axes():
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3], [1, 2, 3])
    ax.set_ylabel("metres")
    twin = ax.twinx()
    twin.plot([1, 2, 3], [300, 200, 100], color="red")
    twin.set_ylabel("seconds")
    return fig


def empty_axes():
    fig, (used, unused) = plt.subplots(1, 2)
    used.plot([1, 2], [3, 4])
    return fig


def log_scale():
    fig, ax = plt.subplots()
    ax.plot([1, 10, 100], [1, 100, 10_000])
    ax.set_yscale("log")
    return fig


def dates_on_x():
    fig, ax = plt.subplots()
    ax.plot(pd.date_range("2024-03-01", periods=10, freq="D"), np.arange(10))
    return fig


def pandas_plot():
    frame = pd.DataFrame({"temp": [3.0, 5.5, 9.0, 14.0]},
                         index=pd.date_range("2024-01-01", periods=4, freq="MS"))
    return frame.plot(title="Temperature").figure


def pandas_bars():
    frame = pd.DataFrame({"north": [1, 2, 3], "south": [3, 2, 1]}, index=["q1", "q2", "q3"])
    return frame.plot.bar().figure


CASES = [
    (line_plot, ['Axes 1 "Monthly sales"', 'x: "month", linear scale', 'y: "EUR"', 'legend: "revenue", "costs"',
                 "2 lines", '"revenue": 12 points, x 1 to 12, y 10 to 120', '"costs": 12 points (markers only)']),
    (bar_plot, ['"Fruit sold"', "3 bars: apples=3, pears=5, kiwis=2", "x: no label, categories apples, pears, kiwis\n"]),
    (histogram, ["histogram: 3 bins from -0.5 to 2.5, counts 20 to 50 (total 100), highest bin 0.5 to 1.5"]),
    (scatter, ['scatter "samples": 4 points, x 1 to 4, y 10 to 40', "colour shows values 0.5 to 2 (viridis)"]),
    (heat_image, ["image: 3x4 values 0 to 11, colour scale 0 to 11 (magma)", 'Colorbar "level": 0 to 11', "1 axes"]),
    (subplots, ['titled "Side by side"', "2 axes", 'Axes 1 "left one"', 'Axes 2 "right one"', "2 bars: 1=5, 2=6"]),
    (twin_axes, ['Axes 2 (twin of axes 1: same x axis, its own y axis)', 'y: "seconds"', 'y: "metres"',
                 "y 100 to 300 (first y 300, last y 100)"]),
    (empty_axes, ["Axes 2\n", "empty: nothing is plotted"]),
    (log_scale, ["log scale", "y 1 to 10000"]),
    (dates_on_x, ["dates, ", "x 2024-03-01 to 2024-03-10"]),
    (pandas_plot, ['"Temperature"', '"temp": 4 points, x 2024-01 to 2024-04, y 3 to 14 (first y 3, last y 14)']),
    (pandas_bars, ['3 bars "north": q1=1, q2=2, q3=3', '3 bars "south": q1=3, q2=2, q3=1', 'legend: "north", "south"']),
]


@pytest.mark.parametrize("build, facts", CASES, ids=[case[0].__name__ for case in CASES])
def test_a_description_states_the_facts_of_the_figure(build, facts):
    fig = build()
    try:
        text = describe_figure(fig)
        assert text is not None
        for fact in facts:
            assert fact in text, f"{fact!r} not in:\n{text}"
        assert text == describe_figure(fig)  # deterministic
    finally:
        plt.close(fig)


def test_only_the_empty_axes_are_called_empty():
    fig = empty_axes()
    text = describe_figure(fig)
    plt.close(fig)
    assert text.count("empty: nothing is plotted") == 1
    assert text.index("empty: nothing is plotted") > text.index("Axes 2")


@pytest.mark.parametrize("budget", [200, 400, 800])
def test_a_large_figure_stays_within_the_budget(budget):
    fig, axes = plt.subplots(4, 4)
    for n, ax in enumerate(axes.flat):
        for k in range(10):
            ax.plot(np.arange(50), np.arange(50) * k, label=f"series number {k} of panel {n}")
        ax.set_title(f"panel {n}")
    text = describe_figure(fig, budget=budget)
    plt.close(fig)
    assert len(text) <= budget
    assert text.startswith("Figure 640x480 px, 16 axes")
    assert text.endswith(CUT_NOTE)


def test_fewer_details_before_anything_is_cut():
    fig, ax = plt.subplots()
    for k in range(10):
        ax.plot([0, 1], [k, k + 1], label=f"line {k}")
    full = describe_figure(fig, budget=5000)
    smaller = describe_figure(fig, budget=450)
    plt.close(fig)
    assert '"line 5"' in full and "and 4 more" in full
    assert len(smaller) <= 450 and CUT_NOTE not in smaller
    assert "10 lines, 20 points in all" in smaller


def test_a_figure_that_raises_on_inspection_keeps_the_placeholder():
    fig, ax = plt.subplots()
    ax.plot([1, 2], [3, 4])

    def broken():
        raise RuntimeError("this artist cannot be read")

    ax.lines[0].get_xydata = broken
    assert describe_figure(fig) is None
    plt.close(fig)
    output = {"output_type": "display_data", "metadata": {},
              "data": {"image/png": "iVBORw0KGgo=", "text/plain": "<Figure size 640x480 with 1 Axes>"}}
    assert output_text(output) == "[image/png image, 8 bytes, shown to the user: <Figure size 640x480 with 1 Axes>]"


def figure_output(description: str) -> dict:
    return {"output_type": "display_data", "metadata": {"codeact": {"description": description}},
            "data": {"image/png": "iVBORw0KGgo=" * 100, "text/plain": "<Figure size 640x480 with 1 Axes>"}}


def test_the_observation_carries_each_figures_description_not_the_placeholder():
    first, second = describe_figure(line_plot()), describe_figure(bar_plot())
    plt.close("all")
    text = format_observation([figure_output(first), figure_output(second)], "ok", 4000)
    assert text.count("[Figure shown to the user (image/png, 899 bytes); what it shows") == 2
    assert first in text and second in text
    assert "<Figure size" not in text and "iVBOR" not in text


def test_other_rich_outputs_say_what_they_are():
    table = pd.DataFrame({"a": range(7), "b": range(7)}).style.to_html()
    styler = {"output_type": "display_data", "metadata": {},
              "data": {"text/html": table, "text/plain": "<pandas.io.formats.style.Styler at 0x7f00aa>"}}
    widget = {"output_type": "display_data", "metadata": {},
              "data": {"application/vnd.jupyter.widget-view+json": {"model_id": "ab12", "version_major": 2},
                       "text/plain": "<IntSlider object>"}}
    assert output_text(styler) == "[HTML table shown to the user: 7 rows x 2 columns]"
    assert output_text(widget) == "[IntSlider widget shown to the user]"


def test_the_user_can_open_what_the_model_read():
    view = description_view([figure_output("Figure 640x480 px, 1 axes\nAxes 1 \"<b>\"")])
    html = view["data"]["text/html"]
    assert html.startswith('<details style="opacity:0.8;font-size:90%"><summary>What the model read about this figure')
    assert "&lt;b&gt;" in html  # escaped
    assert description_view([{"output_type": "stream", "name": "stdout", "text": "hi"}]) is None


def test_the_context_shows_an_earlier_cells_figure_as_its_short_description(ip, replay):
    ip.run_cell("%matplotlib inline")
    ip.run_cell("import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.plot([1, 2, 3], [2, 4, 8])\n"
                "ax.set_title('Growth')\nplt.show()", store_history=True)
    path = replay(["Seen."])
    ip.run_cell(f"%codeact --model {path} what did I plot?", store_history=True)
    import codeact_jupyter

    context = codeact_jupyter.last_run().messages[1]["content"]
    assert '[figure: Figure 640x480 px, 1 axes; Axes 1 "Growth"; x: no label' in context
    assert "iVBOR" not in context


def test_the_document_context_reads_the_description_from_output_metadata():
    from codeact_jupyter.context.cells import cells_from_document

    notebook = {"cells": [{"cell_type": "code", "source": "plot()", "execution_count": 1,
                           "outputs": [figure_output('Figure 640x480 px, 1 axes\nAxes 1 "Sales"\n' + "  x" * 400)]}]}
    [cell] = cells_from_document(notebook)
    assert cell.result.startswith('[figure: Figure 640x480 px, 1 axes; Axes 1 "Sales"; …]')
