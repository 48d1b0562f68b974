/**
 * codeact-jupyter in JupyterLab: a view of the agent that runs in the kernel.
 * The bridge listens for each run's events, the mirror turns steps into notebook cells,
 * and the side panel starts, confirms and stops tasks. No agent logic lives here.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { announceBeforeTasks } from './kernel/announce';
import { CodeactBridge } from './kernel/bridge';
import { CellMirror } from './notebook/cells';
import { StepChangeLines } from './notebook/stepchanges';
import { DEFAULT_SETTINGS, ISettings } from './panel/model';
import { CodeactPanel } from './panel/panel';

const PLUGIN_ID = 'codeact-jupyter:plugin';

namespace CommandIDs {
  export const openPanel = 'codeact:open-panel';
  export const stopTask = 'codeact:stop-task';
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'CodeAct agent steps as notebook cells, and a side panel to run tasks.',
  autoStart: true,
  requires: [INotebookTracker, IRenderMimeRegistry],
  optional: [ISettingRegistry, ILayoutRestorer, ICommandPalette],
  activate
};

function activate(
  app: JupyterFrontEnd,
  tracker: INotebookTracker,
  rendermime: IRenderMimeRegistry,
  settingRegistry: ISettingRegistry | null,
  restorer: ILayoutRestorer | null,
  palette: ICommandPalette | null
): void {
  const bridge = new CodeactBridge(tracker);
  new CellMirror(bridge);
  new StepChangeLines(tracker);
  announceBeforeTasks(tracker);

  let stored: ISettingRegistry.ISettings | null = null;
  const panel = new CodeactPanel({
    tracker,
    bridge,
    rendermime,
    saveSetting: async (key, value) => {
      if (stored) {
        await stored.set(key, value); // the registry's changed signal updates the panel
      } else {
        panel.model.settings = { ...panel.model.settings, [key]: value };
      }
    },
    settingsStoredIn: settingRegistry
      ? "in your JupyterLab settings (the same in JupyterLab and Notebook 7)"
      : 'for this page only: this application has no setting registry',
    // Asked when the form opens: the Settings Editor's plugin may start after this one.
    settingsEditor: () =>
      app.commands.hasCommand('settingeditor:open')
        ? () =>
            void app.commands.execute('settingeditor:open', { query: 'CodeAct' })
        : null
  });
  app.shell.add(panel, 'right', { rank: 900 });
  restorer?.add(panel, panel.id);

  app.commands.addCommand(CommandIDs.openPanel, {
    label: 'Open the CodeAct Panel',
    execute: () => app.shell.activateById(panel.id)
  });
  app.commands.addCommand(CommandIDs.stopTask, {
    label: 'Stop the CodeAct Task',
    isEnabled: () => panel.model.activeRun !== null || panel.model.isSending,
    execute: () => panel.model.stop()
  });
  palette?.addItem({ command: CommandIDs.openPanel, category: 'CodeAct' });
  palette?.addItem({ command: CommandIDs.stopTask, category: 'CodeAct' });

  if (settingRegistry) {
    const apply = (settings: ISettingRegistry.ISettings): void => {
      panel.model.settings = {
        ...DEFAULT_SETTINGS,
        ...(settings.composite as Partial<ISettings>)
      };
    };
    settingRegistry
      .load(PLUGIN_ID)
      .then(settings => {
        stored = settings;
        apply(settings);
        settings.changed.connect(apply);
      })
      .catch(reason => {
        console.warn(
          'codeact-jupyter: settings could not be loaded; using defaults.',
          reason
        );
      });
  }
}

export default plugin;
