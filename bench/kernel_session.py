"""A real ipykernel for the benchmarks: run a cell like a front end and collect its iopub
messages; announce a JupyterLab mirror the way the extension does (views.py)."""
from __future__ import annotations

import json
import queue
import time
import uuid

from jupyter_client.manager import start_new_kernel


class Kernel:
    def __init__(self):
        self.km, self.kc = start_new_kernel(kernel_name="python3")
        self.run("%load_ext codeact_jupyter")

    def announce_mirror(self) -> None:
        kc = self.kc
        kc.shell_channel.send(kc.session.msg("comm_open", {
            "comm_id": uuid.uuid4().hex, "target_name": "codeact_mirror", "data": {}}))

    def run(self, code: str, timeout: float = 300) -> tuple[float, list[dict]]:
        """Seconds from the request to the kernel going idle, and the request's iopub messages."""
        kc = self.kc
        msg = kc.session.msg("execute_request", {
            "code": code, "silent": False, "store_history": True, "user_expressions": {},
            "allow_stdin": False, "stop_on_error": True})
        started = time.perf_counter()
        kc.shell_channel.send(msg)
        messages, deadline = [], time.monotonic() + timeout
        while True:
            try:
                message = kc.get_iopub_msg(timeout=1)
            except queue.Empty:
                if time.monotonic() > deadline:
                    raise TimeoutError(code[:60]) from None
                continue
            if message["parent_header"].get("msg_id") != msg["header"]["msg_id"]:
                continue
            if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
                elapsed = time.perf_counter() - started
                break
            messages.append(message)
        reply = kc.get_shell_msg(timeout=timeout)
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"the cell failed: {reply['content']}")
        for message in messages:
            if message["msg_type"] == "error":
                raise RuntimeError(f"the cell failed: {message['content']['evalue']}")
        return elapsed, messages

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


def wire_bytes(message: dict) -> int:
    """A message's size on the wire, near enough: its four JSON parts."""
    return sum(len(json.dumps(message[part], default=str, ensure_ascii=False).encode("utf-8"))
               for part in ("header", "parent_header", "metadata", "content"))
