/**
 * Tells the kernel that this window mirrors runs into cells, so that the `%%codeact` cell
 * goes compact and each step's output lives once, in its step cell.
 *
 * Before a cell that runs `%%codeact` is sent, a comm is opened on the kernel's target
 * `codeact_mirror`. Both go on the shell channel, in order, so the kernel reads the
 * announcement before it runs the cell; it never waits for the browser. The kernel keeps
 * this window's session id; this window closes the comm at once. A kernel that has not loaded
 * codeact_jupyter refuses the comm, and that cell could not run `%%codeact` anyway.
 *
 * The announcement also carries the notebook as the user sees it (cells in order, Markdown,
 * outputs with printed text and errors), so that the task's context is the document, as for
 * a panel task. It is bounded in size, and left out when cells above the task still wait to
 * run (Run All): their outputs would be stale, and the kernel's own history is then used.
 * The notebook's record of its runs (`record`: marks and trace ids, no outputs) always
 * comes, so that a task cell whose run is recorded reproduces it, Run All included.
 */
import type { Kernel } from '@jupyterlab/services';
import type { JSONObject } from '@lumino/coreutils';
import {
  INotebookTracker,
  Notebook,
  NotebookActions
} from '@jupyterlab/notebook';
import type { Cell, ICodeCellModel } from '@jupyterlab/cells';

import {
  INotebookDocument,
  notebookDocument,
  IRecord,
  recordFor
} from './document';

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
      if (kernel && panel) {
        const index = notebook.widgets.indexOf(cell);
        const document = waitsAbove(notebook, index)
          ? null
          : boundedDocument({ ...notebookDocument(panel), active_cell: index });
        announce(
          kernel,
          document && {
            notebook: document,
            cell_id: cell.model.id,
            task_cell: index
          },
          recordFor(panel, cell.model.id)
        );
      }
    }
  );
}

/** The notebook sent with a task cell: its cells, and which one is the task's. */
export interface ITaskDocument {
  notebook: INotebookDocument;
  cell_id: string;
  task_cell: number;
}

export function announce(
  kernel: Kernel.IKernelConnection,
  document: ITaskDocument | null = null,
  record: IRecord | null = null
): void {
  if (!kernel.handleComms) {
    return;
  }
  try {
    const comm = kernel.createComm(MIRROR_TARGET);
    const data = (
      document ? { version: 2, ...document } : { version: 1 }
    ) as unknown as JSONObject;
    if (record) {
      data.record = record as unknown as JSONObject;
    }
    comm.open(data);
    // This window closes it: a close from the kernel would reach every window on the
    // kernel, and those that never had this comm log "Comm not found".
    comm.close();
  } catch (reason) {
    console.warn('codeact-jupyter: could not announce the cell mirror', reason);
  }
}

/** Is a code cell above ``index`` queued or running (its outputs about to change)? */
function waitsAbove(notebook: Notebook, index: number): boolean {
  return notebook.widgets
    .slice(0, Math.max(0, index))
    .some(
      cell =>
        cell.model.type === 'code' &&
        (cell.model as ICodeCellModel).executionState === 'running'
    );
}

/** Most characters of JSON sent: far more than the kernel's context budget reads. */
const MAX_DOCUMENT_CHARS = 256 * 1024;
/** Per output text, head and tail: the kernel keeps 600 characters of a cell's output. */
const OUTPUT_CHARS = 2000;

/**
 * The document within MAX_DOCUMENT_CHARS: output texts cut to their head and tail, then,
 * if still too long, the oldest cells left out (the kernel keeps the most recent anyway).
 */
export function boundedDocument(
  document: INotebookDocument
): INotebookDocument {
  const cells = document.cells.map(cell =>
    cell.outputs
      ? { ...cell, outputs: cell.outputs.map(output => cutOutput(output)) }
      : cell
  );
  let first = 0;
  let size = JSON.stringify(cells).length;
  while (size > MAX_DOCUMENT_CHARS && first < cells.length - 1) {
    size -= JSON.stringify(cells[first]).length + 1;
    first += 1;
  }
  return {
    cells: cells.slice(first),
    active_cell: document.active_cell - first,
    left_out: first
  };
}

function cutOutput<T extends { [key: string]: unknown }>(output: T): T {
  const copy: { [key: string]: unknown } = { ...output };
  if (typeof copy.text === 'string') {
    copy.text = cut(copy.text);
  }
  const data = copy.data as { [mime: string]: unknown } | undefined;
  if (data) {
    copy.data = Object.fromEntries(
      Object.entries(data).map(([mime, value]) => [
        mime,
        typeof value === 'string' ? cut(value) : value
      ])
    );
  }
  if (Array.isArray(copy.traceback)) {
    copy.traceback = (copy.traceback as string[]).slice(-20).map(cut);
  }
  return copy as T;
}

function cut(text: string): string {
  if (text.length <= OUTPUT_CHARS) {
    return text;
  }
  const half = OUTPUT_CHARS / 2;
  return `${text.slice(0, half)}\n[...]\n${text.slice(-half)}`;
}
