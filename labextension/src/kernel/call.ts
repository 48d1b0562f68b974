/**
 * The one way the browser calls the kernel's Python: an execute request that calls a
 * function of `codeact_jupyter.panel` (the browser's one door) with a JSON payload. The
 * addresses are checked by the drift test (tests/test_addresses.py).
 */
import type { Kernel, KernelMessage } from '@jupyterlab/services';
import type { JSONObject } from '@lumino/coreutils';

/** The module every browser call goes to. */
export const KERNEL_DOOR = 'codeact_jupyter.panel';

/** Functions of `codeact_jupyter.panel` the extension calls. */
export type KernelFunction =
  | 'run_panel_task'
  | 'context_manifest'
  | 'undo_run'
  | 'undo_states'
  | 'backend_names'
  | 'verify_document';

/** The Python source of one call: the payload travels as a JSON string literal. */
export function callCode(fn: KernelFunction, payload: unknown): string {
  // A JSON string literal is a valid Python string literal.
  return (
    `__import__('${KERNEL_DOOR}', fromlist=['_']).${fn}(` +
    JSON.stringify(JSON.stringify(payload)) +
    ')'
  );
}

/** Call `fn` in the kernel; the future carries what it prints and publishes. */
export function callKernel(
  kernel: Kernel.IKernelConnection,
  fn: KernelFunction,
  payload: unknown,
  options: Partial<KernelMessage.IExecuteRequestMsg['content']> = {},
  metadata?: JSONObject
): Kernel.IShellFuture<
  KernelMessage.IExecuteRequestMsg,
  KernelMessage.IExecuteReplyMsg
> {
  return kernel.requestExecute(
    { code: callCode(fn, payload), store_history: false, ...options },
    true,
    metadata
  );
}
