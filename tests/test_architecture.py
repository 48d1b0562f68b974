"""The package's floors, as docs/architecture.md draws them: the listing is the drawing.

The folder tree at the top of docs/architecture.md gives each package one line (the first
sentence of its docstring); these tests keep the drawing and the code in step, and hold the
rules the layout stands on: few modules at the top, no import circle, and nothing outside
the magics reading IPython's magics registry."""
import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "codeact_jupyter"


def first_sentence(doc: str) -> str:
    paragraph = " ".join(doc.split("\n\n")[0].split())
    end = paragraph.find(". ")
    return paragraph[: end + 1] if end >= 0 else paragraph


def source_files():
    return [p for p in PACKAGE.rglob("*.py") if not {"eval_suite", "labextension"} & set(p.parts)]


def packages():
    return sorted(p.parent for p in PACKAGE.rglob("__init__.py") if not {"eval_suite", "labextension"} & set(p.parts))


def test_the_architecture_doc_opens_with_every_folder_and_its_job():
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    tree = doc.split("```", 2)[1]
    for package in packages():
        name = str(package.relative_to(ROOT)) + "/"
        docstring = ast.get_docstring(ast.parse((package / "__init__.py").read_text(encoding="utf-8")))
        assert docstring, f"{name} has no docstring to say its job"
        line = next((l for l in tree.splitlines() if l.split() and l.split()[0] == name), None)
        assert line is not None, f"docs/architecture.md's tree lacks {name}"
        assert " ".join(line.split()[1:]) == first_sentence(docstring), \
            f"docs/architecture.md says of {name}: {line.split(None, 1)[1]!r}; its docstring: {first_sentence(docstring)!r}"


def test_the_top_of_the_package_holds_few_modules():
    modules = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert modules == ["__init__.py", "errors.py", "events.py", "panel.py"]


def imports_of(path: Path) -> set[str]:
    """The package modules ``path`` imports (relative imports resolved; lazy ones too)."""
    module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            candidates = [target] + [f"{target}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            candidates = [a.name for a in node.names]
        else:
            continue
        for name in candidates:
            if name.startswith("codeact_jupyter") and name != module and _exists(name):
                found.add(name)
    return found


def _exists(module: str) -> bool:
    path = ROOT / module.replace(".", "/")
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def test_there_is_no_import_circle_between_modules():
    graph = {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): imports_of(p)
             for p in source_files()}
    # A package's __init__ importing its own modules is how it re-exports; not a circle.
    def edges(node):
        return {t for t in graph.get(node, ()) if not (t.startswith(node + ".") or node.startswith(t + ".")
                                                       and t.count(".") < node.count("."))}
    seen, stack, circle = set(), [], []

    def visit(node):
        if node in stack:
            circle.append(stack[stack.index(node):] + [node])
            return
        if node in seen:
            return
        seen.add(node)
        stack.append(node)
        for target in sorted(edges(node)):
            visit(target)
        stack.pop()

    for node in sorted(graph):
        visit(node)
    assert not circle, "import circle: " + " -> ".join(circle[0])


def test_only_the_magics_read_the_magics_registry():
    readers = [str(p.relative_to(ROOT)) for p in source_files()
               if re.search(r"magics_manager|\.registry\b", p.read_text(encoding="utf-8"))
               and "magics" not in p.relative_to(PACKAGE).parts[:1]]
    assert readers == []
