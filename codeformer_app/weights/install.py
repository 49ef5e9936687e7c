"""Install weights: identify a file, check it, and convert it once to ``.safetensors`` in the weights folder.

After installing, the app only ever loads the ``.safetensors`` copy, so the pickle-based ``.pth`` is read
exactly once, safely (``read_state_dict`` uses ``torch.load(weights_only=True)``). The user's file is only
read, never moved or changed.

Which files are accepted:
- a file whose SHA-256 is an official one: always (after a structural check for CodeFormer);
- CodeFormer with another hash (fine-tuned, re-saved): accepted when it builds the network, recorded as
  custom, because the network check proves it fits;
- the other networks with another hash (a re-saved or converted file): accepted when it builds its network
  strictly (``fits.py``), recorded as custom; otherwise refused with what does not fit, unless ``force``,
  because a wrong file would only fail later, far from its cause.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import WeightsError
from .download import CancelCheck, ProgressCallback, download
from .files import read_sha256, sha256_file, write_atomically
from .fits import can_check, misfit, other_network
from .index import InstalledRecord, load_index, put_record
from .paths import ensure_folder, installed_path
from .registry import NetworkKind, Registry, WeightsEntry

if TYPE_CHECKING:
    from ..networks.state_dict import StateDict

#: Metadata written into every converted file, so its origin is known even without the index.
META_WEIGHTS_NAME = "codeformer_app.weights"
META_SOURCE_FILE = "codeformer_app.source_file"
META_SOURCE_SHA256 = "codeformer_app.source_sha256"
META_OFFICIAL = "codeformer_app.official"


def import_weights(
    source: Path,
    folder: Path,
    *,
    registry: Registry,
    name: str | None = None,
    force: bool = False,
    downloaded: bool = False,
) -> InstalledRecord:
    """Check ``source`` and install its ``.safetensors`` conversion in ``folder``; returns the new record.

    ``registry`` is what the file is identified against (by hash, ``name``, file name or CodeFormer's shapes).
    """
    source = Path(source)
    named = registry.find(name) if name else None
    if source.is_dir():
        raise WeightsError(source, "this is a folder, not a weights file")
    if not source.is_file():
        raise WeightsError(source, "file not found")
    source_sha256 = read_sha256(source)
    # PyTorch is imported only here, when a file is really converted: listing and checking stay quick.
    from safetensors.torch import save_file

    from ..networks.codeformer.load import build_codeformer
    from ..weights.safe_load import read_state_dict, save_codeformer_safetensors

    state_dict, metadata = read_state_dict(source)
    entry, official = _identify(registry, source, source_sha256, named, state_dict)
    if entry.keep_original:
        raise WeightsError(source, f"{entry.name} is installed as published, not converted (see originals.py)")
    if downloaded and not entry.pinned:
        official = True  # from the official address; its hash is recorded now and checked from then on
    if not official and entry.kind is not NetworkKind.CODEFORMER and not force:
        _check_fits(entry, state_dict, source, source_sha256)
    ensure_folder(folder)
    target = installed_path(entry, folder)
    if target.exists() and source.resolve() == target.resolve():
        raise WeightsError(source, "this is already the installed file; nothing to import")
    extra = {
        META_WEIGHTS_NAME: entry.name,
        META_SOURCE_FILE: source.name,
        META_SOURCE_SHA256: source_sha256,
        META_OFFICIAL: "true" if official else "false",
    }
    tensors = _untied(state_dict)
    if entry.kind is NetworkKind.CODEFORMER:
        config = build_codeformer(state_dict, metadata, source).config
        _write(target, lambda temp: save_codeformer_safetensors(tensors, temp, config, extra))
    else:
        _write(target, lambda temp: save_file(tensors, str(temp), metadata=extra))
    record = InstalledRecord(
        name=entry.name,
        file=target.name,
        sha256=sha256_file(target),
        bytes=target.stat().st_size,
        source_file=source.name,
        source_sha256=source_sha256,
        official=official,
        installed_at=InstalledRecord.now(),
    )
    put_record(folder, record)
    return record


def install_official(
    entry: WeightsEntry,
    folder: Path,
    *,
    registry: Registry,
    url_base: str | None = None,
    progress: ProgressCallback | None = None,
    cancelled: CancelCheck | None = None,
) -> InstalledRecord:
    """Download the official file, convert it, and delete the downloaded ``.pth``.

    The ``.pth`` is only removed after a successful conversion; if conversion fails it stays, so a retry
    does not download it again. ``registry`` must hold ``entry`` (the conversion identifies the file in it).
    """
    downloaded = download(
        entry,
        folder,
        url_base=url_base,
        progress=progress,
        cancelled=cancelled,
        expected_sha256=first_download_sha256(entry, folder),
    )
    record = import_weights(downloaded, folder, registry=registry, name=entry.name, downloaded=True)
    downloaded.unlink()
    return record


def first_download_sha256(entry: WeightsEntry, folder: Path) -> str | None:
    """For an entry without a published hash: the hash of the official file as first downloaded here."""
    if entry.pinned:
        return None
    record = load_index(folder).get(entry.name)
    return record.source_sha256 if record is not None and record.official else None


def looks_like_codeformer(state_dict: StateDict) -> bool:
    """True when the state dict has the keys every CodeFormer checkpoint has."""
    from ..networks.codeformer.load import SIGNATURE_KEYS

    return all(key in state_dict for key in SIGNATURE_KEYS)


def _check_fits(entry: WeightsEntry, state_dict: StateDict, source: Path, source_sha256: str) -> None:
    """A file that is not the official one is installed only if it builds the entry's network strictly."""
    not_official = f"this is not the official {entry.file_name} (SHA-256 expected {entry.sha256}, got {source_sha256})"
    if not can_check(entry.kind):
        raise WeightsError(
            source, f"{not_official}; the app cannot check that another file fits, pass --force to install it anyway"
        )
    problem = misfit(entry.kind, state_dict, source)
    if problem is not None:
        raise WeightsError(source, f"{not_official}, and it does not fit: {problem}. Pass --force to install it anyway")


def _identify(
    registry: Registry, source: Path, source_sha256: str, named: WeightsEntry | None, state_dict: StateDict
) -> tuple[WeightsEntry, bool]:
    """Registry entry of a file, and whether it is the official file; by hash, then name, file name, keys."""
    by_hash = registry.by_sha256(source_sha256)
    if by_hash is not None:
        if named is not None and named.name != by_hash.name:
            raise WeightsError(source, f"this is the official {by_hash.file_name} ({by_hash.name}), not {named.name}")
        return by_hash, True
    entry = named or registry.lookup(source.name)
    if looks_like_codeformer(state_dict) and (entry is None or entry.kind is NetworkKind.CODEFORMER):
        by_shape = _codeformer_entry_by_shape(registry, source, state_dict)
        if entry is not None and entry.name != by_shape.name:
            raise WeightsError(source, f"this file holds {by_shape.name} weights (by its shapes), not {entry.name}")
        entry = by_shape
    if entry is not None and (found := other_network(entry.kind, state_dict)) is not None:
        raise WeightsError(source, f"this file holds {found} weights (by its keys), not {entry.name}")
    if entry is None:
        raise WeightsError(
            source,
            "cannot tell which weights this is (not an official file, unknown file name); "
            f"pass --name with one of: {', '.join(registry.names())}",
        )
    return entry, False


def _codeformer_entry_by_shape(registry: Registry, source: Path, state_dict: StateDict) -> WeightsEntry:
    """Restoration, colorization or inpainting: the family's member these tensors' shapes are."""
    from ..networks.codeformer.load import describe_codeformer
    from ..networks.codeformer.variants import task_of

    return registry.for_task(task_of(describe_codeformer(state_dict, source)).value)


def _untied(state_dict: StateDict) -> StateDict:
    """Contiguous tensors with no shared memory, which safetensors requires; copies only what is shared."""
    seen: set[int] = set()
    result: StateDict = {}
    for key, tensor in state_dict.items():
        tensor = tensor.detach()
        pointer = tensor.untyped_storage().data_ptr() if tensor.numel() else None
        if pointer is not None and pointer in seen:
            tensor = tensor.clone()
        elif pointer is not None:
            seen.add(pointer)
        result[key] = tensor.contiguous()
    return result


def _write(target: Path, write: Callable[[Path], None]) -> None:
    try:
        write_atomically(target, write)
    except OSError as error:
        raise WeightsError(target, f"could not write the converted weights ({error})") from None
