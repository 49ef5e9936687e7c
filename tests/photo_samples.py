"""Real test photos built from images that ship inside scikit-image (and matplotlib, when it is installed).

Nothing is downloaded: ``astronaut``, ``coffee`` and ``lfw_subset`` are files inside the scikit-image wheel.
Only numpy, OpenCV and scikit-image are imported here, so ``bench/detector_eval.py`` can use the same photos
from a separate virtual environment (the dlib evaluation) that has no torch.

``lfw_subset`` holds 200 greyscale 25x25 crops from Labeled Faces in the Wild: the first 100 are faces, the
last 100 are patches with no face (scikit-image documents this split). The grids below place them on a plain
background so that each cell's rectangle is the ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from skimage import data

#: ``lfw_subset`` layout: faces first, then the same number of non-face patches.
LFW_FACE_COUNT = 100
#: Grid geometry used by the tests: 4 rows x 5 columns of 100 px cells, 50 px apart, mid-grey background.
GRID_ROWS = 4
GRID_COLUMNS = 5
GRID_CELL = 100
GRID_GAP = 50
GRID_BACKGROUND = 128
#: The astronaut photo (Eileen Collins, 512x512) has one face; these bounds were read off the image and
#: are generous on purpose: they say where the face is, not what a detector's box convention is.
ASTRONAUT_FACE_REGION = (150.0, 40.0, 280.0, 220.0)


@dataclass(frozen=True)
class GridPhoto:
    """A photo made of crops on a plain background, and where each crop was placed (x0, y0, x1, y1)."""

    image_bgr: np.ndarray
    cells: list[tuple[int, int, int, int]]


def astronaut_bgr() -> np.ndarray:
    """scikit-image's astronaut (one frontal face, 512x512) as 8-bit BGR."""
    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


def coffee_bgr() -> np.ndarray:
    """scikit-image's coffee cup (no face, 400x600) as 8-bit BGR."""
    return cv2.cvtColor(data.coffee(), cv2.COLOR_RGB2BGR)


def lfw_crops(faces: bool) -> np.ndarray:
    """The 100 face crops (``faces=True``) or the 100 non-face patches of ``lfw_subset``, as uint8 greyscale."""
    crops = data.lfw_subset()
    chosen = crops[:LFW_FACE_COUNT] if faces else crops[LFW_FACE_COUNT:]
    return np.clip(np.rint(chosen * 255.0), 0, 255).astype(np.uint8)


def grid_photo(
    crops: np.ndarray,
    rows: int = GRID_ROWS,
    columns: int = GRID_COLUMNS,
    cell: int = GRID_CELL,
    gap: int = GRID_GAP,
    background: int = GRID_BACKGROUND,
) -> GridPhoto:
    """The first ``rows * columns`` crops, each upscaled to ``cell`` px (bicubic), on a plain background."""
    count = rows * columns
    if len(crops) < count:
        raise ValueError(f"need {count} crops, got {len(crops)}")
    height = rows * cell + (rows + 1) * gap
    width = columns * cell + (columns + 1) * gap
    canvas = np.full((height, width), background, dtype=np.uint8)
    cells: list[tuple[int, int, int, int]] = []
    for index in range(count):
        row, column = divmod(index, columns)
        x0 = gap + column * (cell + gap)
        y0 = gap + row * (cell + gap)
        canvas[y0 : y0 + cell, x0 : x0 + cell] = cv2.resize(crops[index], (cell, cell), interpolation=cv2.INTER_CUBIC)
        cells.append((x0, y0, x0 + cell, y0 + cell))
    return GridPhoto(cv2.cvtColor(canvas, cv2.COLOR_GRAY2BGR), cells)


def lfw_face_grid(first: int = 0) -> GridPhoto:
    """20 real faces (``lfw_subset`` faces ``first`` .. ``first + 19``) in a 4x5 grid: 800x650 px."""
    return grid_photo(lfw_crops(faces=True)[first:])


def lfw_non_face_grid(first: int = 0) -> GridPhoto:
    """20 of the non-face patches in the same grid: every detection on it is a false positive."""
    return grid_photo(lfw_crops(faces=False)[first:])


def grace_hopper_bgr() -> np.ndarray | None:
    """matplotlib's ``grace_hopper.jpg`` (one face, 512x600) as 8-bit BGR, or None without matplotlib."""
    try:
        from matplotlib import cbook
    except ImportError:
        return None
    path = Path(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    image = cv2.imdecode(np.fromfile(path, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise OSError(f"{path}: cannot decode matplotlib's sample photo")
    return image


def box_centre(box: tuple[float, float, float, float]) -> tuple[float, float]:
    """Centre of an (x0, y0, x1, y1) box."""
    return (box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0


def contains(region: tuple[float, float, float, float], point: tuple[float, float]) -> bool:
    """True when ``point`` lies inside the (x0, y0, x1, y1) ``region``."""
    return region[0] <= point[0] <= region[2] and region[1] <= point[1] <= region[3]
