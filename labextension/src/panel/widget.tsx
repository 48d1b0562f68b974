/**
 * The side panel's view (React). It renders PanelModel and RunModels; every action goes
 * through PanelModel.
 */
import { ReactWidget, UseSignal } from '@jupyterlab/apputils';
import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import * as React from 'react';

import type {
  IPendingInput,
  ISettings,
  KernelState,
  PanelModel
} from './model';
import { History, RunView } from './runview';
import { ManifestView } from './manifest';
import { SaveSetting, SettingsForm } from './settingsform';
import { Threads } from './thread';

/** How the panel's settings form stores what the user chooses. */
export interface ISettingsStore {
  save: SaveSetting;
  storedIn: string;
  settingsEditor: () => (() => void) | null;
}

export class CodeactView extends ReactWidget {
  constructor(
    private _model: PanelModel,
    private _rendermime: IRenderMimeRegistry,
    private _store: ISettingsStore
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
            store={this._store}
          />
        )}
      </UseSignal>
    );
  }
}

interface IViewProps {
  model: PanelModel;
  rendermime: IRenderMimeRegistry;
  store: ISettingsStore;
}

function PanelView({ model, rendermime, store }: IViewProps): JSX.Element {
  const runs = model.runs;
  const history = model.history;
  const [showSettings, setShowSettings] = React.useState(false);
  const openSettings = (): void => setShowSettings(true);
  const scroller = React.useRef<HTMLDivElement>(null);
  const following = React.useRef<string | null>(null);
  React.useLayoutEffect(() => {
    const node = scroller.current;
    const active = model.activeRun?.runId ?? null;
    // Follow the task as it streams, and once more when it ends: what finished (the
    // answer, the error) is then in view, not below the fold.
    if (node && (active || following.current)) {
      node.scrollTop = node.scrollHeight;
    }
    following.current = active;
  });
  return (
    <div className="jp-codeact-panel">
      <div className="jp-codeact-header">
        <span className="jp-codeact-title">CodeAct</span>
        <span
          className="jp-codeact-modelLine"
          title={describeSettings(model.settings)}
        >
          {describeSettings(model.settings)}
        </span>
        <button
          className="jp-codeact-button jp-codeact-newConversation"
          title="The next task starts a new conversation"
          disabled={model.conversationId === null || !!model.activeRun}
          onClick={() => model.newConversation()}
        >
          New conversation
        </button>
        <button
          className="jp-codeact-button jp-codeact-settingsButton"
          title="Backend, model, endpoint and how tasks run"
          aria-expanded={showSettings}
          onClick={() => setShowSettings(!showSettings)}
        >
          Settings
        </button>
      </div>
      {showSettings && (
        <SettingsForm
          settings={model.settings}
          save={store.save}
          kernel={model.notebook?.sessionContext.session?.kernel ?? null}
          storedIn={store.storedIn}
          openEditor={store.settingsEditor()}
          close={() => setShowSettings(false)}
        />
      )}
      <Status
        state={model.kernelState}
        idleRun={!model.activeRun && !model.isSending}
      />
      {model.requestError && (
        <div className="jp-codeact-error jp-codeact-requestError">
          {model.requestError}
        </div>
      )}
      <div className="jp-codeact-conversation" ref={scroller}>
        {runs.length === 0 && history.length === 0 && (
          <EmptyState openSettings={openSettings} />
        )}
        {history.length > 0 && (
          <History
            entries={history}
            rendermime={rendermime}
            context={model.notebook?.context ?? null}
            undo={model.undo}
            open={runs.length === 0}
            runAgain={
              model.canStart
                ? (runId, task) => void model.runAgain(runId, task)
                : undefined
            }
          />
        )}
        <Threads
          runs={runs}
          current={model.conversationId}
          renderRun={run => (
            <RunView
              key={run.runId}
              run={run}
              rendermime={rendermime}
              confirming={run.isRunning && !!model.pendingInput?.isConfirm}
              undo={model.undo}
              runAgain={
                model.canStart
                  ? (runId, task) => void model.runAgain(runId, task)
                  : undefined
              }
            />
          )}
        />
      </div>
      {model.pendingInput && (
        <InputBar
          pending={model.pendingInput}
          step={model.activeRun?.steps.slice(-1)[0]?.step ?? null}
          answer={value => model.answerInput(value)}
        />
      )}
      <ManifestView
        model={model.manifest}
        kernelReady={model.canStart}
        inConversation={model.conversationId !== null}
      />
      <TaskBox model={model} />
    </div>
  );
}

const STATUS_TEXT: Partial<Record<KernelState, string>> = {
  'no-notebook':
    'Open a notebook: tasks run in the kernel of the active notebook.',
  'no-kernel': 'This notebook has no kernel. Select a kernel to run tasks.',
  starting: 'The kernel is starting…',
  dead: 'The kernel is dead. Restart it to run tasks.',
  busy: 'The kernel is busy. A task can start when it is idle (or interrupt it).'
};

function Status({
  state,
  idleRun
}: {
  state: KernelState;
  idleRun: boolean;
}): JSX.Element | null {
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

function EmptyState({
  openSettings
}: {
  openSettings: () => void;
}): JSX.Element {
  return (
    <div className="jp-codeact-empty">
      <p>
        Describe a task below. The model writes Python, it runs in this
        notebook's kernel, and each step appears as a cell below the active
        cell.
      </p>
      <p className="jp-codeact-emptyTitle">Choose a model in the settings:</p>
      <ul>
        <li>
          <b>Backend</b>: <code>llama</code> (a local GGUF file),{' '}
          <code>openai</code> (any OpenAI-compatible endpoint) or{' '}
          <code>replay</code> (a JSON file of replies).
        </li>
        <li>
          <b>Model</b>: the .gguf path, the model name, or the replay file.
        </li>
        <li>
          <b>Endpoint</b>: the base URL of an OpenAI-compatible server, e.g.
          <code>http://127.0.0.1:8080/v1</code>.
        </li>
      </ul>
      <p>
        No API key is stored here: the kernel reads OPENAI_API_KEY from its
        environment.
      </p>
      <button className="jp-codeact-button" onClick={openSettings}>
        Open CodeAct settings
      </button>
    </div>
  );
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
        <button
          className="jp-codeact-button jp-mod-accept"
          onClick={() => answer('run')}
        >
          Run
        </button>
        <button className="jp-codeact-button" onClick={() => answer('skip')}>
          Skip
        </button>
        <button
          className="jp-codeact-button jp-mod-warn"
          onClick={() => answer('stop')}
        >
          Stop
        </button>
      </div>
    );
  }
  return (
    <form
      className="jp-codeact-input"
      onSubmit={event => {
        event.preventDefault();
        answer(value);
      }}
    >
      <label>{pending.prompt || 'The kernel asks for input:'}</label>
      <input
        type={pending.password ? 'password' : 'text'}
        value={value}
        autoFocus
        onChange={event => setValue(event.target.value)}
      />
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
        <button
          className="jp-codeact-button jp-codeact-stop jp-mod-warn"
          onClick={() => model.stop()}
        >
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
  const parts = [
    backend || "kernel's default backend",
    settings.model || "kernel's default model"
  ];
  if (settings.endpoint) {
    parts.push(settings.endpoint);
  }
  if (settings.confirm) {
    parts.push('confirm steps');
  }
  return parts.join(' · ');
}
