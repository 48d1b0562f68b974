/**
 * Mirrors a run into its notebook: each step becomes a code cell (below the cell that
 * started the run, then below the previous step) holding its code, outputs and execution
 * count; the answer becomes a Markdown cell. Only cells inserted here are ever changed.
 * The browser executes nothing: the outputs are those the kernel recorded.
 */
import type { ICodeCellModel } from '@jupyterlab/cells';
import type { SharedCell } from '@jupyter/ydoc';
import type { INotebookModel, NotebookPanel } from '@jupyterlab/notebook';

import type { CodeactBridge } from '../kernel/bridge';
import type {
  CodeactEvent,
  CellMark,
  ICodeAction,
  IObservation
} from '../kernel/events';
import { replaceEarlierRun } from './again';
import { recordRun } from './history';
import type { RunModel } from '../kernel/run';

export class CellMirror {
  constructor(bridge: CodeactBridge) {
    bridge.runStarted.connect((_, run) => {
      const cells = new RunCells(run);
      run.eventReceived.connect((_, event) => cells.apply(event));
    });
  }
}

class RunCells {
  constructor(private _run: RunModel) {
    this._lastId = _run.cellId;
  }

  apply(event: CodeactEvent): void {
    const context = this._run.context;
    if (context.isDisposed) {
      return;
    }
    const model = context.model;
    switch (event.type) {
      case 'task_started':
        if (this._run.origin === 'magic' && this._run.cellId) {
          replaceEarlierRun(model, this._run.cellId, this._run.runId);
        }
        break;
      case 'code_action':
        this._insertStep(model, event);
        break;
      case 'observation':
        this._fillStep(model, event);
        break;
      case 'answer':
        this._insert(model, {
          cell_type: 'markdown',
          source: event.cut
            ? `${event.text}\n\n*(The answer was cut at the token limit.)*`
            : event.text,
          metadata: { codeact: { run_id: this._run.runId, role: 'answer' } }
        });
        break;
      case 'done':
        for (const id of this._steps.values()) {
          const cell = findCell(model, id) as ICodeCellModel | null;
          if (cell?.type === 'code' && cell.executionState === 'running') {
            cell.executionState = 'idle';
          }
        }
        recordRun(model, this._run);
        break;
      default:
        break;
    }
  }

  private _insertStep(model: INotebookModel, event: ICodeAction): void {
    const mark: CellMark = { run_id: this._run.runId, step: event.step };
    const id = this._insert(model, {
      cell_type: 'code',
      source: event.code,
      metadata: { codeact: mark },
      outputs: [],
      execution_count: null
    });
    this._steps.set(event.step, id);
    const cell = findCell(model, id) as ICodeCellModel | null;
    if (cell) {
      cell.executionState = 'running';
    }
  }

  private _fillStep(model: INotebookModel, event: IObservation): void {
    let id = this._steps.get(event.step);
    if (id === undefined || !findCell(model, id)) {
      // The step's cell is gone (or its start was missed): show the result anyway.
      this._insertStep(model, { ...event, type: 'code_action', thought: '' });
      id = this._steps.get(event.step)!;
    }
    const cell = findCell(model, id) as ICodeCellModel | null;
    if (!cell || cell.type !== 'code') {
      return;
    }
    cell.trusted = true; // outputs of this kernel, as when a cell runs
    cell.outputs.clear();
    for (const output of event.outputs) {
      cell.outputs.add(output);
    }
    cell.executionCount = event.execution_count;
    cell.executionState = 'idle';
    const mark: CellMark = {
      run_id: this._run.runId,
      step: event.step,
      status: event.status
    };
    const changes = (event as { changes_text?: string }).changes_text;
    if (changes) {
      mark.changes = changes; // the line under the cell (stepchanges.ts), kept in the file
    }
    cell.setMetadata('codeact', mark);
  }

  /** Inserts a cell below the last one of this run (at first: below the starting cell). */
  private _insert(model: INotebookModel, cell: SharedCell.Cell): string {
    const index = this._insertIndex(model);
    const shared = model.sharedModel.insertCell(index, cell);
    this._lastId = shared.getId();
    return this._lastId;
  }

  private _insertIndex(model: INotebookModel): number {
    for (const id of [this._lastId, this._run.cellId]) {
      const index = id ? cellIndex(model, id) : -1;
      if (index >= 0) {
        return index + 1;
      }
    }
    return model.cells.length;
  }

  private _lastId: string | null;
  private _steps = new Map<number, string>();
}

function cellIndex(model: INotebookModel, id: string): number {
  for (let i = 0; i < model.cells.length; i++) {
    if (model.cells.get(i).id === id) {
      return i;
    }
  }
  return -1;
}

function findCell(model: INotebookModel, id: string) {
  const index = cellIndex(model, id);
  return index >= 0 ? model.cells.get(index) : null;
}

/**
 * After a panel run, the selection goes to the run's last cell, as after running a cell,
 * so that the next task's cells land below it and runs read in the order they ran. Left
 * alone when the user selected another cell meanwhile: the next run then goes below it.
 */
export function selectRunEnd(
  panel: NotebookPanel,
  runId: string,
  startCellId: string | null
): void {
  const notebook = panel.content;
  const model = notebook.model;
  if (!model || panel.isDisposed) {
    return;
  }
  const activeId = notebook.activeCell?.model.id ?? null;
  let last = -1;
  let activeIsRuns = false;
  for (let i = 0; i < model.cells.length; i++) {
    const cell = model.cells.get(i);
    const mark = cell.getMetadata('codeact') as CellMark | undefined;
    if (mark?.run_id === runId) {
      last = i;
      activeIsRuns = activeIsRuns || cell.id === activeId;
    }
  }
  if (last >= 0 && (activeId === startCellId || activeIsRuns)) {
    notebook.activeCellIndex = last;
    notebook.deselectAll();
  }
}
