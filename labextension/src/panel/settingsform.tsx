/**
 * The panel's own settings form: backend, model, endpoint, context and how steps run,
 * stored through the setting registry (so JupyterLab's Settings Editor shows the same
 * values, and Notebook 7, which has no Settings Editor, can change them too). The backend
 * is a choice list of what the kernel can use, plugins included.
 */
import type { Kernel, KernelMessage } from '@jupyterlab/services';
import * as React from 'react';

import { callKernel } from '../kernel/call';
import type { ISettings } from './model';

const BACKENDS_MIME = 'application/vnd.codeact.backends+json';
const BUILT_IN_BACKENDS = ['llama', 'openai', 'replay'];

export type SaveSetting = <K extends keyof ISettings>(
  key: K,
  value: ISettings[K]
) => Promise<void>;

interface IChoice {
  value: string;
  label: string;
}

const CONTEXT_CHOICES: IChoice[] = [
  { value: 'all', label: 'all: cells and variables' },
  { value: 'cells', label: 'cells only' },
  { value: 'vars', label: 'variables only' },
  { value: 'none', label: 'nothing of the notebook' }
];
const ACTION_CHOICES: IChoice[] = [
  { value: '', label: "the kernel's default (code)" },
  { value: 'code', label: 'code: Python in <execute> blocks' },
  { value: 'tools', label: 'tools: a declared python tool' }
];
const PROFILE_CHOICES: IChoice[] = [
  '',
  'auto',
  'codeact',
  'qwen3',
  'deepseek-r1',
  'gpt-oss',
  'llama3',
  'generic'
].map(value => ({
  value,
  label: value === '' ? "the kernel's default (auto)" : value
}));

export function SettingsForm(props: {
  settings: ISettings;
  save: SaveSetting;
  kernel: Kernel.IKernelConnection | null;
  /** Where the values are kept, said under the form. */
  storedIn: string;
  openEditor: (() => void) | null;
  close: () => void;
}): JSX.Element {
  const { settings, save, kernel, storedIn, openEditor, close } = props;
  const backends = useBackendNames(kernel);
  const [error, setError] = React.useState('');
  const set = <K extends keyof ISettings>(key: K, value: ISettings[K]): void => {
    setError('');
    save(key, value).catch(reason =>
      setError(`The setting was not saved: ${reason}`)
    );
  };
  const backendChoices: IChoice[] = [
    {
      value: '',
      label: settings.endpoint
        ? 'openai (the endpoint implies it)'
        : "the kernel's default"
    },
    ...[...new Set([...backends, settings.backend].filter(Boolean))].map(
      name => ({ value: name, label: name })
    )
  ];
  return (
    <form
      className="jp-codeact-settings"
      onSubmit={event => {
        event.preventDefault();
        close();
      }}
    >
      <Select
        name="backend"
        label="Backend"
        value={settings.backend}
        choices={backendChoices}
        onChange={value => set('backend', value)}
      />
      <Text
        name="model"
        label="Model"
        value={settings.model}
        placeholder={modelHint(settings.backend || (settings.endpoint ? 'openai' : ''))}
        onChange={value => set('model', value)}
      />
      <Text
        name="endpoint"
        label="Endpoint (base URL)"
        value={settings.endpoint}
        placeholder="http://127.0.0.1:8080/v1 (OpenAI-compatible)"
        onChange={value => set('endpoint', value)}
      />
      <Select
        name="context"
        label="Notebook context"
        value={settings.context}
        choices={CONTEXT_CHOICES}
        onChange={value => set('context', value)}
      />
      <Text
        name="turnLimit"
        label="Turn limit"
        type="number"
        value={String(settings.turnLimit)}
        placeholder="0: the kernel's default (10)"
        onChange={value =>
          set('turnLimit', Math.max(0, Math.min(200, Math.round(Number(value)) || 0)))
        }
      />
      <label className="jp-codeact-setting jp-codeact-settingCheck">
        <input
          name="confirm"
          type="checkbox"
          checked={settings.confirm}
          onChange={event => set('confirm', event.target.checked)}
        />
        <span>Confirm each step (Run, Skip or Stop)</span>
      </label>
      <Select
        name="actions"
        label="Actions"
        value={settings.actions}
        choices={ACTION_CHOICES}
        onChange={value => set('actions', value)}
      />
      <Select
        name="profile"
        label="Model profile"
        value={settings.profile}
        choices={PROFILE_CHOICES}
        onChange={value => set('profile', value)}
      />
      <p className="jp-codeact-settingsNote">
        Empty values leave the kernel's own configuration. No API key is
        stored: the kernel reads OPENAI_API_KEY. Kept {storedIn}.
      </p>
      {error && <div className="jp-codeact-error">{error}</div>}
      <div className="jp-codeact-settingsButtons">
        <button type="submit" className="jp-codeact-button jp-mod-accept">
          Done
        </button>
        {openEditor && (
          <button
            type="button"
            className="jp-codeact-button"
            onClick={openEditor}
          >
            Settings Editor
          </button>
        )}
      </div>
    </form>
  );
}

