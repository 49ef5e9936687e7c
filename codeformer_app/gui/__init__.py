"""The desktop app (PySide6). The only package that imports Qt; it drives the core through its public functions.

Modules import the core (and so PyTorch) lazily, inside functions, so the window can appear before the heavy
imports: see ``app.py``.
"""
