"""What a matplotlib figure shows, in words, read from its objects (never from pixels).

For every model, a text-only one included: per axes the title, axis labels, scales and
limits, the legend, and per kind of artist a summary (lines, bars, scatter points, images,
heatmaps, other patches and texts). The text is deterministic (same figure, same text) and
bounded: past ``budget`` characters the details shrink, then whole lines go.

``describe_figure`` never raises: a figure it cannot read gives None, and the caller keeps
its placeholder. matplotlib is only imported when a figure is described.
"""
from __future__ import annotations

import math

from .artists import Values, artist_lines

DEFAULT_BUDGET = 1500
CUT_NOTE = "[description cut to fit]"
CATEGORIES_LISTED = 12


def describe_figure(fig, budget: int = DEFAULT_BUDGET) -> str | None:
    """The figure's description within ``budget`` characters, or None when it cannot be
    read (the caller then shows its placeholder)."""
    if budget <= 0:
        return None
    try:
        for detail in (2, 1, 0):  # full, then fewer series and bars listed, then ranges only
            text = "\n".join(_figure_lines(fig, detail))
            if len(text) <= budget:
                return text
        return _cut(text, budget)
    except Exception:  # a broken artist, a third-party Axes subclass: keep the placeholder
        return None


def _figure_lines(fig, detail: int) -> list[str]:
    axes = list(fig.get_axes())
    width, height = fig.get_size_inches() * fig.get_dpi()
    counted = [ax for ax in axes if not _is_colorbar(ax)]
    head = f"Figure {round(width)}x{round(height)} px, {_n(len(counted), 'axes', 'axes')}"
    suptitle = _text(getattr(fig, "_suptitle", None))
    if suptitle:
        head += f', titled "{suptitle}"'
    lines = [head]
    legends = [_legend_entries(legend) for legend in getattr(fig, "legends", ())]
    if any(legends):
        lines.append("figure legend: " + ", ".join(e for entries in legends for e in entries))
    number = {id(ax): i for i, ax in enumerate(counted, 1)}
    for ax in axes:
        if _is_colorbar(ax):
            lines += _colorbar_lines(ax)
        else:
            lines += _axes_lines(ax, number[id(ax)], counted, number, detail)
    return lines


def _axes_lines(ax, index: int, axes: list, number: dict, detail: int) -> list[str]:
    title = " / ".join(t for t in (_text(ax.title), _text(getattr(ax, "_left_title", None)),
                                   _text(getattr(ax, "_right_title", None))) if t)
    head = f"Axes {index}" + (f' "{title}"' if title else "")
    twin = _twin_of(ax, axes, number)
    if twin:
        head += f" ({twin})"
    if ax.name != "rectilinear":
        head += f" ({ax.name} projection)"
    shown = getattr(ax, "_axis3don", ax.axison) if ax.name == "3d" else ax.axison
    if not shown:
        head += " (axis lines hidden)"
    x, y = Values.for_axis(ax.xaxis), Values.for_axis(ax.yaxis)
    lines = [head]
    if shown or ax.get_xlabel():
        lines.append("  x: " + _axis_text(ax, "x", x))
    if shown or ax.get_ylabel():
        lines.append("  y: " + _axis_text(ax, "y", y))
    if ax.name == "3d":
        lines.append("  z: " + _axis_text(ax, "z", Values.for_axis(ax.zaxis)))
    legend = ax.get_legend()
    if legend is not None and _legend_entries(legend):
        lines.append("  legend: " + ", ".join(_legend_entries(legend)))
    drawn = artist_lines(ax, x, y, detail)
    lines += [f"  {line}" for line in drawn] if drawn else ["  empty: nothing is plotted"]
    return lines


def _axis_text(ax, which: str, values: Values) -> str:
    label = getattr(ax, f"get_{which}label")()
    scale = getattr(ax, f"get_{which}scale")()
    low, high = getattr(ax, f"get_{which}lim")()
    parts = [f'"{_short(label)}"' if label else "no label"]
    if values.kind == "categories":  # limits in category numbers mean nothing: name them
        axis = values.axis
        names = [str(n) for n in axis.get_major_formatter().format_ticks(axis.get_majorticklocs()) if str(n)]
        more = f" and {len(names) - CATEGORIES_LISTED} more" if len(names) > CATEGORIES_LISTED else ""
        listed = ", ".join(_short(n, 30) for n in names[:CATEGORIES_LISTED])
        return ", ".join(parts + [f"categories {listed}{more}"])
    parts.append("dates" if values.kind == "dates" else f"{scale} scale")
    parts.append(f"{values(low)} to {values(high)}" + (" (inverted)" if low > high else ""))
    return ", ".join(parts)


def _twin_of(ax, axes: list, number: dict) -> str:
    """'twin of axes 1, sharing x' for ``twinx()`` (same place, shared x, own y)."""
    try:
        box = ax.get_position().bounds
    except Exception:
        return ""
    for other in axes:
        if other is ax or number.get(id(other), 0) >= number.get(id(ax), 0):
            continue
        if not all(math.isclose(a, b, abs_tol=1e-9) for a, b in zip(box, other.get_position().bounds)):
            continue
        if ax.get_shared_x_axes().joined(ax, other):
            return f"twin of axes {number[id(other)]}: same x axis, its own y axis"
        if ax.get_shared_y_axes().joined(ax, other):
            return f"twin of axes {number[id(other)]}: same y axis, its own x axis"
    return ""


def _colorbar_lines(ax) -> list[str]:
    horizontal = getattr(getattr(ax, "_colorbar", None), "orientation", "vertical") == "horizontal"
    label = ax.get_xlabel() if horizontal else ax.get_ylabel()
    low, high = ax.get_xlim() if horizontal else ax.get_ylim()
    text = "Colorbar" + (f' "{_short(label)}"' if label else "")
    return [f"{text}: {Values.number(low)} to {Values.number(high)}"]


def _is_colorbar(ax) -> bool:
    return ax.get_label() == "<colorbar>" or hasattr(ax, "_colorbar")


def _legend_entries(legend) -> list[str]:
    return [f'"{_short(t.get_text())}"' for t in legend.get_texts() if t.get_text()]


def _text(artist) -> str:
    text = artist.get_text() if artist is not None else ""
    return _short(" ".join(text.split())) if text else ""


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _n(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _cut(text: str, budget: int) -> str:
    room = budget - len(CUT_NOTE) - 1
    kept = text[:max(0, room)]
    if "\n" in kept:
        kept = kept[: kept.rindex("\n")]
    return f"{kept}\n{CUT_NOTE}" if kept else CUT_NOTE[:budget]
