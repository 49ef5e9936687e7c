"""Which files to process and where each result goes, decided before any network is loaded.

Two rules hold here: a file this run did not make is never replaced (a taken name gives the next free name,
``photo-restored.png``, unless ``overwrite``), and every mistake in what the user gave us (a missing input, a
folder without photos, an output folder that cannot be written) is found now, as a ``PlanError``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..defaults import OUTPUT_FORMAT_NAMES, is_photo_name
from ..errors import CodeFormerAppError
from ..output_names import free_name, name_key, output_path
from ..video import VIDEO_OUTPUT_FORMATS, is_video_name, video_output_path


class PlanError(CodeFormerAppError):
    """What the user asked for cannot be done as given; nothing was started (exit code 2)."""


@dataclass(frozen=True)
class Job:
    source: Path
    target: Path
    done: bool = False
    """Finished by an earlier run of the same batch: skipped, its output left as it is."""
    planned: Path | None = None
    """The name the target would have had, when that name was taken and a free one was chosen instead."""


def absolute(path: Path) -> Path:
    """Absolute, with ``..`` removed, symbolic links kept as named (what the report shows)."""
    return Path(os.path.abspath(path))


def is_input_name(path: Path) -> bool:
    """A photo or a video, by its name (hidden files never: our own work files are hidden)."""
    return is_photo_name(path) or is_video_name(path)


def _photos_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and is_input_name(p))


def result_name(source: Path, out_dir: Path, fmt: str | None) -> Path:
    """Where ``source``'s result goes: a photo keeps its name (its format unless ``fmt`` is a photo format), a
    video becomes ``<stem>.mp4`` (or ``fmt`` when it is a video format)."""
    if is_video_name(source):
        return video_output_path(source, out_dir, fmt if fmt in VIDEO_OUTPUT_FORMATS else None)
    return output_path(source.name, out_dir, fmt if fmt in OUTPUT_FORMAT_NAMES else None)


def check_output_folder(folder: Path) -> None:
    """The output folder exists and takes new files, or can be created; ``PlanError`` says why not.

    Writes a probe file (and removes it) because permission bits do not tell: a read-only disk, or a folder
    the user may not write into, only shows when writing is tried. Nothing is left behind.
    """
    folder = absolute(folder)
    existing = folder
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise PlanError(f"{folder}: cannot be the output folder: {existing} is a file, not a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=".codeformer-probe-", dir=existing)
    except OSError as error:
        what = "is not writable" if existing == folder else f"cannot be created in {existing}"
        raise PlanError(f"{folder}: the output folder {what} ({error.strerror or error})") from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)


def plan_files(inputs: Iterable[Path], out_dir: Path, fmt: str | None, overwrite: bool = False) -> list[Job]:
    """``restore`` inputs: files as given, folders' photos (not recursive); each to OUTDIR/<file name>.

    The same file given twice is done once. Two inputs with one output name get different names. An existing
    file is replaced only with ``overwrite``, and never when it is one of the inputs.
    """
    out_dir = absolute(out_dir)
    sources: list[Path] = []
    for item in inputs:
        item = absolute(item)
        if item.is_dir():
            if item == out_dir:
                raise PlanError(f"{item}: the output folder is this input folder; choose another output folder")
            found = _photos_in(item)
            if not found:
                raise PlanError(f"no photos or videos found in {item}")
            sources += found
        elif item.is_file():
            sources.append(item)
        elif item.exists():
            raise PlanError(f"{item}: not a file or a folder")
        else:
            raise PlanError(f"{item}: no such file or folder")
    unique: list[Path] = []
    inputs_by_key: set[str] = set()
    for source in sources:
        key = name_key(source.resolve())
        if key not in inputs_by_key:
            inputs_by_key.add(key)
            unique.append(source)

    def may_replace(path: Path) -> bool:
        return overwrite and name_key(path.resolve()) not in inputs_by_key

    taken: set[str] = set()
    return [_job(source, result_name(source, out_dir, fmt), taken, may_replace) for source in unique]


def plan_batch(in_dir: Path, out_dir: Path, fmt: str | None, finished: Mapping[str, str] | None = None) -> list[Job]:
    """``batch``: every photo under IN_DIR, recursively, mirrored under OUT_DIR.

    ``finished`` (input path -> output path, from :mod:`.journal`) names the outputs earlier runs made: a job
    whose output is there is done. Any other file in the way is left alone and the result takes a free name.
    """
    in_dir, out_dir = absolute(in_dir), absolute(out_dir)
    if not in_dir.is_dir():
        raise PlanError(f"{in_dir}: not a folder" if in_dir.exists() else f"{in_dir}: no such folder")
    if out_dir == in_dir or in_dir in out_dir.parents:
        raise PlanError(f"{out_dir}: the output folder must not be inside the input folder {in_dir}")
    sources = sorted(p for p in in_dir.rglob("*") if p.is_file() and is_input_name(p) and not _in_hidden(p, in_dir))
    if not sources:
        raise PlanError(f"no photos or videos found in {in_dir}")
    recorded = {name_key(Path(source).resolve()): Path(target) for source, target in (finished or {}).items()}
    earlier = {}
    for source in sources:
        target = recorded.get(name_key(source.resolve()))
        if target is not None and target.is_file():
            earlier[source] = target
    taken = {name_key(target) for target in earlier.values()}
    jobs = []
    for source in sources:
        if source in earlier:
            jobs.append(Job(source, earlier[source], done=True))
        else:
            planned = result_name(source, out_dir / source.parent.relative_to(in_dir), fmt)
            jobs.append(_job(source, planned, taken, None))
    return jobs


def _in_hidden(path: Path, root: Path) -> bool:
    """Inside a hidden folder (e.g. a video's work folder of segments)."""
    return any(part.startswith(".") for part in path.relative_to(root).parent.parts)


def _job(source: Path, planned: Path, taken: set[str], may_replace) -> Job:
    target = free_name(planned, taken, may_replace)
    return Job(source, target, planned=planned if target != planned else None)
