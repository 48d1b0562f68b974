/**
 * What each step changed in the kernel: the observation event carries it as the kernel
 * words it (`changes_text`, NamespaceChanges.summary() of
 * codeact_jupyter/kernel/namespace_changes.py); a small line under the step's cell shows it.
 */
import type { Cell } from '@jupyterlab/cells';
import type { INotebookTracker } from '@jupyterlab/notebook';

import type { CellMark, IObservation } from '../kernel/events';
import type { RunModel } from '../kernel/run';

/** A small line under the step's cell (not an output: nothing is saved in the file). */
export function showStepChanges(
  tracker: INotebookTracker,
  run: RunModel,
  event: IObservation
): void {
  const line = (event as { changes_text?: string }).changes_text ?? '';
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
