"""Loading the networks for a command, saying what is loading and anything the user should know about them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .run_jobs_cli import say

if TYPE_CHECKING:
    from ..pipeline.engine_spec import EngineSpec
    from ..pipeline.restore_file import Engine


def load_engine_for_cli(spec: EngineSpec) -> Engine:
    """The engine of ``spec``; progress lines and warnings go to stderr. Raises like ``load_engine``."""
    say("Loading PyTorch…")
    from ..pipeline.engine_setup import load_engine

    engine = load_engine(spec, on_step=say)
    for warning in engine.warnings:
        say(f"warning: {warning}")
    return engine
