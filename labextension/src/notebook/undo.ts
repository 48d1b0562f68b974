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
 * - An earlier run (from the notebook's records, after a reload) is undone the same way,
 *   while the kernel that ran it lives: `panel.undo_states` says which runs it can still
 *   undo, and why not, for the panel's disabled buttons.
 * - The window that removes the cells marks the run as undone in the notebook's records
 *   (history.ts), so a reload shows it so.
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
import { recordUndone } from './history';

export const UNDO_COMM_TARGET = 'codeact_undo';
const CUT_NOTE = '\n\n*(The answer was cut at the token limit.)*';

/** What the kernel sends on `codeact_undo` once it has undone a run. */
interface IUndone {
  run_id: string;
  answer: string | null;
  steps: { step: number; code: string }[];
}

/** What undo needs of a run: its id and its notebook (a live run, or an earlier one). */
export interface IUndoTarget {
  runId: string;
  context: DocumentRegistry.IContext<INotebookModel>;
}

const UNDO_STATES_MIME = 'application/vnd.codeact.undo-states+json';

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
  constructor(tracker: INotebookTracker, bridge: CodeactBridge) {
    tracker.widgetAdded.connect((_, panel) => this._watch(panel));
    tracker.forEach(panel => this._watch(panel));
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

  /** An undo finished (the panel refreshes what the next task would send). */
  get finished(): ISignal<this, string> {
    return this._finished;
  }

  /**
   * Why this kernel cannot undo an earlier run (null: it can; undefined: not asked yet).
   * Asked once per kernel and run, when the panel first shows the run.
   */
  reasonOf(target: IUndoTarget): string | null | undefined {
    const kernel = target.context.sessionContext.session?.kernel;
    if (!kernel) {
      return 'The notebook has no kernel.';
    }
    const key = `${kernel.id}:${kernel.clientId}:${target.runId}`;
    if (!this._asked.has(key)) {
      this._asked.add(key);
      void this._askStates(kernel, target.runId, key);
    }
    return this._reasons.get(key);
  }

  /** Ask the run's kernel to undo it (the panel's Undo button). */
  async undo(run: IUndoTarget): Promise<void> {
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
      this._finished.emit(run.runId);
    }
  }

  private async _askStates(
    kernel: Kernel.IKernelConnection,
    runId: string,
    key: string
  ): Promise<void> {
    const future = callKernel(
      kernel,
      'undo_states',
      { run_ids: [runId] },
      { stop_on_error: false }
    );
    future.onIOPub = msg => {
      if (msg.header.msg_type !== 'display_data') {
        return;
      }
      const data = (msg as KernelMessage.IDisplayDataMsg).content.data[
        UNDO_STATES_MIME
      ] as Record<string, string | null> | undefined;
      if (data && runId in data) {
        this._reasons.set(key, data[runId]);
      }
    };
    try {
      await future.done;
    } catch {
      // An old kernel-side package without undo_states: say so on the button.
    }
    if (!this._reasons.has(key)) {
      this._reasons.set(
        key,
        "This kernel's codeact-jupyter cannot tell whether the run can be undone."
      );
    }
    this._changed.emit();
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
    // A restarted kernel holds no run: ask again what it can undo.
    const forget = (_: unknown, status: Kernel.Status): void => {
      if (status === 'restarting' || status === 'autorestarting') {
        this._asked.clear();
        this._reasons.clear();
        this._changed.emit();
      }
    };
    context.kernelChanged.connect(register);
    context.statusChanged.connect(forget);
    register();
    panel.disposed.connect(() => {
      context.kernelChanged.disconnect(register);
      context.statusChanged.disconnect(forget);
    });
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
    recordUndone(document.isDisposed ? null : document.model, data.run_id);
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
  }

  private _asked = new Set<string>();
  private _reasons = new Map<string, string | null>();
  private _finished = new Signal<this, string>(this);
  private _kernels = new WeakSet<Kernel.IKernelConnection>();
  private _runs = new Map<string, RunModel>();
  private _states = new Map<string, IUndoState>();
  private _changed = new Signal<this, void>(this);
}
