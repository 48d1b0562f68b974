"""The notebook context as a list of parts: each cell's source and output, each variable, the
notes, each with its text as sent, its token count, what was cut and what was redacted."""
import pytest

import codeact_jupyter
from codeact_jupyter.backends.base import approx_tokens
from codeact_jupyter.context.parts import build_context, context_parts, render_context
from codeact_jupyter.context.redaction import Redactor
from codeact_jupyter.context.source import NotebookSource

pytestmark = pytest.mark.usefixtures("forget_cells")  # fake secrets stay in this test


def parts_of(ip, budget=3000, **options):
    errors = ip.magics_manager.registry["CodeActMagics"].error_log.errors
    return context_parts(NotebookSource(ip, errors=errors), budget, approx_tokens,
                         redactor=Redactor.for_task(ip.user_ns, environ={}), **options)


def test_each_cell_output_error_and_variable_is_a_part_and_they_render_to_the_context(ip):
    n = ip.execution_count  # the session's history numbering goes on from earlier tests
    ip.run_cell("a = 21", store_history=True)
    ip.run_cell("a * 2", store_history=True)
    ip.run_cell("undefined_name", store_history=True)
    parts = parts_of(ip)
    by_label = {(p.kind, p.label): p for p in parts}
    assert by_label[("source", f"In [{n}]")].text == f"[In [{n}]]\na = 21"
    assert by_label[("output", f"In [{n + 1}] output")].text == f"[Out[{n + 1}]: 42]"
    assert "NameError" in by_label[("error", f"In [{n + 2}] output")].text
    assert by_label[("variable", "a")].text == "a: int = 21"
    assert all(p.tokens == approx_tokens(p.text) for p in parts)
    # The rendered parts are the text the model reads, and a task sends exactly that.
    text = render_context(parts)
    assert text.startswith("Cells of the notebook so far, oldest first")
    assert f"\n\n[In [{n}]]\na = 21\n\n[In [{n + 1}]]\na * 2\n[Out[{n + 1}]: 42]\n\n" in text
    assert text.endswith("Live variables in the kernel:\na: int = 21")
    errors = ip.magics_manager.registry["CodeActMagics"].error_log.errors
    assert text == build_context(NotebookSource(ip, errors=errors), 3000, approx_tokens,
                                 redactor=Redactor.for_task(ip.user_ns, environ={}))


def test_a_part_says_what_was_cut_and_how_many_values_were_redacted(ip):
    ip.run_cell("'x' * 5000", store_history=True)
    ip.run_cell("db_password = 'correct-horse-battery'", store_history=True)
    for i in range(30):
        ip.run_cell("None  # " + "padding " * 20, store_history=True)
    parts = parts_of(ip, budget=400)
    heading = parts[0]
    assert heading.kind == "note" and "earlier cells left out for length" in heading.cut
    assert heading.text.startswith("Cells of the notebook so far, oldest first (")
    secret = next(p for p in parts if p.label == "db_password")
    assert secret.redacted == 1 and "correct-horse" not in secret.text

    parts = parts_of(ip, budget=100_000)
    long_output = next(p for p in parts if p.kind == "output" and "xxxx" in p.text)
    assert "str, 5,000 chars" in long_output.text and len(long_output.text) < 700
    assert long_output.cut.endswith(" characters of output cut")
    source = next(p for p in parts if p.kind == "source" and "db_password" in p.text)
    assert source.redacted == 1 and "correct-horse" not in source.text


def test_a_cell_marked_private_sends_neither_its_source_nor_its_output(ip, replay):
    ip.run_cell("shared = 'visible'", store_history=True)
    ip.run_cell("# codeact: private\nprint('PRIVATE-OUTPUT')\n'PRIVATE-RESULT'", store_history=True)
    ip.run_cell("#   CodeAct: private (my notes)\n1/0", store_history=True)
    parts = parts_of(ip)
    private = [p for p in parts if not p.sent][-2:]  # earlier tests' cells are history too
    assert [p.key for p in private] == [f"h{ip.execution_count - 2}", f"h{ip.execution_count - 1}"]
    assert all(p.text == "" and p.kind == "source" for p in private)
    assert private[0].cut == "private cell"

    path = replay(["Done."])
    ip.run_cell(f"%codeact --model {path} what is here?", store_history=True)
    sent = codeact_jupyter.last_run().messages[1]["content"]
    assert "shared = 'visible'" in sent
    assert "PRIVATE" not in sent and "codeact: private" not in sent and "ZeroDivision" not in sent


