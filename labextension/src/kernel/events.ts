/**
 * What the kernel sends over the `codeact` comm: batches of a run's events,
 * `{run_id, origin, cell_id, events: [...]}`, where each event is `Event.to_dict()` of
 * codeact_jupyter/events.py (the model's text in increments; a long answer that the
 * turn's streamed text holds comes as `from_stream`, a slice of it). The browser only
 * mirrors these; it never answers them.
 */
import type * as nbformat from '@jupyterlab/nbformat';

/** The comm target the kernel opens one comm on per run. */
export const COMM_TARGET = 'codeact';

/** The prompt of the kernel's input request that asks to confirm a step. */
export const CONFIRM_PROMPT_PREFIX = 'codeact confirm';

export type Origin = 'magic' | 'panel';

export interface IRunHeader {
  run_id: string;
  origin: Origin;
  /** The id of the cell that started the run (JupyterLab's `cellId`), if known. */
  cell_id: string | null;
}

export interface IBridgeMessage extends IRunHeader {
  events: CodeactEvent[];
}

export interface ITaskStarted {
  type: 'task_started';
  run_id: string;
  task: string;
  backend: string;
  /** Tasks of one conversation share it (a follow-up continues the transcript). */
  conversation_id?: string;
}

export interface ITurnStarted {
  type: 'turn_started';
  turn: number;
}

export interface ITextDelta {
  type: 'text_delta';
  text: string;
}

export interface ICodeAction {
  type: 'code_action';
  step: number;
  code: string;
  thought: string;
}

export type StepStatus = 'ok' | 'error' | 'timeout' | 'interrupted' | 'skipped';

export interface IObservation {
  type: 'observation';
  step: number;
  code: string;
  text: string;
  status: StepStatus;
  outputs: nbformat.IOutput[];
  execution_count: number | null;
}

export interface ITurnStats {
  type: 'turn_stats';
  turn: number;
  prompt_tokens: number | null;
  evaluated_tokens: number | null;
  generated_tokens: number | null;
  tokens_per_second: number | null;
}

/** A reply's reasoning: shown collapsed, never run, never the answer. */
export interface IThinking {
  type: 'thinking';
  turn: number;
  text: string;
  chars: number;
  /** The token limit ended the reply mid-thought. */
  cut: boolean;
}

/** The model reads this many new prompt tokens before it writes (a local model). */
export interface IReadingPrompt {
  type: 'reading_prompt';
  tokens: number;
}

export interface INotice {
  type: 'notice';
  text: string;
}

export interface IAnswer {
  type: 'answer';
  text: string;
  /** The answer is this slice (UTF-16 offsets) of the turn's streamed text. */
  from_stream?: [number, number];
  /** The reply hit the token limit: the answer may be incomplete. */
  cut?: boolean;
}

export interface IError {
  type: 'error';
  message: string;
}

export type DoneReason =
  'answered' | 'turn_limit' | 'stopped' | 'error' | 'out_of_replies';

export interface IDone {
  type: 'done';
  reason: DoneReason;
  turns: number;
}

export type CodeactEvent =
  | ITaskStarted
  | ITurnStarted
  | ITextDelta
  | ICodeAction
  | IObservation
  | ITurnStats
  | IThinking
  | INotice
  | IReadingPrompt
  | IAnswer
  | IError
  | IDone;

/** Metadata the extension puts on the cells it inserts (`cell.metadata.codeact`). */
export type CellMark = {
  run_id: string;
  step?: number;
  role?: 'answer';
  status?: StepStatus;
  /** What the step changed in the kernel, as the kernel words it ("defined: x (int)"). */
  changes?: string;
};

/** True for a well-formed bridge message (the comm carries untyped JSON). */
export function isBridgeMessage(data: unknown): data is IBridgeMessage {
  if (typeof data !== 'object' || data === null) {
    return false;
  }
  const message = data as Partial<IBridgeMessage>;
  return (
    typeof message.run_id === 'string' &&
    Array.isArray(message.events) &&
    message.events.every(
      event =>
        typeof event === 'object' &&
        event !== null &&
        typeof (event as { type?: unknown }).type === 'string'
    )
  );
}
