"""The kernel's side of the JupyterLab extension: the comm that carries events, the documents it announces."""