def test_a_private_cell_in_the_browsers_document_by_tag_or_first_line(ip):
    doc = {"cells": [
        {"cell_type": "code", "source": "x = 1", "execution_count": 1, "outputs": [],
         "metadata": {"tags": ["codeact-private"]}},
        {"cell_type": "markdown", "source": "# codeact: private\nmy notes", "metadata": {}},
        {"cell_type": "code", "source": "y = 2", "execution_count": 2, "metadata": {},
         "outputs": [{"output_type": "stream", "name": "stdout", "text": "TAGGED"}]},
    ]}
    text = render_context(context_parts(NotebookSource(ip, doc), 3000, approx_tokens))
    assert "x = 1" not in text and "my notes" not in text
    assert "[In [2]]\ny = 2\n[TAGGED]" in text


def test_context_options_share_cells_variables_both_or_neither(ip):
    ip.run_cell("answer = 42", store_history=True)
    cells_only = render_context(parts_of(ip, include="cells"))
    assert "answer = 42" in cells_only and "answer: int" not in cells_only
    assert "The user chose not to share the kernel's variables." in cells_only
    vars_only = render_context(parts_of(ip, include="vars"))
    assert "answer = 42" not in vars_only and "answer: int = 42" in vars_only
    assert "The user chose not to share the notebook's cells." in vars_only
    nothing = render_context(parts_of(ip, include="none"))
    assert "answer" not in nothing


def test_unticked_parts_are_listed_but_not_sent(ip):
    ip.run_cell("keep = 1", store_history=True)
    ip.run_cell("drop_me = 2", store_history=True)
    ip.run_cell("'OUTPUT-TO-DROP'", store_history=True)
    start = ip.execution_count - 3  # the shell's history numbering goes on across tests
    parts = parts_of(ip, exclude=[f"h{start + 1}", f"h{start + 2}:output", "var:keep"])
    text = render_context(parts)
    assert "drop_me = 2" not in text and "Out[" not in text and "keep: int" not in text
    assert f"[In [{start + 2}]]\n'OUTPUT-TO-DROP'" in text and "keep = 1" in text
    assert "drop_me: int = 2" in text
    unticked = {p.key for p in parts if p.cut == "unticked"}
    assert unticked == {f"h{start + 1}", f"h{start + 2}:output", "var:keep"}  # to tick back in


def test_too_many_variables_keep_the_first_and_the_last_whole(ip):
    for i in range(50):
        ip.user_ns[f"variable_{i:02d}"] = i
    text = render_context(parts_of(ip, budget=300))
    assert "variable_00: int = 0" in text and "variable_49: int = 49" in text
    assert "variables left out for length ...]" in text
    assert "variable_25" not in text


def test_a_key_column_and_hashes_are_summarised_as_they_are(ip):
    import hashlib

    import pandas as pd

    digest = hashlib.sha256(b"row").hexdigest()
    ip.user_ns["lookup"] = pd.DataFrame({"key": ["alpha", "beta"], "sha256": [digest, digest]})
    ip.user_ns["sort_key"] = len
    parts = {p.label: p for p in parts_of(ip) if p.kind == "variable"}
    text = parts["lookup"].text
    assert text.startswith("lookup: DataFrame, 2 rows × 2 columns: key (") and "), sha256 (" in text
    assert "redacted" not in text
    assert parts["sort_key"].text.startswith("sort_key: builtin_function_or_method")
    assert parts["lookup"].redacted == parts["sort_key"].redacted == 0
