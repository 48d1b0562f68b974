"""Images of a step's output for models that can see them.

``--vision auto|on|off`` (``CodeActMagics.vision``): with ``auto``, images go to a backend
that can send them (``sends_images``: the openai backend) when its model is known to accept
images (``KNOWN_VISION_MODELS``) or declared so (``CodeActMagics.vision_models``); ``on``
sends them to any such backend. The observation message then holds the text (with the
figure descriptions, as for every model) followed by image parts, each downscaled to at most
``max_side`` pixels, at most ``per_step`` per observation and ``per_task`` per task. Without
Pillow no image is sent, and the observation and a notice say so.
"""
from __future__ import annotations

import base64
import binascii
import io
from dataclasses import dataclass
from fnmatch import fnmatch

MODES = ("auto", "on", "off")
SENT_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
# Model names (lower case, with or without an "owner/" prefix) known to take images.
KNOWN_VISION_MODELS = (
    "gpt-4o*", "chatgpt-4o*", "gpt-4.1*", "gpt-4-turbo*", "gpt-4-vision*", "gpt-5*",
    "o1", "o1-20*", "o3", "o3-20*", "o3-pro*", "o4-mini*", "claude-3*", "claude-*-4*",
    "claude-sonnet-4*", "claude-opus-4*", "gemini*", "*llava*", "*-vl*", "*vl-*", "*vision*",
    "pixtral*", "*minicpm-v*", "*internvl*", "gemma-3-*", "gemma3:*", "llama-4*", "llama4*",
    "*moondream*", "mistral-small-3.1*", "mistral-medium*", "grok-*vision*", "qwen*-omni*",
)


@dataclass(frozen=True)
class VisionSettings:
    mode: str = "auto"  # auto | on | off
    models: tuple[str, ...] = ()  # more model name patterns that accept images (fnmatch)
    per_step: int = 2
    per_task: int = 8
    max_side: int = 768  # pixels, the longer side of an image sent


def accepts_images(model: str | None, declared=()) -> bool:
    name = (model or "").lower()
    names = {name, name.rsplit("/", 1)[-1]}
    return any(fnmatch(n, p.lower()) for n in names for p in (*KNOWN_VISION_MODELS, *declared))


class Vision:
    """One task's decision (images or not, and why) and its image budget."""

    def __init__(self, settings: VisionSettings, backend):
        self.settings = settings
        self.sent = 0
        self.active, self.notice = _decide(settings, backend)
        self._told_no_pillow = False

    def content(self, text: str, outputs: list[dict]) -> tuple[str | list, str | None]:
        """The observation message's content (the text, or the text and image parts) and a
        line for the user, or None."""
        images = [_image(o) for o in outputs]
        images = [i for i in images if i is not None]
        if not self.active or not images:
            return text, None
        room = max(0, min(self.settings.per_step, self.settings.per_task - self.sent))
        parts, notes, notice = [], [], None
        try:
            for mime, data in images[:room]:
                part = _image_part(mime, data, self.settings.max_side)
                if part is None:
                    notes.append(f"an {mime} image could not be read, so it was not attached")
                else:
                    parts.append(part)
        except ImportError:
            notes.append("no image attached: Pillow is not installed in the kernel")
            if not self._told_no_pillow:  # once a task
                self._told_no_pillow = True
                notice = ("Images were not sent to the model: Pillow is not installed in the kernel "
                          "(`pip install pillow`). The model reads the figure descriptions.")
        self.sent += len(parts)
        if parts:
            notes.insert(0, f"{_n(len(parts), 'image')} of this output attached below")
        left = len(images) - min(room, len(images))
        if left:
            notes.append(f"{_n(left, 'more image')} not attached (at most {self.settings.per_step} "
                         f"per step and {self.settings.per_task} per task)")
        text = f"{text}\n[{'; '.join(notes)}.]" if notes else text
        if not parts:
            return text, notice
        return [{"type": "text", "text": text}, *parts], notice


def _decide(settings: VisionSettings, backend) -> tuple[bool, str | None]:
    if settings.mode == "off":
        return False, None
    name = getattr(backend, "name", "this")
    if not getattr(backend, "sends_images", False):
        if settings.mode == "on":
            return False, (f"Vision is on, but the {name} backend sends text only: the model reads "
                           "figure descriptions, not images.")
        return False, None
    model = getattr(backend, "model", None)
    if settings.mode == "auto" and not accepts_images(model, settings.models):
        return False, None
    return True, (f"The model ({model}) is sent the images of each step's output, at most "
                  f"{settings.per_step} per step and {settings.per_task} per task, besides their "
                  "descriptions (--vision off to send none).")


def _image(output: dict) -> tuple[str, str] | None:
    if output.get("output_type") not in ("display_data", "execute_result"):
        return None
    data = output.get("data") or {}
    for mime in SENT_TYPES:
        value = data.get(mime)
        if isinstance(value, list):
            value = "".join(value)
        if isinstance(value, str) and value:
            return mime, value
    return None


def _image_part(mime: str, data: str, max_side: int) -> dict | None:
    """An ``image_url`` content part, the image downscaled to ``max_side``; None for data
    that is not an image. Raises ImportError without Pillow."""
    from PIL import Image, UnidentifiedImageError

    try:
        raw = base64.b64decode("".join(data.split()), validate=True)
        image = Image.open(io.BytesIO(raw))
        image.load()
    except (binascii.Error, ValueError, OSError, UnidentifiedImageError):
        return None
    if max(image.size) > max_side or mime not in ("image/png", "image/jpeg"):
        image.thumbnail((max_side, max_side), Image.LANCZOS)
        keep_jpeg = mime == "image/jpeg"
        if keep_jpeg and image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        out = io.BytesIO()
        image.save(out, format="JPEG" if keep_jpeg else "PNG", **({"quality": 85} if keep_jpeg else {}))
        raw, mime = out.getvalue(), ("image/jpeg" if keep_jpeg else "image/png")
    url = f"data:{mime};base64,{base64.b64encode(raw).decode('ascii')}"
    return {"type": "image_url", "image_url": {"url": url}}


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
