"""Per kind of artist, what one Axes draws: lines, bars (and histograms), scatter points,
images and heatmaps, filled areas, other patches (pie wedges...) and texts.

``detail`` says how much to list: 2 lists series and bars one by one, 1 lists fewer,
0 gives counts and ranges only (figure_description.py shrinks it to fit its budget).
Values print as their axis shows them: dates as dates, categories by name.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Callable

SERIES_LISTED = {2: 6, 1: 3, 0: 0}
BARS_LISTED = {2: 12, 1: 6, 0: 0}
TEXTS_LISTED = {2: 8, 1: 4, 0: 0}


@dataclass(frozen=True)
class Values:
    """Writes a data value of one axis: ``values(19723.0)`` -> ``2024-01-01`` on a date axis."""

    kind: str  # "numbers" | "dates" | "categories"
    write: Callable[[float], str]
    axis: object = None

    def __call__(self, value) -> str:
        try:
            return self.write(float(value)) or Values.number(value)
        except Exception:  # a date out of range, a category the axis no longer knows
            return Values.number(value)

    @staticmethod
    def number(value) -> str:
        value = float(value)
        if not math.isfinite(value):
            return str(value)
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.4g}"

    @classmethod
    def for_axis(cls, axis) -> "Values":
        import matplotlib.category as mcat
        import matplotlib.dates as mdates

        formatter = axis.get_major_formatter()
        converter = axis.get_converter() if hasattr(axis, "get_converter") else getattr(axis, "converter", None)
        freq = getattr(formatter, "freq", None)
        if type(formatter).__name__ == "TimeSeries_DateFormatter" and freq is not None:
            # pandas' time series: x holds period numbers (months since 1970 for monthly
            # data), though its converter is a matplotlib DateConverter.
            import pandas as pd

            return cls("dates", lambda v: str(pd.Period(ordinal=int(round(v)), freq=freq)), axis)
        if isinstance(formatter, (mdates.DateFormatter, mdates.AutoDateFormatter, mdates.ConciseDateFormatter)) \
                or isinstance(converter, mdates.DateConverter):
            return cls("dates", lambda v: _date(mdates.num2date(v)), axis)
        if isinstance(formatter, mcat.StrCategoryFormatter):
            return cls("categories", lambda v: formatter(v), axis)
        return cls("numbers", cls.number, axis)

    def at_tick(self, value: float) -> str:
        """The tick label at ``value`` where a tick named in words sits there (bar charts
        name their bars with tick labels), else the value itself."""
        try:
            locs = [float(loc) for loc in self.axis.get_majorticklocs()]
            labels = [" ".join(str(t).split()) for t in self.axis.get_major_formatter().format_ticks(locs)]
            spacing = min((b - a for a, b in zip(locs, locs[1:])), default=0.0)
            for loc, label in sorted(zip(locs, labels), key=lambda item: abs(item[0] - value)):
                # A tick named in words, at the value or near it (pandas' grouped bars);
                # numbers are written as everywhere else.
                near = math.isclose(loc, value, abs_tol=1e-9) or abs(loc - value) < spacing / 2
                if label and near and not _numeric(label):
                    return label
                break
        except Exception:
            pass
        return self(value)


def _numeric(label: str) -> bool:
    try:
        float(label.replace("\u2212", "-"))
        return True
    except ValueError:
        return False


def _date(moment) -> str:
    if (moment.hour, moment.minute, moment.second) == (0, 0, 0):
        return moment.strftime("%Y-%m-%d")
    return moment.strftime("%Y-%m-%d %H:%M" if moment.second == 0 else "%Y-%m-%d %H:%M:%S")


def artist_lines(ax, x: Values, y: Values, detail: int) -> list[str]:
    """Lines of text (indented by the caller) for what ``ax`` draws; empty when nothing."""
    from matplotlib.container import BarContainer, ErrorbarContainer

    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    in_containers = {id(a) for c in ax.containers for a in _flat(c) if a is not None}
    error_bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    data_lines = {id(c.lines[0]) for c in error_bars if c.lines and c.lines[0] is not None}
    lines = [line for line in ax.get_lines() if line.get_visible()
             and (id(line) not in in_containers or id(line) in data_lines)]
    out: list[str] = []
    out += _lines_text(lines, x, y, detail, ax)
    if error_bars:
        named = [_label(c) for c in error_bars if _label(c)]
        out.append(f"error bars on {_count(len(error_bars), 'series', 'series')}"
                   + (f" ({', '.join(named)})" if named else ""))
    for container in bars:
        out += _bars_text(container, x, y, detail)
    for collection in ax.collections:
        if collection.get_visible() and id(collection) not in in_containers:
            out += _collection_text(collection, x, y)
    for image in ax.get_images():
        out.append(_image_text(image))
    out += _patches_text([p for p in ax.patches if id(p) not in in_containers and p.get_visible()])
    texts = [" ".join(t.get_text().split()) for t in ax.texts if t.get_visible() and t.get_text().strip()]
    if texts:
        listed = texts[:TEXTS_LISTED[detail]]
        shown = ", ".join(f'"{t[:40]}"' for t in listed)
        more = len(texts) - len(listed)
        out.append(f"{_count(len(texts), 'text', 'texts')}" + (f": {shown}" if shown else "")
                   + (f" and {more} more" if more and shown else ""))
    return out


def _lines_text(lines, x: Values, y: Values, detail: int, ax) -> list[str]:
    if not lines:
        return []
    rules, series = [], []
    for line in lines:
        rule = _reference_line(line, x, y, ax)
        (rules if rule else series).append(rule or line)
    out = list(rules)
    if not series:
        return out
    listed = series[:SERIES_LISTED[detail]]
    points = [_finite(line.get_xydata()) for line in series]
    total = sum(len(p) for p in points)
    head = f"{_count(len(series), 'line', 'lines')}"
    if not listed or len(series) > len(listed):
        head += f", {total:,} points in all" + _ranges(_stacked(points), x, y)
    out.append(head + (":" if listed else ""))
    for line, pts in zip(listed, points):
        label = _label(line)
        style = " (markers only)" if line.get_linestyle() in ("None", " ", "") else ""
        text = f"{label + ': ' if label else ''}{_count(len(pts), 'point', 'points')}{style}{_ranges(pts, x, y)}"
        if len(pts):
            text += f" (first y {y(pts[0, 1])}, last y {y(pts[-1, 1])})"
        out.append(f"  {text}")
    if len(series) > len(listed):
        more = [_label(line) for line in series[len(listed):] if _label(line)]
        out.append(f"  and {len(series) - len(listed)} more" + (f": {', '.join(more[:10])}" if more else ""))
    return out


def _reference_line(line, x: Values, y: Values, ax) -> str | None:
    """axhline / axvline: data on one axis only, the other spans the axes."""
    try:
        x_data, y_data = line.get_transform().contains_branch_seperately(ax.transData)
    except Exception:
        return None
    pts = line.get_xydata()
    label = _label(line)
    named = f" {label}" if label else ""
    if y_data and not x_data and len(pts):
        return f"horizontal line{named} at y={y(pts[0][1])}"
    if x_data and not y_data and len(pts):
        return f"vertical line{named} at x={x(pts[0][0])}"
    return None


def _bars_text(container, x: Values, y: Values, detail: int) -> list[str]:
    patches = list(container.patches)
    if not patches:
        return []
    horizontal = getattr(container, "orientation", None) == "horizontal"
    if horizontal:  # barh: positions on y, values on x
        pos_axis, val_axis = y, x
        spans = [(p.get_y(), p.get_height(), p.get_width()) for p in patches]
    else:
        pos_axis, val_axis = x, y
        spans = [(p.get_x(), p.get_width(), p.get_height()) for p in patches]
    label = _label(container)
    named = f" {label}" if label else ""
    values = [v for _, _, v in spans]
    contiguous = len(spans) >= 3 and all(math.isclose(a + w, b, rel_tol=1e-6, abs_tol=1e-9)
                                         for (a, w, _), (b, _, _) in zip(spans, spans[1:]))
    if contiguous:  # a histogram
        counts = all(float(v).is_integer() for v in values)
        peak = max(range(len(spans)), key=lambda i: values[i])
        start, width, top = spans[peak]
        what = "counts" if counts else "heights"
        text = (f"histogram{named}: {len(spans)} bins from {pos_axis(spans[0][0])} to "
                f"{pos_axis(spans[-1][0] + spans[-1][1])}, {what} {val_axis(min(values))} to "
                f"{val_axis(max(values))}")
        if counts:
            text += f" (total {Values.number(sum(values))})"
        return [text + f", highest bin {pos_axis(start)} to {pos_axis(start + width)}"]
    kind = "horizontal bars" if horizontal else "bars"
    head = f"{len(patches)} {kind}{named}"
    if len(patches) <= BARS_LISTED[detail]:
        items = [f"{pos_axis.at_tick(a + w / 2)}={val_axis(v)}" for a, w, v in spans]
        return [f"{head}: {', '.join(items)}"]
    return [f"{head}, values {val_axis(min(values))} to {val_axis(max(values))}, at "
            f"{pos_axis.at_tick(spans[0][0] + spans[0][1] / 2)} to "
            f"{pos_axis.at_tick(spans[-1][0] + spans[-1][1] / 2)}"]


def _collection_text(collection, x: Values, y: Values) -> list[str]:
    kind = type(collection).__name__
    label = _label(collection)
    named = f" {label}" if label else ""
    if kind == "PathCollection":  # scatter
        pts = _finite(collection.get_offsets())
        text = f"scatter{named}: {_count(len(pts), 'point', 'points')}{_ranges(pts, x, y)}"
        colours = collection.get_array()
        if colours is not None and len(colours):
            text += f", colour shows values {_span(colours)} ({collection.get_cmap().name})"
        sizes = collection.get_sizes()
        if len(sizes) > 1 and min(sizes) != max(sizes):
            text += f", sizes {Values.number(min(sizes))} to {Values.number(max(sizes))}"
        return [text]
    if kind == "QuadMesh":  # pcolormesh, seaborn heatmaps
        rows, cols = (n - 1 for n in collection.get_coordinates().shape[:2])
        low, high = collection.get_clim()
        return [f"heatmap{named}: {rows}x{cols} cells, values {_span(collection.get_array())}, colour scale "
                f"{Values.number(low)} to {Values.number(high)} ({collection.get_cmap().name})"]
    if kind in ("PolyCollection", "FillBetweenPolyCollection"):
        pts = _stacked([_finite(path.vertices) for path in collection.get_paths()])
        return [f"filled area{named}{_ranges(pts, x, y)}"]
    if kind == "LineCollection":
        return [f"{_count(len(collection.get_segments()), 'line segment', 'line segments')}{named}"]
    return [f"{kind}{named}"]


def _image_text(image) -> str:
    array = image.get_array()
    shape = getattr(array, "shape", ())
    if len(shape) == 3:
        return f"image: {shape[0]}x{shape[1]} pixels, {'RGBA' if shape[2] == 4 else 'RGB'}"
    low, high = image.get_clim()
    return (f"image: {shape[0]}x{shape[1]} values {_span(array)}, colour scale {Values.number(low)} "
            f"to {Values.number(high)} ({image.get_cmap().name})")


def _patches_text(patches) -> list[str]:
    wedges = [p for p in patches if type(p).__name__ == "Wedge"]
    out = []
    if wedges:
        shares = [abs(w.theta2 - w.theta1) / 360 for w in wedges]
        out.append(f"pie: {len(wedges)} wedges, " + ", ".join(f"{s:.0%}" for s in shares[:12]))
    others = Counter(type(p).__name__ for p in patches if type(p).__name__ != "Wedge")
    out += [f"{_count(n, name, name + 's')}" for name, n in sorted(others.items())]
    return out


def _finite(points):
    """The (n, 2) array of points with both coordinates finite (masked ones dropped)."""
    import numpy as np

    array = np.ma.filled(np.ma.asarray(points, dtype=float), np.nan).reshape(-1, 2)
    return array[np.isfinite(array).all(axis=1)]


def _stacked(arrays):
    import numpy as np

    return np.concatenate(arrays) if arrays else np.empty((0, 2))


def _ranges(points, x: Values, y: Values) -> str:
    if not len(points):
        return ""
    low, high = points.min(axis=0), points.max(axis=0)
    return f", x {x(low[0])} to {x(high[0])}, y {y(low[1])} to {y(high[1])}"


def _span(values) -> str:
    import numpy as np

    data = np.ma.filled(np.ma.asarray(values, dtype=float), np.nan)
    data = data[np.isfinite(data)]
    if not data.size:
        return "(none finite)"
    return f"{Values.number(data.min())} to {Values.number(data.max())}"


def _label(artist) -> str:
    label = artist.get_label()
    if not label or str(label).startswith("_"):
        return ""
    label = " ".join(str(label).split())
    return f'"{label[:60]}"'


def _count(count: int, one: str, many: str) -> str:
    return f"{count:,} {one if count == 1 else many}"


def _flat(container):
    for item in container:
        if isinstance(item, (list, tuple)):
            yield from item
        else:
            yield item
