"""Turns a store's CredentialsRef into SDK clients' credentials at run time, in memory only.

``environment`` is each SDK's standard chain, i.e. keyless identities first (IRSA / instance
roles, GKE Workload Identity or ``gcloud auth application-default``, Azure Workload Identity or
``az login``); the emulators are reached through their usual variables (``STORAGE_EMULATOR_HOST``,
``AZURE_STORAGE_CONNECTION_STRING``). ``kubernetes-secret`` reads a Secret through a kubeconfig
file, which is how the kind dev stack's MinIO root credentials reach the publisher without ever
being a Pulumi resource input. Every program run writes that file (``components.kubeconfig_file``),
but a delete runs with the path the state recorded, which another checkout or a CI runner may
not have: then the kubeconfig comes from ``kind get kubeconfig --name <kind_cluster>``, in
memory. Values are held as ``SecretStr``: never logged, never in an error message, never
returned to the caller's state.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import SecretStr

from triton_platform.publisher.errors import StoreError
from triton_platform.publisher.stores.ref import CredentialsRef, StoreRef

if TYPE_CHECKING:
    import boto3
    from azure.storage.blob import BlobServiceClient
    from google.cloud import storage

_TIMEOUT_S = 30


def load_kubeconfig(
    cred: CredentialsRef, *, bucket: str | None = None
) -> tuple[str | None, dict[str, Any] | None, str]:
    """The kubeconfig ``cred`` names: (file path, None) or (None, parsed kind output), and where from.

    The file at ``kubeconfig_path`` when this machine has it, else what
    ``kind get kubeconfig --name <kind_cluster>`` prints (kind's documented command for a
    cluster's kubeconfig, https://kind.sigs.k8s.io/docs/user/quick-start/#interacting-with-your-cluster),
    never written to disk. Raises StoreError naming both when neither works.
    """
    path = str(cred.kubeconfig_path)
    where = repr(path)
    if os.path.isfile(path):
        # Loaded by the kubernetes client itself: relative paths inside resolve against the file.
        return path, None, where
    if cred.kind_cluster:
        where = f"`kind get kubeconfig --name {cred.kind_cluster}`"
        kind = shutil.which("kind")
        if kind is None:
            raise StoreError(
                f"kubeconfig {path!r} is not on this machine and `kind` is not on PATH to print it",
                bucket=bucket,
                key="credentials.kubeconfig_path",
                example="run `pulumi up` or `pulumi preview` once here: it writes the file",
            )
        try:
            done = subprocess.run(
                [kind, "get", "kubeconfig", "--name", cred.kind_cluster],
                capture_output=True,
                text=True,
                timeout=_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise StoreError(f"{where} timed out", bucket=bucket, key="credentials.kind_cluster") from None
        if done.returncode != 0:
            # stderr names the cluster, never a credential: kind prints no kubeconfig on failure.
            reason = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise StoreError(
                f"kubeconfig {path!r} is not on this machine and {where} failed: {reason}",
                bucket=bucket,
                key="credentials.kind_cluster",
                example="is the kind cluster running on this machine? (`kind get clusters`)",
            )
        try:
            loaded = yaml.safe_load(done.stdout)
        except yaml.YAMLError:
            loaded = None
        if not isinstance(loaded, dict):
            raise StoreError(f"{where} printed no kubeconfig", bucket=bucket, key="credentials.kind_cluster")
        return None, loaded, where
    raise StoreError(
        f"kubeconfig {path!r} is not on this machine",
        bucket=bucket,
        key="credentials.kubeconfig_path",
        example="run `pulumi up` or `pulumi preview` once here: it writes the file",
    )


def read_kubernetes_secret(
    cred: CredentialsRef, fields: Sequence[str], *, bucket: str | None = None
) -> dict[str, SecretStr]:
    """The named fields of the Secret ``cred`` points at, read with the kubernetes client.

    Raises StoreError naming the Secret (never its values) when the kubeconfig, the Secret or a
    field is missing or the API server refuses.
    """
    from kubernetes import client, config
    from kubernetes.client.exceptions import ApiException
    from kubernetes.config.config_exception import ConfigException

    where = f"Secret {cred.namespace}/{cred.name}"
    config_file, config_dict, source = load_kubeconfig(cred, bucket=bucket)
    try:
        if config_file is not None:
            api_client = config.new_client_from_config(config_file=config_file)
        else:
            api_client = config.new_client_from_config_dict(config_dict)
    except (ConfigException, OSError) as exc:
        raise StoreError(
            f"cannot load the kubeconfig from {source} to read {where}: {type(exc).__name__}",
            bucket=bucket,
            key="credentials.kubeconfig_path",
            example="the kubeconfig the kind stack writes under .state/",
        ) from None
    try:
        secret = client.CoreV1Api(api_client).read_namespaced_secret(
            str(cred.name), str(cred.namespace), _request_timeout=_TIMEOUT_S
        )
    except ApiException as exc:
        hints = {404: "does the Secret exist in that namespace?", 403: "the kubeconfig user may not read Secrets"}
        hint = hints.get(int(exc.status or 0), "check the cluster")
        raise StoreError(
            f"cannot read {where}: HTTP {exc.status} {exc.reason}; {hint}",
            bucket=bucket,
            key="credentials.name",
        ) from None
    except Exception as exc:  # urllib3 connection errors, timeouts, TLS failures
        raise StoreError(
            f"cannot reach the Kubernetes API to read {where}: {type(exc).__name__}; is the cluster running?",
            bucket=bucket,
            key="credentials.kubeconfig_path",
        ) from None
    finally:
        api_client.close()
    data: dict[str, str] = secret.data or {}
    missing = [f for f in fields if f not in data]
    if missing:
        raise StoreError(
            f"{where} has no key(s) {missing}; it has {sorted(data)}",
            bucket=bucket,
            key="credentials.access_key_field/secret_key_field",
            example="rootUser / rootPassword for the MinIO chart",
        )
    values: dict[str, SecretStr] = {}
    for field in fields:
        try:
            values[field] = SecretStr(base64.b64decode(data[field], validate=True).decode("utf-8"))
        except (binascii.Error, UnicodeDecodeError):
            raise StoreError(f"{where} key {field!r} is not base64-encoded UTF-8", bucket=bucket, key=field) from None
    return values


def s3_session(ref: StoreRef) -> boto3.session.Session:
    """A boto3 session: the default chain, or the access/secret key pair of a Kubernetes Secret."""
    import boto3

    cred = ref.credentials
    if cred.source == "kubernetes-secret":
        values = read_kubernetes_secret(cred, [cred.access_key_field, cred.secret_key_field], bucket=ref.bucket)
        return boto3.session.Session(
            aws_access_key_id=values[cred.access_key_field].get_secret_value(),
            aws_secret_access_key=values[cred.secret_key_field].get_secret_value(),
            region_name=ref.region,
        )
    return boto3.session.Session(region_name=ref.region)


def gcs_client(ref: StoreRef) -> storage.Client:
    """A GCS client: anonymous against ``STORAGE_EMULATOR_HOST``, else ADC or a Secret's SA key."""
    from google.cloud import storage

    cred = ref.credentials
    project = os.environ.get("GOOGLE_CLOUD_PROJECT") or os.environ.get("CLOUDSDK_CORE_PROJECT")
    credentials: Any
    if cred.source == "kubernetes-secret":
        from google.oauth2 import service_account

        raw = read_kubernetes_secret(cred, [cred.secret_key_field], bucket=ref.bucket)[cred.secret_key_field]
        try:
            info = json.loads(raw.get_secret_value())
            credentials = service_account.Credentials.from_service_account_info(info)
        except (ValueError, KeyError):
            raise StoreError(
                f"Secret {cred.namespace}/{cred.name} key {cred.secret_key_field!r} is not a service-account JSON key",
                bucket=ref.bucket,
                key="credentials.secret_key_field",
            ) from None
        project = project or info.get("project_id")
    elif os.environ.get("STORAGE_EMULATOR_HOST"):
        from google.auth.credentials import AnonymousCredentials

        credentials = AnonymousCredentials()
        project = project or "emulator"
    else:
        import google.auth
        from google.auth.exceptions import DefaultCredentialsError

        try:
            credentials, default_project = google.auth.default(
                scopes=["https://www.googleapis.com/auth/devstorage.read_write"]
            )
        except DefaultCredentialsError:
            raise StoreError(
                "no Google credentials found in the environment",
                bucket=ref.bucket,
                key="credentials.source",
                example="`gcloud auth application-default login`, or GKE Workload Identity",
            ) from None
        project = project or default_project
    return storage.Client(project=project, credentials=credentials)


def azure_service_client(ref: StoreRef, **client_kwargs: Any) -> BlobServiceClient:
    """A BlobServiceClient for ``ref.account_url``.

    ``AZURE_STORAGE_CONNECTION_STRING`` (Azurite) when set, else DefaultAzureCredential (Workload
    Identity, ``az login``), or an account key from a Kubernetes Secret.
    """
    from azure.storage.blob import BlobServiceClient

    cred = ref.credentials
    account_url = str(ref.account_url)
    if cred.source == "kubernetes-secret":
        key = read_kubernetes_secret(cred, [cred.secret_key_field], bucket=ref.bucket)[cred.secret_key_field]
        return BlobServiceClient(
            account_url,
            credential={"account_name": ref.account_name(), "account_key": key.get_secret_value()},
            **client_kwargs,
        )
    connection_string = os.environ.get("AZURE_STORAGE_CONNECTION_STRING")
    if connection_string:
        try:
            service = BlobServiceClient.from_connection_string(connection_string, **client_kwargs)
        except ValueError:
            raise StoreError(
                "AZURE_STORAGE_CONNECTION_STRING is not a valid connection string",
                bucket=ref.bucket,
                key="credentials.source",
            ) from None
        if service.account_name != ref.account_name():
            raise StoreError(
                f"AZURE_STORAGE_CONNECTION_STRING is for account {service.account_name!r}, "
                f"account_url names {ref.account_name()!r}",
                bucket=ref.bucket,
                key="account_url",
            )
        return service
    return BlobServiceClient(account_url, credential=azure_credential(), **client_kwargs)


# GitHub Actions' OIDC token endpoint (set for jobs with `id-token: write`) and the audience Entra
# ID federated credentials expect (docs.github.com "Configuring OpenID Connect in Azure").
ACTIONS_TOKEN_ENV = ("ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN")
AZURE_AD_AUDIENCE = "api://AzureADTokenExchange"


def github_actions_token() -> str:
    """A fresh GitHub OIDC token for Entra ID: GET <request url>&audience=... with the request token."""
    import json
    import urllib.parse
    import urllib.request

    url, bearer = (os.environ[name] for name in ACTIONS_TOKEN_ENV)
    if not url.startswith("https://"):
        raise ValueError("ACTIONS_ID_TOKEN_REQUEST_URL is not an https URL")
    request = urllib.request.Request(  # noqa: S310 (https only, checked above)
        f"{url}&audience={urllib.parse.quote(AZURE_AD_AUDIENCE, safe='')}",
        headers={"Authorization": f"bearer {bearer}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (https only)
        return str(json.load(response)["value"])


def azure_credential() -> Any:
    """Entra ID credential of the publisher: the CI identity, re-federated at each token, or DefaultAzureCredential.

    On a GitHub runner (the Actions token endpoint and AZURE_CLIENT_ID / AZURE_TENANT_ID set) a
    ClientAssertionCredential asks GitHub for a new OIDC token whenever it needs an access token,
    so nothing expires mid-run (the token azure/login hands the Azure CLI lives minutes and
    cannot be refreshed: Azure/login#441). Elsewhere DefaultAzureCredential (workload identity,
    ``az login``).
    """
    from azure.identity import ClientAssertionCredential, DefaultAzureCredential

    client_id, tenant_id = os.environ.get("AZURE_CLIENT_ID"), os.environ.get("AZURE_TENANT_ID")
    if all(os.environ.get(name) for name in ACTIONS_TOKEN_ENV) and client_id and tenant_id:
        return ClientAssertionCredential(tenant_id, client_id, github_actions_token)
    return DefaultAzureCredential(exclude_interactive_browser_credential=True)
