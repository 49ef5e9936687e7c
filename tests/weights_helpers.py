"""Shared helpers for the weights tests: a local HTTP file server, tiny checkpoints, test registry entries."""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch

from codeformer_app.networks.codeformer import CodeFormer, CodeFormerConfig
from codeformer_app.weights.registry import CODEFORMER, DEFAULT_REGISTRY, License, NetworkKind, Registry, WeightsEntry

#: Smallest CodeFormer the network code accepts; builds in milliseconds.
TINY_CONFIG = {
    "img_size": 32,
    "nf": 32,
    "ch_mult": (1, 1, 2),
    "attn_resolutions": (8,),
    "latent_size": 64,
    "connect_list": (16, 32),
    "emb_dim": 32,
    "dim_embd": 32,
    "n_layers": 1,
    "codebook_size": 16,
}
#: Bytes the server writes per socket write; small enough that cuts land mid-file.
SERVE_CHUNK = 64 * 1024
#: How often the server thread checks for shutdown.
POLL_S = 0.02
TEST_LICENSE = License(name="Test License", url="http://127.0.0.1/LICENSE", summary="tests only", notice="Test.")
_RANGE = re.compile(r"^bytes=(\d+)-$")


def tiny_state_dict(seed: int = 0) -> dict[str, torch.Tensor]:
    """State dict of a tiny CodeFormer with seeded random weights."""
    torch.manual_seed(seed)
    return CodeFormer(CodeFormerConfig(**TINY_CONFIG)).state_dict()


def save_tiny_pth(path: Path, seed: int = 0) -> Path:
    """A tiny CodeFormer checkpoint saved the way the official one is (under ``params_ema``)."""
    torch.save({"params_ema": tiny_state_dict(seed)}, path)
    return path


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def entry_for(
    data: bytes,
    file_name: str,
    *,
    name: str | None = None,
    kind: NetworkKind = NetworkKind.PARSENET,
    requires_acceptance: bool = False,
    keep_original: bool = False,
) -> WeightsEntry:
    """A registry entry whose official file is ``data`` (size and SHA-256 computed here)."""
    license_ = License(
        name=TEST_LICENSE.name,
        url=TEST_LICENSE.url,
        summary=TEST_LICENSE.summary,
        notice=TEST_LICENSE.notice,
        requires_acceptance=requires_acceptance,
    )
    return WeightsEntry(
        name=name or file_name.rsplit(".", 1)[0].lower(),
        file_name=file_name,
        url_base="http://127.0.0.1:9/unused/",
        size=len(data),
        sha256=sha256_bytes(data),
        kind=kind,
        license=license_,
        description="test file",
        keep_original=keep_original,
    )


def codeformer_entry_for(data: bytes) -> WeightsEntry:
    """The CodeFormer entry, with ``data`` as its official file (keeps the real license and name)."""
    return WeightsEntry(
        name=CODEFORMER.name,
        file_name=CODEFORMER.file_name,
        url_base="http://127.0.0.1:9/unused/",
        size=len(data),
        sha256=sha256_bytes(data),
        kind=NetworkKind.CODEFORMER,
        license=CODEFORMER.license,
        description=CODEFORMER.description,
        required=True,
    )


def registry_with(*entries: WeightsEntry) -> Registry:
    """The app's registry with ``entries`` replacing those of the same name (or added), for one test to pass."""
    return DEFAULT_REGISTRY.with_entries(*entries)


@dataclass
class ServedRequest:
    path: str
    range: str | None


@dataclass
class ServerState:
    """Files to serve and switches that simulate misbehaving servers."""

    files: dict[str, bytes] = field(default_factory=dict)
    #: Close the connection after this many body bytes of the next response (one shot).
    cut_after: int | None = None
    #: Answer every request with the whole file (200), as servers without Range support do.
    ignore_range: bool = False
    #: Serve the file with one byte flipped.
    corrupt: bool = False
    #: Send the headers, then wait this long before any body byte.
    stall_s: float = 0.0
    requests: list[ServedRequest] = field(default_factory=list)
    bytes_sent: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        state = self.server.state
        range_header = self.headers.get("Range")
        with state.lock:
            state.requests.append(ServedRequest(self.path, range_header))
            cut, state.cut_after = state.cut_after, None
        body = state.files.get(self.path.lstrip("/"))
        if body is None:
            self.send_error(404)
            return
        if state.corrupt:
            middle = len(body) // 2
            body = body[:middle] + bytes([body[middle] ^ 0xFF]) + body[middle + 1 :]
        start = 0
        match = _RANGE.match(range_header or "")
        if match and not state.ignore_range:
            start = int(match.group(1))
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        if state.stall_s and state.stop.wait(state.stall_s):
            return
        payload = body[start:] if cut is None else body[start : start + cut]
        try:
            for offset in range(0, len(payload), SERVE_CHUNK):
                piece = payload[offset : offset + SERVE_CHUNK]
                self.wfile.write(piece)
                with state.lock:
                    state.bytes_sent += len(piece)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            # The client went away (a cancel or a timeout under test): nothing more to send.
            self.close_connection = True
            return
        if cut is not None:
            self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: ServerState


def bypass_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make sure requests to 127.0.0.1 never go through a proxy configured in the environment."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


def use_weights_folder(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the app at ``folder`` instead of the user's weights folder, with the official URL base."""
    monkeypatch.setenv("CODEFORMER_APP_WEIGHTS_DIR", str(folder))
    monkeypatch.delenv("CODEFORMER_APP_WEIGHTS_URL_BASE", raising=False)
    return folder


class FileServer:
    """HTTP server on 127.0.0.1 with an ephemeral port, in a background thread."""

    def __init__(self) -> None:
        self.state = ServerState()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.state = self.state
        self._thread = threading.Thread(target=self._server.serve_forever, args=(POLL_S,), daemon=True)

    @property
    def url_base(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def start(self) -> FileServer:
        self._thread.start()
        return self

    def __enter__(self) -> FileServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.state.stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
