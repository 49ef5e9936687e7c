"""dlib's identity network on one thread of its own, for the window.

Measured here: with the network loaded by the engine's load task (a worker thread of Qt's pool), the first
likeness computed by a render task crashed the process (segmentation fault inside dlib's
``compute_face_descriptor``); loaded on a thread that lives on (the main thread), the same renders worked. So
the window loads it and runs every call on one long-lived thread; the command line keeps calling it directly
from its main thread.
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ..identity import Embedding, IdentityModel
    from ..pipeline.restore_file import Engine

#: The one thread dlib is loaded and called on (it lives as long as the process).
_DLIB_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="identity")


class ThreadBoundIdentity:
    """An ``IdentityModel`` whose calls all run on the identity thread (what ``IdentityCheck`` uses of it)."""

    def __init__(self, model: IdentityModel) -> None:
        self._model = model

    def embed_aligned(self, crop_bgr: np.ndarray) -> Embedding:
        return _DLIB_THREAD.submit(self._model.embed_aligned, crop_bgr).result()


def with_identity(engine: Engine) -> Engine:
    """``engine`` with the identity check (loaded on the identity thread), or with a warning saying why not."""
    from ..identity import IDENTITY_THRESHOLD, IdentityUnavailableError, load_identity_model
    from ..pipeline.likeness import IdentityCheck

    try:
        model = _DLIB_THREAD.submit(load_identity_model).result()
    except IdentityUnavailableError as error:
        return dataclasses.replace(engine, warnings=(*engine.warnings, f"identity scores are left out: {error}"))
    return dataclasses.replace(engine, identity=IdentityCheck(ThreadBoundIdentity(model), IDENTITY_THRESHOLD))
