"""Busy means busy: while a `%%codeact` cell runs, the kernel status the page sees stays
busy, as for any long cell. JupyterLab 4.4+ opens a kernel subshell per comm target, and
the kernel reports busy then idle for each subshell request; the page took those for the
kernel's status (lab/server.py). Real kernel, real JupyterLab, headless Chromium."""
from __future__ import annotations

from nbformat.v4 import new_code_cell

STEPS = ["Let me wait.\n<execute>\nimport time\ntime.sleep(1.5)\nprint('waited')\n</execute>",
         "<execute>\nprint('again')\ntime.sleep(0.5)\n</execute>",
         "Waited twice."]


def test_the_kernel_reads_busy_all_through_a_magic_run(lab, page):
    replies = lab.write_replies("busy-replies.json", STEPS)
    lab.write_notebook("busy.ipynb", [
        new_code_cell("%load_ext codeact_jupyter"),
        new_code_cell(f"%%codeact --backend replay --model {replies}\nwait twice"),
    ])
    lab.open(page, "busy.ipynb")
    lab.run_command(page, "notebook:run-cell")  # the first cell
    lab.wait_idle(page)
    page.evaluate("""() => {
        const w = window.jupyterapp.shell.currentWidget;
        const kernel = w.sessionContext.session.kernel;
        // In one list, in the order the page handles them: its kernel status changes
        // ("S idle") and the status messages behind them ("M idle <request type> <id>").
        window.codeactSeen = [];
        kernel.statusChanged.connect((_, status) => window.codeactSeen.push('S ' + status));
        kernel.iopubMessage.connect((_, msg) => {
            if (msg.header.msg_type === 'status') {
                window.codeactSeen.push(['M', msg.content.execution_state, msg.parent_header.msg_type,
                                         msg.parent_header.msg_id].join(' '));
            }
        });
        kernel.anyMessage.connect((_, args) => {
            const msg = args.msg;
            if (args.direction === 'send' && msg.header.msg_type === 'execute_request'
                && String(msg.content.code).startsWith('%%codeact')) {
                window.codeactTask = msg.header.msg_id;
            }
        });
        w.content.activeCellIndex = 1;
        void window.jupyterapp.commands.execute('notebook:run-cell');
    }""")
    page.locator(".jp-MarkdownCell.jp-mod-rendered", has_text="Waited twice.").wait_for(timeout=60_000)
    lab.wait_idle(page)
    seen = page.evaluate("() => window.codeactSeen")
    task = page.evaluate("() => window.codeactTask")
    began, ended = seen.index(f"M busy execute_request {task}"), seen.index(f"M idle execute_request {task}")
    # The page's status changes while the task's request runs, but for its own last idle.
    during = [entry for entry in seen[began + 1:ended - 1] if entry.startswith("S ")]
    assert "S idle" not in during, seen[began:ended + 1]
    assert ended - began > 4  # the run did send status messages of other requests meanwhile
