/**
 * Undo in JupyterLab, and what each step changed.
 *
 * - The side panel's Undo button sends an execute request that calls
 *   `codeact_jupyter.panel.undo_run`; the kernel puts its namespace back and
 *   prints what it did, which the panel shows under the run.
 * - Whoever asked for the undo (the button or `%codeact undo` in a cell), the kernel then
 *   opens a comm on target `codeact_undo` with the run's id, its steps' code and its
 *   answer, and closes it at once (it never waits). The window that sent the request
 *   removes the cells it inserted for that run, keeping those the user edited since.
 * - It also shows, under each step's cell, what the step changed (stepchanges.ts).
 */
import { Notification } from '@jupyterlab/apputils';
import type { DocumentRegistry } from '@jupyterlab/docregistry';
import type {
  INotebookModel,
  INotebookTracker,
  NotebookPanel
} from '@jupyterlab/notebook';
import type { Kernel, KernelMessage } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

import type { CodeactBridge } from '../kernel/bridge';
import { callKernel } from '../kernel/call';
import type { CellMark, CodeactEvent } from '../kernel/events';
import type { RunModel } from '../kernel/run';
import { showStepChanges } from './stepchanges';

export const UNDO_COMM_TARGET = 'codeact_undo';
const CUT_NOTE = '\n\n*(The answer was cut at the token limit.)*';

/** What the kernel sends on `codeact_undo` once it has undone a run. */
interface IUndone {
  run_id: string;
  answer: string | null;
  steps: { step: number; code: string }[];
}

/** A run's undo, as the panel shows it. */
export interface IUndoState {
  busy: boolean;
  /** This window removed the run's cells: the kernel undid it. */
  undone: boolean;
  /** What the kernel printed (the namespace part). */
  kernelText: string;
  /** What happened to the run's cells in this window. */
  cellsText: string;
}

export class RunUndo {
  constructor(
    private _tracker: INotebookTracker,
    bridge: CodeactBridge
  ) {
    _tracker.widgetAdded.connect((_, panel) => this._watch(panel));
    _tracker.forEach(panel => this._watch(panel));
    bridge.runStarted.connect((_, run) =>
      run.eventReceived.connect((_, event) => this._onEvent(run, event))
    );
  }

  /** An undo started or finished (the panel re-renders). */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  stateOf(runId: string): IUndoState | null {
    return this._states.get(runId) ?? null;
  }

  /** Ask the run's kernel to undo it (the panel's Undo button). */
  async undo(run: RunModel): Promise<void> {
    const kernel = run.context.sessionContext.session?.kernel;
    if (!kernel || this._states.get(run.runId)?.busy) {
      return;
    }
    const state = this._state(run.runId);
    state.busy = true;
    state.kernelText = '';
    this._changed.emit();
    const future = callKernel(
      kernel,
      'undo_run',
      { run_id: run.runId },
      { stop_on_error: false }
    );
    future.onIOPub = msg => {
      if (msg.header.msg_type === 'stream') {
        state.kernelText += (msg as KernelMessage.IStreamMsg).content.text;
      } else if (msg.header.msg_type === 'error') {
        const content = (msg as KernelMessage.IErrorMsg).content;
        state.kernelText += `${content.ename}: ${content.evalue}`;
      }
    };
    try {
      await future.done;
    } catch (reason) {
      state.kernelText += `The kernel did not finish the undo: ${reason}`;
    } finally {
      state.busy = false;
      this._changed.emit();
    }
  }

  private _state(runId: string): IUndoState {
    let state = this._states.get(runId);
    if (!state) {
      state = { busy: false, undone: false, kernelText: '', cellsText: '' };
      this._states.set(runId, state);
    }
    return state;
  }

  private _watch(panel: NotebookPanel): void {
    const context = panel.sessionContext;
    const register = (): void => {
      const kernel = context.session?.kernel;
      if (kernel && !this._kernels.has(kernel)) {
        this._kernels.add(kernel);
        kernel.registerCommTarget(UNDO_COMM_TARGET, (comm, msg) =>
          this._onUndone(panel.context, kernel, msg)
        );
      }
    };
    context.kernelChanged.connect(register);
    register();
    panel.disposed.connect(() => context.kernelChanged.disconnect(register));
  }

  private _onUndone(
    document: DocumentRegistry.IContext<INotebookModel>,
    kernel: Kernel.IKernelConnection,
    msg: KernelMessage.ICommOpenMsg
  ): void {
    const parent = msg.parent_header as Partial<KernelMessage.IHeader>;
    const data = msg.content.data as Partial<IUndone>;
    // Only the window that asked removes cells (it is the one that inserted them).
    if (parent.session !== kernel.clientId || typeof data.run_id !== 'string') {
      return;
    }
    const text = this._removeCells(document, {
      run_id: data.run_id,
      answer: typeof data.answer === 'string' ? data.answer : null,
      steps: Array.isArray(data.steps) ? data.steps : []
    });
    const state = this._state(data.run_id);
    state.cellsText = text;
    state.undone = true;
    this._changed.emit();
    Notification.info(`CodeAct undo of run ${data.run_id}: ${text}`, {
      autoClose: 8000
    });
  }

  /** Removes the run's cells whose source is as it was inserted; says what it did. */
  private _removeCells(
    document: DocumentRegistry.IContext<INotebookModel>,
    undone: IUndone
  ): string {
    const model = document.model;
    const browserRun = this._runs.get(undone.run_id);
    const expected = (mark: CellMark): string[] => {
      if (mark.role === 'answer') {
        const answer = undone.answer ?? browserRun?.answer ?? null;
        return answer === null ? [] : [answer, answer + CUT_NOTE];
      }
      const step =
        undone.steps.find(s => s.step === mark.step) ??
        browserRun?.steps.find(s => s.step === mark.step);
      return step ? [step.code] : [];
    };
    const remove: number[] = [];
    const kept: string[] = [];
    for (let i = 0; i < model.cells.length; i++) {
      const cell = model.cells.get(i);
      const mark = cell.getMetadata('codeact') as CellMark | undefined;
      if (!mark || mark.run_id !== undone.run_id) {
        continue;
      }
      if (expected(mark).includes(cell.sharedModel.getSource())) {
        remove.push(i);
      } else {
        kept.push(mark.role === 'answer' ? 'the answer' : `step ${mark.step}`);
      }
    }
    model.sharedModel.transact(() => {
      for (const index of remove.reverse()) {
        model.sharedModel.deleteCell(index);
      }
    });
    const removed =
      remove.length === 0
        ? 'no cells of this run were in the notebook.'
        : `removed the ${remove.length} cell${remove.length === 1 ? '' : 's'} it inserted.`;
    return kept.length
      ? `${removed} Kept the cell${kept.length === 1 ? '' : 's'} you edited since: ${kept.join(', ')}.`
      : removed;
  }

  private _onEvent(run: RunModel, event: CodeactEvent): void {
    this._runs.set(run.runId, run);
    if (event.type === 'observation') {
      showStepChanges(this._tracker, run, event);
    }
  }

  private _kernels = new WeakSet<Kernel.IKernelConnection>();
  private _runs = new Map<string, RunModel>();
  private _states = new Map<string, IUndoState>();
  private _changed = new Signal<this, void>(this);
}
