"""Which files to process and where each result goes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..errors import CodeFormerAppError
from ..imaging import output_path

#: File name endings taken as photos when a folder is given (case-insensitive).
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp"})


@dataclass(frozen=True)
class Job:
    source: Path
    target: Path


def _is_photo(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def plan_files(inputs: Iterable[Path], out_dir: Path, fmt: str | None) -> list[Job]:
    """``restore`` inputs: files as given, folders' photos (not recursive); each to OUTDIR/<file name>."""
    jobs: list[Job] = []
    for item in inputs:
        sources = sorted(p for p in item.iterdir() if _is_photo(p)) if item.is_dir() else [item]
        jobs += [Job(source, output_path(source.name, out_dir, fmt)) for source in sources]
    return jobs


def plan_batch(in_dir: Path, out_dir: Path, fmt: str | None) -> list[Job]:
    """``batch``: every photo under IN_DIR, recursively, mirrored under OUT_DIR."""
    in_dir, out_dir = in_dir.resolve(), out_dir.resolve()
    if not in_dir.is_dir():
        raise CodeFormerAppError(f"{in_dir}: not a folder")
    if out_dir == in_dir or in_dir in out_dir.parents:
        raise CodeFormerAppError(f"{out_dir}: the output folder must not be inside the input folder {in_dir}")
    sources = sorted(p for p in in_dir.rglob("*") if _is_photo(p))
    return [Job(s, output_path(s.name, out_dir / s.parent.relative_to(in_dir), fmt)) for s in sources]
