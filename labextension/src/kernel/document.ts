/**
 * The notebook as the user sees it, sent with a task started from the panel so that the
 * model reads the same thing: every cell in order (Markdown included), its outputs, and
 * which cell is active. Binary payloads (images, PDFs) are replaced by an empty string:
 * the model only learns that an image is there, and the request stays small.
 */
import type * as nbformat from '@jupyterlab/nbformat';
import type { NotebookPanel } from '@jupyterlab/notebook';

export interface INotebookDocument {
  cells: IDocumentCell[];
  active_cell: number;
  /** Cells left out at the top to bound the size (announce.ts). */
  left_out?: number;
}

export interface IDocumentCell {
  id?: string;
  cell_type: string;
  source: string;
  /** Its tags: `codeact-private` keeps a cell from the model. */
  metadata?: { tags?: string[] };
  execution_count?: number | null;
  outputs?: nbformat.IOutput[];
}

/** Longest text kept per output field: the head and the tail, each half of it. */
const TEXT_LIMIT = 10000;

export function notebookDocument(panel: NotebookPanel): INotebookDocument {
  const cells: IDocumentCell[] = [];
  const model = panel.content.model;
  for (let i = 0; model && i < model.cells.length; i++) {
    const json = model.cells.get(i).toJSON();
    const cell: IDocumentCell = {
      id: model.cells.get(i).id,
      cell_type: json.cell_type,
      source: joined(json.source),
      metadata: { tags: (json.metadata?.tags as string[] | undefined) ?? [] }
    };
    if (json.cell_type === 'code') {
      const code = json as nbformat.ICodeCell;
      cell.execution_count = code.execution_count;
      cell.outputs = code.outputs.map(compactOutput);
    }
    cells.push(cell);
  }
  return { cells, active_cell: panel.content.activeCellIndex };
}

function compactOutput(output: nbformat.IOutput): nbformat.IOutput {
  const copy: nbformat.IOutput = { ...output };
  if (typeof output.text === 'string' || Array.isArray(output.text)) {
    copy.text = shorten(joined(output.text as nbformat.MultilineString));
  }
  const data = output.data as nbformat.IMimeBundle | undefined;
  if (data) {
    const compact: nbformat.IMimeBundle = {};
    for (const [mime, value] of Object.entries(data)) {
      compact[mime] = isBinary(mime)
        ? ''
        : typeof value === 'string' || Array.isArray(value)
          ? shorten(joined(value as nbformat.MultilineString))
          : value;
    }
    copy.data = compact;
  }
  return copy;
}

function isBinary(mime: string): boolean {
  return mime.startsWith('image/') || mime === 'application/pdf';
}

function joined(value: nbformat.MultilineString): string {
  return Array.isArray(value) ? value.join('') : value;
}

function shorten(text: string): string {
  if (text.length <= TEXT_LIMIT) {
    return text;
  }
  const half = TEXT_LIMIT / 2;
  return `${text.slice(0, half)}\n[...]\n${text.slice(-half)}`;
}

/**
 * What the kernel needs to tell re-running the notebook from asking again
 * (codeact_jupyter/trace/rerun.py), sent with every task cell's announcement, Run All
 * included: each cell's id and type, a step or answer cell's mark, and a task cell's trace
 * reduced to its run id and task. No outputs: it is small whatever the notebook holds.
 */
export interface IRecordCell {
  id: string;
  cell_type: string;
  source: string;
  metadata: {
    codeact?: unknown;
    codeact_trace?: { run_id: string; task: unknown; messages: [] };
  };
}

export function recordCells(panel: NotebookPanel): IRecordCell[] {
  const cells: IRecordCell[] = [];
  const model = panel.content.model;
  for (let i = 0; model && i < model.cells.length; i++) {
    const cell = model.cells.get(i);
    const mark = cell.getMetadata('codeact');
    const trace = cell.getMetadata('codeact_trace') as
      | { run_id?: unknown; task?: unknown }
      | undefined;
    const record: IRecordCell = {
      id: cell.id,
      cell_type: cell.type,
      source: typeof trace?.run_id === 'string' ? cell.sharedModel.getSource() : '',
      metadata: {}
    };
    if (mark !== undefined) {
      record.metadata.codeact = mark;
    }
    if (typeof trace?.run_id === 'string') {
      record.metadata.codeact_trace = {
        run_id: trace.run_id,
        task: trace.task,
        messages: []
      };
    }
    cells.push(record);
  }
  return cells;
}
