"""Any OpenAI-compatible chat-completions endpoint: the backend, its streamed replies, its retries."""
from .backend import OpenAIBackend

__all__ = ["OpenAIBackend"]
