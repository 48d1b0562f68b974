/**
 * Asking again (README, "Re-running a notebook"): a `%%codeact` cell that reaches the model
 * while it keeps an earlier run's trace (its task edited, or `--again`) starts a run that
 * takes the earlier run's place. When the new run starts, the earlier run's step and answer
 * cells are removed, except those the user edited since (as undo keeps them); the new
 * cells then go below the task cell, where the old ones were.
 */
import type { INotebookModel } from '@jupyterlab/notebook';

import type { CellMark } from '../kernel/events';
import { CELL_KEY } from './trace';

const CUT_NOTE = '\n\n*(The answer was cut at the token limit.)*';

interface IEarlierTrace {
  run_id?: unknown;
  answer?: unknown;
  steps?: { step?: unknown; code?: unknown }[];
}

/** Removes the cells of the run that task cell `cellId` ran before `runId`; returns how many. */
export function replaceEarlierRun(
  model: INotebookModel,
  cellId: string,
  runId: string
): number {
  let trace: IEarlierTrace | undefined;
  for (let i = 0; i < model.cells.length; i++) {
    if (model.cells.get(i).id === cellId) {
      trace = model.cells.get(i).getMetadata(CELL_KEY) as IEarlierTrace;
    }
  }
  if (!trace || typeof trace.run_id !== 'string' || trace.run_id === runId) {
    return 0;
  }
  const answer = typeof trace.answer === 'string' ? trace.answer : null;
  const codes = new Map<unknown, unknown>(
    (Array.isArray(trace.steps) ? trace.steps : []).map(s => [s.step, s.code])
  );
  const remove: number[] = [];
  for (let i = 0; i < model.cells.length; i++) {
    const cell = model.cells.get(i);
    const mark = cell.getMetadata('codeact') as CellMark | undefined;
    if (!mark || mark.run_id !== trace.run_id) {
      continue;
    }
    const source = cell.sharedModel.getSource();
    const unedited =
      mark.role === 'answer'
        ? answer !== null && (source === answer || source === answer + CUT_NOTE)
        : codes.get(mark.step) === source;
    if (unedited) {
      remove.push(i);
    }
  }
  model.sharedModel.transact(() => {
    for (const index of remove.reverse()) {
      model.sharedModel.deleteCell(index);
    }
  });
  return remove.length;
}
