"""Plots the model can read: descriptions of figures, the formatter that writes them, images for vision models."""
