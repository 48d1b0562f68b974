/**
 * What each step changed in the kernel: the observation event carries the names the step
 * defined, changed or deleted and the files it wrote (NamespaceChanges.to_dict() of
 * codeact_jupyter/namespace_changes.py); a small line under the step's cell shows them.
 */
import type { Cell } from '@jupyterlab/cells';
import type { INotebookTracker } from '@jupyterlab/notebook';

import type { CellMark, IObservation } from './events';
import type { RunModel } from './run';

/** NamespaceChanges.to_dict() of codeact_jupyter/namespace_changes.py. */
export interface INamespaceChanges {
  defined: { name: string; kind: string; in_place: boolean }[];
  changed: { name: string; kind: string; in_place: boolean }[];
  deleted: string[];
  written: string[];
}

/** `defined: top3 (Series, 3 rows); changed: df (in place); deleted: tmp`, or ''. */
export function changesText(changes: INamespaceChanges | null): string {
  if (!changes) {
    return '';
  }
  const parts: string[] = [];
  const names = (items: string[]): string => items.join(', ');
  if (changes.defined?.length) {
    parts.push(
      'defined: ' + names(changes.defined.map(c => `${c.name} (${c.kind})`))
    );
  }
  if (changes.changed?.length) {
    parts.push(
      'changed: ' +
        names(
          changes.changed.map(
            c => `${c.name} (${c.in_place ? 'in place' : c.kind})`
          )
        )
    );
  }
  if (changes.deleted?.length) {
    parts.push('deleted: ' + names(changes.deleted));
  }
  if (changes.written?.length) {
    parts.push('wrote: ' + names(changes.written));
  }
  return parts.join('; ');
}

/** A small line under the step's cell (not an output: nothing is saved in the file). */
export function showStepChanges(
  tracker: INotebookTracker,
  run: RunModel,
  event: IObservation
): void {
  const changes = (event as { changes?: INamespaceChanges | null }).changes;
  const line = changesText(changes ?? null);
  const step = event.step;
  if (!line) {
    return;
  }
  tracker.forEach(panel => {
    if (panel.context !== run.context) {
      return;
    }
    const cell = panel.content.widgets.find((widget: Cell) => {
      const mark = widget.model.getMetadata('codeact') as CellMark | undefined;
      return mark?.run_id === run.runId && mark.step === step;
    });
    if (!cell) {
      return;
    }
    void cell.ready.then(() => {
      let note = cell.node.querySelector<HTMLElement>('.jp-codeact-changes');
      if (!note) {
        note = document.createElement('div');
        note.className = 'jp-codeact-changes';
        const outputs = cell.node.querySelector('.jp-Cell-outputWrapper');
        if (outputs) {
          outputs.after(note);
        } else {
          cell.node.appendChild(note);
        }
      }
      note.textContent = line;
    });
  });
}
