/**
 * The context manifest: what the next panel task would send, shown before it is sent.
 * Collapsed it is one line ("Context: 14 cells, 9 variables, 2,310 tokens, 1 secret
 * withheld"); open, it lists each cell, output and variable, and the user can untick
 * parts: unticked parts are left out of the next task. The kernel builds the manifest
 * (codeact_jupyter/agent/preview.py, through panel.context_manifest); this only
 * renders it and remembers the unticked keys.
 */
import { NotebookActions } from '@jupyterlab/notebook';
import type { Kernel, KernelMessage } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';
import * as React from 'react';

import { callKernel } from '../kernel/call';

export const MANIFEST_MIME = 'application/vnd.codeact.manifest+json';

/** One part of the context (context.ContextPart in the kernel). */
export interface IManifestPart {
  kind: 'source' | 'output' | 'error' | 'variable' | 'note';
  key: string;
  label: string;
  text: string;
  tokens: number;
  cut: string;
  redacted: number;
  sent: boolean;
  block: string;
}

export interface IManifest {
  summary: string;
  rough: string;
  tokens: number;
  withheld: number;
  system_tokens: number;
  parts: IManifestPart[];
}

/** Where a manifest is asked: the kernel and the request a task would send. */
export interface IManifestSource {
  kernel: Kernel.IKernelConnection;
  request: Record<string, unknown>;
}

export class ManifestModel {
  constructor(private _source: () => IManifestSource | null) {
    // A cell that ran may have changed the cells and variables.
    NotebookActions.executed.connect(this.markStale, this);
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }
  get manifest(): IManifest | null {
    return this._manifest;
  }
  get error(): string | null {
    return this._error;
  }
  get loading(): boolean {
    return this._loading;
  }
  get stale(): boolean {
    return this._stale;
  }
  get expanded(): boolean {
    return this._expanded;
  }
  set expanded(value: boolean) {
    this._expanded = value;
    this._changed.emit();
  }

  /** The keys the user unticked, sent with the task as "exclude". */
  excluded(): string[] {
    return [...this._unticked];
  }

  isTicked(key: string): boolean {
    return !this._unticked.has(key);
  }

  toggle(key: string): void {
    if (this._unticked.has(key)) {
      this._unticked.delete(key);
    } else {
      this._unticked.add(key);
    }
    this.markStale(); // the kernel recounts what is left
  }

  markStale(): void {
    this._stale = true;
    this._changed.emit();
  }

  /** Another notebook: nothing of the last one's manifest applies. */
  reset(): void {
    this._manifest = null;
    this._error = null;
    this._unticked.clear();
    this.markStale();
  }

  /** Ask the kernel for the manifest (one execute request, no history, no cell). */
  async refresh(): Promise<void> {
    const source = this._source();
    if (!source || this._loading) {
      return;
    }
    this._loading = true;
    this._stale = false;
    this._changed.emit();
    const request = { ...source.request, exclude: this.excluded() };
    let manifest: IManifest | null = null;
    let error: string | null = null;
    try {
      const future = callKernel(source.kernel, 'context_manifest', request, {
        allow_stdin: false,
        stop_on_error: false
      });
      future.onIOPub = msg => {
        if (msg.header.msg_type === 'display_data') {
          const content =
            msg.content as KernelMessage.IDisplayDataMsg['content'];
          const data = content.data[MANIFEST_MIME];
          if (data) {
            manifest = data as unknown as IManifest;
          }
        }
      };
      const reply = await future.done;
      if (reply && reply.content.status === 'error') {
        const content = reply.content as KernelMessage.IReplyErrorContent;
        error = `The context could not be read: ${content.ename}: ${content.evalue}`;
      }
    } catch (reason) {
      error = `The context could not be read: ${reason}`;
    }
    this._manifest = manifest ?? this._manifest;
    this._error = error;
    this._loading = false;
    this._changed.emit();
  }

  dispose(): void {
    NotebookActions.executed.disconnect(this.markStale, this);
    Signal.clearData(this);
  }

