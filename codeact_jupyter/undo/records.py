"""What a run needs to be undone, recorded while it runs, and how long it is kept.

The executor's ``RunTracker`` snapshots the user namespace after each step (the snapshot
after one step is the "before" of the next) and keeps, for each name the run touched,
the object it had before the run: that is what undo rebinds. Those references are the
only memory undo costs, and they are bounded: the last ``CodeActMagics.undo_depth`` runs
keep them (``UndoHistory``); an older run's are dropped and it can no longer be undone.
"""
from __future__ import annotations

import weakref
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ..kernel.file_writes import recording_writes
from .memory import MB, SAY_ABOVE, record_bytes, size_text
from ..kernel.namespace_changes import (NamespaceChanges, Seen, compare, content_of, names_in, snapshot,
                                        with_fingerprints)

DEFAULT_DEPTH = 5
DEFAULT_MEMORY_MB = 2048  # CodeActMagics.undo_memory
# How many run ids are remembered after their objects were dropped, to say "too old"
# rather than "unknown run".
FORGOTTEN_IDS = 200


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()  # "the name did not exist"


@dataclass
class RunRecord:
    run_id: str
    task: str = ""
    # name -> its object before the run (MISSING: the run created it). Dropped (None)
    # when the run can no longer be undone.
    originals: dict[str, Any] | None = field(default_factory=dict, repr=False)
    # name -> what the run left there, to notice a name changed after the run: a callable
    # giving back that object (a weak reference where the type allows one), None once the
    # run can no longer be undone. Not an id(): a freed object's id is soon reused.
    left: dict[str, Any] = field(default_factory=dict, repr=False)
    # name -> (size, fingerprint) of what the run left there, to notice it was changed in
    # place after the run (``fresh.append("user data")``): then undo keeps it.
    left_content: dict[str, tuple] = field(default_factory=dict, repr=False)
    in_place: dict[str, int] = field(default_factory=dict)  # pre-run object's name -> step
    written: list[str] = field(default_factory=list)
    steps: list[tuple[int, str]] = field(default_factory=list)  # (step, code) that ran
    answer: str | None = None
    undone: bool = False

    @property
    def touched(self) -> set[str]:
        return set(self.left) | set(self.in_place)

    @property
    def undoable(self) -> bool:
        return self.originals is not None and not self.undone

    def release(self) -> None:
        """Drop the references to previous objects: this run can no longer be undone."""
        self.originals = None
        self.left = dict.fromkeys(self.left)
        self.left_content = {}

    def change_after_run(self, name: str, current: Any) -> str | None:
        """Why ``current`` (MISSING: the name is not defined) is not what the run left in
        ``name``: "rebound" or "changed in place"; None when it is. When in doubt: changed."""
        ref = self.left.get(name)
        if ref is None:
            return "rebound"
        left = ref()
        if left is _FREED or left is not current:
            return "rebound"
        if current is not MISSING and name in self.left_content:
            size, fingerprint = self.left_content[name]
            now = Seen(current, *content_of(current))
            if Seen(None, size, fingerprint).changed_in_place(now):
                return "changed in place"
        return None

    def forget(self) -> None:
        """Aged out: keep only what says "too old" (the id, the task)."""
        self.release()
        self.steps, self.answer, self.written = [], None, []


class UndoHistory:
    """The runs of one kernel, oldest first; only the last ``depth`` keep their objects, and
    only while they hold at most ``memory`` bytes together (the oldest let go first)."""

    def __init__(self) -> None:
        self.records: list[RunRecord] = []
        self.depth = DEFAULT_DEPTH  # the undo_depth the latest run was kept with
        self.memory = DEFAULT_MEMORY_MB * MB  # and its undo_memory, in bytes

    def add(self, record: RunRecord, depth: int, memory: int | None = None,
            live: dict | None = None) -> "Kept":
        """Keep ``record``; returns what undo holds now and which runs let go for memory.
        ``live``: the namespace (objects it still binds cost undo nothing)."""
        self.depth = depth
        self.memory = self.memory if memory is None else memory
        self.records.append(record)
        kept = 0
        for old in reversed(self.records):
            if old.originals is None:
                continue
            kept += 1
            if kept > max(depth, 0):
                old.forget()
        del self.records[:-FORGOTTEN_IDS]
        live_ids = {id(v) for v in (live or {}).values()}
        sizes = {id(r): record_bytes(r.originals, live_ids) for r in self.records if r.undoable}
        released = []
        for old in self.records:  # oldest first
            if sum(sizes.values()) <= self.memory:
                break
            if id(old) in sizes:
                released.append(old.run_id)
                sizes.pop(id(old))
                old.forget()
        return Kept(sum(sizes.values()), len(sizes), released)

    def find(self, run_id: str) -> RunRecord | None:
        return next((r for r in self.records if r.run_id == run_id), None)

    def latest_not_undone(self) -> RunRecord | None:
        return next((r for r in reversed(self.records) if not r.undone), None)

    def later_than(self, record: RunRecord) -> list[RunRecord]:
        index = self.records.index(record)
        return [r for r in self.records[index + 1:] if not r.undone]


