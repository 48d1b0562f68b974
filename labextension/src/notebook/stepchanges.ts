/**
 * What each step changed in the kernel, as a small line under the step's cell. The
 * observation event carries it as the kernel words it (`changes_text`,
 * NamespaceChanges.summary() of codeact_jupyter/kernel/namespace_changes.py); the mirror
 * keeps it in the cell's mark (`metadata.codeact.changes`), so the line comes back when the
 * notebook is opened again, in any window. The line itself is not an output: it is drawn.
 */
import type { Cell } from '@jupyterlab/cells';
import type { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';

import type { CellMark } from '../kernel/events';

const LINE_CLASS = 'jp-codeact-changes';

/** Draws the change lines of every open notebook, and keeps them in step with the marks. */
export class StepChangeLines {
  constructor(tracker: INotebookTracker) {
    tracker.widgetAdded.connect((_, panel) => this._watch(panel));
    tracker.forEach(panel => this._watch(panel));
  }

  private _watch(panel: NotebookPanel): void {
    let pending = 0;
    const refresh = (): void => {
      // Many changes come at once while a run goes on: draw once they settle.
      window.clearTimeout(pending);
      pending = window.setTimeout(() => drawLines(panel), 50);
    };
    void panel.context.ready.then(refresh);
    panel.content.modelContentChanged.connect(refresh);
    panel.content.cellInViewportChanged.connect(refresh); // windowed notebooks render cells late
    panel.disposed.connect(() => window.clearTimeout(pending));
  }
}

function drawLines(panel: NotebookPanel): void {
  if (panel.isDisposed) {
    return;
  }
  for (const cell of panel.content.widgets) {
    const mark = cell.model.getMetadata('codeact') as CellMark | undefined;
    const line = typeof mark?.changes === 'string' ? mark.changes : '';
    drawLine(cell, line);
  }
}

function drawLine(cell: Cell, line: string): void {
  let note = cell.node.querySelector<HTMLElement>(`.${LINE_CLASS}`);
  if (!line) {
    note?.remove();
    return;
  }
  if (!note) {
    note = document.createElement('div');
    note.className = LINE_CLASS;
    const outputs = cell.node.querySelector('.jp-Cell-outputWrapper');
    if (outputs) {
      outputs.after(note);
    } else {
      cell.node.appendChild(note);
    }
  }
  if (note.textContent !== line) {
    note.textContent = line;
  }
}
