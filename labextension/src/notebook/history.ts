/**
 * A notebook's task history, kept in its metadata (`metadata.codeact.tasks`) so that it
 * is still there when the notebook is opened again. Tasks only: no settings, no keys.
 */
import type { INotebookModel } from '@jupyterlab/notebook';

import type { RunModel } from '../kernel/run';

export interface IHistoryEntry {
  run_id: string;
  task: string;
  origin: string;
  reason: string;
  answer: string | null;
  steps: number;
  finished: string;
  /** Undone since (by the panel's Undo or `%codeact undo`): its cells were removed. */
  undone?: boolean;
}

const KEY = 'codeact';
const MAX_ENTRIES = 50;
const MAX_ANSWER = 2000;

export function readHistory(model: INotebookModel | null): IHistoryEntry[] {
  const value = model?.getMetadata(KEY) as { tasks?: unknown } | undefined;
  const tasks = value?.tasks;
  return Array.isArray(tasks)
    ? tasks.filter(
        (entry): entry is IHistoryEntry =>
          typeof entry === 'object' &&
          entry !== null &&
          typeof (entry as IHistoryEntry).run_id === 'string' &&
          typeof (entry as IHistoryEntry).task === 'string'
      )
    : [];
}

export function recordRun(model: INotebookModel | null, run: RunModel): void {
  if (!model || !run.done) {
    return;
  }
  const answer = run.answer;
  const entry: IHistoryEntry = {
    run_id: run.runId,
    task: run.task,
    origin: run.origin,
    reason: run.done.reason,
    answer: answer === null ? null : answer.slice(0, MAX_ANSWER),
    steps: run.steps.length,
    finished: new Date().toISOString()
  };
  const tasks = readHistory(model).filter(old => old.run_id !== run.runId);
  tasks.push(entry);
  const value = (model.getMetadata(KEY) as Record<string, unknown>) ?? {};
  model.setMetadata(KEY, { ...value, tasks: tasks.slice(-MAX_ENTRIES) });
}

/** Marks a run as undone in the notebook's records, so that a reload still shows it so. */
export function recordUndone(model: INotebookModel | null, runId: string): void {
  if (!model) {
    return;
  }
  const tasks = readHistory(model);
  const entry = tasks.find(old => old.run_id === runId);
  if (!entry || entry.undone) {
    return;
  }
  entry.undone = true;
  const value = (model.getMetadata(KEY) as Record<string, unknown>) ?? {};
  model.setMetadata(KEY, { ...value, tasks });
}
