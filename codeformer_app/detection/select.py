"""Choosing and ordering faces: the rules behind min face size, only-center and max faces.

Pure functions of the detections and the image size, so the GUI can re-apply them instantly when the user
moves a control, without detecting again.
"""

from __future__ import annotations

from collections.abc import Sequence

from .types import DetectedFace, DetectionOptions

#: Two faces are in the same row when their centres are closer vertically than this fraction of the
#: smaller face's height.
SAME_ROW_FRACTION = 0.5


def select_faces(
    faces: Sequence[DetectedFace],
    image_size: tuple[int, int],
    options: DetectionOptions,
    default_min_score: float,
) -> list[DetectedFace]:
    """The faces ``options`` keeps, in reading order. ``image_size`` is (height, width)."""
    min_score = default_min_score if options.min_score is None else options.min_score
    kept = [
        face
        for face in faces
        if face.score >= min_score
        and face.eye_distance >= options.min_eye_distance
        and face.short_side >= options.min_face_size
    ]
    if options.only_center and kept:
        kept = [nearest_centre(kept, image_size)]
    if options.max_faces is not None:
        kept = largest(kept, options.max_faces)
    return reading_order(kept)


def nearest_centre(faces: Sequence[DetectedFace], image_size: tuple[int, int]) -> DetectedFace:
    """The face whose box centre is nearest the image centre (ties: the larger face)."""
    if not faces:
        raise ValueError("no faces to choose from")
    height, width = image_size
    centre_x, centre_y = (width - 1) / 2.0, (height - 1) / 2.0

    def key(face: DetectedFace) -> tuple[float, float]:
        x, y = face.centre
        return (x - centre_x) ** 2 + (y - centre_y) ** 2, -face.area

    return min(faces, key=key)


def largest(faces: Sequence[DetectedFace], count: int) -> list[DetectedFace]:
    """The ``count`` faces with the largest boxes (ties: the higher score)."""
    return sorted(faces, key=lambda face: (-face.area, -face.score))[:count]


def reading_order(faces: Sequence[DetectedFace]) -> list[DetectedFace]:
    """Rows top to bottom, each row left to right: the order a person numbers faces in a group photo.

    Faces join the current row while their centre is within ``SAME_ROW_FRACTION`` of a face height below
    the row's first face; the order never depends on the detector's own order.
    """
    by_y = sorted(faces, key=lambda face: (face.centre[1], face.centre[0]))
    rows: list[list[DetectedFace]] = []
    for face in by_y:
        if rows:
            first = rows[-1][0]
            tolerance = SAME_ROW_FRACTION * min(first.height, face.height)
            if face.centre[1] - first.centre[1] <= tolerance:
                rows[-1].append(face)
                continue
        rows.append([face])
    return [face for row in rows for face in sorted(row, key=lambda face: face.centre[0])]
