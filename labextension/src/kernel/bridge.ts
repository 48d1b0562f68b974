/**
 * Listens, on the kernel of every open notebook, for the comm the kernel opens per run
 * (target `codeact`) and turns its messages into RunModels. It only listens: while a run
 * goes on the kernel is busy, so nothing is ever sent back (the announcement that this
 * window mirrors runs goes before the cell runs: announce.ts).
 */
import type { DocumentRegistry } from '@jupyterlab/docregistry';
import type {
  INotebookModel,
  INotebookTracker,
  NotebookPanel
} from '@jupyterlab/notebook';
import type { KernelMessage, Kernel } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

import { COMM_TARGET, IRunHeader, isBridgeMessage } from './events';
import { RunModel } from './run';
import { keepTrace, textsOf, traceOf } from '../notebook/trace';

export class CodeactBridge {
  constructor(tracker: INotebookTracker) {
    tracker.widgetAdded.connect((_, panel) => this._watch(panel));
    tracker.forEach(panel => this._watch(panel));
  }

  /** A run began in one of the open notebooks (from the magic or the panel). */
  get runStarted(): ISignal<this, RunModel> {
    return this._runStarted;
  }

  /** The runs of a notebook since it was opened, oldest first. */
  runsOf(panel: NotebookPanel): RunModel[] {
    return this._runs.get(panel.context) ?? [];
  }

  private _watch(panel: NotebookPanel): void {
    // Views of one notebook share its context, its session and its kernel connection.
    const document = panel.context;
    if (this._runs.has(document)) {
      return;
    }
    this._runs.set(document, []);
    const context = panel.sessionContext;
    const register = (): void => {
      const kernel = context.session?.kernel;
      if (kernel) {
        kernel.registerCommTarget(COMM_TARGET, (comm, msg) =>
          this._onOpen(document, kernel, comm, msg)
        );
      }
    };
    // A restarted or dead kernel sends no more events: its running runs are over.
    const endRuns = (_: unknown, status: Kernel.Status): void => {
      if (
        status === 'restarting' ||
        status === 'autorestarting' ||
        status === 'dead'
      ) {
        this._runs.get(document)?.forEach(run => run.close());
      }
    };
    context.kernelChanged.connect(register);
    context.statusChanged.connect(endRuns);
    register();
    document.disposed.connect(() => {
      context.kernelChanged.disconnect(register);
      context.statusChanged.disconnect(endRuns);
      this._runs.delete(document);
    });
  }

  private _onOpen(
    document: DocumentRegistry.IContext<INotebookModel>,
    kernel: Kernel.IKernelConnection,
    comm: Kernel.IComm,
    msg: KernelMessage.ICommOpenMsg
  ): void {
    const parent = msg.parent_header as Partial<KernelMessage.IHeader>;
    // Only the window that sent the request mirrors the run (another window or a
    // console on the same kernel would otherwise insert the same cells twice).
    if (parent.session !== kernel.clientId) {
      return;
    }
    const header = msg.content.data as Partial<IRunHeader>;
    if (typeof header.run_id !== 'string') {
      return;
    }
    const run = new RunModel({
      header: {
        run_id: header.run_id,
        origin: header.origin === 'panel' ? 'panel' : 'magic',
        cell_id: typeof header.cell_id === 'string' ? header.cell_id : null
      },
      context: document,
      requestId: parent.msg_id ?? ''
    });
    comm.onMsg = message => {
      const data = message.content.data;
      if (isBridgeMessage(data)) {
        for (const event of data.events) {
          run.handle(event);
        }
      }
      const trace = traceOf(data);
      if (trace) {
        keepTrace(
          document.isDisposed ? null : document.model,
          run,
          trace,
          textsOf(data)
        );
      }
    };
    comm.onClose = () => run.close();
    this._runs.get(document)?.push(run);
    this._runStarted.emit(run);
  }

  private _runs = new Map<
    DocumentRegistry.IContext<INotebookModel>,
    RunModel[]
  >();
  private _runStarted = new Signal<this, RunModel>(this);
}
