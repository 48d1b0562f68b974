"""Which names a notebook's cells use that no earlier cell defines: hidden state.

A static reading with ``ast`` (magics are turned into Python first, as IPython does): for
each cell in order, the module-level names it reads before it binds them, against the
names the cells above bind and delete. A name read that way which no cell above defines
was there only in the kernel the notebook ran in: deleted since, defined by a cell that was
removed or edited, or by a cell further down (run out of order). Function bodies count as
reads (they run when called); names bound by ``exec``, ``globals()`` or ``%run`` are not
seen, and after ``from x import *`` nothing is reported.
"""
from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass, field

# Names every IPython kernel has without a cell defining them.
KERNEL_NAMES = {"get_ipython", "display", "In", "Out", "exit", "quit", "__session__", "__file__",
                "__name__", "__builtins__", "__doc__"}


@dataclass
class Names:
    reads: list[str] = field(default_factory=list)  # read before bound here, in order
    # Read by a function or class body: only when called, so only a name that no cell
    # anywhere binds is reported.
    deferred: list[str] = field(default_factory=list)
    binds: set[str] = field(default_factory=set)
    deletes: set[str] = field(default_factory=set)
    star_import: bool = False
    unparsable: bool = False


def cell_names(source: str) -> Names:
    """The module-level names a cell reads before binding them, binds and deletes."""
    names = Names()
    try:
        tree = ast.parse(_as_python(source))
    except SyntaxError:
        names.unparsable = True
        return names
    for statement in tree.body:
        _Reader(names).visit(statement)
    return names


@dataclass(frozen=True)
class Unbound:
    position: int  # index in the cells given
    name: str
    later: int | None  # a cell below that binds it, if any
    deleted_by: int | None  # a cell above that deleted it, if any


def unbound_names(sources: list[str], effects: list[tuple[set, set]] | None = None) -> list[Unbound]:
    """For cells in the order they run: the names each reads that no cell above binds.
    ``effects`` may add, per cell, names it was seen to define and delete when it ran (an
    agent step's recorded namespace changes), which static reading can miss."""
    read = [cell_names(source) for source in sources]
    for names, (defined, deleted) in zip(read, effects or []):
        names.binds |= set(defined) - set(deleted)
        names.deletes |= set(deleted)
    known = set(dir(builtins)) | KERNEL_NAMES
    bound: set[str] = set()
    deleted: dict[str, int] = {}
    found: list[Unbound] = []
    for position, names in enumerate(read):
        if names.star_import:
            return found  # anything may be defined from here on
        anywhere = set().union(*(n.binds for n in read))
        for name in dict.fromkeys(names.reads + [n for n in names.deferred if n not in anywhere]):
            if name in bound or name in known or name.startswith("_"):
                continue
            later = next((i for i in range(position + 1, len(read)) if name in read[i].binds), None)
            found.append(Unbound(position, name, later, deleted.get(name)))
        bound |= names.binds
        for name in names.deletes:
            bound.discard(name)
            deleted[name] = position
    return found


class _Reader(ast.NodeVisitor):
    """Reads one top-level statement: its loads (before its stores), stores and deletes."""

    def __init__(self, names: Names):
        self.names = names

    def _read(self, name: str) -> None:
        if name not in self.names.binds:
            self.names.reads.append(name)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self._read(node.id)
        elif isinstance(node.ctx, ast.Store):
            self.names.binds.add(node.id)
        else:
            self.names.deletes.add(node.id)
            self.names.binds.discard(node.id)

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)  # the value is read before the targets are bound
        for target in node.targets:
            self.visit(target)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.visit(node.value)
        if isinstance(node.target, ast.Name):
            self._read(node.target.id)
            self.names.binds.add(node.target.id)
        else:
            self.visit(node.target)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
        self.visit(node.target)

    def visit_For(self, node) -> None:
        self.visit(node.iter)
        self.visit(node.target)
        for child in node.body + node.orelse:
            self.visit(child)

    visit_AsyncFor = visit_For

    def visit_Import(self, node) -> None:
        for alias in node.names:
            if alias.name == "*":
                self.names.star_import = True
            else:
                self.names.binds.add(alias.asname or alias.name.split(".")[0])

    visit_ImportFrom = visit_Import

    def visit_FunctionDef(self, node) -> None:
        for default in node.args.defaults + [d for d in node.args.kw_defaults if d] + node.decorator_list:
            self.visit(default)
        self.names.binds.add(node.name)
        self._inner_reads(node, deferred=True)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node) -> None:
        for child in node.bases + node.decorator_list:
            self.visit(child)
        self.names.binds.add(node.name)
        self._inner_reads(node, deferred=True)

    def visit_Lambda(self, node) -> None:
        self._inner_reads(node, deferred=True)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.type is not None:
            self.visit(node.type)
        if node.name:
            self.names.binds.add(node.name)
        for child in node.body:
            self.visit(child)

    def visit_ListComp(self, node) -> None:
        self._inner_reads(node)

    visit_SetComp = visit_GeneratorExp = visit_DictComp = visit_ListComp

    def visit_Global(self, node) -> None:
        return

    def _inner_reads(self, node, deferred: bool = False) -> None:
        """Names an inner scope reads from the module: those it never binds itself."""
        local: set[str] = set()
        loads: list[str] = []
        for child in ast.walk(node):
            if isinstance(child, ast.Name):
                (loads.append if isinstance(child.ctx, ast.Load) else local.add)(child.id)
            elif isinstance(child, ast.arg):
                local.add(child.arg)
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and child is not node:
                local.add(child.name)
            elif isinstance(child, (ast.Import, ast.ImportFrom)):
                local.update(a.asname or a.name.split(".")[0] for a in child.names)
        for name in loads:
            if name in local:
                continue
            if deferred:
                self.names.deferred.append(name)
            else:
                self._read(name)


def _as_python(source: str) -> str:
    """A cell's source as Python: magics and shell escapes become calls, as IPython runs them."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:
        return source
    return TransformerManager().transform_cell(source)
