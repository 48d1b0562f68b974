"""What the model reads after a step: the step's outputs as text, cut to a limit.

Rich outputs (images, HTML) are named by a short placeholder with their type and size:
text-only models cannot see them, but they should know the user can. A matplotlib figure
comes with its description, read from the figure's objects when it was displayed
(figure_notes.py puts it in the output's metadata); an HTML table says its shape, a widget
its type. Base64 data never goes to the model, wherever it shows up (a data: URI, a
printed blob).
"""
from __future__ import annotations

import re
from typing import Callable

from ..figures.formatter import description_of

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
NOTHING_PRINTED = "[The code ran successfully and printed nothing.]"
_DATA_URI = re.compile(r"data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?:;[\w=.-]+)*;base64,(?P<data>[A-Za-z0-9+/=]{16,})")
# A long unbroken run of base64; it must mix cases and digits, so a DNA sequence or a
# long identifier is left alone.
_BASE64_RUN = re.compile(r"(?<![A-Za-z0-9+/])(?=[A-Za-z0-9+/]*[a-z])(?=[A-Za-z0-9+/]*[A-Z])"
                         r"(?=[A-Za-z0-9+/]*[0-9])[A-Za-z0-9+/]{200,}={0,2}")


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size:,} bytes"
    for unit in ("KB", "MB", "GB"):
        size /= 1024
        if size < 1024 or unit == "GB":
            return f"{size:.1f} {unit}"


