"""The official weights files the app knows: where they come from, how big they are, and their SHA-256.

The authors publish no hashes; the SHA-256 values below were computed by others from the release files and
are what a download or an import is checked against. The registry is plain data: nothing is fetched or
loaded at import time.

The entries travel as a :class:`Registry` object handed to every function that needs them, never as a
module global: :data:`DEFAULT_REGISTRY` holds the app's own files, the training recipe passes the app's plus
its two perceptual-loss files, and a test builds one with entries for small generated files.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from ..errors import WeightsError

#: Environment variable that replaces every entry's URL base (a mirror, or a local server in tests).
URL_BASE_ENV = "CODEFORMER_APP_WEIGHTS_URL_BASE"
#: Extension of the converted files the app actually loads.
SAFETENSORS_SUFFIX = ".safetensors"


class NetworkKind(StrEnum):
    """Which network a weights file belongs to; decides how an import is checked."""

    CODEFORMER = "codeformer"
    """Any of the family (restoration, colorization, inpainting): one network, told apart by its shapes."""
    RETINAFACE = "retinaface-resnet50"
    RETINAFACE_MOBILE = "retinaface-mobilenet0.25"
    PARSENET = "parsenet"
    REALESRGAN_X2 = "realesrgan-rrdbnet-x2"
    #: Training only (``codeformer_train.perceptual_weights``), never in ``DEFAULT_REGISTRY``: the LPIPS loss's files.
    VGG16_IMAGENET = "vgg16-imagenet"
    LPIPS_VGG_LIN = "lpips-vgg-lin"


@dataclass(frozen=True)
class License:
    """The license a weights file is published under, shown to the user before a download."""

    name: str
    url: str
    #: A few words for one-line messages.
    summary: str
    #: A paragraph shown before a download.
    notice: str
    #: True when the user must explicitly accept it before the file is downloaded.
    requires_acceptance: bool = False


@dataclass(frozen=True)
class WeightsEntry:
    """One official weights file."""

    name: str
    file_name: str
    url_base: str
    size: int | None
    """Bytes of the official file; None where nobody has published it."""
    sha256: str | None
    """SHA-256 of the official file; None where none could be established: the hash seen at the first
    download is then recorded, and later downloads must match it."""
    kind: NetworkKind
    license: License
    description: str
    #: False for files the app can run without (it falls back to a simpler method).
    required: bool = False
    #: True for a file installed as published (no ``.safetensors`` conversion, no index record): it must be
    #: pinned, and is checked by size and SHA-256 whenever it is looked up (see ``weights/originals.py``).
    keep_original: bool = False

    def __post_init__(self) -> None:
        if self.keep_original and (self.sha256 is None or self.size is None):
            raise ValueError(f"{self.name}: a file kept as published needs its size and SHA-256")

    @property
    def pinned(self) -> bool:
        """Whether the official file's hash is known in advance (else it is recorded at first download)."""
        return self.sha256 is not None

    @property
    def safetensors_name(self) -> str:
        """File name of the converted copy in the weights folder."""
        return self.file_name.rsplit(".", 1)[0] + SAFETENSORS_SUFFIX

    @property
    def installed_name(self) -> str:
        """File name of the installed file: the published name when kept as it is, else the converted copy."""
        return self.file_name if self.keep_original else self.safetensors_name

    def aliases(self) -> set[str]:
        """Every name the entry answers to (lower case): short name, file name, file stem, safetensors name."""
        names = {self.name, self.file_name, self.file_name.rsplit(".", 1)[0], self.safetensors_name}
        return {alias.lower() for alias in names}

    def url(self, url_base: str | None = None) -> str:
        """Download address: ``url_base`` if given, else the environment override, else the official base."""
        base = url_base or os.environ.get(URL_BASE_ENV) or self.url_base
        return base.rstrip("/") + "/" + self.file_name

    def to_json(self) -> dict:
        """The entry as plain JSON data (the shape of ``weights/manifest.json``)."""
        return {
            "name": self.name,
            "file_name": self.file_name,
            "safetensors_name": self.safetensors_name,
            "url": self.url(self.url_base),
            "bytes": self.size,
            "sha256": self.sha256,
            "kind": str(self.kind),
            "required": self.required,
            "description": self.description,
            "license": {
                "name": self.license.name,
                "url": self.license.url,
                "summary": self.license.summary,
                "notice": self.license.notice,
                "requires_acceptance": self.license.requires_acceptance,
            },
        }


