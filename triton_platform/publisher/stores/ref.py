"""Where a store is: the ``StoreRef`` descriptor the stacks hand to the publisher, and the key layout.

What the Pulumi program needs of a store: a bucket's name rules, its prefixes, the
``--model-repository`` URI Triton gets, where each release's own location lies. ``base`` holds
``ObjectStore`` and the transfers, which only the provider host runs; the program imports this
module and not those (bench/program_eval.py).
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

StoreKind = Literal["s3", "gcs", "azure"]
_KEY_PART = re.compile(r"^[A-Za-z0-9_.=+@-]+(/[A-Za-z0-9_.=+@-]+)*$")
_S3_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_GCS_BUCKET = re.compile(r"^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$")
_AZURE_CONTAINER = re.compile(r"^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$")
_BUCKET_RULES: dict[str, tuple[re.Pattern[str], str, str]] = {
    "s3": (_S3_BUCKET, "3-63 lowercase letters, digits, '.' and '-'", "acme-triton-models"),
    "gcs": (_GCS_BUCKET, "3-222 lowercase letters, digits, '.', '_' and '-'", "acme-triton-models"),
    "azure": (_AZURE_CONTAINER, "3-63 lowercase letters, digits and single '-'", "triton-models"),
}


def join_key(*parts: str) -> str:
    """Join key segments with single slashes, ignoring empty ones (``join_key("models", "", "m")``)."""
    return "/".join(p.strip("/") for p in parts if p and p.strip("/"))


# Under triton.rollout.strategy canary every release a stack serves gets its own immutable model
# repository, <cache>/releases/served/<hex>/ (triton_platform.release.materialize): outside the
# served prefix (Triton's loader would take a hidden folder inside it for a model), beside the
# release's content-addressed blobs it is copied from on the server.
RELEASE_LOCATIONS = ("releases", "served")


def release_locations_root(cache_prefix: str) -> str:
    """``<cache>/releases/served``: the parent of every release's own location (canary rollouts)."""
    return join_key(cache_prefix, *RELEASE_LOCATIONS)


def release_location(cache_prefix: str, digest_hex: str) -> str:
    """``<cache>/releases/served/<hex>``: release ``sha256:<hex>``'s own model repository."""
    return join_key(release_locations_root(cache_prefix), digest_hex)


def _clean_prefix(value: str, field: str) -> str:
    cleaned = value.strip("/")
    if cleaned and (not _KEY_PART.match(cleaned) or any(seg in (".", "..") for seg in cleaned.split("/"))):
        raise ValueError(
            f"{field} {value!r} must be slash-separated names of [A-Za-z0-9_.=+@-] (valid example: 'models')"
        )
    return cleaned


def _check_url(value: str, field: str, example: str) -> str:
    parsed = urllib.parse.urlsplit(value)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValueError(f"{field} {value!r} must be an http(s) URL (valid example: {example!r})")
    if parsed.username or parsed.password:
        # A URL with user:password@ would put a credential into Pulumi state and logs.
        raise ValueError(f"{field} must not carry credentials; use credentials.source instead")
    if parsed.query or parsed.fragment:
        raise ValueError(f"{field} {value!r} must not have a query or fragment (valid example: {example!r})")
    return value.rstrip("/")


