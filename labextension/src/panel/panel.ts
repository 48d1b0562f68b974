/**
 * The right-sidebar panel: owns the PanelModel (bound to the active notebook) and its view.
 */
import type { INotebookTracker } from '@jupyterlab/notebook';
import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { LabIcon, SidePanel } from '@jupyterlab/ui-components';
import { Panel } from '@lumino/widgets';

import type { CodeactBridge } from '../kernel/bridge';
import { PanelModel } from './model';
import { CodeactView } from './widget';

const ICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M8.6 6.4 3 12l5.6 5.6L10 16.2 5.8 12 10 7.8zm6.8 0L14 7.8l4.2 4.2-4.2 4.2 1.4 1.4L21 12z"/>
    <circle cx="12" cy="12" r="1.6"/>
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
      new CodeactView(this._model, options.rendermime, options.openSettings)
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
    openSettings: () => void;
  }
}
