/**
 * Conversations in the side panel. A task sent from the panel continues the notebook's
 * current conversation (the kernel keeps its transcript): that of the latest run shown,
 * whether the panel or a `%%codeact` cell started it, until "New conversation" is pressed.
 * The runs are shown as threads: consecutive runs of one conversation together.
 */
import type { NotebookPanel } from '@jupyterlab/notebook';
import * as React from 'react';

import type { RunModel } from '../kernel/run';

/** Which conversation a notebook's next panel task continues. */
export class Conversations {
  /** The notebook's current conversation, or null: the next task starts a new one. */
  current(notebook: NotebookPanel | null, runs: RunModel[]): string | null {
    const last = latest(runs);
    if (!notebook || !last || this._newAfter.get(notebook) === last.runId) {
      return null;
    }
    return last.conversationId;
  }

  /** The next task of this notebook starts a new conversation. */
  startNew(notebook: NotebookPanel | null, runs: RunModel[]): void {
    if (notebook) {
      this._newAfter.set(notebook, latest(runs)?.runId ?? '');
    }
  }

  /** The run after which "New conversation" was pressed, per notebook. */
  private _newAfter = new WeakMap<NotebookPanel, string>();
}

function latest(runs: RunModel[]): RunModel | undefined {
  return [...runs].reverse().find(run => run.conversationId);
}

interface IThreadsProps {
  runs: RunModel[];
  current: string | null;
  renderRun: (run: RunModel) => JSX.Element;
}

/** The runs, grouped into threads; the current one is marked, and a new one announced. */
export function Threads({
  runs,
  current,
  renderRun
}: IThreadsProps): JSX.Element {
  const groups: RunModel[][] = [];
  for (const run of runs) {
    const group = groups[groups.length - 1];
    if (
      group &&
      (group[0].conversationId === run.conversationId || !run.conversationId)
    ) {
      group.push(run);
    } else {
      groups.push([run]);
    }
  }
  return (
    <>
      {groups.map(group => {
        const id = group[0].conversationId;
        const isCurrent = id !== '' && id === current;
        return (
          <div
            key={group[0].runId}
            className="jp-codeact-thread"
            data-conversation-id={id}
            data-current={isCurrent ? 'true' : 'false'}
          >
            <div className="jp-codeact-threadHeader">
              {isCurrent ? 'Conversation' : 'Earlier conversation'} ·{' '}
              {group.length} task{group.length === 1 ? '' : 's'}
              {isCurrent && ' · the next task continues it'}
            </div>
            {group.map(renderRun)}
          </div>
        );
      })}
      {runs.length > 0 && current === null && (
        <div className="jp-codeact-threadNew">
          New conversation: the next task starts fresh.
        </div>
      )}
    </>
  );
}
