/**
 * The Undo button under a finished run in the side panel, and what the undo did: the
 * kernel's report (names removed, restored, what could not be) and the cells removed.
 */
import * as React from 'react';

import type { RunModel } from '../kernel/run';
import type { RunUndo } from '../notebook/undo';

export function UndoBar(props: {
  run: RunModel;
  undo: RunUndo;
}): JSX.Element | null {
  const { run, undo } = props;
  if (run.isRunning) {
    return null;
  }
  const state = undo.stateOf(run.runId);
  const text = [state?.kernelText.trim(), state?.cellsText]
    .filter(Boolean)
    .join('\n');
  return (
    <div className="jp-codeact-undo" data-undone={state?.undone ?? false}>
      <button
        className="jp-codeact-button jp-codeact-undoButton"
        title={`Undo run ${run.runId}: put the kernel's variables back as they were before it, and remove the cells it inserted`}
        disabled={(state?.busy || state?.undone) ?? false}
        onClick={() => void undo.undo(run)}
      >
        {state?.undone ? 'Undone' : state?.busy ? 'Undoing…' : 'Undo'}
      </button>
      {text && <pre className="jp-codeact-undoResult">{text}</pre>}
    </div>
  );
}