function modelHint(backend: string): string {
  switch (backend) {
    case 'openai':
      return 'a model name the endpoint serves';
    case 'replay':
      return 'a replies file, or quickstart (the demo)';
    case 'llama':
      return 'a .gguf path, or owner/repo:file.gguf';
    default:
      return "the kernel's default model";
  }
}

/** What the kernel can use: asked once per kernel, built-ins until it answers. */
function useBackendNames(kernel: Kernel.IKernelConnection | null): string[] {
  const [names, setNames] = React.useState<string[]>(BUILT_IN_BACKENDS);
  React.useEffect(() => {
    if (!kernel || kernel.status !== 'idle') {
      return;
    }
    let live = true;
    const future = callKernel(kernel, 'backend_names', {}, { stop_on_error: false });
    future.onIOPub = msg => {
      if (msg.header.msg_type !== 'display_data') {
        return;
      }
      const data = (msg as KernelMessage.IDisplayDataMsg).content.data[BACKENDS_MIME];
      if (live && Array.isArray(data)) {
        setNames(data.filter((name): name is string => typeof name === 'string'));
      }
    };
    future.done.catch(() => undefined);
    return () => {
      live = false;
    };
  }, [kernel]);
  return names;
}

function Select(props: {
  name: string;
  label: string;
  value: string;
  choices: IChoice[];
  onChange: (value: string) => void;
}): JSX.Element {
  const { name, label, value, choices, onChange } = props;
  const known = choices.some(choice => choice.value === value);
  return (
    <label className="jp-codeact-setting">
      <span>{label}</span>
      <select
        name={name}
        value={value}
        onChange={event => onChange(event.target.value)}
      >
        {!known && <option value={value}>{value}</option>}
        {choices.map(choice => (
          <option key={choice.value} value={choice.value}>
            {choice.label}
          </option>
        ))}
      </select>
    </label>
  );
}

/** A text field saved when the user leaves it or presses Enter (not at every key). */
function Text(props: {
  name: string;
  label: string;
  value: string;
  placeholder: string;
  type?: 'text' | 'number';
  onChange: (value: string) => void;
}): JSX.Element {
  const { name, label, value, placeholder, type, onChange } = props;
  const [draft, setDraft] = React.useState(value);
  React.useEffect(() => setDraft(value), [value]);
  const commit = (): void => {
    if (draft.trim() !== value) {
      onChange(draft.trim());
    }
  };
  return (
    <label className="jp-codeact-setting">
      <span>{label}</span>
      <input
        name={name}
        type={type ?? 'text'}
        value={draft}
        placeholder={placeholder}
        onChange={event => setDraft(event.target.value)}
        onBlur={commit}
        onKeyDown={event => {
          if (event.key === 'Enter') {
            commit();
          }
        }}
      />
    </label>
  );
}
