"""The keyless Azure model mirror: plan/ordering units, and the real script against Azurite.

The integration test runs the module exactly as the AKS pod does (``python3 -c <source>``)
against Azurite on 127.0.0.1 (HTTPS + OAuth "basic", which checks issuer, audience and
lifetime of the bearer token) and a local stand-in for the Entra ID token endpoint that
checks the workload-identity client-credentials exchange.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support import tools
from triton_platform.sidecars import azure_model_sync as sync

# --------------------------------------------------------------------------- units


def test_relative_name_skips_markers_traversal_and_other_prefixes() -> None:
    assert sync.relative_name("models/m/config.pbtxt", "models") == "m/config.pbtxt"
    assert sync.relative_name("models/m/1/model.plan", "models") == "m/1/model.plan"
    assert sync.relative_name("models-old/m/config.pbtxt", "models") is None
    assert sync.relative_name("_cache/engines/x.plan", "models") is None
    assert sync.relative_name("models/m/1/", "models") is None
    assert sync.relative_name("models/../etc/passwd", "models") is None
    assert sync.relative_name("models/m//x", "models") is None
    assert sync.relative_name("models/.model-sync-state.json", "models") is None
    assert sync.relative_name("m/config.pbtxt", "") == "m/config.pbtxt"


def test_plan_puts_configs_last_and_skips_unchanged() -> None:
    blob = lambda name, etag: sync.RemoteBlob(name, 1, etag, None)  # noqa: E731
    remote = {
        "a/config.pbtxt": blob("models/a/config.pbtxt", "e2"),
        "a/2/model.plan": blob("models/a/2/model.plan", "e3"),
        "a/1/model.plan": blob("models/a/1/model.plan", "e1"),
        "b/config.pbtxt": blob("models/b/config.pbtxt", "e4"),
    }
    state = {"a/1/model.plan": "e1", "a/config.pbtxt": "old", "gone/config.pbtxt": "x", "a/0/model.plan": "z"}
    local = {"a/1/model.plan", "a/config.pbtxt", "gone/config.pbtxt", "a/0/model.plan"}
    plan = sync.plan_sync(remote, state, local)
    fetched = [rel for rel, _ in plan.downloads]
    assert fetched == ["a/2/model.plan", "a/config.pbtxt", "b/config.pbtxt"]
    assert plan.deletions == ["a/0/model.plan", "gone/config.pbtxt"]
    assert plan.unchanged == 1


@dataclass
class FakeSource:
    """An in-memory container (test double for the Blob REST calls)."""

    objects: dict[str, bytes]
    corrupt: str | None = None

    def __post_init__(self) -> None:
        self.log: list[str] = []

    def _etag(self, data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()[:16]

    def list(self, prefix: str) -> list[sync.RemoteBlob]:
        return [
            sync.RemoteBlob(k, len(v), self._etag(v), base64.b64encode(hashlib.md5(v).digest()).decode())  # noqa: S324
            for k, v in sorted(self.objects.items())
            if k.startswith(prefix)
        ]

    def download(self, name: str, dest: Path) -> None:
        self.log.append(name)
        data = self.objects[name]
        dest.write_bytes(data[:-1] + b"!" if name == self.corrupt else data)


def test_mirror_follows_publishes_atomically(tmp_path: Path) -> None:
    src = FakeSource(
        {
            "models/mlp/config.pbtxt": b"versions: [1]",
            "models/mlp/1/model.plan": b"engine-1",
            "_cache/engines/mlp/abc/sm80.plan": b"cache",
        }
    )
    dest = tmp_path / "repository"
    mirror = sync.ModelMirror(src, prefix="models", dest=dest)
    first = mirror.sync_once()
    assert (first.downloaded, first.deleted) == (2, 0)
    assert (dest / "mlp/1/model.plan").read_bytes() == b"engine-1"
    assert not (dest / "_cache").exists()  # only the served prefix is mirrored
    assert sorted(p.name for p in tmp_path.iterdir()) == [sync.STATE_NAME, "repository"]

    # Nothing changed: nothing is downloaded again.
    src.log.clear()
    again = mirror.sync_once()
    assert (again.downloaded, again.deleted, again.unchanged) == (0, 0, 2)
    assert src.log == []

    # The publisher adds version 2, then names only it in config.pbtxt and drops version 1.
    src.objects["models/mlp/2/model.plan"] = b"engine-2"
    src.objects["models/mlp/config.pbtxt"] = b"versions: [2]"
    del src.objects["models/mlp/1/model.plan"]
    update = mirror.sync_once()
    assert src.log == ["models/mlp/2/model.plan", "models/mlp/config.pbtxt"]  # config last
    assert (update.downloaded, update.deleted) == (2, 1)
    assert (dest / "mlp/config.pbtxt").read_bytes() == b"versions: [2]"
    assert not (dest / "mlp/1").exists()  # emptied version directory pruned

    # A model removed from the bucket disappears locally, directory included.
    del src.objects["models/mlp/2/model.plan"]
    del src.objects["models/mlp/config.pbtxt"]
    mirror.sync_once()
    assert list(dest.iterdir()) == []


def test_corrupt_download_never_replaces_the_served_file(tmp_path: Path) -> None:
    src = FakeSource({"models/m/config.pbtxt": b"v1", "models/m/1/model.onnx": b"good"})
    dest = tmp_path / "repo"
    mirror = sync.ModelMirror(src, prefix="models", dest=dest)
    mirror.sync_once()
    src.objects["models/m/config.pbtxt"] = b"v2"
    src.corrupt = "models/m/config.pbtxt"
    with pytest.raises(sync.SyncError, match="Content-MD5 mismatch"):
        mirror.sync_once()
    assert (dest / "m/config.pbtxt").read_bytes() == b"v1"
    assert not (tmp_path / sync.STAGING_NAME).exists()
    src.corrupt = None
    assert mirror.sync_once().downloaded == 1
    assert (dest / "m/config.pbtxt").read_bytes() == b"v2"


def test_once_mode_reports_failure_with_exit_status(tmp_path: Path) -> None:
    class Broken(FakeSource):
        def list(self, prefix: str) -> list[sync.RemoteBlob]:
            raise sync.SyncError("listing failed: HTTP 403 AuthorizationPermissionMismatch")

    mirror = sync.ModelMirror(Broken({}), prefix="models", dest=tmp_path / "repo")
    assert sync.run(mirror, once=True, interval=0) == 1


def test_credential_requires_the_webhook_env() -> None:
    with pytest.raises(sync.SyncError, match=r"AZURE_FEDERATED_TOKEN_FILE.*azure\.workload\.identity/use"):
        sync.WorkloadIdentityCredential({"AZURE_CLIENT_ID": "c", "AZURE_TENANT_ID": "t"})


def test_pod_arguments() -> None:
    args = list(
        sync.iter_args(
            account_url="https://acct.blob.core.windows.net",
            container="models",
            prefix="models",
            dest="/var/run/triton-models/repository",
            work_dir="/var/run/triton-models",
            once=False,
            interval=15,
        )
    )
    parsed = sync.parse_args(args)
    assert (parsed.container, parsed.prefix, parsed.interval, parsed.once) == ("models", "models", 15.0, False)


# --------------------------------------------------------------------------- Azurite


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _azurite_main() -> Path:
    tools.azurite_path()  # npm-installs azurite on first use
    return tools.NPM_DIR / "node_modules/azurite/dist/src/blob/main.js"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwt(claims: dict[str, object]) -> str:
    # Azurite's OAuth "basic" mode checks claims, not signatures.
    header = _b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{_b64url(json.dumps(claims).encode())}.sig"


class TokenEndpoint(BaseHTTPRequestHandler):
    """Stand-in for Entra ID's /<tenant>/oauth2/v2.0/token (client assertion exchange)."""

    expected_assertion = ""
    requests: list[dict[str, list[str]]] = []

    def do_POST(self) -> None:
        form = urllib.parse.parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        TokenEndpoint.requests.append(form)
        ok = (
            self.path == "/tenant-1/oauth2/v2.0/token"
            and form.get("grant_type") == ["client_credentials"]
            and form.get("client_id") == ["client-1"]
            and form.get("scope") == ["https://storage.azure.com/.default"]
            and form.get("client_assertion_type") == ["urn:ietf:params:oauth:client-assertion-type:jwt-bearer"]
            and form.get("client_assertion") == [TokenEndpoint.expected_assertion]
        )
        now = int(time.time())
        body = (
            {
                "access_token": _jwt(
                    {
                        "aud": "https://storage.azure.com",
                        "iss": "https://sts.windows.net/tenant-1/",
                        "iat": now - 60,
                        "nbf": now - 60,
                        "exp": now + 3600,
                    }
                ),
                "expires_in": 3600,
                "token_type": "Bearer",
            }
            if ok
            else {"error": "invalid_client"}
        )
        data = json.dumps(body).encode()
        self.send_response(200 if ok else 401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass


@dataclass
class AzuriteTls:
    account_url: str
    ca_file: Path
    token_url_host: str
    token_file: Path

    def put(self, container: str, name: str, data: bytes) -> None:
        req = urllib.request.Request(
            f"{self.account_url}/{container}/{urllib.parse.quote(name)}", data=data, method="PUT"
        )
        self._auth(req)
        req.add_header("x-ms-blob-type", "BlockBlob")
        self._send(req)

    def delete(self, container: str, name: str) -> None:
        req = urllib.request.Request(f"{self.account_url}/{container}/{urllib.parse.quote(name)}", method="DELETE")
        self._auth(req)
        self._send(req)

    def create_container(self, container: str) -> None:
        req = urllib.request.Request(f"{self.account_url}/{container}?restype=container", data=b"", method="PUT")
        self._auth(req)
        self._send(req)

    def _auth(self, req: urllib.request.Request) -> None:
        now = int(time.time())
        token = _jwt(
            {
                "aud": "https://storage.azure.com",
                "iss": "https://sts.windows.net/t/",
                "iat": now,
                "nbf": now - 5,
                "exp": now + 600,
            }
        )
        req.add_header("Authorization", f"Bearer {token}")
        req.add_header("x-ms-version", sync.API_VERSION)

    def _send(self, req: urllib.request.Request) -> None:
        import ssl

        with urllib.request.urlopen(
            req, timeout=30, context=ssl.create_default_context(cafile=str(self.ca_file))
        ) as resp:
            assert resp.status in (200, 201, 202)


@pytest.fixture(scope="module")
def azurite_tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzuriteTls]:
    main_js, node = _azurite_main(), shutil.which("node")
    if not main_js.is_file() or node is None:
        pytest.fail(
            f"azurite is not installed at {main_js} (npm install --prefix .cache/npm azurite@3.37.0) or node is missing"
        )
    work = tmp_path_factory.mktemp("azurite")
    cert, key = work / "cert.pem", work / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    port = _free_port()
    proc = subprocess.Popen(
        [node, str(main_js), "--blobHost", "127.0.0.1", "--blobPort", str(port), "--location", str(work / "data"),
         "--skipApiVersionCheck", "--disableTelemetry", "--oauth", "basic", "--cert", str(cert), "--key", str(key),
         "--silent"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), TokenEndpoint)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                err = proc.stderr.read().decode() if proc.stderr else ""
                pytest.fail(f"azurite did not start on 127.0.0.1:{port}: {err[-2000:]}")
            time.sleep(0.2)
        token_file = work / "sa-token"
        token_file.write_text("projected-service-account-token\n")
        TokenEndpoint.expected_assertion = "projected-service-account-token"
        yield AzuriteTls(
            account_url=f"https://127.0.0.1:{port}/devstoreaccount1",
            ca_file=cert,
            token_url_host=f"http://127.0.0.1:{httpd.server_address[1]}/",
            token_file=token_file,
        )
    finally:
        httpd.shutdown()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.mark.integration
