/**
 * Asking again (README, "Re-running a notebook"): a `%%codeact` cell that reaches the model
 * while it keeps an earlier run's trace (its task edited, or `--again`) starts a run that
 * takes the earlier run's place. When the new run starts, the earlier run's step and answer
 * cells are removed, except those the user edited since (as undo keeps them); the new
 * cells then go below the task cell, where the old ones were.
 */
import type { INotebookModel } from '@jupyterlab/notebook';

import type { CellMark } from '../kernel/events';
import { CELL_KEY, NOTEBOOK_KEY } from './trace';

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
  return removeRunCells(model, trace.run_id, recordedCells(trace)).removed;
}

/** What a run put into the notebook, to tell its cells from ones the user edited since. */
export interface IRunCells {
  answer: string | null;
  /** Step number -> the code its cell was inserted with. */
  codes: Map<unknown, unknown>;
}

/** A run's cells as its trace records them. */
export function recordedCells(trace: IEarlierTrace): IRunCells {
  return {
    answer: typeof trace.answer === 'string' ? trace.answer : null,
    codes: new Map<unknown, unknown>(
      (Array.isArray(trace.steps) ? trace.steps : []).map(s => [s.step, s.code])
    )
  };
}

/** The trace of a panel run kept in the notebook's metadata (notebook/trace.ts). */
export function panelTrace(
  model: INotebookModel,
  runId: string
): IEarlierTrace | null {
  const traces = model.getMetadata(NOTEBOOK_KEY);
  return (
    ((Array.isArray(traces) ? traces : []).find(
      entry => (entry as IEarlierTrace | null)?.run_id === runId
    ) as IEarlierTrace | undefined) ?? null
  );
}

/**
 * Removes run `runId`'s cells that are as it inserted them (those the user edited stay);
 * returns how many went, and the index its first cell had (-1: none was in the notebook).
 */
export function removeRunCells(
  model: INotebookModel,
  runId: string,
  inserted: IRunCells
): { removed: number; first: number } {
  const remove: number[] = [];
  let first = -1;
  for (let i = 0; i < model.cells.length; i++) {
    const cell = model.cells.get(i);
    const mark = cell.getMetadata('codeact') as CellMark | undefined;
    if (!mark || mark.run_id !== runId) {
      continue;
    }
    first = first < 0 ? i : first;
    const source = cell.sharedModel.getSource();
    const unedited =
      mark.role === 'answer'
        ? inserted.answer !== null &&
          (source === inserted.answer || source === inserted.answer + CUT_NOTE)
        : inserted.codes.get(mark.step) === source;
    if (unedited) {
      remove.push(i);
    }
  }
  model.sharedModel.transact(() => {
    for (const index of remove.reverse()) {
      model.sharedModel.deleteCell(index);
    }
  });
  return { removed: remove.length, first };
}
