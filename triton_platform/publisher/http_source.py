"""Models from an https:// URL: streamed once into the local cache, resumable, verified against their sha256.

``models[].source: https://...`` comes with ``models[].sha256``. The file is downloaded into
``<cache dir>/downloads/<sha256>.<ext>`` (``$TRITON_PLATFORM_CACHE_DIR``, as the hash cache),
through a ``.part`` file: a dropped connection is resumed where it stopped with an HTTP
``Range`` request (also by the next run), every byte is hashed once as it is written, and only
a file whose sha256 is the configured one leaves ``.part``; a wrong digest is an error naming
the model, and nothing is published. A later publish finds the verified file in the cache and
downloads nothing. Plain ``http://`` is refused except for a loopback host (``spec.url_problems``):
the sha256 protects the bytes, https also who serves them. Plain Python: no Pulumi.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from triton_platform.publisher import fingerprint
from triton_platform.publisher.errors import ModelSourceError
from triton_platform.publisher.progress import Progress, Task
from triton_platform.publisher.spec import ModelSpec, url_problems

DOWNLOADS = "downloads"
CHUNK = 1024 * 1024
# Connection drops tolerated per download (each resumes where the last one stopped).
MAX_ATTEMPTS = 6
TIMEOUT_S = 60.0
_KEY = "models[].source"


class _Restart(Exception):
    """The server cannot continue the partial file (it ignored Range, or the range is past its end)."""


@dataclass
class _Partial:
    """The ``.part`` file and the sha256 of the bytes in it, kept in step."""

    path: Path
    digest: Any
    size: int = 0

    @classmethod
    def open(cls, path: Path) -> _Partial:
        """The partial file as an earlier run left it, its bytes hashed once (nothing there: empty)."""
        digest = hashlib.sha256()
        size = 0
        if path.is_file():
            with open(path, "rb") as fh:
                while chunk := fh.read(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
        return cls(path, digest, size)

    def reset(self) -> None:
        self.path.write_bytes(b"")
        self.digest, self.size = hashlib.sha256(), 0


def cache_path(spec: ModelSpec, root: Path | None = None) -> Path:
    """Where the verified download of ``spec.source`` is kept: named by its sha256, with the URL's extension."""
    suffix = PurePosixPath(urllib.parse.urlsplit(spec.source).path).suffix or ".bin"
    return (root or fingerprint.cache_dir()) / DOWNLOADS / f"{spec.sha256}{suffix}"


def _display(url: str) -> str:
    # The URL without query or fragment: a signed URL's token never reaches a log line.
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _open(url: str, offset: int, timeout: float) -> http.client.HTTPResponse:
    headers = {"User-Agent": "triton-platform", "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - https (or loopback http) only: spec.url_problems
    try:
        response: http.client.HTTPResponse = urllib.request.urlopen(request, timeout=timeout)  # noqa: S310
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:
            raise _Restart from None
        raise
    if offset and response.status == 206:
        first = str(response.headers.get("Content-Range", "")).removeprefix("bytes ").split("-", 1)[0]
        if first != str(offset):
            response.close()
            raise _Restart
    return response


def _receive(url: str, part: _Partial, task: Task, timeout: float) -> None:
    """One GET (from ``part.size`` on), appended to the partial file; raises OSError when the stream ends early."""
    with _open(url, part.size, timeout) as response:
        if part.size and response.status != 206:
            part.reset()  # the server ignored the Range: this body is the whole file again
            task.advance(-task.done_bytes)
        length = response.headers.get("Content-Length")
        expected = part.size + int(length) if length is not None else None
        if expected is not None and task.total_bytes != expected:
            task.total_bytes = expected
        with open(part.path, "ab") as fh:
            while chunk := response.read(CHUNK):
                fh.write(chunk)
                part.digest.update(chunk)
                part.size += len(chunk)
                task.advance(len(chunk))
    if expected is not None and part.size < expected:
        raise ConnectionResetError(f"the connection closed after {part.size} of {expected} bytes")


def _download(spec: ModelSpec, part: _Partial, progress: Progress, timeout: float) -> None:
    url = spec.source
    task = progress.task(f"download {_display(url)}", 0)
    try:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                _receive(url, part, task, timeout)
                return
            except _Restart:
                progress.note(f"{spec.name}: the server cannot resume {_display(url)}; downloading it again")
                part.reset()
            except (OSError, http.client.HTTPException) as exc:
                if isinstance(exc, urllib.error.HTTPError) or attempt == MAX_ATTEMPTS:
                    raise ModelSourceError(
                        f"cannot download {_display(url)}: {exc}; run again to resume it", model=spec.name, key=_KEY
                    ) from None
                progress.note(f"{spec.name}: {exc}; resuming at byte {part.size} (attempt {attempt + 1})")
                time.sleep(min(0.2 * 2**attempt, 5.0))
    finally:
        task.finish()


def fetch(spec: ModelSpec, progress: Progress, *, root: Path | None = None, timeout: float = TIMEOUT_S) -> Path:
    """The verified local copy of ``spec``'s https:// source: from the cache, or downloaded (resumed) into it."""
    if spec.sha256 is None or url_problems(spec.source, spec.sha256, spec.format):
        problems = "; ".join(url_problems(spec.source, spec.sha256, spec.format))
        raise ModelSourceError(problems or "an https:// source needs sha256", model=spec.name, key=_KEY)
    final = cache_path(spec, root)
    if final.is_file() and fingerprint.file_sha256(final, model=spec.name) == spec.sha256:
        progress.note(f"{spec.name}: {_display(spec.source)} already downloaded and verified")
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    part = _Partial.open(final.with_name(f"{spec.sha256}.part"))
    _download(spec, part, progress, timeout)
    actual = part.digest.hexdigest()
    if actual != spec.sha256:
        with contextlib.suppress(OSError):
            part.path.unlink()
        raise ModelSourceError(
            f"{_display(spec.source)} serves a file with sha256 {actual}, not the configured {spec.sha256}; "
            "nothing was published: fix models[].sha256 or the URL",
            model=spec.name,
            key="models[].sha256",
        )
    os.replace(part.path, final)
    return final


__all__ = ["cache_path", "fetch"]
