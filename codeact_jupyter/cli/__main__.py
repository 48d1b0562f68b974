"""``python -m codeact_jupyter.cli``: the ``codeact`` command, also where the script is not installed."""
from . import entry

entry()
