/**
 * Tells the kernel that this window mirrors runs into cells, so that the `%%codeact` cell
 * goes compact and each step's output lives once, in its step cell.
 *
 * Before a cell that runs `%%codeact` is sent, a comm is opened on the kernel's target
 * `codeact_mirror`. Both go on the shell channel, in order, so the kernel reads the
 * announcement before it runs the cell; it never waits for the browser. The kernel keeps
 * this window's session id and closes the comm. A kernel that has not loaded
 * codeact_jupyter refuses the comm, and that cell could not run `%%codeact` anyway.
 */
import type { Kernel } from '@jupyterlab/services';
import {
  INotebookTracker,
  Notebook,
  NotebookActions
} from '@jupyterlab/notebook';
import type { Cell } from '@jupyterlab/cells';

export const MIRROR_TARGET = 'codeact_mirror';

/** A cell that runs the magic: `%%codeact`, `%codeact`, or `run_cell_magic('codeact', ...)`. */
const RUNS_CODEACT = /(^|\n)\s*%%?codeact\b|_magic\(\s*['"]codeact['"]/;

export function runsCodeact(source: string): boolean {
  return RUNS_CODEACT.test(source);
}

/** Announce this window to the kernel before each cell that runs the magic. */
export function announceBeforeTasks(tracker: INotebookTracker): void {
  NotebookActions.executionScheduled.connect(
    (_, args: { notebook: Notebook; cell: Cell }) => {
      const { notebook, cell } = args;
      if (
        cell.model.type !== 'code' ||
        !runsCodeact(cell.model.sharedModel.getSource())
      ) {
        return;
      }
      const panel = tracker.find(widget => widget.content === notebook);
      const kernel = panel?.sessionContext.session?.kernel;
      if (kernel) {
        announce(kernel);
      }
    }
  );
}

export function announce(kernel: Kernel.IKernelConnection): void {
  if (!kernel.handleComms) {
    return;
  }
  try {
    const comm = kernel.createComm(MIRROR_TARGET);
    comm.open({ version: 1 });
  } catch (reason) {
    console.warn('codeact-jupyter: could not announce the cell mirror', reason);
  }
}
