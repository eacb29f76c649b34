"""Embedding backends: one small interface, one module per inference engine."""
