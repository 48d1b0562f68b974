"""The local backend: a GGUF model run by llama-cpp-python in a child process (host/)."""
from .backend import LlamaBackend

__all__ = ["LlamaBackend"]
