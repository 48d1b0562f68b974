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
    codeact_trace?: { run_id: string; task: unknown; messages: [] } | ITraceJSON;
  };
}

type ITraceJSON = { run_id?: unknown; earlier?: { run_id?: unknown } } & {
  [key: string]: unknown;
};

/** The record sent with a task cell: its cells, and what its own run's trace needs. */
export interface IRecord {
  cell_id: string;
  cells: IRecordCell[];
  /** The task cell's traces and texts (recordFor): the notebook's metadata, in part. */
  metadata?: {
    codeact_traces?: ITraceJSON[];
    codeact_texts?: { [key: string]: string };
  };
}

/** Most characters of the task cell's own trace, its conversation and their texts. */
const MAX_TRACE_CHARS = 512 * 1024;

/**
 * The record of the notebook for task cell `cellId`: every cell's id, type and mark, each
 * task cell's trace reduced to its run id and task, and, whole (lean, trace/lean.py), the
 * trace of this task cell with the earlier traces of its conversation and the texts they
 * share, so that when re-running reproduces it the kernel can continue its conversation
 * (`%%codeact -c`). Left out, when larger than MAX_TRACE_CHARS.
 */
export function recordFor(panel: NotebookPanel, cellId: string): IRecord {
  const record: IRecord = { cell_id: cellId, cells: recordCells(panel) };
  const model = panel.content.model;
  if (!model) {
    return record;
  }
  const byRun = new Map<unknown, { trace: ITraceJSON; cellId: string | null }>();
  for (let i = 0; i < model.cells.length; i++) {
    const cell = model.cells.get(i);
    const trace = cell.getMetadata('codeact_trace') as ITraceJSON | undefined;
    if (trace && typeof trace === 'object') {
      byRun.set(trace.run_id, { trace, cellId: cell.id });
    }
  }
  const listed = model.getMetadata('codeact_traces');
  for (const trace of Array.isArray(listed) ? (listed as ITraceJSON[]) : []) {
    if (trace && typeof trace === 'object' && !byRun.has(trace.run_id)) {
      byRun.set(trace.run_id, { trace, cellId: null });
    }
  }
  const own = [...byRun.values()].find(entry => entry.cellId === cellId);
  if (!own) {
    return record;
  }
  const chain = [own];
  for (let next = own.trace.earlier?.run_id; chain.length < 100; ) {
    const found = byRun.get(next);
    if (!found || chain.includes(found)) {
      break;
    }
    chain.push(found);
    next = found.trace.earlier?.run_id;
  }
  const table = (model.getMetadata('codeact_texts') ?? {}) as {
    [key: string]: string;
  };
  const texts: { [key: string]: string } = {};
  const collect = (value: unknown): void => {
    if (Array.isArray(value)) {
      value.forEach(collect);
    } else if (value && typeof value === 'object') {
      const ref = (value as { ref?: unknown }).ref;
      if (typeof ref === 'string' && typeof table[ref] === 'string') {
        texts[ref] = table[ref];
      }
      Object.values(value).forEach(collect);
    }
  };
  chain.forEach(entry => collect(entry.trace));
  const size =
    JSON.stringify(chain.map(entry => entry.trace)).length +
    JSON.stringify(texts).length;
  if (size > MAX_TRACE_CHARS) {
    return record;
  }
  const inCells = new Map(
    chain.filter(e => e.cellId !== null).map(e => [e.cellId, e.trace])
  );
  for (const cell of record.cells) {
    const trace = inCells.get(cell.id);
    if (trace) {
      cell.metadata.codeact_trace = trace;
    }
  }
  record.metadata = {
    codeact_traces: chain.filter(e => e.cellId === null).map(e => e.trace),
    codeact_texts: texts
  };
  return record;
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