def history_of(shell) -> UndoHistory:
    """The shell's undo history (one per kernel)."""
    history = getattr(shell, "_codeact_undo_history", None)
    if history is None:
        history = UndoHistory()
        shell._codeact_undo_history = history
    return history


def undo_depth(shell) -> int:
    """How many runs keep what undo needs (``CodeActMagics.undo_depth`` as the latest run
    of this kernel was kept with)."""
    return history_of(shell).depth


@dataclass(frozen=True)
class Kept:
    """What undo holds after a run: bytes, for how many runs, and the runs let go for memory."""

    held: int
    runs: int
    released: list[str]

    def notes(self, memory_mb: int) -> list[str]:
        """The task's last lines about undo's memory (none when it is small)."""
        lines = []
        if self.released:
            runs = ", ".join(self.released)
            lines.append(f"undo: run{'s' if len(self.released) > 1 else ''} {runs} can no longer be "
                         f"undone: what {'they' if len(self.released) > 1 else 'it'} kept went over "
                         f"CodeActMagics.undo_memory ({memory_mb:,} MB).")
        if self.held > SAY_ABOVE:
            lines.append(f"undo keeps {size_text(self.held)} for the last {self.runs} "
                         f"run{'s' if self.runs != 1 else ''} (at most {memory_mb:,} MB); "
                         "`%config CodeActMagics.undo_memory = MB` bounds it, 0 keeps nothing.")
        return lines


@dataclass
class Watched:
    changes: NamespaceChanges | None = None


class RunTracker:
    """Used by the executor around each step of one run."""

    def __init__(self, shell, run_id: str, task: str = "", depth: int = DEFAULT_DEPTH,
                 memory_mb: int = DEFAULT_MEMORY_MB):
        self.shell = shell
        self.depth = depth
        self.memory_mb = memory_mb
        self.kept: Kept | None = None  # set by finish()
        self.finished = False
        self.record = RunRecord(run_id, task)
        self._before: dict[str, Seen] | None = None
        self._deep: set[str] | None = None

    @contextmanager
    def watch(self, step: int, code: str):
        """Around one step; what it changed is in ``.changes`` of what this yields once the
        block is over (also when the step was interrupted)."""
        names = names_in(self.shell, code)  # fingerprinted: what this step can touch
        if self._before is None:
            self._before = snapshot(self.shell, deep=names)
        elif names is None:
            self._before = snapshot(self.shell)
        else:
            with_fingerprints(self._before, names)
        self._deep = names
        watched = Watched()
        try:
            with recording_writes() as written:
                yield watched
        finally:
            watched.changes = self._after_step(step, code, written)

    def _after_step(self, step: int, code: str, written: list[str]) -> NamespaceChanges:
        before, after = self._before or {}, snapshot(self.shell, deep=self._deep)
        changes = compare(before, after, tuple(written))
        record = self.record
        originals = record.originals
        for change in changes.defined:
            originals.setdefault(change.name, MISSING)
        for change in changes.changed:
            if change.in_place:
                # Only an object that was there before the run matters to undo.
                if originals.get(change.name, before[change.name].value) is before[change.name].value:
                    record.in_place.setdefault(change.name, step)
            else:
                originals.setdefault(change.name, before[change.name].value)
        for name in changes.deleted:
            originals.setdefault(name, before[name].value)
        record.written += [path for path in written if path not in record.written]
        record.steps.append((step, code))
        self._before = after
        return changes

    def finish(self, answer: str | None = None) -> RunRecord:
        """The run is over: note what it left, and keep it in the shell's history."""
        record = self.record
        record.answer = answer
        self.finished = True
        ns = self.shell.user_ns
        for name in record.originals:
            value = ns[name] if name in ns else MISSING
            record.left[name] = _reference(value)
            if value is not MISSING:
                record.left_content[name] = content_of(value)
        self._before = None  # the snapshot's references go; the originals stay
        self.kept = history_of(self.shell).add(record, self.depth, self.memory_mb * MB, ns)
        return record

    def notes(self) -> list[str]:
        """Lines for the end of the task about what undo holds (after finish)."""
        return self.kept.notes(self.memory_mb) if self.kept is not None else []


_FREED: Any = object()  # what a weak reference gives once its object is gone


def _reference(value: Any):
    """A weak reference where the type allows one (a list, a dict, an int cannot: those are
    held until the run ages out, within the undo depth). Once a weakly held object is
    freed, the reference gives _FREED, which is nothing the user can hold (not None)."""
    try:
        ref = weakref.ref(value)
    except TypeError:
        return lambda: value
    return lambda: (lambda obj: _FREED if obj is None else obj)(ref())
