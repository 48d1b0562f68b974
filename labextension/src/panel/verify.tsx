/**
 * The "Verify" button of a finished run in the side panel: runs `%codeact verify` on the
 * notebook as the browser has it (saved or not) with one execute request that calls
 * `codeact_jupyter.panel.verify_document`. The kernel runs the cells in a fresh kernel
 * (the live one and the file are never changed) and prints progress, then a report, which
 * shows here as it comes. Stop (an interrupt) ends it.
 */
import type { KernelMessage } from '@jupyterlab/services';
import * as React from 'react';

import type { DocumentRegistry } from '@jupyterlab/docregistry';
import type { INotebookModel } from '@jupyterlab/notebook';

import { callKernel } from '../kernel/call';

type State = 'idle' | 'running' | 'done';

export function VerifyButton({
  context
}: {
  context: DocumentRegistry.IContext<INotebookModel>;
}): JSX.Element {
  const [state, setState] = React.useState<State>('idle');
  const [text, setText] = React.useState('');
  const report = React.useRef<HTMLPreElement>(null);
  React.useEffect(() => {
    if (state === 'done') {
      report.current?.scrollIntoView({ block: 'nearest' }); // the report, not below the fold
    }
  }, [state]);
  const verify = async (): Promise<void> => {
    const kernel = context.sessionContext.session?.kernel;
    if (!kernel || context.isDisposed) {
      setText('This notebook has no kernel to verify it with.');
      setState('done');
      return;
    }
    setState('running');
    setText('');
    const request = {
      notebook: withoutBinaries(context.model.toJSON()),
      name: context.path.split('/').pop() ?? context.path
    };
    const future = callKernel(kernel, 'verify_document', request);
    future.onIOPub = msg => {
      const said = outputText(msg);
      if (said) {
        setText(old => old + said);
      }
    };
    try {
      await future.done;
    } catch (reason) {
      setText(old => `${old}\nThe kernel did not finish verifying: ${reason}`);
    }
    setState('done');
  };
  return (
    <div className="jp-codeact-verify">
      <button
        className="jp-codeact-button jp-codeact-verifyButton"
        disabled={state === 'running'}
        title="Run this notebook's code cells, the agent's steps included, in a fresh kernel and report what does not reproduce"
        onClick={() => void verify()}
      >
        {state === 'running' ? 'Verifying…' : 'Verify'}
      </button>
      {text && (
        <pre
          className="jp-codeact-verifyReport"
          ref={report}
          style={{ whiteSpace: 'pre-wrap', margin: '4px 0' }}
        >
          {text}
        </pre>
      )}
    </div>
  );
}

function outputText(msg: KernelMessage.IIOPubMessage): string {
  const content = msg.content as {
    text?: string;
    ename?: string;
    evalue?: string;
  };
  if (msg.header.msg_type === 'stream') {
    return content.text ?? '';
  }
  if (msg.header.msg_type === 'error') {
    return `${content.ename}: ${content.evalue}\n`;
  }
  return '';
}

/** Images and PDFs are compared by type only: their bytes need not travel. */
function withoutBinaries(notebook: unknown): unknown {
  const copy = JSON.parse(JSON.stringify(notebook)) as {
    cells?: { outputs?: { data?: Record<string, unknown> }[] }[];
  };
  for (const cell of copy.cells ?? []) {
    for (const output of cell.outputs ?? []) {
      for (const mime of Object.keys(output.data ?? {})) {
        if (mime.startsWith('image/') || mime === 'application/pdf') {
          output.data![mime] = '';
        }
      }
    }
  }
  return copy;
}