@pytest.mark.timeout(120)
def test_script_mirrors_azurite_with_workload_identity(azurite_tls: AzuriteTls, tmp_path: Path) -> None:
    az = azurite_tls
    az.create_container("triton-models")
    az.put("triton-models", "models/mlp/1/model.onnx", b"onnx-bytes" * 1000)
    az.put("triton-models", "models/mlp/config.pbtxt", b'name: "mlp"\n')
    az.put("triton-models", "_cache/engines/mlp/k/sm80.plan", b"not served")

    work = tmp_path / "triton-models"
    dest = work / "repository"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "AZURE_CLIENT_ID": "client-1",
        "AZURE_TENANT_ID": "tenant-1",
        "AZURE_FEDERATED_TOKEN_FILE": str(az.token_file),
        "AZURE_AUTHORITY_HOST": az.token_url_host,
    }
    args = list(
        sync.iter_args(
            account_url=az.account_url,
            container="triton-models",
            prefix="models",
            dest=str(dest),
            work_dir=str(work),
            once=True,
            interval=15,
        )
    )

    def run_pod_command() -> subprocess.CompletedProcess[str]:
        # Exactly the pod's command: the module's source through `python3 -c`.
        return subprocess.run(
            [sys.executable, "-c", sync.source_text(), *args, "--ca-file", str(az.ca_file)],
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    TokenEndpoint.requests.clear()
    done = run_pod_command()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 downloaded" in done.stdout
    assert (dest / "mlp/1/model.onnx").read_bytes() == b"onnx-bytes" * 1000
    assert (dest / "mlp/config.pbtxt").read_bytes() == b'name: "mlp"\n'
    assert not (dest / "_cache").exists()
    assert len(TokenEndpoint.requests) == 1  # one exchange, token reused for every call
    assert "projected-service-account-token" not in done.stdout + done.stderr  # never logged

    # A new version and the removal of the old one reach the local copy; nothing else moves.
    az.put("triton-models", "models/mlp/2/model.onnx", b"v2")
    az.put("triton-models", "models/mlp/config.pbtxt", b'name: "mlp"\n# v2\n')
    az.delete("triton-models", "models/mlp/1/model.onnx")
    done = run_pod_command()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 downloaded" in done.stdout
    assert "1 removed" in done.stdout
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()) == [
        "mlp/2/model.onnx",
        "mlp/config.pbtxt",
    ]

    # A wrong identity is refused by the token endpoint: the init container fails loudly.
    env["AZURE_CLIENT_ID"] = "someone-else"
    done = run_pod_command()
    assert done.returncode == 1
    assert "token exchange" in done.stdout
    assert "invalid_client" in done.stdout
