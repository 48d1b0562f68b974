"""Recorded replies played back, one per turn: from a replay file or a run's trace."""
from .backend import ReplayBackend

__all__ = ["ReplayBackend"]
