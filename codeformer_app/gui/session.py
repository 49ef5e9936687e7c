"""The editing session: the open photo, what was found in it, what the user chose per face, what was rendered.

Qt-free plain data that only the GUI thread writes: workers get the pieces they need and return new values,
which the window applies here (:meth:`EditSession.apply_render`, :meth:`EditSession.add_face`). The views
(viewer boxes, face list rows) are keyed by the same face ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ..pipeline.faces import FaceInPhoto
    from ..pipeline.photo import AnalysedPhoto
    from .quick_preview import FaceLayer


@dataclass(frozen=True)
class RenderedFace:
    fidelity: float
    """The fidelity used (the chosen one when ``auto``)."""
    crop: np.ndarray
    """The restored face at the network's size, 8-bit BGR."""
    identity: float | None = None
    """Likeness to the input face in [-1, 1], when the identity network is loaded."""
    auto: bool = False
    """The fidelity was chosen automatically (the lowest that keeps the likeness)."""

    def answers(self, wanted: float | None) -> bool:
        """This render is what ``wanted`` asks for (a fidelity, or None: automatic)."""
        return self.auto if wanted is None else not self.auto and self.fidelity == wanted


@dataclass(frozen=True)
class Repair:
    """Scratches filled by the inpainting network over one face: pasted over the restored face, only there."""

    crop: np.ndarray
    """The face's crop with the hole filled (its own pixels elsewhere), 8-bit BGR at the crop's size."""
    mask: np.ndarray
    """The soft paste mask over the crop (the hole, a little wider)."""


@dataclass
class FaceState:
    """One face of the photo and what the user chose for it."""

    id: int
    """Stable for the session: the face's index in ``AnalysedPhoto.faces``, which is only ever appended to."""
    included: bool = True
    fidelity: float | None = None
    """This face's own fidelity, or None to follow the photo's slider."""
    rendered: RenderedFace | None = None
    """The latest render, re-used while its fidelity is still the one wanted."""
    identity: float | None = None
    """The latest render's likeness to the input face (None without the identity network)."""
    blend: float | None = None
    """This face's own blend, or None to follow the photo's blend slider."""
    repair: Repair | None = None
    """Scratches filled with the brush (Faces ▸ Repair scratches), kept until the photo is closed."""
    layer: FaceLayer | None = None
    """Anchor renders warped into the photo (made in the background), for the instant slider preview."""


@dataclass
class EditSession:
    analysed: AnalysedPhoto
    source: Path | None
    """The file it came from; None for a pasted image."""
    name: str
    faces: dict[int, FaceState] = field(default_factory=dict)
    preview: np.ndarray | None = None
    """The latest composed photo (the input's size and depth), as shown on the 'after' side."""
    saved_to: Path | None = None

    def __post_init__(self) -> None:
        self.faces = {index: FaceState(index) for index in range(len(self.analysed.faces))}

    @property
    def face_count(self) -> int:
        return len(self.faces)

    @property
    def rendered(self) -> dict[int, RenderedFace]:
        """The latest render of each face that has one, by face id."""
        return {face.id: face.rendered for face in self.faces.values() if face.rendered is not None}

    def box(self, face_id: int) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) of the face in photo pixels."""
        x0, y0, x1, y1 = (float(v) for v in self.analysed.faces[face_id].detected.box)
        return x0, y0, x1, y1

    def set_included(self, face_id: int, included: bool) -> None:
        self.faces[face_id].included = included

    def set_fidelity(self, face_id: int, fidelity: float | None) -> None:
        self.faces[face_id].fidelity = fidelity

    def set_blend(self, face_id: int, blend: float | None) -> None:
        self.faces[face_id].blend = blend

    def included(self) -> list[int]:
        return [face.id for face in self.faces.values() if face.included]

    def wanted(self, fidelity: float, auto: bool = False) -> dict[int, float | None]:
        """Fidelity of every included face at the photo-wide ``fidelity``; None where it is chosen
        automatically (``auto``, for the faces without an own fidelity)."""
        photo_wide = None if auto else fidelity
        return {
            face.id: photo_wide if face.fidelity is None else face.fidelity
            for face in self.faces.values()
            if face.included
        }

    def _fresh(self, face_id: int, wanted: float | None) -> bool:
        rendered = self.faces[face_id].rendered
        return rendered is not None and rendered.answers(wanted)

    def to_render(self, fidelity: float, auto: bool = False) -> dict[int, float | None]:
        """The included faces whose latest render is missing or not what is wanted now."""
        return {face_id: w for face_id, w in self.wanted(fidelity, auto).items() if not self._fresh(face_id, w)}

    def reusable(self, fidelity: float, auto: bool = False) -> dict[int, np.ndarray]:
        """Crops already rendered as they are wanted."""
        return {
            face_id: self.faces[face_id].rendered.crop
            for face_id, w in self.wanted(fidelity, auto).items()
            if self._fresh(face_id, w)
        }

    def blends(self) -> dict[int, float]:
        """The faces' own blends (the others follow the photo's blend)."""
        return {face.id: face.blend for face in self.faces.values() if face.blend is not None}

    def apply_render(self, rendered: dict[int, RenderedFace], preview: np.ndarray) -> None:
        """What a preview task returned: its new face renders and the composed photo."""
        for face_id, face in rendered.items():
            self.faces[face_id].rendered = face
            self.faces[face_id].identity = face.identity
        self.preview = preview

    def repairs(self) -> dict[int, Repair]:
        """The included faces' scratch repairs."""
        return {face.id: face.repair for face in self.faces.values() if face.included and face.repair is not None}

    def apply_repairs(self, repairs: dict[int, Repair]) -> None:
        for face_id, repair in repairs.items():
            self.faces[face_id].repair = repair

    def apply_layers(self, layers: dict[int, FaceLayer]) -> None:
        for face_id, layer in layers.items():
            self.faces[face_id].layer = layer

    def quick_fidelities(self, fidelity: float, auto: bool = False) -> dict[int, float] | None:
        """The fidelity to mix each included face at for the instant preview (an automatic face: the one last
        chosen); None while some face has no layer (or no automatic choice) yet."""
        mix: dict[int, float] = {}
        for face_id, w in self.wanted(fidelity, auto).items():
            face = self.faces[face_id]
            chosen = face.rendered.fidelity if w is None and face.rendered is not None and face.rendered.auto else w
            if face.layer is None or chosen is None:
                return None
            mix[face_id] = chosen
        return mix

    def add_face(self, face: FaceInPhoto) -> int:
        """A face found in a box the user drew (aligned and cropped in a worker); returns its id.

        The two appends mirror ``pipeline.photo.add_face`` without aligning again; a render running meanwhile
        only reads the faces it was given, so appending here is safe.
        """
        self.analysed.faces.append(face)
        face_id = self.analysed.encodings.add(face.crop)
        self.faces[face_id] = FaceState(face_id)
        return face_id
