"""What the model is told about the notebook: cells, variables, the window, redaction."""
