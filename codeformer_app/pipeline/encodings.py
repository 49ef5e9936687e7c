"""Per-face encodings of one photo, kept so a face can be re-rendered at any fidelity without re-encoding."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
import torch

from ..networks.codeformer import CodeFormer, Encoded
from .face_tensor import faces_to_tensor, fit_square, tensor_to_faces
from .grey import grey_face

#: Memory the cached encodings of one photo may use; beyond it, faces past the budget share one slot (``_trim``).
#: One full-size face's encoding takes about 94 MB (float32 skip features at 32..256 px, and as much again for
#: the fast path's fusion terms).
DEFAULT_BUDGET_BYTES = 2 * 1024**3
#: For one-shot use (command line, batch): each face is rendered once, so only the latest encoding is kept.
ONE_SHOT_BUDGET_BYTES = 0


def encoding_bytes(encoded: Encoded) -> int:
    tensors = [
        encoded.lq_feat,
        encoded.indices,
        encoded.decoder_head,
        *encoded.skips.values(),
        *encoded.fusion_terms.values(),
    ]
    if encoded.head_change is not None:
        tensors.append(encoded.head_change)
    return sum(t.numel() * t.element_size() for t in tensors)


class EncodingCache:
    """Encodes each face crop on first use and keeps the result within a memory budget (the order of the
    cache is the order of encoding)."""

    def __init__(
        self,
        model: CodeFormer,
        crops: Sequence[np.ndarray],
        budget_bytes: int = DEFAULT_BUDGET_BYTES,
        adain_codes: bool = True,
        rerender: bool | None = None,
    ):
        self.model = model
        self.adain_codes = adain_codes
        """Give the code features the encoder latent's statistics (off only for the inpainting network)."""
        self.rerender = budget_bytes > 0 if rerender is None else rerender
        """Faces will be rendered at several fidelities (the window's slider, automatic fidelity): encodings keep
        the network's fusion terms (``Encoded.fusion_terms``), which make each render after the first cheaper.
        By default, when encodings are kept at all."""
        self.crops = list(crops)
        self.budget_bytes = budget_bytes
        self.encode_count = 0
        """How many times the encoder ran (a slider change must not raise it)."""
        self._cache: OrderedDict[int, Encoded] = OrderedDict()

    def __len__(self) -> int:
        return len(self.crops)

    def add(self, crop: np.ndarray) -> int:
        """A face added later (e.g. marked by hand); returns its index."""
        self.crops.append(crop)
        return len(self.crops) - 1

    def get(self, index: int) -> Encoded:
        if index in self._cache:
            return self._cache[index]
        size = self.model.config.img_size
        batch = faces_to_tensor([fit_square(self.crops[index], size)]).to(self.model.position_emb.device)
        with torch.inference_mode():
            encoded = self.model.encode(batch, adain_codes=self.adain_codes, keep_fusion_terms=self.rerender)
        self.encode_count += 1
        self._cache[index] = encoded
        self._trim()
        return encoded

    def cached_bytes(self) -> int:
        return sum(encoding_bytes(e) for e in self._cache.values())

    def _trim(self) -> None:
        """Over budget, drop the most recently encoded faces other than the newest.

        Renders go through the faces in order, again and again (each slider move). Dropping the least recently
        used would then drop every face just before it is needed, re-encoding all of them each pass; keeping the
        first faces encoded and letting one slot rotate re-encodes only the faces beyond the budget.
        """
        while len(self._cache) > 1 and self.cached_bytes() > self.budget_bytes:
            newest = next(reversed(self._cache))
            self._cache.move_to_end(newest, last=False)
            self._cache.popitem(last=True)
            self._cache.move_to_end(newest, last=True)


def render(cache: EncodingCache, index: int, fidelity: float, grey: bool = False) -> np.ndarray:
    """The restored crop of face ``index`` at ``fidelity``, 8-bit BGR at the network's size.

    ``grey``: the photo is black and white, so the face is too (the network may add colour): grey, with the
    mean and contrast of the face's own input crop (``grey.grey_face``).
    """
    with torch.inference_mode():
        image = tensor_to_faces(cache.model.decode(cache.get(index), fidelity))[0]
    if grey:
        image = grey_face(image, cache.crops[index])
    return image
