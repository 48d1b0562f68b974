/**
 * The side panel's view (React). It renders PanelModel and RunModels; every action goes
 * through PanelModel.
 */
import { ReactWidget, UseSignal } from '@jupyterlab/apputils';
import { IRenderMimeRegistry, MimeModel } from '@jupyterlab/rendermime';
import * as React from 'react';

import type { IHistoryEntry } from './history';
import type { IPendingInput, ISettings, KernelState, PanelModel } from './model';
import type { RunItem, RunModel } from './run';

export class CodeactView extends ReactWidget {
  constructor(
    private _model: PanelModel,
    private _rendermime: IRenderMimeRegistry,
    private _openSettings: () => void
  ) {
    super();
    this.addClass('jp-codeact-view');
  }

  protected render(): JSX.Element {
    return (
      <UseSignal signal={this._model.changed}>
        {() => (
          <PanelView
            model={this._model}
            rendermime={this._rendermime}
            openSettings={this._openSettings}
          />
        )}
      </UseSignal>
    );
  }
}

interface IViewProps {
  model: PanelModel;
  rendermime: IRenderMimeRegistry;
  openSettings: () => void;
}

function PanelView({ model, rendermime, openSettings }: IViewProps): JSX.Element {
  const runs = model.runs;
  const history = model.history;
  const scroller = React.useRef<HTMLDivElement>(null);
  React.useLayoutEffect(() => {
    const node = scroller.current;
    if (node && model.activeRun) {
      node.scrollTop = node.scrollHeight; // follow the task as it streams
    }
  });
  return (
    <div className="jp-codeact-panel">
      <div className="jp-codeact-header">
        <span className="jp-codeact-title">CodeAct</span>
        <span className="jp-codeact-modelLine" title={describeSettings(model.settings)}>
          {describeSettings(model.settings)}
        </span>
        <button className="jp-codeact-settingsButton" title="CodeAct settings" onClick={openSettings}>
          Settings
        </button>
      </div>
      <Status state={model.kernelState} idleRun={!model.activeRun && !model.isSending} />
      {model.requestError && (
        <div className="jp-codeact-error jp-codeact-requestError">{model.requestError}</div>
      )}
      <div className="jp-codeact-conversation" ref={scroller}>
        {runs.length === 0 && history.length === 0 && <EmptyState openSettings={openSettings} />}
        {history.length > 0 && <History entries={history} />}
        {runs.map(run => (
          <RunView
            key={run.runId}
            run={run}
            rendermime={rendermime}
            confirming={run.isRunning && !!model.pendingInput?.isConfirm}
          />
        ))}
      </div>
      {model.pendingInput && (
        <InputBar
          pending={model.pendingInput}
          step={model.activeRun?.steps.slice(-1)[0]?.step ?? null}
          answer={value => model.answerInput(value)}
        />
      )}
      <TaskBox model={model} />
    </div>
  );
}

const STATUS_TEXT: Partial<Record<KernelState, string>> = {
  'no-notebook': 'Open a notebook: tasks run in the kernel of the active notebook.',
  'no-kernel': 'This notebook has no kernel. Select a kernel to run tasks.',
  starting: 'The kernel is starting…',
  dead: 'The kernel is dead. Restart it to run tasks.',
  busy: 'The kernel is busy. A task can start when it is idle (or interrupt it).'
};

function Status({ state, idleRun }: { state: KernelState; idleRun: boolean }): JSX.Element | null {
  const text = STATUS_TEXT[state];
  if (!text || (state === 'busy' && !idleRun)) {
    return null;
  }
  return (
    <div className="jp-codeact-status" data-state={state}>
      {text}
    </div>
  );
}

function EmptyState({ openSettings }: { openSettings: () => void }): JSX.Element {
  return (
    <div className="jp-codeact-empty">
      <p>
        Describe a task below. The model writes Python, it runs in this notebook's kernel,
        and each step appears as a cell below the active cell.
      </p>
      <p className="jp-codeact-emptyTitle">Choose a model in the settings:</p>
      <ul>
        <li>
          <b>Backend</b>: <code>llama</code> (a local GGUF file), <code>openai</code> (any
          OpenAI-compatible endpoint) or <code>replay</code> (a JSON file of replies).
        </li>
        <li>
          <b>Model</b>: the .gguf path, the model name, or the replay file.
        </li>
        <li>
          <b>Endpoint</b>: the base URL of an OpenAI-compatible server, e.g.
          <code>http://127.0.0.1:8080/v1</code>.
        </li>
      </ul>
      <p>No API key is stored here: the kernel reads OPENAI_API_KEY from its environment.</p>
      <button className="jp-codeact-button" onClick={openSettings}>
        Open CodeAct settings
      </button>
    </div>
  );
}

