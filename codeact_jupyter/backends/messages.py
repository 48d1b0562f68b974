"""A chat message's content is a string, or (an observation with images, for a vision
model) a list of OpenAI content parts::

    [{"type": "text", "text": "Observation:\\n..."},
     {"type": "image_url", "image_url": {"url": "data:image/png;base64,..."}}]

Whatever reads messages (token counts, the context fit, text-only backends, replies) reads
them through these helpers.
"""
from __future__ import annotations

import re

# What one image part is counted as, in tokens, when a transcript is fitted to a window
# (OpenAI bills a 768-pixel image at high detail about 765 tokens).
IMAGE_TOKENS = 800


def content_text(content) -> str:
    """The text of a message's content; image parts are left out."""
    if isinstance(content, list):
        return "\n".join(str(part.get("text") or "") for part in content
                         if isinstance(part, dict) and part.get("type") == "text")
    return content if isinstance(content, str) else ("" if content is None else str(content))


def image_parts(content) -> list[dict]:
    if not isinstance(content, list):
        return []
    return [part for part in content if isinstance(part, dict) and part.get("type") == "image_url"]


def image_count(content) -> int:
    if not isinstance(content, list):
        return 0
    return sum(1 for part in content if isinstance(part, dict) and part.get("type") == "image_url")


def text_only(messages: list[dict]) -> list[dict]:
    """Messages whose content is text alone, for backends that read no images."""
    return [m if isinstance(m.get("content"), str) else {**m, "content": content_text(m.get("content"))}
            for m in messages]


def without_images(messages: list[dict]) -> list[dict]:
    """An earlier transcript for a model that reads no images (a follow-up after a vision
    model): each observation keeps its text, which describes its figures, and says the images
    are no longer attached; an endpoint without vision refuses image parts (HTTP 400)."""
    def text(content) -> str:
        said = content_text(content)
        return re.sub(r"\d+ images? of this output attached below", "its images are not "
                      "attached for this model, which reads text only", said)

    return [m if not isinstance(m.get("content"), list) else {**m, "content": text(m["content"])}
            for m in messages]
