"""Task suites for ``codeact eval``: a folder of tasks, each a small YAML or JSON file
(docs/eval.md has the format). Files and folders whose names start with ``_`` or ``.`` are
not tasks (shared setup code lives there)."""
from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .scoring import format_expected

BUILTIN = Path(__file__).resolve().parents[1] / "eval_suite"
KEYS = {"id", "category", "task", "setup", "setup_files", "setup_notebook", "expected",
        "tolerance", "checker", "failing_cell", "solution", "answer", "tools"}
# Added to a task that expects an answer, so that any model knows how to give it.
ANSWER_FORMAT = "End your reply with the final answer on a line of its own: Answer: <value>"


class SuiteError(Exception):
    """A task file that cannot be used, named with what is wrong."""


@dataclass(frozen=True)
class EvalTask:
    id: str
    category: str
    task: str
    setup: tuple[str, ...] = ()  # code cells run before the task (setup_files' text first)
    setup_notebook: str | None = None  # a notebook whose cells run first (absolute path)
    expected: Any = None  # compared with the answer (scoring.py)
    tolerance: float | None = None
    checker: str | None = None  # Python source defining check(ns, answer)
    failing_cell: int | None = None  # 1-based index in setup of a cell meant to fail
    solution: tuple[str, ...] = ()  # the reference steps (the oracle replays them)
    answer: str | None = None  # the oracle's final reply
    tools: tuple[str, ...] = ()  # names of the setup's tool functions (action modes)
    path: str = ""

    @property
    def prompt(self) -> str:
        """What the model is asked."""
        return f"{self.task.strip()}\n\n{ANSWER_FORMAT}" if self.expected is not None else self.task.strip()

    def oracle_replies(self) -> list[str]:
        steps = [f"<execute>\n{code.rstrip()}\n</execute>" for code in self.solution]
        final = self.answer if self.answer is not None else f"Answer: {format_expected(self.expected)}"
        return steps + [final]


@dataclass
class Suite:
    root: Path
    tasks: list[EvalTask] = field(default_factory=list)

    def select(self, patterns: str | None) -> list[EvalTask]:
        """Tasks whose id or category matches one of the comma-separated glob patterns."""
        if not patterns:
            return list(self.tasks)
        wanted = [p.strip() for p in patterns.split(",") if p.strip()]
        return [t for t in self.tasks
                if any(fnmatch.fnmatchcase(t.id, p) or fnmatch.fnmatchcase(t.category, p) for p in wanted)]


def load_suite(root: str | Path | None = None) -> Suite:
    root = Path(root).expanduser() if root else BUILTIN
    if not root.is_dir():
        raise SuiteError(f"Suite not found: {root} is not a folder of task files.")
    files = sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml", ".json")
                   and not any(part.startswith(("_", ".")) for part in p.relative_to(root).parts))
    tasks = [load_task(p) for p in files]
    seen: dict[str, str] = {}
    for task in tasks:
        if task.id in seen:
            raise SuiteError(f"Task id {task.id!r} is used twice: {seen[task.id]} and {task.path}.")
        seen[task.id] = task.path
    if not tasks:
        raise SuiteError(f"No task files (.yaml, .yml, .json) in {root}.")
    return Suite(root, tasks)


def load_task(path: Path) -> EvalTask:
    text = _read(path, "task file")
    try:
        if path.suffix == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as exc:
        raise SuiteError(f"{path}: not valid {path.suffix[1:].upper()} ({exc}).") from None
    if not isinstance(data, dict):
        raise SuiteError(f"{path}: a task file holds one mapping (id, category, task, ...).")
    unknown = sorted(set(data) - KEYS)
    if unknown:
        raise SuiteError(f"{path}: unknown keys {', '.join(unknown)}; a task has {', '.join(sorted(KEYS))}.")
    for key in ("id", "category", "task"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise SuiteError(f"{path}: {key!r} must be a non-empty string.")
    if data.get("expected") is None and not data.get("checker"):
        raise SuiteError(f"{path}: a task needs an expected answer, a checker, or both.")
    setup = [_read(path.parent / name, f"setup file named by {path}")
             for name in _strings(data, "setup_files", path)]
    setup += _strings(data, "setup", path)
    notebook = data.get("setup_notebook")
    failing = data.get("failing_cell")
    if failing is not None and not (isinstance(failing, int) and 1 <= failing <= len(setup)):
        raise SuiteError(f"{path}: failing_cell must be the 1-based number of a setup cell (1..{len(setup)}).")
    tolerance = data.get("tolerance")
    if tolerance is not None and not isinstance(tolerance, (int, float)):
        raise SuiteError(f"{path}: tolerance must be a number.")
    return EvalTask(
        id=data["id"].strip(), category=data["category"].strip(), task=data["task"],
        setup=tuple(setup), setup_notebook=str((path.parent / notebook).resolve()) if notebook else None,
        expected=data.get("expected"), tolerance=tolerance, checker=data.get("checker"),
        failing_cell=failing, solution=tuple(_strings(data, "solution", path)),
        answer=data.get("answer"), tools=tuple(_strings(data, "tools", path)), path=str(path))


def _read(path: Path, what: str) -> str:
    """A file's text, or a SuiteError naming the file and what to do."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SuiteError(f"The {what} is missing: {path}.") from None
    except UnicodeDecodeError as exc:
        raise SuiteError(f"The {what} {path} is not UTF-8 text ({exc.reason} at byte {exc.start}): "
                         "save it as UTF-8.") from None
    except OSError as exc:
        raise SuiteError(f"Could not read the {what} {path}: {exc.strerror or exc}.") from None


def _strings(data: dict, key: str, path: Path) -> list[str]:
    value = data.get(key) or []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SuiteError(f"{path}: {key!r} must be a string or a list of strings.")
    return value
