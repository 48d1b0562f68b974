/**
 * Keeps each run's trace in the notebook (docs/trace.md). At the end of a run the kernel
 * sends it on the run's comm, after the events, as `{run_id, origin, cell_id, events: [],
 * trace}`: a `%%codeact` run's trace goes into its task cell's metadata
 * (`metadata.codeact_trace`, the cell's latest run), a panel run's into the notebook's
 * (`metadata.codeact_traces`, a list). It is saved with the notebook like any metadata.
 */
import type { INotebookModel } from '@jupyterlab/notebook';

import type { Origin } from '../kernel/events';

export const CELL_KEY = 'codeact_trace';
export const NOTEBOOK_KEY = 'codeact_traces';
export const TEXTS_KEY = 'codeact_texts';
/** Panel runs kept in the notebook's metadata; the oldest go first. */
const MAX_NOTEBOOK_TRACES = 50;

export interface ITrace {
  run_id: string;
  version: number;
  [key: string]: unknown;
}

/** The trace a bridge message carries, if it is a well-formed one. */
export function traceOf(data: unknown): ITrace | null {
  const trace = (data as { trace?: unknown } | null)?.trace as
    Partial<ITrace> | undefined;
  return typeof trace === 'object' &&
    trace !== null &&
    typeof trace.run_id === 'string' &&
    typeof trace.version === 'number'
    ? (trace as ITrace)
    : null;
}

/** The shared message texts a bridge message carries beside its trace. */
export function textsOf(data: unknown): { [key: string]: string } {
  const texts = (data as { texts?: unknown } | null)?.texts;
  return typeof texts === 'object' && texts !== null
    ? (texts as { [key: string]: string })
    : {};
}

/** Writes the trace where docs/trace.md says; a task cell deleted meanwhile leaves it to the notebook. */
export function keepTrace(
  model: INotebookModel | null,
  run: { origin: Origin; cellId: string | null },
  trace: ITrace,
  texts: { [key: string]: string } = {}
): void {
  if (!model) {
    return;
  }
  const fresh = Object.entries(texts);
  if (fresh.length) {
    const table = model.getMetadata(TEXTS_KEY) as
      | { [key: string]: string }
      | undefined;
    if (fresh.some(([key]) => table?.[key] === undefined)) {
      model.setMetadata(TEXTS_KEY, { ...(table ?? {}), ...texts });
    }
  }
  if (run.origin === 'magic' && run.cellId) {
    for (let i = 0; i < model.cells.length; i++) {
      const cell = model.cells.get(i);
      if (cell.id === run.cellId) {
        cell.setMetadata(CELL_KEY, trace);
        return;
      }
    }
  }
  const old = model.getMetadata(NOTEBOOK_KEY);
  const traces = (Array.isArray(old) ? old : []).filter(
    entry => (entry as Partial<ITrace> | null)?.run_id !== trace.run_id
  );
  traces.push(trace);
  model.setMetadata(NOTEBOOK_KEY, traces.slice(-MAX_NOTEBOOK_TRACES));
}
