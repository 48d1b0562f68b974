"""%%codeact as the user types it: arguments, config, environment, help."""
import os
import subprocess
import sys

import pytest
from IPython.core.error import UsageError

import codeact_jupyter
from codeact_jupyter.magics.codeact import resolve_settings


def test_headline_usage_a_cell_magic_with_no_body(ip, replay):
    path = replay(["<execute>\nheadline = 'ran'\n</execute>", "Done."])
    result = ip.run_cell(f"%%codeact --model {path} solve this", store_history=True)
    assert result.error_before_exec is None and result.error_in_exec is None
    assert ip.user_ns["headline"] == "ran"
    assert codeact_jupyter.last_run().task == "solve this"


def test_the_task_is_the_magic_line_then_the_cell_body(ip, replay):
    path = replay(["All clear."])
    ip.run_cell(f"%%codeact --backend replay --model {path} load data.csv, don't \"guess\"\nthen plot it\n")
    assert codeact_jupyter.last_run().task == 'load data.csv, don\'t "guess"\nthen plot it'


def test_the_line_magic_takes_the_task_on_the_line(ip, replay):
    ip.run_cell(f"%codeact --model={replay(['ok'])} what is 1+1?")
    assert codeact_jupyter.last_run().task == "what is 1+1?"


def test_bad_arguments_raise_a_usage_error(ip):
    with pytest.raises(UsageError, match="Unknown option --frobnicate"):
        ip.run_line_magic("codeact", "--frobnicate x task")
    with pytest.raises(UsageError, match="needs a value"):
        ip.run_line_magic("codeact", "--max-turns")
    with pytest.raises(UsageError):
        ip.run_line_magic("codeact", "--max-turns many task")
    with pytest.raises(UsageError, match="Say what to do"):
        ip.run_line_magic("codeact", "--backend replay")


def test_help_lists_the_options(ip):
    doc = ip.find_line_magic("codeact").__doc__
    for option in ("--backend", "--model", "--base-url", "--max-turns", "--timeout", "--confirm"):
        assert option in doc


def test_precedence_arguments_then_config_then_environment(ip, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    ip.run_cell("%config CodeActMagics.backend = 'openai'")
    ip.run_cell("%config CodeActMagics.max_turns = 5")
    settings = resolve_settings(ip, {})
    assert (settings.backend, settings.max_turns) == ("openai", 5)
    assert settings.backend_config.api_key == "sk-env"
    assert settings.backend_config.base_url == "http://127.0.0.1:9/v1"
    ip.run_cell("%config CodeActMagics.base_url = 'http://127.0.0.1:7/v1'")
    settings = resolve_settings(ip, {"max_turns": 2, "base_url": "http://127.0.0.1:8/v1"})
    assert settings.max_turns == 2
    assert settings.backend_config.base_url == "http://127.0.0.1:8/v1"
    assert resolve_settings(ip, {}).backend_config.base_url == "http://127.0.0.1:7/v1"


def test_defaults_and_base_url_implies_openai(ip):
    ip.run_cell("%config CodeActMagics.backend = 'llama'")
    settings = resolve_settings(ip, {})
    assert (settings.backend, settings.max_turns, settings.step_timeout, settings.confirm) == ("llama", 10, 300.0, False)
    assert resolve_settings(ip, {"base_url": "http://127.0.0.1:8/v1"}).backend == "openai"


def test_config_file_style_configuration_before_loading():
    """c.CodeActMagics.max_turns = 5 in ipython_config.py, as a user would write it."""
    code = (
        "from traitlets.config import Config\n"
        "from IPython.terminal.interactiveshell import TerminalInteractiveShell\n"
        "c = Config(); c.CodeActMagics.max_turns = 5; c.CodeActMagics.backend = 'replay'\n"
        "ip = TerminalInteractiveShell.instance(config=c)\n"
        "ip.run_line_magic('load_ext', 'codeact_jupyter')\n"
        "from codeact_jupyter.magics.codeact import resolve_settings\n"
        "s = resolve_settings(ip, {})\n"
        "print(s.max_turns, s.backend)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(os.path.dirname(__file__)))
    assert out.stdout.split() == ["5", "replay"]


def test_loading_the_extension_imports_no_model_library():
    code = ("import sys\nfrom IPython.testing.globalipapp import start_ipython\n"
            "ip = start_ipython(); ip.run_line_magic('load_ext', 'codeact_jupyter')\n"
            "print(sorted(m for m in ('openai', 'llama_cpp', 'huggingface_hub', 'ipywidgets') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(os.path.dirname(__file__)))
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_the_run_can_be_saved_and_replayed(ip, replay, tmp_path):
    first = replay(["<execute>\nprint(3)\n</execute>", "Three."])
    ip.run_cell(f"%codeact --model {first} count")
    saved = codeact_jupyter.last_run().save_replay(tmp_path / "again.json")
    ip.run_cell(f"%codeact --model {saved} count")
    assert codeact_jupyter.last_run().answer == "Three."
