"""The model host: local inference in a child process of the kernel, so a native crash costs a task, never the kernel.

A crash in llama.cpp can never take the user's kernel and variables with it.

``client`` runs in the kernel, ``server`` in the child, ``protocol`` is the wire between.
"""
from .client import HostDied, ModelHost, current_host, get_host, stop_host

__all__ = ["HostDied", "ModelHost", "current_host", "get_host", "stop_host"]
