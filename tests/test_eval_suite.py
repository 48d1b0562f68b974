"""The built-in suite, checked without a model or a kernel: its shape, and every task's
scoring and checker, which must pass the reference solution and fail a wrong answer (and,
where the checker looks at the namespace, fail when the work was not done)."""
from __future__ import annotations

import contextlib
import io
from collections import Counter

import pytest

from codeact_jupyter.cli.checking import verdict
from codeact_jupyter.cli.eval_run import spec_of
from codeact_jupyter.cli.scoring import format_expected, match_value
from codeact_jupyter.cli.suite import load_suite

SUITE = load_suite()
TASKS = {t.id: t for t in SUITE.tasks}


def test_the_builtin_suite_has_forty_tasks_or_more_in_four_categories():
    counts = Counter(t.category for t in SUITE.tasks)
    assert sum(counts.values()) >= 40
    assert set(counts) == {"wrangling", "analysis", "debugging", "tools"}
    assert min(counts.values()) >= 10
    assert all(t.solution and t.expected is not None for t in SUITE.tasks)
    assert all(t.failing_cell for t in SUITE.tasks if t.category == "debugging")
    assert all(t.tools for t in SUITE.tasks if t.category == "tools")


def namespace(task, solved: bool) -> dict:
    ns: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):
        for number, code in enumerate(task.setup, 1):
            try:
                exec(code, ns)
            except Exception:
                assert number == task.failing_cell, f"{task.id}: setup cell {number} failed"
    for code in task.solution if solved else ():
        with contextlib.redirect_stdout(io.StringIO()) as printed:
            exec(code, ns)
    if solved:  # what the last step prints is the expected answer: a live model can find it
        last = printed.getvalue().strip().splitlines()[-1]
        assert match_value(last, task.expected, task.tolerance)[0], (task.id, last, task.expected)
    return ns


def wrong(expected):
    if isinstance(expected, bool):
        return not expected
    if isinstance(expected, (int, float)):
        return expected + 1 + abs(expected) / 2
    if isinstance(expected, list):
        return [wrong(expected[0])] + expected[1:]
    return f"not {expected}"


@pytest.mark.parametrize("task_id", sorted(TASKS))
def test_each_checker_passes_the_reference_and_fails_a_wrong_answer(task_id):
    task = TASKS[task_id]
    ns = namespace(task, solved=True)
    right = f"Here it is.\n\nAnswer: {format_expected(task.expected)}"
    with contextlib.redirect_stdout(io.StringIO()):
        good = verdict(ns, spec_of(task), right)
        bad = verdict(ns, spec_of(task), f"Answer: {format_expected(wrong(task.expected))}")
        missing = verdict(ns, spec_of(task), None)
    assert good["passed"], good
    assert not bad["passed"] and bad["reason"].startswith("answer: "), bad
    assert not missing["passed"] and missing["reason"] == "answer: no answer"
    if task.checker:  # the right answer without the work done in the kernel fails too
        with contextlib.redirect_stdout(io.StringIO()):
            undone = verdict(namespace(task, solved=False), spec_of(task), right)
        assert not undone["passed"] and undone["reason"].startswith("checker: "), undone