S_LAB_LICENSE = License(
    name="S-Lab License 1.0",
    url="https://github.com/sczhou/CodeFormer/blob/master/LICENSE",
    summary="non-commercial use only",
    notice=(
        "The CodeFormer weights are published by their authors under the S-Lab License 1.0. "
        "It permits use and redistribution for non-commercial purposes only; for commercial use you must "
        "contact the authors. Read the full license before downloading."
    ),
    requires_acceptance=True,
)
FACEXLIB_LICENSE = License(
    name="MIT",
    url="https://github.com/xinntao/facexlib/blob/master/LICENSE",
    summary="published with facexlib",
    notice="Published with facexlib, which is under the MIT license.",
)
REALESRGAN_LICENSE = License(
    name="BSD-3-Clause",
    url="https://github.com/xinntao/Real-ESRGAN/blob/master/LICENSE",
    summary="published with Real-ESRGAN",
    notice="Published with Real-ESRGAN, which is under the BSD 3-Clause license.",
)

CODEFORMER = WeightsEntry(
    name="codeformer",
    file_name="codeformer.pth",
    url_base="https://github.com/sczhou/CodeFormer/releases/download/v0.1.0/",
    size=376_637_898,
    sha256="1009e537e0c2a07d4cabce6355f53cb66767cd4b4297ec7a4a64ca4b8a5684b7",
    kind=NetworkKind.CODEFORMER,
    license=S_LAB_LICENSE,
    description="CodeFormer face restoration network (needed to restore faces).",
    required=True,
)
RETINAFACE = WeightsEntry(
    name="retinaface",
    file_name="detection_Resnet50_Final.pth",
    url_base="https://github.com/xinntao/facexlib/releases/download/v0.1.0/",
    size=109_497_761,
    sha256="6d1de9c2944f2ccddca5f5e010ea5ae64a39845a86311af6fdf30841b0a5a16d",
    kind=NetworkKind.RETINAFACE,
    license=FACEXLIB_LICENSE,
    description="RetinaFace (ResNet-50) face detector; without it the offline detector is used.",
)
#: The light RetinaFace. Its SHA-256 is the one an Arch Linux package (facexlib-model) pins for this URL,
#: next to the same ResNet-50 and ParseNet hashes as above; it is also the Hugging Face LFS id of a mirror of
#: this file name, and the hash measured by others for biubug6's ``mobilenet0.25_Final.pth`` of 1,789,735
#: bytes, the size a manifest of CodeFormer's copy of this file gives.
RETINAFACE_MOBILE = WeightsEntry(
    name="retinaface-mobile",
    file_name="detection_mobilenet0.25_Final.pth",
    url_base="https://github.com/xinntao/facexlib/releases/download/v0.1.0/",
    size=1_789_735,
    sha256="2979b33ffafda5d74b6948cd7a5b9a7a62f62b949cef24e95fd15d2883a65220",
    kind=NetworkKind.RETINAFACE_MOBILE,
    license=FACEXLIB_LICENSE,
    description="RetinaFace (MobileNet-0.25) face detector: the light variant, 2 MB; optional.",
)
PARSENET = WeightsEntry(
    name="parsenet",
    file_name="parsing_parsenet.pth",
    url_base="https://github.com/xinntao/facexlib/releases/download/v0.2.2/",
    size=85_331_193,
    sha256="3d558d8d0e42c20224f13cf5a29c79eba2d59913419f945545d8cf7b72920de2",
    kind=NetworkKind.PARSENET,
    license=FACEXLIB_LICENSE,
    description="ParseNet face parsing, for a paste-back mask that follows the face outline.",
)
REALESRGAN_X2 = WeightsEntry(
    name="realesrgan-x2",
    file_name="RealESRGAN_x2plus.pth",
    url_base="https://github.com/xinntao/Real-ESRGAN/releases/download/v0.2.1/",
    size=67_061_725,
    sha256="49fafd45f8fd7aa8d31ab2a22d14d91b536c34494a5cfe31eb5d89c2fa266abb",
    kind=NetworkKind.REALESRGAN_X2,
    license=REALESRGAN_LICENSE,
    description="Real-ESRGAN x2 (RRDBNet) background upscaler; without it Lanczos is used.",
)

