"""Reading and writing image files: any path (non-ASCII too), clear errors, atomic writes."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import cv2
import numpy as np

from .errors import CodeFormerAppError


class ImageReadError(CodeFormerAppError):
    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        super().__init__(f"{path}: {reason}")


def read_bgr8(path: Path) -> np.ndarray:
    """An image file as 8-bit, 3-channel BGR; greyscale is expanded, alpha dropped, 16-bit scaled."""
    path = Path(path)
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as error:
        raise ImageReadError(path, f"cannot be read ({error.strerror or error})") from None
    if data.size == 0:
        raise ImageReadError(path, "the file is empty (0 bytes)")
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ImageReadError(path, "not an image file that can be decoded (corrupt, truncated or unsupported)")
    if image.dtype == np.uint16:
        image = (image.astype(np.float32) / 257.0).round().astype(np.uint8)
    elif image.dtype != np.uint8:
        raise ImageReadError(path, f"unsupported sample type {image.dtype}")
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    elif image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return image


def write_atomic(path: Path, data: bytes) -> None:
    """Write bytes so that ``path`` either keeps its old content or gets all of the new one."""
    path = Path(path)
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def write_bgr8(path: Path, image: np.ndarray, jpeg_quality: int = 95) -> None:
    """Encode by the file's extension and write atomically."""
    path = Path(path)
    params = [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality] if path.suffix.lower() in (".jpg", ".jpeg") else []
    ok, encoded = cv2.imencode(path.suffix or ".png", image, params)
    if not ok:
        raise CodeFormerAppError(f"{path}: cannot encode an image with the extension {path.suffix!r}")
    write_atomic(path, encoded.tobytes())
