"""The IPython front door: `%%codeact`, `%codeact WORD`, and how a cell shows a task."""
