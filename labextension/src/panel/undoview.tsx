/**
 * The Undo button under a run in the side panel, and what the undo did: the kernel's
 * report (names removed, restored, what could not be) and the cells removed. A run of an
 * earlier session (from the notebook's records) has the button while the kernel that ran
 * it lives; otherwise it is disabled and says why.
 */
import * as React from 'react';

import type { IUndoTarget, RunUndo } from '../notebook/undo';

export function UndoBar(props: {
  target: IUndoTarget;
  undo: RunUndo;
  /** An earlier run, from the notebook's records: undone there already, or not. */
  earlier?: { undone: boolean };
}): JSX.Element {
  const { target, undo, earlier } = props;
  const state = undo.stateOf(target.runId);
  const undone = (state?.undone || earlier?.undone) ?? false;
  const reason = earlier && !undone ? undo.reasonOf(target) : null;
  const text = [state?.kernelText.trim(), state?.cellsText]
    .filter(Boolean)
    .join('\n');
  const disabled = undone || !!state?.busy || reason !== null;
  const title = undone
    ? `Run ${target.runId} was undone.`
    : reason === undefined
      ? 'Asking the kernel whether it can undo this run…'
      : (reason ??
        `Undo run ${target.runId}: put the kernel's variables back as they were before it, and remove the cells it inserted`);
  return (
    <div className="jp-codeact-undo" data-undone={undone}>
      <button
        className="jp-codeact-button jp-codeact-undoButton"
        title={title}
        disabled={disabled}
        onClick={() => void undo.undo(target)}
      >
        {undone ? 'Undone' : state?.busy ? 'Undoing…' : 'Undo'}
      </button>
      {text && <pre className="jp-codeact-undoResult">{text}</pre>}
      {!text && reason && (
        <span className="jp-codeact-undoReason">{reason}</span>
      )}
    </div>
  );
}