CODEFORMER_COLORIZATION = WeightsEntry(
    name="codeformer-colorization",
    file_name="codeformer_colorization.pth",
    url_base="https://github.com/sczhou/CodeFormer/releases/download/v0.1.0/",
    size=None,
    sha256=None,
    kind=NetworkKind.CODEFORMER,
    license=S_LAB_LICENSE,
    description="CodeFormer colorization: black-and-white faces to colour (--task colorize).",
)
CODEFORMER_INPAINTING = WeightsEntry(
    name="codeformer-inpainting",
    file_name="codeformer_inpainting.pth",
    url_base="https://github.com/sczhou/CodeFormer/releases/download/v0.1.0/",
    size=None,
    sha256=None,
    kind=NetworkKind.CODEFORMER,
    license=S_LAB_LICENSE,
    description="CodeFormer inpainting: fills scratches and holes in a face (--task inpaint, the scratch brush).",
)
#: The CodeFormer weights of each task (``model.variants.FaceTask`` values).
TASK_WEIGHTS = {"restore": "codeformer", "colorize": "codeformer-colorization", "inpaint": "codeformer-inpainting"}


@dataclass(frozen=True)
class Registry:
    """A fixed set of weights entries, in the order they are listed to the user, with the lookups on them.

    Immutable: :meth:`with_entries` returns a new registry, so no caller can change what another one sees.
    """

    entries: tuple[WeightsEntry, ...]

    def __post_init__(self) -> None:
        names = [entry.name for entry in self.entries]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"weights names must be unique; repeated: {', '.join(duplicates)}")

    def __iter__(self) -> Iterator[WeightsEntry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def names(self) -> list[str]:
        """The short names accepted on the command line."""
        return [entry.name for entry in self.entries]

    def lookup(self, name: str) -> WeightsEntry | None:
        """The entry called ``name``: its short name, file name, file stem or safetensors name (any case)."""
        wanted = name.strip().lower()
        return next((entry for entry in self.entries if wanted in entry.aliases()), None)

    def find(self, name: str) -> WeightsEntry:
        """Like :meth:`lookup`, but an unknown name is a ``WeightsError`` that lists the known ones."""
        entry = self.lookup(name)
        if entry is None:
            raise WeightsError(None, f"unknown weights name {name!r}; known names: {', '.join(self.names())}")
        return entry

    def by_sha256(self, sha256: str) -> WeightsEntry | None:
        """The entry whose official file has this SHA-256, if any."""
        wanted = sha256.lower()
        return next((entry for entry in self.entries if entry.sha256 is not None and entry.sha256 == wanted), None)

    def for_task(self, task: str | None) -> WeightsEntry:
        """The CodeFormer weights that do ``task`` (restore, colorize, inpaint; None: restore)."""
        return self.find(TASK_WEIGHTS[task or "restore"])

    def of_kind(self, kind: NetworkKind) -> tuple[WeightsEntry, ...]:
        """The entries for one network, in registry order."""
        return tuple(entry for entry in self.entries if entry.kind is kind)

    def only_of_kind(self, kind: NetworkKind) -> WeightsEntry:
        """The one entry for ``kind``; ``WeightsError`` when there is none or more than one."""
        found = self.of_kind(kind)
        if len(found) != 1:
            raise WeightsError(None, f"expected one {kind} weights entry, the registry has {len(found)}")
        return found[0]

    def with_entries(self, *entries: WeightsEntry) -> Registry:
        """A new registry: each of ``entries`` replaces the entry of the same name, or is added at the end."""
        given = {entry.name: entry for entry in entries}
        kept = [given.pop(entry.name, entry) for entry in self.entries]
        return Registry((*kept, *given.values()))


#: The app's own files: what restoring photos needs, nothing else (the model manager lists exactly these).
DEFAULT_REGISTRY = Registry(
    (
        CODEFORMER,
        RETINAFACE,
        RETINAFACE_MOBILE,
        PARSENET,
        REALESRGAN_X2,
        CODEFORMER_COLORIZATION,
        CODEFORMER_INPAINTING,
    )
)
