"""The kernel's side of the JupyterLab extension: the comm that carries events, the documents it announces.

One module runs elsewhere: server.py, a Jupyter server extension, so that the page's
kernel status stays busy through a run.
"""
