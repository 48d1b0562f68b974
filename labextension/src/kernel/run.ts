/**
 * One run of the agent as the browser sees it: built from the events the kernel sends,
 * in order. Views (the side panel, the cell mirror) read it and listen to its signals.
 */
import type { DocumentRegistry } from '@jupyterlab/docregistry';
import type { INotebookModel } from '@jupyterlab/notebook';
import { ISignal, Signal } from '@lumino/signaling';

import type {
  CodeactEvent,
  IDone,
  IRunHeader,
  Origin,
  StepStatus
} from './events';

/** What the panel shows of a run, in the order it happened. */
export type RunItem =
  | { kind: 'text'; text: string }
  | {
      kind: 'step';
      step: number;
      code: string;
      status: StepStatus | 'running';
      observation: string;
    }
  | { kind: 'thinking'; text: string; chars: number; cut: boolean }
  | { kind: 'notice'; text: string }
  | { kind: 'answer'; text: string }
  | { kind: 'error'; text: string };

export type StepItem = Extract<RunItem, { kind: 'step' }>;

export class RunModel {
  constructor(options: RunModel.IOptions) {
    this.runId = options.header.run_id;
    this.origin = options.header.origin;
    this.cellId = options.header.cell_id;
    this.context = options.context;
    this.requestId = options.requestId;
  }

  readonly runId: string;
  readonly origin: Origin;
  /** The cell that started the run: the `%%codeact` cell, or the active cell for the panel. */
  readonly cellId: string | null;
  /** The notebook document (shared by all its views). */
  readonly context: DocumentRegistry.IContext<INotebookModel>;
  /** The msg_id of the execute request the run belongs to. */
  readonly requestId: string;

  task = '';
  backend = '';
  /** The kernel's conversation this run belongs to ('' before it started). */
  conversationId = '';
  items: RunItem[] = [];
  done: IDone | null = null;
  /** New prompt tokens the model is reading now (null once it writes). */
  reading: number | null = null;

  get isRunning(): boolean {
    return this.done === null;
  }

  /** Each event, after the run's state took it in. */
  get eventReceived(): ISignal<this, CodeactEvent> {
    return this._eventReceived;
  }

  /** The run's state changed (the panel re-renders). */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get steps(): StepItem[] {
    return this.items.filter((item): item is StepItem => item.kind === 'step');
  }

  get answer(): string | null {
    const item = this.items.find(item => item.kind === 'answer');
    return item ? item.text : null;
  }

  handle(event: CodeactEvent): void {
    if (this.done) {
      return;
    }
    if (event.type === 'turn_started') {
      this._turnText = '';
    } else if (event.type === 'text_delta') {
      this._turnText += event.text;
    } else if (event.type === 'answer' && event.from_stream) {
      const [start, end] = event.from_stream;
      event = { type: 'answer', text: this._turnText.slice(start, end), cut: event.cut };
    }
    this._apply(event);
    this._eventReceived.emit(event);
    this._changed.emit();
  }

  /** The kernel closed the run's comm; a run that never said it was done ended abruptly. */
  close(): void {
    if (this.done) {
      return;
    }
    this.handle({
      type: 'error',
      message:
        'The task ended without finishing (see the output of the cell that ran it).'
    });
    this.handle({ type: 'done', reason: 'error', turns: 0 });
  }

  private _apply(event: CodeactEvent): void {
    if (event.type !== 'reading_prompt' && event.type !== 'turn_started') {
      this.reading = null; // the model writes (or the run moved on): it has read the prompt
    }
    switch (event.type) {
      case 'reading_prompt':
        this.reading = event.tokens;
        break;
      case 'task_started':
        this.task = event.task;
        this.backend = event.backend;
        this.conversationId = event.conversation_id ?? '';
        break;
      case 'turn_started':
        this.items.push({ kind: 'text', text: '' });
        break;
      case 'text_delta': {
        const last = this.items[this.items.length - 1];
        if (last && last.kind === 'text') {
          last.text += event.text;
        } else {
          this.items.push({ kind: 'text', text: event.text });
        }
        break;
      }
      case 'code_action':
        // The streamed reply held the code; from now on the step shows it.
        this._replaceStreamedText(event.thought);
        this.items.push({
          kind: 'step',
          step: event.step,
          code: event.code,
          status: 'running',
          observation: ''
        });
        break;
      case 'observation': {
        const step = this.steps.find(item => item.step === event.step);
        if (step) {
          step.status = event.status;
          step.observation = event.text;
        }
        break;
      }
      case 'thinking':
        // The streamed text held the thinking: it is shown collapsed instead, and what
        // the reply did (its thought, step or answer) fills the text item after it.
        this._replaceStreamedText('');
        this.items.push({
          kind: 'thinking',
          text: event.text,
          chars: event.chars,
          cut: event.cut
        });
        this.items.push({ kind: 'text', text: '' });
        break;
      case 'notice':
        this.items.push({ kind: 'notice', text: event.text });
        break;
      case 'answer':
        this._replaceStreamedText('');
        this.items.push({ kind: 'answer', text: event.text });
        break;
      case 'error':
        this.items.push({ kind: 'error', text: event.message });
        break;
      case 'done':
        this.done = event;
        for (const step of this.steps) {
          if (step.status === 'running') {
            step.status = 'interrupted';
          }
        }
        break;
      default:
        break;
    }
  }

  private _replaceStreamedText(text: string): void {
    const last = this.items[this.items.length - 1];
    if (!last || last.kind !== 'text') {
      return;
    }
    if (text.trim()) {
      last.text = text;
    } else {
      this.items.pop();
    }
  }

  /** The current turn's streamed text (a long answer is a slice of it). */
  private _turnText = '';
  private _eventReceived = new Signal<this, CodeactEvent>(this);
  private _changed = new Signal<this, void>(this);
}

export namespace RunModel {
  export interface IOptions {
    header: IRunHeader;
    context: DocumentRegistry.IContext<INotebookModel>;
    requestId: string;
  }
}
