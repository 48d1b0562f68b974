"""Fault suite for model replies and %%codeact options: a table of cases, each stating its
input and what the model and the user must see. Replies run through the real loop in the
real shell (replay backend); options go through the real magic."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from IPython.core.error import UsageError

import codeact_jupyter
from codeact_jupyter.events import Answer, Notice
from codeact_jupyter.magics.codeact import resolve_settings
from codeact_jupyter.agent.replies import EMPTY_ACTION

FOLLOW_UP = "Done."  # the model's next reply, where the loop goes on


@dataclass(frozen=True)
class ReplyCase:
    id: str
    reply: str
    runs: str | None  # the code that runs as step 1, or None: nothing runs
    answer: str | None = None  # the task's answer, when the reply itself is the answer
    model_reads: str | None = None  # text of the next message the model reads
    user_sees: str | None = None  # a notice the user sees
    defines: str | None = None  # a name the step must define
    never_defines: str | None = None  # a name nothing may define


def fence_case(language: str) -> ReplyCase:
    reply = f"Run this:\n```{language}\nls -la > out.txt\n```\nThat is all."
    return ReplyCase(f"fence-{language or 'none'}-not-run", reply, runs=None, answer=reply)


LONG_CODE = "\n".join(f"v{i} = {i}" for i in range(20_000))
LONG_ANSWER = "word " * 50_000

REPLY_CASES = [
    # Tags, well formed and broken.
    ReplyCase("execute", "<execute>\nx1 = 1\n</execute>", runs="x1 = 1", defines="x1"),
    ReplyCase("execute-no-close", "Let me look.\n<execute>\nx2 = 2\n", runs="x2 = 2", defines="x2"),
    ReplyCase("execute-cut-in-close", "<execute>\nx3 = 3\n</exec", runs="x3 = 3", defines="x3"),
    ReplyCase("execute-cut-after-lt", "<execute>\nx3b = 3\n<", runs="x3b = 3", defines="x3b"),
    ReplyCase("execute-upper-case", "<EXECUTE>\nx4 = 4\n</EXECUTE>", runs="x4 = 4", defines="x4"),
    ReplyCase("execute-spaced-tag", "<execute >\nx5 = 5\n</execute >", runs="x5 = 5", defines="x5"),
    ReplyCase("execute-malformed-open-tag", "<execute x6 = 6</execute>", runs=None,
              answer="<execute x6 = 6", never_defines="x6"),
    ReplyCase("other-tag", "<exec>x7 = 7</exec>", runs=None, answer="<exec>x7 = 7</exec>",
              never_defines="x7"),
    ReplyCase("lone-close-tag", "All done.</execute>", runs=None, answer="All done."),
    ReplyCase("two-blocks-first-runs", "<execute>a1 = 1</execute>\nObservation: 1\n<execute>b1 = 2</execute>",
              runs="a1 = 1", defines="a1", never_defines="b1"),
    # Empty and whitespace-only actions: nothing runs, the model is told, the task goes on.
    ReplyCase("execute-empty", "<execute></execute>", runs=None,
              model_reads=EMPTY_ACTION.for_model, user_sees=EMPTY_ACTION.for_user, answer=FOLLOW_UP),
    ReplyCase("execute-whitespace", "I will check.\n<execute>\n   \n\t\n</execute>", runs=None,
              model_reads=EMPTY_ACTION.for_model, user_sees=EMPTY_ACTION.for_user, answer=FOLLOW_UP),
    ReplyCase("execute-unclosed-whitespace", "Checking.\n<execute>\n  ", runs=None,
              model_reads=EMPTY_ACTION.for_model, answer=FOLLOW_UP),
    ReplyCase("execute-empty-python-fence", "<execute>\n```python\n```\n</execute>", runs=None,
              model_reads=EMPTY_ACTION.for_model, answer=FOLLOW_UP),
    ReplyCase("execute-bash-fence", "<execute>\n```bash\nls\n```\n</execute>", runs=None,
              model_reads="only Python runs here", user_sees="only Python runs", answer=FOLLOW_UP),
    ReplyCase("execute-python-fence", "<execute>\n```python\nx8 = 8\n```\n</execute>", runs="x8 = 8",
              defines="x8"),
    # Empty replies: the model is asked once more.
    ReplyCase("empty-reply", "", runs=None, model_reads="Your reply was empty", answer=FOLLOW_UP,
              user_sees="empty reply"),
    ReplyCase("whitespace-reply", " \n\t \n", runs=None, model_reads="Your reply was empty",
              answer=FOLLOW_UP),
    # Fences: Python and language-less ones run; no other language does, nor the text after it.
    ReplyCase("fence-python", "Here:\n```python\nx9 = 9\n```\nThat sets it.", runs="x9 = 9", defines="x9"),
    ReplyCase("fence-mid-line", "Here: ```python\nx10 = 10\n```", runs="x10 = 10", defines="x10"),
    ReplyCase("fence-info-string", "```python title='x'\nx11 = 11\n```", runs="x11 = 11", defines="x11"),
    ReplyCase("fence-tilde", "~~~python\nx12 = 12\n~~~", runs="x12 = 12", defines="x12"),
    ReplyCase("fence-unclosed", "```python\nx13 = 13", runs="x13 = 13", defines="x13"),
    ReplyCase("fence-python-after-bash", "```bash\nls\n```\nThen:\n```python\nx14 = 14\n```",
              runs="x14 = 14", defines="x14"),
    ReplyCase("fence-bash-unclosed", "```bash\nls\nThat is all.", runs=None,
              answer="```bash\nls\nThat is all."),
    ReplyCase("fence-longer-bash-fence-holds-backticks", "````bash\necho ```\n````\nThat is all.", runs=None,
              answer="````bash\necho ```\n````\nThat is all."),
    *[fence_case(lang) for lang in ("bash", "sh", "shell", "console", "text", "json", "yaml", "sql",
                                    "r", "javascript", "js", "output", "pycon", "Bash")],
    # <solution> is the answer; code inside it never runs.
    ReplyCase("solution", "<solution>42</solution>", runs=None, answer="42"),
    ReplyCase("solution-unclosed", "<solution>cut off", runs=None, answer="cut off"),
    ReplyCase("solution-python-fence", "<solution>\n```python\nx15 = 15\n```\n</solution>", runs=None,
              answer="```python\nx15 = 15\n```", never_defines="x15"),
    ReplyCase("solution-execute-inside", "<solution><execute>x16 = 16</execute></solution>", runs=None,
              answer="```python\nx16 = 16\n```", never_defines="x16"),
    ReplyCase("python-fence-then-solution", "```python\nx17 = 17\n```\n<solution>17</solution>", runs=None,
              answer="17", never_defines="x17"),
    ReplyCase("execute-then-solution", "<execute>\nx18 = 18\n</execute>\n<solution>18</solution>",
              runs="x18 = 18", defines="x18"),
    # Plain answers, unicode, length.
    ReplyCase("plain-answer", "The mean is **3.5**.", runs=None, answer="The mean is **3.5**."),
    ReplyCase("unicode-answer", "Résultat : **42** ✓ 日本", runs=None, answer="Résultat : **42** ✓ 日本"),
    ReplyCase("unicode-code", "<execute>\nprint('héllo ✓ 日本')\n</execute>", runs="print('héllo ✓ 日本')",
              model_reads="héllo ✓ 日本"),
    ReplyCase("very-long-code", f"<execute>\n{LONG_CODE}\n</execute>", runs=LONG_CODE, defines="v19999"),
    ReplyCase("very-long-answer", LONG_ANSWER, runs=None, answer=LONG_ANSWER.strip()),
    ReplyCase("many-bare-fences", "```\n```\n" * 2000 + "Nothing to run.", runs=None,
              answer=("```\n```\n" * 2000 + "Nothing to run.").strip()),
    # A step that calls %%codeact: refused, the model reads why.
    ReplyCase("nested-codeact", "<execute>\n%codeact do something else\n</execute>",
              runs="%codeact do something else", model_reads="cannot run inside a codeact step"),
]


@pytest.mark.parametrize("case", REPLY_CASES, ids=[c.id for c in REPLY_CASES])
def test_reply(ip, replay, case):
    path = replay([case.reply, FOLLOW_UP])
    events = []
    from codeact_jupyter.agent.task import run_task
    run_task(ip, "the task", resolve_settings(ip, {"model": str(path)}), [events.append])
    run = codeact_jupyter.last_run()
    assert (run.steps[0].code if run.steps else None) == case.runs
    if case.answer is not None:
        assert run.answer == case.answer
        assert Answer(case.answer) in events
    if case.model_reads is not None:
        assert case.model_reads in run.messages[3]["content"]
    if case.user_sees is not None:
        assert any(isinstance(e, Notice) and case.user_sees in e.text for e in events)
    if case.defines:
        assert case.defines in ip.user_ns
    if case.never_defines:
        assert case.never_defines not in ip.user_ns


@dataclass(frozen=True)
class OptionCase:
    id: str
    line: str  # after %codeact; {model} is a replay file holding one answer
    error: str | None = None  # the UsageError the user sees, or None: the task runs
    task: str | None = None  # the task the model receives
    warns: str | None = None  # a line the user sees on stderr


OPTION_CASES = [
    OptionCase("max-turns-zero", "{model} --max-turns 0 t",
               error="--max-turns (max_turns) must be a whole number of at least 1"),
    OptionCase("max-turns-negative", "{model} --max-turns -2 t", error="at least 1: it is how many replies"),
    OptionCase("max-turns-word", "{model} --max-turns abc t", error="argument --max-turns: invalid int value: 'abc'"),
    OptionCase("max-turns-fraction", "{model} --max-turns 2.5 t", error="invalid int value: '2.5'"),
    OptionCase("max-turns-missing", "{model} --max-turns", error="Option --max-turns needs a value"),
    OptionCase("max-turns-then-option", "{model} --max-turns --timeout 3 t", error="--max-turns needs a value"),
    OptionCase("max-turns-equals-empty", "{model} --max-turns= t", error="--max-turns needs a value"),
    OptionCase("max-turns-one", "{model} --max-turns 1 t", task="t"),
    OptionCase("timeout-negative", "{model} --timeout -1 t",
               error="--timeout (timeout) must be a number of seconds per step, or 0 for no limit"),
    OptionCase("timeout-nan", "{model} --timeout nan t", error="or 0 for no limit. Got nan"),
    OptionCase("timeout-inf", "{model} --timeout inf t", error="or 0 for no limit. Got inf"),
    OptionCase("timeout-word", "{model} --timeout soon t", error="invalid float value: 'soon'"),
    OptionCase("timeout-zero-is-no-limit", "{model} --timeout 0 t", task="t"),
    OptionCase("timeout-equals", "{model} --timeout=2.5 t", task="t"),
    OptionCase("model-quoted-spaces", '--model "{spaced}" t', task="t"),
    OptionCase("model-single-quoted", "--model '{spaced}' t", task="t"),
    OptionCase("model-equals-quoted", '--model="{spaced}" t', task="t"),
    OptionCase("model-equals-single-quoted", "--model='{spaced}' t", task="t"),
    OptionCase("model-short", "-m {path} t", task="t"),
    OptionCase("model-short-equals", "-m={path} t", task="t"),
    OptionCase("base-url-equals-in-value", "{model} --backend replay --base-url=http://127.0.0.1:9/v1?a=b t", task="t"),
    OptionCase("model-unclosed-quote", '--model "{spaced} t', error="Unclosed quote in the value of --model"),
    OptionCase("model-equals-empty", "--model= t", error="--model needs a value"),
    OptionCase("flag-with-value", "{model} --confirm=yes t", error="Option --confirm takes no value"),
    OptionCase("unknown-option", "{model} --frobnicate t", error="Unknown option --frobnicate"),
    OptionCase("unknown-short-option", "{model} -x is a flag", error="goes after `--`: %%codeact -- -x is a flag"),
    OptionCase("task-starts-with-number", "{model} -5 plus 3?", task="-5 plus 3?"),
    OptionCase("double-dash-ends-options", "{model} -- -x is a flag?", task="-x is a flag?"),
    OptionCase("double-dash-keeps-option-words", "{model} -- explain --max-turns 3", task="explain --max-turns 3"),
    OptionCase("options-after-the-task", "{model} summarise df --max-turns 3", task="summarise df --max-turns 3",
               warns="--max-turns came after the task's first word"),
    OptionCase("no-task", "{model}", error="Say what to do"),
    OptionCase("only-double-dash", "{model} --", error="Say what to do"),
    OptionCase("task-with-quotes", """{model} find the "best" rows, don't guess""",
               task="""find the "best" rows, don't guess"""),
    OptionCase("task-with-backslashes", r"{model} read C:\data\sales.csv", task=r"read C:\data\sales.csv"),
]


