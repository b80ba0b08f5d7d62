"""Models from an https:// URL against a loopback HTTP server that drops connections and serves ranges.

The server (``http.server`` on 127.0.0.1) answers ``Range: bytes=N-`` with 206, can cut the body
of the first requests off midway, and records every request, so the tests see the download
resume where it stopped, the cache spare a second download, and a wrong digest publish nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from pydantic import ValidationError

from tests.support.fakes import MemoryStore
from tests.support.large_onnx import write_large_onnx
from triton_platform.publisher import http_source, pipeline
from triton_platform.publisher.errors import ModelSourceError
from triton_platform.publisher.progress import NullProgress, Progress
from triton_platform.publisher.spec import ModelSpec

MiB = 1024 * 1024


@dataclass
class Served:
    """What the loopback server serves and does; ``requests`` records (path, Range header)."""

    files: dict[str, bytes]
    drop_first: int = 0  # this many GETs are cut off after ``drop_after`` bytes
    drop_after: int = 0
    honor_range: bool = True
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    url: str = ""


@contextlib.contextmanager
def http_files(served: Served) -> Iterator[Served]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: object) -> None:
            pass

        def do_GET(self) -> None:
            served.requests.append((self.path, self.headers.get("Range")))
            data = served.files.get(self.path)
            if data is None:
                self.send_error(404)
                return
            start = 0
            ranged = self.headers.get("Range")
            if ranged and served.honor_range:
                start = int(ranged.removeprefix("bytes=").split("-", 1)[0])
                if start >= len(data):
                    self.send_error(416)
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            body = data[start:]
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if served.drop_first > 0:
                served.drop_first -= 1
                self.wfile.write(body[: served.drop_after])
                self.wfile.flush()
                # The link drops: no more bytes, the socket closed under the client.
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    served.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.fixture
def model_bytes(tmp_path: Path) -> bytes:
    return write_large_onnx(tmp_path / "src" / "model.onnx", 3 * MiB).read_bytes()


@pytest.fixture
def cache_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("TRITON_PLATFORM_CACHE_DIR", str(root))
    return root


def _spec(url: str, sha: str, name: str = "web") -> ModelSpec:
    return ModelSpec(name=name, source=url, format="onnx", sha256=sha, max_batch_size=8, instance_kind="cpu")


def test_downloaded_once_verified_and_served_from_the_cache(model_bytes: bytes, cache_root: Path) -> None:
    sha = hashlib.sha256(model_bytes).hexdigest()
    with http_files(Served({"/m/model.onnx": model_bytes})) as served:
        spec = _spec(served.url + "/m/model.onnx", sha)
        lines: list[str] = []
        path = http_source.fetch(spec, Progress(interactive=False, log=lines.append))
        assert path.read_bytes() == model_bytes
        assert path == cache_root / "downloads" / f"{sha}.onnx"
        assert any(line.startswith(f"done download {served.url}/m/model.onnx") for line in lines)
        again = http_source.fetch(spec, NullProgress())
    assert again == path
    assert served.requests == [("/m/model.onnx", None)]  # the second fetch asked nothing
    assert pipeline.source_fingerprint(spec, ".") == sha  # the preview needs no network


def test_a_dropped_connection_resumes_with_a_range_request(model_bytes: bytes, cache_root: Path) -> None:
    sha = hashlib.sha256(model_bytes).hexdigest()
    half = len(model_bytes) // 2
    with http_files(Served({"/model.onnx": model_bytes}, drop_first=1, drop_after=half)) as served:
        path = http_source.fetch(_spec(served.url + "/model.onnx", sha), NullProgress())
    assert path.read_bytes() == model_bytes
    assert served.requests == [("/model.onnx", None), ("/model.onnx", f"bytes={half}-")]


def test_an_interrupted_run_is_resumed_by_the_next_one(
    model_bytes: bytes, cache_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sha = hashlib.sha256(model_bytes).hexdigest()
    third = len(model_bytes) // 3
    monkeypatch.setattr(http_source, "MAX_ATTEMPTS", 1)
    with http_files(Served({"/model.onnx": model_bytes}, drop_first=1, drop_after=third)) as served:
        spec = _spec(served.url + "/model.onnx", sha)
        with pytest.raises(ModelSourceError, match=r"model 'web'.*cannot download .*run again to resume it"):
            http_source.fetch(spec, NullProgress())
        part = cache_root / "downloads" / f"{sha}.part"
        assert part.stat().st_size == third
        path = http_source.fetch(spec, NullProgress())  # the next `pulumi up`
    assert path.read_bytes() == model_bytes
    assert not part.exists()
    assert served.requests[-1] == ("/model.onnx", f"bytes={third}-")


def test_a_server_without_ranges_is_read_again_from_the_start(model_bytes: bytes, cache_root: Path) -> None:
    sha = hashlib.sha256(model_bytes).hexdigest()
    served = Served({"/model.onnx": model_bytes}, drop_first=1, drop_after=1000, honor_range=False)
    with http_files(served):
        path = http_source.fetch(_spec(served.url + "/model.onnx", sha), NullProgress())
    assert path.read_bytes() == model_bytes
    assert served.requests == [("/model.onnx", None), ("/model.onnx", "bytes=1000-")]  # answered in full


def test_a_wrong_digest_names_the_model_and_publishes_nothing(model_bytes: bytes, cache_root: Path) -> None:
    wrong = hashlib.sha256(b"another model").hexdigest()
    store = MemoryStore()
    with http_files(Served({"/model.onnx": model_bytes})) as served:
        spec = _spec(served.url + "/model.onnx", wrong, name="resnet")
        request = pipeline.PublishRequest(
            spec=spec, store=store.ref, source_fingerprint=pipeline.source_fingerprint(spec, "."), base_dir="."
        )
        with pytest.raises(ModelSourceError) as info:
            pipeline.publish(request, store=store)
    message = str(info.value)
    assert "model 'resnet'" in message
    assert "models[].sha256" in message
    assert hashlib.sha256(model_bytes).hexdigest() in message
    assert store.uploads() == []  # not a file, not a pending marker, not a config
    assert not list((cache_root / "downloads").iterdir())


def test_an_https_model_is_published_with_its_digest(model_bytes: bytes, cache_root: Path) -> None:
    sha = hashlib.sha256(model_bytes).hexdigest()
    store = MemoryStore()
    with http_files(Served({"/model.onnx": model_bytes})) as served:
        spec = _spec(served.url + "/model.onnx", sha)
        request = pipeline.PublishRequest(
            spec=spec, store=store.ref, source_fingerprint=pipeline.source_fingerprint(spec, "."), base_dir="."
        )
        state = pipeline.publish(request, store=store)
    assert [(f.path, f.sha256) for f in state.files] == [("model.onnx", sha)]
    assert store.read_bytes("models/web/1/model.onnx") == model_bytes


@pytest.mark.parametrize(
    ("source", "sha256", "fmt", "problem"),
    [
        ("http://models.example.com/m.onnx", "a" * 64, "onnx", "must use https://"),
        ("https://models.example.com/m.onnx", None, "onnx", "needs sha256"),
        ("https://user:pw@models.example.com/m.onnx", "a" * 64, "onnx", "must not carry credentials"),
        ("https://models.example.com/m/", "a" * 64, "python", "format 'onnx' or 'tensorrt'"),
        ("models/m.onnx", "a" * 64, "onnx", "sha256 applies to https:// sources only"),
    ],
)
def test_url_sources_are_https_with_a_digest(source: str, sha256: str | None, fmt: str, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        ModelSpec(name="m", source=source, format=fmt, sha256=sha256)


def test_plain_http_is_accepted_for_loopback_hosts_only() -> None:
    for host in ("127.0.0.1:8080", "localhost", "[::1]:9000"):
        assert ModelSpec(name="m", source=f"http://{host}/m.onnx", format="onnx", sha256="a" * 64).sha256
