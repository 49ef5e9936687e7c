"""Downloads from a real HTTP server on 127.0.0.1: progress, resume, hash check, cancel, faults."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from weights_helpers import FileServer, bypass_proxies, entry_for

from codeformer_app.errors import WeightsError
from codeformer_app.weights.download import DownloadCancelled, download
from codeformer_app.weights.paths import download_path, partial_path
from codeformer_app.weights.registry import URL_BASE_ENV

#: Generic payload: random bytes, several chunks long.
PAYLOAD = os.urandom(600_000)
SMALL_CHUNK = 32 * 1024


@pytest.fixture
def served(monkeypatch):
    """A local server with PAYLOAD published as ``test.bin``, and its registry entry."""
    bypass_proxies(monkeypatch)
    with FileServer() as server:
        server.state.files["test.bin"] = PAYLOAD
        yield server, entry_for(PAYLOAD, "test.bin")


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_download_reports_monotonic_progress_up_to_the_total(served, tmp_path):
    server, entry = served
    seen: list[tuple[int, int]] = []

    path = download(
        entry,
        tmp_path,
        url_base=server.url_base,
        progress=lambda done, total: seen.append((done, total)),
        chunk_bytes=SMALL_CHUNK,
    )

    assert path == download_path(entry, tmp_path)
    assert path.read_bytes() == PAYLOAD
    dones = [done for done, _ in seen]
    assert dones == sorted(dones)
    assert dones[-1] == len(PAYLOAD)
    assert {total for _, total in seen} == {len(PAYLOAD)}
    assert len(seen) > 2
    assert leftovers(tmp_path) == ["test.bin"]


def test_url_base_comes_from_the_environment(served, tmp_path, monkeypatch):
    server, entry = served
    monkeypatch.setenv(URL_BASE_ENV, server.url_base)

    assert download(entry, tmp_path).read_bytes() == PAYLOAD
    assert server.state.requests[0].path == "/test.bin"


def test_cut_transfer_keeps_part_and_next_call_resumes_with_range(served, tmp_path):
    server, entry = served
    cut = 200_000
    server.state.cut_after = cut

    with pytest.raises(WeightsError) as caught:
        download(entry, tmp_path, url_base=server.url_base, chunk_bytes=SMALL_CHUNK)

    part = partial_path(entry, tmp_path)
    assert "run the download again to resume" in str(caught.value)
    assert str(part) in str(caught.value)
    assert leftovers(tmp_path) == ["test.bin.part"]
    kept = part.stat().st_size
    assert 0 < kept <= cut

    path = download(entry, tmp_path, url_base=server.url_base, chunk_bytes=SMALL_CHUNK)

    assert path.read_bytes() == PAYLOAD
    assert leftovers(tmp_path) == ["test.bin"]
    assert [r.range for r in server.state.requests] == [None, f"bytes={kept}-"]
    assert len(PAYLOAD) <= server.state.bytes_sent <= len(PAYLOAD) + SMALL_CHUNK


def test_hash_mismatch_is_refused_and_leaves_nothing(served, tmp_path):
    server, entry = served
    server.state.corrupt = True

    with pytest.raises(WeightsError) as caught:
        download(entry, tmp_path, url_base=server.url_base)

    message = str(caught.value)
    assert entry.sha256 in message
    assert "expected" in message and "got" in message
    assert leftovers(tmp_path) == []


def test_server_ignoring_range_restarts_cleanly(served, tmp_path):
    server, entry = served
    server.state.cut_after = 100_000
    with pytest.raises(WeightsError):
        download(entry, tmp_path, url_base=server.url_base, chunk_bytes=SMALL_CHUNK)
    assert partial_path(entry, tmp_path).is_file()
    server.state.ignore_range = True
    seen: list[int] = []

    path = download(entry, tmp_path, url_base=server.url_base, progress=lambda done, _: seen.append(done))

    assert path.read_bytes() == PAYLOAD
    assert server.state.requests[-1].range is not None  # asked to resume, got the whole file
    assert seen[-1] == len(PAYLOAD)
    assert leftovers(tmp_path) == ["test.bin"]


def test_stale_part_with_server_answering_416_starts_over(served, tmp_path):
    server, entry = served
    # The server's file shrank since the partial download: a resume asks for bytes past its end.
    server.state.files["test.bin"] = PAYLOAD[:1000]
    partial_path(entry, tmp_path).write_bytes(PAYLOAD[:5000])

    with pytest.raises(WeightsError, match="offers 1,000 bytes"):
        download(entry, tmp_path, url_base=server.url_base)

    assert [r.range for r in server.state.requests] == ["bytes=5000-", None]
    assert leftovers(tmp_path) == []


def test_wrong_size_is_refused_from_the_headers(served, tmp_path):
    server, entry = served
    server.state.files["test.bin"] = PAYLOAD + b"extra"

    with pytest.raises(WeightsError, match=r"offers 600,005 bytes but the official test.bin has 600,000"):
        download(entry, tmp_path, url_base=server.url_base)
    assert leftovers(tmp_path) == []


def test_cancel_stops_and_keeps_the_part(served, tmp_path):
    server, entry = served
    calls = []

    def cancel_after_two_chunks() -> bool:
        calls.append(1)
        return len(calls) >= 2

    with pytest.raises(DownloadCancelled, match="download cancelled"):
        download(
            entry,
            tmp_path,
            url_base=server.url_base,
            cancelled=cancel_after_two_chunks,
            chunk_bytes=SMALL_CHUNK,
        )

    assert leftovers(tmp_path) == ["test.bin.part"]
    assert partial_path(entry, tmp_path).stat().st_size == 2 * SMALL_CHUNK
    path = download(entry, tmp_path, url_base=server.url_base)
    assert path.read_bytes() == PAYLOAD


def test_timeout_is_a_clear_error_and_keeps_the_part(served, tmp_path):
    server, entry = served
    partial_path(entry, tmp_path).write_bytes(PAYLOAD[:1234])
    server.state.stall_s = 5.0

    with pytest.raises(WeightsError, match=r"timed out|failed") as caught:
        download(entry, tmp_path, url_base=server.url_base, timeout=(2.0, 0.3))

    assert "1,234 of 600,000 bytes received so far are kept" in str(caught.value)
    assert partial_path(entry, tmp_path).read_bytes() == PAYLOAD[:1234]


def test_unreachable_server_is_a_clear_error(tmp_path):
    entry = entry_for(PAYLOAD, "test.bin")

    with pytest.raises(WeightsError) as caught:
        download(entry, tmp_path, url_base="http://127.0.0.1:9/", timeout=(2.0, 2.0))
    message = str(caught.value)
    assert "could not reach 127.0.0.1:9" in message
    assert "download http://127.0.0.1:9/test.bin in a browser" in message
    assert "codeformer-app weights import" in message
    assert ".part" not in message and "urllib3" not in message and "HTTPConnection" not in message
    assert leftovers(tmp_path) == []


def test_http_error_status_is_reported(served, tmp_path):
    server, _ = served
    missing = entry_for(b"other", "missing.bin")

    with pytest.raises(WeightsError, match="answered HTTP 404"):
        download(missing, tmp_path, url_base=server.url_base)
    assert leftovers(tmp_path) == []


def test_already_downloaded_file_is_not_fetched_again(served, tmp_path):
    server, entry = served
    download(entry, tmp_path, url_base=server.url_base)

    download(entry, tmp_path, url_base=server.url_base)

    assert len(server.state.requests) == 1