function History({ entries }: { entries: IHistoryEntry[] }): JSX.Element {
  return (
    <details className="jp-codeact-history">
      <summary>Earlier tasks in this notebook ({entries.length})</summary>
      {entries.map(entry => (
        <div key={entry.run_id} className="jp-codeact-historyEntry" data-reason={entry.reason}>
          <div className="jp-codeact-task">{entry.task}</div>
          <div className="jp-codeact-historyResult">
            {entry.answer ?? DONE_TEXT[entry.reason] ?? entry.reason}
          </div>
        </div>
      ))}
    </details>
  );
}

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

interface IRunProps {
  run: RunModel;
  rendermime: IRenderMimeRegistry;
  /** The kernel waits for Run, Skip or Stop on the run's latest step. */
  confirming: boolean;
}

function RunView({ run, rendermime, confirming }: IRunProps): JSX.Element {
  const status = run.done ? run.done.reason : 'running';
  const last = run.items.length - 1;
  return (
    <div className="jp-codeact-run" data-run-id={run.runId} data-status={status} data-origin={run.origin}>
      <div className="jp-codeact-task">
        {run.origin === 'magic' && <span className="jp-codeact-origin">%%codeact</span>}
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
          : 'Working…'}
      </div>
    </div>
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
      return item.text ? <div className="jp-codeact-text">{item.text}</div> : null;
    case 'step':
      return (
        <div className="jp-codeact-step" data-step={item.step} data-status={item.status}>
          <div className="jp-codeact-stepHeader">
            Step {item.step}
            <span className="jp-codeact-badge">
              {confirming ? 'waiting for you' : (STEP_TEXT[item.status] ?? item.status)}
            </span>
          </div>
          <pre className="jp-codeact-code">{item.code}</pre>
          {item.observation && <pre className="jp-codeact-observation">{item.observation}</pre>}
        </div>
      );
    case 'notice':
      return <div className="jp-codeact-notice">{item.text}</div>;
    case 'answer':
      return <Markdown className="jp-codeact-answer" text={item.text} rendermime={rendermime} />;
    case 'error':
      return <div className="jp-codeact-error">{item.text}</div>;
  }
}

function Markdown(props: { text: string; className: string; rendermime: IRenderMimeRegistry }): JSX.Element {
  const { text, rendermime } = props;
  const host = React.useRef<HTMLDivElement>(null);
  React.useEffect(() => {
    const renderer = rendermime.createRenderer('text/markdown');
    void renderer.renderModel(new MimeModel({ data: { 'text/markdown': text } }));
    host.current?.appendChild(renderer.node);
    return () => renderer.dispose();
  }, [text, rendermime]);
  return <div className={props.className} ref={host} />;
}

function InputBar(props: {
  pending: IPendingInput;
  step: number | null;
  answer: (value: string) => void;
}): JSX.Element {
  const { pending, step, answer } = props;
  const [value, setValue] = React.useState('');
  if (pending.isConfirm) {
    return (
      <div className="jp-codeact-confirm">
        <span>{step === null ? 'Run this step?' : `Run step ${step}?`}</span>
        <button className="jp-codeact-button jp-mod-accept" onClick={() => answer('run')}>Run</button>
        <button className="jp-codeact-button" onClick={() => answer('skip')}>Skip</button>
        <button className="jp-codeact-button jp-mod-warn" onClick={() => answer('stop')}>Stop</button>
      </div>
    );
  }
  return (
    <form className="jp-codeact-input" onSubmit={event => { event.preventDefault(); answer(value); }}>
      <label>{pending.prompt || 'The kernel asks for input:'}</label>
      <input type={pending.password ? 'password' : 'text'} value={value} autoFocus onChange={event => setValue(event.target.value)} />
    </form>
  );
}

function TaskBox({ model }: { model: PanelModel }): JSX.Element {
  const [task, setTask] = React.useState('');
  const running = model.activeRun !== null || model.isSending;
  const send = (): void => {
    if (model.canStart && task.trim()) {
      void model.startTask(task);
      setTask('');
    }
  };
  return (
    <div className="jp-codeact-taskBox">
      <textarea
        className="jp-codeact-taskInput"
        placeholder="Describe a task (Enter sends, Shift+Enter adds a line)"
        value={task}
        disabled={model.kernelState === 'no-notebook'}
        onChange={event => setTask(event.target.value)}
        onKeyDown={event => {
          if (event.key === 'Enter' && !event.shiftKey) {
            event.preventDefault();
            send();
          }
        }}
      />
      {running ? (
        <button className="jp-codeact-button jp-codeact-stop jp-mod-warn" onClick={() => model.stop()}>
          Stop
        </button>
      ) : (
        <button
          className="jp-codeact-button jp-codeact-send jp-mod-accept"
          disabled={!model.canStart || !task.trim()}
          onClick={send}
        >
          Send
        </button>
      )}
    </div>
  );
}

function describeSettings(settings: ISettings): string {
  const backend = settings.backend || (settings.endpoint ? 'openai' : '');
  const parts = [backend || "kernel's default backend", settings.model || "kernel's default model"];
  if (settings.endpoint) {
    parts.push(settings.endpoint);
  }
  if (settings.confirm) {
    parts.push('confirm steps');
  }
  return parts.join(' · ');
}
