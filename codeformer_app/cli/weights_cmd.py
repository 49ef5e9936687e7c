"""``codeformer-app weights ...``: list, download, import, verify and locate the weights files.

Every handler returns an exit code: 0 success, 1 a check failed (``verify``, ``path`` of a missing file),
2 bad input or a weights problem (one line on stderr, never a traceback), 130 interrupted. Each handler gets
the registry the parser was built with (the app's own, unless a caller passes another).
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path

from tqdm import tqdm

from ..errors import WeightsError
from ..weights.inventory import WeightsStatus, intact_official_record, verify_installed, weights_status
from ..weights.paths import WEIGHTS_DIR_ENV, installed_path, partial_path, weights_dir
from ..weights.registry import URL_BASE_ENV, Registry, WeightsEntry
from .common import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, print_error

#: A check failed (``verify``), or ``path NAME`` of something not installed.
EXIT_CHECK_FAILED = 1
#: Bad input or a weights problem (the same code as usage errors).
EXIT_ERROR = EXIT_USAGE
#: Answers to the license question that count as acceptance.
ACCEPT_ANSWERS = ("yes", "y")
BYTES_PER_MB = 1_000_000

Handler = Callable[[argparse.Namespace, Registry], int]


def add_weights_parser(subparsers: argparse._SubParsersAction, registry: Registry) -> argparse.ArgumentParser:
    """Add the ``weights`` command on ``registry``; each action sets ``handler``, a function(args) -> exit code."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--weights-dir",
        type=Path,
        metavar="DIR",
        default=argparse.SUPPRESS,
        help=f"weights folder (default: ${WEIGHTS_DIR_ENV}, else the per-user data folder)",
    )
    names = ", ".join(registry.names())
    handles = functools.partial(_handles_errors, registry=registry)
    weights = subparsers.add_parser(
        "weights",
        parents=[common],
        help="list, download, import and verify the network weights",
        description="Manage the network weights: downloaded or imported files are SHA-256 checked and "
        "converted once to .safetensors.",
    )
    weights.set_defaults(handler=functools.partial(_usage, weights))
    actions = weights.add_subparsers(dest="weights_action", metavar="ACTION")

    listing = actions.add_parser("list", parents=[common], help="show every known weights file and its state")
    listing.add_argument("--json", action="store_true", help="print the registry and state as JSON")
    listing.set_defaults(handler=handles(cmd_list))

    fetch = actions.add_parser("download", parents=[common], help="download, check and install official weights")
    fetch.add_argument("name", metavar="NAME", help=f"one of: {names} (or the file name)")
    fetch.add_argument("--accept-license", action="store_true", help="accept the weights' license without asking")
    fetch.add_argument(
        "--url-base",
        metavar="URL",
        default=None,
        help=f"download from this mirror (default: ${URL_BASE_ENV})",
    )
    fetch.set_defaults(handler=handles(cmd_download))

    add = actions.add_parser("import", parents=[common], help="check and install a weights file you already have")
    add.add_argument("file", type=Path, metavar="FILE", help="a .pth or .safetensors file; it is not changed")
    add.add_argument("--name", default=None, help=f"which weights it is, if not recognised: {names}")
    add.add_argument(
        "--force",
        action="store_true",
        help="install a detector/parser/upscaler file that is not the official one",
    )
    add.set_defaults(handler=handles(cmd_import))

    check = actions.add_parser("verify", parents=[common], help="re-check the installed files (exit 1 on failure)")
    check.add_argument("name", nargs="?", metavar="NAME", help="only this entry")
    check.add_argument(
        "--deep", action="store_true", help="also load every file and build the networks (slower: loads PyTorch)"
    )
    check.set_defaults(handler=handles(cmd_verify))

    where = actions.add_parser("path", parents=[common], help="print the weights folder, or one installed file")
    where.add_argument("name", nargs="?", metavar="NAME", help="print this entry's installed file")
    where.set_defaults(handler=handles(cmd_path))
    return weights


def cmd_list(args: argparse.Namespace, registry: Registry) -> int:
    """Print every registry entry: installed or not, size, official or custom, path."""
    folder = _folder(args)
    statuses = weights_status(folder, registry)
    if args.json:
        print(json.dumps({"weights_dir": str(folder), "weights": [s.to_json() for s in statuses]}, indent=2))
        return EXIT_OK
    print(f"Weights folder: {folder}")
    for status in statuses:
        print(_list_line(status))
    return EXIT_OK


