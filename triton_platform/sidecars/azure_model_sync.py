"""Mirror an Azure Blob model repository into a local directory, keyless (AKS workload identity).

Why this exists: Triton's ``as://`` repository agent, in every NGC release pinned in
``triton_platform/catalog/versions.py``, authenticates with ``AZURE_STORAGE_ACCOUNT`` +
``AZURE_STORAGE_KEY`` only (managed-identity support landed upstream after those releases,
triton-inference-server/server#8652). Rather than hand Triton a storage account key, the AKS
stack runs this script next to Triton: once as an init container (``--once``, so Triton starts
with every model present) and then as a sidecar (``--interval N``) that keeps the local copy
in step with the container. Triton reads the local copy (``--model-repository=<dest>``) and
polls it as it would poll the bucket.

Authentication: the Azure Workload Identity webhook injects ``AZURE_CLIENT_ID``,
``AZURE_TENANT_ID``, ``AZURE_FEDERATED_TOKEN_FILE`` and ``AZURE_AUTHORITY_HOST`` into pods
labelled ``azure.workload.identity/use: "true"``; the projected ServiceAccount token is
exchanged for a Storage access token (client-credentials grant with a JWT client assertion).
No key exists anywhere; the identity holds *Storage Blob Data Reader* on the container only.

Consistency with the publisher's atomic protocol: a new version directory is invisible to
Triton until ``config.pbtxt`` names it (version_policy ``specific``). So every file is written
to a staging file and renamed into place (never half-written), every other file lands before
any ``config.pbtxt``, and files the bucket no longer has are removed only after the configs
were updated. Unchanged blobs (same ETag) are never downloaded again.

Self-contained, standard library only: the AKS stack ships this file's source to the pod as
``python3 -c <source>`` and runs it with the Python of the Triton image itself (no extra
image to pull). Never logs tokens.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import http.client
import json
import os
import shutil
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

API_VERSION = "2021-08-06"  # Blob REST version; bearer tokens need >= 2017-11-09
STORAGE_SCOPE = "https://storage.azure.com/.default"
DEFAULT_AUTHORITY = "https://login.microsoftonline.com/"
CONFIG_NAME = "config.pbtxt"
STATE_NAME = ".model-sync-state.json"
STAGING_NAME = ".model-sync-staging"
HTTP_TIMEOUT = 60.0
CHUNK = 4 * 1024 * 1024


class SyncError(RuntimeError):
    """A sync step failed; the message says which blob/step and never carries a token."""


def log(message: str) -> None:
    print(f"[model-sync] {message}", flush=True)


# --------------------------------------------------------------------------- credentials


@dataclass
class AccessToken:
    token: str
    expires_on: float


class WorkloadIdentityCredential:
    """Exchanges the projected ServiceAccount token for an Azure Storage access token.

    The federated token file is re-read on every exchange: the kubelet rotates it.
    """

    def __init__(self, env: Mapping[str, str] | None = None, *, context: ssl.SSLContext | None = None) -> None:
        env = os.environ if env is None else env
        missing = [k for k in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE") if not env.get(k)]
        if missing:
            raise SyncError(
                f"workload identity env missing: {', '.join(missing)}; the pod needs the label "
                "azure.workload.identity/use=true and a ServiceAccount annotated with "
                "azure.workload.identity/client-id"
            )
        self.client_id = env["AZURE_CLIENT_ID"]
        self.tenant_id = env["AZURE_TENANT_ID"]
        self.token_file = Path(env["AZURE_FEDERATED_TOKEN_FILE"])
        authority = env.get("AZURE_AUTHORITY_HOST") or DEFAULT_AUTHORITY
        self.token_url = f"{authority.rstrip('/')}/{self.tenant_id}/oauth2/v2.0/token"
        self.context = context
        self._cached: AccessToken | None = None

    def get_token(self) -> str:
        # Refresh 5 minutes before expiry so a long download never runs on a stale token.
        if self._cached and self._cached.expires_on - 300 > time.time():
            return self._cached.token
        assertion = self.token_file.read_text().strip()
        body = urllib.parse.urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "scope": STORAGE_SCOPE,
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": assertion,
            }
        ).encode()
        req = urllib.request.Request(self.token_url, data=body, method="POST")  # noqa: S310 - https authority
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT, context=self.context) as resp:  # noqa: S310
                payload = json.loads(resp.read())
        except urllib.error.HTTPError as err:
            detail = _error_detail(err)
            raise SyncError(f"token exchange at {self.token_url} failed: HTTP {err.code} {detail}") from None
        except (urllib.error.URLError, OSError, ValueError) as err:
            raise SyncError(f"token exchange at {self.token_url} failed: {err}") from None
        if "access_token" not in payload:
            raise SyncError(f"token exchange at {self.token_url} returned no access_token")
        self._cached = AccessToken(payload["access_token"], time.time() + float(payload.get("expires_in", 3600)))
        return self._cached.token


def _error_detail(err: urllib.error.HTTPError) -> str:
    # AAD and Storage explain failures in the body; keep it short and token-free.
    try:
        text = err.read(2048).decode("utf-8", "replace")
    except OSError:
        return ""
    code = ""
    with contextlib.suppress(ValueError):
        code = json.loads(text).get("error", "")
    if not code and "<Code>" in text:
        code = text.split("<Code>", 1)[1].split("</Code>", 1)[0]
    return code or err.reason or ""


# --------------------------------------------------------------------------- blob client


@dataclass(frozen=True)
class RemoteBlob:
    name: str  # full blob name
    size: int
    etag: str
    content_md5: str | None  # base64, as the service reports it (may be absent)


class BlobSource(Protocol):
    def list(self, prefix: str) -> list[RemoteBlob]: ...

    def download(self, name: str, dest: Path) -> None: ...


class AzureBlobSource:
    """The two Blob REST calls the mirror needs (List Blobs, Get Blob) with a bearer token."""

    def __init__(
        self,
        account_url: str,
        container: str,
        token: Callable[[], str],
        *,
        context: ssl.SSLContext | None = None,
    ) -> None:
        self.container_url = f"{account_url.rstrip('/')}/{container}"
        self.token = token
        self.context = context

    def _open(self, url: str) -> http.client.HTTPResponse:
        req = urllib.request.Request(url)  # noqa: S310 - the configured storage account URL
        req.add_header("Authorization", f"Bearer {self.token()}")
        req.add_header("x-ms-version", API_VERSION)
        return urllib.request.urlopen(req, timeout=HTTP_TIMEOUT, context=self.context)  # noqa: S310

    def list(self, prefix: str) -> list[RemoteBlob]:
        blobs: list[RemoteBlob] = []
        marker = ""
        while True:
            query = {"restype": "container", "comp": "list", "prefix": prefix, "maxresults": "5000"}
            if marker:
                query["marker"] = marker
            url = f"{self.container_url}?{urllib.parse.urlencode(query)}"
            try:
                with self._open(url) as resp:
                    root = ET.fromstring(resp.read())  # noqa: S314 - Azure Storage's response
            except urllib.error.HTTPError as err:
                raise SyncError(
                    f"listing {self.container_url} (prefix {prefix!r}) failed: HTTP {err.code} {_error_detail(err)}"
                ) from None
            except (urllib.error.URLError, OSError) as err:
                raise SyncError(f"listing {self.container_url} failed: {err}") from None
            for blob in root.iter("Blob"):
                name = blob.findtext("Name") or ""
                props = blob.find("Properties")
                size = int(props.findtext("Content-Length") or 0) if props is not None else 0
                etag = (props.findtext("Etag") or "") if props is not None else ""
                md5 = (props.findtext("Content-MD5") or None) if props is not None else None
                blobs.append(RemoteBlob(name, size, etag, md5))
            marker = root.findtext("NextMarker") or ""
            if not marker:
                return blobs

    def download(self, name: str, dest: Path) -> None:
        url = f"{self.container_url}/{urllib.parse.quote(name, safe='/')}"
        try:
            with self._open(url) as resp, dest.open("wb") as out:
                shutil.copyfileobj(resp, out, CHUNK)
        except urllib.error.HTTPError as err:
            raise SyncError(f"downloading {name!r} failed: HTTP {err.code} {_error_detail(err)}") from None
        except (urllib.error.URLError, OSError) as err:
            raise SyncError(f"downloading {name!r} failed: {err}") from None


# --------------------------------------------------------------------------- the mirror


def relative_name(blob_name: str, prefix: str) -> str | None:
    """The path of a blob under the repository root, or None when it is no file to mirror."""
    if prefix and not blob_name.startswith(prefix + "/"):
        return None
    rel = blob_name[len(prefix) + 1 :] if prefix else blob_name
    parts = rel.split("/")
    # Directory markers (ADLS, tools) end with '/'; never follow '..' or absolute names.
    if not rel or rel.endswith("/") or any(p in ("", ".", "..") for p in parts):
        return None
    # Hidden names are the mirror's own staging/state; a blob may not overwrite them.
    if any(p.startswith(".model-sync") for p in parts):
        return None
    return rel


def is_config(rel: str) -> bool:
    """``<model>/config.pbtxt``: the file that makes a model's versions visible to Triton."""
    parts = rel.split("/")
    return len(parts) == 2 and parts[1] == CONFIG_NAME


