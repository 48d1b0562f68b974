/**
 * How a run looks in the side panel: the task, the model's streamed text, each step with
 * its result, notices, errors and the answer (rendered Markdown). Also the notebook's
 * earlier tasks.
 */
import { IRenderMimeRegistry, MimeModel } from '@jupyterlab/rendermime';
import * as React from 'react';

import type { IHistoryEntry } from '../notebook/history';
import type { RunItem, RunModel } from '../kernel/run';
import type { DocumentRegistry } from '@jupyterlab/docregistry';
import type { INotebookModel } from '@jupyterlab/notebook';

import type { RunUndo } from '../notebook/undo';
import { UndoBar } from './undoview';
import { VerifyButton } from './verify';

const DONE_TEXT: Record<string, string> = {
  answered: 'Answered',
  turn_limit: 'Stopped at the turn limit',
  stopped: 'Stopped',
  error: 'Ended with an error',
  out_of_replies: 'The replay file ran out of replies'
};

const STEP_TEXT: Record<string, string> = {
  running: 'running…',
  ok: 'done',
  error: 'error',
  timeout: 'timed out',
  interrupted: 'interrupted',
  skipped: 'skipped'
};

export interface IRunProps {
  run: RunModel;
  rendermime: IRenderMimeRegistry;
  /** Asks again: the run's cells make way for a new run of its task (panel runs). */
  runAgain?: (runId: string, task: string) => void;
  /** The kernel waits for Run, Skip or Stop on the run's latest step. */
  confirming: boolean;
  undo?: RunUndo;
}

export function RunView({
  run,
  rendermime,
  confirming,
  undo,
  runAgain
}: IRunProps): JSX.Element {
  const status = run.done ? run.done.reason : 'running';
  const last = run.items.length - 1;
  return (
    <div
      className="jp-codeact-run"
      data-run-id={run.runId}
      data-status={status}
      data-origin={run.origin}
    >
      <div className="jp-codeact-task">
        {run.origin === 'magic' && (
          <span className="jp-codeact-origin">%%codeact</span>
        )}
        {run.task}
      </div>
      {run.backend && <div className="jp-codeact-backend">{run.backend}</div>}
      {run.items.map((item, index) => (
        <Item
          key={index}
          item={item}
          rendermime={rendermime}
          confirming={confirming && index === last}
        />
      ))}
      <div className="jp-codeact-runFooter">
        {run.done
          ? `${DONE_TEXT[run.done.reason] ?? run.done.reason} · ${run.done.turns} turn${run.done.turns === 1 ? '' : 's'}`
          : run.reading !== null
            ? `Reading the prompt: ${run.reading.toLocaleString('en')} new tokens…`
            : 'Working…'}
        {' · run '}
        <span className="jp-codeact-runId">{run.runId}</span>
      </div>
      {/* A run that changed nothing (no step ran, no answer cell) has nothing to undo or verify. */}
      <div className="jp-codeact-actions">
        {undo && run.done && (run.steps.length > 0 || run.answer !== null) && (
          <UndoBar target={run} undo={undo} />
        )}
        {run.done && run.steps.length > 0 && (
          <VerifyButton context={run.context} />
        )}
        {run.done && run.origin === 'panel' && runAgain && (
          <RunAgainButton onClick={() => runAgain(run.runId, run.task)} />
        )}
      </div>
    </div>
  );
}

function RunAgainButton({ onClick }: { onClick: () => void }): JSX.Element {
  return (
    <button
      className="jp-codeact-button jp-codeact-runAgain"
      title="Ask the model again: this run's cells make way (those you edited stay) and the task runs anew in their place"
      onClick={onClick}
    >
      Run again
    </button>
  );
}