@pytest.mark.parametrize("case", OPTION_CASES, ids=[c.id for c in OPTION_CASES])
def test_option(ip, replay, tmp_path, capsys, case):
    path = replay(["Answered."])
    spaced = replay(["Answered."], name="my replies.json")
    line = case.line.format(model=f"--model {path}", path=path, spaced=spaced)
    before = codeact_jupyter.last_run()
    result = ip.run_cell(f"%codeact {line}", store_history=True)
    if case.error is not None:
        assert isinstance(result.error_in_exec, UsageError)
        assert case.error in str(result.error_in_exec)
        assert codeact_jupyter.last_run() is before  # nothing started
        return
    assert result.error_in_exec is None, result.error_in_exec
    run = codeact_jupyter.last_run()
    assert run is not before and run.task == case.task and run.answer == "Answered."
    if case.warns is not None:
        assert case.warns in capsys.readouterr().err


@pytest.mark.parametrize("setting, value, error", [
    ("max_turns", 0, "at least 1"), ("max_turns", -2, "at least 1"),
    ("timeout", -1, "or 0 for no limit"), ("timeout", float("nan"), "or 0 for no limit"),
])
def test_a_bad_value_from_config_or_the_panel_is_refused(ip, caplog, setting, value, error):
    with pytest.raises(UsageError, match=error):  # the panel's settings
        resolve_settings(ip, {setting: value})
    ip.run_cell(f"%config CodeActMagics.{setting} = {value!r}".replace("nan", "float('nan')"))
    assert error in caplog.text  # %config logs the refusal: the user reads it under the cell
    magics = ip.magics_manager.registry["CodeActMagics"]
    assert (magics.max_turns, magics.timeout) == (10, 300.0)  # the bad value was not kept


def test_timeout_zero_means_no_limit(ip, replay):
    path = replay(["<execute>\nimport time\ntime.sleep(1.2)\nslept = True\n</execute>", "Slept."])
    ip.run_cell(f"%codeact --model {path} --timeout 0 sleep", store_history=True)
    assert codeact_jupyter.last_run().steps[0].status == "ok" and ip.user_ns["slept"]