@dataclass
class SyncPlan:
    downloads: list[tuple[str, RemoteBlob]]  # other files first, config.pbtxt files last
    deletions: list[str]  # non-config files first, then config.pbtxt files
    unchanged: int


def plan_sync(remote: Mapping[str, RemoteBlob], state: Mapping[str, str], local_files: set[str]) -> SyncPlan:
    """What to fetch and remove so the local tree equals ``remote`` (paths relative to the root)."""
    fetch = [
        (rel, blob) for rel, blob in sorted(remote.items()) if rel not in local_files or state.get(rel) != blob.etag
    ]
    fetch.sort(key=lambda item: is_config(item[0]))  # stable: configs move to the end
    stale = sorted(rel for rel in local_files if rel not in remote)
    stale.sort(key=is_config)
    return SyncPlan(fetch, stale, len(remote) - len(fetch))


@dataclass
class SyncResult:
    downloaded: int
    deleted: int
    unchanged: int
    bytes: int


class ModelMirror:
    """Keeps ``dest`` equal to ``<container>/<prefix>/`` with atomic, config-last updates."""

    def __init__(self, source: BlobSource, *, prefix: str, dest: Path, work_dir: Path | None = None) -> None:
        self.source = source
        self.prefix = prefix.strip("/")
        self.dest = dest
        # Staging and state live beside the repository (same filesystem: rename is atomic),
        # never inside it, where Triton would take them for models.
        work = work_dir or dest.parent
        self.staging = work / STAGING_NAME
        self.state_file = work / STATE_NAME

    def _load_state(self) -> dict[str, str]:
        try:
            data = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def _save_state(self, state: Mapping[str, str]) -> None:
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(dict(sorted(state.items())), indent=0))
        os.replace(tmp, self.state_file)

    def _local_files(self) -> set[str]:
        if not self.dest.is_dir():
            return set()
        return {p.relative_to(self.dest).as_posix() for p in self.dest.rglob("*") if p.is_file() or p.is_symlink()}

    def sync_once(self) -> SyncResult:
        self.dest.mkdir(parents=True, exist_ok=True)
        if self.staging.exists():
            shutil.rmtree(self.staging)  # leftovers of an interrupted run
        self.staging.mkdir(parents=True)
        remote: dict[str, RemoteBlob] = {}
        for blob in self.source.list(self.prefix + "/" if self.prefix else ""):
            rel = relative_name(blob.name, self.prefix)
            if rel is not None:
                remote[rel] = blob
        state = self._load_state()
        plan = plan_sync(remote, state, self._local_files())
        nbytes = 0
        try:
            for i, (rel, blob) in enumerate(plan.downloads):
                tmp = self.staging / f"{i}.part"
                self.source.download(blob.name, tmp)
                self._verify(blob, tmp)
                target = self.dest / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp, target)  # atomic: Triton sees the old file or the whole new one
                state[rel] = blob.etag
                nbytes += blob.size
                self._save_state(state)  # an interrupted run resumes without refetching
            for rel in plan.deletions:
                with contextlib.suppress(FileNotFoundError):
                    (self.dest / rel).unlink()
                state.pop(rel, None)
                self._prune(self.dest / rel)
            self._save_state(state)
        finally:
            shutil.rmtree(self.staging, ignore_errors=True)
        return SyncResult(len(plan.downloads), len(plan.deletions), plan.unchanged, nbytes)

    @staticmethod
    def _verify(blob: RemoteBlob, path: Path) -> None:
        size = path.stat().st_size
        if size != blob.size:
            raise SyncError(f"{blob.name!r}: downloaded {size} bytes, the service reports {blob.size}")
        if blob.content_md5:
            digest = hashlib.md5()  # noqa: S324 - integrity check against the service's Content-MD5
            with path.open("rb") as f:
                for chunk in iter(lambda: f.read(CHUNK), b""):
                    digest.update(chunk)
            if base64.b64encode(digest.digest()).decode() != blob.content_md5:
                raise SyncError(f"{blob.name!r}: Content-MD5 mismatch after download")

    def _prune(self, removed: Path) -> None:
        # Remove directories left empty (a dropped version, a removed model), never dest itself.
        parent = removed.parent
        while parent != self.dest and self.dest in parent.parents:
            try:
                parent.rmdir()
            except OSError:
                return
            parent = parent.parent


