"""Running one step as a cell of the live kernel, and its outputs as text the model reads."""
