"""A run's trace (what was sent, received and run), and where traces live in notebooks."""
from .build import run_trace

__all__ = ["run_trace"]