def run(mirror: ModelMirror, *, once: bool, interval: float, stop: Callable[[], bool] = lambda: False) -> int:
    """``--once``: one sync, exit status says whether it worked. Otherwise loop until stopped."""
    while True:
        started = time.monotonic()
        try:
            result = mirror.sync_once()
            if once or result.downloaded or result.deleted:
                log(
                    f"synced: {result.downloaded} downloaded ({result.bytes} bytes), "
                    f"{result.deleted} removed, {result.unchanged} unchanged "
                    f"in {time.monotonic() - started:.1f}s"
                )
        except SyncError as err:
            log(f"error: {err}")
            if once:
                return 1
        if once:
            return 0
        for _ in range(max(1, int(interval * 10))):
            if stop():
                return 0
            time.sleep(0.1)


def _ssl_context(ca_file: str | None) -> ssl.SSLContext | None:
    return ssl.create_default_context(cafile=ca_file) if ca_file else None


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="model-sync", description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--account-url", required=True, help="https://<account>.blob.core.windows.net")
    p.add_argument("--container", required=True)
    p.add_argument("--prefix", default="", help="the served prefix inside the container, e.g. models")
    p.add_argument("--dest", required=True, type=Path, help="local repository Triton reads")
    p.add_argument("--work-dir", type=Path, default=None, help="staging/state dir on dest's filesystem")
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--once", action="store_true", help="sync once and exit (init container)")
    mode.add_argument("--interval", type=float, help="seconds between syncs (sidecar)")
    p.add_argument("--ca-file", default=None, help="extra CA bundle (tests against an emulator)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    context = _ssl_context(args.ca_file)
    try:
        credential = WorkloadIdentityCredential(context=context)
    except SyncError as err:
        log(f"error: {err}")
        return 2
    source = AzureBlobSource(args.account_url, args.container, credential.get_token, context=context)
    mirror = ModelMirror(source, prefix=args.prefix, dest=args.dest, work_dir=args.work_dir)
    return run(mirror, once=args.once, interval=args.interval or 0.0)


def source_text() -> str:
    """This module's source, as the pod runs it with ``python3 -c``."""
    return Path(__file__).read_text()


def iter_args(
    *, account_url: str, container: str, prefix: str, dest: str, work_dir: str, once: bool, interval: int
) -> Iterator[str]:
    """The command-line arguments of one mirror container."""
    yield from ("--account-url", account_url, "--container", container, "--prefix", prefix)
    yield from ("--dest", dest, "--work-dir", work_dir)
    yield from (("--once",) if once else ("--interval", str(interval)))


if __name__ == "__main__":
    sys.exit(main())
