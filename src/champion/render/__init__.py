"""Renderers: they read report.json and never load a model."""
