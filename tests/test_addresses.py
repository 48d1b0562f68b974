"""Every address the project holds as text resolves: a module moved without its callers
being told fails here, naming the string and where it stands.

Addresses are written in many places that no import checks: the ``%codeact WORD`` and
``codeact COMMAND`` tables, the built-in backend table, pyproject's entry points, the model
host's ``python -m`` path, the calls the JupyterLab extension makes into the kernel (it may
run another version than the kernel: the old addresses it called stay as shims), and the
addresses the documentation promises."""
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "codeact_jupyter"
ADDRESS = re.compile(r"""["'`](codeact_jupyter(?:\.\w+)+(?::\w+)?)["'`]""")


def resolve(address: str):
    """The object ``module:attr`` or ``module.attr`` names (a module itself when it is one)."""
    module, _, attr = address.partition(":")
    if attr:
        return getattr(importlib.import_module(module), attr)
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError:
        parent, _, name = module.rpartition(".")
        return getattr(importlib.import_module(parent), name)


def quoted_addresses() -> list[tuple[str, str]]:
    """(address, file) for each quoted ``codeact_jupyter.…`` string of the package, the
    extension's source and pyproject.toml."""
    files = [p for p in PACKAGE.rglob("*.py") if "eval_suite" not in p.parts]
    files += sorted((ROOT / "labextension" / "src").rglob("*.ts*")) + [ROOT / "pyproject.toml"]
    found = []
    for path in files:
        for address in ADDRESS.findall(path.read_text(encoding="utf-8")):
            found.append((address, str(path.relative_to(ROOT))))
    return sorted(set(found))


@pytest.mark.parametrize("address,where", quoted_addresses())
def test_every_quoted_address_in_the_code_resolves(address, where):
    try:
        resolve(address)
    except (ImportError, AttributeError) as exc:
        pytest.fail(f"{where} names {address!r}, which does not resolve: {exc}")


def test_the_scan_finds_the_tables_it_is_meant_to_check():
    found = {address for address, _ in quoted_addresses()}
    assert {"codeact_jupyter.undo.command:undo_command", "codeact_jupyter.cli:entry",
            "codeact_jupyter.backends.llama:LlamaBackend",
            "codeact_jupyter.backends.llama.host.server", "codeact_jupyter.panel"} <= found


def test_every_function_the_extension_calls_in_the_kernel_exists():
    source = (ROOT / "labextension" / "src" / "kernel" / "call.ts").read_text(encoding="utf-8")
    door = re.search(r"KERNEL_DOOR = '([\w.]+)'", source).group(1)
    union = re.search(r"type KernelFunction =([^;]+);", source).group(1)
    functions = re.findall(r"'(\w+)'", union)
    assert functions, "call.ts lists no kernel functions"
    module = importlib.import_module(door)
    for name in functions:
        assert callable(getattr(module, name, None)), f"labextension calls {door}.{name}, which is missing"


@pytest.mark.parametrize("address", [
    # What the README and docs promise, and what plugins import.
    "codeact_jupyter:load_ipython_extension", "codeact_jupyter:unload_ipython_extension",
    "codeact_jupyter:last_run", "codeact_jupyter:unload_model",
    "codeact_jupyter.trace:run_trace", "codeact_jupyter.backends.base:Backend",
    "codeact_jupyter.backends:register_backend",
    # Called by JupyterLab extensions of the previous release (kept one release).
    "codeact_jupyter.panel:run_panel_task", "codeact_jupyter.panel:context_manifest",
    "codeact_jupyter.undo:panel_undo", "codeact_jupyter.verify:verify_document",
])
def test_public_addresses_stay(address):
    assert resolve(address) is not None


def test_the_command_tables_name_importable_handlers():
    from codeact_jupyter.cli import COMMANDS as CLI
    from codeact_jupyter.magics.commands import COMMANDS

    for word, target in COMMANDS.items():
        assert callable(resolve(target)), f"%codeact {word}: {target}"
    for word, (module, _) in CLI.items():
        assert callable(getattr(importlib.import_module(module), "main", None)), f"codeact {word}: {module}"


def test_the_built_in_backends_are_the_entry_points_pyproject_declares():
    from codeact_jupyter.backends import _BUILTIN as BUILTIN

    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    section = text.split('[project.entry-points."codeact_jupyter.backends"]', 1)[1].split("\n[", 1)[0]
    declared = dict(re.findall(r'^(\w+) = "([\w.:]+)"', section, re.M))
    assert declared == BUILTIN