class CredentialsRef(BaseModel):
    """Where the publisher finds credentials at run time; never the credentials themselves.

    ``environment``: the SDK's standard chain (boto3's default chain, google.auth.default,
    DefaultAzureCredential or ``AZURE_STORAGE_CONNECTION_STRING``), i.e. keyless identities.
    ``kubernetes-secret``: read a Secret through ``kubeconfig_path`` (the kind dev stack's MinIO
    root user): ``access_key_field``/``secret_key_field`` name its keys. For GCS the
    ``secret_key_field`` holds a service-account JSON key, for Azure an account key.
    ``kubeconfig_path`` is where the machine that ran the program wrote the file; a delete on
    another machine (a teammate's checkout, a CI runner) may not have it there, so
    ``kind_cluster`` names the kind cluster whose kubeconfig ``kind get kubeconfig`` prints instead.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: Literal["environment", "kubernetes-secret"] = "environment"
    kubeconfig_path: str | None = None
    namespace: str | None = None
    name: str | None = None
    # kind's own cluster-name rule (kubernetes-sigs/kind pkg/internal/apis/config/validate.go).
    kind_cluster: str | None = Field(default=None, pattern=r"^[a-z0-9.-]+$", examples=["dev"])
    access_key_field: str = "rootUser"
    secret_key_field: str = "rootPassword"  # noqa: S105 - a key name, not a value

    @model_validator(mode="after")
    def _complete(self) -> CredentialsRef:
        if self.source == "kubernetes-secret":
            missing = [f for f in ("kubeconfig_path", "namespace", "name") if not getattr(self, f)]
            if missing:
                raise ValueError(
                    f"credentials.source 'kubernetes-secret' needs {', '.join(missing)} "
                    "(valid example: {kubeconfig_path: .state/kind-dev.kubeconfig, namespace: minio, name: minio-root})"
                )
        return self


class StoreRef(BaseModel):
    """One bucket (or Azure container) holding a served model repository and the publisher's cache.

    Keys handed to ``ObjectStore`` are bucket-absolute: ``served_key(...)`` builds them under
    ``prefix`` (what Triton reads), ``cache_key(...)`` under ``cache_prefix`` (engines, ONNX,
    manifests; outside ``prefix`` so Triton never loads them).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: StoreKind
    bucket: str = Field(examples=["acme-triton-models"])
    prefix: str = Field(default="models", examples=["models"])
    cache_prefix: str = Field(default="_cache", examples=["_cache"])
    # S3-compatible servers (MinIO, moto): the URL the publisher uses ...
    endpoint_url: str | None = Field(default=None, examples=["http://127.0.0.1:9000"])
    # ... and the one Triton uses, when it differs (MinIO inside the cluster).
    cluster_endpoint_url: str | None = Field(default=None, examples=["http://minio.minio:9000"])
    region: str | None = Field(default=None, examples=["eu-west-1"])
    # Azure: https://<account>.blob.core.windows.net, or Azurite's http://127.0.0.1:10000/devstoreaccount1.
    account_url: str | None = Field(default=None, examples=["https://acmemodels.blob.core.windows.net"])
    credentials: CredentialsRef = Field(default_factory=CredentialsRef)

    @field_validator("prefix", "cache_prefix")
    @classmethod
    def _prefixes(cls, value: str, info: ValidationInfo) -> str:
        return _clean_prefix(value, str(info.field_name))

    @field_validator("endpoint_url", "cluster_endpoint_url")
    @classmethod
    def _endpoints(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else _check_url(value, str(info.field_name), "http://127.0.0.1:9000")

    @field_validator("account_url")
    @classmethod
    def _account_url(cls, value: str | None) -> str | None:
        return None if value is None else _check_url(value, "account_url", "https://acmemodels.blob.core.windows.net")

    @model_validator(mode="after")
    def _valid(self) -> StoreRef:
        pattern, rule, example = _BUCKET_RULES[self.kind]
        what = "container" if self.kind == "azure" else "bucket"
        if not pattern.match(self.bucket):
            raise ValueError(
                f"{what} {self.bucket!r} is not a valid {self.kind} {what} name: {rule} (valid example: {example!r})"
            )
        prefix, cache = self.prefix, self.cache_prefix
        if not prefix or not cache:
            raise ValueError("prefix and cache_prefix must not be empty (valid example: 'models' and '_cache')")
        if cache == prefix or cache.startswith(prefix + "/") or prefix.startswith(cache + "/"):
            raise ValueError(
                f"cache_prefix {cache!r} must lie outside prefix {prefix!r} so Triton never loads cached "
                "engines (valid example: prefix 'models', cache_prefix '_cache')"
            )
        if self.kind != "s3":
            for field in ("endpoint_url", "cluster_endpoint_url"):
                if getattr(self, field) is not None:
                    raise ValueError(f"{field} applies to kind 's3' only (S3-compatible servers such as MinIO)")
        if self.kind == "azure" and not self.account_url:
            raise ValueError(
                "kind 'azure' needs account_url (valid example: 'https://acmemodels.blob.core.windows.net')"
            )
        if self.kind != "azure" and self.account_url is not None:
            raise ValueError("account_url applies to kind 'azure' only")
        return self

    # --- keys -----------------------------------------------------------------------------------

    def served_key(self, *parts: str) -> str:
        """A key under the served prefix: ``served_key("resnet50", "config.pbtxt")``."""
        return join_key(self.prefix, *parts)

    def cache_key(self, *parts: str) -> str:
        """A key under the cache prefix: ``cache_key("manifests", "resnet50", "3.json")``."""
        return join_key(self.cache_prefix, *parts)

    # --- what Triton gets -----------------------------------------------------------------------

    def account_name(self) -> str:
        """The Azure storage account of ``account_url`` (host label, or Azurite's path segment)."""
        if self.kind != "azure" or not self.account_url:
            raise ValueError("account_name applies to kind 'azure' only")
        parsed = urllib.parse.urlsplit(self.account_url)
        host = parsed.hostname or ""
        path = parsed.path.strip("/")
        if path:  # emulator style: http://127.0.0.1:10000/devstoreaccount1
            return path.split("/")[0]
        return host.split(".")[0]

    def repository_uri(self) -> str:
        """The ``--model-repository`` Triton gets for this bucket and prefix.

        ``s3://bucket/prefix``; with an endpoint ``s3://http://host:port/bucket/prefix``
        (Triton's S3 syntax needs the port); ``gs://bucket/prefix``; ``as://account/container/prefix``.
        """
        if self.kind == "s3":
            endpoint = self.cluster_endpoint_url or self.endpoint_url
            if endpoint is None:
                return f"s3://{join_key(self.bucket, self.prefix)}"
            parsed = urllib.parse.urlsplit(endpoint)
            port = parsed.port or (443 if parsed.scheme == "https" else 80)
            return f"s3://{parsed.scheme}://{parsed.hostname}:{port}/{join_key(self.bucket, self.prefix)}"
        if self.kind == "gcs":
            return f"gs://{join_key(self.bucket, self.prefix)}"
        return f"as://{join_key(self.account_name(), self.bucket, self.prefix)}"

    def describe(self) -> str:
        """Where this is, for messages: kind, bucket and endpoint; never credentials."""
        where = self.endpoint_url or self.account_url
        return f"{self.kind} bucket {self.bucket!r}" + (f" at {where}" if where else "")
