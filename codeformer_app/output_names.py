"""Where results go: the input's name in the output folder, or the next free name when that one is taken.

Plain Python (no numpy, PyTorch or Qt), so the command line can plan every output before loading anything.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

from .defaults import FORMAT_SUFFIXES, RESTORED_TAG, format_name

#: A name is free when no file has it and no other output of the run was given it.
MayReplace = Callable[[Path], bool]


def output_path(
    input_name: str | Path, out_dir: Path | str, fmt: str | None = None, source_format: str | None = None
) -> Path:
    """Where the result of ``input_name`` goes in ``out_dir``: the same file name.

    The extension changes only when ``fmt`` is given, or when ``source_format`` (the format the file really
    holds) does not match the extension; a matching extension is kept as it is (``.JPEG`` stays). Only the
    last component of ``input_name`` is used, so a name can never point outside ``out_dir``.
    """
    name = Path(input_name).name
    target = format_name(fmt) if fmt else source_format
    if target is None or Path(name).suffix.lower() in FORMAT_SUFFIXES[target]:
        return Path(out_dir) / name
    return Path(out_dir) / (Path(name).stem + FORMAT_SUFFIXES[target][0])


def name_key(path: Path) -> str:
    """How two output names are compared: case-folded, so ``A.png`` and ``a.png`` never share a file on the
    case-insensitive disks of Windows and macOS."""
    return os.path.normcase(os.path.abspath(path)).casefold()


def candidate_names(planned: Path) -> Iterator[Path]:
    """``photo.png``, then ``photo-restored.png``, ``photo-restored-2.png``, ``photo-restored-3.png`` ..."""
    yield planned
    yield planned.with_name(f"{planned.stem}{RESTORED_TAG}{planned.suffix}")
    number = 2
    while True:
        yield planned.with_name(f"{planned.stem}{RESTORED_TAG}-{number}{planned.suffix}")
        number += 1


def free_name(planned: Path, taken: set[str], may_replace: MayReplace | None = None) -> Path:
    """The first of :func:`candidate_names` that no other output of this run has and that is not an existing
    file (unless ``may_replace`` allows replacing that file). The name returned is added to ``taken``."""
    for candidate in candidate_names(planned):
        key = name_key(candidate)
        if key in taken:
            continue
        if os.path.lexists(candidate) and not (may_replace is not None and may_replace(candidate)):
            continue
        taken.add(key)
        return candidate
    raise AssertionError("unreachable: candidate_names never ends")
