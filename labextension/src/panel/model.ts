/**
 * The side panel's state: the active notebook and its kernel, that notebook's runs, the
 * task in flight, and a pending input request. It starts a task with one execute request
 * (the loop runs in the kernel), answers the kernel's input requests, and stops a task by
 * interrupting the kernel.
 */
import type { ISessionContext } from '@jupyterlab/apputils';
import type { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import type { Kernel, KernelMessage } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

import type { CodeactBridge } from '../kernel/bridge';
import { callKernel } from '../kernel/call';
import { CONFIRM_PROMPT_PREFIX } from '../kernel/events';
import { notebookDocument } from '../kernel/document';
import {
  IRunCells,
  panelTrace,
  recordedCells,
  removeRunCells
} from '../notebook/again';
import { selectRunEnd } from '../notebook/cells';
import { IHistoryEntry, readHistory } from '../notebook/history';
import { ManifestModel } from './manifest';
import type { RunModel } from '../kernel/run';
import { RunUndo } from '../notebook/undo';
import { Conversations } from './thread';

/** The user's settings (schema/plugin.json); empty values leave the kernel's own. */
export interface ISettings {
  backend: string;
  model: string;
  endpoint: string;
  turnLimit: number;
  confirm: boolean;
  /** What of the notebook a task sends: all, cells, vars or none. */
  context: string;
  /** code or tools ('': the kernel's). */
  actions: string;
  /** A model profile's name, or auto ('': the kernel's). */
  profile: string;
}

export const DEFAULT_SETTINGS: ISettings = {
  backend: '',
  model: '',
  endpoint: '',
  turnLimit: 0,
  confirm: false,
  context: 'all',
  actions: '',
  profile: ''
};

export type KernelState =
  'no-notebook' | 'no-kernel' | 'starting' | 'idle' | 'busy' | 'dead';

/** An input request of the kernel, waiting for the panel's answer. */
export interface IPendingInput {
  prompt: string;
  password: boolean;
  /** A step confirmation: answered with run, skip or stop. */
  isConfirm: boolean;
}

type ExecuteFuture = Kernel.IShellFuture<
  KernelMessage.IExecuteRequestMsg,
  KernelMessage.IExecuteReplyMsg
>;

export class PanelModel {
  constructor(tracker: INotebookTracker, bridge: CodeactBridge) {
    this._bridge = bridge;
    this.undo = new RunUndo(tracker, bridge);
    this.undo.changed.connect(this._emit, this);
    // An undo changed the kernel's variables and the notebook's cells: so did the context.
    this.undo.finished.connect(() => this.manifest.markStale());
    bridge.runStarted.connect(this._onRunStarted, this);
    tracker.currentChanged.connect((_, panel) => this._setNotebook(panel));
    this._setNotebook(tracker.currentWidget);
  }

  /** What the next task would send, and the parts the user unticked (manifest.tsx). */
  readonly manifest = new ManifestModel(() => {
    const kernel = this._notebook?.sessionContext.session?.kernel;
    return kernel ? { kernel, request: this._request('') } : null;
  });

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Undo of runs, and the lines under step cells saying what each step changed. */
  readonly undo: RunUndo;

  get settings(): ISettings {
    return this._settings;
  }
  set settings(value: ISettings) {
    this._settings = value;
    this.manifest.markStale();
    this._changed.emit();
  }

  get notebook(): NotebookPanel | null {
    return this._notebook;
  }

  get kernelState(): KernelState {
    const context = this._notebook?.sessionContext;
    if (!context) {
      return 'no-notebook';
    }
    const kernel = context.session?.kernel;
    if (!kernel) {
      return context.isReady || context.hasNoKernel ? 'no-kernel' : 'starting';
    }
    switch (kernel.status) {
      case 'idle':
        return 'idle';
      case 'busy':
        return 'busy';
      case 'dead':
        return 'dead';
      default:
        return 'starting';
    }
  }

  /** This notebook's runs since it was opened, oldest first. */
  get runs(): RunModel[] {
    return this._notebook ? this._bridge.runsOf(this._notebook) : [];
  }

  /** Tasks of earlier sessions, from the notebook's metadata. */
  get history(): IHistoryEntry[] {
    const shown = new Set(this.runs.map(run => run.runId));
    return readHistory(this._notebook?.content.model ?? null).filter(
      entry => !shown.has(entry.run_id)
    );
  }

  /** The conversation the next panel task continues; null: it starts a new one. */
  get conversationId(): string | null {
    return this._conversations.current(this._notebook, this.runs);
  }

  /** The next task starts a new conversation ("New conversation"). */
  newConversation(): void {
    this._conversations.startNew(this._notebook, this.runs);
    this._changed.emit();
  }

  get activeRun(): RunModel | null {
    return this.runs.find(run => run.isRunning) ?? null;
  }

  /** A panel task was sent and its execute request has not finished. */
  get isSending(): boolean {
    return this._future !== null;
  }

  get pendingInput(): IPendingInput | null {
    return this._pending;
  }

  /** Why the last panel request failed in the kernel, outside the agent's own errors. */
  get requestError(): string | null {
    return this._requestError;
  }

  get canStart(): boolean {
    return this.kernelState === 'idle' && !this.isSending && !this.activeRun;
  }

  /**
   * Run again (asking again, README "Re-running a notebook"): the earlier panel run's cells
   * make way, except those the user edited since (as undo keeps them), and the same task
   * runs anew in their place, as a new conversation (its answer may differ). The earlier
   * run's variables are left to the new run, which redefines what it needs.
   */
  async runAgain(runId: string, task: string): Promise<void> {
    const panel = this._notebook;
    const model = panel?.content.model;
    if (!panel || !model || !this.canStart || !task.trim()) {
      return;
    }
    const live = this.runs.find(run => run.runId === runId);
    const trace = panelTrace(model, runId);
    const inserted: IRunCells = live
      ? {
          answer: live.answer,
          codes: new Map(live.steps.map(step => [step.step, step.code]))
        }
      : trace
        ? recordedCells(trace)
        : { answer: null, codes: new Map() };
    const { first } = removeRunCells(model, runId, inserted);
    if (first >= 0) {
      // The new cells go where the old ones were: below the cell above them.
      panel.content.activeCellIndex = Math.max(0, first - 1);
    }
    this._again = true;
    try {
      await this.startTask(task);
    } finally {
      this._again = false;
    }
  }

  /** Start a task in the active notebook's kernel; resolves when the kernel is done. */
  async startTask(task: string): Promise<void> {
    const panel = this._notebook;
    const kernel = panel?.sessionContext.session?.kernel;
    if (!panel || !kernel || !task.trim() || !this.canStart) {
      return;
    }
    const request = {
      ...this._request(task),
      exclude: this.manifest.excluded(),
      conversation: this._again ? 'new' : (this.conversationId ?? 'new')
    };
    const activeCell = panel.content.activeCell;
    const startCellId = activeCell?.model.id ?? null;
    const known = new Set(this.runs.map(run => run.runId));
    const future = callKernel(
      kernel,
      'run_panel_task',
      request,
      { allow_stdin: true, stop_on_error: false },
      activeCell ? { cellId: activeCell.model.id } : {}
    );
    this._future = future;
    this._requestError = null;
    future.onStdin = msg => this._onStdin(future, msg);
    future.onReply = msg => this._onReply(msg);
    this._changed.emit();
    try {
      await future.done;
    } catch (reason) {
      this._requestError = `The kernel did not finish the task: ${reason}`;
    } finally {
      if (this._future === future) {
        this._future = null;
        this._pending = null;
        this._reply = null;
      }
      const run = this.runs.find(
        r => r.origin === 'panel' && !known.has(r.runId)
      );
      if (run) {
        selectRunEnd(panel, run.runId, startCellId);
      }
      this.manifest.markStale();
      this._changed.emit();
    }
  }

  /** Stop the running task: answer "stop" to a pending confirmation, else interrupt. */
  stop(): void {
    if (this._pending?.isConfirm) {
      this.answerInput('stop');
      return;
    }
    void this._notebook?.sessionContext.session?.kernel?.interrupt();
  }

  answerInput(value: string): void {
    const reply = this._reply;
    this._pending = null;
    this._reply = null;
    if (reply) {
      reply(value);
    }
    this._changed.emit();
  }

  dispose(): void {
    this.manifest.dispose();
    Signal.clearData(this);
  }

  /** The request a task sends (panel.run_panel_task), without the unticked parts. */
  private _request(task: string): Record<string, unknown> {
    const { backend, model, endpoint, turnLimit, confirm, context, actions, profile } =
      this._settings;
    return {
      task: task.trim(),
      settings: {
        backend,
        model,
        base_url: endpoint,
        max_turns: turnLimit > 0 ? turnLimit : null,
        confirm,
        context,
        actions,
        profile
      },
      notebook: this._notebook ? notebookDocument(this._notebook) : null
    };
  }

  private _setNotebook(panel: NotebookPanel | null): void {
    const old = this._notebook?.sessionContext;
    if (old) {
      old.statusChanged.disconnect(this._emit, this);
      old.kernelChanged.disconnect(this._emit, this);
      old.connectionStatusChanged.disconnect(this._emit, this);
    }
    this._notebook = panel;
    this.manifest.reset();
    const context: ISessionContext | undefined = panel?.sessionContext;
    if (context) {
      context.statusChanged.connect(this._emit, this);
      context.kernelChanged.connect(this._emit, this);
      context.connectionStatusChanged.connect(this._emit, this);
      void context.ready.then(() => this._emit());
    }
    this._emit();
  }

  private _onRunStarted(_: CodeactBridge, run: RunModel): void {
    run.changed.connect(this._emit, this);
    this._emit();
  }

  private _onStdin(
    future: ExecuteFuture,
    msg: KernelMessage.IStdinMessage
  ): void {
    if (msg.header.msg_type !== 'input_request') {
      return;
    }
    const request = msg as KernelMessage.IInputRequestMsg;
    const content = request.content;
    this._pending = {
      prompt: content.prompt,
      password: content.password,
      isConfirm: content.prompt.startsWith(CONFIRM_PROMPT_PREFIX)
    };
    this._reply = value =>
      future.sendInputReply({ status: 'ok', value }, request.header);
    this._changed.emit();
  }

  private _onReply(msg: KernelMessage.IExecuteReplyMsg): void {
    const content = msg.content;
    if (content.status === 'error') {
      this._requestError =
        content.ename === 'ModuleNotFoundError'
          ? `This kernel cannot run CodeAct tasks (${content.evalue}). ` +
            "Install codeact-jupyter in the kernel's environment."
          : `${content.ename}: ${content.evalue}`;
    }
  }

  private _emit(): void {
    this._changed.emit();
  }

  private _again = false;
  private _bridge: CodeactBridge;
  private _notebook: NotebookPanel | null = null;
  private _settings: ISettings = DEFAULT_SETTINGS;
  private _future: ExecuteFuture | null = null;
  private _pending: IPendingInput | null = null;
  private _reply: ((value: string) => void) | null = null;
  private _requestError: string | null = null;
  private _conversations = new Conversations();
  private _changed = new Signal<this, void>(this);
}