def cmd_download(args: argparse.Namespace, registry: Registry) -> int:
    """Show the license, then download, check and convert the official file."""
    entry = registry.find(args.name)
    folder = _folder(args)
    if not _license_accepted(entry, args.accept_license):
        return EXIT_ERROR
    if intact_official_record(entry, folder) is not None:
        print(f"{entry.name}: the official file is already installed: {installed_path(entry, folder)}")
        return EXIT_OK
    from ..weights.install import install_official  # the HTTP client, only when downloading

    print(f"Downloading {entry.file_name} ({_megabytes(entry.size)}) from {entry.url(args.url_base)}")
    progress = _ProgressBar(entry.file_name)
    try:
        record = install_official(entry, folder, registry=registry, url_base=args.url_base, progress=progress)
    except KeyboardInterrupt:
        part = partial_path(entry, folder)
        if part.is_file() and part.stat().st_size:
            _error(f"{part}: download stopped; the bytes received so far are kept, run the same command to resume")
        else:
            _error("download stopped before anything arrived; nothing was kept")
        return EXIT_INTERRUPTED
    finally:
        progress.close()
    checked = (
        "SHA-256 checked"
        if entry.pinned
        else "no published SHA-256: this download's hash is recorded and checked from now on"
    )
    print(f"Installed {entry.name} (official, {checked}): {folder / record.file}")
    return EXIT_OK


def cmd_import(args: argparse.Namespace, registry: Registry) -> int:
    """Check a local file and install its safetensors conversion; the file itself is left as it is."""
    from ..weights.install import import_weights

    folder = _folder(args)
    record = import_weights(args.file, folder, registry=registry, name=args.name, force=args.force)
    entry = registry.find(record.name)
    kind = "official" if record.official else "custom, not the official file"
    print(f"Imported {args.file} as {record.name} ({kind}): {folder / record.file}")
    print("The original file was not changed.")
    if entry.license.requires_acceptance:
        terms = entry.license
        print(f"Note: the {entry.name} weights are under the {terms.name} ({terms.summary}): {terms.url}")
    return EXIT_OK


def cmd_verify(args: argparse.Namespace, registry: Registry) -> int:
    """Recompute hashes (with ``--deep`` also load the files and build CodeFormer); exit 1 if anything fails."""
    folder = _folder(args)
    results = verify_installed(folder, registry, args.name, deep=args.deep)
    if not results:
        print(f"No weights are installed in {folder}.")
        return EXIT_OK
    for result in results:
        print(f"{result.name}: {'OK' if result.ok else 'FAILED'} ({result.path}): {result.message}")
    return EXIT_OK if all(result.ok for result in results) else EXIT_CHECK_FAILED


def cmd_path(args: argparse.Namespace, registry: Registry) -> int:
    """Print the weights folder, or the installed file of one entry (exit 1 if it is not installed)."""
    folder = _folder(args)
    if args.name is None:
        print(folder)
        return EXIT_OK
    path = installed_path(registry.find(args.name), folder)
    print(path)
    if not path.is_file():
        _error(f"{path}: not installed")
        return EXIT_CHECK_FAILED
    return EXIT_OK


def _handles_errors(handler: Handler, registry: Registry) -> Callable[[argparse.Namespace], int]:
    """The handler on ``registry``, with a WeightsError turned into one line on stderr and exit code 2."""

    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args, registry)
        except WeightsError as error:
            _error(str(error))
            return EXIT_ERROR

    return run


def _usage(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    parser.print_help(sys.stderr)
    return EXIT_ERROR


def _folder(args: argparse.Namespace) -> Path:
    return weights_dir(getattr(args, "weights_dir", None))


def _error(message: str) -> None:
    """One line on stderr, whatever line breaks the message carries."""
    print_error(" ".join(message.split()))


def _stdin_is_interactive() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def _license_accepted(entry: WeightsEntry, accepted_by_flag: bool) -> bool:
    """Show the license; True when accepted by flag or, on a terminal, by answering yes."""
    license_ = entry.license
    print(f"License of {entry.file_name}: {license_.name} ({license_.summary})")
    if not license_.requires_acceptance:
        return True
    print(license_.notice)
    print(f"Full text: {license_.url}")
    if accepted_by_flag:
        return True
    if not _stdin_is_interactive():
        _error(
            f"the {entry.name} weights are under the {license_.name} ({license_.summary}); "
            "pass --accept-license to accept it and download"
        )
        return False
    answer = input("Type 'yes' to accept this license and download: ")
    if answer.strip().lower() in ACCEPT_ANSWERS:
        return True
    _error("license not accepted; nothing was downloaded")
    return False


def _list_line(status: WeightsStatus) -> str:
    entry = status.entry
    if status.installed:
        size = status.path.stat().st_size
        state = f"installed, {status.origin}"
        where = str(status.path)
    else:
        size = entry.size
        state = "not installed"
        where = f"(download: {entry.url()})"
    return f"  {entry.name:<23} {state:<40} {_megabytes(size):>12}  {where}  [{entry.license.name}]"


def _megabytes(size: int | None) -> str:
    return "size unknown" if size is None else f"{size / BYTES_PER_MB:.1f} MB"


class _ProgressBar:
    """Adapts the downloader's ``(done, total)`` callback to a tqdm bar on stderr."""

    def __init__(self, label: str) -> None:
        self._label = label
        self._bar: tqdm | None = None
        self._shown = 0

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            self._bar = tqdm(
                total=total,
                initial=done,
                desc=self._label,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                file=sys.stderr,
                disable=None,
            )
            self._shown = done
            return
        if done < self._shown:  # the server could not resume: the download started over
            self._bar.reset(total=total)
            self._shown = 0
        self._bar.update(done - self._shown)
        self._shown = done

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