  private _manifest: IManifest | null = null;
  private _error: string | null = null;
  private _loading = false;
  private _stale = true;
  private _expanded = false;
  private _unticked = new Set<string>();
  private _changed = new Signal<this, void>(this);
}

/** The manifest above the task box; it asks the kernel when it is stale and idle. */
export function ManifestView(props: {
  model: ManifestModel;
  kernelReady: boolean;
  /** A conversation is under way: what it already sent stays in it. */
  inConversation?: boolean;
}): JSX.Element | null {
  const { model, kernelReady, inConversation } = props;
  const [, setVersion] = React.useState(0);
  React.useEffect(() => {
    const update = (): void => setVersion(v => v + 1);
    model.changed.connect(update);
    return () => {
      model.changed.disconnect(update);
    };
  }, [model]);
  React.useEffect(() => {
    if (kernelReady && model.stale && !model.loading) {
      void model.refresh();
    }
  });
  const manifest = model.manifest;
  if (!manifest && !model.error && !kernelReady) {
    return null;
  }
  const summary = manifest
    ? manifest.summary
    : (model.error ?? 'Context: reading the notebook…');
  return (
    <div className="jp-codeact-manifest" data-loading={model.loading}>
      <div className="jp-codeact-manifestHeader">
        <button
          className="jp-codeact-manifestSummary"
          aria-expanded={model.expanded}
          title="What the next task sends to the model: untick what it should not see"
          onClick={() => (model.expanded = !model.expanded)}
        >
          {model.expanded ? '▾ ' : '▸ '}
          {summary}
        </button>
        <button
          className="jp-codeact-manifestRefresh"
          title="Read the context again"
          disabled={!kernelReady || model.loading}
          onClick={() => void model.refresh()}
        >
          ↻
        </button>
      </div>
      {model.error && manifest && (
        <div className="jp-codeact-error">{model.error}</div>
      )}
      {model.expanded && manifest && (
        <div className="jp-codeact-manifestParts">
          <div className="jp-codeact-manifestNote">
            System prompt: {manifest.system_tokens.toLocaleString()} tokens.{' '}
            {manifest.rough}
          </div>
          {inConversation && (
            <div className="jp-codeact-manifestNote jp-codeact-manifestSentStays">
              Unticking leaves a part out of what the next task adds; what this
              conversation already sent stays in it. New conversation starts
              without it.
            </div>
          )}
          {manifest.parts.map(part => (
            <PartRow key={part.key} part={part} model={model} />
          ))}
        </div>
      )}
    </div>
  );
}

function PartRow(props: {
  part: IManifestPart;
  model: ManifestModel;
}): JSX.Element {
  const { part, model } = props;
  if (part.kind === 'note') {
    const note = part.cut ? `${part.text} (${part.cut})` : part.text;
    return <div className="jp-codeact-manifestNote">{note}</div>;
  }
  // Private cells and parts cut for length cannot be ticked back in from here.
  const fixed = !part.sent && part.cut !== 'unticked';
  const ticked = !fixed && model.isTicked(part.key);
  const label = part.kind === 'error' ? `${part.label} (error)` : part.label;
  const facts = [
    part.sent ? `${part.tokens.toLocaleString()} tokens` : '',
    part.cut && part.cut !== 'unticked' ? part.cut : '',
    part.redacted
      ? `${part.redacted} ${part.redacted === 1 ? 'value' : 'values'} redacted`
      : ''
  ].filter(Boolean);
  return (
    <label
      className="jp-codeact-manifestPart"
      data-key={part.key}
      data-kind={part.kind}
      title={part.text}
    >
      <input
        type="checkbox"
        checked={ticked}
        disabled={fixed}
        onChange={() => model.toggle(part.key)}
      />
      <span className="jp-codeact-manifestLabel">{label}</span>
      <span className="jp-codeact-manifestFacts">{facts.join(' · ')}</span>
    </label>
  );
}
