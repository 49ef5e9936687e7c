"""Download one registry file: streamed, resumable, SHA-256 checked, placed atomically.

No user interface here: progress goes to a callback ``(done_bytes, total_bytes)`` and cancellation is asked
of a callable, so the CLI (tqdm, Ctrl-C) and a GUI worker (signals, a Cancel button) share this code.

Bytes arrive in ``NAME.part`` next to the final file. If the transfer stops (timeout, dropped connection,
cancel), the ``.part`` stays and the next call asks the server only for the rest (HTTP Range). Only a file
whose size and SHA-256 match the registry is renamed to its final name; a mismatch deletes the ``.part``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import requests

from ..errors import OperationCancelled, WeightsError
from .files import rename_into_place, sha256_file
from .paths import download_path, ensure_folder, partial_path
from .registry import WeightsEntry

ProgressCallback = Callable[[int, int], None]
CancelCheck = Callable[[], bool]

#: Bytes read from the network per step; also how often progress and cancellation are checked.
DEFAULT_CHUNK_BYTES = 1 << 20
#: Seconds to wait for the server to accept the connection, and for each read once connected.
CONNECT_TIMEOUT_S = 15.0
READ_TIMEOUT_S = 60.0
#: How many times one call starts over from byte 0 when the server cannot resume (HTTP 416).
MAX_RESTARTS = 1

_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")


class DownloadCancelled(WeightsError, OperationCancelled):
    """The caller cancelled; the ``.part`` file is kept so the next download resumes."""


def download(
    entry: WeightsEntry,
    folder: Path,
    *,
    url_base: str | None = None,
    progress: ProgressCallback | None = None,
    cancelled: CancelCheck | None = None,
    session: requests.Session | None = None,
    timeout: tuple[float, float] = (CONNECT_TIMEOUT_S, READ_TIMEOUT_S),
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    expected_sha256: str | None = None,
) -> Path:
    """Fetch ``entry`` into ``folder`` and return the path of the verified file.

    The file must have the registry's SHA-256, or ``expected_sha256`` for an entry whose hash nobody has
    published (the hash recorded at its first download); with neither, the first download is taken as it is.
    ``progress`` may see ``done`` go back to 0 once, when a server that ignores Range makes the download
    start over. Raises ``WeightsError`` (``DownloadCancelled`` on cancel) with the reason and what to do.
    """
    ensure_folder(folder)
    final = download_path(entry, folder)
    expected = entry.sha256 or expected_sha256
    if final.is_file() and expected is not None and sha256_file(final) == expected:
        _report(progress, final.stat().st_size, final.stat().st_size)
        return final
    part = partial_path(entry, folder)
    url = entry.url(url_base)
    http = session or requests.Session()
    try:
        for _ in range(MAX_RESTARTS + 1):
            if _transfer(http, url, final, entry, progress, cancelled, timeout, chunk_bytes):
                break
        else:
            raise WeightsError(final, f"the server at {url} refuses to send the file (HTTP 416 every time)")
    finally:
        if session is None:
            http.close()
    _verify_and_place(entry, part, final, expected)
    return final


def _transfer(
    http: requests.Session,
    url: str,
    final: Path,
    entry: WeightsEntry,
    progress: ProgressCallback | None,
    cancelled: CancelCheck | None,
    timeout: tuple[float, float],
    chunk_bytes: int,
) -> bool:
    """One request; False when the partial file was discarded and the caller should start over.

    Errors that keep the ``.part`` name it; errors that leave nothing name the final file.
    """
    part = partial_path(entry, final.parent)
    start = part.stat().st_size if part.is_file() else 0
    if entry.size is not None and start > entry.size:
        part.unlink()
        start = 0
    if start and start == entry.size:
        return True
    headers = {"Accept-Encoding": "identity"}
    if start:
        headers["Range"] = f"bytes={start}-"
    done = start
    connected = False
    try:
        with http.get(url, headers=headers, stream=True, timeout=timeout) as response:
            connected = True
            if response.status_code == requests.codes.requested_range_not_satisfiable:
                part.unlink(missing_ok=True)
                return False
            done, total = _start_offset(response, start, entry, url, final)
            _report(progress, done, total)
            with open(part, "ab" if done else "wb") as out:
                for chunk in response.iter_content(chunk_bytes):
                    done += len(chunk)
                    if total and done > total:
                        out.close()
                        part.unlink()
                        raise WeightsError(
                            final,
                            f"{url} sent more than the expected {total:,} bytes; download discarded",
                        )
                    out.write(chunk)
                    _report(progress, done, total)
                    if cancelled is not None and cancelled():
                        raise DownloadCancelled(part, _kept("download cancelled", part, entry, done))
    except (requests.ConnectionError, requests.Timeout) as error:
        if not connected:
            raise WeightsError(final, _unreachable(url, entry, part)) from None
        # requests reports a read timeout in the middle of the body as a ConnectionError
        lost = "timed out" if "timed out" in str(error).lower() else "dropped the connection"
        what = f"{_host(url)} {lost} during the download"
        raise WeightsError(_named(part, final), _kept(what, part, entry)) from None
    except requests.RequestException as error:
        what = f"the download from {url} failed ({type(error).__name__})"
        raise WeightsError(_named(part, final), _kept(what, part, entry)) from None
    except OSError as error:
        what = f"could not write the download ({error.strerror or error})"
        raise WeightsError(_named(part, final), _kept(what, part, entry)) from None
    if total and done < total:
        raise WeightsError(part, _kept(f"{url} closed the connection before the end of the file", part, entry))
    return True


def _start_offset(
    response: requests.Response, start: int, entry: WeightsEntry, url: str, final: Path
) -> tuple[int, int]:
    """(byte offset the body starts at, the file's whole size or 0 when unknown); checks the server offers the
    file the registry describes."""
    part = partial_path(entry, final.parent)
    status = response.status_code
    if status == requests.codes.partial_content:
        match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
        if not match or int(match.group(1)) != start:
            part.unlink(missing_ok=True)
            raise WeightsError(final, f"{url} answered a resume request with an unusable range; run again")
        total = match.group(3)
        if total != "*" and entry.size is not None and int(total) != entry.size:
            part.unlink(missing_ok=True)
            raise WeightsError(final, _size_mismatch(url, int(total), entry))
        return start, int(total) if total != "*" else entry.size or 0
    if status == requests.codes.ok:
        # A plain 200 is the whole file from byte 0, also when we asked for a range: start over cleanly.
        length = response.headers.get("Content-Length")
        offered = int(length) if length is not None and length.isdigit() else None
        if offered is not None and entry.size is not None and offered != entry.size:
            part.unlink(missing_ok=True)
            raise WeightsError(final, _size_mismatch(url, offered, entry))
        return 0, entry.size or offered or 0
    raise WeightsError(final, f"{url} answered HTTP {status} {response.reason}; the file could not be downloaded")


def _verify_and_place(entry: WeightsEntry, part: Path, final: Path, expected: str | None) -> None:
    actual = sha256_file(part)
    if expected is not None and actual != expected:
        part.unlink()
        raise WeightsError(
            final,
            f"the downloaded file is not the official {entry.file_name} (SHA-256 expected {expected}, "
            f"got {actual}); it was deleted. Try again; if this repeats, the server sends a different file",
        )
    rename_into_place(part, final)


def _report(progress: ProgressCallback | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)


def _size_mismatch(url: str, offered: int, entry: WeightsEntry) -> str:
    return (
        f"{url} offers {offered:,} bytes but the official {entry.file_name} has {entry.size:,} bytes; download refused"
    )


def _host(url: str) -> str:
    return urlsplit(url).netloc or url


def _named(part: Path, final: Path) -> Path:
    """The file an error is about: the partial download when one is kept, else the file we wanted."""
    return part if part.is_file() else final


def _manual_route(url: str, entry: WeightsEntry) -> str:
    return (
        f"To install it without this connection, download {url} in a browser (or on another computer) "
        f"and run `codeformer-app weights import /path/to/{entry.file_name}`"
    )


def _unreachable(url: str, entry: WeightsEntry, part: Path) -> str:
    """No connection at all: say so plainly, and what to do instead."""
    kept = ""
    if part.is_file() and part.stat().st_size:
        kept = f" The {part.stat().st_size:,} bytes received earlier are kept in {part.name} for a later resume."
    return (
        f"could not reach {_host(url)} (no internet connection, or the host is blocked).{kept} "
        f"{_manual_route(url, entry)}."
    )


def _kept(what: str, part: Path, entry: WeightsEntry, done: int | None = None) -> str:
    """``what`` went wrong, and whether the bytes received so far are kept for a resume."""
    received = done if done is not None else (part.stat().st_size if part.is_file() else 0)
    if received and part.is_file():
        return (
            f"{what}; the {received:,}{f' of {entry.size:,}' if entry.size else ''} bytes received so far are kept, "
            "run the download again to resume"
        )
    return f"{what}; nothing was kept, run the download again. {_manual_route(entry.url(), entry)}"
