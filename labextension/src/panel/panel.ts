/**
 * The right-sidebar panel: owns the PanelModel (bound to the active notebook) and its view.
 */
import type { INotebookTracker } from '@jupyterlab/notebook';
import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { LabIcon, SidePanel } from '@jupyterlab/ui-components';
import { Panel } from '@lumino/widgets';

import type { CodeactBridge } from '../kernel/bridge';
import { PanelModel } from './model';
import type { SaveSetting } from './settingsform';
import { CodeactView } from './widget';

// A speech bubble holding a prompt (>_): a chat whose replies are code that runs.
const ICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H10l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm0 2v11h3v2l2.5-2H20V5z"/>
    <path d="m6.3 7.7 1.4-1.4 3.7 3.7-3.7 3.7-1.4-1.4 2.3-2.3z"/>
    <rect x="12" y="12" width="6" height="2" rx="0.5"/>
  </g>
</svg>`;

export const codeactIcon = new LabIcon({
  name: 'codeact-jupyter:icon',
  svgstr: ICON_SVG
});

export class CodeactPanel extends SidePanel {
  constructor(options: CodeactPanel.IOptions) {
    super({ content: new Panel() }); // one view: no accordion sections
    this.id = 'codeact-panel';
    this.addClass('jp-codeact-sidebar');
    this.title.icon = codeactIcon;
    this.title.caption = 'CodeAct agent';
    this._model = new PanelModel(options.tracker, options.bridge);
    this.content.addWidget(
      new CodeactView(this._model, options.rendermime, {
        save: options.saveSetting,
        storedIn: options.settingsStoredIn,
        settingsEditor: options.settingsEditor
      })
    );
  }

  get model(): PanelModel {
    return this._model;
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._model.dispose();
    super.dispose();
  }

  private _model: PanelModel;
}

export namespace CodeactPanel {
  export interface IOptions {
    tracker: INotebookTracker;
    bridge: CodeactBridge;
    rendermime: IRenderMimeRegistry;
    /** Stores one setting (through the setting registry, which then updates the model). */
    saveSetting: SaveSetting;
    /** Where saved settings are kept, as the form says it. */
    settingsStoredIn: string;
    /** Opens JupyterLab's Settings Editor, where there is one (null in Notebook 7). */
    settingsEditor: () => (() => void) | null;
  }
}