function Item(props: {
  item: RunItem;
  rendermime: IRenderMimeRegistry;
  confirming: boolean;
}): JSX.Element | null {
  const { item, rendermime, confirming } = props;
  switch (item.kind) {
    case 'text':
      return item.text ? (
        <div className="jp-codeact-text">{item.text}</div>
      ) : null;
    case 'step':
      return (
        <div
          className="jp-codeact-step"
          data-step={item.step}
          data-status={item.status}
        >
          <div className="jp-codeact-stepHeader">
            Step {item.step}
            <span className="jp-codeact-badge">
              {confirming
                ? 'waiting for you'
                : (STEP_TEXT[item.status] ?? item.status)}
            </span>
          </div>
          <pre className="jp-codeact-code">{item.code}</pre>
          {item.observation && (
            <pre className="jp-codeact-observation">{item.observation}</pre>
          )}
        </div>
      );
    case 'thinking':
      return (
        <details className="jp-codeact-thinking">
          <summary>
            Thinking ({item.chars.toLocaleString('en')} characters
            {item.cut ? ', cut at the token limit' : ''}; never run)
          </summary>
          <pre>{item.text}</pre>
        </details>
      );
    case 'notice':
      return <div className="jp-codeact-notice">{item.text}</div>;
    case 'answer':
      return (
        <Markdown
          className="jp-codeact-answer"
          text={item.text}
          rendermime={rendermime}
        />
      );
    case 'error':
      return <div className="jp-codeact-error">{item.text}</div>;
  }
}

function Markdown(props: {
  text: string;
  className: string;
  rendermime: IRenderMimeRegistry;
}): JSX.Element {
  const { text, rendermime } = props;
  const host = React.useRef<HTMLDivElement>(null);
  React.useEffect(() => {
    const renderer = rendermime.createRenderer('text/markdown');
    void renderer.renderModel(
      new MimeModel({ data: { 'text/markdown': text } })
    );
    host.current?.appendChild(renderer.node);
    return () => renderer.dispose();
  }, [text, rendermime]);
  return <div className={props.className} ref={host} />;
}

/**
 * The notebook's earlier tasks, from its records: each keeps its Undo (while the kernel
 * that ran it lives) and Verify, as it had when it ran. Open when nothing ran since.
 */
export function History(props: {
  entries: IHistoryEntry[];
  rendermime: IRenderMimeRegistry;
  context: DocumentRegistry.IContext<INotebookModel> | null;
  undo: RunUndo;
  open: boolean;
  runAgain?: (runId: string, task: string) => void;
}): JSX.Element {
  const { entries, rendermime, context, undo, open, runAgain } = props;
  return (
    <details className="jp-codeact-history" open={open}>
      <summary>Earlier tasks in this notebook ({entries.length})</summary>
      {entries.map(entry => (
        <div
          key={entry.run_id}
          className="jp-codeact-historyEntry"
          data-reason={entry.reason}
          data-run-id={entry.run_id}
          data-undone={entry.undone ? 'true' : 'false'}
        >
          <div className="jp-codeact-task">{entry.task}</div>
          {entry.answer !== null ? (
            <Markdown
              className="jp-codeact-historyResult"
              text={entry.answer}
              rendermime={rendermime}
            />
          ) : (
            <div className="jp-codeact-historyResult">
              {DONE_TEXT[entry.reason] ?? entry.reason}
            </div>
          )}
          <div className="jp-codeact-runFooter">
            {entry.undone ? 'Undone · ' : ''}
            {entry.steps} step{entry.steps === 1 ? '' : 's'}
            {' · run '}
            <span className="jp-codeact-runId">{entry.run_id}</span>
          </div>
          <div className="jp-codeact-actions">
            {context && (entry.steps > 0 || entry.answer !== null) && (
              <UndoBar
                target={{ runId: entry.run_id, context }}
                undo={undo}
                earlier={{ undone: !!entry.undone }}
              />
            )}
            {context && entry.steps > 0 && <VerifyButton context={context} />}
            {entry.origin === 'panel' && !entry.undone && runAgain && (
              <RunAgainButton
                onClick={() => runAgain(entry.run_id, entry.task)}
              />
            )}
          </div>
        </div>
      ))}
    </details>
  );
}