def base64_size(data: str) -> int:
    """Bytes that base64 text decodes to."""
    data = re.sub(r"\s", "", data)
    return max(0, len(data) * 3 // 4 - data[-2:].count("="))


def summarize_blobs(text: str) -> str:
    """Base64 in text becomes one line saying what and how large it is."""
    if len(text) < 200 and "base64," not in text:
        return text
    text = _DATA_URI.sub(lambda m: f"[data URI, {m.group('mime') or 'data'}, "
                                   f"{human_size(base64_size(m.group('data')))}]", text)
    return _BASE64_RUN.sub(lambda m: f"[base64 data, {human_size(base64_size(m.group(0)))}]", text)


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def truncate_middle(text: str, limit: int) -> str:
    """Keep the head and the tail of ``text`` within ``limit`` characters, marking the cut."""
    if limit <= 0 or len(text) <= limit:
        return text
    half = limit // 2
    cut = len(text) - 2 * half
    return f"{text[:half]}\n[... {cut:,} characters cut ...]\n{text[-half:]}"


def output_text(output: dict, figure_chars: int | None = None) -> str:
    """One nbformat output as text for the model; ``figure_chars`` shortens figure
    descriptions (the notebook context)."""
    kind = output.get("output_type")
    if kind == "stream":
        return summarize_blobs(strip_ansi(_joined(output.get("text", ""))))
    if kind == "error":
        return summarize_blobs(strip_ansi("\n".join(output.get("traceback") or
                                                    [f"{output.get('ename')}: {output.get('evalue')}"])))
    if kind in ("execute_result", "display_data"):
        return summarize_blobs(_rich_text(output.get("data", {}), output, figure_chars))
    return ""


def _rich_text(data: dict, output: dict | None = None, figure_chars: int | None = None) -> str:
    plain = strip_ansi(_joined(data.get("text/plain", "")))
    rich = [mime for mime in data if mime != "text/plain"]
    images = [mime for mime in rich if mime.startswith("image/")]
    description = description_of(output or {})
    if description:
        if figure_chars is not None:
            return f"[figure: {short_description(description, figure_chars)}]"
        shown = f" ({images[0]}{_size(images[0], data[images[0]])})" if images else ""
        return f"[Figure shown to the user{shown}; what it shows, read from the figure's objects:]\n{description}"
    if images:
        described = f": {plain}" if plain else ""
        return f"[{images[0]} image{_size(images[0], data[images[0]])}, shown to the user{described}]"
    if plain and not _is_opaque_repr(plain):
        return plain
    if WIDGET in data:
        kind = re.match(r"<?([\w.]+)", plain or "")  # IntSlider(value=3), <ipywidgets.IntSlider object>
        return f"[{kind.group(1).rsplit('.', 1)[-1] if kind else 'Jupyter'} widget shown to the user]"
    shape = html_table_shape(_joined(data.get("text/html", "")))
    if shape:
        return f"[HTML table shown to the user: {shape[0]:,} rows x {shape[1]:,} columns]"
    if rich:
        return f"[{rich[0]} output shown to the user]"
    return plain


def _size(mime: str, value) -> str:
    """``", 25.8 KB"``, or "" where the data was left out (the browser sends documents
    without image data: a size of 0 bytes would be false). nbformat keeps binary types
    (PNG, JPEG) as base64 text, others (SVG, HTML) as text."""
    if not isinstance(value, (str, list)):
        return f", {human_size(len(str(value).encode()))}"
    text = _joined(value)
    if not text:
        return ""
    textual = mime.startswith("text/") or mime.endswith(("+xml", "json", "javascript"))
    return f", {human_size(len(text.encode()) if textual else base64_size(text))}"


def _is_opaque_repr(text: str) -> bool:
    # e.g. "<IPython.core.display.HTML object>" or "<pandas.io.formats.style.Styler at 0x7f..>":
    # says nothing the placeholder does not.
    return bool(re.fullmatch(r"<[\w.]+( object)?( at 0x[0-9a-fA-F]+)?>", text.strip()))


WIDGET = "application/vnd.jupyter.widget-view+json"


def html_table_shape(html: str) -> tuple[int, int] | None:
    """(rows, columns) of the first table in ``html``: body rows, and data cells (``td``) of
    the widest row (of the first and last thousand); pandas' index cells are ``th``, so they
    do not count as columns. String counting, not regular expressions: an 11 MB table
    takes milliseconds."""
    if "<table" not in html:
        html = html.lower()  # <TABLE>: rare, and worth a copy
        if "<table" not in html:
            return None
    start = html.find("<table")
    end = html.find("</table>", start)
    end = len(html) if end < 0 else end
    body = html.find("<tbody", start, end)
    if body < 0:  # no body: the rows with data cells (the header rows have none)
        rows = [n for n in map(_cells, html[start:end].split("<tr")[1:]) if n]
        return (len(rows), max(rows)) if rows else None
    body_end = html.find("</tbody>", body, end)
    body_end = end if body_end < 0 else body_end
    rows = html.count("<tr>", body, body_end) + html.count("<tr ", body, body_end)
    if not rows:
        return None
    widths, at = [], body
    for _ in range(min(rows, 1000)):
        at = html.find("<tr", at + 1, body_end)
        following = html.find("<tr", at + 1, body_end)
        widths.append(_cells(html[at:following if following >= 0 else body_end]))
    last = html.rfind("<tr", body, body_end)
    widths.append(_cells(html[last:body_end]))
    return rows, max(widths)


def _cells(row: str) -> int:
    return row.count("<td>") + row.count("<td ")


def short_description(text: str, limit: int) -> str:
    """A figure description cut to whole lines within ``limit`` characters, on one line."""
    kept: list[str] = []
    for line in (part.strip() for part in text.splitlines()):
        if sum(len(k) + 2 for k in kept) + len(line) > limit:
            kept.append("…")
            break
        kept.append(line)
    return "; ".join(kept)


def _joined(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def format_observation(outputs: list[dict], status: str, limit: int, timeout: float | None = None,
                       changes: str = "", redact: Callable[[str], str] | None = None) -> str:
    """The observation message for one step; ``changes`` (a line saying which names the
    step defined, changed or deleted) ends it. ``redact`` runs on the whole text before it
    is cut, so a secret that straddles the cut leaves no part of itself behind."""
    text = _observation(outputs, status, limit, timeout, redact)
    return f"{text}\n{changes}" if changes and status != "skipped" else text


def _observation(outputs: list[dict], status: str, limit: int, timeout: float | None,
                 redact: Callable[[str], str] | None = None) -> str:
    if status == "skipped":
        return "Observation:\n[The user declined to run this step. Do not retry it unchanged.]"
    parts = [text for text in (output_text(o) for o in outputs) if text]
    body = "\n".join(part.rstrip("\n") for part in parts) if parts else ""
    if redact is not None:
        body = redact(body)
    if status == "timeout":
        body = truncate_middle(body, limit)
        note = (f"[The step was stopped after {timeout:g} s: it ran past the time limit. "
                "Try a faster approach or a smaller piece of the data.]")
        return f"Observation:\n{body}\n{note}" if body else f"Observation:\n{note}"
    if not body:
        body = NOTHING_PRINTED
    return f"Observation:\n{truncate_middle(body, limit)}"
